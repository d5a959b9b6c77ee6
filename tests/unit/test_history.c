/*
 * test_history.c - unit tests for the adapter's per-topic history
 * (history.c): sequence numbers, epochs, bounds, retained values,
 * collection and resumability.
 *
 * Each history test gets its history from new_hist(), freed by the teardown
 * even when an assertion fails. The messages it holds (msg.c) are tested in
 * test_msg.c. Leaks and use-after-free are not asserted here: run the binary
 * under valgrind or build it with -fsanitize=address,undefined.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "history.h"
#include "msg.h"

/* ==== Helpers ================================================================================= */

/* A history of the given bounds, freed by free_hist() after the test. */
static struct history *new_hist(void **state, unsigned size, unsigned max_topics)
{
	struct history *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	*state = h;
	assert_int_equal(history__init(h, size, max_topics), 0);
	return h;
}

static int free_hist(void **state)
{
	if (*state)
		history__cleanup(*state);
	free(*state);
	return 0;
}

static struct out_msg *append(
	struct history *h, const char *topic, const char *payload, bool retained)
{
	bool dup = true;
	struct out_msg *m = history__append(h, topic, payload, strlen(payload), retained, &dup);

	assert_false(dup);
	assert_non_null(m);
	return m;
}

static struct topic_hist *append_n(struct history *h, const char *topic, int n)
{
	while (n-- > 0)
		append(h, topic, "x", false);
	return history__find(h, topic);
}

/* Collects th and checks the seqs of what comes out, oldest first. */
static void collect_helper(const struct history *h, const struct topic_hist *th, uint64_t since,
	const uint64_t *want, unsigned nwant)
{
	struct out_msg *out[16];
	unsigned i, n;

	assert_true(h->size + 1 <= 16);
	n = history__collect(th, since, out);
	if (n != nwant)
		fail_msg("collect since %llu gave %u messages, expected %u",
			(unsigned long long)since, n, nwant);
	for (i = 0; i < n; i++) {
		if (out[i]->seq != want[i])
			fail_msg("collect slot %u has seq %llu, expected %llu", i,
				(unsigned long long)out[i]->seq, (unsigned long long)want[i]);
	}
}

struct match_seen {
	char names[256];
	unsigned n;
};

static void note_match(struct topic_hist *th, void *arg)
{
	struct match_seen *seen = arg;

	strcat(seen->names, "|");
	strcat(seen->names, th->topic);
	seen->n++;
}

static void match_helper(struct history *h, const char *filter, unsigned n, const char *has)
{
	struct match_seen seen = {"", 0};

	history__foreach_match(h, filter, note_match, &seen);
	if (seen.n != n || (has && !strstr(seen.names, has)))
		fail_msg("'%s' matched %u topics (%s), expected %u with %s", filter, seen.n,
			seen.names, n, has ? has : "-");
}

/* ==== history: numbering and epochs =========================================================== */

static void test_history_init_rejects_bad_sizes(void **state)
{
	struct history h;

	(void)state;
	assert_int_equal(history__init(&h, 10, 0), -1);
	assert_int_equal(history__init(&h, HISTORY_SIZE_MAX + 1, 10), -1);
	assert_int_equal(history__init(&h, 0, 1), 0);
	history__cleanup(&h);
}

static void test_history_adapter_epoch_is_eight_hex_digits(void **state)
{
	struct history *h = new_hist(state, 4, 4);

	assert_int_equal(strlen(h->epoch), 8);
	assert_int_equal(strspn(h->epoch, "0123456789abcdef"), 8);
}

static void test_history_seq_is_contiguous_per_topic_from_one(void **state)
{
	struct history *h = new_hist(state, 4, 10);
	uint64_t i;

	for (i = 1; i <= 10; i++) {
		assert_int_equal(append(h, "a", "1", false)->seq, i);
		assert_int_equal(append(h, "b", "1", false)->seq, i);
	}
	assert_int_equal(history__find(h, "a")->last_seq, 10);
	assert_null(history__find(h, "c"));
}

static void test_history_gseq_is_global_across_topics(void **state)
{
	struct history *h = new_hist(state, 4, 10);

	assert_int_equal(append(h, "a", "1", false)->gseq, 1);
	assert_int_equal(append(h, "b", "1", false)->gseq, 2);
	assert_int_equal(append(h, "a", "1", false)->gseq, 3);
	assert_int_equal(h->gseq, 3);
	assert_int_equal(history__find(h, "a")->last_gseq, 3);
	assert_int_equal(history__find(h, "b")->last_gseq, 2);
}

