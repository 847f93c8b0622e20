/*
 * Top-N selection without sorting everything: a bounded min-heap keeps the
 * N best (primary desc, secondary desc, id asc); the result is then sorted.
 */
#ifndef LIB_TOPN_H
#define LIB_TOPN_H

#include <stdint.h>

struct topn_item {
	uint64_t primary;   /* e.g. bytes */
	uint64_t secondary; /* e.g. objects */
	uint32_t id;
};

struct topn {
	struct topn_item *heap;
	int n, cap;
	uint64_t seen; /* items offered with a nonzero key */
};

int topn_init(struct topn *t, int cap);
void topn_free(struct topn *t);
void topn_reset(struct topn *t);
void topn_offer(struct topn *t, uint64_t primary, uint64_t secondary, uint32_t id);
/* Sort the kept items best first; returns their number. */
int topn_finish(struct topn *t);

#endif
