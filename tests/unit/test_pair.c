/* The pairing table (lib/pair.c), stack interning (lib/stack.c) and top-N (lib/topn.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/pair.h"
#include "lib/stack.h"
#include "lib/topn.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* What on_drop saw. */
struct drops {
	uint64_t replaced, evicted;
	struct live_rec last;
	uint64_t max_evicted_time;
};

static void on_drop(void *ctx, const struct live_rec *r, enum pair_drop why)
{
	struct drops *d = ctx;

	if (why == PAIR_REPLACED) {
		d->replaced++;
	} else {
		d->evicted++;
		if (r->time > d->max_evicted_time)
			d->max_evicted_time = r->time;
	}
	d->last = *r;
}

/* Keys that look like slab pointers: same high bits, 64-byte aligned. */
static uint64_t key_of(unsigned int k)
{
	return 0xffff888100000000ULL + (uint64_t)k * 64;
}

static struct live_rec rec(uint64_t key, uint64_t time, uint64_t size, uint32_t stack)
{
	return (struct live_rec){ .key = key, .time = time, .size = size, .stack = stack, .pid = 42 };
}

static void test_start_end_pairs(void **state)
{
	struct pair_table t;
	struct drops d = { 0 };
	struct live_rec out, r = rec(0xffff888100001000ULL, 100, 64, 3);

	(void)state;
	assert_int_equal(pair_table_init(&t, 0, on_drop, &d), 0);
	assert_int_equal(pair_start(&t, &r), 0);
	assert_int_equal(t.count, 1);
	assert_non_null(pair_find(&t, r.key));
	assert_true(pair_end(&t, r.key, &out));
	assert_int_equal(out.time, 100);
	assert_int_equal(out.size, 64);
	assert_int_equal(out.stack, 3);
	assert_int_equal(out.pid, 42);
	assert_int_equal(t.count, 0);
	assert_null(pair_find(&t, r.key));
	assert_int_equal(t.nr_started, 1);
	assert_int_equal(t.nr_paired, 1);
	assert_int_equal(d.replaced + d.evicted, 0);
	pair_table_free(&t);
}

static void test_replacement_closes_the_old_record(void **state)
{
	struct pair_table t;
	struct drops d = { 0 };
	struct live_rec out, a = rec(7, 100, 10, 1), b = rec(7, 200, 20, 2);

	(void)state;
	assert_int_equal(pair_table_init(&t, 0, on_drop, &d), 0);
	pair_start(&t, &a);
	pair_start(&t, &b);
	assert_int_equal(t.count, 1);
	assert_int_equal(t.nr_replaced, 1);
	assert_int_equal(d.replaced, 1);
	/* The callback sees the record that is going away. */
	assert_int_equal(d.last.time, 100);
	assert_int_equal(d.last.size, 10);
	assert_true(pair_end(&t, 7, &out));
	assert_int_equal(out.time, 200);
	assert_int_equal(out.size, 20);
	assert_int_equal(t.nr_paired, 1);
	pair_table_free(&t);
}

static void test_end_without_start_is_counted(void **state)
{
	struct pair_table t;
	struct live_rec out, a = rec(1, 1, 1, 1);

	(void)state;
	assert_int_equal(pair_table_init(&t, 0, NULL, NULL), 0);
	assert_false(pair_end(&t, 99, &out));
	assert_int_equal(t.nr_unmatched, 1);
	pair_start(&t, &a);
	assert_true(pair_end(&t, 1, &out));
	/* The same end a second time has no start any more. */
	assert_false(pair_end(&t, 1, &out));
	assert_int_equal(t.nr_unmatched, 2);
	assert_int_equal(t.nr_paired, 1);
	pair_table_free(&t);
}

static void test_max_live_evicts_oldest_and_counts(void **state)
{
	struct pair_table t;
	struct drops d = { 0 };
	const uint64_t max = 1000, n = 20000;

	(void)state;
	assert_int_equal(pair_table_init(&t, max, on_drop, &d), 0);
	for (uint64_t i = 0; i < n; i++) {
		struct live_rec r = rec(key_of((unsigned int)(i)), i + 1, 8, 1);

		assert_int_equal(pair_start(&t, &r), 0);
		assert_true(t.count <= max);
	}
	/* Nothing vanishes silently: every start is live or evicted (and was reported). */
	assert_int_equal(t.count + t.nr_evicted, n);
	assert_int_equal(d.evicted, t.nr_evicted);
	assert_true(t.nr_evicted >= n - max);
	/* The newest survive: the very last start is live, and evicted ones are old. */
	assert_non_null(pair_find(&t, key_of((unsigned int)(n - 1))));
	assert_true(d.max_evicted_time < n - max / 2);
	pair_table_free(&t);
}

