/*
 * listen.c - the listening socket when several adapters share one port
 * (reuse_port 1): SO_REUSEPORT makes the kernel spread new connections over
 * every process listening on the port, so one host runs one adapter per core
 * with no balancer in front.
 *
 * lws 4.1 never sets SO_REUSEPORT on Linux (its ALLOW_LISTEN_SHARE option
 * only concerns Windows), so the adapter makes the socket itself, adopts it
 * into the lws loop as a raw descriptor, accepts on readiness and hands each
 * connection to lws as if its own listener had accepted it (HTTP, upgrades
 * and TLS as usual). Without reuse_port lws listens by itself and none of
 * this runs. lws thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adapter.h"

/* Connections accepted per readiness callback, so a burst cannot starve the loop. */
#define ACCEPT_BUDGET 64

static int open_socket(const char *host, int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd, one = 1;

	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		lwsl_err("listen: http_host '%s' is not an IPv4 address (reuse_port needs one)\n",
			host);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
		bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, SOMAXCONN)) {
		lwsl_err("listen: %s:%d: %s\n", host, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void accept_some(struct adapter *a, int lfd)
{
	int i, fd;

	for (i = 0; i < ACCEPT_BUDGET; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				lwsl_warn("listen: accept: %s\n", strerror(errno));
			return;
		}
		/* lws closes fd itself when it cannot adopt it */
		if (!lws_adopt_socket_vhost(a->vhost, fd))
			lwsl_warn("listen: a connection could not be adopted\n");
	}
}

static int callback_listen(
	struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct adapter *a = lws_context_user(lws_get_context(wsi));

	(void)user;
	(void)in;
	(void)len;
	if (reason == LWS_CALLBACK_RAW_RX_FILE)
		accept_some(a, (int)lws_get_socket_fd(wsi));
	return 0;
}

const struct lws_protocols listen__protocol = {
	.name = "rtg-listen",
	.callback = callback_listen,
};

/*
 * Opens the shared listening socket on http_host:http_port and adopts it.
 * Returns the port it listens on (http_port 0: the one the kernel chose), or
 * -1 with the reason logged.
 */
int listen__open(struct adapter *a)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	lws_sock_file_fd_type fd;

	fd.filefd = open_socket(a->cfg.http_host, a->cfg.http_port);
	if (fd.filefd < 0)
		return -1;
	if (getsockname(fd.filefd, (struct sockaddr *)&sin, &slen) ||
		!lws_adopt_descriptor_vhost(
			a->vhost, LWS_ADOPT_RAW_FILE_DESC, fd, listen__protocol.name, NULL)) {
		close(fd.filefd);
		return -1;
	}
	return ntohs(sin.sin_port);
}
