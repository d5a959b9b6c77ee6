/*
 * test_history_file.c - unit tests for the history file (history_file.c):
 * a saved history loads back the same (epochs, seq, gseq, retained values,
 * recent messages, the session's filters), within the loading adapter's
 * bounds; a missing file is no error; a corrupt, truncated, foreign or
 * other-version file is refused whole and leaves an empty history.
 *
 * Each test gets a temporary directory and two histories, freed by the
 * teardown even when an assertion fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "history.h"
#include "msg.h"

/* ==== Helpers ================================================================================= */

struct fixture {
	char dir[64];
	char path[96];
	struct history saved, loaded;
	struct history_filter *filters;
	unsigned nfilters;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/rtg-test-history-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/history.bin", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char tmp[128];

	history__cleanup(&f->saved);
	history__cleanup(&f->loaded);
	history__filters_free(f->filters, f->nfilters);
	unlink(f->path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	unlink(tmp);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void append(struct history *h, const char *topic, const char *payload, bool retained)
{
	assert_non_null(history__append(h, topic, payload, strlen(payload), retained, NULL));
}

/*
 * A history of size 4 with: "t/a" with 6 messages (2 pushed out), the newest
 * retained; "t/b" with a retained value that is no longer in its ring; then
 * saved with two session filters.
 */
static void save_sample(struct fixture *f)
{
	const struct history_filter filters[] = {{"t/+", 7}, {"x/#", 3}};
	char p[16];
	int i;

	assert_int_equal(history__init(&f->saved, 4, 10), 0);
	f->saved.next_id = 4242; /* ids given under this epoch: none may be given again */
	append(&f->saved, "t/b", "{\"v\":\"kept\"}", true);
	for (i = 1; i <= 5; i++) {
		snprintf(p, sizeof(p), "{\"n\":%d}", i);
		append(&f->saved, "t/a", p, false);
		append(&f->saved, "t/b", p, false);
	}
	append(&f->saved, "t/a", "{\"n\":6}", true);
	assert_int_equal(history__save(&f->saved, f->path, filters, 2), 0);
	assert_int_equal(access(f->path, F_OK), 0);
}

/* Loads f->path into f->loaded of the given bounds; returns what history__load() did. */
static int load(struct fixture *f, unsigned size, unsigned max_topics)
{
	assert_int_equal(history__init(&f->loaded, size, max_topics), 0);
	return history__load(&f->loaded, f->path, &f->filters, &f->nfilters);
}

/* The two topics hold the same messages, seq, gseq and text. */
static void assert_same_topic(const struct history *h1, const struct history *h2, const char *t)
{
	struct topic_hist *a = history__find((struct history *)h1, t);
	struct topic_hist *b = history__find((struct history *)h2, t);
	struct out_msg *ma[8], *mb[8];
	unsigned i, n;

	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(a->epoch, b->epoch);
	assert_int_equal(a->last_seq, b->last_seq);
	assert_int_equal(a->last_gseq, b->last_gseq);
	assert_int_equal(a->dropped_gseq, b->dropped_gseq);
	n = history__collect(a, 0, ma);
	assert_int_equal(history__collect(b, 0, mb), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(ma[i]->seq, mb[i]->seq);
		assert_int_equal(ma[i]->gseq, mb[i]->gseq);
		assert_int_equal(ma[i]->retained, mb[i]->retained);
		assert_string_equal(MSG_TEXT(ma[i]), MSG_TEXT(mb[i]));
	}
	assert_int_equal(!a->retained, !b->retained);
	if (a->retained)
		assert_int_equal(a->retained->seq, b->retained->seq);
}

/* Overwrites one byte of the file at offset off. */
static void poke(const char *path, long off, unsigned char byte)
{
	FILE *fp = fopen(path, "r+b");

	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	assert_int_equal(fputc(byte, fp), byte);
	assert_int_equal(fclose(fp), 0);
}

/* Recomputes the trailing FNV-1a checksum after an edit, so only the edit is wrong. */
static void reseal(const char *path)
{
	FILE *fp = fopen(path, "r+b");
	uint64_t h = 0xcbf29ce484222325ull;
	long len, i;
	int c;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp) - 8;
	rewind(fp);
	for (i = 0; i < len && (c = fgetc(fp)) != EOF; i++) {
		h ^= (unsigned char)c;
		h *= 0x100000001b3ull;
	}
	for (i = 0; i < 8; i++)
		assert_int_equal(
			fputc((int)((h >> (8 * i)) & 0xff), fp), (int)((h >> (8 * i)) & 0xff));
	assert_int_equal(fclose(fp), 0);
}

/* A refused file leaves an empty history with its own fresh epoch, and stays on disk. */
static void assert_refused(struct fixture *f)
{
	assert_int_equal(load(f, 4, 10), -1);
	assert_int_equal(f->loaded.ntopics, 0);
	assert_int_equal(f->loaded.gseq, 0);
	assert_string_not_equal(f->loaded.epoch, f->saved.epoch);
	assert_null(f->filters);
	assert_int_equal(access(f->path, F_OK), 0);
}

/* ==== Tests =================================================================================== */

static void test_history_file_round_trip_keeps_epochs_seqs_and_messages(void **state)
{
	struct fixture *f = *state;

	save_sample(f);
	assert_int_equal(load(f, 4, 10), 1);
	assert_string_equal(f->loaded.epoch, f->saved.epoch);
	assert_int_equal(f->loaded.gseq, f->saved.gseq);
	assert_int_equal(f->loaded.topic_gen, f->saved.topic_gen);
	assert_int_equal(f->loaded.next_id, 4242);
	assert_int_equal(f->loaded.ntopics, 2);
	assert_same_topic(&f->saved, &f->loaded, "t/a");
	assert_same_topic(&f->saved, &f->loaded, "t/b");
	/* LRU order survives: t/a was updated last */
	assert_string_equal(f->loaded.lru_head->topic, "t/a");
}

static void test_history_file_round_trip_keeps_the_session_filters(void **state)
{
	struct fixture *f = *state;

	save_sample(f);
	assert_int_equal(load(f, 4, 10), 1);
	assert_int_equal(f->nfilters, 2);
	assert_string_equal(f->filters[0].filter, "t/+");
	assert_int_equal(f->filters[0].id, 7);
	assert_string_equal(f->filters[1].filter, "x/#");
	assert_int_equal(f->filters[1].id, 3);
}

static void test_history_file_is_removed_once_loaded(void **state)
{
	struct fixture *f = *state;

	save_sample(f);
	assert_int_equal(load(f, 4, 10), 1);
	assert_int_equal(access(f->path, F_OK), -1);
}

static void test_history_file_loaded_history_resumes_and_continues(void **state)
{
	struct fixture *f = *state;
	struct topic_hist *th;
	struct out_msg *m;

	save_sample(f);
	assert_int_equal(load(f, 4, 10), 1);
	th = history__find(&f->loaded, "t/a");
	assert_true(history__can_resume(th, th->epoch, 4));
	assert_true(history__can_resume_gseq(&f->loaded, th, f->saved.epoch, f->saved.gseq - 2));
	m = history__append(&f->loaded, "t/a", "{\"n\":7}", 7, false, NULL);
	assert_non_null(m);
	assert_int_equal(m->seq, 7);
	assert_int_equal(m->gseq, f->saved.gseq + 1);
	assert_string_equal(th->epoch, history__find(&f->saved, "t/a")->epoch);
}

static void test_history_file_retained_duplicate_is_still_recognised(void **state)
{
	struct fixture *f = *state;
	bool dup = false;

	save_sample(f);
	assert_int_equal(load(f, 4, 10), 1);
	/* the broker re-sends t/b's retained value on a new subscription */
	assert_null(history__append(&f->loaded, "t/b", "{\"v\":\"kept\"}", 12, true, &dup));
	assert_true(dup);
}

static void test_history_file_missing_is_not_an_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, 4, 10), 0);
	assert_null(f->filters);
	assert_int_equal(f->loaded.ntopics, 0);
}

