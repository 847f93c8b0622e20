/*
 * kmemleak: keep only what is still allocated and, at each interval and at
 * exit, report the live allocations older than --than grouped by the stack
 * that allocated them (pairing.md). Cheaper than kmemprof: a free only
 * removes its record; no per-stack counters are kept between reports.
 */
#include <stdlib.h>
#include <string.h>

#include "perf-prof.h"
#include "lib/callchain.h"
#include "lib/ksyms.h"
#include "lib/pair.h"
#include "lib/pairing.h"
#include "lib/pprof/pprof.h"
#include "lib/report.h"
#include "lib/session.h"
#include "lib/stack.h"
#include "lib/topn.h"
#include "lib/units.h"

/* Long-only option keys, away from the common ones (256..). */
enum { OPT_ALLOC = 1000, OPT_FREE };

/* What one report found live for one stack id. */
struct leak_acc {
	uint64_t bytes, objs;
	uint64_t oldest; /* start time of the oldest, CLOCK_MONOTONIC ns */
};

struct kmemleak {
	struct pair_table live;
	struct stack_table *stacks;
	uint32_t *nostack_id;  /* by evsel idx: the id used when the event has no `stack` */
	struct leak_acc *acc;  /* by stack id, reused by every report */
	uint32_t acc_cap;
	struct topn top;
	const char *alloc_spec, *free_spec;
	uint64_t start;        /* CLOCK_MONOTONIC ns */
};

static struct kmemleak kl;

static int kmemleak_init(struct session *s)
{
	struct pairing_cfg cfg = { .prof = "kmemleak", .start_needs_size = true };
	int ret = pairing_setup(s, &cfg);

	if (ret)
		return ret;
	kl.start = mono_now_ns();
	kl.stacks = stack_table_new();
	kl.nostack_id = calloc((size_t)s->nr_evsels, sizeof(*kl.nostack_id));
	if (!kl.stacks || !kl.nostack_id || topn_init(&kl.top, s->env->top) ||
	    pair_table_init(&kl.live, (uint64_t)s->env->max_live, NULL, NULL)) {
		pr_err("kmemleak: out of memory");
		return EXIT_RUNTIME;
	}
	for (int i = 0; i < s->nr_evsels; i++) {
		if (!evsel_is_start(&s->evsels[i]))
			continue;
		kl.nostack_id[i] = stack_intern(kl.stacks, (uint32_t)i, NULL, 0);
		if (s->evsels[i].stack && ksyms_load()) {
			pr_err("kmemleak: cannot read /proc/kallsyms for stacks");
			return EXIT_RUNTIME;
		}
	}
	return 0;
}

static void kmemleak_sample(struct session *s, struct evsel *ev, const struct sample *smp)
{
	uint64_t key = evsel_key(ev, smp);

	(void)s;
	if (evsel_is_start(ev)) {
		struct live_rec r = {
			.key = key, .time = smp->time, .size = evsel_size(ev, smp),
			.pid = smp->pid, .evsel = (uint16_t)ev->idx,
		};

		/* Interned at alloc: a report then needs no callchain, only the id. */
		r.stack = ev->stack && smp->nr_ips ?
			  callchain_intern(kl.stacks, (uint32_t)ev->idx, smp->pid, smp->ips, smp->nr_ips) :
			  kl.nostack_id[ev->idx];
		pair_start(&kl.live, &r);
	} else {
		struct live_rec gone;

		pair_end(&kl.live, key, &gone);
	}
}

/* ---- reports ---- */

struct walk {
	uint64_t now, than;
};

static void accumulate(void *ctx, const struct live_rec *r)
{
	const struct walk *w = ctx;
	struct leak_acc *a;

	/* A record stamped after `now` (another CPU's clock read) is age 0. */
	if (r->time >= w->now || w->now - r->time <= w->than)
		return;
	a = &kl.acc[r->stack];
	if (!a->objs || r->time < a->oldest)
		a->oldest = r->time;
	a->bytes += r->size;
	a->objs++;
}

/* Group the live table by stack; kl.acc[id] then holds what is older than --than. */
static int collect(struct session *s, uint64_t now)
{
	uint32_t need = stack_count(kl.stacks) + 1;
	struct walk w = { .now = now, .than = s->env->than_ns };

	if (need > kl.acc_cap) {
		struct leak_acc *n = realloc(kl.acc, sizeof(*n) * need * 2);

		if (!n)
			return -1;
		kl.acc = n;
		kl.acc_cap = need * 2;
	}
	memset(kl.acc, 0, sizeof(*kl.acc) * need);
	pair_foreach(&kl.live, accumulate, &w);
	return 0;
}

struct ev_totals {
	uint64_t bytes, objs, stacks;
};