static void test_history_epochs_differ_between_topics(void **state)
{
	struct history *h = new_hist(state, 4, 10);
	struct out_msg *m;

	append(h, "a", "1", false);
	m = append(h, "b", "1", false);
	assert_string_not_equal(history__find(h, "a")->epoch, history__find(h, "b")->epoch);
	assert_memory_equal(history__find(h, "a")->epoch, h->epoch, 8);
	assert_non_null(strstr(MSG_TEXT(m), history__find(h, "b")->epoch));
}

static void test_history_epochs_differ_between_two_inits(void **state)
{
	struct history *h1 = new_hist(state, 4, 10), h2;

	assert_int_equal(history__init(&h2, 4, 10), 0);
	assert_string_not_equal(h1->epoch, h2.epoch);
	append(h1, "a", "1", false);
	append(&h2, "a", "1", false);
	assert_string_not_equal(history__find(h1, "a")->epoch, history__find(&h2, "a")->epoch);
	history__cleanup(&h2);
}

/* ==== history: bounds ========================================================================= */

static void test_history_ring_drops_the_oldest_and_records_dropped_gseq(void **state)
{
	static const uint64_t want[] = {3, 4, 5};
	struct history *h = new_hist(state, 3, 10);
	struct topic_hist *th;

	append(h, "a", "1", false); /* gseq 1 */
	append(h, "b", "1", false); /* gseq 2 */
	th = append_n(h, "a", 2); /* gseq 3, 4 */
	assert_int_equal(th->dropped_gseq, 0);
	append_n(h, "a", 2); /* gseq 5, 6: drop seq 1 (gseq 1), then seq 2 (gseq 3) */
	assert_int_equal(th->count, 3);
	assert_int_equal(th->dropped_gseq, 3);
	collect_helper(h, th, 0, want, 3);
}

static void test_history_ring_grows_and_keeps_order_past_its_first_allocation(void **state)
{
	static const uint64_t want[] = {16, 17, 18, 19, 20, 21, 22, 23, 24, 25};
	struct history *h = new_hist(state, 10, 10);
	struct topic_hist *th = append_n(h, "a", 25);

	assert_int_equal(th->count, 10);
	assert_int_equal(th->cap, 10);
	assert_int_equal(th->dropped_gseq, 15);
	collect_helper(h, th, 0, want, 10);
}

static void test_history_max_topics_evicts_the_least_recently_updated(void **state)
{
	struct history *h = new_hist(state, 4, 3);

	append_n(h, "a", 1); /* gseq 1 */
	append_n(h, "b", 1); /* gseq 2 */
	append_n(h, "c", 1); /* gseq 3 */
	append_n(h, "a", 1); /* gseq 4: b is now the least recently updated */
	append_n(h, "d", 1); /* gseq 5: evicts b */
	assert_null(history__find(h, "b"));
	assert_non_null(history__find(h, "a"));
	assert_non_null(history__find(h, "c"));
	assert_int_equal(h->ntopics, 3);
	assert_int_equal(h->evicted_gseq, 2);
	assert_int_equal(h->evicted_topics, 1);
	append_n(h, "e", 1); /* evicts c (gseq 3) */
	assert_null(history__find(h, "c"));
	assert_int_equal(h->evicted_gseq, 3);
	assert_int_equal(h->evicted_topics, 2);
}

static void test_history_forgotten_topic_comes_back_with_a_new_epoch_from_seq_one(void **state)
{
	struct history *h = new_hist(state, 4, 1);
	char old_epoch[32];

	strcpy(old_epoch, append_n(h, "a", 2)->epoch);
	append_n(h, "b", 1); /* evicts a */
	assert_int_equal(append(h, "a", "3", false)->seq, 1);
	assert_string_not_equal(history__find(h, "a")->epoch, old_epoch);
}

static void test_history_size_zero_keeps_retained_values_only(void **state)
{
	struct history *h = new_hist(state, 0, 10);
	struct out_msg *out[1], *m = append(h, "a", "plain", false);
	struct topic_hist *th = history__find(h, "a");

	/* nothing else holds it, yet it stays valid until the next append */
	assert_memory_equal(m->payload, "plain", 5);
	assert_int_equal(history__collect(th, 0, out), 0);
	m = append(h, "a", "kept", true);
	assert_int_equal(th->count, 0);
	assert_ptr_equal(th->retained, m);
	assert_int_equal(history__collect(th, 0, out), 1);
	assert_ptr_equal(out[0], m);
	append(h, "a", "later", false);
	assert_int_equal(th->dropped_gseq, 3); /* every message leaves the ring at once */
	assert_int_equal(history__collect(th, 0, out), 1);
}

