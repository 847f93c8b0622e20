/*
 * Memory anomaly detectors for kmemsnoop: pure functions on per-process
 * series, so every rule is unit-tested on synthetic data. The rules and
 * their thresholds are documented in Documentation/kmemsnoop.md.
 */
#ifndef LIB_ANOMALY_H
#define LIB_ANOMALY_H

#include <stdbool.h>
#include <stdint.h>

/* Fixed-length history: the newest `len` values, oldest overwritten. */
#define SERIES_MAX 64

struct series {
	uint64_t v[SERIES_MAX];
	uint32_t head; /* next write position */
	uint32_t len;  /* values held, <= SERIES_MAX */
};

void series_push(struct series *s, uint64_t v);
/* Copy the newest min(n, len) values, oldest first, into out; returns how many. */
uint32_t series_last(const struct series *s, uint32_t n, uint64_t *out);

/* Growth of a counter between two readings; unsigned arithmetic survives a wrap. */
static inline int64_t counter_delta(uint64_t before, uint64_t after)
{
	return (int64_t)(after - before);
}

/* Events per second over elapsed_ns (0 when no time passed). */
uint64_t rate_per_sec(uint64_t count, uint64_t elapsed_ns);

/* ---- leak: current bytes keep growing ---- */
struct leak_cfg {
	uint32_t samples;     /* K: deltas looked at (needs K+1 samples) */
	uint64_t min_growth;  /* bytes the window must grow in total */
	uint64_t min_slope;   /* bytes/s of the least-squares fit; 0 = slope rule off */
	uint32_t min_retain_pct; /* growth must be this % of the bytes allocated meanwhile; 0 = off */
	uint64_t interval_ns; /* time between samples, for the slope in bytes/s */
};

struct leak_result {
	bool leak;
	bool by_slope;        /* found by the slope rule (not the monotonic one) */
	uint32_t grew, of;    /* deltas > 0 out of the deltas looked at */
	int64_t growth;       /* newest - oldest of the window */
	uint32_t retain_pct;  /* growth as % of the bytes allocated in the window (capped at 100) */
	double slope;         /* bytes/s */
};

/*
 * Both rules first need the window (the last K+1 samples) to have grown by
 * min_growth or more, and by at least min_retain_pct of window_alloc (the
 * bytes allocated during those K intervals): a leak keeps much of what it
 * allocates, while a busy process that lost a few free events does not.
 * Monotonic rule: none of the last K deltas is negative and at least 80 %
 * (rounded up) are positive. Slope rule (min_slope > 0): the least-squares
 * slope is min_slope bytes/s or more.
 */
bool detect_leak(const uint64_t *samples, uint32_t n, uint64_t window_alloc, const struct leak_cfg *cfg,
		 struct leak_result *out);

/* ---- churn: many allocations freed soon after ---- */
struct churn_cfg {
	uint64_t full_rate;   /* allocs/s at which the rate factor reaches 1 */
	uint32_t threshold;   /* score (0-100) at or above which churn is reported */
};

/*
 * score = 100 * min(1, allocs_per_sec / full_rate)
 *             * min(1, short_lived_bytes_freed / bytes_allocated)
 */
uint32_t churn_score(uint64_t allocs_per_sec, uint64_t short_freed_bytes, uint64_t alloc_bytes,
		     const struct churn_cfg *cfg);

/* ---- fragmentation: small objects that waste their size class ---- */
struct frag_cfg {
	uint64_t min_objects; /* live small objects (or order-0 pages) needed */
	uint32_t min_ratio_pct; /* requested/allocated below this is wasteful */
	uint32_t min_order_spread; /* pages: orders between smallest and largest live */
};

#define FRAG_ORDERS 11

struct frag_input {
	uint64_t small_objs;      /* live slab objects of the small size classes */
	uint64_t small_alloc;     /* their bytes_alloc */
	uint64_t small_req;       /* their bytes_req */
	uint64_t pages[FRAG_ORDERS]; /* live page allocations by order */
};

struct frag_result {
	bool slab, pages;         /* which rule fired */
	uint32_t ratio_pct;       /* requested/allocated of the small objects */
	uint32_t order_spread;
};

/*
 * Slab rule: small_objs >= min_objects and requested/allocated < min_ratio_pct.
 * Page rule: order-0 live pages >= min_objects and max live order - min live
 * order >= min_order_spread (many single pages held next to high-order blocks).
 */
bool detect_frag(const struct frag_input *in, const struct frag_cfg *cfg, struct frag_result *out);

/* ---- burst: this interval's rate far above the history ---- */
struct burst_cfg {
	double k;             /* standard deviations above the mean */
	uint64_t min_rate;    /* allocs/s below which nothing is a burst */
	uint32_t min_history; /* earlier samples needed */
};

struct burst_result {
	bool burst;
	double mean, stddev, limit;
};

/*
 * history: earlier per-interval rates (allocs/s), oldest first; rate: this
 * interval's. Burst when rate >= min_rate and rate > mean + k * max(stddev,
 * mean / 10) (the floor keeps a perfectly flat history from flagging noise).
 */
bool detect_burst(const uint64_t *history, uint32_t n, uint64_t rate, const struct burst_cfg *cfg,
		  struct burst_result *out);

#endif
