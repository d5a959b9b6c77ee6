/*
 * profile.c - reads a profile file (docs/profiles.md) into an immutable,
 * reference-counted struct profiles: the file and its lines, the broken lines
 * reported in line order, the envelopes endpoints share, and the set's
 * lifetime.
 *
 * Not here: the directives themselves (profile_global.c: topic, channel, form
 * and channel references; profile_section.c: endpoint and broadcast
 * sections), nor matching paths and topics, expanding templates and the
 * syntax of templates and paths (profile_match.c). Runs in the caller's
 * thread, at start-up or on reload; a file with any broken line is refused
 * whole.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "profile_int.h"

#define FILE_MAX (16 * 1024 * 1024)
#define MAX_WORDS 256
#define ERR_KEEP 1000 /* broken lines whose text is kept; the rest are counted */
#define CLIP PROF_CLIP

/* Ids of distinct envelopes: they only grow, so no id is reused across reloads. */
static _Atomic uint32_t env_ids;

/* ==== The set's lifetime ====================================================================== */

static void strs_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void profile__env_free(struct envelope *env)
{
	size_t i;

	if (!env)
		return;
	for (i = 0; i < env->nrules; i++) {
		free(env->rules[i].type);
		free(env->rules[i].nest);
		free(env->rules[i].rename);
	}
	free(env->rules);
	free(env);
}

static void endpoint_cleanup(struct prof_endpoint *e)
{
	size_t i;

	strs_free(e->paths, e->npaths);
	free(e->greeting);
	strs_free(e->subscribe, e->nsubscribe);
	free(e->file);
	for (i = 0; i < e->ncounts; i++)
		free(e->counts[i].field);
	free(e->counts);
}

static void profiles_free(struct profiles *s)
{
	size_t i;

	for (i = 0; i < s->ntopics; i++) {
		free(s->topics[i].tmpl);
		free(s->topics[i].filter);
		free(s->topics[i].type);
	}
	for (i = 0; i < s->nchannels; i++) {
		free(s->channels[i].name);
		strs_free(s->channels[i].targets, s->channels[i].ntargets);
	}
	for (i = 0; i < s->nforms; i++)
		free(s->forms[i].name);
	for (i = 0; i < s->nbroadcasts; i++) {
		free(s->broadcasts[i].kind);
		strs_free(s->broadcasts[i].publish, s->broadcasts[i].npublish);
		free(s->broadcasts[i].type);
		free(s->broadcasts[i].type_field);
	}
	for (i = 0; i < s->nendpoints; i++)
		endpoint_cleanup(&s->endpoints[i]);
	for (i = 0; i < s->nenvs; i++)
		profile__env_free(s->envs[i]);
	free(s->topics);
	free(s->channels);
	free(s->forms);
	free(s->broadcasts);
	free(s->endpoints);
	free(s->envs);
	free(s->name);
	free(s);
}

struct profiles *profile__ref(struct profiles *p)
{
	if (p)
		p->refs++;
	return p;
}

void profile__unref(struct profiles *p)
{
	if (!p)
		return;
	if (p->refs > 1) {
		p->refs--;
		return;
	}
	profiles_free(p);
}

/* ==== Envelopes =============================================================================== */

/* Envelope id 0: flat, no renames; every endpoint without rules shares it. */
static const struct envelope canonical_env;

static char star_type[] = "*", data_key[] = "data";

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static int rule_cmp(const void *a, const void *b)
{
	return strcmp(((const struct env_rule *)a)->type, ((const struct env_rule *)b)->type);
}

/*
 * Writes into @v (room for s->nrules + 1) the rules the section's lines give,
 * in one form for one behaviour, so equal envelopes compare equal: a "*" rule
 * only when types are nested by default, a type's rule only when it differs
 * from "*", sorted by type. The strings are borrowed. Returns their number.
 */
static size_t env_rules(const struct prof_open *s, struct env_rule *v)
{
	char *star = s->nested ? data_key : NULL, *nest;
	const struct prof_rule_build *r;
	size_t i, n = 0;

	for (i = 0; i < s->nrules; i++) {
		if (strcmp(s->rules[i].type, "*") == 0 && s->rules[i].nest_line)
			star = s->rules[i].nest;
	}
	if (star)
		v[n++] = (struct env_rule){star_type, star, NULL};
	for (i = 0; i < s->nrules; i++) {
		r = &s->rules[i];
		nest = r->nest_line ? r->nest : star;
		if (strcmp(r->type, "*") == 0 || (!r->rename && same(nest, star)))
			continue;
		v[n++] = (struct env_rule){r->type, nest, r->rename};
	}
	qsort(v, n, sizeof(*v), rule_cmp);
	return n;
}

