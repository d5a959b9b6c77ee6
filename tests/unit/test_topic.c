/*
 * test_topic.c - unit tests for rtg_topic: validity, matching, and the
 * filter relations (covers, overlap) the ACL relies on.
 *
 * Tables are driven through small helpers, as in Mosquitto's
 * test/unit/util_topic_test.c. The last tests compare covers and overlap with
 * a brute-force answer over every small filter and topic, which is where the
 * corner cases ('$', empty levels, "#" matching the parent) hide.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>

#include "rtg_topic.h"
#include "rtg_util.h"

struct pair_case {
	const char *a;
	const char *b;
	bool expected;
};

/* ==== Helpers ================================================================================= */

static const char *show(const char *s)
{
	return s ? s : "(null)";
}

static void match_helper(const char *filter, const char *topic)
{
	if (!rtg_topic_matches(filter, topic))
		fail_msg("'%s' should match '%s'", show(filter), show(topic));
}

static void no_match_helper(const char *filter, const char *topic)
{
	if (rtg_topic_matches(filter, topic))
		fail_msg("'%s' should not match '%s'", show(filter), show(topic));
}

static void covers_table(const struct pair_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (rtg_topic_filter_covers(cases[i].a, cases[i].b) != cases[i].expected)
			fail_msg("covers(rule '%s', filter '%s') should be %s", cases[i].a,
				cases[i].b, cases[i].expected ? "true" : "false");
	}
}

static void overlap_table(const struct pair_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		/* overlap is symmetric: check both ways round */
		if (rtg_topic_filters_overlap(cases[i].a, cases[i].b) != cases[i].expected ||
			rtg_topic_filters_overlap(cases[i].b, cases[i].a) != cases[i].expected)
			fail_msg("overlap('%s', '%s') should be %s", cases[i].a, cases[i].b,
				cases[i].expected ? "true" : "false");
	}
}

/* Returns a malloc'd string of @len bytes repeating @unit (ends however it ends). */
static char *repeat(const char *unit, size_t len)
{
	size_t ulen = strlen(unit), i;
	char *s = malloc(len + 1);

	assert_non_null(s);
	for (i = 0; i < len; i++)
		s[i] = unit[i % ulen];
	s[len] = '\0';
	return s;
}

/* ==== Validity ================================================================================ */

static void test_topic_name_validity_follows_mqtt(void **state)
{
	static const char *const good[] = {"a", "a/b", "/", "//", "/a", "a/", "a//b", "$SYS/x",
		"caf\xc3\xa9/\xe2\x84\x9e", "sport/tennis/player1", " "};
	static const char *const bad[] = {"", "+", "#", "a/+", "a/#", "a+b", "a#", "\xff",
		"caf\xe9", "a\x01", "\xc0\x80", "\xed\xa0\x80"};
	size_t i;

	(void)state;
	for (i = 0; i < RTG_ARRAY_SIZE(good); i++) {
		if (!rtg_topic_name_valid(good[i]))
			fail_msg("topic name '%s' should be valid", good[i]);
	}
	for (i = 0; i < RTG_ARRAY_SIZE(bad); i++) {
		if (rtg_topic_name_valid(bad[i]))
			fail_msg("topic name '%s' should be invalid", bad[i]);
	}
	assert_false(rtg_topic_name_valid(NULL));
}

static void test_topic_filter_validity_follows_mqtt(void **state)
{
	static const char *const good[] = {"#", "+", "a", "a/#", "+/+", "/+", "+/", "a/+/b",
		"sport/tennis/+", "sport/#", "/#", "//", "$SYS/#", "$SYS/+/x", "+/#",
		"caf\xc3\xa9/+"};
	static const char *const bad[] = {"", "a#", "a/#/b", "#/a", "a+", "+a", "a/b+/c", "a/+b",
		"##", "++", "a/##", "\xff/#", "a\x7f"};
	size_t i;

	(void)state;
	for (i = 0; i < RTG_ARRAY_SIZE(good); i++) {
		if (!rtg_topic_filter_valid(good[i]))
			fail_msg("filter '%s' should be valid", good[i]);
	}
	for (i = 0; i < RTG_ARRAY_SIZE(bad); i++) {
		if (rtg_topic_filter_valid(bad[i]))
			fail_msg("filter '%s' should be invalid", bad[i]);
	}
	assert_false(rtg_topic_filter_valid(NULL));
}

