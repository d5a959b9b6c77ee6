/*
 * timers.c - the per-session timers (token expiry, authentication timeout,
 * WebSocket idle check, SSE heartbeat) on a wheel of one-second slots.
 *
 * lws 4.1 keeps its timers (lws_sul_schedule, lws_set_timer_usecs) in one
 * list sorted by due time, and inserts by walking it from the head. Session
 * timers are due far ahead, so each insertion walked every timer of every
 * connection: with 19,000 connections that was about a millisecond per new
 * connection and per idle re-arm, which slowed accepting to a few hundred a
 * second and, with idle_timeout 20, kept the core busy doing nothing else
 * until clients timed out. Here a timer goes into the slot of its due
 * second (O(1) to schedule or cancel), and one lws timer ticks every second
 * and fires what is due in the slots passed since the last tick. Timers fire
 * up to a second late, never early: every one of them counts in seconds.
 * lws thread only.
 */
#include "adapter.h"

static int64_t now_s(void)
{
	return (int64_t)(lws_now_usecs() / LWS_US_PER_SEC);
}

static void on_tick(struct lws_sorted_usec_list *sul)
{
	struct timer_wheel *w = lws_container_of(sul, struct timer_wheel, sul);
	struct adapter *a = lws_container_of(w, struct adapter, wheel);
	struct lws_dll2_owner ripe = {0};
	int64_t now = now_s(), k, n = now - w->done;
	struct lws_dll2 *d, *next;
	lws_usec_t us;

	if (n > WHEEL_SLOTS)
		n = WHEEL_SLOTS; /* every slot once: the loop was held up a long time */
	for (k = 1; k <= n; k++) {
		struct lws_dll2_owner *slot = &w->slot[(w->done + k) % WHEEL_SLOTS];

		for (d = lws_dll2_get_head(slot); d; d = next) {
			next = d->next;
			if (lws_container_of(d, struct wheel_timer, list)->due <= now) {
				lws_dll2_remove(d);
				lws_dll2_add_tail(d, &ripe);
			}
		}
	}
	if (now > w->done)
		w->done = now;
	/* a callback may cancel or re-arm any timer, the ripe ones included */
	while ((d = lws_dll2_get_head(&ripe))) {
		struct wheel_timer *t = lws_container_of(d, struct wheel_timer, list);

		lws_dll2_remove(d);
		t->cb(t);
	}
	us = lws_now_usecs();
	lws_sul_schedule(a->ctx, 0, &w->sul, on_tick,
		LWS_US_PER_SEC - us % LWS_US_PER_SEC + 1000); /* just after the next second */
}

void timers__start(struct adapter *a)
{
	a->wheel.done = now_s();
	lws_sul_schedule(a->ctx, 0, &a->wheel.sul, on_tick, LWS_US_PER_SEC);
}

void timers__stop(struct adapter *a)
{
	lws_sul_cancel(&a->wheel.sul);
}

/* Arms (or re-arms) t to call cb in delay_us, rounded up to the next second. */
void timers__schedule(struct adapter *a, struct wheel_timer *t, void (*cb)(struct wheel_timer *),
	lws_usec_t delay_us)
{
	int64_t due = (int64_t)((lws_now_usecs() + delay_us + LWS_US_PER_SEC - 1) / LWS_US_PER_SEC);

	if (due <= a->wheel.done)
		due = a->wheel.done + 1;
	lws_dll2_remove(&t->list);
	t->due = due;
	t->cb = cb;
	lws_dll2_add_tail(&t->list, &a->wheel.slot[due % WHEEL_SLOTS]);
}

void timers__cancel(struct wheel_timer *t)
{
	lws_dll2_remove(&t->list);
}
