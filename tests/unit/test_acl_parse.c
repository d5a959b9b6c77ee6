/*
 * test_acl_parse.c - unit tests for reading ACL files with rtg_acl: good
 * files, each kind of broken line on its own (with its exact "name:line:
 * reason"), arguments, and rtg_acl_load on real files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "acl_helpers.h"

/* ==== Good files ============================================================================== */

static void test_acl_skips_comments_blank_lines_and_crlf(void **state)
{
	static const struct check_case cases[] = {
		{"alice", NULL, NULL, "a/b", R, OK},
		{"alice", NULL, NULL, "c/d", R, OK},
		{"alice", NULL, NULL, "e/f", R, OK},
		{"alice", NULL, NULL, "secret/x", R, NO},
	};
	struct rtg_acl *acl = parse_ok("# a comment\r\n"
				       "\r\n"
				       "   \t \r\n"
				       "  \t# an indented comment\r\n"
				       "#topic read secret/#\r\n"
				       "topic read a/b\r\n"
				       "\ttopic\tread\t c/d \t\r\n"
				       "topic read e/f"); /* no final newline */

	(void)state;
	assert_int_equal(rtg_acl_rule_count(acl), 3);
	check_table(acl, cases, RTG_ARRAY_SIZE(cases));
	rtg_acl_free(acl);
}

static void test_acl_accepts_every_access_word(void **state)
{
	static const struct check_case cases[] = {
		{"alice", NULL, NULL, "r/x", R, OK},
		{"alice", NULL, NULL, "r/x", W, NO},
		{"alice", NULL, NULL, "r/#", S, OK},
		{"alice", NULL, NULL, "w/x", R, NO},
		{"alice", NULL, NULL, "w/x", W, OK},
		{"alice", NULL, NULL, "w/#", S, NO},
		{"alice", NULL, NULL, "rw/x", R, OK},
		{"alice", NULL, NULL, "rw/x", W, OK},
		{"alice", NULL, NULL, "rw/+", S, OK},
		{"alice", NULL, NULL, "d/x", R, NO},
		{"alice", NULL, NULL, "d/x", W, NO},
		{"alice", NULL, NULL, "d/x", S, NO},
	};

	(void)state;
	run_table("topic read r/#\n"
		  "topic write w/#\n"
		  "topic readwrite rw/#\n"
		  "topic readwrite d/#\n"
		  "topic deny d/#\n",
		cases, RTG_ARRAY_SIZE(cases));
}

static void test_acl_access_defaults_to_readwrite(void **state)
{
	static const struct check_case cases[] = {
		{"alice", NULL, NULL, "foo/bar", R, OK}, {"alice", NULL, NULL, "foo/bar", W, OK},
		{"alice", NULL, NULL, "own/alice", W, OK},
		{"alice", NULL, NULL, "read", W, OK}, /* "topic readwrite read" */
	};

	(void)state;
	run_table("topic foo/bar\npattern own/%u\ntopic readwrite read\n", cases,
		RTG_ARRAY_SIZE(cases));
}

static void test_acl_empty_file_has_no_rules_and_denies_everything(void **state)
{
	static const struct check_case cases[] = {
		{"alice", "ops", "c", "a", R, NO},
		{"alice", "ops", "c", "a", W, NO},
		{"alice", "ops", "c", "#", S, NO},
	};
	struct rtg_acl *acl = parse_ok("");

	(void)state;
	assert_int_equal(rtg_acl_rule_count(acl), 0);
	check_table(acl, cases, RTG_ARRAY_SIZE(cases));
	rtg_acl_free(acl);
}

static void test_acl_counts_topic_and_pattern_rules(void **state)
{
	struct rtg_acl *acl = parse_ok("topic a\npattern b/%u\nuser x\ntopic c\nrole y\ntopic d\n"
				       "anonymous\ntopic read e\ntopic deny f\n");

	(void)state;
	assert_int_equal(rtg_acl_rule_count(acl), 6);
	assert_int_equal(rtg_acl_rule_count(NULL), 0);
	rtg_acl_free(acl);
	rtg_acl_free(NULL);
}

static void test_acl_accepts_read_and_deny_in_the_anonymous_section(void **state)
{
	static const struct check_case cases[] = {
		{NULL, NULL, NULL, "a/x", R, OK},
		{NULL, NULL, NULL, "a/no", R, NO},
		{"alice", NULL, NULL, "w/x", W, OK}, /* write is fine outside the section */
		{"alice", NULL, NULL, "out/alice", W, OK},
		{"bob", "pub", NULL, "p/x", W, OK},
	};

	(void)state;
	run_table("topic write w/#\n"
		  "  anonymous \t\r\n" /* spaces around it are trimmed */
		  "topic read a/#\n"
		  "topic deny a/no\n"
		  "pattern write out/%u\n" /* a pattern is for authenticated clients anywhere */
		  "role pub\n"
		  "topic write p/#\n",
		cases, RTG_ARRAY_SIZE(cases));
}

