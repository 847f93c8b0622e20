/*
 * sysstat: system memory counters (/proc/meminfo's LRU, dirty, writeback,
 * mapped, shmem; with -n the slab, reclaimable and THP part) read in BPF
 * from every node's vm_stat. One row per interval, in kB like meminfo.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/bpfview.h"
#include "bpf/bpfview_shared.h"
#include "sysstat.skel.h"

#define PAGE_KB 4

enum { OPT_PART2 = 'n', OPT_DURATION = 'd' };

static struct bv_view_opts opts;

struct column {
	const char *name;   /* the seed's header */
	int a, b;           /* BV_NS_* summed (b < 0: none) */
};

static const struct column part1[] = {
	{ "ACTIVE", BV_NS_ACTIVE_ANON, BV_NS_ACTIVE_FILE },
	{ "INACTVE", BV_NS_INACTIVE_ANON, BV_NS_INACTIVE_FILE },
	{ "ANON_ACT", BV_NS_ACTIVE_ANON, -1 },
	{ "ANON_INA", BV_NS_INACTIVE_ANON, -1 },
	{ "FILE_ACT", BV_NS_ACTIVE_FILE, -1 },
	{ "FILE_INA", BV_NS_INACTIVE_FILE, -1 },
	{ "UNEVICT", BV_NS_UNEVICTABLE, -1 },
	{ "DIRTY", BV_NS_FILE_DIRTY, -1 },
	{ "WRITEBK", BV_NS_WRITEBACK, -1 },
	{ "ANONPAG", BV_NS_ANON_MAPPED, -1 },
	{ "MAP", BV_NS_FILE_MAPPED, -1 },
	{ "SHMEM", BV_NS_SHMEM, -1 },
};

/* NFS_UNSTB: NR_UNSTABLE_NFS was removed in 5.8; always 0 (meminfo prints 0 too). */
#define NO_ITEM -2
static const struct column part2[] = {
	{ "KRECLM", BV_NS_SLAB_RECL, BV_NS_KERNEL_MISC_RECL },
	{ "SLAB", BV_NS_SLAB_RECL, BV_NS_SLAB_UNRECL },
	{ "SRECLM", BV_NS_SLAB_RECL, -1 },
	{ "SUNRECLM", BV_NS_SLAB_UNRECL, -1 },
	{ "NFS_UNSTB", NO_ITEM, -1 },
	{ "WBTMP", BV_NS_WRITEBACK_TEMP, -1 },
	{ "ANONHUGE", BV_NS_ANON_THPS, -1 },
	{ "SHMEMHUGE", BV_NS_SHMEM_THPS, -1 },
};

/* meminfo clamps a transiently negative global counter to 0; so do we. */
static long long pages(const struct bv_nodestat *s, int i)
{
	if (i < 0 || (s->missing & (1u << i)))
		return 0;
	return s->v[i] < 0 ? 0 : s->v[i];
}

static void print_header(FILE *f, const struct column *c, int n)
{
	if (!opts.seed_layout)
		fprintf(f, "%-8s ", "TIME");
	for (int i = 0; i < n; i++)
		fprintf(f, "%-*s%s", opts.seed_layout ? 8 : 10, c[i].name, i + 1 < n ? " " : "\n");
}

static void print_row(FILE *f, const struct bv_nodestat *s, const struct column *c, int n)
{
	char now[16];

	if (!opts.seed_layout)
		fprintf(f, "%-8s ", bv_clock(now, sizeof(now)));
	for (int i = 0; i < n; i++) {
		long long kb = (pages(s, c[i].a) + pages(s, c[i].b)) * PAGE_KB;

		fprintf(f, "%-*lld%s", opts.seed_layout ? 8 : 10, kb, i + 1 < n ? " " : "\n");
	}
}

