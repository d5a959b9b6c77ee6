/*
 * test_core_subs.c - unit tests for the subscription registry and the
 * fan-out (core/subs.c, with core/session.c's batch), against the stub
 * transport and broker of core_stubs.c.
 *
 * Covered: one copy per session of a message fanned out to 1,000 sessions,
 * one write per session per batch, one copy per message however many of a
 * session's filters match (the generation mark), one broker subscription per
 * distinct filter with its reference count, nothing asked of a broker that is
 * down, re-subscription on a new connection, the choice of the copy to use
 * among overlapping broker subscriptions (subscription identifiers), and what
 * the history forgets when the adapter stops following a topic. It links
 * without libwebsockets: that is part of the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core_stubs.h"

/* ==== Helpers ================================================================================= */

static struct csub *sub(struct core_fixture *f, struct stub_sess *ss, const char *filter)
{
	struct csub *cs = subs__add(&f->core, &ss->s, filter, NULL, POLICY_QUEUE);

	assert_non_null(cs);
	return cs;
}

static void unsub(struct core_fixture *f, struct stub_sess *ss, const char *filter)
{
	struct csub *cs = subs__find(&ss->s, filter, NULL);

	assert_non_null(cs);
	subs__remove(&f->core, cs);
}

static bool accept(struct core_fixture *f, const char *topic, uint32_t id1, uint32_t id2)
{
	uint32_t ids[2] = {id1, id2};

	return subs__accept_copy(&f->core, topic, ids, id2 ? 2 : 1);
}

/* ==== Fan-out and batches ===================================================================== */

#define MANY 1000

static void test_fanout_gives_each_of_1000_sessions_one_copy(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *ss[MANY];
	struct out_msg *m;
	unsigned refs;
	bool dup;
	int i;

	for (i = 0; i < MANY; i++) {
		ss[i] = stub_sess_new(f);
		sub(f, ss[i], "market/AAPL");
	}
	assert_int_equal(stub_broker_subscribes("market/AAPL"), 1);
	assert_int_equal(subs__broker_count(&f->core), 1);

	m = history__append(&f->hist, "market/AAPL", "{\"p\":1}", 7, false, &dup);
	assert_non_null(m);
	refs = m->refs;
	subs__fanout(&f->core, m);
	/* one encoding, shared by reference: one reference per session */
	assert_int_equal(m->refs, refs + MANY);
	for (i = 0; i < MANY; i++) {
		assert_int_equal(ss[i]->s.q_live, 1);
		assert_int_equal(stub_drain(ss[i]), 1);
		stub_assert_got(ss[i], 0, "market/AAPL", 1);
	}
	assert_int_equal(m->refs, refs);
}

static void test_batch_writes_each_session_once_at_its_end(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *ss[MANY];
	int i;

	for (i = 0; i < MANY; i++) {
		ss[i] = stub_sess_new(f);
		sub(f, ss[i], "market/+");
	}
	session__batch_begin(&f->core);
	stub_publish(f, "market/AAPL", "{\"p\":1}");
	stub_publish(f, "market/MSFT", "{\"p\":2}");
	stub_publish(f, "market/AAPL", "{\"p\":3}");
	for (i = 0; i < MANY; i++) {
		/* inside the batch a session is only noted */
		assert_int_equal(ss[i]->flushes, 0);
		assert_int_equal(ss[i]->writeables, 0);
	}
	session__batch_end(&f->core);
	for (i = 0; i < MANY; i++) {
		assert_int_equal(ss[i]->flushes, 1);
		assert_int_equal(ss[i]->writeables, 0); /* everything went in that one write */
		assert_int_equal(ss[i]->nout, 3);
		stub_assert_got(ss[i], 0, "market/AAPL", 1);
		stub_assert_got(ss[i], 1, "market/MSFT", 1);
		stub_assert_got(ss[i], 2, "market/AAPL", 2);
	}
	assert_true(list_head(&f->core.kicked) == NULL);
}

static void test_outside_a_batch_each_message_asks_for_a_writeable_callback(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f);

	sub(f, a, "t/1");
	stub_publish(f, "t/1", "{\"p\":1}");
	stub_publish(f, "t/1", "{\"p\":2}");
	assert_int_equal(a->flushes, 0);
	assert_int_equal(a->writeables, 2);
	assert_int_equal(stub_drain(a), 2);
}

