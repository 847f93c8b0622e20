/* k-way merge of rings; see order.h. */
#include <stdlib.h>

#include "lib/order.h"
#include "lib/sample.h"

int order_init(struct order *o, struct ring **rings, int nr)
{
	o->rings = rings;
	o->nr = nr;
	o->heap = calloc((size_t)(nr ? nr : 1), sizeof(int));
	o->last_time = 0;
	o->out_of_order = 0;
	o->delivered = 0;
	return o->heap ? 0 : -1;
}

void order_free(struct order *o)
{
	free(o->heap);
	o->heap = NULL;
}

/*
 * Hand on leading non-sample records (lost counts, comm changes) at once:
 * they carry no time of their own here. Leaves the ring at a sample or
 * empty. Returns the callback's stop value.
 */
static int skip_non_samples(struct ring *r, record_cb cb, void *ctx, uint64_t *time)
{
	const struct perf_event_header *h;
	int ret;

	while ((h = ring_peek(r))) {
		/* Too short to hold our fixed prefix: hand it on like a non-sample. */
		if (h->type == PERF_RECORD_SAMPLE && h->size >= SAMPLE_TIME_OFFSET + 8) {
			*time = sample_time_of(h);
			return 0;
		}
		ring_advance(r, h);
		ret = cb(ctx, r, h);
		if (ret)
			return ret;
	}
	*time = UINT64_MAX;
	return 0;
}


static void sift_down(int *heap, int n, const uint64_t *t, int i)
{
	for (;;) {
		int l = 2 * i + 1, m = i;

		if (l < n && t[heap[l]] < t[heap[m]])
			m = l;
		if (l + 1 < n && t[heap[l + 1]] < t[heap[m]])
			m = l + 1;
		if (m == i)
			return;
		int tmp = heap[i];
		heap[i] = heap[m];
		heap[m] = tmp;
		i = m;
	}
}

int order_round(struct order *o, uint64_t horizon, record_cb cb, void *ctx)
{
	uint64_t times_stack[64], *t = times_stack;
	int n = 0, ret = 0;

	if (o->nr > 64 && !(t = malloc(sizeof(*t) * (size_t)o->nr)))
		return -1;
	for (int i = 0; i < o->nr; i++) {
		ring_begin(o->rings[i]);
		ret = skip_non_samples(o->rings[i], cb, ctx, &t[i]);
		if (ret)
			goto out;
		if (t[i] != UINT64_MAX)
			o->heap[n++] = i;
	}
	for (int i = n / 2 - 1; i >= 0; i--)
		sift_down(o->heap, n, t, i);

	while (n > 0) {
		int ri = o->heap[0];
		struct ring *r = o->rings[ri];
		const struct perf_event_header *h;

		if (t[ri] > horizon)
			break;
		h = ring_peek(r);
		ring_advance(r, h);
		if (t[ri] < o->last_time)
			o->out_of_order++;
		else
			o->last_time = t[ri];
		o->delivered++;
		ret = cb(ctx, r, h);
		if (ret)
			goto out;
		ret = skip_non_samples(r, cb, ctx, &t[ri]);
		if (ret)
			goto out;
		if (t[ri] == UINT64_MAX)
			o->heap[0] = o->heap[--n];
		sift_down(o->heap, n, t, 0);
	}
out:
	for (int i = 0; i < o->nr; i++)
		ring_end(o->rings[i]);
	if (t != times_stack)
		free(t);
	return ret;
}

int unordered_round(struct ring **rings, int nr, record_cb cb, void *ctx)
{
	int ret = 0;

	for (int i = 0; i < nr && !ret; i++) {
		struct ring *r = rings[i];
		const struct perf_event_header *h;

		ring_begin(r);
		while ((h = ring_peek(r))) {
			ring_advance(r, h);
			ret = cb(ctx, r, h);
			if (ret)
				break;
		}
		ring_end(r);
	}
	return ret;
}