static void test_topic_accepts_maximum_length_and_refuses_longer(void **state)
{
	/* 65535 bytes, 32768 levels each: "a/a/.../a" and "+/+/.../+" */
	char *name = repeat("a/", RTG_TOPIC_MAX_LEN);
	char *filter = repeat("+/", RTG_TOPIC_MAX_LEN);
	char *long_name = repeat("a/", RTG_TOPIC_MAX_LEN + 1);
	char *long_filter = repeat("+/", RTG_TOPIC_MAX_LEN + 1);

	(void)state;
	assert_true(rtg_topic_name_valid(name));
	assert_true(rtg_topic_filter_valid(filter));
	assert_false(rtg_topic_name_valid(long_name));
	assert_false(rtg_topic_filter_valid(long_filter));
	/* the walks are loops, so this many levels costs no stack */
	assert_true(rtg_topic_matches(filter, name));
	assert_true(rtg_topic_filter_covers(filter, name));
	assert_true(rtg_topic_filter_covers(filter, filter));
	assert_true(rtg_topic_filter_covers("#", filter));
	assert_false(rtg_topic_filter_covers(filter, "#"));
	assert_true(rtg_topic_filters_overlap(filter, name));
	assert_false(rtg_topic_filters_overlap(long_filter, "#"));
	assert_false(rtg_topic_matches("#", long_name));
	free(name);
	free(filter);
	free(long_name);
	free(long_filter);
}

/* ==== Matching ================================================================================ */

/* MQTT 3.1.1 section 4.7.1, the spec's own examples. */
static void test_topic_matches_mqtt_spec_examples(void **state)
{
	(void)state;
	match_helper("sport/tennis/player1/#", "sport/tennis/player1");
	match_helper("sport/tennis/player1/#", "sport/tennis/player1/ranking");
	match_helper("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon");
	match_helper("sport/#", "sport");
	match_helper("#", "sport/tennis");
	match_helper("sport/tennis/+", "sport/tennis/player1");
	match_helper("sport/tennis/+", "sport/tennis/player2");
	no_match_helper("sport/tennis/+", "sport/tennis/player1/ranking");
	match_helper("sport/+", "sport/");
	no_match_helper("sport/+", "sport");
	match_helper("+/+", "/finance");
	match_helper("/+", "/finance");
	no_match_helper("+", "/finance");
	match_helper("+/tennis/#", "sport/tennis/player1");
	match_helper("sport/+/player1", "sport/tennis/player1");
}

static void test_topic_wildcard_first_level_never_matches_dollar_topics(void **state)
{
	(void)state;
	no_match_helper("#", "$SYS/broker/uptime");
	no_match_helper("+/monitor/Clients", "$SYS/monitor/Clients");
	no_match_helper("+/#", "$SYS");
	match_helper("$SYS/#", "$SYS/monitor/Clients");
	match_helper("$SYS/monitor/+", "$SYS/monitor/Clients");
	match_helper("$SYS/#", "$SYS");
	/* only the first level counts: "$" deeper down is an ordinary character */
	match_helper("a/+", "a/$b");
	match_helper("#", "a/$SYS");
}

