/*
 * history.h - what the adapter remembers of each topic: its epoch, its
 * sequence numbers, its retained value and its most recent messages.
 *
 * Every message that passes through the adapter gets the next per-topic
 * sequence number (contiguous from 1 within an epoch) and the next
 * adapter-wide sequence number (gseq, used for SSE ids). The epoch of a topic
 * names one unbroken run of its sequence numbers: it changes when the adapter
 * restarts or forgets the topic. Memory is bounded: at most `size` messages
 * per topic and at most `max_topics` topics (the least recently updated topic
 * is forgotten first). one thread only.
 */
#ifndef RTG_ADAPTER_HISTORY_H
#define RTG_ADAPTER_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uthash.h>

#include "msg.h"

struct topic_hist {
	char *topic;
	char epoch[32]; /* "<adapter epoch>-<topic generation>" */
	uint64_t last_seq; /* seq of the newest message; 0 if none yet */
	uint64_t last_gseq; /* gseq of the newest message; 0 if none yet */
	uint64_t dropped_gseq; /* gseq of the newest message pushed out of the ring; 0 if none */
	uint64_t resume_from; /* streams before this gseq cannot resume (a gap); 0 if none */
	bool stale; /* no longer followed since its last message: a gap follows */
	struct out_msg **ring; /* the newest `count` messages, oldest first from `head` */
	unsigned head, count;
	unsigned cap; /* slots allocated in ring: grows by doubling up to history->size */
	struct out_msg *retained; /* the newest retained value, or NULL (also in ring if recent) */
	UT_hash_handle hh;
	struct topic_hist *lru_prev, *lru_next; /* most recently updated first */
};

struct history {
	struct topic_hist *by_topic; /* uthash head */
	struct topic_hist *lru_head, *lru_tail;
	unsigned ntopics;
	unsigned size; /* messages kept per topic (history_size) */
	unsigned max_topics; /* topics kept (history_max_topics) */
	char epoch[16]; /* this adapter run: random hex */
	uint64_t gseq; /* last adapter-wide sequence number given */
	uint64_t topic_gen; /* last topic generation given */
	uint64_t next_id; /* last connection / calculation id given under this epoch */
	uint64_t evicted_gseq; /* newest gseq of any topic forgotten so far; 0 if none */
	uint64_t evicted_topics; /* counter for /api/stats */
	struct out_msg *last; /* the message the last append returned (keeps it alive) */
	/*
	 * What a topic carries, for the messages this history makes: the type of
	 * a payload that names none (NULL: "message") and whether the topic holds
	 * a value (conflated when a client lags). NULL: no type, no value.
	 */
	void (*topic_info)(void *arg, const char *topic, const char **type, bool *value);
	void *topic_info_arg;
};

/* The largest history_size history__init() accepts. */
#define HISTORY_SIZE_MAX 1000000u

/**
 * Initialises @p h with a fresh random adapter epoch.
 * @return 0, or -1 on bad sizes (size 0 is allowed: no recent messages kept,
 *         only retained values; size must be <= HISTORY_SIZE_MAX and
 *         max_topics >= 1)
 */
int history__init(struct history *h, unsigned size, unsigned max_topics);

/** Frees every topic and drops every message reference. @p h may then be cleaned up again. */
void history__cleanup(struct history *h);

/**
 * Records an MQTT message and returns its outgoing form, which the history
 * keeps a reference to (borrowed by the caller: valid until the next
 * history__append() or history__cleanup(); take msg__ref() to keep it).
 * A retained message whose payload equals the topic's current retained value
 * is a duplicate (the broker re-sends retained values on each new
 * subscription): it returns NULL with *duplicate set, and nothing changes. A
 * retained message with an empty payload clears the retained value.
 * @param duplicate may be NULL
 * @return the message, or NULL (duplicate or out of memory)
 */
struct out_msg *history__append(struct history *h, const char *topic, const void *payload,
	size_t len, bool retained, bool *duplicate);

/**
 * Marks every topic matching @p filter (every topic if NULL) for which
 * @p keep (if given) returns false as stale: the adapter stopped following
 * it, so nobody may resume across the gap (history__can_resume and _gseq say
 * no) and its next message restarts its history under a new epoch, keeping
 * nothing from before. Returns how many were marked.
 */
unsigned history__unfollow(struct history *h, const char *filter,
	bool (*keep)(const struct topic_hist *th, void *arg), void *arg);

/**
 * Forgets what @p topic holds, its retained value and its recent messages (an
 * empty retained message cleared it at the broker), without numbering
 * anything: no client sees a seq go by. A client positioned before the last
 * message can no longer resume this topic; one positioned at it still can.
 */
void history__clear_retained(struct history *h, const char *topic);

