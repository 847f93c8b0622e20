/*
 * paf: free-memory pressure per zone (watermarks, present, managed, free,
 * as /proc/zoneinfo shows them) and this interval's page allocations by
 * gfp mask, with failed allocations and the reclaim/compaction they caused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/bpfview.h"
#include "bpf/bpfview_shared.h"
#include "paf.skel.h"

enum { OPT_DURATION = 'd', OPT_ALL_ZONES = 256 };

static struct bv_view_opts opts;
static bool all_zones;

struct gfp_row {
	__u32 gfp;
	struct bv_gfp_stat now, delta;
};

/* Previous totals per gfp, to print per-interval deltas. */
static struct gfp_row *prev_rows;
static size_t nr_prev;

static const struct bv_gfp_stat *prev_of(__u32 gfp)
{
	for (size_t i = 0; i < nr_prev; i++)
		if (prev_rows[i].gfp == gfp)
			return &prev_rows[i].now;
	return NULL;
}

static int by_allocs(const void *a, const void *b)
{
	const struct gfp_row *x = a, *y = b;

	if (x->delta.allocs != y->delta.allocs)
		return x->delta.allocs < y->delta.allocs ? 1 : -1;
	return x->gfp < y->gfp ? -1 : x->gfp > y->gfp;
}

/* Collect this interval's per-gfp deltas, busiest first; returns the count. */
static size_t collect(struct paf_bpf *skel, struct gfp_row **out)
{
	int fd = bpf_map__fd(skel->maps.gfps);
	__u32 key, next, *prev = NULL;
	struct gfp_row *rows = NULL;
	size_t n = 0, cap = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct gfp_row row = { .gfp = next };
		const struct bv_gfp_stat *p;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &row.now))
			continue;
		p = prev_of(key);
		row.delta = row.now;
		if (p) {
			row.delta.allocs -= p->allocs;
			row.delta.failed -= p->failed;
			row.delta.pages -= p->pages;
		}
		if (n == cap) {
			struct gfp_row *tmp = realloc(rows, (cap = cap ? cap * 2 : 64) * sizeof(*rows));

			if (!tmp)
				break;
			rows = tmp;
		}
		rows[n++] = row;
	}
	qsort(rows, n, sizeof(*rows), by_allocs);
	free(prev_rows);
	prev_rows = rows ? malloc(n * sizeof(*rows)) : NULL;
	nr_prev = prev_rows ? n : 0;
	if (prev_rows)
		memcpy(prev_rows, rows, n * sizeof(*rows));
	*out = rows;
	return n;
}

/* The zone the seed printed: the populated one with the most managed pages (Normal). */
static const struct bv_zone *main_zone(const struct bv_zones *zs)
{
	const struct bv_zone *best = NULL;

	for (__u32 i = 0; i < zs->nr && i < BV_MAX_NODES * BV_MAX_ZONES; i++)
		if (zs->z[i].populated && (!best || zs->z[i].managed > best->managed))
			best = &zs->z[i];
	return best;
}

static void report_seed(FILE *f, const struct bv_zones *zs, struct gfp_row *rows, size_t n)
{
	const struct bv_zone *z = main_zone(zs);

	for (size_t i = 0; z && i < n; i++)
		if (rows[i].delta.allocs)
			fprintf(f, "%-8llu %-9llu %-8llu %-8llu %-8x\n", (unsigned long long)z->wmark_min,
				(unsigned long long)z->wmark_low, (unsigned long long)z->wmark_high,
				(unsigned long long)z->present, rows[i].gfp);
}

static void report(FILE *f, struct env *e, const struct bv_zones *zs, const __u64 *pr, __u64 *pr_prev,
		   struct gfp_row *rows, size_t n)
{
	char now[16], names[256];
	int shown = 0;

