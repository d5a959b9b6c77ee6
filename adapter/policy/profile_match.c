/*
 * profile_match.c - what a parsed profile set answers while the adapter runs:
 * the endpoint serving a path, the topic line of a topic, channels and
 * broadcast kinds by name, and templates expanded into MQTT topics. The
 * syntax of templates and paths lives here too, so that the parser
 * (profile.c) checks them with the rules this file applies.
 *
 * Not here: reading the file (profile.c). Nothing here allocates or keeps
 * state: every function reads its arguments only, so any thread may call it
 * on a set that nobody frees meanwhile.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "profile.h"
#include "rtg_topic.h"

#define TMPL_MAX 1024 /* longest template or path, in bytes */
#define CLIP 80 /* at most this much of a template or path is quoted in a message */

/* The kinds of a template level (docs/profiles.md, "Templates"). */
enum level {
	LV_TEXT, /* "+", "#" or text, as in MQTT */
	LV_USER, /* %u */
	LV_OWN, /* %u~X: X is "+", a {name} or text */
	LV_PARAM, /* {name} */
	LV_BAD_CHAR, /* '{', '}' or '%' inside a level */
	LV_BAD_PARAM, /* {...} with a name that is not one */
	LV_BAD_OWN, /* %u~ followed by nothing usable */
};

/* ==== Syntax ================================================================================== */