static void test_history_file_null_path_does_nothing(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(history__init(&f->saved, 4, 10), 0);
	assert_int_equal(history__save(&f->saved, NULL, NULL, 0), 0);
	assert_int_equal(history__init(&f->loaded, 4, 10), 0);
	assert_int_equal(history__load(&f->loaded, NULL, &f->filters, &f->nfilters), 0);
}

static void test_history_file_corrupt_byte_is_refused(void **state)
{
	struct fixture *f = *state;

	save_sample(f);
	poke(f->path, 60, 0x5a);
	assert_refused(f);
}

static void test_history_file_truncated_is_refused(void **state)
{
	struct fixture *f = *state;

	save_sample(f);
	assert_int_equal(truncate(f->path, 100), 0);
	assert_refused(f);
}

static void test_history_file_empty_is_refused(void **state)
{
	struct fixture *f = *state;

	save_sample(f);
	assert_int_equal(truncate(f->path, 0), 0);
	assert_refused(f);
}

static void test_history_file_other_version_is_refused(void **state)
{
	struct fixture *f = *state;

	save_sample(f);
	poke(f->path, 8, 99); /* the version follows the 8-byte magic */
	reseal(f->path);
	assert_refused(f);
}

static void test_history_file_foreign_file_is_refused(void **state)
{
	struct fixture *f = *state;

	save_sample(f);
	poke(f->path, 0, 'X');
	reseal(f->path);
	assert_refused(f);
}

