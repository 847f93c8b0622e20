/* Log-linear latency histogram; see hist.h. */
#include <math.h>
#include <string.h>

#include "lib/hist.h"

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

unsigned int hist_bucket_of(uint64_t v)
{
	unsigned int e;

	if (v < HIST_SUB)
		return (unsigned int)v;
	e = 63u - (unsigned int)__builtin_clzll(v);
	if (e > HIST_MAX_EXP)
		return HIST_NR_BUCKETS - 1;
	/* The top HIST_SUB_BITS+1 bits of v: its octave's leading 1 and the sub-bucket. */
	return HIST_SUB + (e - HIST_SUB_BITS) * HIST_SUB +
	       (unsigned int)((v >> (e - HIST_SUB_BITS)) - HIST_SUB);
}

uint64_t hist_bucket_low(unsigned int idx)
{
	unsigned int e, sub;

	if (idx < HIST_SUB)
		return idx;
	e = (idx - HIST_SUB) / HIST_SUB + HIST_SUB_BITS;
	sub = (idx - HIST_SUB) % HIST_SUB;
	return (uint64_t)(HIST_SUB + sub) << (e - HIST_SUB_BITS);
}

uint64_t hist_bucket_high(unsigned int idx)
{
	if (idx < HIST_SUB)
		return idx;
	if (idx == HIST_NR_BUCKETS - 1)
		return UINT64_MAX;
	return hist_bucket_low(idx + 1) - 1;
}

void hist_add(struct hist *h, uint64_t v)
{
	if (!h->count || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += v;
	h->buckets[hist_bucket_of(v)]++;
}

uint64_t hist_percentile(const struct hist *h, double pct)
{
	uint64_t rank, seen = 0, mid;
	unsigned int i;

	if (!h->count)
		return 0;
	if (pct <= 0)
		return h->min;
	if (pct >= 100)
		return h->max;
	rank = (uint64_t)ceil(pct / 100.0 * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_NR_BUCKETS - 1; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			break;
	}
	/* The last bucket is open-ended: its middle means nothing, max does. */
	if (i == HIST_NR_BUCKETS - 1)
		return h->max;
	mid = hist_bucket_low(i) + (hist_bucket_high(i) - hist_bucket_low(i)) / 2;
	if (mid < h->min)
		return h->min;
	if (mid > h->max)
		return h->max;
	return mid;
}