static void test_socket_full_at_batch_end_asks_for_a_writeable_callback(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f);

	sub(f, a, "t/1");
	a->full = true;
	session__batch_begin(&f->core);
	stub_publish(f, "t/1", "{\"p\":1}");
	session__batch_end(&f->core);
	assert_int_equal(a->flushes, 0);
	assert_int_equal(a->writeables, 1);
	assert_int_equal(a->s.q_live, 1);
}

static void test_failed_flush_fails_the_session(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f);

	sub(f, a, "t/1");
	a->flush_fails = true;
	session__batch_begin(&f->core);
	stub_publish(f, "t/1", "{\"p\":1}");
	session__batch_end(&f->core);
	assert_int_equal(a->fails, 1);
	assert_true(a->s.closing);
	assert_int_equal(a->s.close_code, RTG_CLOSE_INTERNAL);
	/* and it is sent nothing more */
	stub_publish(f, "t/1", "{\"p\":2}");
	assert_int_equal(a->s.q_live, 1);
}

/* ==== Overlapping filters ===================================================================== */

static void test_overlapping_filters_deliver_one_copy_per_message(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f), *b = stub_sess_new(f), *c = stub_sess_new(f);

	sub(f, a, "market/AAPL");
	sub(f, a, "market/+");
	sub(f, a, "market/#");
	sub(f, b, "market/MSFT");
	sub(f, c, "news/#");
	stub_publish(f, "market/AAPL", "{\"p\":1}");
	stub_publish(f, "market/MSFT", "{\"p\":2}");
	stub_publish(f, "news/x", "{\"p\":3}");
	/* one enqueue (one kick) per message, not per matching filter */
	assert_int_equal(a->writeables, 2);
	assert_int_equal(stub_drain(a), 2);
	stub_assert_got(a, 0, "market/AAPL", 1);
	stub_assert_got(a, 1, "market/MSFT", 1);
	assert_int_equal(stub_drain(b), 1);
	stub_assert_got(b, 0, "market/MSFT", 1);
	assert_int_equal(stub_drain(c), 1);
	stub_assert_got(c, 0, "news/x", 1);
}

static void test_same_filter_twice_under_two_labels_gives_one_copy(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f);

	assert_non_null(subs__add(&f->core, &a->s, "q/1", "one", POLICY_QUEUE));
	assert_non_null(subs__add(&f->core, &a->s, "q/1", "two", POLICY_QUEUE));
	assert_int_equal(stub_broker_subscribes("q/1"), 1);
	stub_publish(f, "q/1", "{}");
	assert_int_equal(stub_drain(a), 1);
	subs__remove(&f->core, subs__find(&a->s, "q/1", "one"));
	assert_int_equal(stub_broker_unsubscribes("q/1"), 0);
	assert_non_null(subs__find(&a->s, "q/1", "two"));
}

static void test_unsubscribing_one_filter_keeps_delivery_through_the_others(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f);

	sub(f, a, "market/AAPL");
	sub(f, a, "market/+");
	sub(f, a, "market/#");
	unsub(f, a, "market/AAPL");
	stub_publish(f, "market/AAPL", "{\"p\":1}");
	unsub(f, a, "market/#");
	stub_publish(f, "market/AAPL", "{\"p\":2}");
	assert_int_equal(stub_drain(a), 2);
	stub_assert_got(a, 0, "market/AAPL", 1);
	stub_assert_got(a, 1, "market/AAPL", 2);
	unsub(f, a, "market/+");
	stub_publish(f, "market/AAPL", "{\"p\":3}");
	assert_int_equal(stub_drain(a), 0);
	assert_int_equal(stub_broker_unsubscribes("market/AAPL"), 1);
	assert_int_equal(stub_broker_unsubscribes("market/+"), 1);
	assert_int_equal(stub_broker_unsubscribes("market/#"), 1);
}

static void test_subscription_types_and_owner_filter_what_passes(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f), *b = stub_sess_new(f);
	char **types = calloc(1, sizeof(*types));
	struct csub *cs;

	assert_non_null(types);
	types[0] = strdup("alert");
	assert_non_null(types[0]);
	subs__set_types(sub(f, a, "note/+"), types, 1);
	cs = sub(f, b, "calc/+/progress");
	assert_int_equal(subs__set_owner(cs, "alice~", 1), 0);
	stub_publish(f, "note/x", "{\"notification_type\":\"info\"}");
	stub_publish(f, "note/x", "{\"notification_type\":\"alert\"}");
	stub_publish(f, "note/x", "{\"p\":1}");
	stub_publish(f, "calc/bob~1/progress", "{\"p\":1}");
	stub_publish(f, "calc/alice~7/progress", "{\"p\":2}");
	assert_int_equal(stub_drain(a), 1);
	stub_assert_got(a, 0, "note/x", 2);
	assert_int_equal(stub_drain(b), 1);
	stub_assert_got(b, 0, "calc/alice~7/progress", 1);
}

