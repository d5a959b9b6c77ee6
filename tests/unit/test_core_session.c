/*
 * test_core_session.c - unit tests for a session's send queue (core/session.c)
 * and the gap notices of what it dropped (core/gap.c), against the stub
 * transport of core_stubs.c.
 *
 * Covered: the bounds in messages and in bytes, which message goes when the
 * queue is full (the oldest data message, never a reply), the gap notice
 * written before anything else with the run it stands for, the closes with
 * 1013 (a queue of replies only, policy disconnect, full for longer than
 * slow_consumer_timeout) and conflation (policies conflate and auto, only
 * for a client that lags). The client's socket is "full" (can_flush false)
 * or simply never drained while messages are queued.
 *
 * The core's clock is CLOCK_MONOTONIC and cannot be faked. Where a rule
 * depends on time, a test moves back the core's own record of when the
 * state began instead (s->busy_since: the queue has not been empty since;
 * s->full_since: it has been full since): moving it back by D is exactly what
 * D seconds of a client that does not read would leave, without the wait.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_stubs.h"

/* session.c's conflation thresholds (not exported): 16 queued, 100 ms busy. */
#define CONFLATE_BACKLOG 16
#define CONFLATE_LAG_US 100000

/* ==== Helpers ================================================================================= */

static struct stub_sess *sess_on(struct core_fixture *f, const char *filter, enum sub_policy p)
{
	struct stub_sess *ss = stub_sess_new(f);

	assert_non_null(subs__add(&f->core, &ss->s, filter, NULL, p));
	return ss;
}

static void publish_n(struct core_fixture *f, const char *topic, int n)
{
	while (n-- > 0)
		stub_publish(f, topic, "{\"v\":\"xxxxxxxx\"}");
}

/* A reply of our own (no topic): {"type":"reply","n":n}. Returns session__send_json()'s. */
static int reply(struct stub_sess *ss, int n)
{
	cJSON *obj = cJSON_CreateObject();

	assert_non_null(obj);
	assert_non_null(cJSON_AddStringToObject(obj, "type", "reply"));
	assert_non_null(cJSON_AddNumberToObject(obj, "n", n));
	return session__send_json(&ss->s, obj);
}

static void assert_gap(const struct stub_sess *ss, size_t i, const char *topic, unsigned from,
	unsigned to, bool fillable)
{
	const char *t;

	if (i >= ss->nout)
		fail_msg("only %zu messages written, wanted the gap #%zu", ss->nout, i);
	t = ss->out[i];
	if (!stub_json_str_is(t, "type", "gap") || !stub_json_str_is(t, "topic", topic) ||
		stub_json_num(t, "from") != from || stub_json_num(t, "to") != to ||
		stub_json_num(t, "count") != to - from + 1 ||
		!stub_json_str_is(t, "epoch", history__find(ss->s.core->hist, topic)->epoch))
		fail_msg("message #%zu is %s, expected a gap %s %u..%u", i, t, topic, from, to);
	if (strstr(t, fillable ? "\"fillable\":true" : "\"fillable\":false") == NULL)
		fail_msg("gap #%zu should be %sfillable: %s", i, fillable ? "" : "not ", t);
}

static void assert_reply(const struct stub_sess *ss, size_t i, int n)
{
	if (i >= ss->nout || !stub_json_str_is(ss->out[i], "type", "reply") ||
		stub_json_num(ss->out[i], "n") != n)
		fail_msg("message #%zu is not reply %d: %s", i, n, i < ss->nout ? ss->out[i] : "-");
}

/* The client has not let its queue empty for 200 ms (see the file's header). */
static void lagging(struct stub_sess *ss)
{
	assert_true(ss->s.busy_since != 0);
	ss->s.busy_since = core__now_us() - 2 * CONFLATE_LAG_US;
}

/* ==== Bounds and drops ======================================================================== */

static void test_overflow_drops_the_oldest_and_notes_a_gap(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "q/a", POLICY_QUEUE);
	struct out_msg *m;
	int i;

	f->cfg.queue_max_messages = 8;
	a->full = true;
	session__batch_begin(&f->core);
	publish_n(f, "q/a", 8 + 3);
	session__batch_end(&f->core);
	assert_int_equal(a->flushes, 0);
	assert_int_equal(a->writeables, 1);
	assert_int_equal(f->stats.dropped, 3);
	assert_int_equal(a->s.q_live, 8);
	assert_int_equal(a->closes, 0);
	m = session__peek(&a->s);
	assert_non_null(m);
	assert_null(m->topic); /* the notice, before anything queued */
	assert_int_equal(stub_drain(a), 1 + 8);
	assert_gap(a, 0, "q/a", 1, 3, true);
	for (i = 0; i < 8; i++)
		stub_assert_got(a, 1 + (size_t)i, "q/a", 4 + (unsigned)i);
	assert_int_equal(f->stats.gaps, 1);
	assert_false(session__has_output(&a->s));
}

