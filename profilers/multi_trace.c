/*
 * multi-trace: latency from a start event to the end event with the same
 * key (pairing.md), e.g. wake-up to switch-in. Per (start, end) event pair:
 * calls, total, min, avg, p50, p99, max from a fixed-memory histogram, and
 * the ends without a seen start. With --than, every pair slower than TIME
 * is printed as its two events in trace format.
 */
#include <stdlib.h>
#include <string.h>

#include <event-parse.h>

#include "perf-prof.h"
#include "lib/callchain.h"
#include "lib/comm.h"
#include "lib/hist.h"
#include "lib/ksyms.h"
#include "lib/pair.h"
#include "lib/pairing.h"
#include "lib/report.h"
#include "lib/session.h"
#include "lib/stack.h"
#include "lib/units.h"

/*
 * --than keeps a copy of each live start's raw record to print it when its
 * end comes late. Copies live in fixed-size slots of one growing pool, so a
 * start costs a memcpy, not a malloc. Tracepoint records of the events this
 * is for are far smaller; a bigger one is noted, not kept.
 */
#define RAW_SLOT_BYTES 512

struct raw_slot {
	uint32_t size;      /* bytes kept; 0 = the record did not fit */
	uint32_t orig_size;
	uint32_t cpu, tid;
	uint32_t next_free; /* free list link, as index + 1 */
	unsigned char data[RAW_SLOT_BYTES];
};

struct raw_pool {
	struct raw_slot *slots;
	uint32_t nr, cap;
	uint32_t free_head; /* index + 1, 0 = empty */
};

struct mt {
	struct pair_table live;
	struct hist *lat;        /* [start idx * nr_evsels + end idx], this interval */
	uint64_t *unpaired;      /* by end evsel idx, this interval */
	int nr;                  /* nr_evsels */
	struct raw_pool pool;    /* only with --than */
	struct stack_table *stacks; /* start stacks, only with --than */
	struct trace_seq seq;
	uint64_t nr_slow, nr_no_slot;
};

static struct mt mt;

/* ---- the raw record pool ---- */

static uint32_t pool_get(struct raw_pool *p)
{
	uint32_t i;

	if (p->free_head) {
		i = p->free_head - 1;
		p->free_head = p->slots[i].next_free;
		return i + 1;
	}
	if (p->nr == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 256;
		struct raw_slot *n = realloc(p->slots, sizeof(*n) * cap);

		if (!n)
			return 0;
		p->slots = n;
		p->cap = cap;
	}
	return ++p->nr;
}

static void pool_put(struct raw_pool *p, uint32_t ref)
{
	if (!ref)
		return;
	p->slots[ref - 1].next_free = p->free_head;
	p->free_head = ref;
}

/* A start left the table without its end: its raw copy is not needed any more. */
static void on_drop(void *ctx, const struct live_rec *r, enum pair_drop why)
{
	(void)ctx;
	(void)why;
	pool_put(&mt.pool, r->aux);
}

/* ---- setup ---- */

static int mt_init(struct session *s)
{
	struct pairing_cfg cfg = { .prof = "multi-trace" };
	int ret = pairing_setup(s, &cfg);
	bool slow = s->env->than_ns > 0;

	if (ret)
		return ret;
	mt.nr = s->nr_evsels;
	mt.lat = calloc((size_t)mt.nr * (size_t)mt.nr, sizeof(*mt.lat));
	mt.unpaired = calloc((size_t)mt.nr, sizeof(*mt.unpaired));
	if (slow)
		mt.stacks = stack_table_new();
	if (!mt.lat || !mt.unpaired || (slow && !mt.stacks) ||
	    pair_table_init(&mt.live, (uint64_t)s->env->max_live, slow ? on_drop : NULL, NULL)) {
		pr_err("multi-trace: out of memory");
		return EXIT_RUNTIME;
	}
	for (int i = 0; i < mt.nr; i++)
		if (slow && s->evsels[i].stack && ksyms_load()) {
			pr_err("multi-trace: cannot read /proc/kallsyms for stacks");
			return EXIT_RUNTIME;
		}
	trace_seq_init(&mt.seq);
	return 0;
}

/* ---- samples ---- */

