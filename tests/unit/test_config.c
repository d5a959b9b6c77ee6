/*
 * test_config.c - unit tests for the adapter's configuration loader
 * (adapter/config.c): defaults, the mosquitto.conf-style file, --flags and
 * their precedence, and one test per kind of error asserting its exact text.
 *
 * Config files are written with mkstemp() and removed by the group teardown.
 * The example file test runs from the repository root (as tests/run.sh does)
 * and is skipped elsewhere.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "config.h"

#define MAX_ARGS 32
#define MAX_TEMP 64
#define EXAMPLE "adapter/adapter.conf.example"

static char temp_paths[MAX_TEMP][32];
static int ntemp;

/* ==== Helpers ================================================================================= */

/* Writes @text to a new temporary file; returns its path (valid until teardown). */
static const char *write_conf(const char *text)
{
	char *path;
	size_t len = strlen(text);
	int fd;

	assert_true(ntemp < MAX_TEMP);
	path = temp_paths[ntemp++];
	strcpy(path, "/tmp/rtg_config_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return path;
}

/* Calls config__load() with "rtg-adapter" and the NULL-terminated arguments. */
static int load_v(struct adapter_config *cfg, bool *help, char *err, size_t errlen, va_list ap)
{
	char *argv[MAX_ARGS + 1];
	int argc = 0;
	const char *a;

	argv[argc++] = "rtg-adapter";
	while ((a = va_arg(ap, const char *)) != NULL) {
		assert_true(argc < MAX_ARGS);
		argv[argc++] = (char *)a;
	}
	argv[argc] = NULL;
	return config__load(cfg, argc, argv, help, err, errlen);
}

/* Loads and expects success; fails the test with the error otherwise. */
static void load_ok(struct adapter_config *cfg, ...)
{
	char err[512];
	bool help = true;
	va_list ap;
	int rc;

	va_start(ap, cfg);
	rc = load_v(cfg, &help, err, sizeof(err), ap);
	va_end(ap);
	if (rc != 0)
		fail_msg("config__load failed: %s", err);
	assert_false(help);
}

/* Loads and expects failure with exactly the message @expected. */
static void load_fails(const char *expected, ...)
{
	struct adapter_config cfg;
	char err[512];
	bool help = true;
	va_list ap;
	int rc;

	va_start(ap, expected);
	rc = load_v(&cfg, &help, err, sizeof(err), ap);
	va_end(ap);
	assert_int_equal(rc, -1);
	assert_false(help);
	assert_string_equal(err, expected);
	/* On error the strings are already released. */
	assert_null(cfg.http_host);
	assert_null(cfg.acl_file);
}

/* Ends the argument lists: a typed null pointer, as variadic functions need. */
#define END ((const char *)NULL)

/* The keys the loader insists on, so tests can focus on one thing. */
#define REQUIRED "--acl-file", "acl.conf", "--mqtt-token-file", "tok", "--jwt-secret-file", "sec"

/* Loads a file with @text and expects the error "<path>" @rest. */
static void file_fails(const char *text, const char *rest)
{
	char expected[256];
	const char *path = write_conf(text);

	snprintf(expected, sizeof(expected), "%s%s", path, rest);
	load_fails(expected, "-c", path, REQUIRED, END);
}

/* ==== Defaults, file and flags ================================================================ */

static void test_defaults_fill_every_option_not_given(void **state)
{
	struct adapter_config cfg;

	(void)state;
	load_ok(&cfg, REQUIRED, END);
	assert_string_equal(cfg.http_host, "127.0.0.1");
	assert_int_equal(cfg.http_port, 8000);
	assert_string_equal(cfg.static_dir, "./static");
	assert_string_equal(cfg.mqtt_host, "127.0.0.1");
	assert_int_equal(cfg.mqtt_port, 1883);
	assert_null(cfg.mqtt_client_id);
	assert_null(cfg.jwt_public_key_file);
	assert_null(cfg.jwt_algorithms);
	assert_null(cfg.jwt_issuer);
	assert_null(cfg.jwt_audience);
	assert_int_equal(cfg.jwt_leeway, 30);
	assert_int_equal(cfg.history_size, 100);
	assert_int_equal(cfg.history_max_topics, 10000);
	assert_int_equal(cfg.auth_timeout, 10);
	assert_int_equal(cfg.sse_heartbeat, 15);
	assert_int_equal(cfg.max_message_size, 65536);
	assert_int_equal(cfg.queue_max_messages, 1024);
	assert_int_equal(cfg.queue_max_bytes, 4194304);
	assert_string_equal(cfg.stats_access, "ops-or-loopback");
	assert_int_equal(cfg.calc_timeout, 120);
	assert_string_equal(cfg.log_level, "notice");
	assert_string_equal(cfg.acl_file, "acl.conf");
	assert_string_equal(cfg.mqtt_token_file, "tok");
	assert_string_equal(cfg.jwt_secret_file, "sec");
	config__cleanup(&cfg);
}

static void test_file_sets_options_skipping_comments_and_blank_lines(void **state)
{
	struct adapter_config cfg;
	const char *path = write_conf("# the adapter\n"
				      "\n"
				      "   \t\n"
				      "  # indented comment\n"
				      "http_port 9001\n"
				      "  jwt_issuer   https://auth.example.com/a b  \t\n"
				      "acl_file /etc/rtg/acl.conf\r\n"
				      "mqtt_token_file tok\n"
				      "jwt_public_key_file pub.pem\n"
				      "log_level debug"); /* no final newline */

	(void)state;
	load_ok(&cfg, "-c", path, END);
	assert_int_equal(cfg.http_port, 9001);
	assert_string_equal(cfg.jwt_issuer, "https://auth.example.com/a b");
	assert_string_equal(cfg.acl_file, "/etc/rtg/acl.conf");
	assert_string_equal(cfg.jwt_public_key_file, "pub.pem");
	assert_string_equal(cfg.log_level, "debug");
	assert_null(cfg.jwt_secret_file);
	config__cleanup(&cfg);
}

static void test_flags_win_over_the_file_before_or_after_minus_c(void **state)
{
	struct adapter_config cfg;
	const char *path = write_conf("http_port 9001\nmqtt_host broker.a\nacl_file a.acl\n");

	(void)state;
	load_ok(&cfg, "--http-port", "9002", "-c", path, REQUIRED, END);
	assert_int_equal(cfg.http_port, 9002);
	assert_string_equal(cfg.mqtt_host, "broker.a");
	assert_string_equal(cfg.acl_file, "acl.conf");
	config__cleanup(&cfg);

	load_ok(&cfg, "-c", path, "--mqtt-host", "broker.b", REQUIRED, END);
	assert_int_equal(cfg.http_port, 9001);
	assert_string_equal(cfg.mqtt_host, "broker.b");
	config__cleanup(&cfg);
}

static void test_flag_accepts_the_key_equals_value_form(void **state)
{
	struct adapter_config cfg;

	(void)state;
	load_ok(&cfg, REQUIRED, "--http-port=0", "--jwt-audience=a=b", "--stats-access=any", END);
	assert_int_equal(cfg.http_port, 0);
	assert_string_equal(cfg.jwt_audience, "a=b");
	assert_string_equal(cfg.stats_access, "any");
	config__cleanup(&cfg);
}

static void test_the_last_of_a_repeated_flag_wins(void **state)
{
	struct adapter_config cfg;

	(void)state;
	load_ok(&cfg, REQUIRED, "--log-level", "info", "--log-level=warn", END);
	assert_string_equal(cfg.log_level, "warn");
	config__cleanup(&cfg);
}

static void test_bounds_are_inclusive(void **state)
{
	struct adapter_config cfg;

	(void)state;
	load_ok(&cfg, REQUIRED, "--http-port", "65535", "--max-message-size", "256",
		"--queue-max-bytes", "1073741824", "--history-size", "0", END);
	assert_int_equal(cfg.http_port, 65535);
	assert_int_equal(cfg.max_message_size, 256);
	assert_int_equal(cfg.queue_max_bytes, 1073741824);
	assert_int_equal(cfg.history_size, 0);
	config__cleanup(&cfg);
}

static void test_every_log_level_and_stats_access_is_accepted(void **state)
{
	static const char *const levels[] = {"error", "warn", "notice", "info", "debug"};
	static const char *const access[] = {"ops-or-loopback", "ops", "loopback", "any"};
	struct adapter_config cfg;
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++) {
		load_ok(&cfg, REQUIRED, "--log-level", levels[i], "--stats-access", access[i % 4],
			END);
		assert_string_equal(cfg.log_level, levels[i]);
		assert_string_equal(cfg.stats_access, access[i % 4]);
		config__cleanup(&cfg);
	}
}

