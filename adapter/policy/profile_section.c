/*
 * profile_section.c - the endpoint and broadcast sections of a profile file:
 * each key line, and the checks that need the whole section (a key the
 * endpoint's transport does not take, a missing transport, handler, publish
 * or type), which run when the section ends since the transport line may
 * come last.
 *
 * Not here: the file, its lines and the envelopes built from nest and rename
 * lines (profile.c), the global directives and channel references
 * (profile_global.c), the syntax of templates and paths (profile_match.c).
 * Runs in the parser's thread.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_int.h"
#include "rtg_util.h"

#define CLIP PROF_CLIP

typedef enum rtg_err (*key_fn)(struct prof_parser *p, char **av, int ac);

/* A section key: where it goes, how many arguments, and its handler or choice of words. */
struct key_def {
	const char *word;
	enum prof_section in;
	enum prof_key key;
	bool once; /* at most one such line per section */
	int min, max; /* number of arguments */
	const char *usage;
	key_fn fn;
	const char *const *choices; /* instead of fn: one of these words (choose()) */
};

static const char *const key_words[K_COUNT_OF_KEYS] = {"transport", "token", "greeting",
	"subscribe", "envelope", "nest", "rename", "events", "handler", "count", "?topic",
	"publish", "type", "type_field", "retain", "history"};

static struct prof_endpoint *cur_ep(struct prof_parser *p)
{
	return &p->set->endpoints[p->sec.idx];
}

static struct prof_broadcast *cur_bc(struct prof_parser *p)
{
	return &p->set->broadcasts[p->sec.idx];
}

/* ==== Opening sections ======================================================================== */

void profile__section_cleanup(struct prof_parser *p)
{
	struct prof_open *s = &p->sec;
	size_t i;

	for (i = 0; i < s->nrules; i++) {
		free(s->rules[i].type);
		free(s->rules[i].nest);
		free(s->rules[i].rename);
	}
	free(s->rules);
	free(s->keys);
	memset(s, 0, sizeof(*s));
}

static void open_section(struct prof_parser *p, enum prof_section kind, size_t idx)
{
	p->sec.kind = kind;
	p->sec.idx = idx;
	p->sec.line = p->sec.last = p->lineno;
}

static enum rtg_err add_path(struct prof_parser *p, struct prof_endpoint *e, const char *path)
{
	char why[PROF_WHY_LEN];
	unsigned line;

	if (!profile__path_valid(path, why, sizeof(why)))
		return profile__report(p, "%s", why);
	line = profile__path_owner(p->set, path);
	if (line)
		return profile__report(p,
			"path '%.*s' is already served by the endpoint on line %u", CLIP, path,
			line);
	return profile__strs_add(&e->paths, &e->npaths, path);
}

/* "endpoint PATH...": opened even when broken, so that its lines are not misreported. */
static enum rtg_err open_endpoint(struct prof_parser *p, char **av, int ac)
{
	struct profiles *set = p->set;
	struct prof_endpoint *e;
	enum rtg_err rc = RTG_OK;
	int i;

	PROF_APPEND(e, set->endpoints, set->nendpoints, p->cap.endpoints);
	if (!e)
		return RTG_ERR_NOMEM;
	open_section(p, SEC_ENDPOINT, set->nendpoints - 1);
	e->line = p->lineno;
	e->greeting = strdup("connection");
	if (!e->greeting)
		return RTG_ERR_NOMEM;
	if (ac < 2)
		return profile__report(p, "wrong number of arguments (usage: endpoint PATH...)");
	for (i = 1; i < ac && rc != RTG_ERR_NOMEM; i++)
		rc = add_path(p, e, av[i]);
	return rc == RTG_ERR_NOMEM ? rc : RTG_OK;
}

/* "broadcast KIND" */
static enum rtg_err open_broadcast(struct prof_parser *p, char **av, int ac)
{
	struct profiles *set = p->set;
	struct prof_broadcast *b;
	size_t i;