/* One event line, the trace profiler's format. Only for slow pairs: formatting is costly. */
static void print_event(struct session *s, const char *name, uint64_t time, uint32_t cpu, uint32_t tid,
			const void *raw, uint32_t size)
{
	struct tep_record rec = { .ts = time, .cpu = (int)cpu, .size = (int)size, .data = (void *)raw };
	char ts[40];

	trace_seq_reset(&mt.seq);
	tep_print_event(s->tep, &mt.seq, &rec, "%s", TEP_PRINT_INFO);
	trace_seq_terminate(&mt.seq);
	fprintf(s->env->out, "%s [%03u] %16s %7u %s: %.*s\n", format_wallclock(time, ts, sizeof(ts)), cpu,
		comm_get((int)tid), tid, name, mt.seq.len, mt.seq.buffer);
}

static void print_slow(struct session *s, const struct live_rec *start, struct evsel *end,
		       const struct sample *smp)
{
	struct evsel *sev = &s->evsels[start->evsel];
	const struct raw_slot *sl = start->aux ? &mt.pool.slots[start->aux - 1] : NULL;
	FILE *f = s->env->out;

	if (sl && sl->size)
		print_event(s, sev->name, start->time, sl->cpu, sl->tid, sl->data, sl->size);
	else
		fprintf(f, "(%s record not kept: %u bytes, more than %d)\n", sev->name,
			sl ? sl->orig_size : 0, RAW_SLOT_BYTES);
	if (sev->stack && start->stack)
		report_stack_text(f, mt.stacks, start->stack);
	print_event(s, end->name, smp->time, smp->cpu, smp->tid, smp->raw, smp->raw_size);
	if (end->stack)
		callchain_print(f, smp->ips, smp->nr_ips, (int)smp->pid);
	fprintf(f, "latency %.3f us\n\n", (double)(smp->time - start->time) / 1e3);
	mt.nr_slow++;
}

static void keep_start(struct evsel *ev, const struct sample *smp, struct live_rec *r)
{
	uint32_t ref = pool_get(&mt.pool);
	struct raw_slot *sl;

	if (!ref) {
		mt.nr_no_slot++;
		return;
	}
	sl = &mt.pool.slots[ref - 1];
	sl->orig_size = smp->raw_size;
	sl->size = smp->raw_size <= RAW_SLOT_BYTES ? smp->raw_size : 0;
	sl->cpu = smp->cpu;
	sl->tid = smp->tid;
	memcpy(sl->data, smp->raw, sl->size);
	r->aux = ref;
	if (ev->stack && smp->nr_ips)
		r->stack = callchain_intern(mt.stacks, 0, smp->pid, smp->ips, smp->nr_ips);
}

static void mt_sample(struct session *s, struct evsel *ev, const struct sample *smp)
{
	uint64_t key = evsel_key(ev, smp);
	struct live_rec r;

	if (evsel_is_start(ev)) {
		r = (struct live_rec){ .key = key, .time = smp->time, .pid = smp->pid, .evsel = (uint16_t)ev->idx };
		if (s->env->than_ns)
			keep_start(ev, smp, &r);
		if (pair_start(&mt.live, &r))
			pool_put(&mt.pool, r.aux);
		return;
	}
	if (!pair_end(&mt.live, key, &r)) {
		mt.unpaired[ev->idx]++;
		return;
	}
	/* Unordered rings can hand an end over before its start's time: count it as 0. */
	uint64_t lat = smp->time > r.time ? smp->time - r.time : 0;

	hist_add(&mt.lat[r.evsel * mt.nr + ev->idx], lat);
	if (s->env->than_ns && lat > s->env->than_ns)
		print_slow(s, &r, ev, smp);
	pool_put(&mt.pool, r.aux);
}

/* ---- reports ---- */

