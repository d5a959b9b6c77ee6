/*
 * test_config.c - unit tests for the adapter's configuration loader
 * (adapter/config.c): defaults, the mosquitto.conf-style file, --flags and
 * their precedence, --help, the usage text and the example file. Every error
 * message is tested in test_config_errors.c.
 *
 * Config files are written with mkstemp() and removed by the group teardown
 * (config_helpers.h). The example file test runs from the repository root (as
 * tests/run.sh does) and is skipped elsewhere.
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
#include "config_helpers.h"

#define EXAMPLE "adapter/adapter.conf.example"

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
	assert_int_equal(cfg.stats_interval, 10);
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
	assert_string_equal(ex->profiles_file, d.profiles_file);
	assert_int_equal(ex->rate_burst, d.rate_burst);
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
	assert_int_equal(ex->stats_interval, d.stats_interval);
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
	char *text, *p, *line = NULL, *all = NULL, *brokers, *end;
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
	/* mqtt_brokers replaces mqtt_host and mqtt_port (both at once is refused): alone */
	brokers = strstr(all, "\nmqtt_brokers ");
	assert_non_null(brokers);
	brokers++;
	end = strchr(brokers, '\n');
	assert_non_null(end);
	*end = '\0';
	load_ok(&cfg, "-c", write_conf(brokers), REQUIRED, END);
	assert_int_equal(cfg.nbrokers, 1);
	assert_string_equal(cfg.brokers[0].name, "127.0.0.1:1883");
	config__cleanup(&cfg);
	memmove(brokers, end + 1, strlen(end + 1) + 1);
	load_ok(&cfg, "-c", write_conf(all), END);
	free(all);
	assert_same_defaults(&cfg);
	config__cleanup(&cfg);
}

/* ==== The brokers ============================================================================= */

/* Loads with --mqtt-brokers list and checks the names, in order, given as the rest (NULL ends). */
static void brokers_are(const char *list, ...)
{
	struct adapter_config cfg;
	const char *want;
	va_list ap;
	int i = 0;

	load_ok(&cfg, "--mqtt-brokers", list, REQUIRED, END);
	va_start(ap, list);
	while ((want = va_arg(ap, const char *)) != NULL) {
		assert_true(i < cfg.nbrokers);
		assert_string_equal(cfg.brokers[i++].name, want);
	}
	va_end(ap);
	assert_int_equal(cfg.nbrokers, i);
	config__cleanup(&cfg);
}

static void test_mqtt_host_and_port_are_a_list_of_one_broker(void **state)
{
	struct adapter_config cfg;

	(void)state;
	load_ok(&cfg, "--mqtt-host", "broker.a", "--mqtt-port", "1884", REQUIRED, END);
	assert_int_equal(cfg.nbrokers, 1);
	assert_string_equal(cfg.brokers[0].host, "broker.a");
	assert_int_equal(cfg.brokers[0].port, 1884);
	assert_string_equal(cfg.brokers[0].name, "broker.a:1884");
	config__cleanup(&cfg);
	load_ok(&cfg, REQUIRED, END);
	assert_int_equal(cfg.nbrokers, 1);
	assert_string_equal(cfg.brokers[0].name, "127.0.0.1:1883");
	assert_int_equal(cfg.mqtt_failback, 0);
	assert_int_equal(cfg.mqtt_keepalive, 5);
	assert_int_equal(cfg.mqtt_connect_timeout, 5);
	config__cleanup(&cfg);
}

static void test_mqtt_brokers_keeps_the_order_given(void **state)
{
	(void)state;
	brokers_are("10.0.0.2:1884,10.0.0.1:1883", "10.0.0.2:1884", "10.0.0.1:1883", NULL);
	brokers_are("b.example", "b.example:1883", NULL);
	brokers_are(" a:1 , b:65535 ", "a:1", "b:65535", NULL);
	brokers_are("[::1]:1885,[fd00::2]", "[::1]:1885", "[fd00::2]:1883", NULL);
}

static void test_mqtt_brokers_in_the_file_with_failback(void **state)
{
	struct adapter_config cfg;
	const char *path = write_conf("mqtt_brokers a:1883, b:1884\nmqtt_failback 30\n");

	(void)state;
	load_ok(&cfg, "-c", path, REQUIRED, END);
	assert_int_equal(cfg.nbrokers, 2);
	assert_string_equal(cfg.brokers[1].host, "b");
	assert_int_equal(cfg.brokers[1].port, 1884);
	assert_int_equal(cfg.mqtt_failback, 30);
	config__cleanup(&cfg);
}

/* ==== Main ==================================================================================== */

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
		cmocka_unit_test(test_mqtt_host_and_port_are_a_list_of_one_broker),
		cmocka_unit_test(test_mqtt_brokers_keeps_the_order_given),
		cmocka_unit_test(test_mqtt_brokers_in_the_file_with_failback),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, remove_temp_files);
}