/* ==== history: retained values ================================================================ */

static void test_history_retained_duplicate_is_ignored_without_consuming_a_seq(void **state)
{
	struct history *h = new_hist(state, 4, 10);
	struct topic_hist *th;
	bool dup = false;

	append(h, "a", "v1", true);
	th = history__find(h, "a");
	assert_null(history__append(h, "a", "v1", 2, true, &dup));
	assert_true(dup);
	assert_null(history__append(h, "a", "v1", 2, true, NULL));
	assert_int_equal(th->last_seq, 1);
	assert_int_equal(h->gseq, 1);
	assert_int_equal(th->count, 1);
	assert_int_equal(append(h, "a", "v2", true)->seq, 2);
}

static void test_history_same_payload_without_retain_flag_is_not_a_duplicate(void **state)
{
	struct history *h = new_hist(state, 4, 10);

	append(h, "a", "v1", true);
	assert_int_equal(append(h, "a", "v1", false)->seq, 2);
}

/*
 * A retained publish seen live arrives without the retain flag; when a new
 * broker subscription brings it back as a retained message, it is the same
 * message, not a new one: no seq is consumed and it becomes the retained value.
 */
static void test_history_retained_replay_of_the_newest_live_message_is_a_duplicate(void **state)
{
	struct history *h = new_hist(state, 4, 10);
	struct topic_hist *th;
	bool dup = false;

	append(h, "a", "old", true);
	append(h, "a", "live", false);
	th = history__find(h, "a");
	assert_null(history__append(h, "a", "live", 4, true, &dup));
	assert_true(dup);
	assert_int_equal(th->last_seq, 2);
	assert_non_null(th->retained);
	assert_int_equal(th->retained->seq, 2);
	/* an older payload replayed as retained is new information: recorded */
	assert_int_equal(append(h, "a", "old", true)->seq, 3);
}

static void test_history_retained_value_is_collected_first_when_not_in_the_ring(void **state)
{
	static const uint64_t in_ring[] = {1, 2};
	static const uint64_t out_of_ring[] = {1, 2, 3};
	struct history *h = new_hist(state, 2, 10);
	struct topic_hist *th;

	append(h, "a", "r", true);
	th = append_n(h, "a", 1);
	collect_helper(h, th, 0, in_ring, 2); /* still in the ring: once, in place */
	append_n(h, "a", 1); /* pushes the retained value out of the ring */
	assert_int_equal(th->retained->seq, 1);
	collect_helper(h, th, 0, out_of_ring, 3);
}

static void test_history_empty_retained_message_clears_the_retained_value(void **state)
{
	static const uint64_t want[] = {1, 2};
	struct history *h = new_hist(state, 4, 10);
	struct topic_hist *th;

	append(h, "a", "r", true);
	assert_int_equal(append(h, "a", "", true)->seq, 2);
	th = history__find(h, "a");
	assert_null(th->retained);
	collect_helper(h, th, 0, want, 2);
	/* an empty retained message with nothing retained is recorded, not a duplicate */
	assert_int_equal(append(h, "a", "", true)->seq, 3);
}

static void test_history_clearing_forgets_the_value_and_recent_messages_without_a_seq(void **state)
{
	struct history *h = new_hist(state, 4, 10);
	struct topic_hist *th;
	struct out_msg *out[5];

	append(h, "a", "r", true);
	th = append_n(h, "a", 2); /* seqs 1, 2, 3 */
	history__clear_retained(h, "a");
	assert_null(th->retained);
	assert_int_equal(history__collect(th, 0, out), 0);
	assert_int_equal(th->last_seq, 3);
	assert_true(history__can_resume(th, th->epoch, 3)); /* it had everything */
	assert_false(history__can_resume(th, th->epoch, 2)); /* 3 is gone */
	assert_false(history__can_resume_gseq(h, th, h->epoch, th->last_gseq - 1));
	assert_int_equal(append(h, "a", "n", false)->seq, 4); /* numbering goes on */
	history__clear_retained(h, "unknown"); /* a topic never held: nothing to do */
}

/* ==== history: collect, resume, match ========================================================= */

