/*
 * rtg_acl.c - decides whether an identity, or an anonymous client, may read,
 * write or subscribe to a topic, with an ACL that rtg_acl_parse.c has read.
 *
 * Not here: parsing (rtg_acl_parse.c), token verification (rtg_jwt.c) and
 * topic syntax (rtg_topic.c). A parsed ACL is never modified, so
 * rtg_acl_check() may run from any number of threads at once. It allocates
 * only when a %u/%c substitution does not fit a small stack buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "rtg_acl_int.h"
#include "rtg_topic.h"
#include "rtg_util.h"

#define SUBST_STACK 256 /* substituted patterns up to this size need no malloc */

/* ==== The ACL object ========================================================================== */

static void section_cleanup(struct acl_section *s)
{
	size_t i;

	for (i = 0; i < s->nrules; i++)
		free(s->rules[i].filter);
	free(s->rules);
	free(s->name);
}

static void list_cleanup(struct section_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		section_cleanup(&l->v[i]);
	free(l->v);
}

void rtg_acl_free(struct rtg_acl *acl)
{
	if (!acl)
		return;
	section_cleanup(&acl->everyone);
	section_cleanup(&acl->anonymous);
	section_cleanup(&acl->patterns);
	list_cleanup(&acl->users);
	list_cleanup(&acl->roles);
	free(acl);
}

size_t rtg_acl_rule_count(const struct rtg_acl *acl)
{
	return acl ? acl->nrules : 0;
}