static void test_each_topic_gets_its_own_gap(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "q/+", POLICY_QUEUE);
	int i;

	f->cfg.queue_max_messages = 4;
	for (i = 0; i < 3; i++) {
		publish_n(f, "q/a", 1);
		publish_n(f, "q/b", 1);
	}
	assert_int_equal(f->stats.dropped, 2);
	assert_int_equal(stub_drain(a), 2 + 4);
	assert_gap(a, 0, "q/a", 1, 1, true);
	assert_gap(a, 1, "q/b", 1, 1, true);
	stub_assert_got(a, 2, "q/a", 2);
	stub_assert_got(a, 3, "q/b", 2);
	stub_assert_got(a, 4, "q/a", 3);
	stub_assert_got(a, 5, "q/b", 3);
}

static void test_gap_is_not_fillable_when_the_history_lost_it(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a;

	history__cleanup(&f->hist);
	assert_int_equal(history__init(&f->hist, 3, 10), 0);
	a = sess_on(f, "q/a", POLICY_QUEUE);
	f->cfg.queue_max_messages = 4;
	publish_n(f, "q/a", 10);
	assert_int_equal(f->stats.dropped, 6);
	assert_int_equal(stub_drain(a), 1 + 4);
	assert_gap(a, 0, "q/a", 1, 6, false);
	stub_assert_got(a, 1, "q/a", 7);
}

/*
 * Messages of a topic's old epoch still queued when the topic restarts (the
 * broker connection dropped) and then dropped: the notice must name the
 * epoch they belong to, not the topic's new one, whose seq 1.. will be
 * written after it.
 */
static void test_a_gap_names_the_epoch_of_the_messages_dropped(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "q/a", POLICY_QUEUE);
	char old[32];

	f->cfg.queue_max_messages = 4;
	publish_n(f, "q/a", 2);
	snprintf(old, sizeof(old), "%s", history__find(&f->hist, "q/a")->epoch);
	subs__on_broker_disconnect(&f->core);
	subs__on_broker_connect(&f->core);
	publish_n(f, "q/a", 3); /* new epoch, seq 1..3: the old seq 1 goes */
	assert_string_not_equal(history__find(&f->hist, "q/a")->epoch, old);
	assert_int_equal(f->stats.dropped, 1);
	assert_int_equal(stub_drain(a), 1 + 4);
	if (!stub_json_str_is(a->out[0], "epoch", old) || !strstr(a->out[0], "\"fillable\":false"))
		fail_msg("the gap should be of epoch %s (not fillable): %s", old, a->out[0]);
	assert_true(stub_json_str_is(a->out[1], "epoch", old));
	stub_assert_got(a, 1, "q/a", 2);
	stub_assert_got(a, 2, "q/a", 1);
	stub_assert_got(a, 4, "q/a", 3);
}

/*
 * The transport peeked the notice of a run (its write was cut short: the
 * chunk was full, or the socket) and more of the same topic was dropped
 * before it was popped: the notice already made cannot grow, so the new
 * drops must be told by a notice of their own.
 */
static void test_drops_after_a_notice_was_peeked_get_their_own_notice(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "q/a", POLICY_QUEUE);
	struct out_msg *m;

	f->cfg.queue_max_messages = 4;
	publish_n(f, "q/a", 6); /* seq 1, 2 go */
	m = session__peek(&a->s);
	assert_non_null(m);
	assert_null(m->topic);
	publish_n(f, "q/a", 1); /* seq 3 goes */
	assert_int_equal(f->stats.dropped, 3);
	assert_int_equal(stub_drain(a), 2 + 4);
	assert_gap(a, 0, "q/a", 1, 2, true);
	assert_gap(a, 1, "q/a", 3, 3, true);
	stub_assert_got(a, 2, "q/a", 4);
	stub_assert_got(a, 5, "q/a", 7);
}

static void test_replies_are_never_dropped(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "q/a", POLICY_QUEUE);
	int i;

	f->cfg.queue_max_messages = 8;
	for (i = 0; i < 4; i++)
		assert_int_equal(reply(a, i), 0);
	publish_n(f, "q/a", 6);
	assert_int_equal(f->stats.dropped, 2);
	assert_int_equal(a->closes, 0);
	assert_int_equal(stub_drain(a), 1 + 8);
	assert_gap(a, 0, "q/a", 1, 2, true);
	for (i = 0; i < 4; i++)
		assert_reply(a, 1 + (size_t)i, i);
	for (i = 0; i < 4; i++)
		stub_assert_got(a, 5 + (size_t)i, "q/a", 3 + (unsigned)i);
}