static void test_history_collect_since_gives_only_newer_messages(void **state)
{
	static const uint64_t want[] = {4, 5};
	struct history *h = new_hist(state, 4, 10);
	struct topic_hist *th;
	struct out_msg *out[5];

	append(h, "a", "r", true);
	th = append_n(h, "a", 4);
	collect_helper(h, th, 3, want, 2); /* the retained value is not resent */
	assert_int_equal(history__collect(th, 5, out), 0);
	assert_int_equal(history__collect(NULL, 0, out), 0);
}

static void test_history_can_resume_within_the_ring_in_the_same_epoch(void **state)
{
	struct history *h = new_hist(state, 3, 10);
	struct topic_hist *th = append_n(h, "a", 5); /* the ring holds 3, 4, 5 */

	assert_true(history__can_resume(th, th->epoch, 5));
	assert_true(history__can_resume(th, th->epoch, 3));
	assert_true(history__can_resume(th, th->epoch, 2)); /* needs 3..5: all held */
}

static void test_history_cannot_resume_across_a_gap(void **state)
{
	struct history *h = new_hist(state, 3, 10);
	struct topic_hist *th = append_n(h, "a", 5);

	assert_false(history__can_resume(th, th->epoch, 1)); /* needs 2: dropped */
	assert_false(history__can_resume(th, th->epoch, 0));
}

static void test_history_cannot_resume_from_another_epoch(void **state)
{
	struct history *h = new_hist(state, 3, 10);
	struct topic_hist *th = append_n(h, "a", 1);

	assert_false(history__can_resume(th, "deadbeef-1", 1));
	assert_false(history__can_resume(th, NULL, 1));
	assert_false(history__can_resume(NULL, th->epoch, 1));
}

static void test_history_cannot_resume_from_a_future_seq(void **state)
{
	struct history *h = new_hist(state, 3, 10);
	struct topic_hist *th = append_n(h, "a", 1);

	assert_false(history__can_resume(th, th->epoch, 2));
}

static void test_history_can_resume_at_the_last_seq_with_an_empty_ring(void **state)
{
	struct history *h = new_hist(state, 0, 10);
	struct topic_hist *th = append_n(h, "a", 2);

	assert_true(history__can_resume(th, th->epoch, 2));
	assert_false(history__can_resume(th, th->epoch, 1));
}

/* a(gseq 1), b(2), a(3), a(4) with a ring of 2: a's gseq 1 is dropped. */
static struct history *gseq_setup(void **state, struct topic_hist **a, struct topic_hist **b)
{
	struct history *h = new_hist(state, 2, 10);

	append_n(h, "a", 1);
	*b = append_n(h, "b", 1);
	*a = append_n(h, "a", 2);
	assert_int_equal((*a)->dropped_gseq, 1);
	return h;
}

static void test_history_can_resume_gseq_when_nothing_newer_was_dropped(void **state)
{
	struct topic_hist *a, *b;
	struct history *h = gseq_setup(state, &a, &b);

	assert_true(history__can_resume_gseq(h, a, h->epoch, 1));
	assert_true(history__can_resume_gseq(h, a, h->epoch, 4));
	assert_true(history__can_resume_gseq(h, b, h->epoch, 0));
	assert_true(history__can_resume_gseq(h, NULL, h->epoch, 0)); /* unknown topic */
}

static void test_history_cannot_resume_gseq_past_a_dropped_message(void **state)
{
	struct topic_hist *a, *b;
	struct history *h = gseq_setup(state, &a, &b);

	assert_false(history__can_resume_gseq(h, a, h->epoch, 0));
}

static void test_history_cannot_resume_gseq_from_another_adapter_epoch(void **state)
{
	struct topic_hist *a, *b;
	struct history *h = gseq_setup(state, &a, &b);

	assert_false(history__can_resume_gseq(h, NULL, "00000000x", 4));
	assert_false(history__can_resume_gseq(h, b, NULL, 4));
}

static void test_history_cannot_resume_gseq_from_a_future_position(void **state)
{
	struct topic_hist *a, *b;
	struct history *h = gseq_setup(state, &a, &b);

	assert_false(history__can_resume_gseq(h, b, h->epoch, 5));
}

static void test_history_foreach_match_follows_mqtt_wildcards(void **state)
{
	struct history *h = new_hist(state, 2, 10);

	append_n(h, "market/AAPL", 1);
	append_n(h, "market/MSFT", 1);
	append_n(h, "market/AAPL/depth", 1);
	append_n(h, "notifications/u1", 1);
	append_n(h, "$SYS/load", 1);
	match_helper(h, "market/+", 2, "|market/MSFT");
	match_helper(h, "market/+/depth", 1, "|market/AAPL/depth");
	match_helper(h, "market/#", 3, "|market/AAPL/depth");
	match_helper(h, "#", 4, NULL); /* "#" does not match $SYS topics */
	match_helper(h, "notifications/u1", 1, "|notifications/u1");
	match_helper(h, "other/#", 0, NULL);
}

