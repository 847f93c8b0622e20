/* Bounded min-heap top-N; see topn.h. */
#include <stdlib.h>

#include "lib/topn.h"

int topn_init(struct topn *t, int cap)
{
	t->heap = calloc((size_t)(cap > 0 ? cap : 1), sizeof(*t->heap));
	t->cap = cap;
	t->n = 0;
	t->seen = 0;
	return t->heap ? 0 : -1;
}

void topn_free(struct topn *t)
{
	free(t->heap);
	t->heap = NULL;
}

void topn_reset(struct topn *t)
{
	t->n = 0;
	t->seen = 0;
}

/* a is "worse" than b: smaller key, or equal key and larger id. */
static int worse(const struct topn_item *a, const struct topn_item *b)
{
	if (a->primary != b->primary)
		return a->primary < b->primary;
	if (a->secondary != b->secondary)
		return a->secondary < b->secondary;
	return a->id > b->id;
}

static void sift_up(struct topn_item *h, int i)
{
	while (i > 0) {
		int p = (i - 1) / 2;

		if (!worse(&h[i], &h[p]))
			break;
		struct topn_item tmp = h[i];
		h[i] = h[p];
		h[p] = tmp;
		i = p;
	}
}

static void sift_down(struct topn_item *h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, m = i;

		if (l < n && worse(&h[l], &h[m]))
			m = l;
		if (l + 1 < n && worse(&h[l + 1], &h[m]))
			m = l + 1;
		if (m == i)
			return;
		struct topn_item tmp = h[i];
		h[i] = h[m];
		h[m] = tmp;
		i = m;
	}
}

void topn_offer(struct topn *t, uint64_t primary, uint64_t secondary, uint32_t id)
{
	struct topn_item it = { primary, secondary, id };

	if (!primary && !secondary)
		return;
	t->seen++;
	if (t->n < t->cap) {
		t->heap[t->n] = it;
		sift_up(t->heap, t->n++);
	} else if (t->cap > 0 && worse(&t->heap[0], &it)) {
		t->heap[0] = it;
		sift_down(t->heap, t->n, 0);
	}
}

static int best_first(const void *a, const void *b)
{
	return worse(a, b) ? 1 : worse(b, a) ? -1 : 0;
}

int topn_finish(struct topn *t)
{
	qsort(t->heap, (size_t)t->n, sizeof(*t->heap), best_first);
	return t->n;
}