/* Totals of event evidx, and its stacks offered to the top-N heap; returns the number kept. */
static int select_top(int evidx, struct ev_totals *tot)
{
	memset(tot, 0, sizeof(*tot));
	topn_reset(&kl.top);
	for (uint32_t id = 1; id <= stack_count(kl.stacks); id++) {
		const struct leak_acc *a = &kl.acc[id];

		if (!a->objs || (int)stack_salt(kl.stacks, id) != evidx)
			continue;
		tot->bytes += a->bytes;
		tot->objs += a->objs;
		tot->stacks++;
		topn_offer(&kl.top, a->bytes, a->objs, id);
	}
	return topn_finish(&kl.top);
}

/* "1s", "250ms", "100us", "1500ns": the largest unit that shows the value exactly. */
static char *format_duration(uint64_t ns, char *buf, size_t len)
{
	static const struct { uint64_t div; const char *unit; } units[] = {
		{ 1000000000ULL, "s" }, { 1000000ULL, "ms" }, { 1000ULL, "us" },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ns && ns % units[i].div == 0) {
			snprintf(buf, len, "%llu%s", (unsigned long long)(ns / units[i].div), units[i].unit);
			return buf;
		}
	snprintf(buf, len, "%lluns", (unsigned long long)ns);
	return buf;
}

static double age_s(uint64_t now, uint64_t t)
{
	return t < now ? (double)(now - t) / 1e9 : 0.0;
}

static void text_event(struct session *s, struct evsel *ev, uint64_t now)
{
	FILE *f = s->env->out;
	struct ev_totals tot;
	char than[32] = "";
	int n = select_top(ev->idx, &tot);

	if (s->env->than_ns)
		format_duration(s->env->than_ns, than, sizeof(than));
	fprintf(f, "%s: ", ev->name);
	if (ev->stack)
		fprintf(f, "%llu stacks, ", (unsigned long long)tot.stacks);
	fprintf(f, "%llu bytes in %llu objects live%s%s\n", (unsigned long long)tot.bytes,
		(unsigned long long)tot.objs, than[0] ? " for more than " : "", than);
	for (int i = 0; ev->stack && i < n; i++) {
		const struct topn_item *it = &kl.top.heap[i];

		fprintf(f, "%llu bytes in %llu objects, oldest %.2fs:\n", (unsigned long long)it->primary,
			(unsigned long long)it->secondary, age_s(now, kl.acc[it->id].oldest));
		report_stack_text(f, kl.stacks, it->id);
	}
	if (ev->stack && kl.top.seen > (uint64_t)n)
		fprintf(f, "Skipping stacks numbered %d..%llu\n", n + 1, (unsigned long long)kl.top.seen);
	fputc('\n', f);
}

static void text_report(struct session *s, uint64_t now)
{
	FILE *f = s->env->out;
	char ts[40];

	fprintf(f, "%s\n", format_wallclock(now, ts, sizeof(ts)));
	for (int i = 0; i < s->nr_evsels; i++)
		if (evsel_is_start(&s->evsels[i]))
			text_event(s, &s->evsels[i], now);
	pairing_report_faults(s, f);
	/* Not errors, but nothing is dropped silently: say what could not be tracked. */
	if (kl.live.nr_unmatched || kl.live.nr_replaced || kl.live.nr_evicted)
		fprintf(f, "%llu frees without a seen alloc, %llu allocs replaced without a seen free, "
			"%llu evicted by --max-live\n", (unsigned long long)kl.live.nr_unmatched,
			(unsigned long long)kl.live.nr_replaced, (unsigned long long)kl.live.nr_evicted);
}

static void folded_report(struct session *s)
{
	FILE *f = s->env->out;

	for (int i = 0; i < s->nr_evsels; i++) {
		struct evsel *ev = &s->evsels[i];
		struct ev_totals tot;
		int n;

		if (!evsel_is_start(ev) || !ev->stack)
			continue;
		n = select_top(i, &tot);
		for (int k = 0; k < n; k++) {
			report_stack_folded(f, kl.stacks, kl.top.heap[k].id, ev->name);
			fprintf(f, " %llu\n", (unsigned long long)kl.top.heap[k].primary);
		}
	}
}

static void json_report(struct session *s, uint64_t now)
{
	FILE *f = s->env->out;
	bool first = true;
	char ts[40];

	fprintf(f, "{\"time\":\"%s\",\"than_ns\":%llu,\"events\":[", format_wallclock(now, ts, sizeof(ts)),
		(unsigned long long)s->env->than_ns);
	for (int i = 0; i < s->nr_evsels; i++) {
		struct evsel *ev = &s->evsels[i];
		struct ev_totals tot;
		int n;

		if (!evsel_is_start(ev))
			continue;
		n = select_top(i, &tot);
		fprintf(f, "%s{\"event\":", first ? "" : ",");
		report_json_string(f, ev->name);
		fprintf(f, ",\"bytes\":%llu,\"objects\":%llu,\"stacks_total\":%llu,\"stacks\":[",
			(unsigned long long)tot.bytes, (unsigned long long)tot.objs,
			(unsigned long long)(ev->stack ? tot.stacks : 0));
		for (int k = 0; ev->stack && k < n; k++) {
			const struct topn_item *it = &kl.top.heap[k];

			fprintf(f, "%s{\"bytes\":%llu,\"objects\":%llu,\"oldest_ns\":%llu,\"frames\":", k ? "," : "",
				(unsigned long long)it->primary, (unsigned long long)it->secondary,
				(unsigned long long)(now - kl.acc[it->id].oldest));
			report_stack_json(f, kl.stacks, it->id);
			fputc('}', f);
		}
		fputs("]}", f);
		first = false;
	}
	fprintf(f, "],\"unmatched\":%llu,\"replaced\":%llu,\"evicted\":%llu,\"lost\":%llu}\n",
		(unsigned long long)kl.live.nr_unmatched, (unsigned long long)kl.live.nr_replaced,
		(unsigned long long)kl.live.nr_evicted, (unsigned long long)session_lost_total(s));
}

