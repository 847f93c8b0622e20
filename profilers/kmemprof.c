/*
 * kmemprof: pair allocations with frees by key and report, per interval,
 * the stacks that allocate and free the most bytes, plus what is still
 * live (pairing.md). Policy only: the engine reads and orders, lib/pair
 * pairs, lib/stack interns, lib/topn selects.
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
#include "lib/stack.h"
#include "lib/topn.h"
#include "lib/units.h"

/* Counters of one (event, stack); indexed by interned stack id. */
struct stack_stat {
	uint64_t bytes, objs;           /* this interval: allocated, or freed */
	uint64_t live_bytes, live_objs; /* start stacks: allocated and not yet freed */
};

struct evsel_stat {
	uint64_t bytes, objs;           /* this interval */
	uint64_t unmatched;             /* end events: frees without a seen alloc, this interval */
	uint32_t nostack_id;            /* the id used when the event has no `stack` */
};

struct kmemprof {
	struct pair_table live;
	struct stack_table *stacks;
	struct stack_stat *stat;        /* by stack id */
	uint32_t stat_cap;
	struct evsel_stat *ev;          /* by evsel idx */
	struct topn top;
	uint64_t untracked;             /* allocs not stored live (out of memory) */
	char start_names[512], end_names[512];
	uint64_t last_report;           /* CLOCK_MONOTONIC ns: start of the interval */
};

static struct kmemprof kp;

static struct stack_stat *stat_of(uint32_t id)
{
	if (id >= kp.stat_cap) {
		uint32_t cap = kp.stat_cap ? kp.stat_cap : 1024;
		struct stack_stat *n;

		while (cap <= id)
			cap *= 2;
		n = realloc(kp.stat, sizeof(*n) * cap);
		if (!n) {
			pr_err("kmemprof: out of memory for stack counters");
			exit(EXIT_RUNTIME);
		}
		memset(n + kp.stat_cap, 0, sizeof(*n) * (cap - kp.stat_cap));
		kp.stat = n;
		kp.stat_cap = cap;
	}
	return &kp.stat[id];
}

/* A record left the table without its free: it is no longer live. */
static void on_drop(void *ctx, const struct live_rec *r, enum pair_drop why)
{
	struct stack_stat *st = &kp.stat[r->stack];

	(void)ctx;
	(void)why;
	st->live_bytes -= r->size;
	st->live_objs--;
}

static int kmemprof_init(struct session *s)
{
	struct pairing_cfg cfg = { .prof = "kmemprof", .start_needs_size = true };
	int ret = pairing_setup(s, &cfg);

	if (ret)
		return ret;
	memset(&kp, 0, sizeof(kp));
	kp.last_report = mono_now_ns();
	kp.stacks = stack_table_new();
	kp.ev = calloc((size_t)s->nr_evsels, sizeof(*kp.ev));
	if (!kp.stacks || !kp.ev || topn_init(&kp.top, s->env->top) ||
	    pair_table_init(&kp.live, (uint64_t)s->env->max_live, on_drop, NULL))
		return EXIT_RUNTIME;
	for (int i = 0; i < s->nr_evsels; i++) {
		kp.ev[i].nostack_id = stack_intern(kp.stacks, (uint32_t)i, NULL, 0);
		stat_of(kp.ev[i].nostack_id);
		if (s->evsels[i].stack && ksyms_load()) {
			pr_err("kmemprof: cannot read /proc/kallsyms for stacks");
			return EXIT_RUNTIME;
		}
	}
	pairing_group_names(s, 0, kp.start_names, sizeof(kp.start_names));
	pairing_group_names(s, 1, kp.end_names, sizeof(kp.end_names));
	return 0;
}

static inline uint32_t stack_id_of(struct evsel *ev, const struct sample *smp)
{
	if (!ev->stack || !smp->nr_ips)
		return kp.ev[ev->idx].nostack_id;
	return callchain_intern(kp.stacks, (uint32_t)ev->idx, smp->pid, smp->ips, smp->nr_ips);
}