static unsigned delivered;

static void count_delivered(struct csub *cs, const struct out_msg *m)
{
	(void)cs;
	(void)m;
	delivered++;
}

static void test_on_delivered_is_told_once_per_message_queued(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f);

	delivered = 0;
	sub(f, a, "c/+")->on_delivered = count_delivered;
	sub(f, a, "c/#")->on_delivered = count_delivered;
	stub_publish(f, "c/1", "{}");
	stub_publish(f, "c/2", "{}");
	assert_int_equal(delivered, 2);
}

/* ==== The broker's subscriptions ============================================================== */

static void test_broker_sees_one_subscribe_per_distinct_filter(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f), *b = stub_sess_new(f);

	sub(f, a, "x/1");
	sub(f, b, "x/1");
	sub(f, b, "x/+");
	sub(f, a, "x/+");
	assert_int_equal(stub_broker.nsubscribed, 2);
	assert_int_equal(stub_broker_subscribes("x/1"), 1);
	assert_int_equal(stub_broker_subscribes("x/+"), 1);
	assert_int_equal(subs__broker_count(&f->core), 2);
}

static void test_broker_unsubscribe_only_when_the_last_client_goes(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f), *b = stub_sess_new(f);

	sub(f, a, "x/1");
	sub(f, b, "x/1");
	unsub(f, a, "x/1");
	assert_int_equal(stub_broker.nunsubscribed, 0);
	stub_publish(f, "x/1", "{}");
	assert_int_equal(stub_drain(a), 0);
	assert_int_equal(stub_drain(b), 1);
	/* the session going (session__cleanup) releases its subscriptions the same way */
	session__cleanup(&b->s);
	assert_int_equal(stub_broker_unsubscribes("x/1"), 1);
	assert_int_equal(subs__broker_count(&f->core), 0);
	/* until the UNSUBACK it is dying, still known to the de-duplication */
	assert_int_equal(f->core.subs.ndying, 1);
	subs__on_unsuback(&f->core, stub_broker_unsub_mid("x/1"));
	assert_int_equal(f->core.subs.ndying, 0);
	assert_true(list_head(&f->core.subs.all) == NULL);
	/* a new client subscribes afresh */
	sub(f, a, "x/1");
	assert_int_equal(stub_broker_subscribes("x/1"), 2);
}

static void test_no_broker_request_while_it_is_down(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f);

	sub(f, a, "up/1");
	subs__on_broker_disconnect(&f->core);
	stub_broker.up = false;
	sub(f, a, "down/1");
	unsub(f, a, "up/1");
	unsub(f, a, "down/1");
	assert_int_equal(stub_broker.nsubscribed, 1); /* up/1, while it was up */
	assert_int_equal(stub_broker.nunsubscribed, 0);
	assert_int_equal(stub_broker.calls_down, 0); /* not even asked */
	assert_int_equal(subs__broker_count(&f->core), 0);
	assert_int_equal(f->core.subs.ndying, 0);
}

static void test_broker_connect_resubscribes_every_needed_filter(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f), *b = stub_sess_new(f);

	sub(f, a, "r/1");
	sub(f, a, "r/+");
	sub(f, b, "r/2");
	sub(f, b, "r/1");
	unsub(f, b, "r/2"); /* dying: UNSUBSCRIBE sent, no UNSUBACK before the loss */
	subs__on_broker_disconnect(&f->core);
	stub_broker.up = false;
	sub(f, b, "r/3"); /* asked while down: sent on the next connection */
	stub_broker_forget();
	stub_broker.up = true;
	subs__on_broker_connect(&f->core);
	assert_int_equal(stub_broker.nsubscribed, 3);
	assert_string_equal(stub_broker.subscribed[0], "r/1");
	assert_string_equal(stub_broker.subscribed[1], "r/+");
	assert_string_equal(stub_broker.subscribed[2], "r/3");
	assert_int_equal(f->core.subs.ndying, 0);
	assert_int_equal(subs__broker_count(&f->core), 3);
	/* each is pending until its SUBACK */
	assert_int_equal(subs__find(&a->s, "r/1", NULL)->bsub->state, BSUB_PENDING);
	subs__on_suback(&f->core, stub_broker_sub_mid("r/1"));
	assert_int_equal(subs__find(&a->s, "r/1", NULL)->bsub->state, BSUB_LIVE);
}