	PROF_APPEND(b, set->broadcasts, set->nbroadcasts, p->cap.broadcasts);
	if (!b)
		return RTG_ERR_NOMEM;
	open_section(p, SEC_BROADCAST, set->nbroadcasts - 1);
	b->line = p->lineno;
	if (ac != 2)
		return profile__report(p, "wrong number of arguments (usage: broadcast KIND)");
	if (!profile__name_valid(av[1]))
		return profile__bad_name(p, "broadcast kind", av[1]);
	for (i = 0; i + 1 < set->nbroadcasts; i++) {
		if (set->broadcasts[i].kind && strcmp(set->broadcasts[i].kind, av[1]) == 0)
			return profile__report(p, "broadcast '%s' is already defined on line %u",
				av[1], set->broadcasts[i].line);
	}
	b->kind = strdup(av[1]);
	return b->kind ? RTG_OK : RTG_ERR_NOMEM;
}

enum rtg_err profile__section_open(struct prof_parser *p, char **av, int ac)
{
	if (profile__section_end(p) == RTG_ERR_NOMEM)
		return RTG_ERR_NOMEM;
	if (strcmp(av[0], "endpoint") == 0)
		return open_endpoint(p, av, ac);
	return open_broadcast(p, av, ac);
}

/* ==== Endpoint keys =========================================================================== */

static enum rtg_err note_key(struct prof_parser *p, enum prof_key key)
{
	struct prof_open *s = &p->sec;
	struct prof_keyline *k;

	PROF_APPEND(k, s->keys, s->nkeys, s->kcap);
	if (!k)
		return RTG_ERR_NOMEM;
	*k = (struct prof_keyline){key, p->lineno};
	return RTG_OK;
}

/* transport, token, envelope, events, history: one word of d->choices. */
static enum rtg_err choose(struct prof_parser *p, const struct key_def *d, const char *w)
{
	struct prof_endpoint *e = cur_ep(p);
	char list[64] = "";
	int n = 0, i;
	size_t len = 0;

	while (d->choices[n])
		n++;
	i = profile__word_index(w, d->choices, n);
	if (i < 0) {
		for (i = 0; i < n; i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
				i == 0		     ? ""
					: i == n - 1 ? " or "
						     : ", ",
				d->choices[i]);
		return profile__report(p, "unknown %s '%.*s' (%s)", d->word, CLIP, w, list);
	}
	if (d->key == K_TRANSPORT) {
		e->transport = (enum prof_transport)i; /* the words are in the enum's order */
		p->sec.transport_ok = true;
	} else if (d->key == K_TOKEN) {
		e->token_optional = i == 1;
		e->token_at_upgrade = i == 2;
	} else if (d->key == K_ENVELOPE) {
		p->sec.nested = i == 1;
	} else if (d->key == K_HISTORY) {
		e->history_messages = i == 1;
	} else {
		e->events_unnamed = i == 1;
	}
	return RTG_OK;
}

static enum rtg_err do_greeting(struct prof_parser *p, char **av, int ac)
{
	struct prof_endpoint *e = cur_ep(p);
	char *g = NULL;

	UNUSED(ac);
	if (strcmp(av[0], "none") != 0) {
		if (!profile__name_valid(av[0]))
			return profile__bad_name(p, "greeting type", av[0]);
		g = strdup(av[0]);
		if (!g)
			return RTG_ERR_NOMEM;
	}
	free(e->greeting);
	e->greeting = g;
	return RTG_OK;
}

/* A template made on connect: its {parameters} can only come from the path. */
static enum rtg_err subscribe_template(
	struct prof_parser *p, const struct prof_endpoint *e, const char *t)
{
	char why[PROF_WHY_LEN];
	const char *s;
	size_t j, len;

	if (!profile__template_valid(t, why, sizeof(why)))
		return profile__report(p, "%s", why);
	for (s = t; (s = profile__next_param(s, &len)); s += len) {
		for (j = 0; j < e->npaths; j++) {
			if (!profile__path_has_param(e->paths[j], s, len))
				return profile__report(p,
					"'{%.*s}' is not a parameter of path '%.*s'", (int)len, s,
					CLIP, e->paths[j]);
		}
	}
	return RTG_OK;
}

