/*
 * hist.c - a log-linear latency histogram in the manner of HdrHistogram: values
 * below 64 have their own bucket, above that each power of two is split into 64
 * buckets, so a quantile is within 1.6 % of the true value over the whole
 * 64-bit range, with one fixed array and no allocation per value.
 *
 * It does not merge, interpolate or correct for coordinated omission (the
 * publisher stamps the scheduled send time, which does that). Single-threaded.
 */
#include <string.h>

#include "bench.h"

static unsigned int bucket_of(uint64_t v)
{
	unsigned int e;

	if (v < HIST_SUB)
		return (unsigned int)v;
	e = 63 - (unsigned int)__builtin_clzll(v); /* e >= HIST_SUB_BITS */
	return (e - HIST_SUB_BITS + 1) * HIST_SUB +
		(unsigned int)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* The midpoint of bucket i's range of values. */
static uint64_t value_of(unsigned int i)
{
	unsigned int e, sub;
	uint64_t lo;

	if (i < HIST_SUB)
		return i;
	e = i / HIST_SUB - 1 + HIST_SUB_BITS;
	sub = i % HIST_SUB;
	lo = ((uint64_t)1 << e) + ((uint64_t)sub << (e - HIST_SUB_BITS));
	return lo + ((uint64_t)1 << (e - HIST_SUB_BITS)) / 2;
}

void hist__reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void hist__add(struct hist *h, uint64_t v)
{
	h->b[bucket_of(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

uint64_t hist__quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0;
	unsigned int i;

	if (!h->count)
		return 0;
	want = (uint64_t)(q * (double)h->count);
	if (want >= h->count)
		want = h->count - 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > want)
			return value_of(i) < h->max ? value_of(i) : h->max;
	}
	return h->max;
}