/* ---- random insert/delete against a reference model ---- */

#define KEYSPACE 6000

struct model {
	bool live[KEYSPACE];
	uint64_t time[KEYSPACE];
	uint64_t count;
};

static void count_visit(void *ctx, const struct live_rec *r)
{
	uint64_t *n = ctx;

	(void)r;
	(*n)++;
}

static void check_model(const struct pair_table *t, const struct model *m)
{
	uint64_t visited = 0;

	assert_int_equal(t->count, m->count);
	for (unsigned int k = 0; k < KEYSPACE; k++) {
		const struct live_rec *r = pair_find(t, key_of(k));

		if (m->live[k] != (r != NULL))
			fail_msg("key %u: model says %s, table says %s", k, m->live[k] ? "live" : "gone",
				 r ? "live" : "gone");
		if (r)
			assert_int_equal(r->time, m->time[k]);
	}
	pair_foreach(t, count_visit, &visited);
	assert_int_equal(visited, m->count);
}

static void test_random_ops_match_model(void **state)
{
	struct pair_table t;
	struct model *m = calloc(1, sizeof(*m));
	uint64_t replaced = 0, unmatched = 0;

	(void)state;
	assert_int_equal(pair_table_init(&t, 0, NULL, NULL), 0);
	for (uint64_t op = 1; op <= 400000; op++) {
		unsigned int k = (unsigned int)(rnd() % KEYSPACE);
		/* Phases of mostly inserts and mostly deletes sweep the load up and down. */
		bool insert = (rnd() % 100) < ((op / 50000) % 2 ? 30 : 70);

		if (insert) {
			struct live_rec r = rec(key_of(k), op, 1, 1);

			replaced += m->live[k];
			if (!m->live[k])
				m->count++;
			m->live[k] = true;
			m->time[k] = op;
			assert_int_equal(pair_start(&t, &r), 0);
		} else {
			struct live_rec out;
			bool found = pair_end(&t, key_of(k), &out);

			assert_int_equal(found, m->live[k]);
			if (found) {
				assert_int_equal(out.time, m->time[k]);
				m->live[k] = false;
				m->count--;
			} else {
				unmatched++;
			}
		}
		if (op % 25000 == 0)
			check_model(&t, m);
	}
	check_model(&t, m);
	assert_int_equal(t.nr_replaced, replaced);
	assert_int_equal(t.nr_unmatched, unmatched);
	pair_table_free(&t);
	free(m);
}

/* ---- stacks ---- */

static void test_stack_identity_and_salt(void **state)
{
	struct stack_table *t = stack_table_new();
	uint64_t a[] = { 0xffffffff81000010ULL, 0xffffffff81000020ULL, 0xffffffff81000030ULL };
	uint64_t b[] = { 0xffffffff81000010ULL, 0xffffffff81000020ULL };
	uint64_t a_copy[3];
	uint32_t ia, ib, ia_salt, inone, nr;
	const uint64_t *ips;

	(void)state;
	assert_non_null(t);
	memcpy(a_copy, a, sizeof(a));
	ia = stack_intern(t, 0, a, 3);
	assert_int_not_equal(ia, 0);
	/* Same frames, same salt: same id, whatever the buffer. */
	assert_int_equal(stack_intern(t, 0, a_copy, 3), ia);
	/* A prefix is another stack. */
	ib = stack_intern(t, 0, b, 2);
	assert_int_not_equal(ib, ia);
	/* The salt is part of the identity. */
	ia_salt = stack_intern(t, 1, a, 3);
	assert_int_not_equal(ia_salt, ia);
	assert_int_equal(stack_salt(t, ia_salt), 1);
	assert_int_equal(stack_salt(t, ia), 0);
	inone = stack_intern(t, 5, NULL, 0);
	assert_int_not_equal(inone, 0);
	assert_int_equal(stack_intern(t, 5, NULL, 0), inone);
	assert_int_equal(stack_count(t), 4);
	ips = stack_ips(t, ia, &nr);
	assert_int_equal(nr, 3);
	assert_memory_equal(ips, a, sizeof(a));
	stack_table_free(t);
}