/* "subscribe TARGET...": @channel, ?topic or a template; each kept as written. */
static enum rtg_err do_subscribe(struct prof_parser *p, char **av, int ac)
{
	struct prof_endpoint *e = cur_ep(p);
	enum rtg_err rc;
	int i;

	for (i = 0; i < ac; i++) {
		if (av[i][0] == '@' && !profile__name_valid(av[i] + 1))
			rc = profile__bad_name(p, "channel name", av[i] + 1);
		else if (av[i][0] == '@')
			rc = profile__add_ref(p, av[i] + 1, REF_SUBSCRIBE, p->sec.idx, 0);
		else if (av[i][0] == '?' && strcmp(av[i], "?topic") != 0)
			rc = profile__report(p,
				"unknown subscribe target '%.*s' (?topic is the only one)", CLIP,
				av[i]);
		else if (av[i][0] == '?')
			rc = note_key(p, K_QTOPIC);
		else
			rc = subscribe_template(p, e, av[i]);
		if (rc == RTG_OK)
			rc = profile__strs_add(&e->subscribe, &e->nsubscribe, av[i]);
		if (rc == RTG_ERR_NOMEM)
			return rc;
	}
	return RTG_OK;
}

/* The nest and rename lines of @type in the open section, added if new; NULL: no memory. */
static struct prof_rule_build *rule_get(struct prof_parser *p, const char *type)
{
	struct prof_open *s = &p->sec;
	struct prof_rule_build *r;
	size_t i;

	for (i = 0; i < s->nrules; i++) {
		if (strcmp(s->rules[i].type, type) == 0)
			return &s->rules[i];
	}
	PROF_APPEND(r, s->rules, s->nrules, s->rcap);
	if (r && !(r->type = strdup(type))) {
		s->nrules--;
		return NULL;
	}
	return r;
}

/* "nest TYPE|* KEY|flat"; the same line twice is harmless, two keys are not. */
static enum rtg_err do_nest(struct prof_parser *p, char **av, int ac)
{
	const char *key = strcmp(av[1], "flat") ? av[1] : NULL;
	struct prof_rule_build *r;

	UNUSED(ac);
	if (strcmp(av[0], "*") != 0 && !profile__name_valid(av[0]))
		return profile__bad_name(p, "type", av[0]);
	if (key && !profile__name_valid(key))
		return profile__bad_name(p, "key", key);
	r = rule_get(p, av[0]);
	if (!r)
		return RTG_ERR_NOMEM;
	if (r->nest_line && !(r->nest == key || (r->nest && key && !strcmp(r->nest, key))))
		return profile__report(p, "type '%s' is already nested under '%s' on line %u",
			av[0], r->nest ? r->nest : "flat", r->nest_line);
	if (r->nest_line)
		return RTG_OK;
	r->nest_line = p->lineno;
	if (key && !(r->nest = strdup(key)))
		return RTG_ERR_NOMEM;
	return RTG_OK;
}

/* "rename FROM TO" */
static enum rtg_err do_rename(struct prof_parser *p, char **av, int ac)
{
	struct prof_rule_build *r;

	UNUSED(ac);
	if (strcmp(av[0], "*") == 0)
		return profile__report(p, "cannot rename '*' (rename one type at a time)");
	if (!profile__name_valid(av[0]))
		return profile__bad_name(p, "type", av[0]);
	if (!profile__name_valid(av[1]))
		return profile__bad_name(p, "type", av[1]);
	r = rule_get(p, av[0]);
	if (!r)
		return RTG_ERR_NOMEM;
	if (r->rename_line && strcmp(r->rename, av[1]) != 0)
		return profile__report(p, "type '%s' is already renamed to '%s' on line %u", av[0],
			r->rename, r->rename_line);
	if (r->rename_line)
		return RTG_OK;
	r->rename_line = p->lineno;
	r->rename = strdup(av[1]);
	return r->rename ? RTG_OK : RTG_ERR_NOMEM;
}

