/*
 * sim_brokers.c - the broker options every simulator and the calc worker take
 * (--mqtt-broker, --mqtt-host, --mqtt-port, --mqtt-failback, --mqtt-keepalive,
 * --mqtt-connect-timeout; declared in sim_link.h), parsed into struct
 * sim_brokers. No MQTT here: the network thread is sim_link.c. Main thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_link.h"

void sim__brokers_usage(FILE *fp)
{
	fputs("  --mqtt-broker LIST    brokers in order, host[:port],... (repeatable; default\n"
	      "                        --mqtt-host:--mqtt-port): the next one when one is lost\n"
	      "  --mqtt-host HOST      the broker's host, without --mqtt-broker (default 127.0.0.1)\n"
	      "  --mqtt-port PORT      the broker's port, without --mqtt-broker (default 1883)\n"
	      "  --mqtt-failback S     on another broker S seconds: back to the first once it\n"
	      "                        answers (default 0: stay)\n"
	      "  --mqtt-keepalive S    a broker silent this long is pinged, then lost (5-3600,\n"
	      "                        default 5)\n"
	      "  --mqtt-connect-timeout S  CONNACK within S s or the next broker (1-300, default 5)\n",
		fp);
}

void sim__brokers_init(struct sim_brokers *l)
{
	memset(l, 0, sizeof(*l));
	l->keepalive = 5;
	l->connect_timeout = 5;
	l->host = "127.0.0.1";
	l->port = 1883;
}

/* Parses a whole number within [min, max] for option name; -1 (reported) otherwise. */
static int number(const char *name, const char *arg, long min, long max, int *out, const char *prog)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "%s: --%s: \"%s\" is not a whole number in %ld..%ld\n", prog, name,
			arg, min, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* Appends the brokers of list to l (at most RTG_BROKER_MAX in all, no one twice). */
static int add_brokers(struct sim_brokers *l, const char *list, const char *prog)
{
	struct rtg_broker *more = NULL, *all;
	char why[256];
	int n = 0, i, j;

	if (rtg_broker_list_parse(list, &more, &n, why, sizeof(why)) != RTG_OK) {
		fprintf(stderr, "%s: --mqtt-broker: %s\n", prog, why);
		return -1;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < l->n; j++) {
			if (!strcmp(l->b[j].name, more[i].name))
				break;
		}
		if (j < l->n || l->n + n > RTG_BROKER_MAX) {
			fprintf(stderr, "%s: --mqtt-broker: %s\n", prog,
				j < l->n ? "a broker is listed twice" : "more than 16 brokers");
			rtg_broker_list_free(more, n);
			return -1;
		}
	}
	all = realloc(l->b, (size_t)(l->n + n) * sizeof(*all));
	if (!all) {
		fprintf(stderr, "%s: out of memory\n", prog);
		rtg_broker_list_free(more, n);
		return -1;
	}
	memcpy(all + l->n, more, (size_t)n * sizeof(*all));
	free(more); /* the strings now belong to l */
	l->b = all;
	l->n += n;
	return 0;
}

int sim__brokers_option(struct sim_brokers *l, int which, const char *arg, const char *prog)
{
	switch (which) {
	case 0:
		return add_brokers(l, arg, prog);
	case 1:
		return number("mqtt-failback", arg, 0, 86400, &l->failback, prog);
	case 2:
		return number("mqtt-keepalive", arg, 5, 3600, &l->keepalive, prog);
	case 3:
		return number("mqtt-connect-timeout", arg, 1, 300, &l->connect_timeout, prog);
	case 4:
		if (!arg[0]) {
			fprintf(stderr, "%s: --mqtt-host is empty\n", prog);
			return -1;
		}
		l->host = arg;
		return 0;
	default:
		return number("mqtt-port", arg, 1, 65535, &l->port, prog);
	}
}

int sim__brokers_finish(struct sim_brokers *l, bool host_given, const char *prog)
{
	char one[300];

	if (l->n && host_given) {
		fprintf(stderr,
			"%s: --mqtt-broker and --mqtt-host/--mqtt-port are both given: list every "
			"broker with --mqtt-broker host:port\n",
			prog);
		return -1;
	}
	if (l->n)
		return 0;
	snprintf(one, sizeof(one), strchr(l->host, ':') ? "[%s]:%d" : "%s:%d", l->host, l->port);
	return add_brokers(l, one, prog);
}

void sim__brokers_free(struct sim_brokers *l)
{
	rtg_broker_list_free(l->b, l->n);
	l->b = NULL;
	l->n = 0;
}
