/*
 * test_config_errors.c - unit tests for the errors of the adapter's
 * configuration loader (adapter/config.c): one test per kind of error in the
 * file, in the flags and in the merged result, each asserting the exact text
 * ("file:line: reason" for the file). The accepted forms are tested in
 * test_config.c.
 *
 * Config files are written with mkstemp() and removed by the group teardown
 * (config_helpers.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "config_helpers.h"

/* ==== Errors in the file ====================================================================== */

static void test_missing_config_file_is_reported_with_its_name(void **state)
{
	(void)state;
	load_fails("/nonexistent/adapter.conf: No such file or directory", "-c",
		"/nonexistent/adapter.conf", REQUIRED, END);
}

static void test_unknown_key_in_file_is_refused_with_file_and_line(void **state)
{
	(void)state;
	file_fails("http_port 1\n\nfoo bar\n", ":3: unknown option 'foo'");
}

static void test_key_with_dashes_in_file_is_unknown(void **state)
{
	(void)state;
	file_fails("http-port 1\n", ":1: unknown option 'http-port'");
}

static void test_bad_number_in_file_is_refused(void **state)
{
	(void)state;
	file_fails("# c\nhttp_port abc\n", ":2: http_port: 'abc' is not a number");
}

static void test_number_with_trailing_garbage_in_file_is_refused(void **state)
{
	(void)state;
	file_fails("jwt_leeway 30s\n", ":1: jwt_leeway: '30s' is not a number");
}

static void test_out_of_range_number_in_file_is_refused(void **state)
{
	(void)state;
	file_fails("http_port 70000\n", ":1: http_port: 70000 is out of range 0-65535");
}

static void test_number_beyond_long_in_file_is_out_of_range(void **state)
{
	(void)state;
	file_fails("history_size 99999999999999999999999\n",
		":1: history_size: 99999999999999999999999 is out of range 0-100000");
}

static void test_duplicate_key_in_file_is_refused_naming_the_first_line(void **state)
{
	(void)state;
	file_fails("http_port 1\n# again:\nmqtt_port 2\nhttp_port 1\n",
		":4: duplicate option 'http_port' (first on line 1)");
}

static void test_key_without_value_in_file_is_refused(void **state)
{
	(void)state;
	file_fails("jwt_issuer   \n", ":1: jwt_issuer: missing value");
}

static void test_unknown_enum_value_in_file_is_refused_listing_the_choices(void **state)
{
	(void)state;
	file_fails("log_level verbose\n",
		":1: log_level: 'verbose' is not one of error, warn, notice, info, debug");
}

/* ==== Errors in the flags ===================================================================== */

static void test_unknown_flag_is_refused(void **state)
{
	(void)state;
	load_fails("--foo: unknown option", REQUIRED, "--foo", "1", END);
	load_fails("--foo: unknown option", REQUIRED, "--foo=1", END);
}

static void test_flag_with_underscores_is_unknown(void **state)
{
	(void)state;
	load_fails("--http_port: unknown option", "--http_port", "1", REQUIRED, END);
}

static void test_unknown_short_option_is_refused(void **state)
{
	(void)state;
	load_fails("-x: unknown option", "-x", REQUIRED, END);
}

static void test_positional_argument_is_refused(void **state)
{
	(void)state;
	load_fails("adapter.conf: unexpected argument", "adapter.conf", REQUIRED, END);
}

static void test_flag_without_value_is_refused(void **state)
{
	(void)state;
	load_fails("--http-port: missing value", REQUIRED, "--http-port", END);
	load_fails("--http-port: missing value", REQUIRED, "--http-port=", END);
	load_fails("-c: missing value", REQUIRED, "-c", END);
}

static void test_minus_c_twice_is_refused(void **state)
{
	const char *a = write_conf(""), *b = write_conf("");

	(void)state;
	load_fails("-c: given more than once", "-c", a, "-c", b, REQUIRED, END);
}