/* ==== Broken lines ============================================================================ */

static void test_acl_rejects_unknown_directive(void **state)
{
	(void)state;
	parse_fails("tpoic read a/b\n", "test.acl:1: unknown directive 'tpoic'");
	parse_fails("Topic read a/b\n", "test.acl:1: unknown directive 'Topic'");
	parse_fails("Anonymous\n", "test.acl:1: unknown directive 'Anonymous'");
}

static void test_acl_rejects_unknown_access_word(void **state)
{
	(void)state;
	parse_fails("topic reed a/b\n", "test.acl:1: unknown access 'reed'");
	parse_fails("\npattern rw a/%u\n", "test.acl:2: unknown access 'rw'");
}

static void test_acl_rejects_rule_without_filter(void **state)
{
	(void)state;
	parse_fails("topic\n", "test.acl:1: missing filter");
	parse_fails("topic   \t\n", "test.acl:1: missing filter");
	parse_fails("topic read\n", "test.acl:1: missing filter");
	parse_fails("pattern\n", "test.acl:1: missing filter");
	parse_fails("pattern deny\n", "test.acl:1: missing filter");
}

static void test_acl_rejects_section_without_name(void **state)
{
	(void)state;
	parse_fails("user\n", "test.acl:1: missing user name");
	parse_fails("user  \t \r\n", "test.acl:1: missing user name");
	parse_fails("topic read a\nrole\n", "test.acl:2: missing role name");
}

static void test_acl_rejects_anonymous_with_a_name(void **state)
{
	(void)state;
	parse_fails("anonymous public\n", "test.acl:1: text after 'anonymous' (it takes no name)");
}

static void test_acl_rejects_write_rule_in_the_anonymous_section(void **state)
{
	(void)state;
	parse_fails("anonymous\ntopic write a/b\n",
		"test.acl:2: anonymous clients may only read: use 'topic read' or 'topic deny'");
	parse_fails("anonymous\ntopic readwrite a/b\n",
		"test.acl:2: anonymous clients may only read: use 'topic read' or 'topic deny'");
	parse_fails("topic write a/b\nuser x\ntopic write x/#\nanonymous\ntopic read ok\n"
		    "role y\ntopic write y/#\nanonymous\ntopic write a/b\n",
		"test.acl:9: anonymous clients may only read: use 'topic read' or 'topic deny'");
}

static void test_acl_rejects_rule_with_default_access_in_the_anonymous_section(void **state)
{
	(void)state;
	/* the access defaults to readwrite, which includes write */
	parse_fails("anonymous\ntopic market/#\n",
		"test.acl:2: anonymous clients may only read: use 'topic read' or 'topic deny'");
}

static void test_acl_reports_each_write_rule_in_the_anonymous_section(void **state)
{
	static const char text[] = "anonymous\ntopic write a\ntopic read b\ntopic c\n"
				   "topic write d/#/e\n";
	struct rtg_acl *acl = NULL;
	char err[1024];

	(void)state;
	assert_int_equal(
		rtg_acl_parse(&acl, "gw.acl", text, strlen(text), err, sizeof(err)), RTG_ERR_PARSE);
	assert_null(acl);
	assert_string_equal(err,
		"gw.acl:2: anonymous clients may only read: use 'topic read' or 'topic deny'\n"
		"gw.acl:4: anonymous clients may only read: use 'topic read' or 'topic deny'\n"
		"gw.acl:5: anonymous clients may only read: use 'topic read' or 'topic deny'");
}

static void test_acl_rejects_invalid_filter(void **state)
{
	(void)state;
	parse_fails("topic read a/#/b\n", "test.acl:1: invalid topic filter 'a/#/b'");
	parse_fails("topic read a+\n", "test.acl:1: invalid topic filter 'a+'");
	parse_fails("topic sport/tennis#\n", "test.acl:1: invalid topic filter 'sport/tennis#'");
	parse_fails("pattern read u/%u+/x\n", "test.acl:1: invalid topic filter 'u/%u+/x'");
	parse_fails("pattern read #/%c\n", "test.acl:1: invalid topic filter '#/%c'");
}

static void test_acl_rejects_unknown_pattern_substitution(void **state)
{
	(void)state;
	parse_fails(
		"pattern read u/%x\n", "test.acl:1: bad substitution in 'u/%x' (only %u and %c)");
	parse_fails("pattern read u/%\n", "test.acl:1: bad substitution in 'u/%' (only %u and %c)");
	parse_fails("pattern a/%%u\n", "test.acl:1: bad substitution in 'a/%%u' (only %u and %c)");
}

