/*
 * test_acl.c - unit tests for the decisions rtg_acl_check makes: sections,
 * roles, %u/%c patterns, deny winning, subscription filters that must be
 * covered by one read rule, $share, anonymous clients (a NULL identity: rows
 * whose sub is NULL), and the stack's own acl/acl.conf.
 *
 * Identities are built on the stack (rtg_acl_check only reads them); checks
 * are driven from tables through run_table() (acl_helpers.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "acl_helpers.h"

/* ==== Sections ================================================================================ */

static void test_acl_topic_rules_before_any_section_apply_to_everyone(void **state)
{
	static const struct check_case cases[] = {
		{"bob", NULL, NULL, "news/today", R, OK},
		{"alice", "ops", NULL, "news/today", R, OK},
		{"bob", NULL, NULL, "alice/x", R, NO},
	};

	(void)state;
	run_table("topic read news/#\nuser alice\ntopic read alice/#\n", cases,
		RTG_ARRAY_SIZE(cases));
}

static void test_acl_user_section_applies_only_to_that_sub(void **state)
{
	static const struct check_case cases[] = {
		{"alice", NULL, NULL, "alice/x", W, OK},
		{"alice", NULL, NULL, "shared/x", R, OK}, /* a repeated section adds rules */
		{"alice", NULL, NULL, "carol/x", R, NO},
		{"Alice", NULL, NULL, "alice/x", R, NO},
		{"alic", NULL, NULL, "alice/x", R, NO},
		{"bob", NULL, NULL, "alice/x", R, NO},
		{"bob", "alice", NULL, "alice/x", R, NO}, /* a role is not a user */
		{"carol smith", NULL, NULL, "carol/x", R, OK},
		{"carol", NULL, NULL, "carol/x", R, NO},
	};

	(void)state;
	run_table("user alice\n"
		  "topic readwrite alice/#\n"
		  "user carol smith\n"
		  "topic read carol/#\n"
		  "user alice\n"
		  "topic read shared/#\n",
		cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_role_section_applies_to_tokens_with_that_role(void **state)
{
	static const struct check_case cases[] = {
		{"svc", "publisher", NULL, "market/AAPL", W, OK},
		{"svc", "publisher", NULL, "news/x", W, OK},
		{"svc", "publisher", NULL, "calc/1/request", R, NO},
		{"svc", "calc publisher", NULL, "calc/1/request", R, OK},
		{"svc", "calc publisher", NULL, "market/AAPL", W, OK},
		{"svc", "calc", NULL, "market/AAPL", W, NO},
		{"svc", "Publisher", NULL, "market/AAPL", W, NO},
		{"publisher", NULL, NULL, "market/AAPL", W, NO}, /* a user is not a role */
		{"svc", NULL, NULL, "market/AAPL", W, NO},
	};

	(void)state;
	run_table("role publisher\n"
		  "topic write market/#\n"
		  "role calc\n"
		  "topic read calc/+/request\n"
		  "role publisher\n"
		  "topic write news/#\n",
		cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_pattern_after_a_user_section_is_still_global(void **state)
{
	static const struct check_case cases[] = {
		{"bob", NULL, NULL, "inbox/bob", R, OK},
		{"alice", NULL, NULL, "inbox/alice", R, OK},
		{"alice", NULL, NULL, "more/x", R, OK}, /* the line after it is still alice's */
		{"bob", NULL, NULL, "more/x", R, NO},
	};

	(void)state;
	run_table("user alice\ntopic read alice/#\npattern read inbox/%u\ntopic read more/#\n",
		cases, RTG_ARRAY_SIZE(cases));
}

/* ==== Patterns ================================================================================ */

static void test_acl_pattern_substitutes_the_token_sub(void **state)
{
	static const struct check_case cases[] = {
		{"alice", NULL, NULL, "user/alice/#", S, OK},
		{"alice", NULL, NULL, "user/alice/notifications", S, OK},
		{"alice", NULL, NULL, "user/alice", S, OK},
		{"alice", NULL, NULL, "user/+/notifications", S, NO},
		{"alice", NULL, NULL, "user/#", S, NO},
		{"alice", NULL, NULL, "#", S, NO},
		{"alice", NULL, NULL, "user/alice/x", R, OK},
		{"alice", NULL, NULL, "user/bob/x", R, NO},
		{"alice", NULL, NULL, "user/alice/x", W, NO},
		{"bob", NULL, NULL, "user/bob/x", R, OK},
	};

	(void)state;
	run_table("pattern read user/%u/#\n", cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_pattern_substitutes_the_client_id(void **state)
{
	static const struct check_case cases[] = {
		{"alice", NULL, "dev1", "devices/dev1/alice/t", W, OK},
		{"alice", NULL, "dev1", "devices/dev2/alice/t", W, NO},
		{"alice", NULL, "dev1", "devices/dev1/bob/t", W, NO},
		{"alice", NULL, NULL, "devices/dev1/alice/t", W, NO}, /* no client id: no %c */
		{"alice", NULL, "", "devices//alice/t", W, NO},
	};

	(void)state;
	run_table("pattern readwrite devices/%c/%u/#\n", cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_pattern_ignores_values_that_are_not_one_level(void **state)
{
	static const struct check_case cases[] = {
		{"a/b", NULL, NULL, "user/a/b/x", R, NO},
		{"+", NULL, NULL, "user/+/x", S, NO},
		{"+", NULL, NULL, "user/bob/x", R, NO},
		{"#", NULL, NULL, "user/bob/x", R, NO},
		{"#", NULL, NULL, "user/#", S, NO},
		{"", NULL, NULL, "user//x", R, NO},
		{"alice", NULL, "x/y", "dev/x/y", R, NO},
		{"alice", NULL, "#", "dev/#", S, NO},
		{"alice", NULL, "x", "dev/x", R, OK},
	};

	(void)state;
	run_table("pattern read user/%u/#\npattern read dev/%c\n", cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_topic_lines_keep_percent_literally(void **state)
{
	static const struct check_case cases[] = {
		{"alice", NULL, NULL, "user/%u/x", R, OK},
		{"alice", NULL, NULL, "user/alice/x", R, NO},
		{"alice", NULL, NULL, "a/%z", R, OK},
	};

	(void)state;
	run_table("topic read user/%u/x\ntopic read a/%z\n", cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_long_substitution_does_not_overflow(void **state)
{
	struct rtg_acl *acl = parse_ok("pattern read user/%u/%u/#\n");
	char sub[301], topic[700];

	(void)state;
	memset(sub, 's', sizeof(sub) - 1);
	sub[sizeof(sub) - 1] = '\0';
	snprintf(topic, sizeof(topic), "user/%s/%s/x", sub, sub);
	assert_int_equal(check_as(acl, sub, NULL, NULL, topic, R), OK);
	snprintf(topic, sizeof(topic), "user/%s/%s/#", sub, sub);
	assert_int_equal(check_as(acl, sub, NULL, NULL, topic, S), OK);
	snprintf(topic, sizeof(topic), "user/%s/other/x", sub);
	assert_int_equal(check_as(acl, sub, NULL, NULL, topic, R), NO);
	rtg_acl_free(acl);
}

/* ==== Deny and subscribe ====================================================================== */

static void test_acl_deny_wins_over_allow_for_read_and_write(void **state)
{
	static const struct check_case cases[] = {
		{"root", "ops", NULL, "public/x", R, OK},
		{"root", "ops", NULL, "secret/x", R, NO},
		{"root", "ops", NULL, "secret", W, NO},
	};

	(void)state;
	run_table("topic deny secret/#\nrole ops\ntopic readwrite #\ntopic readwrite secret/#\n",
		cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_deny_wins_over_allow_for_subscribe_overlap(void **state)
{
	static const struct check_case cases[] = {
		{"alice", NULL, NULL, "public/#", S, OK},
		{"alice", NULL, NULL, "private/bob/#", S, OK},
		{"alice", NULL, NULL, "#", S, NO},
		{"alice", NULL, NULL, "+/alice/x", S, NO},
		{"alice", NULL, NULL, "private/+/x", S, NO},
		{"alice", NULL, NULL, "private/alice", S, NO},
		{"alice", NULL, NULL, "$share/g/private/alice/x", S, NO},
		{"alice", NULL, NULL, "private/alice/x", R, NO},
		{"alice", NULL, NULL, "private/bob/x", R, OK},
	};

	(void)state;
	run_table("topic readwrite #\npattern deny private/%u/#\n", cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_denies_publish_outside_tenant(void **state)
{
	static const struct check_case cases[] = {
		{"acme", NULL, NULL, "tenants/acme/orders", W, OK},
		{"acme", NULL, NULL, "tenants/globex/orders", W, NO},
		{"acme", NULL, NULL, "tenants", W, NO},
	};

	(void)state;
	run_table("pattern readwrite tenants/%u/#\n", cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_subscribe_needs_one_covering_read_rule(void **state)
{
	static const struct check_case cases[] = {
		{"alice", NULL, NULL, "out/x", S, NO}, /* write rules do not count */
		{"alice", NULL, NULL, "a/1", S, OK},
		{"alice", NULL, NULL, "a/+", S, NO}, /* a/1 and a/2 together are not enough */
	};

	(void)state;
	run_table("topic write out/#\ntopic read a/1\ntopic read a/2\n", cases,
		RTG_ARRAY_SIZE(cases));
}

static void test_acl_wildcards_never_reach_dollar_topics(void **state)
{
	static const struct check_case cases[] = {
		{"alice", NULL, NULL, "$SYS/broker/uptime", R, NO},
		{"alice", NULL, NULL, "$SYS/#", S, NO},
		{"alice", NULL, NULL, "#", S, OK},
	};

	(void)state;
	run_table("topic readwrite #\n", cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_checks_shared_subscriptions_on_their_filter(void **state)
{
	static const struct check_case cases[] = {
		{"w1", "calc", NULL, "$share/workers/calc/+/request", S, OK},
		{"w1", "calc", NULL, "$share/workers/calc/#", S, NO},
		{"w1", NULL, NULL, "$share/workers/calc/+/request", S, NO},
		{"w1", "calc", NULL, "$share//calc/+/request", S, BAD},
		{"w1", "calc", NULL, "$share/g+/calc/+/request", S, BAD},
		{"w1", "calc", NULL, "$share/workers/", S, BAD},
		{"w1", "calc", NULL, "$share/workers/calc/#/x", S, BAD},
	};

	(void)state;
	run_table("role calc\ntopic read calc/+/request\n", cases, RTG_ARRAY_SIZE(cases));
}

/* ==== Anonymous clients ====================================================================== */

static void test_acl_anonymous_client_reads_only_what_the_anonymous_section_allows(void **state)
{
	static const struct check_case cases[] = {
		{NULL, NULL, NULL, "market/AAPL", R, OK},
		{NULL, NULL, NULL, "market/#", S, OK},
		{NULL, NULL, NULL, "system/announcements", R, OK},
		{NULL, NULL, "c1", "system/announcements", S,
			OK}, /* the client id changes nothing */
		{NULL, NULL, NULL, "market/AAPL", W, NO},
		{NULL, NULL, NULL, "system/announcements", W, NO},
		{NULL, NULL, NULL, "system/stats", R, NO},
		{NULL, NULL, NULL, "system/#", S, NO},
		{NULL, NULL, NULL, "#", S, NO},
		{NULL, NULL, NULL, "$SYS/broker/uptime", R, NO},
	};

	(void)state;
	run_table("anonymous\ntopic read market/#\ntopic read system/announcements\n", cases,
		RTG_ARRAY_SIZE(cases));
}

static void test_acl_anonymous_client_never_gets_top_level_user_role_or_pattern_rules(void **state)
{
	static const struct check_case cases[] = {
		{NULL, NULL, NULL, "public/x", R, OK},
		{NULL, NULL, NULL, "news/x", R, NO}, /* top level: authenticated clients only */
		{NULL, NULL, NULL, "news/x", W, NO},
		{NULL, NULL, NULL, "anon/x", R, NO}, /* "user anonymous" is a user called so */
		{NULL, NULL, NULL, "ops/x", R, NO},
		{NULL, NULL, NULL, "user//x", R, NO}, /* no sub for %u, not even an empty one */
		{NULL, NULL, "c1", "dev/c1", R, NO}, /* patterns are for authenticated clients */
		{NULL, NULL, NULL, "#", S, NO},
		{"anonymous", NULL, NULL, "anon/x", R, OK},
		{"alice", NULL, "c1", "dev/c1", R, OK},
	};

	(void)state;
	run_table("topic readwrite news/#\n"
		  "pattern read user/%u/#\n"
		  "pattern read dev/%c\n"
		  "user anonymous\n"
		  "topic read anon/#\n"
		  "role ops\n"
		  "topic readwrite #\n"
		  "anonymous\n"
		  "topic read public/#\n",
		cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_several_anonymous_sections_merge(void **state)
{
	static const struct check_case cases[] = {
		{NULL, NULL, NULL, "a/x", R, OK},
		{NULL, NULL, NULL, "b/x", R, OK},
		{NULL, NULL, NULL, "a/secret", R, NO}, /* a deny from the second one */
		{NULL, NULL, NULL, "a/#", S, NO},
		{NULL, NULL, NULL, "c/x", R, NO}, /* alice's */
		{"alice", NULL, NULL, "c/x", R, OK},
	};

	(void)state;
	run_table("anonymous\ntopic read a/#\nuser alice\ntopic read c/#\n"
		  "anonymous\ntopic read b/#\ntopic deny a/secret\n",
		cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_deny_in_the_anonymous_section_wins(void **state)
{
	static const struct check_case cases[] = {
		{NULL, NULL, NULL, "market/AAPL", R, OK},
		{NULL, NULL, NULL, "market/AAPL", S, OK},
		{NULL, NULL, NULL, "market/internal/x", R, NO},
		{NULL, NULL, NULL, "market/internal", R, NO},
		{NULL, NULL, NULL, "market/internal/#", S, NO},
		{NULL, NULL, NULL, "market/#", S, NO}, /* overlaps the deny */
		{NULL, NULL, NULL, "market/+/x", S, NO},
		{NULL, NULL, NULL, "$share/g/market/#", S, NO},
		{"alice", NULL, NULL, "market/internal/x", R, OK}, /* not alice's deny */
		{"alice", NULL, NULL, "market/#", S, OK},
	};

	(void)state;
	run_table("topic read market/#\n"
		  "anonymous\n"
		  "topic read market/#\n"
		  "topic deny market/internal/#\n",
		cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_anonymous_subscribe_needs_one_covering_read_rule(void **state)
{
	static const struct check_case cases[] = {
		{NULL, NULL, NULL, "a/1", S, OK},
		{NULL, NULL, NULL, "a/+", S, NO}, /* a/1 and a/2 together are not enough */
		{NULL, NULL, NULL, "feed/x", S, OK},
		{NULL, NULL, NULL, "feed/+", S, OK},
		{NULL, NULL, NULL, "feed/#", S, NO}, /* also feed and feed/x/y */
		{NULL, NULL, NULL, "$share/g/feed/+", S, OK},
		{NULL, NULL, NULL, "$share//feed/+", S, BAD},
		{NULL, NULL, NULL, "feed/#/x", S, BAD},
	};

	(void)state;
	run_table("anonymous\ntopic read a/1\ntopic read a/2\ntopic read feed/+\n", cases,
		RTG_ARRAY_SIZE(cases));
}

static void test_acl_without_anonymous_section_refuses_every_anonymous_request(void **state)
{
	static const struct check_case cases[] = {
		{NULL, NULL, NULL, "a", R, NO},
		{NULL, NULL, NULL, "a", W, NO},
		{NULL, NULL, NULL, "a/#", S, NO},
		{NULL, NULL, "c1", "c1/x", R, NO},
		{NULL, NULL, NULL, "a/+", R, BAD}, /* arguments are still checked first */
		{NULL, NULL, NULL, "a", R | W, BAD},
		{"alice", NULL, NULL, "a", W, OK},
	};

	(void)state;
	run_table("topic readwrite #\npattern readwrite %c/#\nrole ops\ntopic readwrite #\n", cases,
		RTG_ARRAY_SIZE(cases));
	run_table("", cases, 6); /* the empty file: the same, without alice's row */
}

static void test_acl_anonymous_section_never_applies_to_authenticated_clients(void **state)
{
	static const struct check_case cases[] = {
		{"alice", NULL, NULL, "public/x", R, NO},
		{"alice", NULL, NULL, "public/#", S, NO},
		{"bob", "ops", "c1", "public/x", R, NO},
		{"anonymous", NULL, NULL, "public/x", R, NO},
		{"alice", NULL, NULL, "news/x", R, OK}, /* the anonymous deny is not hers */
		{NULL, NULL, NULL, "public/x", R, OK},
		{NULL, NULL, NULL, "news/x", R, NO},
	};

	(void)state;
	run_table("topic read news/#\nanonymous\ntopic read public/#\ntopic deny news/#\n", cases,
		RTG_ARRAY_SIZE(cases));
}

static void test_acl_pattern_after_anonymous_is_still_for_authenticated_clients(void **state)
{
	static const struct check_case cases[] = {
		{"alice", NULL, NULL, "inbox/alice", W, OK},
		{NULL, NULL, NULL, "inbox/alice", R, NO},
		{NULL, NULL, NULL, "more/x", R, OK}, /* the line after it is still anonymous */
		{"alice", NULL, NULL, "more/x", R, NO},
	};

	(void)state;
	run_table("anonymous\ntopic read public/#\npattern readwrite inbox/%u\ntopic read more/#\n",
		cases, RTG_ARRAY_SIZE(cases));
}

/* ==== The stack's ACL ========================================================================= */

static void test_acl_project_file_grants_what_its_readme_says(void **state)
{
	static const struct check_case cases[] = {
		/* every signed-in user */
		{"alice", NULL, NULL, "market/AAPL", R, OK},
		{"alice", NULL, NULL, "market/#", S, OK},
		{"alice", NULL, NULL, "market/AAPL", W, NO},
		{"alice", NULL, NULL, "system/announcements", R, OK},
		{"alice", NULL, NULL, "system/stats", S, OK},
		{"alice", NULL, NULL, "system/announcements", W, NO},
		{"alice", NULL, NULL, "system/#", S, NO},
		{"alice", NULL, NULL, "user/alice/notifications", R, OK},
		{"alice", NULL, NULL, "user/alice/#", S, OK},
		{"alice", NULL, NULL, "user/bob/notifications", R, NO},
		{"alice", NULL, NULL, "user/+/notifications", S, NO},
		{"alice", NULL, NULL, "user/alice/balance", W, NO},
		{"alice", NULL, NULL, "calc/42/progress", R, NO},
		{"alice", NULL, NULL, "system/health", R, OK},
		{"alice", NULL, NULL, "system/health", W, NO},
		{"alice", NULL, NULL, "studio/marketplace", S, OK},
		{"alice", NULL, NULL, "studio/marketplace", W, NO},
		{"alice", NULL, NULL, "studio/#", S, NO},
		{"alice", NULL, NULL, "rooms/lobby", W, OK},
		{"alice", NULL, NULL, "rooms/other", R, OK}, /* any room */
		{"alice", NULL, NULL, "rooms/other", W, OK},
		{"alice", NULL, NULL, "rooms/+", S, OK},
		{"alice", NULL, NULL, "rooms/a/b", W, NO}, /* one level only */
		{"alice", NULL, NULL, "rooms/a/b", R, NO},
		{"alice", NULL, NULL, "rooms/#", S, NO},
		{"alice", NULL, NULL, "rooms", W, NO},
		{"alice", NULL, NULL, "#", S, NO},
		/* clients without a token: the public feeds, read only */
		{NULL, NULL, NULL, "market/AAPL", R, OK},
		{NULL, NULL, NULL, "market/#", S, OK},
		{NULL, NULL, NULL, "system/announcements", S, OK},
		{NULL, NULL, NULL, "market/AAPL", W, NO},
		{NULL, NULL, NULL, "system/stats", R, NO},
		{NULL, NULL, NULL, "system/health", R, NO},
		{NULL, NULL, NULL, "studio/marketplace", R, NO},
		{NULL, NULL, NULL, "rooms/lobby", R, NO},
		{NULL, NULL, NULL, "user/alice/notifications", R, NO},
		{NULL, NULL, NULL, "#", S, NO},
		/* services */
		{"feed", "publisher", NULL, "market/AAPL", W, OK},
		{"feed", "publisher", NULL, "system/stats", W, NO},
		{"feed", "publisher", NULL, "user/alice/notifications", W, NO},
		{"notify", "notifier", NULL, "user/alice/notifications", W, OK},
		{"notify", "notifier", NULL, "system/announcements", W, OK},
		{"notify", "notifier", NULL, "user/alice/notifications", R, NO},
		{"notify", "notifier", NULL, "system/health", W, OK},
		{"notify", "notifier", NULL, "studio/marketplace", W, OK},
		{"notify", "notifier", NULL, "studio/a/b", W, OK},
		{"notify", "notifier", NULL, "system/stats", W, NO},
		{"notify", "notifier", NULL, "studio/#", S, NO},
		{"worker", "calc", NULL, "calc/42/request", R, OK},
		{"worker", "calc", NULL, "$share/calc/calc/+/request", S, OK},
		{"worker", "calc", NULL, "calc/#", S, NO},
		{"worker", "calc", NULL, "calc/42/progress", W, OK},
		{"worker", "calc", NULL, "calc/42/request", W, NO},
		{"worker", "calc publisher", NULL, "market/X", W, OK},
		/* the adapter and ops */
		{"adapter", "gateway", NULL, "user/#", S, OK},
		{"adapter", "gateway", NULL, "calc/7/request", W, OK},
		{"adapter", "gateway", NULL, "rooms/x", W, OK},
		{"adapter", "gateway", NULL, "studio/#", S, OK},
		{"adapter", "gateway", NULL, "studio/marketplace", W, OK},
		{"link", "bridge", NULL, "studio/#", S, OK},
		{"link", "bridge", NULL, "studio/x/y", W, OK},
		{"link", "bridge", NULL, "system/stats", W, NO},
		{"adapter", "gateway", NULL, "#", S, NO},
		{"adapter", "gateway", NULL, "other/x", W, NO},
		{"adapter", "gateway", NULL, "$SYS/broker/uptime", R, OK},
		{"adapter", "gateway", NULL, "$SYS/broker/#", S, OK},
		{"adapter", "gateway", NULL, "$SYS/#", S, NO},
		{"adapter", "gateway", NULL, "$SYS/broker/uptime", W, NO},
		{"root", "ops", NULL, "#", S, OK},
		{"root", "ops", NULL, "anything/at/all", W, OK},
		{"root", "ops", NULL, "$SYS/#", S, OK},
	};
	const char *slash = strrchr(__FILE__, '/');
	struct rtg_acl *acl = NULL;
	char path[512], err[1024];

	(void)state;
	/* acl/acl.conf, found from this file's path (tests/unit/test_acl.c) */
	snprintf(path, sizeof(path), "%.*s/../../acl/acl.conf", slash ? (int)(slash - __FILE__) : 1,
		slash ? __FILE__ : ".");
	if (access(path, R_OK) != 0)
		skip();
	if (rtg_acl_load(&acl, path, err, sizeof(err)) != RTG_OK)
		fail_msg("%s", err);
	check_table(acl, cases, RTG_ARRAY_SIZE(cases));
	rtg_acl_free(acl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acl_topic_rules_before_any_section_apply_to_everyone),
		cmocka_unit_test(test_acl_user_section_applies_only_to_that_sub),
		cmocka_unit_test(test_acl_role_section_applies_to_tokens_with_that_role),
		cmocka_unit_test(test_acl_pattern_after_a_user_section_is_still_global),
		cmocka_unit_test(test_acl_pattern_substitutes_the_token_sub),
		cmocka_unit_test(test_acl_pattern_substitutes_the_client_id),
		cmocka_unit_test(test_acl_pattern_ignores_values_that_are_not_one_level),
		cmocka_unit_test(test_acl_topic_lines_keep_percent_literally),
		cmocka_unit_test(test_acl_long_substitution_does_not_overflow),
		cmocka_unit_test(test_acl_deny_wins_over_allow_for_read_and_write),
		cmocka_unit_test(test_acl_deny_wins_over_allow_for_subscribe_overlap),
		cmocka_unit_test(test_acl_denies_publish_outside_tenant),
		cmocka_unit_test(test_acl_subscribe_needs_one_covering_read_rule),
		cmocka_unit_test(test_acl_wildcards_never_reach_dollar_topics),
		cmocka_unit_test(test_acl_checks_shared_subscriptions_on_their_filter),
		cmocka_unit_test(
			test_acl_anonymous_client_reads_only_what_the_anonymous_section_allows),
		cmocka_unit_test(
			test_acl_anonymous_client_never_gets_top_level_user_role_or_pattern_rules),
		cmocka_unit_test(test_acl_several_anonymous_sections_merge),
		cmocka_unit_test(test_acl_deny_in_the_anonymous_section_wins),
		cmocka_unit_test(test_acl_anonymous_subscribe_needs_one_covering_read_rule),
		cmocka_unit_test(
			test_acl_without_anonymous_section_refuses_every_anonymous_request),
		cmocka_unit_test(test_acl_anonymous_section_never_applies_to_authenticated_clients),
		cmocka_unit_test(
			test_acl_pattern_after_anonymous_is_still_for_authenticated_clients),
		cmocka_unit_test(test_acl_project_file_grants_what_its_readme_says),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