static void test_topic_empty_levels_are_real_levels(void **state)
{
	(void)state;
	match_helper("a//b", "a//b");
	match_helper("a/+/b", "a//b");
	no_match_helper("a/b", "a//b");
	match_helper("+/a", "/a");
	match_helper("+/+", "/");
	no_match_helper("+", "/");
	match_helper("a/#", "a/");
	match_helper("a/#", "a");
	match_helper("a/+/#", "a/b");
	no_match_helper("a/+/#", "a");
	match_helper("/#", "//");
	no_match_helper("a/", "a");
}

static void test_topic_invalid_arguments_never_match(void **state)
{
	(void)state;
	no_match_helper(NULL, "a");
	no_match_helper("a", NULL);
	no_match_helper("", "");
	no_match_helper("a/#/b", "a/x/b");
	no_match_helper("#", "a/+");
	no_match_helper("+", "+");
	no_match_helper("#", "caf\xe9");
}

/* ==== Covers ================================================================================== */

static void test_topic_covers_table(void **state)
{
	static const struct pair_case cases[] = {
		{"#", "#", true},
		{"#", "+", true},
		{"#", "a/b/c", true},
		{"#", "a/+/#", true},
		{"+/#", "#", true},
		{"a/#", "a", true},
		{"a/#", "a/#", true},
		{"a/#", "a/+", true},
		{"a/#", "a/b/+/c/#", true},
		{"a/+", "a/b", true},
		{"a/+", "a/+", true},
		{"a/+", "a/", true},
		{"+/+", "a/b", true},
		{"+/+", "/", true},
		{"a/b", "a/b", true},
		{"user/alice/#", "user/alice/+/x", true},
		{"user/alice/#", "user/alice", true},
		{"user/+/notifications", "user/alice/notifications", true},
		{"foo/+/ba\xe2\x84\x9e/#", "foo/baz/ba\xe2\x84\x9e/+", true},
		{"/+//#", "/foo///#", true},
		{"$SYS/#", "$SYS/+/x", true},
		{"$SYS/#", "$SYS", true},
		{"+/+/#", "/#", true},
		{"/+/#", "/#", true},
		{"a/+/#", "a/b/#", true},
		{"#", "$SYS/#", false},
		{"#", "$SYS/x", false},
		{"#", "$share/g/a", false}, /* "$share/" is not stripped here: a '$' topic */
		{"+/#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "#", false},
		{"+", "#", false},
		{"+", "a/b", false},
		{"a/+", "a/#", false},
		{"a/+", "a", false},
		{"a/+/#", "a", false},
		{"a/+/#", "a/#", false},
		{"a/b", "a/+", false},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
		{"a/b", "a", false},
		{"a", "a/", false},
		{"a//b", "a/+/b", false},
		{"user/alice/#", "user/+/x", false},
		{"user/alice/#", "user/#", false},
		{"user/alice/#", "#", false},
		{"foo/+/bar", "foo/#", false},
		{"/#", "+", false},
		{"/+", "+", false},
		{"+/+", "a/b/", false},
		{"+/+/#", "#", false},
		{"a/b/ /d", "a/b/c/d", false},
	};

	(void)state;
	covers_table(cases, RTG_ARRAY_SIZE(cases));
}

static void test_topic_covers_refuses_invalid_filters(void **state)
{
	(void)state;
	assert_false(rtg_topic_filter_covers(NULL, "a"));
	assert_false(rtg_topic_filter_covers("#", NULL));
	assert_false(rtg_topic_filter_covers("#", ""));
	assert_false(rtg_topic_filter_covers("", "a"));
	assert_false(rtg_topic_filter_covers("#", "a/#/b"));
	assert_false(rtg_topic_filter_covers("a#", "a"));
	assert_false(rtg_topic_filter_covers("#", "caf\xe9"));
}

/* ==== Overlap ================================================================================= */

static void test_topic_overlap_table(void **state)
{
	static const struct pair_case cases[] = {
		{"#", "#", true},
		{"#", "a", true},
		{"#", "+/x", true},
		{"a/+/c", "a/b/#", true},
		{"a/+", "+/b", true},
		{"a/#", "a", true},
		{"a/#", "+", true},
		{"a/b", "a/b", true},
		{"+", "+", true},
		{"+/+", "/", true},
		{"a//b", "a/+/b", true},
		{"/#", "+/+", true},
		{"/#", "/", true},
		{"$SYS/#", "$SYS/x", true},
		{"$SYS/+", "$SYS/#", true},
		{"+/#", "a", true},
		{"secret/#", "+/x", true},
		{"a/b", "a/c", false},
		{"a/b", "a", false},
		{"a/+", "a", false},
		{"a/+/c", "a/b/d", false},
		{"a/+/#", "a", false},
		{"+", "a/b", false},
		{"+", "/#", false},
		{"#", "$SYS/x", false},
		{"#", "$SYS/#", false},
		{"+/x", "$SYS/x", false},
		{"+/#", "$SYS", false},
		{"$SYS/#", "a/#", false},
		{"a//b", "a/b", false},
		{"/a", "a", false},
		{"secret/#", "public/#", false},
	};

	(void)state;
	overlap_table(cases, RTG_ARRAY_SIZE(cases));
}

static void test_topic_overlap_refuses_invalid_filters(void **state)
{
	(void)state;
	assert_false(rtg_topic_filters_overlap(NULL, "#"));
	assert_false(rtg_topic_filters_overlap("#", NULL));
	assert_false(rtg_topic_filters_overlap("#", ""));
	assert_false(rtg_topic_filters_overlap("a/#/b", "#"));
	assert_false(rtg_topic_filters_overlap("#", "a+"));
}

/* ==== Shared subscriptions ==================================================================== */

static void test_topic_strip_share_returns_the_inner_filter(void **state)
{
	const char *plain = "calc/+/request";
	const char *shared = "$share/workers/calc/+/request";

	(void)state;
	assert_ptr_equal(rtg_topic_strip_share(plain), plain);
	assert_ptr_equal(rtg_topic_strip_share(shared), shared + strlen("$share/workers/"));
	assert_string_equal(rtg_topic_strip_share("$share/g/#"), "#");
	assert_string_equal(rtg_topic_strip_share("$share/g//a"), "/a");
	/* not shared: only the exact "$share/" prefix counts */
	assert_string_equal(rtg_topic_strip_share("$share"), "$share");
	assert_string_equal(rtg_topic_strip_share("$shared/g/a"), "$shared/g/a");
	assert_string_equal(rtg_topic_strip_share("$SHARE/g/a"), "$SHARE/g/a");
	assert_string_equal(rtg_topic_strip_share("a/$share/g/b"), "a/$share/g/b");
}

static void test_topic_strip_share_refuses_broken_shares(void **state)
{
	(void)state;
	assert_null(rtg_topic_strip_share(NULL));
	assert_null(rtg_topic_strip_share("$share/"));
	assert_null(rtg_topic_strip_share("$share//a"));
	assert_null(rtg_topic_strip_share("$share/g"));
	assert_null(rtg_topic_strip_share("$share/g/"));
	assert_null(rtg_topic_strip_share("$share/+/a"));
	assert_null(rtg_topic_strip_share("$share/#/a"));
	assert_null(rtg_topic_strip_share("$share/g+h/a"));
}

/* ==== Brute force ============================================================================= */

/*
 * Every filter of up to 3 levels over {a, b, "", $a, +, #} and every topic of
 * up to 4 levels over {a, b, "", $a, z}. A topic that tells two filters apart
 * can always be built from their own literals plus one fresh level ("z"),
 * at most one level deeper than the longer filter, so this universe is enough
 * to decide covers and overlap for these filters exactly.
 */
#define BF_MAX 200
#define BF_TOPICS 800
#define BF_WORDS ((BF_TOPICS + 63) / 64)

struct universe {
	char filters[BF_MAX][16];
	char topics[BF_TOPICS][16];
	uint64_t match[BF_MAX][BF_WORDS];
	size_t nfilters, ntopics;
};

/* Writes into @out the @levels-level string whose level i is alphabet[digit i of @code]. */
static void compose(char *out, const char *const *alphabet, size_t base, size_t code, int levels)
{
	int i;

	out[0] = '\0';
	for (i = 0; i < levels; i++) {
		if (i)
			strcat(out, "/");
		strcat(out, alphabet[code % base]);
		code /= base;
	}
}

static void build_universe(struct universe *u)
{
	static const char *const flevels[] = {"a", "b", "", "$a", "+", "#"};
	static const char *const tlevels[] = {"a", "b", "", "$a", "z"};
	size_t code, count, f, t;
	int levels;

	memset(u, 0, sizeof(*u));
	for (levels = 1, count = 6; levels <= 3; levels++, count *= 6) {
		for (code = 0; code < count; code++) {
			compose(u->filters[u->nfilters], flevels, 6, code, levels);
			if (rtg_topic_filter_valid(u->filters[u->nfilters]))
				u->nfilters++;
			assert_true(u->nfilters < BF_MAX);
		}
	}
	for (levels = 1, count = 5; levels <= 4; levels++, count *= 5) {
		for (code = 0; code < count; code++) {
			compose(u->topics[u->ntopics], tlevels, 5, code, levels);
			if (rtg_topic_name_valid(u->topics[u->ntopics]))
				u->ntopics++;
			assert_true(u->ntopics < BF_TOPICS);
		}
	}
	for (f = 0; f < u->nfilters; f++) {
		for (t = 0; t < u->ntopics; t++) {
			if (rtg_topic_matches(u->filters[f], u->topics[t]))
				u->match[f][t / 64] |= (uint64_t)1 << (t % 64);
		}
	}
}

/* Checks the matching itself against a plain level-by-level reading of the spec. */
static bool spec_matches(const char *filter, const char *topic)
{
	const char *f = filter, *t = topic;
	size_t fl, tl;

	if ((filter[0] == '+' || filter[0] == '#') && topic[0] == '$')
		return false;
	for (;;) {
		fl = strcspn(f, "/");
		tl = strcspn(t, "/");
		if (fl == 1 && f[0] == '#')
			return true;
		if (!(fl == 1 && f[0] == '+') && (fl != tl || memcmp(f, t, fl) != 0))
			return false;
		if (!f[fl] || !t[tl])
			return !f[fl] && !t[tl] ? true : strcmp(f + fl, "/#") == 0;
		f += fl + 1;
		t += tl + 1;
	}
}

static void test_topic_matching_agrees_with_the_spec_on_every_small_case(void **state)
{
	struct universe *u = malloc(sizeof(*u));
	size_t f, t;
	bool got;

	(void)state;
	assert_non_null(u);
	build_universe(u);
	assert_true(u->nfilters > 150);
	for (f = 0; f < u->nfilters; f++) {
		for (t = 0; t < u->ntopics; t++) {
			got = (u->match[f][t / 64] >> (t % 64)) & 1;
			if (got != spec_matches(u->filters[f], u->topics[t]))
				fail_msg("matches('%s', '%s') = %d", u->filters[f], u->topics[t],
					got);
		}
	}
	free(u);
}

/*
 * The adapter's history and broker session used to call
 * mosquitto_topic_matches_sub() directly; rtg_topic_matches() serves them now,
 * so on valid arguments both must give the same answer.
 */
static void test_topic_matching_agrees_with_libmosquitto_on_every_small_case(void **state)
{
	struct universe *u = malloc(sizeof(*u));
	size_t f, t;
	bool got, mosq;

	(void)state;
	assert_non_null(u);
	build_universe(u);
	for (f = 0; f < u->nfilters; f++) {
		for (t = 0; t < u->ntopics; t++) {
			got = (u->match[f][t / 64] >> (t % 64)) & 1;
			mosq = false;
			assert_int_equal(
				mosquitto_topic_matches_sub(u->filters[f], u->topics[t], &mosq),
				MOSQ_ERR_SUCCESS);
			if (got != mosq)
				fail_msg("matches('%s', '%s') = %d, libmosquitto says %d",
					u->filters[f], u->topics[t], got, mosq);
			if (rtg_topic_matches_valid(u->filters[f], u->topics[t]) != got)
				fail_msg("matches_valid('%s', '%s') differs from matches()",
					u->filters[f], u->topics[t]);
		}
	}
	free(u);
}

static void test_topic_covers_and_overlap_agree_with_brute_force(void **state)
{
	struct universe *u = malloc(sizeof(*u));
	bool covers, overlap;
	size_t r, f, w;

	(void)state;
	assert_non_null(u);
	build_universe(u);
	for (r = 0; r < u->nfilters; r++) {
		for (f = 0; f < u->nfilters; f++) {
			covers = true;
			overlap = false;
			for (w = 0; w < BF_WORDS; w++) {
				covers = covers && !(u->match[f][w] & ~u->match[r][w]);
				overlap = overlap || (u->match[f][w] & u->match[r][w]);
			}
			if (rtg_topic_filter_covers(u->filters[r], u->filters[f]) != covers)
				fail_msg("covers('%s', '%s') should be %d", u->filters[r],
					u->filters[f], covers);
			if (rtg_topic_filters_overlap(u->filters[r], u->filters[f]) != overlap)
				fail_msg("overlap('%s', '%s') should be %d", u->filters[r],
					u->filters[f], overlap);
		}
	}
	free(u);
}

static void test_topic_level_valid_accepts_one_plain_level_only(void **state)
{
	char longname[200];

	UNUSED(state);
	assert_true(rtg_topic_level_valid("AAPL", 64));
	assert_true(rtg_topic_level_valid("user-1.x~y", 64));
	assert_true(rtg_topic_level_valid("caf\xc3\xa9", 64));
	assert_false(rtg_topic_level_valid(NULL, 64));
	assert_false(rtg_topic_level_valid("", 64));
	assert_false(rtg_topic_level_valid("a/b", 64));
	assert_false(rtg_topic_level_valid("+", 64));
	assert_false(rtg_topic_level_valid("a#", 64));
	assert_false(rtg_topic_level_valid("tab\there", 64));
	assert_false(rtg_topic_level_valid("bad\xff", 64));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(rtg_topic_level_valid(longname, 64));
	assert_true(rtg_topic_level_valid(longname, sizeof(longname)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topic_level_valid_accepts_one_plain_level_only),
		cmocka_unit_test(test_topic_name_validity_follows_mqtt),
		cmocka_unit_test(test_topic_filter_validity_follows_mqtt),
		cmocka_unit_test(test_topic_accepts_maximum_length_and_refuses_longer),
		cmocka_unit_test(test_topic_matches_mqtt_spec_examples),
		cmocka_unit_test(test_topic_wildcard_first_level_never_matches_dollar_topics),
		cmocka_unit_test(test_topic_empty_levels_are_real_levels),
		cmocka_unit_test(test_topic_invalid_arguments_never_match),
		cmocka_unit_test(test_topic_covers_table),
		cmocka_unit_test(test_topic_covers_refuses_invalid_filters),
		cmocka_unit_test(test_topic_overlap_table),
		cmocka_unit_test(test_topic_overlap_refuses_invalid_filters),
		cmocka_unit_test(test_topic_strip_share_returns_the_inner_filter),
		cmocka_unit_test(test_topic_strip_share_refuses_broken_shares),
		cmocka_unit_test(test_topic_matching_agrees_with_the_spec_on_every_small_case),
		cmocka_unit_test(test_topic_matching_agrees_with_libmosquitto_on_every_small_case),
		cmocka_unit_test(test_topic_covers_and_overlap_agree_with_brute_force),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
