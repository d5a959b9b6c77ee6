/*
 * rtg_broker.c - a list of MQTT brokers in order, "host[:port],...": the
 * adapter's mqtt_brokers and the simulators' --mqtt-broker, parsed the same
 * way. It does not connect or resolve names. Any thread (no state).
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtg_broker.h"

/*
 * Splits one item of mqtt_brokers, "host", "host:port" or "[v6addr]:port",
 * into b (strings malloc'ed; b zeroed on entry). Returns 0, or -1 with the
 * reason in why (b then holds nothing to free but what is set).
 */
static int parse_broker(const char *item, size_t len, struct rtg_broker *b, char *why, size_t wl)
{
	const char *host = item, *colon = NULL, *end = item + len;
	size_t hostlen = len;
	char port[8];
	long v = 1883;
	char *e;

	memset(b, 0, sizeof(*b));
	if (len && item[0] == '[') { /* an IPv6 address: its colons are not the port's */
		const char *close = memchr(item, ']', len);

		if (!close || (close + 1 < end && close[1] != ':')) {
			snprintf(why, wl, "'%.*s': an IPv6 address is written [addr]:port",
				(int)len, item);
			return -1;
		}
		host = item + 1;
		hostlen = (size_t)(close - host);
		colon = close + 1 < end ? close + 1 : NULL;
	} else if ((colon = memchr(item, ':', len)) != NULL) {
		hostlen = (size_t)(colon - item);
	}
	if (!hostlen || memchr(host, ' ', hostlen) || memchr(host, '\t', hostlen)) {
		snprintf(why, wl, "'%.*s': no host", (int)len, item);
		return -1;
	}
	if (colon) {
		size_t plen = (size_t)(end - colon - 1);

		errno = 0;
		if (plen) {
			memcpy(port, colon + 1, plen < sizeof(port) ? plen : sizeof(port) - 1);
			port[plen < sizeof(port) ? plen : sizeof(port) - 1] = '\0';
			v = strtol(port, &e, 10);
		}
		if (!plen || plen >= sizeof(port) || *e || !isdigit((unsigned char)port[0]) ||
			v < 1 || v > 65535) {
			snprintf(why, wl, "'%.*s': the port is not a number in 1-65535", (int)len,
				item);
			return -1;
		}
	}
	b->host = strndup(host, hostlen);
	b->port = (int)v;
	if (b->host &&
		asprintf(&b->name, "%s%s%s:%d", host == item ? "" : "[", b->host,
			host == item ? "" : "]", b->port) < 0)
		b->name = NULL;
	if (!b->host || !b->name) {
		snprintf(why, wl, "out of memory");
		return -1;
	}
	return 0;
}

void rtg_broker_list_free(struct rtg_broker *b, int n)
{
	int i;

	for (i = 0; b && i < n; i++) {
		free(b[i].host);
		free(b[i].name);
	}
	free(b);
}

enum rtg_err rtg_broker_list_parse(
	const char *value, struct rtg_broker **out, int *n, char *why, size_t wl)
{
	struct rtg_broker *b = calloc(RTG_BROKER_MAX, sizeof(*b));
	const char *p = value;
	enum rtg_err rc = RTG_ERR_INVAL;
	int k = 0, i;

	if (!b) {
		snprintf(why, wl, "out of memory");
		return RTG_ERR_NOMEM;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		const char *item = p;

		while (len && isspace((unsigned char)*item)) {
			item++;
			len--;
		}
		while (len && isspace((unsigned char)item[len - 1]))
			len--;
		if (!len) {
			snprintf(why, wl, "an empty item in the list");
			goto out;
		}
		if (k == RTG_BROKER_MAX) {
			snprintf(why, wl, "more than %d brokers", RTG_BROKER_MAX);
			goto out;
		}
		if (parse_broker(item, len, &b[k], why, wl)) {
			k++; /* frees what it set */
			goto out;
		}
		for (i = 0; i < k; i++) {
			if (!strcmp(b[i].name, b[k].name)) {
				snprintf(why, wl, "%s is listed twice", b[k].name);
				k++;
				goto out;
			}
		}
		k++;
		p += strcspn(p, ",");
		if (!*p++)
			break;
	}
	rc = RTG_OK;
out:
	if (rc || !out) {
		rtg_broker_list_free(b, k);
	} else {
		*out = b;
		*n = k;
	}
	return rc;
}

/* ==== Probing ================================================================================= */

int rtg_broker_probe_start(const struct rtg_broker *b)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char port[8];
	int fd;

	snprintf(port, sizeof(port), "%d", b->port);
	if (getaddrinfo(b->host, port, &hints, &ai) || !ai)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int rtg_broker_probe_result(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t len = sizeof(int);
	int err = 0;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err)
		return -1;
	return 1;
}