/* ==== Which copy of a message to use ========================================================== */

static void test_accept_copy_takes_the_lowest_acknowledged_subscription(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f);
	uint32_t hash = sub(f, a, "m/#")->bsub->id;
	uint32_t plus = sub(f, a, "m/+")->bsub->id;
	uint32_t exact = sub(f, a, "m/x")->bsub->id;

	assert_true(hash < plus && plus < exact);
	assert_true(subs__accept_copy(&f->core, "m/x", NULL, 0)); /* no identifier: the only copy */
	/* nothing acknowledged yet: whatever comes is the only copy */
	assert_true(accept(f, "m/x", exact, 0));
	subs__on_suback(&f->core, stub_broker_sub_mid("m/+"));
	assert_true(accept(f, "m/x", plus, 0));
	assert_false(accept(f, "m/x", hash, 0)); /* still pending: it did not route this one */
	assert_false(accept(f, "m/x", exact, 0));
	assert_true(accept(f, "m/x", hash, plus));
	subs__on_suback(&f->core, stub_broker_sub_mid("m/x"));
	subs__on_suback(&f->core, stub_broker_sub_mid("m/#"));
	assert_true(accept(f, "m/x", hash, 0));
	assert_false(accept(f, "m/x", plus, 0));
	assert_false(accept(f, "m/x", plus, exact));
	assert_true(accept(f, "m/x", exact, hash));
	/* a topic only some of them match */
	assert_true(accept(f, "m/y", hash, 0));
	assert_false(accept(f, "m/y", plus, 0));
	assert_true(accept(f, "m/y/z", hash, 0));
	assert_true(accept(f, "other", 99, 0)); /* none matches: nothing to prefer */
}

static void test_accept_copy_counts_a_dying_subscription_until_its_unsuback(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f);
	uint32_t hash = sub(f, a, "m/#")->bsub->id;
	uint32_t plus = sub(f, a, "m/+")->bsub->id;
	uint32_t exact = sub(f, a, "m/x")->bsub->id;

	subs__on_suback(&f->core, stub_broker_sub_mid("m/#"));
	subs__on_suback(&f->core, stub_broker_sub_mid("m/+"));
	subs__on_suback(&f->core, stub_broker_sub_mid("m/x"));
	unsub(f, a, "m/#");
	assert_int_equal(f->core.subs.ndying, 1);
	/* the broker may still route through it: its copy is still the one */
	assert_true(accept(f, "m/x", hash, 0));
	assert_false(accept(f, "m/x", plus, 0));
	subs__on_unsuback(&f->core, stub_broker_unsub_mid("m/#"));
	assert_int_equal(f->core.subs.ndying, 0);
	assert_true(accept(f, "m/x", plus, 0));
	assert_false(accept(f, "m/x", exact, 0));
	assert_false(accept(f, "m/x", hash, 0));
}

static void test_accept_copy_skips_an_earlier_subscription_still_pending(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f);
	uint32_t exact = sub(f, a, "n/x")->bsub->id; /* the earliest, never acknowledged */
	uint32_t plus = sub(f, a, "n/+")->bsub->id;
	uint32_t hash = sub(f, a, "n/#")->bsub->id;

	subs__on_suback(&f->core, stub_broker_sub_mid("n/+"));
	subs__on_suback(&f->core, stub_broker_sub_mid("n/#"));
	assert_true(accept(f, "n/x", plus, 0));
	assert_false(accept(f, "n/x", exact, 0));
	/* the same while a subscription is dying (the walk over every subscription) */
	unsub(f, a, "n/#");
	assert_int_equal(f->core.subs.ndying, 1);
	assert_true(accept(f, "n/x", plus, 0));
	assert_false(accept(f, "n/x", exact, 0));
	assert_false(accept(f, "n/x", hash, 0));
}

/* ==== The history of what the adapter follows ================================================= */

