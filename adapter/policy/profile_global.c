/*
 * profile_global.c - the global directives of a profile file (topic, channel,
 * form), the channel references that lines make (forms, counts, @channel in
 * subscribe), resolved once every channel is known, and the small word
 * helpers every profile*.c parser file uses.
 *
 * Not here: the file, its lines and the set's lifetime (profile.c), sections
 * (profile_section.c), the syntax of templates and paths (profile_match.c).
 * Runs in the parser's thread.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_int.h"

#define CLIP PROF_CLIP

/* ==== Shared helpers ========================================================================== */

enum rtg_err profile__strs_add(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return RTG_ERR_NOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return RTG_ERR_NOMEM;
	(*n)++;
	return RTG_OK;
}

bool profile__name_valid(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");

	return n > 0 && n <= 64 && s[n] == '\0';
}

enum rtg_err profile__bad_name(struct prof_parser *p, const char *what, const char *s)
{
	return profile__report(
		p, "invalid %s '%.*s' (1 to 64 letters, digits, '_', '.' or '-')", what, CLIP, s);
}

int profile__word_index(const char *w, const char *const *words, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (strcmp(w, words[i]) == 0)
			return i;
	}
	return -1;
}

bool profile__path_has_param(const char *path, const char *name, size_t len)
{
	const char *s;

	for (s = strchr(path, '{'); s; s = strchr(s + 1, '{')) {
		if (strncmp(s + 1, name, len) == 0 && s[len + 1] == '}')
			return true;
	}
	return false;
}

/* Compares level by level; any two {name} levels are alike. */
unsigned profile__path_owner(const struct profiles *set, const char *path)
{
	const struct prof_endpoint *e;
	const char *a, *b;
	size_t i, j, na, nb;

	for (i = 0; i < set->nendpoints; i++) {
		e = &set->endpoints[i];
		for (j = 0; j < e->npaths; j++) {
			for (a = e->paths[j], b = path;; a += na + 1, b += nb + 1) {
				na = strcspn(a, "/");
				nb = strcspn(b, "/");
				if (!(na && nb && a[0] == '{' && b[0] == '{') &&
					(na != nb || memcmp(a, b, na) != 0))
					break;
				if (!a[na] || !b[nb]) {
					if (!a[na] && !b[nb])
						return e->line;
					break;
				}
			}
		}
	}
	return 0;
}

const char *profile__next_param(const char *s, size_t *len)
{
	s = strchr(s, '{');
	if (!s)
		return NULL;
	*len = strcspn(s + 1, "}");
	return s + 1;
}

/* ==== Global directives ======================================================================= */

enum rtg_err profile__add_ref(
	struct prof_parser *p, const char *name, enum prof_ref_kind kind, size_t i, size_t j)
{
	struct prof_ref *r;

	PROF_APPEND(r, p->refs, p->nrefs, p->cap.refs);
	if (!r)
		return RTG_ERR_NOMEM;
	*r = (struct prof_ref){strdup(name), p->lineno, kind, i, j};
	return r->channel ? RTG_OK : RTG_ERR_NOMEM;
}

/* The filter of a valid topic template without %u: each {name} level becomes '+'. */
static char *topic_filter(const char *tmpl)
{
	char *f = strdup(tmpl), *w = f;
	const char *s;
	size_t n;

	for (s = tmpl; f; s += n + 1) {
		n = strcspn(s, "/");
		if (s[0] == '{')
			*w++ = '+';
		else
			w = (char *)memcpy(w, s, n) + n;
		if (!s[n])
			break;
		*w++ = '/';
	}
	if (f)
		*w = '\0';
	return f;
}

/* "topic TEMPLATE TYPE value|event" */
static enum rtg_err do_topic(struct prof_parser *p, char **av)
{
	struct profiles *set = p->set;
	char why[PROF_WHY_LEN];
	struct prof_topic *t;
	int value = profile__word_index(av[2], (const char *const[]){"event", "value"}, 2);