static void test_history_file_load_keeps_the_newest_messages_within_history_size(void **state)
{
	struct fixture *f = *state;
	struct topic_hist *th;
	struct out_msg *out[3];

	save_sample(f);
	assert_int_equal(load(f, 2, 10), 1);
	th = history__find(&f->loaded, "t/a");
	assert_int_equal(th->count, 2);
	assert_int_equal(history__collect(th, 0, out), 2);
	assert_int_equal(out[0]->seq, 5);
	assert_int_equal(out[1]->seq, 6);
	assert_int_equal(th->last_seq, 6);
	/* what the smaller ring dropped can no longer be resumed from */
	assert_false(history__can_resume(th, th->epoch, 3));
	assert_true(history__can_resume(th, th->epoch, 4));
	assert_false(history__can_resume_gseq(&f->loaded, th, th->epoch, 1));
}

static void test_history_file_load_keeps_the_most_recent_topics_within_max_topics(void **state)
{
	struct fixture *f = *state;

	save_sample(f);
	assert_int_equal(load(f, 4, 1), 1);
	assert_int_equal(f->loaded.ntopics, 1);
	assert_non_null(history__find(&f->loaded, "t/a"));
	assert_null(history__find(&f->loaded, "t/b"));
	/* an SSE stream that had seen less of the forgotten topic has a gap */
	assert_int_equal(f->loaded.evicted_gseq, history__find(&f->saved, "t/b")->last_gseq);
	assert_true(f->loaded.evicted_topics >= 1);
}

static void test_history_file_size_zero_keeps_only_retained_values(void **state)
{
	struct fixture *f = *state;
	struct topic_hist *th;

	save_sample(f);
	assert_int_equal(load(f, 0, 10), 1);
	th = history__find(&f->loaded, "t/b");
	assert_int_equal(th->count, 0);
	assert_non_null(th->retained);
	assert_int_equal(th->retained->payload_len, 12);
	assert_memory_equal(th->retained->payload, "{\"v\":\"kept\"}", 12);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_history_file_round_trip_keeps_epochs_seqs_and_messages),
		T(test_history_file_round_trip_keeps_the_session_filters),
		T(test_history_file_is_removed_once_loaded),
		T(test_history_file_loaded_history_resumes_and_continues),
		T(test_history_file_retained_duplicate_is_still_recognised),
		T(test_history_file_missing_is_not_an_error),
		T(test_history_file_null_path_does_nothing),
		T(test_history_file_corrupt_byte_is_refused),
		T(test_history_file_truncated_is_refused),
		T(test_history_file_empty_is_refused),
		T(test_history_file_other_version_is_refused),
		T(test_history_file_foreign_file_is_refused),
		T(test_history_file_load_keeps_the_newest_messages_within_history_size),
		T(test_history_file_load_keeps_the_most_recent_topics_within_max_topics),
		T(test_history_file_size_zero_keeps_only_retained_values),
	};
#undef T

	lws_set_log_level(0, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