static void kmemprof_sample(struct session *s, struct evsel *ev, const struct sample *smp)
{
	uint64_t key = evsel_key(ev, smp);
	uint32_t id = stack_id_of(ev, smp);
	struct stack_stat *st = stat_of(id);
	struct evsel_stat *es = &kp.ev[ev->idx];

	(void)s;
	if (evsel_is_start(ev)) {
		uint64_t size = evsel_size(ev, smp);
		struct live_rec r = {
			.key = key, .time = smp->time, .size = size, .stack = id,
			.pid = smp->pid, .evsel = (uint16_t)ev->idx,
		};

		st->bytes += size;
		st->objs++;
		es->bytes += size;
		es->objs++;
		/* Live only once stored: out of memory must not leave a phantom live object. */
		if (pair_start(&kp.live, &r)) {
			kp.untracked++;
			return;
		}
		st->live_bytes += size;
		st->live_objs++;
	} else {
		struct live_rec r;

		st->objs++;
		es->objs++;
		if (pair_end(&kp.live, key, &r)) {
			/* A free carries no size: it frees what its alloc allocated. */
			st->bytes += r.size;
			es->bytes += r.size;
			kp.stat[r.stack].live_bytes -= r.size;
			kp.stat[r.stack].live_objs--;
		} else {
			es->unmatched++;
		}
	}
}

/* ---- reports ---- */

enum section { SEC_ALLOC, SEC_FREE, SEC_LIVE };

static void section_totals(int evidx, enum section sec, uint64_t *bytes, uint64_t *objs)
{
	*bytes = *objs = 0;
	if (sec != SEC_LIVE) {
		*bytes = kp.ev[evidx].bytes;
		*objs = kp.ev[evidx].objs;
		return;
	}
	for (uint32_t id = 1; id <= stack_count(kp.stacks); id++) {
		if ((int)stack_salt(kp.stacks, id) != evidx)
			continue;
		*bytes += kp.stat[id].live_bytes;
		*objs += kp.stat[id].live_objs;
	}
}

/* Offer every stack of event evidx to the top-N heap; returns the number kept. */
static int select_top(int evidx, enum section sec)
{
	topn_reset(&kp.top);
	for (uint32_t id = 1; id <= stack_count(kp.stacks); id++) {
		const struct stack_stat *st = &kp.stat[id];

		if ((int)stack_salt(kp.stacks, id) != evidx)
			continue;
		if (sec == SEC_LIVE)
			topn_offer(&kp.top, st->live_bytes, st->live_objs, id);
		else
			topn_offer(&kp.top, st->bytes, st->objs, id);
	}
	return topn_finish(&kp.top);
}

static void text_section(struct session *s, struct evsel *ev, enum section sec)
{
	static const char *verb[] = { "Allocate", "Free", "Allocate" };
	static const char *skip[] = { "alloc", "free", "alloc" };
	FILE *f = s->env->out;
	uint64_t bytes, objs;
	int n;

	section_totals(ev->idx, sec, &bytes, &objs);
	if (sec == SEC_FREE)
		fprintf(f, "%s total free %llu bytes on %llu objects\n", ev->name,
			(unsigned long long)bytes, (unsigned long long)objs);
	else
		fprintf(f, "%s total alloc %llu bytes on %llu objects%s\n", ev->name,
			(unsigned long long)bytes, (unsigned long long)objs,
			sec == SEC_LIVE ? " but not freed" : "");
	if (!ev->stack)
		goto unmatched;
	n = select_top(ev->idx, sec);
	for (int i = 0; i < n; i++) {
		const struct topn_item *it = &kp.top.heap[i];

		fprintf(f, "%s %llu (%.1f%%) bytes on %llu (%.1f%%) objects:\n", verb[sec],
			(unsigned long long)it->primary, report_pct(it->primary, bytes),
			(unsigned long long)it->secondary, report_pct(it->secondary, objs));
		report_stack_text(f, kp.stacks, it->id);
	}
	if (kp.top.seen > (uint64_t)n)
		fprintf(f, "Skipping %s numbered %d..%llu\n", skip[sec], n + 1, (unsigned long long)kp.top.seen);
unmatched:
	if (sec == SEC_FREE && kp.ev[ev->idx].unmatched)
		fprintf(f, "%llu frees without a seen alloc\n", (unsigned long long)kp.ev[ev->idx].unmatched);
	fputc('\n', f);
}

