/* Unit tests: ring reading, sample parsing and the --order merge on synthetic rings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/order.h"
#include "lib/ring.h"
#include "lib/sample.h"

#define DATA_SIZE 65536

struct fake_ring {
	struct ring ring;
	char *mem;
	uint64_t write; /* producer position */
};

static void fake_init(struct fake_ring *f, int cpu)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	f->mem = calloc(1, page + DATA_SIZE);
	assert_non_null(f->mem);
	assert_int_equal(ring_init_mem(&f->ring, f->mem, DATA_SIZE, cpu), 0);
	f->write = 0;
}

static void fake_free(struct fake_ring *f)
{
	ring_unmap(&f->ring);
	free(f->mem);
}

/* Write bytes at the producer position, wrapping like the kernel does. */
static void put(struct fake_ring *f, const void *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		f->ring.data[(f->write + i) & (DATA_SIZE - 1)] = ((const char *)src)[i];
	f->write += len;
}

/* A sample with SAMPLE_BASE_TYPE and a 4-byte raw payload holding `tag`. */
static void put_sample(struct fake_ring *f, uint64_t id, uint64_t time, uint32_t tag)
{
	struct perf_event_header h = { .type = PERF_RECORD_SAMPLE, .size = 8 + 8 * 5 + 8 };
	uint64_t words[5] = { id, 0xffffffff81000000ULL, (uint64_t)7 << 32 | 7, time,
			      (uint64_t)f->ring.cpu };
	uint32_t raw[2] = { 4, tag };

	put(f, &h, sizeof(h));
	put(f, words, sizeof(words));
	put(f, raw, sizeof(raw));
}

static void put_lost(struct fake_ring *f, uint64_t n)
{
	struct perf_event_header h = { .type = PERF_RECORD_LOST, .size = 24 };
	uint64_t w[2] = { 1, n };

	put(f, &h, sizeof(h));
	put(f, w, sizeof(w));
}

static void publish(struct fake_ring *f)
{
	__atomic_store_n(&f->ring.meta->data_head, f->write, __ATOMIC_RELEASE);
}

struct collected {
	uint64_t times[200000];
	int n;
	uint64_t lost;
};

static int collect(void *ctx, struct ring *r, const struct perf_event_header *h)
{
	struct collected *c = ctx;
	struct sample s;

	if (h->type == PERF_RECORD_LOST) {
		c->lost += ((const uint64_t *)(h + 1))[1];
		return 0;
	}
	assert_int_equal(h->type, PERF_RECORD_SAMPLE);
	assert_int_equal(sample_parse(h, SAMPLE_BASE_TYPE, &s), 0);
	assert_int_equal(s.cpu, (uint32_t)r->cpu);
	assert_int_equal(s.raw_size, 4);
	c->times[c->n++] = s.time;
	return 0;
}

static void test_sample_parse_fields(void **state)
{
	struct fake_ring f;
	struct sample s;
	const struct perf_event_header *h;

	(void)state;
	fake_init(&f, 3);
	put_sample(&f, 42, 123456789, 0xabcd);
	publish(&f);
	ring_begin(&f.ring);
	h = ring_peek(&f.ring);
	assert_non_null(h);
	assert_int_equal(sample_parse(h, SAMPLE_BASE_TYPE, &s), 0);
	assert_int_equal(s.id, 42);
	assert_int_equal(s.time, 123456789);
	assert_int_equal(sample_time_of(h), 123456789);
	assert_int_equal(sample_id_of(h), 42);
	assert_int_equal(s.pid, 7);
	assert_int_equal(s.cpu, 3);
	assert_int_equal(*(const uint32_t *)s.raw, 0xabcd);
	ring_advance(&f.ring, h);
	assert_null(ring_peek(&f.ring));
	fake_free(&f);
}

static void test_sample_parse_truncated(void **state)
{
	char buf[64] = { 0 };
	struct perf_event_header *h = (void *)buf;
	struct sample s;

	(void)state;
	h->type = PERF_RECORD_SAMPLE;
	h->size = 24; /* claims fewer words than the type needs */
	assert_int_equal(sample_parse(h, SAMPLE_BASE_TYPE, &s), -1);
	/* a callchain longer than the record */
	h->size = 64;
	((uint64_t *)buf)[6] = 1000;
	assert_int_equal(sample_parse(h, SAMPLE_BASE_TYPE | PERF_SAMPLE_CALLCHAIN, &s), -1);
}