static void test_many_stacks_keep_their_ids(void **state)
{
	struct stack_table *t = stack_table_new();
	const uint32_t n = 20000; /* past the initial index, entry and frame sizes */
	uint32_t *ids = malloc(n * sizeof(*ids));

	(void)state;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t ips[8];

		for (int f = 0; f < 8; f++)
			ips[f] = 0xffffffff81000000ULL + i * 16 + (uint64_t)f;
		ids[i] = stack_intern(t, i % 3, ips, 1 + i % 8);
		assert_int_equal(ids[i], i + 1);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t ips[8];
		uint32_t nr;

		for (int f = 0; f < 8; f++)
			ips[f] = 0xffffffff81000000ULL + i * 16 + (uint64_t)f;
		assert_int_equal(stack_intern(t, i % 3, ips, 1 + i % 8), ids[i]);
		assert_memory_equal(stack_ips(t, ids[i], &nr), ips, (1 + i % 8) * sizeof(uint64_t));
		assert_int_equal(nr, 1 + i % 8);
	}
	assert_int_equal(stack_count(t), n);
	free(ids);
	stack_table_free(t);
}

/* ---- top-N ---- */

static void test_topn_order_with_ties(void **state)
{
	struct topn t;
	/* bytes desc, then objects desc, then id asc */
	static const struct topn_item in[] = {
		{ 100, 1, 9 }, { 300, 2, 4 }, { 300, 5, 8 }, { 300, 5, 2 }, { 50, 50, 1 },
		{ 0, 0, 3 },  /* nothing: not counted */
		{ 300, 5, 6 }, { 200, 1, 7 }, { 100, 1, 5 },
	};
	static const uint32_t want[] = { 2, 6, 8, 4, 7 };
	int n;

	(void)state;
	assert_int_equal(topn_init(&t, 5), 0);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		topn_offer(&t, in[i].primary, in[i].secondary, in[i].id);
	n = topn_finish(&t);
	assert_int_equal(n, 5);
	assert_int_equal(t.seen, 8);
	for (int i = 0; i < n; i++)
		assert_int_equal(t.heap[i].id, want[i]);
	/* Reset starts afresh; fewer than N offered keeps them all. */
	topn_reset(&t);
	topn_offer(&t, 100, 1, 9);
	topn_offer(&t, 100, 1, 5);
	n = topn_finish(&t);
	assert_int_equal(n, 2);
	assert_int_equal(t.heap[0].id, 5);
	assert_int_equal(t.heap[1].id, 9);
	topn_free(&t);
}

static int cmp_item(const void *a, const void *b)
{
	const struct topn_item *x = a, *y = b;

	if (x->primary != y->primary)
		return x->primary > y->primary ? -1 : 1;
	if (x->secondary != y->secondary)
		return x->secondary > y->secondary ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void test_topn_matches_full_sort(void **state)
{
	enum { N = 5000, K = 10 };
	struct topn_item *all = malloc(N * sizeof(*all));
	struct topn t;

	(void)state;
	assert_int_equal(topn_init(&t, K), 0);
	for (uint32_t i = 0; i < N; i++) {
		/* Few distinct values, so ties are everywhere. */
		all[i] = (struct topn_item){ 1 + rnd() % 20, 1 + rnd() % 4, i + 1 };
		topn_offer(&t, all[i].primary, all[i].secondary, all[i].id);
	}
	qsort(all, N, sizeof(*all), cmp_item);
	assert_int_equal(topn_finish(&t), K);
	for (int i = 0; i < K; i++) {
		assert_int_equal(t.heap[i].id, all[i].id);
		assert_int_equal(t.heap[i].primary, all[i].primary);
	}
	topn_free(&t);
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_end_pairs),
		cmocka_unit_test(test_replacement_closes_the_old_record),
		cmocka_unit_test(test_end_without_start_is_counted),
		cmocka_unit_test(test_max_live_evicts_oldest_and_counts),
		cmocka_unit_test(test_random_ops_match_model),
		cmocka_unit_test(test_stack_identity_and_salt),
		cmocka_unit_test(test_many_stacks_keep_their_ids),
		cmocka_unit_test(test_topn_order_with_ties),
		cmocka_unit_test(test_topn_matches_full_sort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