/** Returns the topic's history, or NULL if the adapter holds none. */
struct topic_hist *history__find(struct history *h, const char *topic);

/**
 * Calls @p cb for every topic held whose name matches the MQTT filter
 * @p filter, in no particular order. @p cb must not change the history.
 */
void history__foreach_match(struct history *h, const char *filter,
	void (*cb)(struct topic_hist *th, void *arg), void *arg);

/**
 * Collects, oldest first, the messages of @p th a client should get:
 * with @p since_seq == 0 the retained value (if it is not also among the
 * recent messages) followed by the recent messages; otherwise the messages
 * with seq > since_seq. Each array slot holds a borrowed pointer.
 * @param out array of at least history->size + 1 slots
 * @return the number of messages stored in @p out
 */
unsigned history__collect(const struct topic_hist *th, uint64_t since_seq, struct out_msg **out);

/**
 * Says whether a client that saw @p th up to (epoch, seq) can be brought up
 * to date from the history alone: true if @p epoch equals the topic's epoch
 * and every message after @p seq is still held (or there is none). False if
 * @p seq is beyond the topic's last_seq (a position never given).
 */
bool history__can_resume(const struct topic_hist *th, const char *epoch, uint64_t seq);

/**
 * For SSE: says whether every message of @p th with gseq > @p gseq is still
 * held, i.e. whether a stream that stopped at adapter-wide position @p gseq
 * can resume this topic without a gap: the adapter epochs match, @p gseq is
 * not beyond h->gseq (a position never given), and no message of the topic
 * newer than @p gseq was pushed out of its ring (with size 0 every message
 * is pushed out at once). (A
 * stream also has a gap if a topic it covers was forgotten whole; callers
 * check h->evicted_gseq > gseq for that, conservatively.) @p th may be NULL
 * (the topic is unknown): then only the epoch is compared.
 */
bool history__can_resume_gseq(const struct history *h, const struct topic_hist *th,
	const char *adapter_epoch, uint64_t gseq);

/* ---- restoring a saved history (history_file.c) ------------------------------------ */

/**
 * Adds a topic read back from a history file, with its saved @p epoch, as
 * the most recently updated one (restore them oldest first). When the table
 * is full the least recently updated topic is forgotten, as on append.
 * @return the topic (its counters are the caller's to fill), or NULL if the
 *         topic is already held or on out of memory
 */
struct topic_hist *history__restore_topic(struct history *h, const char *topic, const char *epoch);

/**
 * Adds a saved message to @p th, oldest first: to its ring when @p in_ring
 * (pushing out the oldest beyond h->size, as on append), and as its
 * retained value when @p is_retained.
 * @return 0, or -1 on out of memory
 */
int history__restore_msg(struct history *h, struct topic_hist *th, const void *payload, size_t len,
	uint64_t seq, uint64_t gseq, bool retained, bool in_ring, bool is_retained);

/* ---- the history file (history_file.c) ---------------------------------------------- */

/* A broker subscription of the adapter's MQTT session, saved beside the history. */
struct history_filter {
	char *filter;
	uint32_t id; /* its MQTT 5 subscription identifier */
};

/* The largest history file history__load() reads. */
#define HISTORY_FILE_MAX (1024ull * 1024 * 1024)

/**
 * Writes @p h (every topic with its epoch, counters, retained value and
 * recent messages; the adapter epoch and gseq) and the session's broker
 * subscriptions @p filters to @p path: to "<path>.tmp" first, fsync()ed,
 * then renamed over @p path, so a crash leaves the old file or the new one,
 * never half of one. @p path NULL: nothing to do.
 * @return 0, or -1 with the reason logged (errno's text)
 */
int history__save(const struct history *h, const char *path, const struct history_filter *filters,
	unsigned nfilters);

/**
 * Replaces the history of @p h, freshly initialised, by the one saved in
 * @p path, within h's own bounds (history_size, history_max_topics: the
 * newest messages and the most recently updated topics are kept), and
 * removes the file: it describes this one moment, and loading it again after
 * a crash would give out positions twice. A missing file is not an error
 * (nothing is loaded). A file that is corrupt, truncated, of another version
 * or over HISTORY_FILE_MAX is refused whole with one log line naming the
 * reason, and @p h stays empty (with its fresh epoch).
 * @param filters receives the saved broker subscriptions (free with
 *        history__filters_free()): an array, possibly of 0, exactly when a
 *        history was loaded, else NULL; may be NULL
 * @return 1 if a history was loaded, 0 if there was no file, -1 if refused
 */
int history__load(
	struct history *h, const char *path, struct history_filter **filters, unsigned *nfilters);

/** Frees an array of @p n filters from history__load(). NULL is a no-op. */
void history__filters_free(struct history_filter *filters, unsigned n);

#endif /* RTG_ADAPTER_HISTORY_H */