	fprintf(f, "%-8s %4s %-8s %9s %9s %9s %10s %10s %10s\n", bv_clock(now, sizeof(now)), "NODE", "ZONE",
		"MIN", "LOW", "HIGH", "PRESENT", "MANAGED", "FREE");
	for (__u32 i = 0; i < zs->nr && i < BV_MAX_NODES * BV_MAX_ZONES; i++) {
		const struct bv_zone *z = &zs->z[i];

		if (!z->populated && !all_zones)
			continue;
		fprintf(f, "%-8s %4u %-8s %9llu %9llu %9llu %10llu %10llu %10lld\n", "zone", z->node, z->name,
			(unsigned long long)z->wmark_min, (unsigned long long)z->wmark_low,
			(unsigned long long)z->wmark_high, (unsigned long long)z->present,
			(unsigned long long)z->managed, (long long)z->free);
	}
	fprintf(f, "%-8s %10s %10s %8s %s\n", "", "ALLOCS", "PAGES", "FAILED", "GFP");
	for (size_t i = 0; i < n && shown < e->top; i++) {
		if (!rows[i].delta.allocs)
			continue;
		fprintf(f, "%-8s %10llu %10llu %8llu %s\n", "gfp", (unsigned long long)rows[i].delta.allocs,
			(unsigned long long)rows[i].delta.pages, (unsigned long long)rows[i].delta.failed,
			bv_gfp_names(rows[i].gfp, names, sizeof(names)));
		shown++;
	}
	fprintf(f, "pressure: alloc_failed=%llu direct_reclaim=%llu compact=%llu kswapd_wake=%llu\n\n",
		(unsigned long long)(pr[BV_PR_FAILED] - pr_prev[BV_PR_FAILED]),
		(unsigned long long)(pr[BV_PR_DIRECT_RECLAIM] - pr_prev[BV_PR_DIRECT_RECLAIM]),
		(unsigned long long)(pr[BV_PR_COMPACT] - pr_prev[BV_PR_COMPACT]),
		(unsigned long long)(pr[BV_PR_KSWAPD_WAKE] - pr_prev[BV_PR_KSWAPD_WAKE]));
	memcpy(pr_prev, pr, BV_NR_PRESSURE * sizeof(*pr));
}

int paf_main(struct env *e, const struct bv_view_opts *o)
{
	__u64 pr_prev[BV_NR_PRESSURE] = { 0 };
	struct bv_run r = { 0 };
	struct paf_bpf *skel;
	int ret, err;

	opts = *o;
	ret = bv_start(&r, "paf", e, o->duration_ns);
	if (ret)
		return ret;
	skel = paf_bpf__open();
	if (!skel)
		return bv_bpf_error(r.name, "opening the BPF object", -errno);
	skel->rodata->nr_nodes = (__u32)bv_possible_nodes();
	err = paf_bpf__load(skel);
	if (!err)
		err = paf_bpf__attach(skel);
	if (err) {
		paf_bpf__destroy(skel);
		return bv_bpf_error(r.name, "loading the page allocation programs", err);
	}
	pr_verbose(1, "paf: zones by raw_tp test run each interval; tp_btf mm_page_alloc, "
		   "mm_vmscan_direct_reclaim_begin, mm_compaction_try_to_compact_pages, mm_vmscan_wakeup_kswapd\n");
	if (o->seed_layout)
		fprintf(e->out, "%-8s %-9s %-8s %-8s %-8s\n", "MIN", "LOW", "HIGH", "PRESENT", "FLAG");
	for (;;) {
		bool more = bv_wait(&r);
		LIBBPF_OPTS(bpf_test_run_opts, t);
		struct gfp_row *rows = NULL;
		struct bv_zones zs;
		__u64 pr[BV_NR_PRESSURE];
		size_t n;

		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.zones_snapshot), &t);
		if (err || t.retval) {
			pr_err("paf: cannot read the zones (%s)", err ? strerror(-err) : "no node data reachable");
			ret = EXIT_RUNTIME;
			break;
		}
		zs = skel->bss->zones;
		memcpy(pr, skel->bss->pressure, sizeof(pr));
		n = collect(skel, &rows);
		if (o->seed_layout)
			report_seed(e->out, &zs, rows, n);
		else
			report(e->out, e, &zs, pr, pr_prev, rows, n);
		free(rows);
		if (!bv_report_done(&r, e) || !more)
			break;
	}
	free(prev_rows);
	prev_rows = NULL;
	nr_prev = 0;
	paf_bpf__destroy(skel);
	return ret;
}

static int paf_parse_opt(int key, const char *arg)
{
	switch (key) {
	case OPT_DURATION: return bv_parse_duration("paf", arg, &opts.duration_ns);
	case OPT_ALL_ZONES: all_zones = true; return 0;
	}
	return -1;
}

static int paf_run(struct env *e)
{
	return paf_main(e, &opts);
}

static const struct prof_option paf_opts[] = {
	{ "duration", OPT_DURATION, true, "TIME", "stop after TIME (e.g. 10, 10s, 500ms)" },
	{ "all-zones", OPT_ALL_ZONES, false, NULL, "also print zones with no pages" },
	{ NULL, 0, false, NULL, NULL },
};

static struct profiler paf = {
	.name = "paf",
	.desc = "zone watermarks and free pages, allocations by gfp, failures and pressure (BPF)",
	.common = "interval exit-N top output verbose",
	.opts = paf_opts,
	.parse_opt = paf_parse_opt,
	.run = paf_run,
};
PROFILER_REGISTER(paf);
