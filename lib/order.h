/*
 * --order: k-way merge of per-CPU rings into one time order (pairing.md).
 *
 * Records are handed on in place (no copy). A round reads every ring up
 * to the head snapshotted after `now` was taken; a sample with time <=
 * horizon (now minus a small lateness for records still being committed)
 * cannot be preceded by anything not yet visible, so it is safe. Later
 * samples stay in their ring for the next round. Idle rings never hold
 * the merge back because the horizon comes from the clock, not from them.
 */
#ifndef LIB_ORDER_H
#define LIB_ORDER_H

#include <stdint.h>

#include "lib/ring.h"

/* Called for every record; return nonzero to stop the round early. */
typedef int (*record_cb)(void *ctx, struct ring *r, const struct perf_event_header *h);

struct order {
	struct ring **rings;
	int nr;
	int *heap;            /* ring indexes, min-heap on next sample time */
	uint64_t last_time;   /* time of the last sample handed on */
	uint64_t out_of_order;/* samples older than one already handed on */
	uint64_t delivered;
};

int order_init(struct order *o, struct ring **rings, int nr);
void order_free(struct order *o);
/*
 * One round: ring_begin() every ring, deliver samples with time <= horizon
 * in time order and all other records as met, ring_end() every ring.
 * Returns the callback's nonzero value if it stopped the round, else 0.
 */
int order_round(struct order *o, uint64_t horizon, record_cb cb, void *ctx);
/* Without --order: each ring in turn, everything up to its head. */
int unordered_round(struct ring **rings, int nr, record_cb cb, void *ctx);

#endif
