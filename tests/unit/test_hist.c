/* Log-linear histogram (lib/hist.c): geometry and percentiles against exact ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/hist.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank, the definition hist.h promises. */
static uint64_t exact_percentile(const uint64_t *sorted, size_t n, double pct)
{
	size_t rank = (size_t)((pct / 100.0) * (double)n + 0.999999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static void test_buckets_tile_the_range(void **state)
{
	(void)state;
	assert_int_equal(hist_bucket_low(0), 0);
	for (unsigned int i = 0; i + 1 < HIST_NR_BUCKETS; i++) {
		uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);

		assert_true(lo <= hi);
		assert_int_equal(hist_bucket_low(i + 1), hi + 1);
		assert_int_equal(hist_bucket_of(lo), i);
		assert_int_equal(hist_bucket_of(hi), i);
		/* Width at most 1/32 of the smallest value in it. */
		if (lo >= HIST_SUB)
			assert_true((hi - lo + 1) * HIST_SUB <= lo);
	}
	assert_int_equal(hist_bucket_of(UINT64_MAX), HIST_NR_BUCKETS - 1);
	assert_int_equal(hist_bucket_of(1ULL << 41), HIST_NR_BUCKETS - 1);
	/* 1 ns .. 100 s stays out of the open-ended last bucket. */
	assert_true(hist_bucket_of(100000000000ULL) < HIST_NR_BUCKETS - 1);
}

static void test_small_values_are_exact(void **state)
{
	struct hist *h = malloc(sizeof(*h));

	(void)state;
	hist_reset(h);
	for (uint64_t v = 0; v < HIST_SUB; v++)
		hist_add(h, v);
	assert_int_equal(h->count, HIST_SUB);
	assert_int_equal(h->min, 0);
	assert_int_equal(h->max, HIST_SUB - 1);
	assert_int_equal(h->sum, HIST_SUB * (HIST_SUB - 1) / 2);
	assert_int_equal(hist_percentile(h, 50), HIST_SUB / 2 - 1);
	assert_int_equal(hist_percentile(h, 100), HIST_SUB - 1);
	assert_int_equal(hist_percentile(h, 1), 0);
	free(h);
}

static void test_empty_and_single(void **state)
{
	struct hist *h = malloc(sizeof(*h));

	(void)state;
	hist_reset(h);
	assert_int_equal(hist_percentile(h, 50), 0);
	hist_add(h, 123456789);
	/* One value: every percentile is it (the bucket middle is clamped to min/max). */
	assert_int_equal(hist_percentile(h, 1), 123456789);
	assert_int_equal(hist_percentile(h, 50), 123456789);
	assert_int_equal(hist_percentile(h, 99), 123456789);
	free(h);
}

enum dist { UNIFORM, LOG_UNIFORM, FEW_VALUES, HUGE_VALUES };

static uint64_t draw(enum dist d)
{
	switch (d) {
	case UNIFORM:
		return 1000 + rnd() % 1000000;
	case LOG_UNIFORM: {
		/* 1 ns .. ~100 s, spread evenly over the octaves. */
		unsigned int e = (unsigned int)(rnd() % 37);

		return (1ULL << e) + rnd() % (1ULL << e);
	}
	case FEW_VALUES: {
		static const uint64_t v[] = { 7, 1500, 1501, 20000, 3000000 };

		return v[rnd() % 5];
	}
	case HUGE_VALUES:
		return rnd() >> (rnd() % 40);
	}
	return 0;
}

static void check_dist(enum dist d, size_t n)
{
	static const double pcts[] = { 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 100 };
	uint64_t *vals = malloc(n * sizeof(*vals));
	struct hist *h = malloc(sizeof(*h));

	hist_reset(h);
	for (size_t i = 0; i < n; i++) {
		vals[i] = draw(d);
		hist_add(h, vals[i]);
	}
	qsort(vals, n, sizeof(*vals), cmp_u64);
	assert_int_equal(h->min, vals[0]);
	assert_int_equal(h->max, vals[n - 1]);
	for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
		uint64_t want = exact_percentile(vals, n, pcts[k]);
		uint64_t got = hist_percentile(h, pcts[k]);
		uint64_t err = got > want ? got - want : want - got;

		/* Same bucket as the exact value: off by less than 1/32 of it (open top: max). */
		if (hist_bucket_of(want) == HIST_NR_BUCKETS - 1)
			assert_int_equal(got, h->max);
		else if (err * HIST_SUB > want)
			fail_msg("dist %d n %zu p%.1f: got %llu, exact %llu", d, n, pcts[k],
				 (unsigned long long)got, (unsigned long long)want);
	}
	free(vals);
	free(h);
}

static void test_percentiles_match_exact(void **state)
{
	(void)state;
	for (int d = UNIFORM; d <= HUGE_VALUES; d++) {
		check_dist((enum dist)d, 1);
		check_dist((enum dist)d, 7);
		check_dist((enum dist)d, 1000);
		check_dist((enum dist)d, 100000);
	}
}

/* The relative error bound must hold at the worst place: the ends of a wide bucket. */
static void test_percentile_error_at_bucket_edges(void **state)
{
	struct hist *h = malloc(sizeof(*h));

	(void)state;
	for (unsigned int i = HIST_SUB; i + 1 < HIST_NR_BUCKETS; i += 37) {
		uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);

		hist_reset(h);
		hist_add(h, lo);
		hist_add(h, hi);
		hist_add(h, hi);
		/* p50 is hi (rank 2 of 3); p10 is lo; both reported inside [lo, hi]. */
		assert_true(hist_percentile(h, 50) >= lo && hist_percentile(h, 50) <= hi);
		assert_true((hi - hist_percentile(h, 50)) * HIST_SUB <= hi);
		assert_true((hist_percentile(h, 10) - lo) * HIST_SUB <= lo);
	}
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_tile_the_range),
		cmocka_unit_test(test_small_values_are_exact),
		cmocka_unit_test(test_empty_and_single),
		cmocka_unit_test(test_percentiles_match_exact),
		cmocka_unit_test(test_percentile_error_at_bucket_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
