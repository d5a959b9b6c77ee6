/*
 * test_core_timers.c - unit tests for the timer wheel (core/timers.c): due
 * order, re-arming, cancelling, timers more than WHEEL_SLOTS seconds ahead.
 *
 * The wheel reads CLOCK_MONOTONIC, which cannot be faked, and no test here
 * sleeps. Instead advance() moves the wheel back in time: every armed timer's
 * due second and the wheel's last handled second (w->done) go back by the
 * same number of seconds, each timer into the slot of its new due second.
 * For timers__run() that is the same state as the clock having moved forward
 * that much. A real second may still tick during a test, so each check
 * leaves a second of slack: a timer of delay d has not fired after an
 * advance of d - 1 and has fired after d + 1 (timers fire up to a second
 * late, never early).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core.h"

/* ==== Helpers ================================================================================= */

#define S(n) ((int64_t)(n)*US_PER_SEC)

/* Up to 8 firings, in the order they happened. */
static struct wheel_timer *fired[8];
static unsigned nfired;

static void on_fire(struct wheel_timer *t)
{
	assert_true(nfired < 8);
	fired[nfired++] = t;
}

static struct timer_wheel *new_wheel(void)
{
	static struct timer_wheel w;

	memset(&w, 0, sizeof(w));
	timers__init(&w);
	/* advance() subtracts seconds from due times: keep them positive */
	assert_true(w.done > 4 * WHEEL_SLOTS);
	nfired = 0;
	return &w;
}

/* The clock moves forward @secs seconds, as timers__run() sees it (see the file's header). */
static void advance(struct timer_wheel *w, int64_t secs)
{
	struct list moved = {0};
	struct list_node *d;
	int i;

	for (i = 0; i < WHEEL_SLOTS; i++) {
		while ((d = list_head(&w->slot[i]))) {
			list_remove(d);
			list_add_tail(d, &moved);
		}
	}
	while ((d = list_head(&moved))) {
		struct wheel_timer *t = container_of(d, struct wheel_timer, list);

		list_remove(d);
		t->due -= secs;
		list_add_tail(d, &w->slot[t->due % WHEEL_SLOTS]);
	}
	w->done -= secs;
}

static void run_after(struct timer_wheel *w, int64_t secs)
{
	advance(w, secs);
	timers__run(w);
}

/* ==== Tests =================================================================================== */

static void test_timers_fire_in_due_order(void **state)
{
	struct timer_wheel *w = new_wheel();
	struct wheel_timer t30 = {0}, t10 = {0}, t20 = {0};

	(void)state;
	timers__schedule(w, &t30, on_fire, S(30));
	timers__schedule(w, &t10, on_fire, S(10));
	timers__schedule(w, &t20, on_fire, S(20));
	timers__run(w);
	assert_int_equal(nfired, 0);
	run_after(w, 31); /* all due in one run */
	assert_int_equal(nfired, 3);
	assert_ptr_equal(fired[0], &t10);
	assert_ptr_equal(fired[1], &t20);
	assert_ptr_equal(fired[2], &t30);
	assert_false(timers__armed(&t10) || timers__armed(&t20) || timers__armed(&t30));
}

static void test_timers_fire_on_their_second_never_early(void **state)
{
	struct timer_wheel *w = new_wheel();
	struct wheel_timer t30 = {0}, t10 = {0}, t20 = {0};

	(void)state;
	timers__schedule(w, &t30, on_fire, S(30));
	timers__schedule(w, &t10, on_fire, S(10));
	timers__schedule(w, &t20, on_fire, S(20));
	run_after(w, 9);
	assert_int_equal(nfired, 0);
	run_after(w, 2); /* 11 s */
	assert_int_equal(nfired, 1);
	assert_ptr_equal(fired[0], &t10);
	run_after(w, 7); /* 18 s */
	assert_int_equal(nfired, 1);
	run_after(w, 3); /* 21 s */
	assert_int_equal(nfired, 2);
	assert_ptr_equal(fired[1], &t20);
	run_after(w, 10); /* 31 s */
	assert_int_equal(nfired, 3);
	assert_ptr_equal(fired[2], &t30);
}

static struct timer_wheel *rearm_wheel;
static int64_t rearm_delay;

static void on_fire_rearm(struct wheel_timer *t)
{
	on_fire(t);
	timers__schedule(rearm_wheel, t, on_fire_rearm, rearm_delay);
}

