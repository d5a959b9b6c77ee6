/*
 * loop.c - the event loop under lws: libev on epoll (event_loop epoll, the
 * default) or lws' own poll() loop (event_loop poll).
 *
 * poll() hands the kernel every socket on every turn: with thousands of
 * connections that scan costs more than the writes of a turn whose messages
 * go to a few clients each (half the adapter's time with 5,000 clients on
 * 1,000 topics, docs/benchmarks.md). epoll costs only the sockets that are
 * ready. The adapter owns the libev loop ("foreign" to lws) so that it can
 * run it a turn at a time, as it does lws_service(): signals set flags and
 * wake the loop with lws_cancel_service(), and main.c acts on them between
 * turns. lws needs its libev plugin (Debian: libwebsockets-evlib-ev); if it
 * cannot load it, the adapter says so and uses poll(). lws thread only.
 */
#include <ev.h>
#include <string.h>

#include "adapter.h"

static struct ev_loop *ev_loop_;
static void *foreign_loops[1];
static ev_timer wake_timer;

static void on_wake(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

/* Before lws_create_context: asks lws for the libev loop, when configured. */
void loop__prepare(struct adapter *a, struct lws_context_creation_info *info)
{
	if (strcmp(a->cfg.event_loop, "epoll"))
		return;
	if (!ev_loop_)
		ev_loop_ = ev_loop_new(EVBACKEND_EPOLL);
	if (!ev_loop_) {
		lwsl_warn("event_loop epoll: libev has no epoll here; using poll()\n");
		return;
	}
	foreign_loops[0] = ev_loop_;
	info->foreign_loops = foreign_loops;
	info->options |= LWS_SERVER_OPTION_LIBEV;
	a->loop_ev = true;
}

/* When lws could not start on libev (no plugin): the next context uses poll(). */
void loop__fallback(struct adapter *a, struct lws_context_creation_info *info)
{
	lwsl_warn("event_loop epoll: lws could not use libev (is libwebsockets-evlib-ev "
		  "installed?); using poll()\n");
	info->foreign_loops = NULL;
	info->options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
	a->loop_ev = false;
}

/*
 * One turn of the loop: waits for an event, a timer of lws or, when max_us
 * is not 0, at most max_us, and handles what is ready. <0: lws failed.
 */
int loop__turn(struct adapter *a, lws_usec_t max_us)
{
	if (!a->loop_ev)
		return lws_service(a->ctx, 0) < 0 ? -1 : 0;
	if (max_us > 0) {
		ev_timer_init(&wake_timer, on_wake, (ev_tstamp)max_us / LWS_US_PER_SEC, 0.);
		ev_timer_start(ev_loop_, &wake_timer);
	}
	ev_run(ev_loop_, EVRUN_ONCE);
	if (max_us > 0)
		ev_timer_stop(ev_loop_, &wake_timer);
	return 0;
}

/* After lws_context_destroy. */
void loop__cleanup(void)
{
	if (ev_loop_)
		ev_loop_destroy(ev_loop_);
	ev_loop_ = NULL;
}
