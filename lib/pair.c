/* Pairing table; see pair.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/pair.h"

#define INITIAL_SLOTS 4096
#define EVICT_SAMPLE 512

int pair_table_init(struct pair_table *t, uint64_t max_live, pair_drop_fn on_drop, void *ctx)
{
	memset(t, 0, sizeof(*t));
	t->slots = calloc(INITIAL_SLOTS, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->mask = INITIAL_SLOTS - 1;
	t->max_live = max_live;
	t->on_drop = on_drop;
	t->ctx = ctx;
	return 0;
}

void pair_table_free(struct pair_table *t)
{
	free(t->slots);
	t->slots = NULL;
}

static inline uint64_t slot_of(const struct pair_table *t, uint64_t key)
{
	return hash_u64(key) & t->mask;
}

static int grow(struct pair_table *t)
{
	uint64_t ncap = (t->mask + 1) * 2;
	struct live_rec *n = calloc(ncap, sizeof(*n)), *old = t->slots;
	uint64_t ocap = t->mask + 1;

	if (!n)
		return -ENOMEM;
	t->slots = n;
	t->mask = ncap - 1;
	for (uint64_t i = 0; i < ocap; i++) {
		if (!old[i].used)
			continue;
		uint64_t j = slot_of(t, old[i].key);

		while (n[j].used)
			j = (j + 1) & t->mask;
		n[j] = old[i];
	}
	free(old);
	return 0;
}

/* Remove slot i, shifting later members of its probe run back (no tombstones). */
static void remove_slot(struct pair_table *t, uint64_t i)
{
	uint64_t j = i;

	for (;;) {
		j = (j + 1) & t->mask;
		if (!t->slots[j].used)
			break;
		uint64_t home = slot_of(t, t->slots[j].key);

		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].used = 0;
	t->count--;
}

static int64_t find_slot(const struct pair_table *t, uint64_t key)
{
	for (uint64_t i = slot_of(t, key);; i = (i + 1) & t->mask) {
		if (!t->slots[i].used)
			return -1;
		if (t->slots[i].key == key)
			return (int64_t)i;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Make room under --max-live: drop about the oldest eighth at once, so the
 * full scan is paid once per many inserts. The cut-off time comes from an
 * evenly spread sample of the table.
 */
static void evict_oldest(struct pair_table *t)
{
	uint64_t sample[EVICT_SAMPLE], cap = t->mask + 1, cut, *keys;
	uint64_t need = t->count - t->max_live + 1, n = 0, nk = 0;
	uint64_t step = cap / EVICT_SAMPLE ? cap / EVICT_SAMPLE : 1;

	for (uint64_t i = 0; i < cap && n < EVICT_SAMPLE; i += step)
		for (uint64_t j = i; j < cap && j < i + step; j++)
			if (t->slots[j].used) {
				sample[n++] = t->slots[j].time;
				break;
			}
	if (!n)
		return;
	qsort(sample, n, sizeof(*sample), cmp_u64);
	cut = sample[n / 8];
	keys = malloc(sizeof(*keys) * t->count);
	if (!keys)
		return;
	for (uint64_t i = 0; i < cap; i++)
		if (t->slots[i].used && t->slots[i].time <= cut)
			keys[nk++] = t->slots[i].key;
	/* The sample may miss the very oldest: then take any, oldest first is not guaranteed. */
	for (uint64_t i = 0; nk < need && i < cap; i++)
		if (t->slots[i].used && t->slots[i].time > cut)
			keys[nk++] = t->slots[i].key;
	for (uint64_t k = 0; k < nk; k++) {
		int64_t s = find_slot(t, keys[k]);

		if (s < 0)
			continue;
		if (t->on_drop)
			t->on_drop(t->ctx, &t->slots[s], PAIR_EVICTED);
		t->nr_evicted++;
		remove_slot(t, (uint64_t)s);
	}
	free(keys);
}

int pair_start(struct pair_table *t, const struct live_rec *rec)
{
	uint64_t i;

	t->nr_started++;
	for (i = slot_of(t, rec->key); t->slots[i].used; i = (i + 1) & t->mask) {
		if (t->slots[i].key == rec->key) {
			/* Its end was never seen: close it as replaced, keep the new one. */
			if (t->on_drop)
				t->on_drop(t->ctx, &t->slots[i], PAIR_REPLACED);
			t->nr_replaced++;
			t->slots[i] = *rec;
			t->slots[i].used = 1;
			return 0;
		}
	}
	if (t->max_live && t->count >= t->max_live) {
		evict_oldest(t);
		for (i = slot_of(t, rec->key); t->slots[i].used; i = (i + 1) & t->mask)
			;
	}
	/* Grow at 3/4 load: linear probing degrades quickly past that. */
	if ((t->count + 1) * 4 > (t->mask + 1) * 3) {
		if (grow(t))
			return -ENOMEM;
		for (i = slot_of(t, rec->key); t->slots[i].used; i = (i + 1) & t->mask)
			;
	}
	t->slots[i] = *rec;
	t->slots[i].used = 1;
	t->count++;
	return 0;
}

bool pair_end(struct pair_table *t, uint64_t key, struct live_rec *out)
{
	int64_t i = find_slot(t, key);

	if (i < 0) {
		t->nr_unmatched++;
		return false;
	}
	*out = t->slots[i];
	remove_slot(t, (uint64_t)i);
	t->nr_paired++;
	return true;
}

const struct live_rec *pair_find(const struct pair_table *t, uint64_t key)
{
	int64_t i = find_slot(t, key);

	return i < 0 ? NULL : &t->slots[i];
}

void pair_foreach(const struct pair_table *t, void (*fn)(void *ctx, const struct live_rec *r), void *ctx)
{
	for (uint64_t i = 0; i <= t->mask; i++)
		if (t->slots[i].used)
			fn(ctx, &t->slots[i]);
}
