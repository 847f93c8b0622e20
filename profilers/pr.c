/*
 * pr: page reclaim, one row per reclaim pass (direct, memcg, node) with
 * what its shrink_inactive batches saw, plus kswapd's batches one by one.
 * Counts are pages.
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/bpfview.h"
#include "bpf/bpfview_shared.h"
#include "pr.skel.h"

enum { OPT_DURATION = 'd' };

static struct bv_view_opts opts;

struct pr_state {
	FILE *out;
	struct env *env;
	long rows;
	bool done;
	unsigned long long passes, reclaimed, scanned;
};

static const char *type_name(__u32 t)
{
	switch (t) {
	case BV_RC_DIRECT: return "direct";
	case BV_RC_MEMCG: return "memcg";
	case BV_RC_NODE: return "node";
	case BV_RC_LRU: return "kswapd/lru";
	}
	return "?";
}

static void print_header(FILE *f)
{
	if (opts.seed_layout)
		fprintf(f, "%-8s %-9s %-8s %-8s %-8s\n", "RECLAIM", "RECLAIMED", "UNQUEUE", "CONGESTED", "WRITEBACK");
	else
		fprintf(f, "%-8s %7s %-16s %-10s %8s %9s %8s %8s %8s %9s %9s %8s %7s %9s\n", "TIME", "PID", "COMM",
			"TYPE", "RECLAIM", "RECLAIMED", "SCANNED", "UNQUEUE", "IMMED", "CONGESTED", "WRITEBACK",
			"DIRTY", "BATCHES", "LAT_US");
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct pr_state *st = ctx;
	const struct bv_reclaim *r = data;
	char now[16], want[24];

	if (size < sizeof(*r) || st->done)
		return 0;
	if (r->nr_to_reclaim >= 0)
		snprintf(want, sizeof(want), "%lld", (long long)r->nr_to_reclaim);
	else
		snprintf(want, sizeof(want), "-");
	if (opts.seed_layout)
		fprintf(st->out, "%-8s %-9llu %-8llu %-8llu %-8llu\n", want, (unsigned long long)r->nr_reclaimed,
			(unsigned long long)r->nr_unqueued_dirty, (unsigned long long)r->nr_congested,
			(unsigned long long)r->nr_writeback);
	else
		fprintf(st->out, "%-8s %7u %-16.16s %-10s %8s %9llu %8llu %8llu %8llu %9llu %9llu %8llu %7u %9llu\n",
			bv_clock(now, sizeof(now)), r->pid, r->comm, type_name(r->type), want,
			(unsigned long long)r->nr_reclaimed, (unsigned long long)r->nr_scanned,
			(unsigned long long)r->nr_unqueued_dirty, (unsigned long long)r->nr_immediate,
			(unsigned long long)r->nr_congested, (unsigned long long)r->nr_writeback,
			(unsigned long long)r->nr_dirty, r->nr_batches,
			(unsigned long long)(r->duration_ns / 1000));
	st->passes++;
	st->reclaimed += r->nr_reclaimed;
	st->scanned += r->nr_scanned;
	if (st->env->exit_n && ++st->rows >= st->env->exit_n)
		st->done = true;
	return 0;
}

static int load(struct pr_bpf **out, bool kprobe)
{
	struct pr_bpf *skel = pr_bpf__open();
	int err;

	if (!skel)
		return -errno;
	bpf_program__set_autoload(skel->progs.on_shrink_folio_list, kprobe);
	err = pr_bpf__load(skel);
	if (!err)
		err = pr_bpf__attach(skel);
	if (err) {
		pr_bpf__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

int pr_main(struct env *e, const struct bv_view_opts *o)
{
	struct pr_state st = { .out = e->out, .env = e };
	struct ring_buffer *rb;
	struct pr_bpf *skel = NULL;
	struct bv_run r = { 0 };
	__u64 lost_seen = 0;
	int ret, err = -ENOENT;

	opts = *o;
	ret = bv_start(&r, "pr", e, o->duration_ns);
	if (ret)
		return ret;
	if (bv_have_kprobes()) {
		err = load(&skel, true);
		pr_verbose(1, "pr: kprobe/shrink_folio_list %s\n", err ? "failed, falling back" : "attached (nr_to_reclaim)");
	}
	if (err) {
		err = load(&skel, false);
		if (err)
			return bv_bpf_error(r.name, "loading the vmscan tp_btf programs", err);
		pr_verbose(1, "pr: tp_btf vmscan begin/end + lru_shrink_inactive; no kprobes: RECLAIM (nr_to_reclaim) is '-'\n");
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, &st, NULL);
	if (!rb) {
		err = -errno;
		pr_bpf__destroy(skel);
		return bv_bpf_error(r.name, "creating the ring buffer reader", err);
	}
	print_header(e->out);
	for (;;) {
		bool more = bv_wait(&r);

		ring_buffer__consume(rb);
		if (skel->bss->lost != lost_seen) {
			fprintf(e->out, "LOST %llu events (ring full)\n", (unsigned long long)(skel->bss->lost - lost_seen));
			lost_seen = skel->bss->lost;
		}
		fflush(e->out);
		if (st.done || !more || (r.deadline_ns && !bv_report_done(&r, &(struct env){ 0 })))
			break;
	}
	if (!opts.seed_layout)
		fprintf(e->out, "# %llu passes/batches, %llu pages reclaimed, %llu scanned\n", st.passes,
			st.reclaimed, st.scanned);
	ring_buffer__free(rb);
	pr_bpf__destroy(skel);
	return EXIT_OK;
}

static int pr_parse_opt(int key, const char *arg)
{
	if (key == OPT_DURATION)
		return bv_parse_duration("pr", arg, &opts.duration_ns);
	return -1;
}

static int pr_run(struct env *e)
{
	return pr_main(e, &opts);
}

static const struct prof_option pr_opts[] = {
	{ "duration", OPT_DURATION, true, "TIME", "stop after TIME (e.g. 10, 10s, 500ms)" },
	{ NULL, 0, false, NULL, NULL },
};

static struct profiler pr = {
	.name = "pr",
	.desc = "page reclaim passes: reclaimed, scanned, dirty, congested, writeback (BPF)",
	.common = "interval exit-N output verbose",
	.opts = pr_opts,
	.parse_opt = pr_parse_opt,
	.run = pr_run,
};
PROFILER_REGISTER(pr);
