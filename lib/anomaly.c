/* Memory anomaly detectors; see anomaly.h for the rules. */
#include <math.h>
#include <string.h>

#include "lib/anomaly.h"

void series_push(struct series *s, uint64_t v)
{
	s->v[s->head] = v;
	s->head = (s->head + 1) % SERIES_MAX;
	if (s->len < SERIES_MAX)
		s->len++;
}

uint32_t series_last(const struct series *s, uint32_t n, uint64_t *out)
{
	uint32_t take = n < s->len ? n : s->len;
	uint32_t start = (s->head + SERIES_MAX - take) % SERIES_MAX;

	for (uint32_t i = 0; i < take; i++)
		out[i] = s->v[(start + i) % SERIES_MAX];
	return take;
}

uint64_t rate_per_sec(uint64_t count, uint64_t elapsed_ns)
{
	if (!elapsed_ns)
		return 0;
	return (uint64_t)((double)count * 1e9 / (double)elapsed_ns + 0.5);
}

/* Least-squares slope of y over x = 0..n-1, y taken relative to y[0] (wrap safe). */
static double slope_per_sample(const uint64_t *y, uint32_t n)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;

	for (uint32_t i = 0; i < n; i++) {
		double x = i, v = (double)counter_delta(y[0], y[i]);

		sx += x;
		sy += v;
		sxx += x * x;
		sxy += x * v;
	}
	double den = n * sxx - sx * sx;

	return den > 0 ? (n * sxy - sx * sy) / den : 0;
}

bool detect_leak(const uint64_t *samples, uint32_t n, uint64_t window_alloc, const struct leak_cfg *cfg,
		 struct leak_result *out)
{
	uint32_t k = cfg->samples, need_grew;
	const uint64_t *w;
	bool fell = false;

	memset(out, 0, sizeof(*out));
	if (k < 1 || n < k + 1)
		return false;
	w = samples + (n - (k + 1));
	for (uint32_t i = 1; i <= k; i++) {
		int64_t d = counter_delta(w[i - 1], w[i]);

		if (d > 0)
			out->grew++;
		else if (d < 0)
			fell = true;
	}
	out->of = k;
	out->growth = counter_delta(w[0], w[k]);
	out->slope = slope_per_sample(w, k + 1) * (cfg->interval_ns ? 1e9 / (double)cfg->interval_ns : 1);
	if (out->growth <= 0 || (uint64_t)out->growth < cfg->min_growth)
		return false;
	out->retain_pct = window_alloc && (uint64_t)out->growth < window_alloc ?
			  (uint32_t)((uint64_t)out->growth * 100 / window_alloc) : 100;
	if (out->retain_pct < cfg->min_retain_pct)
		return false;
	need_grew = (k * 4 + 4) / 5; /* 80 %, rounded up */
	if (!fell && out->grew >= need_grew)
		out->leak = true;
	else if (cfg->min_slope && out->slope >= (double)cfg->min_slope)
		out->leak = out->by_slope = true;
	return out->leak;
}

uint32_t churn_score(uint64_t allocs_per_sec, uint64_t short_freed_bytes, uint64_t alloc_bytes,
		     const struct churn_cfg *cfg)
{
	double rate, life;

	if (!cfg->full_rate || !alloc_bytes)
		return 0;
	rate = (double)allocs_per_sec / (double)cfg->full_rate;
	life = (double)short_freed_bytes / (double)alloc_bytes;
	if (rate > 1)
		rate = 1;
	if (life > 1)
		life = 1;
	return (uint32_t)(100.0 * rate * life + 0.5);
}

bool detect_frag(const struct frag_input *in, const struct frag_cfg *cfg, struct frag_result *out)
{
	int lo = -1, hi = -1;

	memset(out, 0, sizeof(*out));
	if (in->small_alloc)
		out->ratio_pct = (uint32_t)(in->small_req * 100 / in->small_alloc);
	if (in->small_objs && in->small_objs >= cfg->min_objects && in->small_alloc &&
	    out->ratio_pct < cfg->min_ratio_pct)
		out->slab = true;
	for (int o = 0; o < FRAG_ORDERS; o++) {
		if (!in->pages[o])
			continue;
		if (lo < 0)
			lo = o;
		hi = o;
	}
	if (lo >= 0)
		out->order_spread = (uint32_t)(hi - lo);
	if (in->pages[0] && in->pages[0] >= cfg->min_objects && cfg->min_order_spread &&
	    out->order_spread >= cfg->min_order_spread)
		out->pages = true;
	return out->slab || out->pages;
}

bool detect_burst(const uint64_t *history, uint32_t n, uint64_t rate, const struct burst_cfg *cfg,
		  struct burst_result *out)
{
	double sum = 0, var = 0, floor;

	memset(out, 0, sizeof(*out));
	if (!n || n < cfg->min_history)
		return false;
	for (uint32_t i = 0; i < n; i++)
		sum += (double)history[i];
	out->mean = sum / n;
	for (uint32_t i = 0; i < n; i++)
		var += ((double)history[i] - out->mean) * ((double)history[i] - out->mean);
	out->stddev = sqrt(var / n);
	floor = out->mean / 10;
	out->limit = out->mean + cfg->k * (out->stddev > floor ? out->stddev : floor);
	out->burst = rate >= cfg->min_rate && (double)rate > out->limit;
	return out->burst;
}
