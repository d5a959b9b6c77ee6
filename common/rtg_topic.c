/*
 * rtg_topic.c - MQTT topic names, filters, and the relations between filters.
 *
 * Validity and name-vs-filter matching are delegated to libmosquitto (the
 * broker exports the same functions to plugins), so the plugin, the adapter
 * and the broker agree. Only the filter-vs-filter relations the ACL needs
 * (covers, overlaps) and the "$share/" prefix are written here: iterative walks
 * over levels with pointers, no recursion and no allocation. Pure functions:
 * safe from any thread.
 */
#include <stddef.h>
#include <ctype.h>
#include <string.h>

#include <mosquitto.h>

#include "rtg_topic.h"

#define SHARE_PREFIX "$share/"

/*
 * One level of a topic or filter: the bytes from p up to the next '/' or the
 * end. Empty levels are real levels: "a//b" has three, "/a" and "a/" two.
 */
struct level {
	const char *p;
	size_t len;
	bool last; /* no '/' follows */
};

static void level_measure(struct level *l)
{
	l->len = strcspn(l->p, "/");
	l->last = l->p[l->len] == '\0';
}

static void level_first(struct level *l, const char *s)
{
	l->p = s;
	level_measure(l);
}

static void level_next(struct level *l)
{
	l->p += l->len + 1;
	level_measure(l);
}

static bool level_is(const struct level *l, char c)
{
	return l->len == 1 && l->p[0] == c;
}

