/*
 * test_broker.c - unit tests for common/rtg_broker.c: broker lists as the
 * adapter (mqtt_brokers) and the simulators (--mqtt-broker) take them, and
 * the failback probe against a real listening socket and a closed port. The
 * adapter's messages around these are tested in test_config_errors.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtg_broker.h"

/* Parses list and checks the names (NULL-terminated rest), in order. */
static void parses_to(const char *list, ...)
{
	struct rtg_broker *b = NULL;
	const char *want;
	char why[256];
	va_list ap;
	int n = -1, i = 0;

	assert_int_equal(rtg_broker_list_parse(list, &b, &n, why, sizeof(why)), RTG_OK);
	va_start(ap, list);
	while ((want = va_arg(ap, const char *)) != NULL) {
		assert_true(i < n);
		assert_string_equal(b[i++].name, want);
	}
	va_end(ap);
	assert_int_equal(n, i);
	rtg_broker_list_free(b, n);
}

/* Parsing list fails with exactly the reason want. */
static void refuses(const char *list, const char *want)
{
	struct rtg_broker *b = NULL;
	char why[256] = "";
	int n = -1;

	assert_int_equal(rtg_broker_list_parse(list, &b, &n, why, sizeof(why)), RTG_ERR_INVAL);
	assert_null(b);
	assert_string_equal(why, want);
}

static void test_a_list_keeps_its_order_and_defaults_port_1883(void **state)
{
	(void)state;
	parses_to("b:1884,a", "b:1884", "a:1883", NULL);
	parses_to("  10.0.0.1:1 ,\t10.0.0.2:65535  ", "10.0.0.1:1", "10.0.0.2:65535", NULL);
	parses_to("[::1]:1885,[fd00::1]", "[::1]:1885", "[fd00::1]:1883", NULL);
}

static void test_an_ipv6_host_is_kept_without_brackets(void **state)
{
	struct rtg_broker *b = NULL;
	char why[64];
	int n = 0;

	(void)state;
	assert_int_equal(rtg_broker_list_parse("[::1]:1885", &b, &n, why, sizeof(why)), RTG_OK);
	assert_string_equal(b[0].host, "::1");
	assert_int_equal(b[0].port, 1885);
	rtg_broker_list_free(b, n);
}

static void test_bad_lists_are_refused_with_the_reason(void **state)
{
	(void)state;
	refuses("", "an empty item in the list");
	refuses("a,", "an empty item in the list");
	refuses("a, ,b", "an empty item in the list");
	refuses(":1883", "':1883': no host");
	refuses("a:", "'a:': the port is not a number in 1-65535");
	refuses("a:-1", "'a:-1': the port is not a number in 1-65535");
	refuses("a:1x", "'a:1x': the port is not a number in 1-65535");
	refuses("a:1234567", "'a:1234567': the port is not a number in 1-65535");
	refuses("[::1", "'[::1': an IPv6 address is written [addr]:port");
	refuses("[::1]1883", "'[::1]1883': an IPv6 address is written [addr]:port");
	refuses("a,b,a:1883", "a:1883 is listed twice");
}

static void test_more_than_the_maximum_is_refused(void **state)
{
	char list[512] = "";
	int i;

	(void)state;
	for (i = 1; i <= RTG_BROKER_MAX; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%sh:%d",
			i > 1 ? "," : "", i);
	parses_to(list, "h:1", "h:2", "h:3", "h:4", "h:5", "h:6", "h:7", "h:8", "h:9", "h:10",
		"h:11", "h:12", "h:13", "h:14", "h:15", "h:16", NULL);
	strcat(list, ",h:17");
	refuses(list, "more than 16 brokers");
}

static void test_checking_only_allocates_nothing(void **state)
{
	char why[64];

	(void)state;
	assert_int_equal(rtg_broker_list_parse("a,b", NULL, NULL, why, sizeof(why)), RTG_OK);
}

/* ==== The probe =============================================================================== */

/* A listening socket on 127.0.0.1; its port in *port. */
static int listener(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Polls the probe until it says something (within ~2 s). */
static int probe_outcome(int fd)
{
	int i, r = 0;

	for (i = 0; i < 200 && r == 0; i++) {
		r = rtg_broker_probe_result(fd);
		if (r == 0)
			poll(NULL, 0, 10);
	}
	return r;
}

static void test_the_probe_sees_a_broker_that_answers_and_one_that_does_not(void **state)
{
	struct rtg_broker b = {.host = "127.0.0.1"};
	int lfd = listener(&b.port), fd;

	(void)state;
	fd = rtg_broker_probe_start(&b);
	assert_true(fd >= 0);
	assert_int_equal(probe_outcome(fd), 1);
	close(fd);
	close(lfd); /* nothing listens there now: refused */
	fd = rtg_broker_probe_start(&b);
	if (fd >= 0) {
		assert_int_equal(probe_outcome(fd), -1);
		close(fd);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_list_keeps_its_order_and_defaults_port_1883),
		cmocka_unit_test(test_an_ipv6_host_is_kept_without_brackets),
		cmocka_unit_test(test_bad_lists_are_refused_with_the_reason),
		cmocka_unit_test(test_more_than_the_maximum_is_refused),
		cmocka_unit_test(test_checking_only_allocates_nothing),
		cmocka_unit_test(test_the_probe_sees_a_broker_that_answers_and_one_that_does_not),
	};

	return cmocka_run_group_tests_name("broker", tests, NULL, NULL);
}
