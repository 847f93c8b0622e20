/*
 * The pairing table shared by kmemprof, kmemleak, multi-trace and
 * kmemsnoop (pairing.md): live start records by key, in one open-addressing
 * array (linear probing, backward-shift deletion, no tombstones), grown as
 * needed or bounded by --max-live with the oldest evicted and counted.
 */
#ifndef LIB_PAIR_H
#define LIB_PAIR_H

#include <stdbool.h>
#include <stdint.h>

struct live_rec {
	uint64_t key;
	uint64_t time;
	uint64_t size;
	uint32_t stack;  /* interned stack id */
	uint32_t pid;    /* tgid of the starting task */
	uint16_t evsel;  /* the start event */
	uint16_t used;
	uint32_t aux;    /* free for the profiler */
};

enum pair_drop { PAIR_REPLACED, PAIR_EVICTED };

/* Told about records that leave the table without an end (so live counters stay right). */
typedef void (*pair_drop_fn)(void *ctx, const struct live_rec *r, enum pair_drop why);

struct pair_table {
	struct live_rec *slots;
	uint64_t mask;
	uint64_t count;
	uint64_t max_live;   /* 0 = unbounded */
	pair_drop_fn on_drop;
	void *ctx;
	/* accounting, never reset by the table */
	uint64_t nr_started, nr_paired, nr_replaced, nr_unmatched, nr_evicted;
};

int pair_table_init(struct pair_table *t, uint64_t max_live, pair_drop_fn on_drop, void *ctx);
void pair_table_free(struct pair_table *t);
/* A start: insert, replacing (and reporting) a live record with the same key. */
int pair_start(struct pair_table *t, const struct live_rec *rec);
/* An end: if key is live, remove it into *out and return true; else count it unmatched. */
bool pair_end(struct pair_table *t, uint64_t key, struct live_rec *out);
/* Look without removing. */
const struct live_rec *pair_find(const struct pair_table *t, uint64_t key);
/* Visit every live record (the table must not change meanwhile). */
void pair_foreach(const struct pair_table *t, void (*fn)(void *ctx, const struct live_rec *r), void *ctx);

#endif