static void text_report(struct session *s)
{
	FILE *f = s->env->out;
	char ts[40];

	fprintf(f, "%s\n", format_wallclock(mono_now_ns(), ts, sizeof(ts)));
	fprintf(f, "%s => %s\n", kp.start_names, kp.end_names);
	for (int i = 0; i < s->nr_evsels; i++)
		if (evsel_is_start(&s->evsels[i]))
			text_section(s, &s->evsels[i], SEC_ALLOC);
	for (int i = 0; i < s->nr_evsels; i++)
		if (!evsel_is_start(&s->evsels[i]))
			text_section(s, &s->evsels[i], SEC_FREE);
	for (int i = 0; i < s->nr_evsels; i++)
		if (evsel_is_start(&s->evsels[i]))
			text_section(s, &s->evsels[i], SEC_LIVE);
	pairing_report_faults(s, f);
	if (kp.untracked)
		fprintf(f, "%llu allocs not tracked as live (out of memory)\n", (unsigned long long)kp.untracked);
	if (kp.live.nr_replaced || kp.live.nr_evicted)
		fprintf(f, "%llu allocs replaced without a seen free, %llu evicted by --max-live\n",
			(unsigned long long)kp.live.nr_replaced, (unsigned long long)kp.live.nr_evicted);
}

static void folded_report(struct session *s)
{
	FILE *f = s->env->out;

	for (int i = 0; i < s->nr_evsels; i++) {
		struct evsel *ev = &s->evsels[i];
		int n = select_top(i, evsel_is_start(ev) ? SEC_ALLOC : SEC_FREE);

		for (int k = 0; k < n; k++) {
			report_stack_folded(f, kp.stacks, kp.top.heap[k].id, ev->name);
			fprintf(f, " %llu\n", (unsigned long long)kp.top.heap[k].primary);
		}
	}
}

static void json_section(struct session *s, struct evsel *ev, enum section sec, bool *first)
{
	FILE *f = s->env->out;
	uint64_t bytes, objs;
	int n = ev->stack ? select_top(ev->idx, sec) : 0;

	section_totals(ev->idx, sec, &bytes, &objs);
	fprintf(f, "%s{\"event\":", *first ? "" : ",");
	report_json_string(f, ev->name);
	fprintf(f, ",\"bytes\":%llu,\"objects\":%llu", (unsigned long long)bytes, (unsigned long long)objs);
	if (sec == SEC_FREE)
		fprintf(f, ",\"unmatched\":%llu", (unsigned long long)kp.ev[ev->idx].unmatched);
	fprintf(f, ",\"stacks_total\":%llu,\"stacks\":[", (unsigned long long)kp.top.seen * (n > 0));
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s{\"bytes\":%llu,\"objects\":%llu,\"frames\":", i ? "," : "",
			(unsigned long long)kp.top.heap[i].primary, (unsigned long long)kp.top.heap[i].secondary);
		report_stack_json(f, kp.stacks, kp.top.heap[i].id);
		fputc('}', f);
	}
	fputs("]}", f);
	*first = false;
}

