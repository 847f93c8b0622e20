/*
 * A fixed-memory log-linear latency histogram (HDR style): values below
 * 2^HIST_SUB_BITS are counted exactly; every octave [2^e, 2^(e+1)) above
 * is split into 2^HIST_SUB_BITS equal buckets, so a bucket is at most
 * 1/32 of its values wide. Values past the top octave (about 1100 s in
 * ns) share the last bucket. Percentiles come from the bucket counts.
 */
#ifndef LIB_HIST_H
#define LIB_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 5
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_EXP 40 /* the top octave is [2^40, 2^41) */
#define HIST_NR_BUCKETS (HIST_SUB + (HIST_MAX_EXP - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t count, sum, min, max;
	uint64_t buckets[HIST_NR_BUCKETS];
};

void hist_reset(struct hist *h);
/* Count one value; no allocation, a few instructions. */
void hist_add(struct hist *h, uint64_t v);
/*
 * The pct-th percentile (0 < pct <= 100) by nearest rank: the value of
 * rank ceil(pct/100 * count), reported as the middle of its bucket and
 * clamped to [min, max]. 0 when the histogram is empty.
 */
uint64_t hist_percentile(const struct hist *h, double pct);

/* Bucket geometry, for tests and callers that want bounds. */
unsigned int hist_bucket_of(uint64_t v);
uint64_t hist_bucket_low(unsigned int idx);
uint64_t hist_bucket_high(unsigned int idx); /* inclusive */

#endif