static void test_bad_number_in_flag_is_refused(void **state)
{
	(void)state;
	load_fails("--http-port: 'abc' is not a number", REQUIRED, "--http-port", "abc", END);
	load_fails("--http-port: ' 8' is not a number", REQUIRED, "--http-port", " 8", END);
}

static void test_out_of_range_flag_is_refused(void **state)
{
	(void)state;
	load_fails(
		"--http-port: 70000 is out of range 0-65535", REQUIRED, "--http-port=70000", END);
	load_fails("--auth-timeout: 0 is out of range 1-300", REQUIRED, "--auth-timeout", "0", END);
	load_fails("--jwt-leeway: -1 is out of range 0-3600", REQUIRED, "--jwt-leeway", "-1", END);
}

static void test_unknown_stats_access_is_refused(void **state)
{
	(void)state;
	load_fails("--stats-access: 'everyone' is not one of ops-or-loopback, ops, loopback, any",
		REQUIRED, "--stats-access", "everyone", END);
}

static void test_unknown_log_level_is_refused(void **state)
{
	(void)state;
	load_fails("--log-level: 'WARN' is not one of error, warn, notice, info, debug", REQUIRED,
		"--log-level", "WARN", END);
}

/* ==== Validation after merging ================================================================ */

static void test_acl_file_is_required(void **state)
{
	(void)state;
	load_fails("acl_file is required (set it in the config file or with --acl-file)",
		"--mqtt-token-file", "t", "--jwt-secret-file", "s", END);
}

static void test_mqtt_token_file_is_required(void **state)
{
	(void)state;
	load_fails("mqtt_token_file is required (set it in the config file or with "
		   "--mqtt-token-file)",
		"--acl-file", "a", "--jwt-secret-file", "s", END);
}

static void test_a_jwt_secret_or_public_key_is_required(void **state)
{
	(void)state;
	load_fails("jwt_secret_file, jwt_public_key_file or jwt_jwks_file is required (set one "
		   "in the config file or with --jwt-secret-file / --jwt-public-key-file / "
		   "--jwt-jwks-file)",
		"--acl-file", "a", "--mqtt-token-file", "t", END);
}

static void test_required_key_from_the_file_counts(void **state)
{
	struct adapter_config cfg;
	const char *path = write_conf("acl_file from-file.acl\n");

	(void)state;
	load_ok(&cfg, "-c", path, "--mqtt-token-file", "t", "--jwt-secret-file", "s", END);
	assert_string_equal(cfg.acl_file, "from-file.acl");
	config__cleanup(&cfg);
}

/* ==== The broker list ========================================================================= */

static void test_mqtt_brokers_with_mqtt_host_is_refused(void **state)
{
	(void)state;
	load_fails("mqtt_brokers and mqtt_host/mqtt_port are both set: list every broker in "
		   "mqtt_brokers (host:port,host:port) and drop the other two",
		"--mqtt-brokers", "a:1883,b:1883", "--mqtt-host", "a", REQUIRED, END);
}

static void test_mqtt_brokers_with_mqtt_port_in_the_file_is_refused(void **state)
{
	(void)state;
	load_fails("mqtt_brokers and mqtt_host/mqtt_port are both set: list every broker in "
		   "mqtt_brokers (host:port,host:port) and drop the other two",
		"-c", write_conf("mqtt_port 1884\n"), "--mqtt-brokers", "a,b", REQUIRED, END);
}

static void test_mqtt_brokers_with_a_bad_port_is_refused_with_file_and_line(void **state)
{
	(void)state;
	file_fails("\nmqtt_brokers a:1883,b:http\n",
		":2: mqtt_brokers: 'b:http': the port is not a number in 1-65535");
	file_fails("mqtt_brokers a:0\n",
		":1: mqtt_brokers: 'a:0': the port is not a number in 1-65535");
	file_fails("mqtt_brokers a:65536\n",
		":1: mqtt_brokers: 'a:65536': the port is not a number in 1-65535");
	file_fails(
		"mqtt_brokers a:\n", ":1: mqtt_brokers: 'a:': the port is not a number in 1-65535");
}