/* "handler NAME [FILE]" */
static enum rtg_err do_handler(struct prof_parser *p, char **av, int ac)
{
	static const char *const names[] = {"stats", "metrics", "health", "publish", "broadcast",
		"calculations", "session", "file"}; /* from PROF_H_STATS on, in order */
	struct prof_endpoint *e = cur_ep(p);
	int i = profile__word_index(av[0], names, (int)RTG_ARRAY_SIZE(names));
	enum prof_handler h;
	size_t j;

	if (i < 0)
		return profile__report(p,
			"unknown handler '%.*s' (stats, metrics, health, publish, broadcast, calculations, session or file)",
			CLIP, av[0]);
	h = (enum prof_handler)(PROF_H_STATS + i);
	if (h == PROF_H_FILE && ac != 2)
		return profile__report(p, "handler file needs a FILE (a file of static_dir)");
	if (h != PROF_H_FILE && ac != 1)
		return profile__report(p, "handler %s takes no argument", av[0]);
	if (h == PROF_H_FILE && (strchr(av[1], '/') || av[1][0] == '.'))
		return profile__report(p,
			"invalid file '%.*s' (a file of static_dir: no '/', no leading '.')", CLIP,
			av[1]);
	for (j = 0; h == PROF_H_BROADCAST && j < e->npaths; j++) {
		if (!profile__path_has_param(e->paths[j], "kind", 4))
			return profile__report(p,
				"handler broadcast needs a {kind} parameter in path '%.*s'", CLIP,
				e->paths[j]);
	}
	e->handler = h;
	if (h == PROF_H_FILE && !(e->file = strdup(av[1])))
		return RTG_ERR_NOMEM;
	return RTG_OK;
}

/* "count FIELD CHANNEL" */
static enum rtg_err do_count(struct prof_parser *p, char **av, int ac)
{
	struct prof_endpoint *e = cur_ep(p);
	struct prof_count *c;
	size_t i;

	UNUSED(ac);
	if (!profile__name_valid(av[0]))
		return profile__bad_name(p, "field", av[0]);
	for (i = 0; i < e->ncounts; i++) {
		if (strcmp(e->counts[i].field, av[0]) == 0)
			return profile__report(
				p, "field '%s' is already counted by this endpoint", av[0]);
	}
	c = realloc(e->counts, (e->ncounts + 1) * sizeof(*c));
	if (!c)
		return RTG_ERR_NOMEM;
	e->counts = c;
	c[e->ncounts].channel = NULL;
	c[e->ncounts].field = strdup(av[0]);
	if (!c[e->ncounts].field)
		return RTG_ERR_NOMEM;
	e->ncounts++;
	return profile__add_ref(p, av[1], REF_COUNT, p->sec.idx, e->ncounts - 1);
}

/* ==== Broadcast keys ========================================================================== */

static bool has_wildcard(const char *t)
{
	size_t n;

	for (;; t += n + 1) {
		n = strcspn(t, "/");
		if (n == 1 && (t[0] == '+' || t[0] == '#'))
			return true;
		if (!t[n])
			return false;
	}
}

/* "publish TEMPLATE...": topic names once the body's {parameters} are in. */
static enum rtg_err do_publish(struct prof_parser *p, char **av, int ac)
{
	struct prof_broadcast *b = cur_bc(p);
	char why[PROF_WHY_LEN];
	enum rtg_err rc;
	int i;

	for (i = 0; i < ac; i++) {
		if (!profile__template_valid(av[i], why, sizeof(why)))
			rc = profile__report(p, "%s", why);
		else if (strstr(av[i], "%u"))
			rc = profile__report(p,
				"publish template '%.*s' cannot use %%u (a broadcast has no user)",
				CLIP, av[i]);
		else if (has_wildcard(av[i]))
			rc = profile__report(p,
				"publish template '%.*s' has a wildcard (a broadcast publishes to one topic)",
				CLIP, av[i]);
		else
			rc = profile__strs_add(&b->publish, &b->npublish, av[i]);
		if (rc == RTG_ERR_NOMEM)
			return rc;
	}
	return RTG_OK;
}