static void test_a_timer_that_rearms_itself_fires_again_later_not_twice_now(void **state)
{
	struct timer_wheel *w = new_wheel();
	struct wheel_timer t = {0};

	(void)state;
	rearm_wheel = w;
	/* at once (rounded up to a second), or even in the past: never within this run */
	rearm_delay = -S(5);
	timers__schedule(w, &t, on_fire_rearm, S(1));
	run_after(w, 2);
	assert_int_equal(nfired, 1);
	assert_true(timers__armed(&t));
	assert_true(t.due > w->done);
	timers__run(w); /* no time passed */
	assert_int_equal(nfired, 1);
	run_after(w, 2);
	assert_int_equal(nfired, 2);
	rearm_delay = 0;
	run_after(w, 2);
	assert_int_equal(nfired, 3);
	timers__cancel(&t);
}

static void test_a_cancelled_timer_does_not_fire(void **state)
{
	struct timer_wheel *w = new_wheel();
	struct wheel_timer a = {0}, b = {0};

	(void)state;
	timers__schedule(w, &a, on_fire, S(1));
	timers__schedule(w, &b, on_fire, S(1));
	timers__cancel(&b);
	assert_false(timers__armed(&b));
	timers__cancel(&b); /* twice: nothing */
	run_after(w, 2);
	assert_int_equal(nfired, 1);
	assert_ptr_equal(fired[0], &a);
}

static void test_a_timer_rearmed_later_does_not_fire_at_the_earlier_time(void **state)
{
	struct timer_wheel *w = new_wheel();
	struct wheel_timer t = {0};

	(void)state;
	timers__schedule(w, &t, on_fire, S(1));
	timers__schedule(w, &t, on_fire, S(20));
	run_after(w, 2);
	assert_int_equal(nfired, 0);
	assert_true(timers__armed(&t));
	run_after(w, 17); /* 19 s */
	assert_int_equal(nfired, 0);
	run_after(w, 2); /* 21 s */
	assert_int_equal(nfired, 1);
}

static void test_a_timer_rearmed_sooner_fires_at_the_sooner_time(void **state)
{
	struct timer_wheel *w = new_wheel();
	struct wheel_timer t = {0};

	(void)state;
	timers__schedule(w, &t, on_fire, S(60));
	timers__schedule(w, &t, on_fire, S(5));
	run_after(w, 6);
	assert_int_equal(nfired, 1);
	run_after(w, 60);
	assert_int_equal(nfired, 1);
}

static void test_a_timer_a_whole_wheel_ahead_waits_for_its_second(void **state)
{
	struct timer_wheel *w = new_wheel();
	struct wheel_timer near = {0}, far = {0};

	(void)state;
	timers__schedule(w, &near, on_fire, S(10));
	timers__schedule(w, &far, on_fire, S(10 + WHEEL_SLOTS));
	assert_int_equal(near.due % WHEEL_SLOTS, far.due % WHEEL_SLOTS); /* one slot */
	run_after(w, 11);
	assert_int_equal(nfired, 1);
	assert_ptr_equal(fired[0], &near);
	assert_true(timers__armed(&far));
	run_after(w, WHEEL_SLOTS - 2);
	assert_int_equal(nfired, 1);
	run_after(w, 2);
	assert_int_equal(nfired, 2);
	assert_ptr_equal(fired[1], &far);
}

static void test_a_loop_held_up_longer_than_the_wheel_fires_everything_once(void **state)
{
	struct timer_wheel *w = new_wheel();
	struct wheel_timer a = {0}, b = {0};

	(void)state;
	timers__schedule(w, &a, on_fire, S(3));
	timers__schedule(w, &b, on_fire, S(200));
	run_after(w, 3 * WHEEL_SLOTS);
	assert_int_equal(nfired, 2);
	assert_ptr_equal(fired[0], &a);
	assert_ptr_equal(fired[1], &b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_due_order),
		cmocka_unit_test(test_timers_fire_on_their_second_never_early),
		cmocka_unit_test(test_a_timer_that_rearms_itself_fires_again_later_not_twice_now),
		cmocka_unit_test(test_a_cancelled_timer_does_not_fire),
		cmocka_unit_test(test_a_timer_rearmed_later_does_not_fire_at_the_earlier_time),
		cmocka_unit_test(test_a_timer_rearmed_sooner_fires_at_the_sooner_time),
		cmocka_unit_test(test_a_timer_a_whole_wheel_ahead_waits_for_its_second),
		cmocka_unit_test(test_a_loop_held_up_longer_than_the_wheel_fires_everything_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