bool profile__ident_valid(const char *s, size_t n)
{
	size_t i;

	if (!s || n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (i = 1; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	}
	return true;
}

/* Returns true if any of the n bytes at @s is one of @set. */
static bool has_any(const char *s, size_t n, const char *set)
{
	for (; *set; set++) {
		if (memchr(s, *set, n))
			return true;
	}
	return false;
}

static bool is_param(const char *s, size_t n)
{
	return n >= 3 && s[0] == '{' && s[n - 1] == '}' && profile__ident_valid(s + 1, n - 2);
}

/* Classifies the @n-byte level at @s. */
static enum level classify(const char *s, size_t n)
{
	if (n == 2 && memcmp(s, "%u", 2) == 0)
		return LV_USER;
	if (n >= 3 && memcmp(s, "%u~", 3) == 0) {
		if ((n == 4 && s[3] == '+') || is_param(s + 3, n - 3))
			return LV_OWN;
		return n == 3 || has_any(s + 3, n - 3, "{}%+#") ? LV_BAD_OWN : LV_OWN;
	}
	if (is_param(s, n))
		return LV_PARAM;
	if (n >= 2 && s[0] == '{' && s[n - 1] == '}')
		return LV_BAD_PARAM;
	return has_any(s, n, "{}%") ? LV_BAD_CHAR : LV_TEXT;
}

__attribute__((format(printf, 3, 4))) static bool fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* Says what is wrong with the @n-byte level at @s of template @t, in @why. */
static bool bad_level(const char *t, const char *s, size_t n, enum level k, char *why, size_t len)
{
	int m = n > CLIP ? CLIP : (int)n;

	if (k == LV_BAD_PARAM)
		return fail(why, len,
			"invalid template '%.*s': bad parameter '%.*s' (a name is [a-z_][a-z0-9_]*)",
			CLIP, t, m, s);
	if (k == LV_BAD_OWN)
		return fail(why, len,
			"invalid template '%.*s': '%%u~' needs '+', a {parameter} or text after it, in '%.*s'",
			CLIP, t, m, s);
	return fail(why, len,
		"invalid template '%.*s': '{', '}' or '%%' inside the level '%.*s' (a parameter or %%u fills a whole level)",
		CLIP, t, m, s);
}

/*
 * A template is valid if each level is well formed and, with every {name}
 * replaced by '+' and every %u or %u~X level by a plain level, what is left
 * is a valid MQTT filter.
 */
bool profile__template_valid(const char *tmpl, char *why, size_t len)
{
	char probe[TMPL_MAX + 1];
	const char *s = tmpl;
	size_t n, w = 0, nown = 0;
	enum level k;

	if (!tmpl)
		return fail(why, len, "no template");
	if (strlen(tmpl) > TMPL_MAX)
		return fail(why, len, "invalid template '%.*s...': longer than %d bytes", CLIP,
			tmpl, TMPL_MAX);
	for (;;) {
		n = strcspn(s, "/");
		k = classify(s, n);
		if (k >= LV_BAD_CHAR)
			return bad_level(tmpl, s, n, k, why, len);
		if (k == LV_OWN && ++nown > 1)
			return fail(why, len, "invalid template '%.*s': more than one %%u~ level",
				CLIP, tmpl);
		if (k == LV_TEXT)
			memcpy(probe + w, s, n);
		else
			probe[w] = k == LV_PARAM ? '+' : 'x';
		w += k == LV_TEXT ? n : 1;
		if (!s[n])
			break;
		probe[w++] = '/';
		s += n + 1;
	}
	probe[w] = '\0';
	if (!rtg_topic_filter_valid(probe))
		return fail(why, len, "invalid template '%.*s'", CLIP, tmpl);
	return true;
}

/*
 * A path is '/' then levels: literal text or a whole-level {name}, each
 * non-empty except the last (a trailing slash), each name once.
 */
bool profile__path_valid(const char *path, char *why, size_t len)
{
	const char *s, *q;
	size_t n;

	if (!path || path[0] != '/')
		return fail(why, len, "invalid path '%.*s': it must start with '/'", CLIP,
			path ? path : "");
	if (strlen(path) > TMPL_MAX)
		return fail(why, len, "invalid path '%.*s...': longer than %d bytes", CLIP, path,
			TMPL_MAX);
	q = strpbrk(path, "?#");
	if (q)
		return fail(why, len,
			"invalid path '%.*s': '%c' (a query string is not part of a path)", CLIP,
			path, *q);
	for (s = path + 1;; s += n + 1) {
		n = strcspn(s, "/");
		if (n == 0 && s[n])
			return fail(why, len, "invalid path '%.*s': empty level", CLIP, path);
		if (n && s[0] == '{' && !is_param(s, n))
			return fail(why, len,
				"invalid path '%.*s': bad parameter '%.*s' (a name is [a-z_][a-z0-9_]*)",
				CLIP, path, n > CLIP ? CLIP : (int)n, s);
		if (s[0] != '{' && has_any(s, n, "{}"))
			return fail(why, len,
				"invalid path '%.*s': '{' or '}' inside a level (a parameter fills a whole level)",
				CLIP, path);
		/* the same {name} earlier in the path, as a whole level */
		for (q = path; s[0] == '{' && (q = strstr(q, "/{")) && q + 1 < s; q++) {
			if (strncmp(q + 1, s, n) == 0 && (q[n + 1] == '/' || !q[n + 1]))
				return fail(why, len, "invalid path '%.*s': parameter %.*s twice",
					CLIP, path, (int)n, s);
		}
		if (!s[n])
			return true;
	}
}

/* ==== Paths =================================================================================== */

/*
 * Records parameter @name (@nlen bytes) = @value (@vlen bytes) in @pp, both
 * copied into pp->buf after its first *used bytes. Returns false when full.
 */
static bool param_copy(struct prof_params *pp, size_t *used, const char *name, size_t nlen,
	const char *value, size_t vlen)
{
	char *b = pp->buf + *used;

	if (pp->n >= PROF_MAX_PARAMS || nlen + vlen + 2 > sizeof(pp->buf) - *used)
		return false;
	memcpy(b, name, nlen);
	b[nlen] = '\0';
	memcpy(b + nlen + 1, value, vlen);
	b[nlen + 1 + vlen] = '\0';
	pp->name[pp->n] = b;
	pp->value[pp->n++] = b + nlen + 1;
	*used += nlen + vlen + 2;
	return true;
}

/*
 * Returns true if @path matches pattern @pat level by level: a literal level
 * exactly, a {name} level any non-empty level. Fills @pp (if not NULL), and
 * fails when the parameters do not fit in it.
 */
static bool path_matches(const char *pat, const char *path, struct prof_params *pp)
{
	size_t pn, n, used = 0;

	if (pat[0] != '/' || path[0] != '/')
		return false;
	for (pat++, path++;; pat += pn + 1, path += n + 1) {
		pn = strcspn(pat, "/");
		n = strcspn(path, "/");
		if (pn >= 3 && pat[0] == '{' && pat[pn - 1] == '}') {
			if (n == 0 || (pp && !param_copy(pp, &used, pat + 1, pn - 2, path, n)))
				return false;
		} else if (pn != n || memcmp(pat, path, n) != 0) {
			return false;
		}
		if (!pat[pn] || !path[n])
			return !pat[pn] && !path[n];
	}
}

const struct prof_endpoint *profile__match(
	const struct profiles *p, const char *path, bool upgrade, struct prof_params *params)
{
	const struct prof_endpoint *e;
	size_t i, j;

	if (params)
		params->n = 0;
	if (!p || !path)
		return NULL;
	for (i = 0; i < p->nendpoints; i++) {
		e = &p->endpoints[i];
		if ((e->transport == PROF_WEBSOCKET) != upgrade)
			continue;
		for (j = 0; j < e->npaths; j++) {
			if (params)
				params->n = 0;
			if (path_matches(e->paths[j], path, params))
				return e;
		}
	}
	if (params)
		params->n = 0;
	return NULL;
}

/* ==== Topics, channels, broadcasts ============================================================ */

const struct prof_topic *profile__topic(const struct profiles *p, const char *topic)
{
	size_t i;

	if (!p || !topic)
		return NULL;
	for (i = 0; i < p->ntopics; i++) {
		if (rtg_topic_matches(p->topics[i].filter, topic))
			return &p->topics[i];
	}
	return NULL;
}

bool profile__topic_param(
	const struct prof_topic *t, const char *topic, const char *name, char *buf, size_t len)
{
	size_t level = 0, nlen, n;
	const char *s;

	if (buf && len)
		buf[0] = '\0';
	if (!t || !topic || !name || !buf || !len)
		return false;
	nlen = strlen(name);
	/* the index of the {name} level in the template */
	for (s = t->tmpl;; s += n + 1, level++) {
		n = strcspn(s, "/");
		if (n == nlen + 2 && s[0] == '{' && strncmp(s + 1, name, nlen) == 0)
			break;
		if (!s[n])
			return false;
	}
	if (!rtg_topic_matches(t->filter, topic))
		return false;
	for (s = topic; level > 0; level--) {
		s = strchr(s, '/');
		if (!s)
			return false;
		s++;
	}
	n = strcspn(s, "/");
	if (n >= len)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

const struct prof_channel *profile__channel(const struct profiles *p, const char *name)
{
	size_t i;

	if (!p || !name)
		return NULL;
	for (i = 0; i < p->nchannels; i++) {
		if (strcmp(p->channels[i].name, name) == 0)
			return &p->channels[i];
	}
	return NULL;
}

const struct prof_broadcast *profile__broadcast(const struct profiles *p, const char *kind)
{
	size_t i;

	if (!p || !kind)
		return NULL;
	for (i = 0; i < p->nbroadcasts; i++) {
		if (p->broadcasts[i].kind && strcmp(p->broadcasts[i].kind, kind) == 0)
			return &p->broadcasts[i];
	}
	return NULL;
}

/* ==== Parameters and expansion ================================================================ */

int profile__param_add(struct prof_params *params, const char *name, const char *value)
{
	if (!params || !name || !value || params->n < 0 || params->n >= PROF_MAX_PARAMS)
		return -1;
	params->name[params->n] = name;
	params->value[params->n++] = value;
	return 0;
}

/* The value of the first parameter called @name (@len bytes), or NULL. */
static const char *param_n(const struct prof_params *params, const char *name, size_t len)
{
	int i;

	for (i = 0; params && i < params->n && i < PROF_MAX_PARAMS; i++) {
		if (strncmp(params->name[i], name, len) == 0 && params->name[i][len] == '\0')
			return params->value[i];
	}
	return NULL;
}

const char *profile__param(const struct prof_params *params, const char *name)
{
	return name ? param_n(params, name, strlen(name)) : NULL;
}

/* The output of an expansion: @len bytes at @buf, @n written so far (may pass len). */
struct sink {
	char *buf;
	size_t len, n;
};

static void put(struct sink *o, const char *s, size_t n)
{
	if (o->n < o->len && n < o->len - o->n)
		memcpy(o->buf + o->n, s, n);
	o->n += n;
}

/* Ends a failed expansion: @out holds a copy of the offending name, which *bad points to. */
static enum prof_expand refuse(
	enum prof_expand rc, const char *name, size_t n, char *out, size_t outlen, const char **bad)
{
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, name, n);
	out[n] = '\0';
	if (bad)
		*bad = out;
	return rc;
}

/*
 * Expands the %u~X level at @s (@n bytes): "<sub>~X", or "+" for %u~+ (the
 * caller keeps to the owner's topics by the prefix). Neither @sub nor a
 * {name} value may hold '~', so the prefix "<sub>~" belongs to one user.
 */
static enum prof_expand expand_own(struct sink *o, const char *s, size_t n, const char *sub,
	const struct prof_params *params, const char **name, size_t *nlen)
{
	const char *v;

	if (n == 4 && s[3] == '+') {
		put(o, "+", 1);
		return PROF_EXPAND_OK;
	}
	put(o, sub, strlen(sub));
	put(o, "~", 1);
	if (s[3] != '{') {
		put(o, s + 3, n - 3);
		return PROF_EXPAND_OK;
	}
	*name = s + 4;
	*nlen = n - 5;
	v = param_n(params, *name, *nlen);
	if (!v)
		return PROF_EXPAND_MISSING;
	if (!rtg_topic_level_valid(v, RTG_TOPIC_LEVEL_MAX) || strchr(v, '~'))
		return PROF_EXPAND_BAD_VALUE;
	put(o, v, strlen(v));
	return PROF_EXPAND_OK;
}

/* Expands one level (@n bytes at @s); on MISSING or BAD_VALUE sets *name, *nlen. */
static enum prof_expand expand_level(struct sink *o, const char *s, size_t n, const char *sub,
	const struct prof_params *params, const char **name, size_t *nlen)
{
	enum level k = classify(s, n);
	const char *v;

	if (k == LV_USER || k == LV_OWN) {
		*name = "%u";
		*nlen = 2;
		if (!sub)
			return PROF_EXPAND_ANONYMOUS;
		if (!rtg_topic_level_valid(sub, RTG_TOPIC_MAX_LEN) ||
			(k == LV_OWN && strchr(sub, '~')))
			return PROF_EXPAND_BAD_VALUE;
		if (k == LV_OWN)
			return expand_own(o, s, n, sub, params, name, nlen);
		put(o, sub, strlen(sub));
		return PROF_EXPAND_OK;
	}
	if (k != LV_PARAM) {
		put(o, s, n);
		return PROF_EXPAND_OK;
	}
	*name = s + 1;
	*nlen = n - 2;
	v = param_n(params, *name, *nlen);
	if (!v)
		return PROF_EXPAND_MISSING;
	if (!rtg_topic_level_valid(v, RTG_TOPIC_LEVEL_MAX))
		return PROF_EXPAND_BAD_VALUE;
	put(o, v, strlen(v));
	return PROF_EXPAND_OK;
}

enum prof_expand profile__expand(const char *tmpl, const char *sub,
	const struct prof_params *params, char *out, size_t outlen, bool *own, const char **bad)
{
	struct sink o = {out, outlen, 0};
	const char *s = tmpl, *name = NULL;
	enum prof_expand rc;
	size_t n, nlen = 0;

	if (own)
		*own = false;
	if (bad)
		*bad = NULL;
	if (!out || !outlen || !tmpl)
		return PROF_EXPAND_TOO_LONG;
	out[0] = '\0';
	for (;; s += n + 1) {
		n = strcspn(s, "/");
		rc = expand_level(&o, s, n, sub, params, &name, &nlen);
		if (rc != PROF_EXPAND_OK)
			return refuse(rc, name, nlen, out, outlen, bad);
		if (own && classify(s, n) == LV_OWN)
			*own = true;
		if (!s[n])
			break;
		put(&o, "/", 1);
	}
	if (o.n >= outlen) {
		out[0] = '\0';
		return PROF_EXPAND_TOO_LONG;
	}
	out[o.n] = '\0';
	return PROF_EXPAND_OK;
}
