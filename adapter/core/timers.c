/*
 * timers.c - the per-session timers (token expiry, authentication timeout,
 * WebSocket idle check, SSE heartbeat, calculation timeout) on a wheel of
 * one-second slots.
 *
 * lws 4.1 keeps its timers (lws_sul_schedule, lws_set_timer_usecs) in one
 * list sorted by due time, and inserts by walking it from the head. Session
 * timers are due far ahead, so each insertion walked every timer of every
 * connection: with 19,000 connections that was about a millisecond per new
 * connection and per idle re-arm, which slowed accepting to a few hundred a
 * second and, with idle_timeout 20, kept the core busy doing nothing else
 * until clients timed out. Here a timer goes into the slot of its due
 * second (O(1) to schedule or cancel), and the event loop calls
 * timers__run() every second (transport/loop.c), which fires what is due in
 * the slots passed since the last run. Timers fire up to a second late,
 * never early: every one of them counts in seconds.
 * One thread only: the event loop's.
 */
#include <time.h>

#include "core.h"

int64_t core__now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

static int64_t now_s(void)
{
	return core__now_us() / US_PER_SEC;
}

void timers__init(struct timer_wheel *w)
{
	w->done = now_s();
}

void timers__run(struct timer_wheel *w)
{
	struct list ripe = {0};
	int64_t now = now_s(), k, n = now - w->done;
	struct list_node *d, *next;

	if (n > WHEEL_SLOTS)
		n = WHEEL_SLOTS; /* every slot once: the loop was held up a long time */
	for (k = 1; k <= n; k++) {
		struct list *slot = &w->slot[(w->done + k) % WHEEL_SLOTS];

		for (d = list_head(slot); d; d = next) {
			next = d->next;
			if (container_of(d, struct wheel_timer, list)->due <= now) {
				list_remove(d);
				list_add_tail(d, &ripe);
			}
		}
	}
	if (now > w->done)
		w->done = now;
	/* a callback may cancel or re-arm any timer, the ripe ones included */
	while ((d = list_head(&ripe))) {
		struct wheel_timer *t = container_of(d, struct wheel_timer, list);

		list_remove(d);
		t->cb(t);
	}
}

/* Arms (or re-arms) t to call cb in delay_us, rounded up to the next second. */
void timers__schedule(struct timer_wheel *w, struct wheel_timer *t,
	void (*cb)(struct wheel_timer *), int64_t delay_us)
{
	int64_t due = (core__now_us() + delay_us + US_PER_SEC - 1) / US_PER_SEC;

	if (due <= w->done)
		due = w->done + 1;
	list_remove(&t->list);
	t->due = due;
	t->cb = cb;
	list_add_tail(&t->list, &w->slot[due % WHEEL_SLOTS]);
}

void timers__cancel(struct wheel_timer *t)
{
	list_remove(&t->list);
}

bool timers__armed(const struct wheel_timer *t)
{
	return !list_is_detached(&t->list);
}