static void test_history_cleanup_twice_is_harmless(void **state)
{
	struct history *h = new_hist(state, 2, 10);

	append(h, "a", "r", true);
	history__cleanup(h); /* and again in the teardown */
}

#define HIST_TEST(f) cmocka_unit_test_teardown(f, free_hist)

/*
 * Unfollowed topics: the adapter will miss what is published meanwhile, so
 * nobody resumes across the gap and the next message restarts the history
 * under a new epoch.
 */
static void test_history_unfollowed_topic_restarts_under_a_new_epoch(void **state)
{
	struct history *h = new_hist(state, 4, 10);
	struct topic_hist *a, *b;
	char old_epoch[32];
	uint64_t before;

	append(h, "t/a", "1", false);
	append(h, "t/a", "2", false);
	append(h, "u/b", "x", false);
	a = history__find(h, "t/a");
	b = history__find(h, "u/b");
	snprintf(old_epoch, sizeof(old_epoch), "%s", a->epoch);
	before = h->gseq;
	assert_int_equal(history__unfollow(h, "t/#", NULL, NULL), 1);
	assert_false(history__can_resume(a, old_epoch, 2));
	assert_false(history__can_resume_gseq(h, a, h->epoch, before));
	assert_true(history__can_resume_gseq(h, b, h->epoch, before));
	assert_int_equal(append(h, "t/a", "3", false)->seq, 1);
	assert_string_not_equal(a->epoch, old_epoch);
	assert_int_equal(a->count, 1);
	/* a stream from before the restart has a gap; one from after it does not */
	assert_false(history__can_resume_gseq(h, a, h->epoch, before));
	assert_true(history__can_resume_gseq(h, a, h->epoch, h->gseq));
	assert_true(history__can_resume(a, a->epoch, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_history_init_rejects_bad_sizes),
		HIST_TEST(test_history_adapter_epoch_is_eight_hex_digits),
		HIST_TEST(test_history_seq_is_contiguous_per_topic_from_one),
		HIST_TEST(test_history_gseq_is_global_across_topics),
		HIST_TEST(test_history_epochs_differ_between_topics),
		HIST_TEST(test_history_epochs_differ_between_two_inits),
		HIST_TEST(test_history_ring_drops_the_oldest_and_records_dropped_gseq),
		HIST_TEST(test_history_ring_grows_and_keeps_order_past_its_first_allocation),
		HIST_TEST(test_history_max_topics_evicts_the_least_recently_updated),
		HIST_TEST(test_history_forgotten_topic_comes_back_with_a_new_epoch_from_seq_one),
		HIST_TEST(test_history_size_zero_keeps_retained_values_only),
		HIST_TEST(test_history_retained_duplicate_is_ignored_without_consuming_a_seq),
		HIST_TEST(test_history_same_payload_without_retain_flag_is_not_a_duplicate),
		HIST_TEST(test_history_retained_replay_of_the_newest_live_message_is_a_duplicate),
		HIST_TEST(test_history_unfollowed_topic_restarts_under_a_new_epoch),
		HIST_TEST(test_history_retained_value_is_collected_first_when_not_in_the_ring),
		HIST_TEST(test_history_empty_retained_message_clears_the_retained_value),
		HIST_TEST(
			test_history_clearing_forgets_the_value_and_recent_messages_without_a_seq),
		HIST_TEST(test_history_collect_since_gives_only_newer_messages),
		HIST_TEST(test_history_can_resume_within_the_ring_in_the_same_epoch),
		HIST_TEST(test_history_cannot_resume_across_a_gap),
		HIST_TEST(test_history_cannot_resume_from_another_epoch),
		HIST_TEST(test_history_cannot_resume_from_a_future_seq),
		HIST_TEST(test_history_can_resume_at_the_last_seq_with_an_empty_ring),
		HIST_TEST(test_history_can_resume_gseq_when_nothing_newer_was_dropped),
		HIST_TEST(test_history_cannot_resume_gseq_past_a_dropped_message),
		HIST_TEST(test_history_cannot_resume_gseq_from_another_adapter_epoch),
		HIST_TEST(test_history_cannot_resume_gseq_from_a_future_position),
		HIST_TEST(test_history_foreach_match_follows_mqtt_wildcards),
		HIST_TEST(test_history_cleanup_twice_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}