static bool level_eq(const struct level *a, const struct level *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* Returns true if the only thing after level @l is a final "#" level. */
static bool rest_is_hash(const struct level *l)
{
	return !l->last && strcmp(l->p + l->len + 1, "#") == 0;
}

static bool is_wildcard(char c)
{
	return c == '+' || c == '#';
}

/*
 * MQTT 4.7.2: a filter whose first level is a wildcard never matches a topic
 * name starting with '$'. A valid filter starting with '$' has a literal first
 * level, so every topic it matches starts with '$'; hence a wildcard-first
 * filter and a '$'-first filter share no topic at all.
 */
static bool dollar_split(const char *wild, const char *dollar)
{
	return is_wildcard(wild[0]) && dollar[0] == '$';
}

/* Returns the length of @s, or 0 if it is empty or longer than the limit. */
static size_t bounded_len(const char *s)
{
	size_t len = strnlen(s, RTG_TOPIC_MAX_LEN + 1);

	return len > RTG_TOPIC_MAX_LEN ? 0 : len;
}

bool rtg_topic_name_valid(const char *topic)
{
	size_t len;

	if (!topic)
		return false;
	len = bounded_len(topic);
	if (len == 0)
		return false;
	if (mosquitto_validate_utf8(topic, (int)len) != MOSQ_ERR_SUCCESS)
		return false;
	return mosquitto_pub_topic_check(topic) == MOSQ_ERR_SUCCESS;
}

bool rtg_topic_filter_valid(const char *filter)
{
	size_t len;

	if (!filter)
		return false;
	len = bounded_len(filter);
	if (len == 0)
		return false;
	if (mosquitto_validate_utf8(filter, (int)len) != MOSQ_ERR_SUCCESS)
		return false;
	return mosquitto_sub_topic_check(filter) == MOSQ_ERR_SUCCESS;
}

bool rtg_topic_matches(const char *filter, const char *topic)
{
	if (!rtg_topic_filter_valid(filter) || !rtg_topic_name_valid(topic))
		return false;
	return rtg_topic_matches_valid(filter, topic);
}

bool rtg_topic_matches_valid(const char *filter, const char *topic)
{
	bool result = false;

	return mosquitto_topic_matches_sub(filter, topic, &result) == MOSQ_ERR_SUCCESS && result;
}

/*
 * The empty string is not a topic, so a '#' that would match zero levels
 * after nothing ("#") or after one empty level ("/#") must match at least one
 * level there: "#" means the same as "+/#", and "/#" the same as "/+/#".
 * Returns true if the filter level @f, a '#', is in such a place.
 */
static bool hash_needs_a_level(const char *filter, const struct level *f)
{
	return f->p == filter || (f->p == filter + 1 && filter[0] == '/');
}

/*
 * Walks both filters level by level. A '#' in the rule swallows whatever is
 * left of the filter; a '#' in the filter (any depth, including none) is
 * covered only by a '#' in the rule at the same level, or by a final "+/#"
 * where the '#' must match at least one level anyway. Otherwise each filter
 * level must equal the rule's level, or the rule's level is '+' (a '+' in the
 * filter is covered only by '+'). When the filter runs out first, the rule
 * may still end in "/#", which matches zero levels: "a/#" covers "a".
 */
bool rtg_topic_filter_covers(const char *rule, const char *filter)
{
	struct level r, f;

	if (!rtg_topic_filter_valid(rule) || !rtg_topic_filter_valid(filter))
		return false;
	if (dollar_split(rule, filter))
		return false;

	level_first(&r, rule);
	level_first(&f, filter);
	for (;;) {
		if (level_is(&r, '#'))
			return true;
		if (level_is(&f, '#'))
			return hash_needs_a_level(filter, &f) && level_is(&r, '+') &&
				rest_is_hash(&r);
		if (!level_is(&r, '+') && !level_eq(&r, &f))
			return false;
		if (f.last)
			return r.last || rest_is_hash(&r);
		if (r.last)
			return false;
		level_next(&r);
		level_next(&f);
	}
}

/*
 * Two filters share a topic unless some level tells them apart: two
 * different literals at the same depth, or one filter ending while the other
 * still needs more levels (anything but a final "/#"). A '#' on either side
 * accepts whatever the other side still asks for, and '+' accepts any single
 * level, so neither can tell them apart. One exception: the empty string is
 * not a topic, so "+" and "/#" share nothing (their only common candidate is
 * a single empty level).
 */
bool rtg_topic_filters_overlap(const char *a, const char *b)
{
	struct level x, y;

	if (!rtg_topic_filter_valid(a) || !rtg_topic_filter_valid(b))
		return false;
	if (dollar_split(a, b) || dollar_split(b, a))
		return false;

	level_first(&x, a);
	level_first(&y, b);
	for (;;) {
		if (level_is(&x, '#') || level_is(&y, '#'))
			return true;
		if (!level_is(&x, '+') && !level_is(&y, '+') && !level_eq(&x, &y))
			return false;
		if (x.last && y.last)
			return true;
		if (x.last || y.last) {
			if (x.p == a && (x.len == 0 || y.len == 0))
				return false;
			return x.last ? rest_is_hash(&y) : rest_is_hash(&x);
		}
		level_next(&x);
		level_next(&y);
	}
}

/*
 * MQTT 5 4.8.2: "$share/<ShareName>/<filter>", where ShareName is at least
 * one character and holds no '/', '+' or '#'. The filter itself is checked by
 * the caller with rtg_topic_filter_valid().
 */
const char *rtg_topic_strip_share(const char *filter)
{
	const char *group, *slash;
	size_t glen;

	if (!filter)
		return NULL;
	if (strncmp(filter, SHARE_PREFIX, strlen(SHARE_PREFIX)) != 0)
		return filter;

	group = filter + strlen(SHARE_PREFIX);
	slash = strchr(group, '/');
	if (!slash || slash == group || slash[1] == '\0')
		return NULL;
	glen = (size_t)(slash - group);
	if (memchr(group, '+', glen) || memchr(group, '#', glen))
		return NULL;
	return slash + 1;
}

bool rtg_topic_level_valid(const char *name, size_t max)
{
	size_t n = name ? strnlen(name, max) : 0;
	const char *c;

	if (!n || n >= max || mosquitto_validate_utf8(name, (int)n) != MOSQ_ERR_SUCCESS)
		return false;
	for (c = name; *c; c++) {
		if (*c == '/' || *c == '+' || *c == '#' || iscntrl((unsigned char)*c))
			return false;
	}
	return true;
}