	if (!profile__template_valid(av[0], why, sizeof(why)))
		return profile__report(p, "%s", why);
	if (strstr(av[0], "%u"))
		return profile__report(p,
			"topic template '%.*s' cannot use %%u (write + for any user)", CLIP, av[0]);
	if (!profile__name_valid(av[1]))
		return profile__bad_name(p, "type", av[1]);
	if (value < 0)
		return profile__report(p, "expected value or event, not '%.*s'", CLIP, av[2]);
	PROF_APPEND(t, set->topics, set->ntopics, p->cap.topics);
	if (!t)
		return RTG_ERR_NOMEM;
	t->line = p->lineno;
	t->value = value == 1;
	t->tmpl = strdup(av[0]);
	t->filter = topic_filter(av[0]);
	t->type = strdup(av[1]);
	return t->tmpl && t->filter && t->type ? RTG_OK : RTG_ERR_NOMEM;
}

/* "channel NAME TEMPLATE...": kept with its good templates even if some are broken. */
static enum rtg_err do_channel(struct prof_parser *p, char **av, int ac)
{
	struct profiles *set = p->set;
	char why[PROF_WHY_LEN];
	struct prof_channel *c;
	enum rtg_err rc = RTG_OK;
	size_t i;
	int k;

	if (!profile__name_valid(av[0]))
		return profile__bad_name(p, "channel name", av[0]);
	for (i = 0; i < set->nchannels; i++) {
		if (strcmp(set->channels[i].name, av[0]) == 0)
			return profile__report(p, "channel '%s' is already defined on line %u",
				av[0], set->channels[i].line);
	}
	PROF_APPEND(c, set->channels, set->nchannels, p->cap.channels);
	if (!c)
		return RTG_ERR_NOMEM;
	c->line = p->lineno;
	c->name = strdup(av[0]);
	if (!c->name)
		return RTG_ERR_NOMEM;
	for (k = 1; k < ac && rc != RTG_ERR_NOMEM; k++) {
		if (!profile__template_valid(av[k], why, sizeof(why)))
			rc = profile__report(p, "%s", why);
		else
			rc = profile__strs_add(&c->targets, &c->ntargets, av[k]);
	}
	return rc;
}

/* "form field|type NAME CHANNEL [or-channel]" */
static enum rtg_err do_form(struct prof_parser *p, char **av, int ac)
{
	struct profiles *set = p->set;
	struct prof_form *f;
	int by_type = profile__word_index(av[0], (const char *const[]){"field", "type"}, 2);
	size_t i;

	if (by_type < 0)
		return profile__report(p, "expected field or type, not '%.*s'", CLIP, av[0]);
	if (by_type && !profile__name_valid(av[1]))
		return profile__bad_name(p, "type", av[1]);
	if (!by_type && !profile__ident_valid(av[1], strlen(av[1])))
		return profile__report(
			p, "invalid field name '%.*s' ([a-z_][a-z0-9_]*)", CLIP, av[1]);
	if (ac == 4 && strcmp(av[3], "or-channel") != 0)
		return profile__report(p, "expected or-channel, not '%.*s'", CLIP, av[3]);
	if (ac == 4 && by_type)
		return profile__report(p, "or-channel applies to form field only");
	for (i = 0; i < set->nforms; i++) {
		if (set->forms[i].by_type == by_type && strcmp(set->forms[i].name, av[1]) == 0)
			return profile__report(p, "form %s '%s' is already defined on line %u",
				av[0], av[1], set->forms[i].line);
	}
	PROF_APPEND(f, set->forms, set->nforms, p->cap.forms);
	if (!f)
		return RTG_ERR_NOMEM;
	f->line = p->lineno;
	f->by_type = by_type;
	f->or_channel = ac == 4;
	f->name = strdup(av[1]);
	if (!f->name)
		return RTG_ERR_NOMEM;
	return profile__add_ref(p, av[2], REF_FORM, set->nforms - 1, 0);
}