static bool env_equal(const struct envelope *env, const struct env_rule *v, size_t n)
{
	size_t i;

	if (env->nrules != n)
		return false;
	for (i = 0; i < n; i++) {
		if (strcmp(env->rules[i].type, v[i].type) != 0 ||
			!same(env->rules[i].nest, v[i].nest) ||
			!same(env->rules[i].rename, v[i].rename))
			return false;
	}
	return true;
}

static bool dup_opt(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return !src || *dst;
}

/* A new envelope (id 0 until the whole file is good) with copies of the @n rules @v. */
static struct envelope *env_new(const struct env_rule *v, size_t n)
{
	struct envelope *env = calloc(1, sizeof(*env));
	size_t i;

	if (!env || !(env->rules = calloc(n, sizeof(*env->rules)))) {
		free(env);
		return NULL;
	}
	env->nrules = n;
	for (i = 0; i < n; i++) {
		if (!dup_opt(&env->rules[i].type, v[i].type) ||
			!dup_opt(&env->rules[i].nest, v[i].nest) ||
			!dup_opt(&env->rules[i].rename, v[i].rename)) {
			profile__env_free(env);
			return NULL;
		}
	}
	return env;
}

enum rtg_err profile__env_attach(struct prof_parser *p, struct prof_endpoint *e)
{
	struct env_rule *v = calloc(p->sec.nrules + 1, sizeof(*v));
	struct profiles *set = p->set;
	struct envelope *env, **slot;
	size_t n, i;

	if (!v)
		return RTG_ERR_NOMEM;
	n = env_rules(&p->sec, v);
	e->env = &canonical_env;
	for (i = 0; n && i < set->nenvs; i++) {
		if (env_equal(set->envs[i], v, n)) {
			e->env = set->envs[i];
			n = 0;
		}
	}
	env = n ? env_new(v, n) : NULL;
	free(v);
	if (!n)
		return RTG_OK;
	if (!env)
		return RTG_ERR_NOMEM;
	PROF_APPEND(slot, set->envs, set->nenvs, p->cap.envs);
	if (!slot) {
		profile__env_free(env);
		return RTG_ERR_NOMEM;
	}
	*slot = env;
	e->env = env;
	return RTG_OK;
}

/* ==== Reporting =============================================================================== */

/*
 * Keeps the text of a broken line, to be sorted by line at the end: sections
 * and channel references are checked after lines that follow them.
 */
__attribute__((format(printf, 3, 0))) static void vreport(
	struct prof_parser *p, unsigned line, const char *fmt, va_list ap)
{
	char reason[PROF_WHY_LEN + 64];
	struct prof_perr *e;

	p->nerrors++;
	if (p->nerrs >= ERR_KEEP)
		return;
	vsnprintf(reason, sizeof(reason), fmt, ap);
	PROF_APPEND(e, p->errs, p->nerrs, p->cap.errs);
	if (e) /* else counted only: the file is refused all the same */
		*e = (struct prof_perr){line, (unsigned)p->nerrs, strdup(reason)};
}

enum rtg_err profile__report_at(struct prof_parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(p, line, fmt, ap);
	va_end(ap);
	return RTG_ERR_PARSE;
}

enum rtg_err profile__report(struct prof_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(p, p->lineno, fmt, ap);
	va_end(ap);
	return RTG_ERR_PARSE;
}