static enum rtg_err set_name(struct prof_parser *p, char **dst, const char *what, const char *v)
{
	if (!profile__name_valid(v))
		return profile__bad_name(p, what, v);
	*dst = strdup(v);
	return *dst ? RTG_OK : RTG_ERR_NOMEM;
}

static enum rtg_err do_type(struct prof_parser *p, char **av, int ac)
{
	UNUSED(ac);
	return set_name(p, &cur_bc(p)->type, "type", av[0]);
}

static enum rtg_err do_type_field(struct prof_parser *p, char **av, int ac)
{
	UNUSED(ac);
	return set_name(p, &cur_bc(p)->type_field, "field", av[0]);
}

static enum rtg_err do_retain(struct prof_parser *p, char **av, int ac)
{
	UNUSED(av);
	UNUSED(ac);
	cur_bc(p)->retain = true;
	return RTG_OK;
}

/* ==== Section lines =========================================================================== */

/* The words of each choice, NULL-terminated; the transports in enum prof_transport's order. */
static const char *const transports[] = {"websocket", "sse", "http", NULL};
static const char *const tokens[] = {"required", "optional", "upgrade", NULL};
static const char *const envelopes[] = {"flat", "nested", NULL};
static const char *const events[] = {"named", "unnamed", NULL};
static const char *const histories[] = {"wrapped", "messages", NULL};

static const struct key_def keys[] = {
	{"transport", SEC_ENDPOINT, K_TRANSPORT, true, 1, 1, "transport websocket|sse|http", NULL,
		transports},
	{"token", SEC_ENDPOINT, K_TOKEN, true, 1, 1, "token required|optional|upgrade", NULL,
		tokens},
	{"greeting", SEC_ENDPOINT, K_GREETING, true, 1, 1, "greeting TYPE|none", do_greeting, NULL},
	{"subscribe", SEC_ENDPOINT, K_SUBSCRIBE, false, 1, INT32_MAX, "subscribe TARGET...",
		do_subscribe, NULL},
	{"envelope", SEC_ENDPOINT, K_ENVELOPE, true, 1, 1, "envelope flat|nested", NULL, envelopes},
	{"nest", SEC_ENDPOINT, K_NEST, false, 2, 2, "nest TYPE KEY", do_nest, NULL},
	{"rename", SEC_ENDPOINT, K_RENAME, false, 2, 2, "rename FROM TO", do_rename, NULL},
	{"events", SEC_ENDPOINT, K_EVENTS, true, 1, 1, "events named|unnamed", NULL, events},
	{"history", SEC_ENDPOINT, K_HISTORY, true, 1, 1, "history wrapped|messages", NULL,
		histories},
	{"handler", SEC_ENDPOINT, K_HANDLER, true, 1, 2, "handler NAME [FILE]", do_handler, NULL},
	{"count", SEC_ENDPOINT, K_COUNT, false, 2, 2, "count FIELD CHANNEL", do_count, NULL},
	{"publish", SEC_BROADCAST, K_PUBLISH, false, 1, INT32_MAX, "publish TEMPLATE...",
		do_publish, NULL},
	{"type", SEC_BROADCAST, K_TYPE, true, 1, 1, "type TYPE", do_type, NULL},
	{"type_field", SEC_BROADCAST, K_TYPE_FIELD, true, 1, 1, "type_field FIELD", do_type_field,
		NULL},
	{"retain", SEC_BROADCAST, K_RETAIN, true, 0, 0, "retain", do_retain, NULL},
};

/*
 * A section line: checked for its place, repetition and number of words
 * here, for its words by its handler, and for the endpoint's transport when
 * the section ends (the transport line may come last).
 */
