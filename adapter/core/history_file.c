/*
 * history_file.c - the history saved at shutdown and loaded at start-up
 * (history_file), so a restarted adapter keeps every topic's epoch and
 * sequence numbers and clients resume with "since" or Last-Event-ID.
 *
 * The format is ours and versioned: a magic and version, the adapter epoch
 * and counters, the broker subscriptions of the MQTT session, then each topic
 * (least recently updated first) with its counters and messages, the raw MQTT
 * payloads; every integer little-endian; a 64-bit FNV-1a checksum of all of
 * it last. It is written to a temporary file and renamed, and read back whole
 * and checked before anything is restored: a corrupt file changes nothing.
 * It does not decide what the history holds (history.c). one thread only,
 * at start-up and shutdown.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rtg_log.h"

#include "history.h"
#include "rtg_topic.h"

#define MAGIC "RTGHIST\n"
#define MAGIC_LEN 8
#define VERSION 2u /* 2: next_id */
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define MAX_PAYLOAD 268435455u /* MQTT's largest */
#define MSG_RETAINED 1u /* arrived with the retain flag */
#define MSG_IN_RING 2u /* one of the recent messages */
#define MSG_IS_VALUE 4u /* the topic's retained value */
#define TOPIC_STALE 1u

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= FNV_PRIME;
	}
	return h;
}

/* ==== Writing ================================================================================ */

struct writer {
	FILE *fp;
	uint64_t sum;
	bool err;
};

static void put(struct writer *w, const void *p, size_t n)
{
	if (w->err || !n)
		return;
	w->sum = fnv(w->sum, p, n);
	if (fwrite(p, 1, n, w->fp) != n)
		w->err = true;
}