static void test_ring_wraps(void **state)
{
	struct fake_ring f;
	struct collected *c = calloc(1, sizeof(*c));
	struct ring *rp;

	(void)state;
	fake_init(&f, 0);
	/* Start near the end so records straddle the wrap point. */
	f.write = DATA_SIZE - 20;
	f.ring.meta->data_tail = f.write;
	for (int i = 0; i < 10; i++)
		put_sample(&f, 1, 100 + (uint64_t)i, (uint32_t)i);
	publish(&f);
	rp = &f.ring;
	assert_int_equal(unordered_round(&rp, 1, collect, c), 0);
	assert_int_equal(c->n, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(c->times[i], 100 + (uint64_t)i);
	assert_int_equal(f.ring.meta->data_tail, f.write);
	fake_free(&f);
	free(c);
}

/* Many rings, random increasing times per ring: the merge is globally sorted. */
static void test_order_many_rings_sorted(void **state)
{
	enum { NR = 16, PER = 800 };
	struct fake_ring f[NR];
	struct ring *rp[NR];
	struct collected *c = calloc(1, sizeof(*c));
	struct order o;

	(void)state;
	srandom(1234);
	for (int i = 0; i < NR; i++) {
		uint64_t t = (uint64_t)(random() % 1000);

		fake_init(&f[i], i);
		rp[i] = &f[i].ring;
		for (int j = 0; j < PER; j++) {
			t += (uint64_t)(random() % 50);
			put_sample(&f[i], 1, t, 0);
			if (j % 97 == 0)
				put_lost(&f[i], 2);
		}
		publish(&f[i]);
	}
	assert_int_equal(order_init(&o, rp, NR), 0);
	assert_int_equal(order_round(&o, UINT64_MAX, collect, c), 0);
	assert_int_equal(c->n, NR * PER);
	for (int i = 1; i < c->n; i++)
		assert_true(c->times[i - 1] <= c->times[i]);
	assert_int_equal(o.out_of_order, 0);
	assert_int_equal(c->lost, (uint64_t)NR * 9 * 2);
	order_free(&o);
	for (int i = 0; i < NR; i++)
		fake_free(&f[i]);
	free(c);
}

/* Samples newer than the horizon wait for a later round; an idle ring stalls nothing. */
static void test_order_horizon_and_idle_ring(void **state)
{
	struct fake_ring f[3];
	struct ring *rp[3];
	struct collected *c = calloc(1, sizeof(*c));
	struct order o;

	(void)state;
	for (int i = 0; i < 3; i++) {
		fake_init(&f[i], i);
		rp[i] = &f[i].ring;
	}
	/* ring 2 stays idle throughout */
	put_sample(&f[0], 1, 10, 0);
	put_sample(&f[0], 1, 30, 0);
	put_sample(&f[1], 1, 20, 0);
	put_sample(&f[1], 1, 40, 0);
	publish(&f[0]);
	publish(&f[1]);
	assert_int_equal(order_init(&o, rp, 3), 0);
	assert_int_equal(order_round(&o, 25, collect, c), 0);
	assert_int_equal(c->n, 2);
	assert_int_equal(c->times[0], 10);
	assert_int_equal(c->times[1], 20);
	/* The kernel may reuse only what was handed on. */
	assert_int_equal(f[0].ring.meta->data_tail, 56);
	/* A later sample on ring 1 that is older than ring 0's pending one. */
	put_sample(&f[1], 1, 45, 0);
	put_sample(&f[0], 1, 35, 0);
	publish(&f[0]);
	publish(&f[1]);
	assert_int_equal(order_round(&o, UINT64_MAX, collect, c), 0);
	assert_int_equal(c->n, 6);
	uint64_t want[] = { 10, 20, 30, 35, 40, 45 };
	for (int i = 0; i < 6; i++)
		assert_int_equal(c->times[i], want[i]);
	assert_int_equal(o.out_of_order, 0);
	order_free(&o);
	for (int i = 0; i < 3; i++)
		fake_free(&f[i]);
	free(c);
}

/* A sample older than one already handed on is counted, not lost. */
static void test_order_counts_late_samples(void **state)
{
	struct fake_ring f;
	struct ring *rp = &f.ring;
	struct collected *c = calloc(1, sizeof(*c));
	struct order o;

	(void)state;
	fake_init(&f, 0);
	put_sample(&f, 1, 100, 0);
	publish(&f);
	assert_int_equal(order_init(&o, &rp, 1), 0);
	order_round(&o, 1000, collect, c);
	put_sample(&f, 1, 50, 0);
	publish(&f);
	order_round(&o, 1000, collect, c);
	assert_int_equal(c->n, 2);
	assert_int_equal(o.out_of_order, 1);
	order_free(&o);
	fake_free(&f);
	free(c);
}

static int stop_after_two(void *ctx, struct ring *r, const struct perf_event_header *h)
{
	struct collected *c = ctx;

	collect(ctx, r, h);
	return c->n == 2;
}

static void test_order_stop_early_keeps_rest(void **state)
{
	struct fake_ring f;
	struct ring *rp = &f.ring;
	struct collected *c = calloc(1, sizeof(*c));
	struct order o;

	(void)state;
	fake_init(&f, 0);
	for (int i = 0; i < 5; i++)
		put_sample(&f, 1, 10 + (uint64_t)i, 0);
	publish(&f);
	assert_int_equal(order_init(&o, &rp, 1), 0);
	assert_int_equal(order_round(&o, UINT64_MAX, stop_after_two, c), 1);
	assert_int_equal(c->n, 2);
	assert_int_equal(order_round(&o, UINT64_MAX, collect, c), 0);
	assert_int_equal(c->n, 5);
	order_free(&o);
	fake_free(&f);
	free(c);
}

/* A record with an impossible size (0) must not make the reader spin or read past it. */
static void test_corrupt_size_skips_the_round(void **state)
{
	struct fake_ring f;
	struct ring *rp = &f.ring;
	struct collected *c = calloc(1, sizeof(*c));
	struct perf_event_header bad = { .type = PERF_RECORD_SAMPLE, .size = 0 };

	(void)state;
	fake_init(&f, 0);
	put_sample(&f, 1, 10, 0);
	put(&f, &bad, sizeof(bad));
	put_sample(&f, 1, 20, 0);
	publish(&f);
	assert_int_equal(unordered_round(&rp, 1, collect, c), 0);
	assert_int_equal(c->n, 1);
	assert_int_equal(f.ring.corrupt, 1);
	assert_int_equal(f.ring.meta->data_tail, f.write);
	fake_free(&f);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_parse_fields),
		cmocka_unit_test(test_sample_parse_truncated),
		cmocka_unit_test(test_ring_wraps),
		cmocka_unit_test(test_order_many_rings_sorted),
		cmocka_unit_test(test_order_horizon_and_idle_ring),
		cmocka_unit_test(test_order_counts_late_samples),
		cmocka_unit_test(test_order_stop_early_keeps_rest),
		cmocka_unit_test(test_corrupt_size_skips_the_round),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