static void test_a_public_key_alone_satisfies_the_jwt_key_requirement(void **state)
{
	struct adapter_config cfg;

	(void)state;
	load_ok(&cfg, "--acl-file", "a", "--mqtt-token-file", "t", "--jwt-public-key-file", "p",
		END);
	assert_string_equal(cfg.jwt_public_key_file, "p");
	config__cleanup(&cfg);
}

static void test_cleanup_twice_is_safe(void **state)
{
	struct adapter_config cfg;

	(void)state;
	load_ok(&cfg, REQUIRED, END);
	config__cleanup(&cfg);
	config__cleanup(&cfg);
	assert_null(cfg.http_host);
	config__cleanup(NULL);
}

/* ==== Help and usage ========================================================================== */

/* Runs config__load() with stdout sent to /dev/null (usage goes there). */
static int load_quietly(struct adapter_config *cfg, int argc, char **argv, bool *help)
{
	char err[256];
	int saved, devnull, rc;

	assert_int_equal(fflush(stdout), 0);
	saved = dup(STDOUT_FILENO);
	devnull = open("/dev/null", O_WRONLY);
	assert_true(saved >= 0 && devnull >= 0);
	assert_true(dup2(devnull, STDOUT_FILENO) >= 0);
	rc = config__load(cfg, argc, argv, help, err, sizeof(err));
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	close(devnull);
	return rc;
}

