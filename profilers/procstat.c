/*
 * procstat: per-process memory counters (VmSize, VmRSS and its parts,
 * VmSwap, VmData, VmPTE, VmStk) read from the task's mm in BPF when one of
 * its threads leaves a CPU. Values are the kernel's own, in kB like
 * /proc/PID/status.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/bpfview.h"
#include "bpf/bpfview_shared.h"
#include "procstat.skel.h"

#define PAGE_KB 4

enum { OPT_RSS = 'R', OPT_DURATION = 'd' };

static struct bv_view_opts opts;

/* Last printed seq per pid, to print only processes that ran in the interval. */
struct seen {
	__u32 pid;
	__u64 seq;
};

struct seen_table {
	struct seen *v;
	size_t cap;
};

static __u64 *seen_slot(struct seen_table *t, __u32 pid)
{
	size_t i;

	if (!t->cap) {
		t->cap = 32768;
		t->v = calloc(t->cap, sizeof(*t->v));
		if (!t->v) {
			t->cap = 0;
			return NULL;
		}
	}
	for (i = pid & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		if (t->v[i].pid == pid || !t->v[i].pid) {
			t->v[i].pid = pid;
			return &t->v[i].seq;
		}
	}
}

static void print_header(FILE *f)
{
	if (opts.seed_layout && opts.rss_only)
		fprintf(f, "%-8s %-8s %-8s %-8s %-8s %-8s\n", "TIME", "PID", "SIZE", "RSSANON", "RSSFILE", "RSSSHMEM");
	else if (opts.seed_layout)
		fprintf(f, "%-8s %-8s %-8s %-8s %-8s %-8s %-8s\n", "TIME", "PID", "VMSIZE", "VMDATA", "VMSTK", "VMPTE", "VMSWAP");
	else if (opts.rss_only)
		fprintf(f, "%-8s %7s %-16s %10s %10s %10s %10s\n", "TIME", "PID", "COMM", "SIZE", "RSSANON", "RSSFILE", "RSSSHMEM");
	else
		fprintf(f, "%-8s %7s %-16s %10s %10s %10s %10s %10s %8s %10s %8s %8s\n", "TIME", "PID", "COMM",
			"VSIZE", "SIZE", "RSSANON", "RSSFILE", "RSSSHMEM", "VSWAP", "VDATA", "VPTE", "VSTK");
}

static void print_row(FILE *f, const char *now, const struct bv_procmem *m)
{
	long long anon = m->rss[BV_RSS_ANON] * PAGE_KB, file = m->rss[BV_RSS_FILE] * PAGE_KB;
	long long shmem = m->rss[BV_RSS_SHMEM] * PAGE_KB, swap = m->rss[BV_SWAPENTS] * PAGE_KB;
	long long size = anon + file + shmem;
	unsigned long long vsize = m->total_vm * PAGE_KB, data = m->data_vm * PAGE_KB;
	unsigned long long stk = m->stack_vm * PAGE_KB, pte = m->pgtables_bytes >> 10;

	if (opts.seed_layout && opts.rss_only)
		fprintf(f, "%-8s %-8u %-8lld %-8lld %-8lld %-8lld\n", now, m->pid, size, anon, file, shmem);
	else if (opts.seed_layout)
		fprintf(f, "%-8s %-8u %-8llu %-8llu %-8llu %-8llu %-8lld\n", now, m->pid, vsize, data, stk, pte, swap);
	else if (opts.rss_only)
		fprintf(f, "%-8s %7u %-16.16s %10lld %10lld %10lld %10lld\n", now, m->pid, m->comm, size, anon, file, shmem);
	else
		fprintf(f, "%-8s %7u %-16.16s %10llu %10lld %10lld %10lld %10lld %8lld %10llu %8llu %8llu\n", now, m->pid,
			m->comm, vsize, size, anon, file, shmem, swap, data, pte, stk);
}

/* Print this interval's rows; drop processes that are gone. Returns live -p targets. */
static int report(struct procstat_bpf *skel, struct bv_run *r, struct seen_table *seen, FILE *f)
{
	int fd = bpf_map__fd(skel->maps.procs), live = 0;
	__u32 key, next, *prev = NULL;
	struct bv_procmem m;
	char now[16];

	bv_clock(now, sizeof(now));
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &m))
			continue;
		if (!bv_pid_alive((int)key)) {
			if (r->nr_pids)
				pr_verbose(1, "%s: process %u (%s) exited\n", r->name, key, m.comm);
			bpf_map_delete_elem(fd, &key);
			continue;
		}
		if (!r->nr_pids) {
			__u64 *last = seen_slot(seen, key);

			if (last && *last == m.seq)
				continue;
			if (last)
				*last = m.seq;
		}
		print_row(f, now, &m);
	}
	for (int i = 0; i < r->nr_pids; i++)
		live += bv_pid_alive(r->pids[i]);
	return live;
}

/* Wait (briefly) until every CPU's per-CPU offset is known, then sample each -p target once. */
static void initial_snapshot(struct procstat_bpf *skel, struct bv_run *r)
{
	int ncpu = bv_possible_cpus(), fd = bpf_map__fd(skel->maps.pcpu_offsets);
	int prog = bpf_program__fd(skel->progs.snapshot_pid);

	for (int tries = 0; tries < 50 && skel->rodata->pcpu_rq_to_off; tries++) {
		int known = 0;

		for (__u32 cpu = 0; cpu < (__u32)ncpu; cpu++) {
			__u64 off = 0;

			if (!bpf_map_lookup_elem(fd, &cpu, &off) && off)
				known++;
		}
		if (known == ncpu)
			break;
		usleep(10000);
	}
	if (prog < 0)
		return;
	for (int i = 0; i < r->nr_pids; i++) {
		struct { __s32 pid; } args = { r->pids[i] };
		LIBBPF_OPTS(bpf_test_run_opts, t, .ctx_in = &args, .ctx_size_in = sizeof(args));

		int err = bpf_prog_test_run_opts(prog, &t);

		if (err || t.retval)
			pr_verbose(1, "procstat: no initial sample of %d (%s)\n", r->pids[i],
				   err ? strerror(-err) : "the kernel did not find it");
	}
}

