/* kmemsnoop: anomaly detectors (lib/anomaly.c) on synthetic series, and human sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/anomaly.h"
#include "lib/units.h"

#define MS 1000000ULL
static const struct leak_cfg leak10 = { .samples = 10, .min_growth = 65536, .interval_ns = 1000 * MS };

/* ---- size formatter ---- */

static void expect_size(uint64_t bytes, const char *want)
{
	char buf[32];

	assert_string_equal(format_human_size(bytes, buf, sizeof(buf)), want);
}

static void test_human_size(void **st)
{
	(void)st;
	expect_size(0, "0 B");
	expect_size(1023, "1023 B");
	expect_size(1024, "1.00 KB");
	expect_size(1536, "1.50 KB");
	expect_size(1024 * 1024, "1.00 MB");
	expect_size(1310720, "1.25 MB");
	expect_size(1024ULL * 1024 * 1024, "1.00 GB");
	expect_size(1024ULL * 1024 * 1024 * 1024, "1024.00 GB");
}

/* ---- series ring ---- */

static void test_series_ring_keeps_newest(void **st)
{
	struct series s = { 0 };
	uint64_t out[SERIES_MAX];

	(void)st;
	assert_int_equal(series_last(&s, 5, out), 0);
	for (uint64_t i = 1; i <= SERIES_MAX + 10; i++)
		series_push(&s, i);
	assert_int_equal(s.len, SERIES_MAX);
	assert_int_equal(series_last(&s, 3, out), 3);
	assert_int_equal(out[0], SERIES_MAX + 8);
	assert_int_equal(out[2], SERIES_MAX + 10);
	assert_int_equal(series_last(&s, 1000, out), SERIES_MAX);
	assert_int_equal(out[0], 11);
}

static void test_rate_and_exit_mid_interval(void **st)
{
	(void)st;
	/* A process that exits half way through: 500 allocs in 0.5 s is 1000/s, not 500/s. */
	assert_int_equal(rate_per_sec(500, 500 * MS), 1000);
	assert_int_equal(rate_per_sec(1000, 1000 * MS), 1000);
	assert_int_equal(rate_per_sec(7, 0), 0);
}

/* ---- leak ---- */

static void test_leak_steady_growth(void **st)
{
	uint64_t s[11];
	struct leak_result r;

	(void)st;
	for (int i = 0; i < 11; i++)
		s[i] = 1000000 + (uint64_t)i * 52429;
	assert_true(detect_leak(s, 11, 0, &leak10, &r));
	assert_false(r.by_slope);
	assert_int_equal(r.grew, 10);
	assert_int_equal(r.of, 10);
	assert_int_equal(r.growth, 524290);
	assert_true(r.slope > 52000 && r.slope < 53000);
}

static void test_leak_flat_and_falling(void **st)
{
	uint64_t flat[11], saw[11];
	struct leak_result r;

	(void)st;
	for (int i = 0; i < 11; i++) {
		flat[i] = 4096;
		saw[i] = (uint64_t)(i % 2 ? 300000 : 100000) + (uint64_t)i * 10000;
	}
	assert_false(detect_leak(flat, 11, 0, &leak10, &r));
	assert_int_equal(r.grew, 0);
	/* Grows overall, but falls every other sample: not monotonic. */
	assert_false(detect_leak(saw, 11, 0, &leak10, &r));
}

static void test_leak_small_growth_ignored(void **st)
{
	uint64_t s[11];
	struct leak_result r;

	(void)st;
	for (int i = 0; i < 11; i++)
		s[i] = 1000 + (uint64_t)i * 100; /* 1000 bytes in total: below min_growth */
	assert_false(detect_leak(s, 11, 0, &leak10, &r));
	assert_int_equal(r.grew, 10);
}

static void test_leak_tolerates_flat_steps(void **st)
{
	uint64_t s[11] = { 0, 100000, 200000, 200000, 300000, 400000, 500000, 500000, 600000, 700000, 800000 };
	uint64_t s3[11] = { 0, 100000, 100000, 100000, 100000, 200000, 300000, 400000, 500000, 600000, 700000 };
	struct leak_result r;

	(void)st;
	assert_true(detect_leak(s, 11, 0, &leak10, &r)); /* 8 of 10 grew */
	assert_false(detect_leak(s3, 11, 0, &leak10, &r)); /* 7 of 10 */
	assert_int_equal(r.grew, 7);
}