static void json_report(struct session *s)
{
	static const char *names[] = { "alloc", "free", "not_freed" };
	FILE *f = s->env->out;
	char ts[40];

	fprintf(f, "{\"time\":\"%s\",\"start\":", format_wallclock(mono_now_ns(), ts, sizeof(ts)));
	report_json_string(f, kp.start_names);
	fputs(",\"end\":", f);
	report_json_string(f, kp.end_names);
	for (int sec = SEC_ALLOC; sec <= SEC_LIVE; sec++) {
		bool first = true;

		fprintf(f, ",\"%s\":[", names[sec]);
		for (int i = 0; i < s->nr_evsels; i++)
			if (evsel_is_start(&s->evsels[i]) == (sec != SEC_FREE))
				json_section(s, &s->evsels[i], (enum section)sec, &first);
		fputc(']', f);
	}
	fprintf(f, ",\"replaced\":%llu,\"evicted\":%llu,\"lost\":%llu}\n",
		(unsigned long long)kp.live.nr_replaced, (unsigned long long)kp.live.nr_evicted,
		(unsigned long long)session_lost_total(s));
}

/*
 * pprof: one sample per (alloc event, stack) with its interval allocations
 * (alloc_*) and what it still holds (inuse_*). Every stack goes in, not
 * only the top N: the file's totals are the text report's totals. Frees
 * have no place in a heap profile; they show as lower inuse values.
 */
static void pprof_report(struct session *s, uint64_t now)
{
	struct pprof *pp = pprof_new(pprof_heap_types, PPROF_NR_HEAP_TYPES, "alloc_space");
	int err = pp ? 0 : -1;

	for (uint32_t id = 1; pp && !err && id <= stack_count(kp.stacks); id++) {
		const struct stack_stat *st = &kp.stat[id];
		struct evsel *ev = &s->evsels[stack_salt(kp.stacks, id)];
		int64_t v[PPROF_NR_HEAP_TYPES] = {
			(int64_t)st->objs, (int64_t)st->bytes, (int64_t)st->live_objs, (int64_t)st->live_bytes,
		};

		if (evsel_is_start(ev) && (st->objs || st->live_objs))
			err = pprof_add(pp, kp.stacks, id, v, ev->name);
	}
	if (!err)
		err = pprof_write(pp, s->env->output, now - kp.last_report);
	if (err)
		pr_err("kmemprof: cannot write the pprof file %s: %s", s->env->output,
		       err == -1 ? "out of memory" : strerror(-err));
	pprof_free(pp);
}

/* Interval counters start again; live counters carry over. */
static void reset_interval(struct session *s)
{
	for (uint32_t id = 1; id <= stack_count(kp.stacks); id++)
		kp.stat[id].bytes = kp.stat[id].objs = 0;
	for (int i = 0; i < s->nr_evsels; i++)
		kp.ev[i].bytes = kp.ev[i].objs = kp.ev[i].unmatched = 0;
}

static void kmemprof_interval(struct session *s)
{
	/* Stacks interned since the last report may not have counters yet. */
	uint64_t now = mono_now_ns();

	stat_of(stack_count(kp.stacks));
	if (!strcmp(s->env->format, "pprof"))
		pprof_report(s, now);
	else if (!strcmp(s->env->format, "json"))
		json_report(s);
	else if (!strcmp(s->env->format, "folded"))
		folded_report(s);
	else
		text_report(s);
	fflush(s->env->out);
	reset_interval(s);
	kp.last_report = now;
}

static void kmemprof_exit(struct session *s)
{
	kmemprof_interval(s);
	pair_table_free(&kp.live);
	stack_table_free(kp.stacks);
	topn_free(&kp.top);
	free(kp.stat);
	free(kp.ev);
}

static struct profiler kmemprof = {
	.name = "kmemprof",
	.formats = "text json folded pprof",
	.desc = "pair allocs with frees: top alloc/free stacks and what is not freed",
	.common = "event cpus pids tids cgroups mmap-pages watermark order interval exit-N "
		  "call-graph kernel-callchain user-callchain line output format key top max-live verbose",
	.init = kmemprof_init,
	.sample = kmemprof_sample,
	.interval = kmemprof_interval,
	.exit = kmemprof_exit,
};
PROFILER_REGISTER(kmemprof);