static int perr_cmp(const void *a, const void *b)
{
	const struct prof_perr *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes the broken lines, one "name:line: reason" per line, truncated to @len bytes. */
static void write_errors(struct prof_parser *p, char *err, size_t len)
{
	const struct prof_perr *e;
	size_t used = 0, i;
	int n = 0;

	if (!err || !len)
		return;
	if (p->nerrs)
		qsort(p->errs, p->nerrs, sizeof(*p->errs), perr_cmp);
	for (i = 0; i < p->nerrs && used + 1 < len; i++, used += n > 0 ? (size_t)n : 0) {
		e = &p->errs[i];
		n = snprintf(err + used, len - used, "%s%s:%u: %s", used ? "\n" : "", p->name,
			e->line, e->text ? e->text : "(out of memory for this message)");
	}
	if (p->nerrors > p->nerrs && used + 1 < len)
		snprintf(err + used, len - used, "\n%s: and %zu more broken lines", p->name,
			p->nerrors - p->nerrs);
}

/* ==== Lines =================================================================================== */

/* Splits @line (blanks made spaces) into words and hands them to their directive. */
static enum rtg_err parse_words(struct prof_parser *p, char *line)
{
	char *av[MAX_WORDS + 1];
	enum rtg_err rc;
	int ac = 0;

	for (line += strspn(line, " "); *line; line += strspn(line, " ")) {
		if (ac == MAX_WORDS)
			return profile__report(p, "too many words (at most %d)", MAX_WORDS);
		av[ac++] = line;
		line += strcspn(line, " ");
		if (*line)
			*line++ = '\0';
	}
	if (ac == 0 || av[0][0] == '#')
		return RTG_OK;
	av[ac] = NULL;
	if (strcmp(av[0], "endpoint") == 0 || strcmp(av[0], "broadcast") == 0)
		return profile__section_open(p, av, ac);
	rc = profile__global_line(p, av, ac);
	return rc == RTG_ERR_INVAL ? profile__section_line(p, av, ac) : rc;
}

/* One line of the file (rtg_text_lines()): its words, or why it cannot be read. */
static enum rtg_err parse_line(void *arg, unsigned lineno, char *line, const char *bad)
{
	struct prof_parser *p = arg;

	p->lineno = lineno;
	return line ? parse_words(p, line) : profile__report(p, "%s", bad);
}

/* ==== Parsing and loading ===================================================================== */

static void parser_cleanup(struct prof_parser *p)
{
	size_t i;

	profile__section_cleanup(p);
	for (i = 0; i < p->nerrs; i++)
		free(p->errs[i].text);
	free(p->errs);
	for (i = 0; i < p->nrefs; i++)
		free(p->refs[i].channel);
	free(p->refs);
	if (p->set)
		profiles_free(p->set);
}

/* Gives the set's envelopes their ids, once the whole file is good. */
static void number_envelopes(struct profiles *set)
{
	uint32_t id;
	size_t i;

	for (i = 0; i < set->nenvs; i++) {
		do
			id = atomic_fetch_add(&env_ids, 1) + 1;
		while (id == 0); /* after 2^32 envelopes: 0 is the canonical one's */
		set->envs[i]->id = id;
	}
}

/* Every broken line is reported before the file is refused; only running out of memory stops early. */
int profile__parse(struct profiles **out, const char *name, const char *text, size_t len, char *err,
	size_t errlen)
{
	struct prof_parser p = {.name = name};
	enum rtg_err rc = RTG_OK;

	if (out)
		*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!out || !name || (!text && len)) {
		if (err && errlen)
			snprintf(err, errlen, "%s: invalid arguments", name ? name : "profiles");
		return -1;
	}
	p.set = calloc(1, sizeof(*p.set));
	if (!p.set || !(p.set->name = strdup(name)))
		rc = RTG_ERR_NOMEM;
	if (rc != RTG_ERR_NOMEM)
		rc = rtg_text_lines(text, len, parse_line, &p);
	if (rc != RTG_ERR_NOMEM)
		rc = profile__section_end(&p);
	if (rc != RTG_ERR_NOMEM)
		profile__resolve(&p);
	if (rc == RTG_ERR_NOMEM) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", name);
	} else if (p.nerrors) {
		write_errors(&p, err, errlen);
	} else {
		number_envelopes(p.set);
		p.set->refs = 1;
		*out = p.set;
		p.set = NULL;
	}
	parser_cleanup(&p);
	return *out ? 0 : -1;
}

static int io_error(const char *path, const char *why, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, why);
	return -1;
}

/* Reads the whole file (a regular file of at most 16 MiB), then parses it. */
int profile__load(struct profiles **out, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	struct stat st;
	int rc = 0;
	size_t len;
	FILE *f;

	if (out)
		*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!out || !path)
		return io_error(path ? path : "profiles", "invalid arguments", err, errlen);
	f = fopen(path, "rb");
	if (!f)
		return io_error(path, strerror(errno), err, errlen);
	if (fstat(fileno(f), &st) != 0)
		rc = io_error(path, strerror(errno), err, errlen);
	else if (!S_ISREG(st.st_mode))
		rc = io_error(path, "not a regular file", err, errlen);
	else if (st.st_size > FILE_MAX)
		rc = io_error(path, "file too large (over 16 MiB)", err, errlen);
	else if (!(text = malloc((size_t)st.st_size + 1)))
		rc = io_error(path, "out of memory", err, errlen);
	if (rc == 0) {
		len = fread(text, 1, (size_t)st.st_size, f);
		if (ferror(f))
			rc = io_error(path, strerror(EIO), err, errlen);
		else
			rc = profile__parse(out, path, text, len, err, errlen);
	}
	free(text);
	fclose(f);
	return rc;
}