static void test_leak_one_sample_and_short_series(void **st)
{
	uint64_t one = 12345, s[5] = { 0, 1 << 20, 2 << 20, 3 << 20, 4 << 20 };
	struct leak_result r;

	(void)st;
	assert_false(detect_leak(&one, 1, 0, &leak10, &r));
	assert_false(detect_leak(s, 5, 0, &leak10, &r)); /* needs K+1 = 11 */
	assert_false(detect_leak(s, 0, 0, &leak10, &r));
}

static void test_leak_counter_wrap(void **st)
{
	/* Values that pass through 2^64: modular deltas are still growth. */
	uint64_t s[11];
	struct leak_result r;

	(void)st;
	for (int i = 0; i < 11; i++)
		s[i] = UINT64_MAX - 300000 + (uint64_t)i * 100000;
	assert_true(detect_leak(s, 11, 0, &leak10, &r));
	assert_int_equal(r.growth, 1000000);
	assert_true(r.slope > 99000 && r.slope < 101000);
}

static void test_leak_retention(void **st)
{
	/* +100 KB every interval: a leak when most allocated bytes stay, */
	/* not when a busy process allocated 10 MB an interval (lost frees look like this). */
	uint64_t s[11];
	struct leak_cfg cfg = leak10;
	struct leak_result r;

	(void)st;
	cfg.min_retain_pct = 5;
	for (int i = 0; i < 11; i++)
		s[i] = (uint64_t)i * 100000;
	assert_true(detect_leak(s, 11, 10 * 150000, &cfg, &r));
	assert_int_equal(r.retain_pct, 66);
	assert_false(detect_leak(s, 11, 10 * 10000000ULL, &cfg, &r));
	assert_int_equal(r.retain_pct, 1);
	cfg.min_retain_pct = 0;
	assert_true(detect_leak(s, 11, 10 * 10000000ULL, &cfg, &r));
}

static void test_leak_slope_rule(void **st)
{
	/* Noisy growth: falls twice, but the fit rises ~200 KB/s. */
	uint64_t s[11] = { 0, 300000, 250000, 700000, 650000, 1000000, 1200000, 1400000, 1600000, 1800000, 2000000 };
	struct leak_cfg cfg = leak10;
	struct leak_result r;

	(void)st;
	assert_false(detect_leak(s, 11, 0, &cfg, &r)); /* slope rule off by default */
	cfg.min_slope = 100000;
	assert_true(detect_leak(s, 11, 0, &cfg, &r));
	assert_true(r.by_slope);
	cfg.min_slope = 400000;
	assert_false(detect_leak(s, 11, 0, &cfg, &r));
}

static void test_leak_uses_newest_window(void **st)
{
	/* Grew long ago, flat for the last 10: no leak now. */
	uint64_t s[20];
	struct leak_result r;

	(void)st;
	for (int i = 0; i < 20; i++)
		s[i] = i < 9 ? (uint64_t)i << 20 : 9ULL << 20;
	assert_false(detect_leak(s, 20, 0, &leak10, &r));
	assert_int_equal(r.grew, 0);
}

/* ---- churn ---- */

static void test_churn_score(void **st)
{
	struct churn_cfg cfg = { .full_rate = 1000, .threshold = 50 };

	(void)st;
	assert_int_equal(churn_score(20000, 1 << 20, 1 << 20, &cfg), 100);
	assert_int_equal(churn_score(500, 1 << 20, 1 << 20, &cfg), 50);
	assert_int_equal(churn_score(20000, 1 << 18, 1 << 20, &cfg), 25);
	/* Everything held: a leak, not churn. */
	assert_int_equal(churn_score(20000, 0, 1 << 20, &cfg), 0);
	/* Frees of earlier intervals' allocations can exceed this interval's: capped. */
	assert_int_equal(churn_score(5000, 3 << 20, 1 << 20, &cfg), 100);
	assert_int_equal(churn_score(0, 0, 0, &cfg), 0);
	cfg.full_rate = 0;
	assert_int_equal(churn_score(20000, 1 << 20, 1 << 20, &cfg), 0);
}