enum rtg_err profile__section_line(struct prof_parser *p, char **av, int ac)
{
	struct prof_open *s = &p->sec;
	const struct key_def *d = NULL;
	size_t i;

	for (i = 0; !d && i < RTG_ARRAY_SIZE(keys); i++)
		d = strcmp(av[0], keys[i].word) == 0 ? &keys[i] : NULL;
	if (!d)
		return profile__report(p, "unknown directive '%.*s'", CLIP, av[0]);
	if (d->in != s->kind)
		return profile__report(p, "'%s' outside %s section", d->word,
			d->in == SEC_ENDPOINT ? "an endpoint" : "a broadcast");
	s->last = p->lineno;
	if (d->once && s->first[d->key])
		return profile__report(
			p, "'%s' is already given on line %u", d->word, s->first[d->key]);
	if (!s->first[d->key])
		s->first[d->key] = p->lineno;
	if (ac - 1 < d->min || ac - 1 > d->max)
		return profile__report(p, "wrong number of arguments (usage: %s)", d->usage);
	if (s->kind == SEC_ENDPOINT && note_key(p, d->key) != RTG_OK)
		return RTG_ERR_NOMEM;
	return d->choices ? choose(p, d, av[1]) : d->fn(p, av + 1, ac - 1);
}

/* ==== Closing sections ======================================================================== */

/* Returns NULL if endpoint @e takes key @k, else the endpoints that do. */
static const char *misfit(enum prof_key k, const struct prof_endpoint *e)
{
	switch (k) {
	case K_TOKEN:
	case K_GREETING:
	case K_SUBSCRIBE:
	case K_ENVELOPE:
	case K_NEST:
	case K_RENAME:
		return e->transport == PROF_HTTP ? "websocket and sse endpoints" : NULL;
	case K_EVENTS:
		return e->transport != PROF_SSE ? "sse endpoints" : NULL;
	case K_HISTORY:
		return e->transport != PROF_WEBSOCKET ? "websocket endpoints" : NULL;
	case K_QTOPIC: /* an http endpoint's subscribe line is reported already */
		return e->transport == PROF_WEBSOCKET ? "sse endpoints" : NULL;
	case K_HANDLER:
		return e->transport != PROF_HTTP ? "http endpoints" : NULL;
	case K_COUNT:
		return e->transport != PROF_HTTP || e->handler != PROF_H_STATS
			? "http endpoints with handler stats"
			: NULL;
	default:
		return NULL;
	}
}

/* Problems with a whole section are reported on its last line. */
static enum rtg_err endpoint_end(struct prof_parser *p)
{
	struct prof_open *s = &p->sec;
	struct prof_endpoint *e = cur_ep(p);
	const char *why;
	size_t i;

	if (!s->first[K_TRANSPORT])
		return profile__report_at(
			p, s->last, "endpoint on line %u has no transport", s->line);
	if (!s->transport_ok)
		return RTG_OK; /* the transport line is reported */
	for (i = 0; i < s->nkeys; i++) {
		why = misfit(s->keys[i].key, e);
		if (why)
			profile__report_at(p, s->keys[i].line, "'%s' applies to %s only",
				key_words[s->keys[i].key], why);
	}
	if (e->transport == PROF_HTTP && !s->first[K_HANDLER])
		profile__report_at(p, s->last, "http endpoint on line %u has no handler", s->line);
	return profile__env_attach(p, e);
}

enum rtg_err profile__section_end(struct prof_parser *p)
{
	struct prof_open *s = &p->sec;
	enum rtg_err rc = RTG_OK;

	if (s->kind == SEC_ENDPOINT)
		rc = endpoint_end(p);
	if (s->kind == SEC_BROADCAST && !s->first[K_PUBLISH])
		profile__report_at(p, s->last, "broadcast on line %u has no publish", s->line);
	if (s->kind == SEC_BROADCAST && !s->first[K_TYPE])
		profile__report_at(p, s->last, "broadcast on line %u has no type", s->line);
	profile__section_cleanup(p);
	return rc;
}