/* A topic, channel or form line; RTG_ERR_INVAL (nothing reported) for any other word. */
enum rtg_err profile__global_line(struct prof_parser *p, char **av, int ac)
{
	static const char *const words[] = {"topic", "channel", "form"};
	static const int min[] = {3, 2, 3}, max[] = {3, INT32_MAX, 4};
	static const char *const usage[] = {"topic TEMPLATE TYPE value|event",
		"channel NAME TEMPLATE...", "form field|type NAME CHANNEL [or-channel]"};
	int which = profile__word_index(av[0], words, 3);

	if (which < 0)
		return RTG_ERR_INVAL;
	if (ac - 1 < min[which] || ac - 1 > max[which])
		return profile__report(p, "wrong number of arguments (usage: %s)", usage[which]);
	if (which == 0)
		return do_topic(p, av + 1);
	if (which == 1)
		return do_channel(p, av + 1, ac - 1);
	return do_form(p, av + 1, ac - 1);
}

/* ==== Channel references ====================================================================== */

static enum rtg_err unknown_channel(struct prof_parser *p, const struct prof_ref *r)
{
	const struct profiles *set = p->set;
	char list[128] = "";
	size_t i, n = 0;

	if (!set->nchannels)
		return profile__report_at(p, r->line,
			"unknown channel '%.*s' (no channel is defined)", CLIP, r->channel);
	for (i = 0; i < set->nchannels; i++) {
		if (n + strlen(set->channels[i].name) + 2 > 100) { /* names are at most 64 bytes */
			snprintf(list + n, sizeof(list) - n, ", ...");
			break;
		}
		n += (size_t)snprintf(
			list + n, sizeof(list) - n, "%s%s", i ? ", " : "", set->channels[i].name);
	}
	return profile__report_at(
		p, r->line, "unknown channel '%.*s' (channels: %s)", CLIP, r->channel, list);
}

/* The number of distinct {parameters} in the templates of @c: 0, 1, or 2 for more. */
static int channel_params(const struct prof_channel *c)
{
	const char *first = NULL, *s;
	size_t i, len, flen = 0;

	for (i = 0; i < c->ntargets; i++) {
		for (s = c->targets[i]; (s = profile__next_param(s, &len)); s += len) {
			if (!first) {
				first = s;
				flen = len;
			} else if (len != flen || strncmp(s, first, len) != 0) {
				return 2;
			}
		}
	}
	return first ? 1 : 0;
}

/* "subscribe @CHANNEL": every path of the endpoint must give each parameter of the channel. */
static enum rtg_err check_paths(
	struct prof_parser *p, const struct prof_ref *r, const struct prof_channel *c)
{
	const struct prof_endpoint *e = &p->set->endpoints[r->i];
	const char *s;
	size_t i, j, len;

	for (i = 0; i < c->ntargets; i++) {
		for (s = c->targets[i]; (s = profile__next_param(s, &len)); s += len) {
			for (j = 0; j < e->npaths; j++) {
				if (!profile__path_has_param(e->paths[j], s, len))
					return profile__report_at(p, r->line,
						"channel '%s' needs {%.*s}, which path '%.*s' does not have",
						c->name, (int)len, s, CLIP, e->paths[j]);
			}
		}
	}
	return RTG_OK;
}

/* Points forms and counts at their channels, now that every channel is known. */
void profile__resolve(struct prof_parser *p)
{
	const struct prof_channel *c;
	const struct prof_ref *r;
	struct prof_form *f;
	size_t k;
	int n;

	for (k = 0; k < p->nrefs; k++) {
		r = &p->refs[k];
		c = profile__channel(p->set, r->channel);
		if (!c) {
			unknown_channel(p, r);
		} else if (r->kind == REF_COUNT) {
			p->set->endpoints[r->i].counts[r->j].channel = c;
		} else if (r->kind == REF_SUBSCRIBE) {
			check_paths(p, r, c);
		} else {
			f = &p->set->forms[r->i];
			f->channel = c;
			n = f->by_type ? 1 : channel_params(c);
			if (n != 1)
				profile__report_at(p, r->line,
					"form field '%s' needs a channel with one {parameter}: '%s' has %s",
					f->name, c->name, n ? "several" : "none");
		}
	}
}