static void test_collect_since_gives_what_the_session_was_sent_after(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f);
	struct out_msg *out[101];
	const struct topic_hist *th;
	unsigned i, n;

	sub(f, a, "h/t");
	for (i = 0; i < 5; i++)
		stub_publish(f, "h/t", "{\"p\":1}");
	assert_int_equal(stub_drain(a), 5);
	th = history__find(&f->hist, "h/t");
	assert_non_null(th);
	assert_true(history__can_resume(th, th->epoch, 2));
	n = history__collect(th, 2, out);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++)
		assert_string_equal(MSG_TEXT(out[i]), a->out[2 + i]);
	assert_true(stub_json_str_is(a->out[0], "epoch", th->epoch));
	assert_false(history__can_resume(th, "not-an-epoch", 2));
	assert_false(history__can_resume(th, th->epoch, 6)); /* never given */
}

static void test_broker_loss_starts_every_topic_under_a_new_epoch(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f);
	const struct topic_hist *th;
	char epoch[32];

	sub(f, a, "h/t");
	stub_publish(f, "h/t", "{\"p\":1}");
	stub_publish(f, "h/t", "{\"p\":2}");
	th = history__find(&f->hist, "h/t");
	strcpy(epoch, th->epoch);
	subs__on_broker_disconnect(&f->core);
	assert_false(history__can_resume(th, epoch, 2));
	subs__on_broker_connect(&f->core);
	stub_publish(f, "h/t", "{\"p\":3}");
	th = history__find(&f->hist, "h/t");
	assert_string_not_equal(th->epoch, epoch);
	assert_int_equal(stub_drain(a), 3);
	stub_assert_got(a, 2, "h/t", 1);
	assert_true(stub_json_str_is(a->out[2], "epoch", th->epoch));
}

static void test_last_unsubscribe_of_a_topic_makes_it_unresumable(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a = stub_sess_new(f), *b = stub_sess_new(f);
	const struct topic_hist *th;

	sub(f, a, "u/a");
	sub(f, b, "u/+");
	stub_publish(f, "u/a", "{}");
	stub_publish(f, "u/a", "{}");
	th = history__find(&f->hist, "u/a");
	unsub(f, a, "u/a");
	assert_true(history__can_resume(th, th->epoch, 1)); /* u/+ still follows it */
	unsub(f, b, "u/+");
	assert_false(history__can_resume(th, th->epoch, 1));
	assert_false(history__can_resume(th, th->epoch, 2));
}

static void test_a_small_history_cannot_resume_from_too_old_a_seq(void **state)
{
	struct core_fixture *f = *state;
	struct stub_sess *a;
	const struct topic_hist *th;
	int i;

	history__cleanup(&f->hist);
	assert_int_equal(history__init(&f->hist, 3, 10), 0);
	a = stub_sess_new(f);
	sub(f, a, "s/t");
	for (i = 0; i < 5; i++)
		stub_publish(f, "s/t", "{}");
	th = history__find(&f->hist, "s/t");
	assert_false(history__can_resume(th, th->epoch, 1)); /* seq 2 is gone */
	assert_true(history__can_resume(th, th->epoch, 2));
	assert_int_equal(stub_drain(a), 5); /* the session's queue is not the history's ring */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, core_fixture_setup, core_fixture_teardown)
		T(test_fanout_gives_each_of_1000_sessions_one_copy),
		T(test_batch_writes_each_session_once_at_its_end),
		T(test_outside_a_batch_each_message_asks_for_a_writeable_callback),
		T(test_socket_full_at_batch_end_asks_for_a_writeable_callback),
		T(test_failed_flush_fails_the_session),
		T(test_overlapping_filters_deliver_one_copy_per_message),
		T(test_same_filter_twice_under_two_labels_gives_one_copy),
		T(test_unsubscribing_one_filter_keeps_delivery_through_the_others),
		T(test_subscription_types_and_owner_filter_what_passes),
		T(test_on_delivered_is_told_once_per_message_queued),
		T(test_broker_sees_one_subscribe_per_distinct_filter),
		T(test_broker_unsubscribe_only_when_the_last_client_goes),
		T(test_no_broker_request_while_it_is_down),
		T(test_broker_connect_resubscribes_every_needed_filter),
		T(test_accept_copy_takes_the_lowest_acknowledged_subscription),
		T(test_accept_copy_counts_a_dying_subscription_until_its_unsuback),
		T(test_accept_copy_skips_an_earlier_subscription_still_pending),
		T(test_collect_since_gives_what_the_session_was_sent_after),
		T(test_broker_loss_starts_every_topic_under_a_new_epoch),
		T(test_last_unsubscribe_of_a_topic_makes_it_unresumable),
		T(test_a_small_history_cannot_resume_from_too_old_a_seq),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