static void test_a_queue_of_replies_only_closes_try_later(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f);
	int i;

	f->cfg.queue_max_messages = 4;
	for (i = 0; i < 4; i++)
		assert_int_equal(reply(a, i), 0);
	assert_int_equal(reply(a, 4), -1);
	assert_int_equal(a->closes, 1);
	assert_int_equal(a->close_grace, 5);
	assert_true(a->s.closing);
	assert_int_equal(a->s.close_code, RTG_CLOSE_TRY_LATER);
	assert_int_equal(f->stats.dropped, 0);
	assert_int_equal(f->stats.slow_closed, 1);
	/* what cannot be sent is let go at once */
	assert_false(session__has_output(&a->s));
	assert_int_equal(reply(a, 5), -1);
	assert_int_equal(a->closes, 1);
}

static void test_policy_disconnect_closes_on_overflow(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "q/a", POLICY_DISCONNECT);

	f->cfg.queue_max_messages = 4;
	publish_n(f, "q/a", 4);
	assert_int_equal(a->closes, 0);
	publish_n(f, "q/a", 1);
	assert_int_equal(a->closes, 1);
	assert_int_equal(a->s.close_code, RTG_CLOSE_TRY_LATER);
	assert_int_equal(f->stats.slow_closed, 1);
	assert_int_equal(f->stats.dropped, 0);
	assert_false(session__has_output(&a->s));
}

static void test_a_queue_full_for_too_long_closes_try_later(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "q/a", POLICY_QUEUE);

	f->cfg.queue_max_messages = 4;
	publish_n(f, "q/a", 5);
	assert_int_equal(f->stats.dropped, 1);
	assert_int_equal(a->closes, 0);
	assert_true(a->s.full_since != 0);
	/* full for slow_consumer_timeout - 1 s: still a client that may catch up */
	a->s.full_since = core__now_us() - (int64_t)(f->cfg.slow_consumer_timeout - 1) * US_PER_SEC;
	publish_n(f, "q/a", 1);
	assert_int_equal(a->closes, 0);
	assert_int_equal(f->stats.dropped, 2);
	/* and past it: closed */
	a->s.full_since = core__now_us() - (int64_t)(f->cfg.slow_consumer_timeout + 1) * US_PER_SEC;
	publish_n(f, "q/a", 1);
	assert_int_equal(a->closes, 1);
	assert_int_equal(a->s.close_code, RTG_CLOSE_TRY_LATER);
	assert_int_equal(f->stats.slow_closed, 1);
}

static void test_catching_up_forgets_that_the_queue_was_full(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "q/a", POLICY_QUEUE);

	f->cfg.queue_max_messages = 4;
	publish_n(f, "q/a", 5);
	assert_true(a->s.full_since != 0);
	a->s.full_since = core__now_us() - (int64_t)(f->cfg.slow_consumer_timeout + 1) * US_PER_SEC;
	stub_drain(a);
	assert_int_equal(a->s.full_since, 0);
	assert_int_equal(a->s.busy_since, 0);
	publish_n(f, "q/a", 5);
	assert_int_equal(a->closes, 0);
}

static void test_queue_max_bytes_bounds_the_queue(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "q/a", POLICY_QUEUE);
	size_t len;

	publish_n(f, "q/a", 1);
	len = a->s.q_bytes;
	stub_drain(a);
	/* room for 3.5 messages of this length (seq 2..6 keep it: one digit) */
	f->cfg.queue_max_bytes = (int)(3 * len + len / 2);
	publish_n(f, "q/a", 5);
	assert_int_equal(a->s.q_live, 3);
	assert_int_equal(a->s.q_bytes, 3 * len);
	assert_int_equal(f->stats.dropped, 2);
	assert_int_equal(stub_drain(a), 1 + 3);
	assert_gap(a, 1, "q/a", 2, 3, true);
	stub_assert_got(a, 2, "q/a", 4);
}

/* ==== Conflation ============================================================================== */