/* ---- fragmentation ---- */

static void test_frag_slab(void **st)
{
	struct frag_cfg cfg = { .min_objects = 1000, .min_ratio_pct = 50, .min_order_spread = 3 };
	struct frag_input in = { .small_objs = 5000, .small_alloc = 5000 * 64, .small_req = 5000 * 24 };
	struct frag_result r;

	(void)st;
	assert_true(detect_frag(&in, &cfg, &r));
	assert_true(r.slab);
	assert_false(r.pages);
	assert_int_equal(r.ratio_pct, 37);
	in.small_req = 5000 * 60; /* well used size class */
	assert_false(detect_frag(&in, &cfg, &r));
	in.small_req = 5000 * 24;
	in.small_objs = 10; /* too few to matter */
	assert_false(detect_frag(&in, &cfg, &r));
}

static void test_frag_pages(void **st)
{
	struct frag_cfg cfg = { .min_objects = 1000, .min_ratio_pct = 50, .min_order_spread = 3 };
	struct frag_input in = { 0 };
	struct frag_result r;

	(void)st;
	assert_false(detect_frag(&in, &cfg, &r)); /* nothing live */
	in.pages[0] = 4000;
	assert_false(detect_frag(&in, &cfg, &r)); /* only order 0: no spread */
	in.pages[4] = 2;
	assert_true(detect_frag(&in, &cfg, &r));
	assert_true(r.pages);
	assert_int_equal(r.order_spread, 4);
}

/* ---- burst ---- */

static void test_burst(void **st)
{
	struct burst_cfg cfg = { .k = 3, .min_rate = 1000, .min_history = 5 };
	uint64_t h[10] = { 2000, 2100, 1900, 2050, 1950, 2000, 2100, 1900, 2000, 2000 };
	struct burst_result r;

	(void)st;
	assert_false(detect_burst(h, 10, 2150, &cfg, &r));
	assert_true(detect_burst(h, 10, 9000, &cfg, &r));
	assert_true(r.limit > 2000 && r.limit < 3000);
	/* Too little history, or too low a rate: never a burst. */
	assert_false(detect_burst(h, 4, 9000, &cfg, &r));
	assert_false(detect_burst(h, 0, 9000, &cfg, &r));
	uint64_t quiet[6] = { 1, 0, 2, 1, 0, 1 };
	assert_false(detect_burst(quiet, 6, 500, &cfg, &r));
}

static void test_burst_flat_history_floor(void **st)
{
	struct burst_cfg cfg = { .k = 3, .min_rate = 100, .min_history = 5 };
	uint64_t flat[8] = { 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000 };
	struct burst_result r;

	(void)st;
	/* stddev 0: the mean/10 floor keeps 1001/s from being a burst. */
	assert_false(detect_burst(flat, 8, 1001, &cfg, &r));
	assert_false(detect_burst(flat, 8, 1300, &cfg, &r));
	assert_true(detect_burst(flat, 8, 1301, &cfg, &r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_human_size),
		cmocka_unit_test(test_series_ring_keeps_newest),
		cmocka_unit_test(test_rate_and_exit_mid_interval),
		cmocka_unit_test(test_leak_steady_growth),
		cmocka_unit_test(test_leak_flat_and_falling),
		cmocka_unit_test(test_leak_small_growth_ignored),
		cmocka_unit_test(test_leak_tolerates_flat_steps),
		cmocka_unit_test(test_leak_one_sample_and_short_series),
		cmocka_unit_test(test_leak_counter_wrap),
		cmocka_unit_test(test_leak_retention),
		cmocka_unit_test(test_leak_slope_rule),
		cmocka_unit_test(test_leak_uses_newest_window),
		cmocka_unit_test(test_churn_score),
		cmocka_unit_test(test_frag_slab),
		cmocka_unit_test(test_frag_pages),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_burst_flat_history_floor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