static void test_mqtt_brokers_with_an_empty_item_or_host_is_refused(void **state)
{
	(void)state;
	load_fails("--mqtt-brokers: an empty item in the list", "--mqtt-brokers", "a:1883,,b",
		REQUIRED, END);
	load_fails(
		"--mqtt-brokers: an empty item in the list", "--mqtt-brokers", "a,", REQUIRED, END);
	load_fails("--mqtt-brokers: ':1883': no host", "--mqtt-brokers", ":1883", REQUIRED, END);
	load_fails("--mqtt-brokers: '[::1': an IPv6 address is written [addr]:port",
		"--mqtt-brokers", "[::1", REQUIRED, END);
}

static void test_mqtt_brokers_listing_a_broker_twice_is_refused(void **state)
{
	(void)state;
	load_fails("--mqtt-brokers: a:1883 is listed twice", "--mqtt-brokers", "a,b:1884,a:1883",
		REQUIRED, END);
}

static void test_mqtt_brokers_beyond_sixteen_is_refused(void **state)
{
	(void)state;
	load_fails("--mqtt-brokers: more than 16 brokers", "--mqtt-brokers",
		"h:1,h:2,h:3,h:4,h:5,h:6,h:7,h:8,h:9,h:10,h:11,h:12,h:13,h:14,h:15,h:16,h:17",
		REQUIRED, END);
}

static void test_mqtt_keepalive_below_five_is_refused(void **state)
{
	(void)state;
	load_fails("--mqtt-keepalive: 4 is out of range 5-3600", "--mqtt-keepalive", "4", REQUIRED,
		END);
}

/* ==== Main ==================================================================================== */

/* ==== Main ==================================================================================== */

/* ==== Every error at once ==================================================================== */

/* Loads @text as the file with the further arguments and expects @want, each '@' in it
 * standing for the file's path. */
static void all_fail(const char *text, const char *want, const char *a1, const char *a2,
	const char *a3, const char *a4)
{
	char expected[1024];
	const char *path = write_conf(text);
	size_t n = 0;

	for (; *want && n + strlen(path) + 1 < sizeof(expected); want++) {
		if (*want == '@')
			n += (size_t)snprintf(expected + n, sizeof(expected) - n, "%s", path);
		else
			expected[n++] = *want;
	}
	expected[n] = '\0';
	load_fails(expected, "-c", path, a1, a2, a3, a4, END);
}

static void test_every_error_of_file_flags_and_rules_is_reported_at_once(void **state)
{
	(void)state;
	all_fail("http_port abc\nfoo bar\n# ok\nhttp_port 2\nlog_level loud\n"
		 "mqtt_token_file tok\njwt_secret_file sec\nrate_limit 0\n",
		"@:1: http_port: 'abc' is not a number\n"
		"@:2: unknown option 'foo'\n"
		"@:4: duplicate option 'http_port' (first on line 1)\n"
		"@:5: log_level: 'loud' is not one of error, warn, notice, info, debug\n"
		"@:8: rate_limit: 0 is out of range 1-100000\n"
		"--jwt-leeway: -1 is out of range 0-3600\n"
		"acl_file is required (set it in the config file or with --acl-file)",
		"--jwt-leeway", "-1", "--http-host", "h");
}

static void test_a_bad_required_value_is_not_also_reported_missing(void **state)
{
	(void)state;
	all_fail("acl_file\nmqtt_session_expiry x\n",
		"@:1: acl_file: missing value\n"
		"@:2: mqtt_session_expiry: 'x' is not a number",
		"--mqtt-token-file", "tok", "--jwt-secret-file", "sec");
}