static void put_u64(struct writer *w, uint64_t v, unsigned width)
{
	unsigned char b[8];
	unsigned i;

	for (i = 0; i < width; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(w, b, width);
}

static void put_bytes(struct writer *w, const void *p, size_t n)
{
	put_u64(w, n, 4);
	put(w, p, n);
}

static void put_str(struct writer *w, const char *s)
{
	put_bytes(w, s, strlen(s));
}

static void put_msg(struct writer *w, const struct out_msg *m, unsigned flags)
{
	put_u64(w, m->seq, 8);
	put_u64(w, m->gseq, 8);
	put_u64(w, flags | (m->retained ? MSG_RETAINED : 0), 1);
	put_bytes(w, m->payload, m->payload_len);
}

/* One topic: names, counters, then its messages oldest first (the retained value first). */
static void put_topic(struct writer *w, const struct topic_hist *th)
{
	unsigned i, n = th->count;
	bool value_in_ring = false;

	for (i = 0; i < th->count; i++)
		value_in_ring |= th->ring[(th->head + i) % th->cap] == th->retained;
	put_str(w, th->topic);
	put_str(w, th->epoch);
	put_u64(w, th->last_seq, 8);
	put_u64(w, th->last_gseq, 8);
	put_u64(w, th->dropped_gseq, 8);
	put_u64(w, th->resume_from, 8);
	put_u64(w, th->stale ? TOPIC_STALE : 0, 1);
	put_u64(w, n + (th->retained && !value_in_ring), 4);
	if (th->retained && !value_in_ring)
		put_msg(w, th->retained, MSG_IS_VALUE);
	for (i = 0; i < th->count; i++) {
		const struct out_msg *m = th->ring[(th->head + i) % th->cap];

		put_msg(w, m, MSG_IN_RING | (m == th->retained ? MSG_IS_VALUE : 0));
	}
}

static void put_all(
	struct writer *w, const struct history *h, const struct history_filter *f, unsigned nf)
{
	const struct topic_hist *th;
	unsigned i;

	put(w, MAGIC, MAGIC_LEN);
	put_u64(w, VERSION, 4);
	put_str(w, h->epoch);
	put_u64(w, h->gseq, 8);
	put_u64(w, h->topic_gen, 8);
	put_u64(w, h->next_id, 8);
	put_u64(w, h->evicted_gseq, 8);
	put_u64(w, h->evicted_topics, 8);
	put_u64(w, nf, 4);
	for (i = 0; i < nf; i++) {
		put_u64(w, f[i].id, 4);
		put_str(w, f[i].filter);
	}
	put_u64(w, h->ntopics, 4);
	for (th = h->lru_tail; th; th = th->lru_prev)
		put_topic(w, th);
	put_u64(w, w->sum, 8);
}

int history__save(const struct history *h, const char *path, const struct history_filter *filters,
	unsigned nfilters)
{
	struct writer w = {.sum = FNV_OFFSET};
	char tmp[4096];

	if (!path)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		rtg_err("history: %s: path too long\n", path);
		return -1;
	}
	w.fp = fopen(tmp, "wb");
	if (!w.fp) {
		rtg_err("history: cannot write %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	put_all(&w, h, filters, nfilters);
	if (fflush(w.fp) || fsync(fileno(w.fp)))
		w.err = true;
	if (fclose(w.fp) || w.err || rename(tmp, path)) {
		rtg_err("history: cannot write %s: %s\n", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	rtg_notice("history: saved %u topics (last position %s-%llu) to %s\n", h->ntopics, h->epoch,
		(unsigned long long)h->gseq, path);
	return 0;
}

/* ==== Reading ================================================================================ */

struct reader {
	const unsigned char *p, *end;
	const char *why; /* the first problem, or NULL */
};

static bool need(struct reader *r, size_t n)
{
	if (r->why)
		return false;
	if ((size_t)(r->end - r->p) < n) {
		r->why = "truncated";
		return false;
	}
	return true;
}

static uint64_t get_u64(struct reader *r, unsigned width)
{
	uint64_t v = 0;
	unsigned i;

	if (!need(r, width))
		return 0;
	for (i = 0; i < width; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += width;
	return v;
}

/* Returns the next length-prefixed bytes (borrowed from the buffer), at most max long. */
static const unsigned char *get_bytes(struct reader *r, size_t max, size_t *len)
{
	const unsigned char *p;

	*len = (size_t)get_u64(r, 4);
	if (*len > max && !r->why)
		r->why = "a field is over its size limit";
	if (!need(r, *len))
		return NULL;
	p = r->p;
	r->p += *len;
	return p;
}

/* Returns a copy of the next string (free()), or NULL: a NUL inside or over max is corrupt. */
static char *get_str(struct reader *r, size_t max)
{
	size_t len;
	const unsigned char *p = get_bytes(r, max, &len);
	char *s;

	if (!p)
		return NULL;
	if (memchr(p, '\0', len)) {
		r->why = "a name holds a NUL byte";
		return NULL;
	}
	s = strndup((const char *)p, len);
	if (!s)
		r->why = "out of memory";
	return s;
}

/* Reads one message of th and restores it; checks it follows the previous one. */
static void get_msg(struct reader *r, struct history *h, struct topic_hist *th, uint64_t *prev)
{
	uint64_t seq = get_u64(r, 8), gseq = get_u64(r, 8);
	unsigned flags = (unsigned)get_u64(r, 1);
	size_t len;
	const unsigned char *p = get_bytes(r, MAX_PAYLOAD, &len);

	if (!p)
		return;
	if (!seq || seq > th->last_seq || gseq > h->gseq || (flags & MSG_IN_RING && seq <= *prev) ||
		!(flags & (MSG_IN_RING | MSG_IS_VALUE))) {
		r->why = "a message is out of sequence";
		return;
	}
	if (flags & MSG_IN_RING)
		*prev = seq;
	if (history__restore_msg(h, th, p, len, seq, gseq, flags & MSG_RETAINED,
		    flags & MSG_IN_RING, flags & MSG_IS_VALUE))
		r->why = "out of memory";
}

static void get_topic(struct reader *r, struct history *h)
{
	char *topic = get_str(r, RTG_TOPIC_MAX_LEN), *epoch = get_str(r, RTG_TOPIC_MAX_LEN);
	struct topic_hist *th = NULL;
	uint64_t n, i, prev = 0;

	if (topic && epoch && (!*topic || !*epoch))
		r->why = "an empty topic or epoch";
	else if (topic && epoch && !(th = history__restore_topic(h, topic, epoch)))
		r->why = "a topic twice, a long epoch, or out of memory";
	free(topic);
	free(epoch);
	if (!th)
		return;
	th->last_seq = get_u64(r, 8);
	th->last_gseq = get_u64(r, 8);
	th->dropped_gseq = get_u64(r, 8);
	th->resume_from = get_u64(r, 8);
	th->stale = get_u64(r, 1) & TOPIC_STALE;
	if (th->last_gseq > h->gseq || th->dropped_gseq > h->gseq || th->resume_from > h->gseq + 1)
		r->why = "a topic is beyond the adapter's position";
	n = get_u64(r, 4);
	for (i = 0; i < n && !r->why; i++)
		get_msg(r, h, th, &prev);
}

static void get_filters(struct reader *r, struct history_filter **out, unsigned *nout)
{
	uint64_t n = get_u64(r, 4), i;
	struct history_filter *f;

	if (n > (uint64_t)(r->end - r->p) / 5) {
		r->why = r->why ? r->why : "truncated";
		return;
	}
	f = calloc(n ? n : 1, sizeof(*f));
	if (!f) {
		r->why = "out of memory";
		return;
	}
	*out = f;
	for (i = 0; i < n && !r->why; i++) {
		f[i].id = (uint32_t)get_u64(r, 4);
		f[i].filter = get_str(r, RTG_TOPIC_MAX_LEN);
		if (f[i].filter)
			*nout = (unsigned)i + 1;
	}
}

/* Parses the whole file into h (fresh) and *filters; sets r->why on the first problem. */
static void get_all(
	struct reader *r, struct history *h, struct history_filter **filters, unsigned *nfilters)
{
	uint64_t version, ntopics, i;
	char *epoch;

	if (!need(r, MAGIC_LEN) || memcmp(r->p, MAGIC, MAGIC_LEN)) {
		r->why = "not a history file";
		return;
	}
	r->p += MAGIC_LEN;
	version = get_u64(r, 4);
	if (!r->why && version != VERSION) {
		r->why = "another version of the format";
		return;
	}
	epoch = get_str(r, sizeof(h->epoch) - 1);
	if (epoch && !*epoch)
		r->why = "an empty epoch";
	else if (epoch)
		strcpy(h->epoch, epoch);
	free(epoch);
	h->gseq = get_u64(r, 8);
	h->topic_gen = get_u64(r, 8);
	h->next_id = get_u64(r, 8);
	h->evicted_gseq = get_u64(r, 8);
	h->evicted_topics = get_u64(r, 8);
	get_filters(r, filters, nfilters);
	ntopics = get_u64(r, 4);
	for (i = 0; i < ntopics && !r->why; i++)
		get_topic(r, h);
	if (!r->why && r->p != r->end)
		r->why = "trailing bytes";
}

/* Reads the file whole; 0, 1 (missing: *buf NULL) or -1 with *why set. */
static int read_file(const char *path, unsigned char **buf, size_t *len, const char **why)
{
	struct stat st;
	FILE *fp = fopen(path, "rb");
	int rc = -1;

	*buf = NULL;
	if (!fp) {
		*why = strerror(errno);
		return errno == ENOENT ? 1 : -1;
	}
	if (fstat(fileno(fp), &st) || st.st_size < 0 ||
		(unsigned long long)st.st_size > HISTORY_FILE_MAX) {
		*why = "over the size limit";
		goto out;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf || fread(*buf, 1, *len, fp) != *len) {
		*why = *buf ? "cannot read it" : "out of memory";
		goto out;
	}
	rc = 0;
out:
	fclose(fp);
	return rc;
}

static bool checksum_ok(const unsigned char *buf, size_t len)
{
	uint64_t want = 0;
	unsigned i;

	if (len < 8)
		return false;
	for (i = 0; i < 8; i++)
		want |= (uint64_t)buf[len - 8 + i] << (8 * i);
	return fnv(FNV_OFFSET, buf, len - 8) == want;
}

void history__filters_free(struct history_filter *filters, unsigned n)
{
	unsigned i;

	if (!filters)
		return;
	for (i = 0; i < n; i++)
		free(filters[i].filter);
	free(filters);
}

int history__load(
	struct history *h, const char *path, struct history_filter **filters, unsigned *nfilters)
{
	struct history_filter *f = NULL;
	struct reader r = {0};
	unsigned char *buf = NULL;
	unsigned nf = 0, size = h->size, max_topics = h->max_topics;
	size_t len = 0;
	int rc;

	if (filters)
		*filters = NULL;
	if (nfilters)
		*nfilters = 0;
	if (!path)
		return 0;
	rc = read_file(path, &buf, &len, &r.why);
	if (rc == 1)
		return 0;
	if (rc == 0 && !checksum_ok(buf, len))
		r.why = "corrupt (checksum mismatch)";
	if (rc == 0 && !r.why) {
		r.p = buf;
		r.end = buf + len - 8;
		get_all(&r, h, &f, &nf);
	}
	free(buf);
	if (r.why) {
		rtg_err("history: %s: refused (%s); starting with an empty history\n", path, r.why);
		history__filters_free(f, nf);
		history__cleanup(h);
		history__init(h, size, max_topics);
		return -1;
	}
	if (unlink(path))
		rtg_warn("history: cannot remove %s: %s\n", path, strerror(errno));
	rtg_notice("history: loaded %u topics (last position %s-%llu) from %s\n", h->ntopics,
		h->epoch, (unsigned long long)h->gseq, path);
	if (filters) {
		*filters = f;
		*nfilters = nf;
	} else {
		history__filters_free(f, nf);
	}
	return 1;
}