static int choose_and_load(struct procstat_bpf **out, struct bv_run *r, bool use_kprobe, bool snapshot)
{
	struct procstat_bpf *skel = procstat_bpf__open();
	int err;

	if (!skel)
		return bv_bpf_error(r->name, "opening the BPF object", -errno);
	skel->rodata->filter_pids = r->nr_pids > 0;
	skel->rodata->pcpu_nr_cpus = (__u32)bv_possible_cpus();
	skel->rodata->pcpu_rq_to_off = bv_rq_to_cpu_off();
	/* At most one switch-time sample per process per 1/100 of the interval. */
	skel->rodata->switch_gap_ns = (__u64)r->interval_ms * 10000ull;
	bpf_program__set_autoload(skel->progs.snapshot_pid, snapshot);
	bpf_program__set_autoload(skel->progs.on_finish_task_switch, use_kprobe);
	bpf_program__set_autoload(skel->progs.on_sched_switch, !use_kprobe);
	/* rss_stat fires on every RSS change: only worth it for chosen processes. */
	bpf_program__set_autoload(skel->progs.on_rss_stat, r->nr_pids > 0);
	err = procstat_bpf__load(skel);
	if (!err)
		err = procstat_bpf__attach(skel);
	if (err) {
		procstat_bpf__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

int procstat_main(struct env *e, const struct bv_view_opts *o)
{
	struct procstat_bpf *skel = NULL;
	struct seen_table seen = { 0 };
	struct bv_run r = { 0 };
	const char *pids = o->pids ? o->pids : e->pids;
	int ret, err = -ENOENT;

	opts = *o;
	ret = bv_start(&r, "procstat", e, o->duration_ns);
	if (ret)
		return ret;
	if (pids && (ret = bv_parse_pids(&r, pids, o->pids ? "-P" : "-p")))
		return ret;
	/* The seed hooks finish_task_switch; kernels without kprobes get sched_switch. */
	if (bv_have_kprobes()) {
		err = choose_and_load(&skel, &r, true, r.nr_pids > 0);
		if (err && r.nr_pids)
			err = choose_and_load(&skel, &r, true, false);
		if (!err)
			pr_verbose(1, "procstat: sampling on kprobe/finish_task_switch\n");
		else
			pr_verbose(1, "procstat: kprobe/finish_task_switch failed (%s), falling back\n", strerror(-err));
	} else {
		pr_verbose(1, "procstat: no kprobes in this kernel\n");
	}
	if (err) {
		err = choose_and_load(&skel, &r, false, r.nr_pids > 0);
		if (err && r.nr_pids) {
			pr_verbose(1, "procstat: no initial snapshot (syscall program refused: %s)\n", strerror(-err));
			err = choose_and_load(&skel, &r, false, false);
		}
		if (err)
			return bv_bpf_error(r.name, "loading tp_btf/sched_switch", err);
		pr_verbose(1, "procstat: sampling on tp_btf/sched_switch%s\n",
			   r.nr_pids ? " and tp_btf/rss_stat" : "");
	}
	for (int i = 0; i < r.nr_pids; i++) {
		__u32 pid = (__u32)r.pids[i];
		__u8 one = 1;

		bpf_map_update_elem(bpf_map__fd(skel->maps.targets), &pid, &one, BPF_ANY);
	}
	if (!skel->rodata->pcpu_rq_to_off)
		pr_verbose(1, "procstat: per-CPU offsets unknown: RSS is the central count, may lag /proc by a few pages per CPU\n");
	initial_snapshot(skel, &r);
	print_header(e->out);
	for (;;) {
		bool more = bv_wait(&r);
		int live = report(skel, &r, &seen, e->out);

		if (!bv_report_done(&r, e) || !more)
			break;
		if (r.nr_pids && !live) {
			pr_err("procstat: all selected processes exited");
			break;
		}
	}
	procstat_bpf__destroy(skel);
	free(seen.v);
	return EXIT_OK;
}

static int procstat_parse_opt(int key, const char *arg)
{
	switch (key) {
	case OPT_RSS: opts.rss_only = true; return 0;
	case OPT_DURATION: return bv_parse_duration("procstat", arg, &opts.duration_ns);
	}
	return -1;
}

static int procstat_run(struct env *e)
{
	return procstat_main(e, &opts);
}

static const struct prof_option procstat_opts[] = {
	{ "rss", OPT_RSS, false, NULL, "print only the RSS columns (SIZE RSSANON RSSFILE RSSSHMEM)" },
	{ "duration", OPT_DURATION, true, "TIME", "stop after TIME (e.g. 10, 10s, 500ms)" },
	{ NULL, 0, false, NULL, NULL },
};

static struct profiler procstat = {
	.name = "procstat",
	.desc = "per-process memory (VmSize, RSS anon/file/shmem, swap, data, PTE, stack) from BPF",
	.common = "pids interval exit-N output verbose",
	.opts = procstat_opts,
	.parse_opt = procstat_parse_opt,
	.run = procstat_run,
};
PROFILER_REGISTER(procstat);