static void test_acl_rejects_text_after_the_filter(void **state)
{
	(void)state;
	parse_fails("topic read a/b c\n",
		"test.acl:1: text after the filter (filters cannot contain spaces)");
}

static void test_acl_rejects_line_of_64_kib(void **state)
{
	static char text[64 * 1024 + 32];

	(void)state;
	memset(text, 'x', sizeof(text) - 1);
	memcpy(text, "topic read a\ntopic read ", 24); /* line 2: 64 KiB + 7 bytes */
	parse_fails(text, "test.acl:2: line too long (64 KiB or more)");
	text[13 + 64 * 1024 - 1] = '\0'; /* line 2: 64 KiB - 1 bytes: fine */
	assert_int_equal(strlen(text + 13), 64 * 1024 - 1);
	rtg_acl_free(parse_ok(text));
}

static void test_acl_rejects_nul_byte(void **state)
{
	static const char text[] = "topic read a\0b\n";

	(void)state;
	parse_fails_len(text, sizeof(text) - 1, "test.acl:1: NUL byte");
}

static void test_acl_rejects_invalid_utf8(void **state)
{
	(void)state;
	parse_fails("topic read caf\xe9\n", "test.acl:1: invalid UTF-8 or control character");
	parse_fails("# caf\xe9 in a comment\n", "test.acl:1: invalid UTF-8 or control character");
	parse_fails("topic read a\x01z\n", "test.acl:1: invalid UTF-8 or control character");
}

static void test_acl_reports_every_broken_line(void **state)
{
	static const char text[] = "topic read ok/1\ntpoic read a\ntopic read ok/2\nuser\n"
				   "topic reed b\n";
	struct rtg_acl *acl = NULL;
	char err[1024];

	(void)state;
	assert_int_equal(
		rtg_acl_parse(&acl, "gw.acl", text, strlen(text), err, sizeof(err)), RTG_ERR_PARSE);
	assert_null(acl);
	assert_string_equal(err,
		"gw.acl:2: unknown directive 'tpoic'\n"
		"gw.acl:4: missing user name\n"
		"gw.acl:5: unknown access 'reed'");
}

static void test_acl_truncates_error_text_safely(void **state)
{
	static const char text[] = "tpoic a\nuser\nrole\n";
	struct rtg_acl *acl = NULL;
	char err[16];

	(void)state;
	memset(err, 'Z', sizeof(err));
	assert_int_equal(rtg_acl_parse(&acl, "x", text, strlen(text), err, 10), RTG_ERR_PARSE);
	assert_string_equal(err, "x:1: unkn");
	assert_int_equal(err[10], 'Z'); /* nothing written past errlen */
	assert_int_equal(rtg_acl_parse(&acl, "x", text, strlen(text), err, 1), RTG_ERR_PARSE);
	assert_string_equal(err, "");
	assert_int_equal(rtg_acl_parse(&acl, "x", text, strlen(text), NULL, 0), RTG_ERR_PARSE);
	assert_null(acl);
}

/* ==== Arguments and files ===================================================================== */

static void test_acl_rejects_null_and_invalid_arguments(void **state)
{
	static const struct check_case cases[] = {
		{"alice", NULL, NULL, "a", 0, BAD},
		{"alice", NULL, NULL, "a", R | W, BAD},
		{"alice", NULL, NULL, "a", 8, BAD},
		{"alice", NULL, NULL, "", R, BAD},
		{"alice", NULL, NULL, "a/+", R, BAD},
		{"alice", NULL, NULL, "a/#", W, BAD},
		{"alice", NULL, NULL, "caf\xe9", W, BAD},
		{"alice", NULL, NULL, "a/#/b", S, BAD},
		{"alice", NULL, NULL, "", S, BAD},
		{"alice", NULL, NULL, "a", R, OK},
	};
	struct rtg_acl *acl = parse_ok("topic readwrite #\n"), *out;
	struct rtg_identity id = {.sub = "alice"}, nosub = {.sub = NULL};

	(void)state;
	check_table(acl, cases, RTG_ARRAY_SIZE(cases));
	assert_int_equal(rtg_acl_check(NULL, &id, NULL, "a", R), BAD);
	/* a NULL identity is an anonymous client, and this file gives it nothing */
	assert_int_equal(rtg_acl_check(acl, NULL, NULL, "a", R), NO);
	assert_int_equal(rtg_acl_check(NULL, NULL, NULL, "a", R), BAD);
	assert_int_equal(rtg_acl_check(acl, NULL, NULL, NULL, R), BAD);
	assert_int_equal(rtg_acl_check(acl, &nosub, NULL, "a", R), BAD);
	assert_int_equal(rtg_acl_check(acl, &id, NULL, NULL, R), BAD);

	assert_int_equal(rtg_acl_parse(NULL, "n", "", 0, NULL, 0), BAD);
	out = acl;
	assert_int_equal(rtg_acl_parse(&out, NULL, "", 0, NULL, 0), BAD);
	assert_null(out);
	out = acl;
	assert_int_equal(rtg_acl_parse(&out, "n", NULL, 0, NULL, 0), BAD);
	assert_null(out);
	assert_int_equal(rtg_acl_load(NULL, "/nonexistent", NULL, 0), BAD);
	out = acl;
	assert_int_equal(rtg_acl_load(&out, NULL, NULL, 0), BAD);
	assert_null(out);
	rtg_acl_free(acl);
}

