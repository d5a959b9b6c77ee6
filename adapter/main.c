/*
 * main.c - rtg-adapter: start-up, the wiring of the layers, reload and
 * shutdown.
 *
 * Reads the configuration, loads keys and ACL, starts the server
 * (transport/server.c) and the broker connection, and serves until
 * SIGTERM/SIGINT. SIGHUP re-reads keys and ACL. Shutdown closes WebSockets
 * with 1001, ends SSE streams with a jittered retry hint, flushes,
 * disconnects from the broker and exits 0. Signal handlers only set flags
 * and wake the loop; the work happens here, on the one thread.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "rtg_log.h"

/* How long a shutdown waits for queued messages and close frames to go out. */
#define SHUTDOWN_GRACE_US (2 * US_PER_SEC)

static volatile sig_atomic_t stop_requested, reload_requested;
static struct adapter *signal_adapter;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
	if (signal_adapter)
		server__wake(signal_adapter);
}

/*
 * Asks every session to close: WebSockets with 1001, SSE streams with their
 * last events and a retry hint (sse.c); what is queued goes first.
 */
static void close_all(struct adapter *a)
{
	struct list_node *d;

	for (d = list_head(&a->core.sessions); d; d = d->next) {
		struct session *s = container_of(d, struct session, in_all);

		if (s->close_asked)
			continue;
		s->closing = false;
		session__close(s, RTG_CLOSE_GOING_AWAY, "server shutting down");
	}
}

/* Closes every session and lets what is queued go out, for at most the grace period. */
static void shut_down(struct adapter *a)
{
	rtg_notice("shutting down: closing %u connections\n", a->core.sessions.count);
	a->core.stopping = true;
	close_all(a);
	server__drain(a, SHUTDOWN_GRACE_US);
	/* Last, with the broker still connected: nothing is read after this point. */
	history__save(&a->hist, a->cfg.history_file, a->bridge.session, bridge__session_saved(a));
}

static void print_listening(struct adapter *a)
{
	int port = a->listen_port;

	/* Tests and `make run` read this line to learn the port (http_port 0 = any). */
	rtg_notice("rtg-adapter listening on %s://%s:%d\n", a->cfg.tls_cert_file ? "https" : "http",
		a->cfg.http_host, port);
	fprintf(stdout, "listening %s %d\n", a->cfg.http_host, port);
	fflush(stdout);
}

static int run(struct adapter *a)
{
	while (!stop_requested) {
		if (server__turn(a) < 0)
			return -1;
		if (reload_requested) {
			reload_requested = 0;
			auth__reload(a);
		}
	}
	shut_down(a);
	return 0;
}

int main(int argc, char **argv)
{
	static struct adapter a;
	char err[4096];
	bool help = false;
	int rc = EXIT_FAILURE;

	if (config__load(&a.cfg, argc, argv, &help, err, sizeof(err))) {
		fprintf(stderr, "rtg-adapter: %s\n", err);
		return EXIT_FAILURE;
	}
	if (help) {
		config__cleanup(&a.cfg);
		return EXIT_SUCCESS;
	}
	a.started = time(NULL);
	core__init(&a.core, &a.cfg, &a.stats, &a.hist, &bridge__broker, &a);
	if (history__init(
		    &a.hist, (unsigned)a.cfg.history_size, (unsigned)a.cfg.history_max_topics))
		goto out;
	if (auth__init(&a)) /* keys, ACL and profiles: the history's topic types come from these */
		goto out;
	a.hist.topic_info = req__topic_info;
	a.hist.topic_info_arg = &a;
	/* A refused file is logged and the history starts empty: not a reason to stop. */
	history__load(&a.hist, a.cfg.history_file, &a.bridge.held, &a.bridge.nheld);
	if (server__start(&a) || bridge__init(&a))
		goto out;
	signal_adapter = &a;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	stats__start(&a);
	print_listening(&a);
	if (run(&a) == 0)
		rc = EXIT_SUCCESS;
out:
	signal_adapter = NULL;
	stats__stop(&a);
	bridge__cleanup(&a);
	server__stop(&a);
	subs__cleanup(&a.core);
	limits__cleanup(&a);
	subscribe__cleanup();
	history__cleanup(&a.hist);
	auth__cleanup(&a);
	config__cleanup(&a.cfg);
	return rc;
}