static void name_pair(const struct session *s, int a, int b, char *buf, size_t len)
{
	snprintf(buf, len, "%s => %s", s->evsels[a].name, s->evsels[b].name);
}

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static void text_report(struct session *s)
{
	FILE *f = s->env->out;
	int width = (int)strlen("start => end");
	char ts[40], name[300];

	for (int a = 0; a < mt.nr; a++)
		for (int b = 0; b < mt.nr; b++)
			if (evsel_is_start(&s->evsels[a]) && !evsel_is_start(&s->evsels[b])) {
				name_pair(s, a, b, name, sizeof(name));
				if ((int)strlen(name) > width)
					width = (int)strlen(name);
			}
	fprintf(f, "%s\n", format_wallclock(mono_now_ns(), ts, sizeof(ts)));
	fprintf(f, "%-*s %10s %14s %12s %12s %12s %12s %12s %9s\n", width, "start => end", "calls",
		"total(us)", "min(us)", "avg(us)", "p50(us)", "p99(us)", "max(us)", "unpaired");
	for (int a = 0; a < mt.nr; a++) {
		if (!evsel_is_start(&s->evsels[a]))
			continue;
		for (int b = 0; b < mt.nr; b++) {
			const struct hist *h = &mt.lat[a * mt.nr + b];

			if (evsel_is_start(&s->evsels[b]))
				continue;
			name_pair(s, a, b, name, sizeof(name));
			fprintf(f, "%-*s %10llu %14.3f %12.3f %12.3f %12.3f %12.3f %12.3f %9llu\n", width, name,
				(unsigned long long)h->count, us(h->sum), us(h->min),
				h->count ? us(h->sum) / (double)h->count : 0.0, us(hist_percentile(h, 50)),
				us(hist_percentile(h, 99)), us(h->max), (unsigned long long)mt.unpaired[b]);
		}
	}
	pairing_report_faults(s, f);
	if (mt.live.nr_replaced || mt.live.nr_evicted)
		fprintf(f, "%llu starts replaced without a seen end, %llu evicted by --max-live\n",
			(unsigned long long)mt.live.nr_replaced, (unsigned long long)mt.live.nr_evicted);
	if (mt.nr_no_slot)
		fprintf(f, "%llu start records not kept for --than (out of memory)\n",
			(unsigned long long)mt.nr_no_slot);
	fputc('\n', f);
}

static void json_report(struct session *s)
{
	FILE *f = s->env->out;
	bool first = true;
	char ts[40];

	fprintf(f, "{\"time\":\"%s\",\"pairs\":[", format_wallclock(mono_now_ns(), ts, sizeof(ts)));
	for (int a = 0; a < mt.nr; a++) {
		if (!evsel_is_start(&s->evsels[a]))
			continue;
		for (int b = 0; b < mt.nr; b++) {
			const struct hist *h = &mt.lat[a * mt.nr + b];

			if (evsel_is_start(&s->evsels[b]))
				continue;
			fprintf(f, "%s{\"start\":", first ? "" : ",");
			report_json_string(f, s->evsels[a].name);
			fputs(",\"end\":", f);
			report_json_string(f, s->evsels[b].name);
			fprintf(f, ",\"calls\":%llu,\"total_ns\":%llu,\"min_ns\":%llu,\"avg_ns\":%llu,"
				"\"p50_ns\":%llu,\"p99_ns\":%llu,\"max_ns\":%llu,\"unpaired\":%llu}",
				(unsigned long long)h->count, (unsigned long long)h->sum, (unsigned long long)h->min,
				(unsigned long long)(h->count ? h->sum / h->count : 0),
				(unsigned long long)hist_percentile(h, 50), (unsigned long long)hist_percentile(h, 99),
				(unsigned long long)h->max, (unsigned long long)mt.unpaired[b]);
			first = false;
		}
	}
	fprintf(f, "],\"replaced\":%llu,\"evicted\":%llu,\"slow\":%llu,\"lost\":%llu}\n",
		(unsigned long long)mt.live.nr_replaced, (unsigned long long)mt.live.nr_evicted,
		(unsigned long long)mt.nr_slow, (unsigned long long)session_lost_total(s));
}

/* Latencies are per interval; live starts carry over to pair with later ends. */
static void mt_interval(struct session *s)
{
	if (!strcmp(s->env->format, "json"))
		json_report(s);
	else
		text_report(s);
	fflush(s->env->out);
	for (int i = 0; i < mt.nr * mt.nr; i++)
		hist_reset(&mt.lat[i]);
	memset(mt.unpaired, 0, sizeof(*mt.unpaired) * (size_t)mt.nr);
}

static void mt_exit(struct session *s)
{
	mt_interval(s);
	pair_table_free(&mt.live);
	stack_table_free(mt.stacks);
	free(mt.pool.slots);
	free(mt.lat);
	free(mt.unpaired);
	trace_seq_destroy(&mt.seq);
}

static struct profiler multi_trace = {
	.name = "multi-trace",
	.formats = "text json",
	.desc = "latency from a start event to the end event with the same key: p50/p99/max, slow pairs",
	.common = "event cpus pids tids cgroups mmap-pages watermark order interval exit-N than "
		  "call-graph kernel-callchain user-callchain line output format key max-live verbose",
	.init = mt_init,
	.sample = mt_sample,
	.interval = mt_interval,
	.exit = mt_exit,
};
PROFILER_REGISTER(multi_trace);