int acl__section_cmp(const void *a, const void *b)
{
	const struct acl_section *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* ==== Checking ================================================================================ */

/* One question to the ACL, asked in two passes: deny rules, then allow rules. */
struct query {
	const struct rtg_identity *id; /* NULL: an anonymous client */
	const char *client_id;
	const char *topic; /* a topic name, or a filter with its $share prefix removed */
	enum rtg_access access;
	bool deny; /* this pass looks at deny rules only */
};

enum hit { MISS, HIT, FAIL };

static bool rule_in_pass(const struct query *q, const struct acl_rule *r)
{
	unsigned need = q->access == RTG_ACCESS_SUBSCRIBE ? RTG_ACCESS_READ : q->access;

	return q->deny ? r->access == ACCESS_DENY : (r->access & need) != 0;
}

/*
 * A deny rule hits a subscription if it shares any topic with it; an allow
 * rule only if it covers every topic the subscription can match.
 */
static enum hit test_filter(const struct query *q, const char *filter)
{
	bool hit;

	if (q->access != RTG_ACCESS_SUBSCRIBE)
		hit = rtg_topic_matches(filter, q->topic);
	else if (q->deny)
		hit = rtg_topic_filters_overlap(filter, q->topic);
	else
		hit = rtg_topic_filter_covers(filter, q->topic);
	return hit ? HIT : MISS;
}

/*
 * Writes @pattern with %u and %c replaced into @buf when it fits in @size
 * bytes, like snprintf, and returns the size the result needs (with the NUL).
 * Returns 0 when the rule does not apply: a value is missing or unusable, or
 * the result is longer than any valid filter (so it could match no topic).
 */
static size_t subst(const struct query *q, const char *pattern, char *buf, size_t size)
{
	const char *piece;
	size_t n = 0, len;

	for (; *pattern; pattern++) {
		piece = pattern;
		len = 1;
		if (pattern[0] == '%' && (pattern[1] == 'u' || pattern[1] == 'c')) {
			piece = pattern[1] == 'u' ? q->id->sub : q->client_id;
			if (!piece || !piece[0] || strpbrk(piece, "/+#"))
				return 0; /* not one whole, non-wildcard level */
			len = strnlen(piece, RTG_TOPIC_MAX_LEN + 1);
			pattern++;
		}
		if (n + len > RTG_TOPIC_MAX_LEN)
			return 0;
		if (n + len < size)
			memcpy(buf + n, piece, len);
		n += len;
	}
	if (n < size)
		buf[n] = '\0';
	return n + 1;
}

static enum hit test_pattern(const struct query *q, const char *pattern)
{
	char stack[SUBST_STACK], *buf = stack;
	size_t size = subst(q, pattern, stack, sizeof(stack));
	enum hit h;

	if (size == 0)
		return MISS;
	if (size > sizeof(stack)) {
		buf = malloc(size);
		if (!buf)
			return FAIL;
		subst(q, pattern, buf, size);
	}
	h = test_filter(q, buf);
	if (buf != stack)
		free(buf);
	return h;
}

static enum hit scan_section(const struct query *q, const struct acl_section *s)
{
	const struct acl_rule *r;
	enum hit h;
	size_t i;

	for (i = 0; i < s->nrules; i++) {
		r = &s->rules[i];
		if (!rule_in_pass(q, r))
			continue;
		h = r->subst ? test_pattern(q, r->filter) : test_filter(q, r->filter);
		if (h != MISS)
			return h;
	}
	return MISS;
}

/* Scans the sections called @name (there may be several) in a sorted list. */
static enum hit scan_named(const struct query *q, const struct section_list *l, const char *name)
{
	struct acl_section key = {.name = (char *)name};
	const struct acl_section *s, *end = l->n ? l->v + l->n : NULL; /* v NULL: NULL + 0 is UB */
	enum hit h = MISS;

	if (!name || l->n == 0)
		return MISS;
	s = bsearch(&key, l->v, l->n, sizeof(key), acl__section_cmp);
	if (!s)
		return MISS;
	while (s > l->v && strcmp(s[-1].name, name) == 0)
		s--;
	for (; h == MISS && s < end && strcmp(s->name, name) == 0; s++)
		h = scan_section(q, s);
	return h;
}

/*
 * Returns HIT if any rule that applies to the client hits in this pass. An
 * anonymous client gets the anonymous section and nothing else: the top-level
 * lines are for authenticated clients, and it has no sub, roles or %u. The
 * anonymous section in turn never applies to a client with a token.
 */
static enum hit scan(const struct rtg_acl *acl, const struct query *q)
{
	enum hit h;
	size_t i;

	if (!q->id)
		return scan_section(q, &acl->anonymous);
	h = scan_section(q, &acl->everyone);
	if (h == MISS)
		h = scan_named(q, &acl->users, q->id->sub);
	for (i = 0; h == MISS && i < q->id->nroles; i++)
		h = scan_named(q, &acl->roles, q->id->roles[i]);
	if (h == MISS)
		h = scan_section(q, &acl->patterns);
	return h;
}

/*
 * Deny wins: any applicable deny rule that touches the topic refuses it,
 * whatever allows it. A failed allocation (FAIL) also refuses: fail closed.
 * A NULL @id is an anonymous client; an identity without a sub is a caller's
 * bug, not an anonymous client, and stays RTG_ERR_INVAL.
 */
enum rtg_err rtg_acl_check(const struct rtg_acl *acl, const struct rtg_identity *id,
	const char *client_id, const char *topic, enum rtg_access access)
{
	struct query q = {.id = id, .client_id = client_id, .topic = topic, .access = access};

	if (!acl || (id && !id->sub) || !topic)
		return RTG_ERR_INVAL;
	if (access == RTG_ACCESS_SUBSCRIBE)
		q.topic = rtg_topic_strip_share(topic); /* NULL for a broken "$share/" */
	else if (access != RTG_ACCESS_READ && access != RTG_ACCESS_WRITE)
		return RTG_ERR_INVAL;
	if (access == RTG_ACCESS_SUBSCRIBE ? !rtg_topic_filter_valid(q.topic)
					   : !rtg_topic_name_valid(topic))
		return RTG_ERR_INVAL;

	q.deny = true;
	if (scan(acl, &q) != MISS)
		return RTG_ERR_DENIED;
	q.deny = false;
	return scan(acl, &q) == HIT ? RTG_OK : RTG_ERR_DENIED;
}