static void test_help_sets_help_and_skips_validation(void **state)
{
	char *argv[] = {"rtg-adapter", "--http-port", "1", "--help", "--bogus", NULL};
	struct adapter_config cfg;
	bool help = false;

	(void)state;
	assert_int_equal(load_quietly(&cfg, 5, argv, &help), 0);
	assert_true(help);
	config__cleanup(&cfg);

	argv[3] = "-h";
	help = false;
	assert_int_equal(load_quietly(&cfg, 5, argv, &help), 0);
	assert_true(help);
	config__cleanup(&cfg);
}

/* Returns the usage text; free() it. */
static char *usage_text(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	assert_non_null(fp);
	config__usage(fp, "rtg-adapter");
	assert_int_equal(fclose(fp), 0);
	return text;
}

static void test_usage_shows_every_flag_with_default_and_bounds(void **state)
{
	char *text = usage_text();

	(void)state;
	assert_non_null(strstr(text, "Usage: rtg-adapter [-c FILE]"));
	assert_non_null(strstr(text, "--http-port PORT"));
	assert_non_null(strstr(text, "(default 8000, 0-65535)"));
	assert_non_null(strstr(text, "--acl-file FILE"));
	assert_non_null(strstr(text, "(required)"));
	assert_non_null(strstr(text, "one of: error warn notice info debug"));
	assert_non_null(strstr(text, "--queue-max-bytes BYTES"));
	assert_null(strstr(text, "http_port")); /* flags only: the file keys are explained once */
	free(text);
}