static void test_conflation_waits_for_a_backlog_of_16(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "c/x", POLICY_CONFLATE);

	publish_n(f, "c/x", CONFLATE_BACKLOG - 1);
	lagging(a);
	publish_n(f, "c/x", 1); /* 15 queued before it: a burst, not a lag */
	assert_int_equal(f->stats.conflated, 0);
	assert_int_equal(a->s.q_live, CONFLATE_BACKLOG);
	publish_n(f, "c/x", 1);
	assert_int_equal(f->stats.conflated, 1);
	assert_int_equal(a->s.q_live, CONFLATE_BACKLOG);
}

static void test_conflation_waits_for_100_ms_of_lag(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "c/x", POLICY_CONFLATE);

	publish_n(f, "c/x", CONFLATE_BACKLOG + 4);
	assert_int_equal(f->stats.conflated, 0); /* busy only since this test began */
	lagging(a);
	publish_n(f, "c/x", 1);
	assert_int_equal(f->stats.conflated, 1);
}

static void test_conflation_replaces_the_same_topic_and_keeps_the_order(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "c/+", POLICY_CONFLATE);
	unsigned i;

	for (i = 0; i < 8; i++) { /* x1 y1 ... x8 y8 */
		publish_n(f, "c/x", 1);
		publish_n(f, "c/y", 1);
	}
	publish_n(f, "c/x", 1); /* x9: not yet lagging */
	lagging(a);
	publish_n(f, "c/x", 1); /* x10 replaces x9 */
	publish_n(f, "c/y", 1); /* y9 replaces y8 */
	assert_int_equal(f->stats.conflated, 2);
	assert_int_equal(f->stats.dropped, 0);
	assert_int_equal(stub_drain(a), 17);
	for (i = 0; i < 7; i++) {
		stub_assert_got(a, 2 * i, "c/x", i + 1);
		stub_assert_got(a, 2 * i + 1, "c/y", i + 1);
	}
	stub_assert_got(a, 14, "c/x", 8);
	stub_assert_got(a, 15, "c/x", 10);
	stub_assert_got(a, 16, "c/y", 9);
}

static void test_policy_queue_never_conflates(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "c/x", POLICY_QUEUE);

	publish_n(f, "c/x", CONFLATE_BACKLOG + 4);
	lagging(a);
	publish_n(f, "c/x", 4);
	assert_int_equal(f->stats.conflated, 0);
	assert_int_equal(a->s.q_live, CONFLATE_BACKLOG + 8);
}

/* The profile's "topic ... value" stand-in: topics under bal/ hold a value. */
static void bal_holds_a_value(void *arg, const char *topic, const char **type, bool *value)
{
	(void)arg;
	*type = NULL;
	*value = !strncmp(topic, "bal/", 4);
}

static void test_policy_auto_conflates_values_and_retained_only(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = sess_on(f, "#", POLICY_AUTO);
	struct out_msg *m;
	bool dup;

	f->hist.topic_info = bal_holds_a_value;
	publish_n(f, "bal/a", 1);
	publish_n(f, "evt/a", CONFLATE_BACKLOG);
	m = history__append(&f->hist, "ret/a", "{\"r\":1}", 7, true, &dup);
	assert_non_null(m);
	subs__fanout(&f->core, m);
	lagging(a);
	publish_n(f, "evt/a", 1);
	assert_int_equal(f->stats.conflated, 0); /* an event is not a value */
	publish_n(f, "bal/a", 1);
	assert_int_equal(f->stats.conflated, 1);
	m = history__append(&f->hist, "ret/a", "{\"r\":2}", 7, true, &dup);
	assert_non_null(m);
	subs__fanout(&f->core, m);
	assert_int_equal(f->stats.conflated, 2);
	assert_int_equal(a->s.q_live, 1 + CONFLATE_BACKLOG + 1 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, core_fixture_setup, core_fixture_teardown)
		T(test_overflow_drops_the_oldest_and_notes_a_gap),
		T(test_each_topic_gets_its_own_gap),
		T(test_gap_is_not_fillable_when_the_history_lost_it),
		T(test_a_gap_names_the_epoch_of_the_messages_dropped),
		T(test_drops_after_a_notice_was_peeked_get_their_own_notice),
		T(test_replies_are_never_dropped),
		T(test_a_queue_of_replies_only_closes_try_later),
		T(test_policy_disconnect_closes_on_overflow),
		T(test_a_queue_full_for_too_long_closes_try_later),
		T(test_catching_up_forgets_that_the_queue_was_full),
		T(test_queue_max_bytes_bounds_the_queue),
		T(test_conflation_waits_for_a_backlog_of_16),
		T(test_conflation_waits_for_100_ms_of_lag),
		T(test_conflation_replaces_the_same_topic_and_keeps_the_order),
		T(test_policy_queue_never_conflates),
		T(test_policy_auto_conflates_values_and_retained_only),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