static void test_acl_load_of_a_missing_file_gives_io_error(void **state)
{
	struct rtg_acl *acl = NULL;
	char err[256];

	(void)state;
	assert_int_equal(rtg_acl_load(&acl, "/nonexistent/gw.acl", err, sizeof(err)), RTG_ERR_IO);
	assert_null(acl);
	assert_string_equal(err, "/nonexistent/gw.acl: No such file or directory");
	assert_int_equal(rtg_acl_load(&acl, "/tmp", err, sizeof(err)), RTG_ERR_IO);
	assert_string_equal(err, "/tmp: not a regular file");
}

static void test_acl_load_reads_a_file(void **state)
{
	struct rtg_acl *acl = NULL;
	char path[64], err[256];

	(void)state;
	write_temp(path, sizeof(path), "# gateway\ntopic read market/#\npattern read user/%u/#\n");
	assert_int_equal(rtg_acl_load(&acl, path, err, sizeof(err)), RTG_OK);
	assert_non_null(acl);
	assert_int_equal(rtg_acl_rule_count(acl), 2);
	assert_int_equal(check_as(acl, "alice", NULL, NULL, "user/alice/balance", R), OK);
	rtg_acl_free(acl);
	unlink(path);
}

static void test_acl_load_names_the_file_in_errors(void **state)
{
	struct rtg_acl *acl = NULL;
	char path[64], err[256], want[128];

	(void)state;
	write_temp(path, sizeof(path), "topic read a\npatern read b\n");
	assert_int_equal(rtg_acl_load(&acl, path, err, sizeof(err)), RTG_ERR_PARSE);
	assert_null(acl);
	snprintf(want, sizeof(want), "%s:2: unknown directive 'patern'", path);
	assert_string_equal(err, want);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acl_skips_comments_blank_lines_and_crlf),
		cmocka_unit_test(test_acl_accepts_every_access_word),
		cmocka_unit_test(test_acl_access_defaults_to_readwrite),
		cmocka_unit_test(test_acl_empty_file_has_no_rules_and_denies_everything),
		cmocka_unit_test(test_acl_counts_topic_and_pattern_rules),
		cmocka_unit_test(test_acl_accepts_read_and_deny_in_the_anonymous_section),
		cmocka_unit_test(test_acl_rejects_unknown_directive),
		cmocka_unit_test(test_acl_rejects_unknown_access_word),
		cmocka_unit_test(test_acl_rejects_rule_without_filter),
		cmocka_unit_test(test_acl_rejects_section_without_name),
		cmocka_unit_test(test_acl_rejects_anonymous_with_a_name),
		cmocka_unit_test(test_acl_rejects_write_rule_in_the_anonymous_section),
		cmocka_unit_test(
			test_acl_rejects_rule_with_default_access_in_the_anonymous_section),
		cmocka_unit_test(test_acl_reports_each_write_rule_in_the_anonymous_section),
		cmocka_unit_test(test_acl_rejects_invalid_filter),
		cmocka_unit_test(test_acl_rejects_unknown_pattern_substitution),
		cmocka_unit_test(test_acl_rejects_text_after_the_filter),
		cmocka_unit_test(test_acl_rejects_line_of_64_kib),
		cmocka_unit_test(test_acl_rejects_nul_byte),
		cmocka_unit_test(test_acl_rejects_invalid_utf8),
		cmocka_unit_test(test_acl_reports_every_broken_line),
		cmocka_unit_test(test_acl_truncates_error_text_safely),
		cmocka_unit_test(test_acl_rejects_null_and_invalid_arguments),
		cmocka_unit_test(test_acl_load_of_a_missing_file_gives_io_error),
		cmocka_unit_test(test_acl_load_reads_a_file),
		cmocka_unit_test(test_acl_load_names_the_file_in_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