/* The "#key value" lines of the example show the real defaults. */
static void assert_same_defaults(const struct adapter_config *ex)
{
	struct adapter_config d;

	load_ok(&d, REQUIRED, END);
	assert_string_equal(ex->http_host, d.http_host);
	assert_int_equal(ex->http_port, d.http_port);
	assert_string_equal(ex->static_dir, d.static_dir);
	assert_string_equal(ex->mqtt_host, d.mqtt_host);
	assert_int_equal(ex->mqtt_port, d.mqtt_port);
	assert_int_equal(ex->jwt_leeway, d.jwt_leeway);
	assert_int_equal(ex->history_size, d.history_size);
	assert_int_equal(ex->history_max_topics, d.history_max_topics);
	assert_int_equal(ex->auth_timeout, d.auth_timeout);
	assert_int_equal(ex->sse_heartbeat, d.sse_heartbeat);
	assert_int_equal(ex->max_message_size, d.max_message_size);
	assert_int_equal(ex->queue_max_messages, d.queue_max_messages);
	assert_int_equal(ex->queue_max_bytes, d.queue_max_bytes);
	assert_string_equal(ex->stats_access, d.stats_access);
	assert_int_equal(ex->calc_timeout, d.calc_timeout);
	assert_string_equal(ex->log_level, d.log_level);
	config__cleanup(&d);
}

/*
 * Every "--key" in the usage appears in the example file as "key" or "#key",
 * and the file, with every commented-out key enabled, loads and gives the
 * defaults: it documents them truthfully.
 */
static void test_example_file_documents_every_option_and_loads(void **state)
{
	char *text, *p, *line = NULL, *all = NULL;
	size_t cap = 0, alllen = 0;
	FILE *ex = fopen(EXAMPLE, "r"), *out;
	struct adapter_config cfg;

	(void)state;
	if (!ex)
		skip();
	out = open_memstream(&all, &alllen);
	assert_non_null(out);
	while (getline(&line, &cap, ex) != -1) {
		/* "#key value" lines are defaults; "# text" lines are prose. */
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z')
			fputs(line + 1, out);
		else if (line[0] != '#')
			fputs(line, out);
	}
	free(line);
	fclose(ex);
	assert_int_equal(fclose(out), 0);

	text = usage_text();
	for (p = strstr(text, "\n  --"); p; p = strstr(p + 1, "\n  --")) {
		char key[64], needle[80];
		size_t n = strcspn(p + 5, " "), i;

		assert_true(n < sizeof(key));
		for (i = 0; i < n; i++)
			key[i] = p[5 + i] == '-' ? '_' : p[5 + i];
		key[n] = '\0';
		snprintf(needle, sizeof(needle), "%s ", key);
		if (strncmp(all, needle, strlen(needle)) && !strstr(all, needle))
			fail_msg("%s does not document %s", EXAMPLE, key);
	}
	free(text);
	load_ok(&cfg, "-c", write_conf(all), END);
	free(all);
	assert_same_defaults(&cfg);
	config__cleanup(&cfg);
}

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
	load_fails("jwt_secret_file or jwt_public_key_file is required (set one in the config "
		   "file or with --jwt-secret-file / --jwt-public-key-file)",
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

/* ==== Main ==================================================================================== */

static int remove_temp_files(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < ntemp; i++)
		unlink(temp_paths[i]);
	ntemp = 0;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_fill_every_option_not_given),
		cmocka_unit_test(test_file_sets_options_skipping_comments_and_blank_lines),
		cmocka_unit_test(test_flags_win_over_the_file_before_or_after_minus_c),
		cmocka_unit_test(test_flag_accepts_the_key_equals_value_form),
		cmocka_unit_test(test_the_last_of_a_repeated_flag_wins),
		cmocka_unit_test(test_bounds_are_inclusive),
		cmocka_unit_test(test_every_log_level_and_stats_access_is_accepted),
		cmocka_unit_test(test_a_public_key_alone_satisfies_the_jwt_key_requirement),
		cmocka_unit_test(test_cleanup_twice_is_safe),
		cmocka_unit_test(test_help_sets_help_and_skips_validation),
		cmocka_unit_test(test_usage_shows_every_flag_with_default_and_bounds),
		cmocka_unit_test(test_example_file_documents_every_option_and_loads),
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
	};

	return cmocka_run_group_tests_name("config", tests, NULL, remove_temp_files);
}