int sysstat_main(struct env *e, const struct bv_view_opts *o)
{
	const struct column *cols = o->part2 ? part2 : part1;
	int ncols = o->part2 ? (int)(sizeof(part2) / sizeof(part2[0])) : (int)(sizeof(part1) / sizeof(part1[0]));
	struct sysstat_bpf *skel;
	struct bv_run r = { 0 };
	bool test_run = true;
	__u64 last_seq = 0;
	int ret, err;

	opts = *o;
	ret = bv_start(&r, "sysstat", e, o->duration_ns);
	if (ret)
		return ret;
	skel = sysstat_bpf__open();
	if (!skel)
		return bv_bpf_error(r.name, "opening the BPF object", -errno);
	skel->rodata->nr_nodes = (__u32)bv_possible_nodes();
	err = sysstat_bpf__load(skel);
	if (err) {
		sysstat_bpf__destroy(skel);
		return bv_bpf_error(r.name, "loading the BPF programs", err);
	}
	{
		LIBBPF_OPTS(bpf_test_run_opts, t);

		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.snapshot), &t);
		if (err || t.retval) {
			if (!err) {
				pr_err("sysstat: cannot find the node data (no memory cgroup to reach pgdat through)");
				sysstat_bpf__destroy(skel);
				return EXIT_RUNTIME;
			}
			pr_verbose(1, "sysstat: test runs refused (%s), sampling at tp_btf/mm_page_alloc\n", strerror(-err));
			test_run = false;
			skel->links.on_page_alloc = bpf_program__attach(skel->progs.on_page_alloc);
			if (!skel->links.on_page_alloc) {
				err = -errno;
				sysstat_bpf__destroy(skel);
				return bv_bpf_error(r.name, "attaching tp_btf/mm_page_alloc", err);
			}
		} else {
			pr_verbose(1, "sysstat: sampling %u node(s) on demand (raw_tp test run) at each interval\n",
				   skel->bss->snap.nr_nodes);
		}
	}
	if (skel->bss->snap.missing & (1u << BV_NS_WRITEBACK_TEMP))
		pr_verbose(1, "sysstat: NR_WRITEBACK_TEMP is gone from this kernel: WBTMP prints 0\n");
	print_header(e->out, cols, ncols);
	for (;;) {
		bool more = bv_wait(&r);
		struct bv_nodestat s;

		if (test_run) {
			LIBBPF_OPTS(bpf_test_run_opts, t);

			bpf_prog_test_run_opts(bpf_program__fd(skel->progs.snapshot), &t);
		}
		s = skel->bss->snap;
		/* With event sampling an idle interval has nothing new: repeat the last row. */
		if (!test_run && s.seq == last_seq)
			pr_verbose(2, "sysstat: no allocation in this interval\n");
		last_seq = s.seq;
		if (s.nr_nodes)
			print_row(e->out, &s, cols, ncols);
		if (!bv_report_done(&r, e) || !more)
			break;
	}
	sysstat_bpf__destroy(skel);
	return EXIT_OK;
}

static int sysstat_parse_opt(int key, const char *arg)
{
	switch (key) {
	case OPT_PART2: opts.part2 = true; return 0;
	case OPT_DURATION: return bv_parse_duration("sysstat", arg, &opts.duration_ns);
	}
	return -1;
}

static int sysstat_run(struct env *e)
{
	return sysstat_main(e, &opts);
}

static const struct prof_option sysstat_opts[] = {
	{ "part2", OPT_PART2, false, NULL, "print the second column set (slab, reclaimable, THP)" },
	{ "duration", OPT_DURATION, true, "TIME", "stop after TIME (e.g. 10, 10s, 500ms)" },
	{ NULL, 0, false, NULL, NULL },
};

static struct profiler sysstat = {
	.name = "sysstat",
	.desc = "system memory counters (LRU, dirty, writeback, mapped, slab, THP) from BPF",
	.common = "interval exit-N output verbose",
	.opts = sysstat_opts,
	.parse_opt = sysstat_parse_opt,
	.run = sysstat_run,
};
PROFILER_REGISTER(sysstat);