/*
 * pprof: the leak candidates (live, older than --than) per stack as
 * inuse_objects/inuse_space. The alloc_* values are 0: kmemleak does not
 * count allocations that were freed. All stacks go in, not only the top N.
 */
static void pprof_report(struct session *s, uint64_t now)
{
	struct pprof *pp = pprof_new(pprof_heap_types, PPROF_NR_HEAP_TYPES, "inuse_space");
	int err = pp ? 0 : -1;

	for (uint32_t id = 1; pp && !err && id <= stack_count(kl.stacks); id++) {
		const struct leak_acc *a = &kl.acc[id];
		int64_t v[PPROF_NR_HEAP_TYPES] = { 0, 0, (int64_t)a->objs, (int64_t)a->bytes };

		if (a->objs)
			err = pprof_add(pp, kl.stacks, id, v, s->evsels[stack_salt(kl.stacks, id)].name);
	}
	/* Live allocations may be as old as the run. */
	if (!err)
		err = pprof_write(pp, s->env->output, now - kl.start);
	if (err)
		pr_err("kmemleak: cannot write the pprof file %s: %s", s->env->output,
		       err == -1 ? "out of memory" : strerror(-err));
	pprof_free(pp);
}

static void kmemleak_interval(struct session *s)
{
	uint64_t now = mono_now_ns();

	if (collect(s, now)) {
		pr_err("kmemleak: out of memory for the report");
		return;
	}
	if (!strcmp(s->env->format, "pprof"))
		pprof_report(s, now);
	else if (!strcmp(s->env->format, "json"))
		json_report(s, now);
	else if (!strcmp(s->env->format, "folded"))
		folded_report(s);
	else
		text_report(s, now);
	fflush(s->env->out);
}

static void kmemleak_exit(struct session *s)
{
	kmemleak_interval(s);
	pair_table_free(&kl.live);
	stack_table_free(kl.stacks);
	topn_free(&kl.top);
	free(kl.acc);
	free(kl.nostack_id);
}

static const struct prof_option kmemleak_opts[] = {
	{ "alloc", OPT_ALLOC, true, "SPEC", "allocation events (same as the first -e)" },
	{ "free", OPT_FREE, true, "SPEC", "free events (same as the second -e)" },
	{ NULL, 0, false, NULL, NULL },
};

static int kmemleak_parse_opt(int key, const char *arg)
{
	if (key == OPT_ALLOC)
		kl.alloc_spec = arg;
	else if (key == OPT_FREE)
		kl.free_spec = arg;
	else
		return -1;
	return 0;
}

static struct profiler kmemleak;

/*
 * --alloc/--free become the two -e groups before the engine parses them;
 * run() is the only hook between option parsing and session_run().
 */
static int kmemleak_run(struct env *e)
{
	if (kl.alloc_spec || kl.free_spec) {
		if (e->nr_events) {
			usage_error("kmemleak: give the events either as --alloc/--free or as -e -e, not both");
			return EXIT_USAGE;
		}
		if (!kl.alloc_spec || !kl.free_spec) {
			usage_error("kmemleak: --%s is missing (both --alloc and --free are needed)",
				    kl.alloc_spec ? "free" : "alloc");
			return EXIT_USAGE;
		}
		e->events[0] = kl.alloc_spec;
		e->events[1] = kl.free_spec;
		e->nr_events = 2;
	}
	return session_run(&kmemleak, e);
}

static struct profiler kmemleak = {
	.name = "kmemleak",
	.formats = "text json folded pprof",
	.desc = "live allocations older than --than, grouped by allocating stack",
	.common = "event cpus pids tids cgroups mmap-pages watermark order interval exit-N than "
		  "call-graph kernel-callchain user-callchain line output format key top max-live verbose",
	.opts = kmemleak_opts,
	.parse_opt = kmemleak_parse_opt,
	.init = kmemleak_init,
	.sample = kmemleak_sample,
	.interval = kmemleak_interval,
	.exit = kmemleak_exit,
	.run = kmemleak_run,
};
PROFILER_REGISTER(kmemleak);