static void test_every_bad_flag_is_reported_at_once(void **state)
{
	(void)state;
	load_fails("--foo: unknown option\n-x: unknown option\nstray: unexpected argument\n"
		   "--http-port: 'abc' is not a number\n--auth-timeout: 0 is out of range 1-300",
		"--foo", "1", "-x", "stray", "--http-port", "abc", "--auth-timeout=0", REQUIRED,
		END);
}

/* Whole lines only: what does not fit is left out, marked "..." when there is room for it. */
static void test_errors_beyond_the_buffer_are_left_out_whole(void **state)
{
	struct adapter_config cfg;
	char *argv[] = {"rtg-adapter", "--foo", "1", "--bar", "2", NULL};
	char err[24], roomy[30];

	(void)state;
	assert_int_equal(config__load(&cfg, 5, argv, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "--foo: unknown option");
	assert_int_equal(config__load(&cfg, 5, argv, NULL, roomy, sizeof(roomy)), -1);
	assert_string_equal(roomy, "--foo: unknown option\n...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_config_file_is_reported_with_its_name),
		cmocka_unit_test(test_unknown_key_in_file_is_refused_with_file_and_line),
		cmocka_unit_test(test_key_with_dashes_in_file_is_unknown),
		cmocka_unit_test(test_bad_number_in_file_is_refused),
		cmocka_unit_test(test_number_with_trailing_garbage_in_file_is_refused),
		cmocka_unit_test(test_out_of_range_number_in_file_is_refused),
		cmocka_unit_test(test_number_beyond_long_in_file_is_out_of_range),
		cmocka_unit_test(test_duplicate_key_in_file_is_refused_naming_the_first_line),
		cmocka_unit_test(test_key_without_value_in_file_is_refused),
		cmocka_unit_test(test_unknown_enum_value_in_file_is_refused_listing_the_choices),
		cmocka_unit_test(test_unknown_flag_is_refused),
		cmocka_unit_test(test_flag_with_underscores_is_unknown),
		cmocka_unit_test(test_unknown_short_option_is_refused),
		cmocka_unit_test(test_positional_argument_is_refused),
		cmocka_unit_test(test_flag_without_value_is_refused),
		cmocka_unit_test(test_minus_c_twice_is_refused),
		cmocka_unit_test(test_bad_number_in_flag_is_refused),
		cmocka_unit_test(test_out_of_range_flag_is_refused),
		cmocka_unit_test(test_unknown_stats_access_is_refused),
		cmocka_unit_test(test_unknown_log_level_is_refused),
		cmocka_unit_test(test_acl_file_is_required),
		cmocka_unit_test(test_mqtt_token_file_is_required),
		cmocka_unit_test(test_a_jwt_secret_or_public_key_is_required),
		cmocka_unit_test(test_required_key_from_the_file_counts),
		cmocka_unit_test(test_mqtt_brokers_with_mqtt_host_is_refused),
		cmocka_unit_test(test_mqtt_brokers_with_mqtt_port_in_the_file_is_refused),
		cmocka_unit_test(test_mqtt_brokers_with_a_bad_port_is_refused_with_file_and_line),
		cmocka_unit_test(test_mqtt_brokers_with_an_empty_item_or_host_is_refused),
		cmocka_unit_test(test_mqtt_brokers_listing_a_broker_twice_is_refused),
		cmocka_unit_test(test_mqtt_brokers_beyond_sixteen_is_refused),
		cmocka_unit_test(test_mqtt_keepalive_below_five_is_refused),
		cmocka_unit_test(test_every_error_of_file_flags_and_rules_is_reported_at_once),
		cmocka_unit_test(test_a_bad_required_value_is_not_also_reported_missing),
		cmocka_unit_test(test_every_bad_flag_is_reported_at_once),
		cmocka_unit_test(test_errors_beyond_the_buffer_are_left_out_whole),
	};

	return cmocka_run_group_tests_name("config_errors", tests, NULL, remove_temp_files);
}
