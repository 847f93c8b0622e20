/*
 * kmemsnoop: per-process kernel memory statistics (the seed's MemStats)
 * and anomaly detection: leak, churn, fragmentation and burst.
 *
 * Allocations are attributed to the process (tgid) that made them; a free
 * is attributed to the process that ALLOCATED the object (the pid in the
 * live record), since kernel objects are often freed from RCU callbacks or
 * kworkers. The address -> size map is the shared pairing table: one table
 * whose records carry the allocating tgid. Detectors are in lib/anomaly.c;
 * the rules are in Documentation/kmemsnoop.md.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event-parse.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "perf-prof.h"
#include "bpf/bpfview.h"
#include "bpf/bpfview_shared.h"
#include "expr/expr.h"
#include "lib/anomaly.h"
#include "lib/callchain.h"
#include "lib/comm.h"
#include "lib/ksyms.h"
#include "lib/pair.h"
#include "lib/pairing.h"
#include "lib/report.h"
#include "lib/session.h"
#include "lib/stack.h"
#include "lib/units.h"
#include "memleak.skel.h"

#define PROC_BUCKETS 4096
#define MAX_WATCH_PIDS 64
/* live_rec.aux: bytes_req of a slab object, or PAGE_AUX | order of a page allocation. */
#define PAGE_AUX 0x80000000u
#define BURST_MIN_HISTORY 5

enum {
	OPT_COMM = 400, OPT_CACHE, OPT_PAGES, OPT_LEAK_SAMPLES, OPT_LEAK_MIN, OPT_LEAK_SLOPE, OPT_LEAK_RETAIN,
	OPT_CHURN_LIFE, OPT_CHURN_RATE, OPT_CHURN_SCORE, OPT_FRAG_RATIO, OPT_FRAG_OBJS,
	OPT_FRAG_SMALL, OPT_FRAG_SPREAD, OPT_BURST_K, OPT_BURST_MIN, OPT_USER,
};

/* One value per interval. */
struct history {
	struct series usage;        /* current bytes */
	struct series rates;        /* allocs/s */
	struct series alloc_bytes;  /* bytes allocated */
};

/* The seed's MemStats, plus what the detectors need per interval. */
struct proc {
	struct proc *next;          /* hash chain */
	uint32_t tgid, pid;         /* pid: the last thread seen allocating */
	char comm[16];
	bool watched, exited;
	uint64_t born;              /* first sample time: older live records are not ours */
	uint64_t last_seen;         /* last sample time, ends the interval of an exited process */
	uint64_t total_allocs, total_frees, current, peak, live_objs;
	/* this interval */
	uint64_t iv_allocs, iv_alloc_bytes, iv_short_bytes;
	/* fragmentation inputs, kept up to date incrementally */
	struct frag_input frag;
	/* bounded histories: one value per allocation / per interval */
	struct series alloc_sizes;
	struct history *hist;       /* from the first report the process lives through */
	uint32_t churn;
	/* this report's verdicts */
	struct leak_result leak;
	struct frag_result fr;
	struct burst_result burst;
	bool is_burst, is_churn, is_frag;
	uint64_t rate;
	uint32_t leak_stack;
	uint64_t leak_stack_bytes;
};

/* Internal events kmemsnoop adds to the end group: process life, not memory. */
enum ev_kind { EV_MEM, EV_FORK, EV_EXIT };

struct ev_aux {
	enum ev_kind kind;
	struct expr *req;   /* bytes_req, for slab events */
	struct expr *order; /* order, for page events */
	struct expr *a, *b; /* fork: child_pid, child_comm; exit: group_dead */
};

static struct {
	/* options */
	const char *comm;
	bool cache, pages;
	struct leak_cfg leak;
	struct churn_cfg churn;
	uint64_t churn_life_ns;
	struct frag_cfg frag;
	uint64_t frag_small;
	struct burst_cfg burst;
	int watch_pids[MAX_WATCH_PIDS];
	int nr_watch_pids;
	/* state */
	struct pair_table live;
	struct stack_table *stacks;
	struct ev_aux *aux;
	struct proc *buckets[PROC_BUCKETS];
	uint64_t nr_procs;
	pid_t self, child;
	uint64_t last_report;
	uint64_t unmatched_frees, orphan_frees, untracked;
	/* --user */
	bool user;
	uint64_t user_lost;
	char start_names[512], end_names[512];
} ks = {
	.leak = { .samples = 10, .min_growth = 64 * 1024, .min_retain_pct = 5 },
	.churn = { .full_rate = 1000, .threshold = 50 },
	.churn_life_ns = 10 * 1000000ULL,
	.frag = { .min_objects = 1000, .min_ratio_pct = 50, .min_order_spread = 3 },
	.frag_small = 256,
	.burst = { .k = 3.0, .min_rate = 1000, .min_history = BURST_MIN_HISTORY },
};

/* ---- options ---- */

static const struct prof_option kmemsnoop_opts[] = {
	{ "comm", OPT_COMM, true, "NAME", "watch only processes with this command name" },
	{ "cache", OPT_CACHE, false, NULL, "default events: add kmem_cache_alloc/kmem_cache_free" },
	{ "pages", OPT_PAGES, false, NULL, "default events: add mm_page_alloc/mm_page_free" },
	{ "leak-samples", OPT_LEAK_SAMPLES, true, "K", "leak: intervals looked at (default 10)" },
	{ "leak-min", OPT_LEAK_MIN, true, "BYTES", "leak: growth over the K intervals needed (default 64K)" },
	{ "leak-slope", OPT_LEAK_SLOPE, true, "BYTES", "leak: also report a fitted growth of BYTES/s (default off)" },
	{ "leak-retain", OPT_LEAK_RETAIN, true, "PCT", "leak: growth must be PCT% of the bytes allocated (default 5)" },
	{ "churn-lifetime", OPT_CHURN_LIFE, true, "TIME", "churn: a free this soon after its alloc is short-lived (10ms)" },
	{ "churn-rate", OPT_CHURN_RATE, true, "N", "churn: allocs/s that count as full rate (default 1000)" },
	{ "churn-threshold", OPT_CHURN_SCORE, true, "SCORE", "churn: report at this score, 0-100 (default 50)" },
	{ "frag-ratio", OPT_FRAG_RATIO, true, "PCT", "fragmentation: requested/allocated below PCT (default 50)" },
	{ "frag-objects", OPT_FRAG_OBJS, true, "N", "fragmentation: live small objects needed (default 1000)" },
	{ "frag-small", OPT_FRAG_SMALL, true, "BYTES", "fragmentation: largest small size class (default 256)" },
	{ "frag-spread", OPT_FRAG_SPREAD, true, "N", "fragmentation: page order spread (default 3)" },
	{ "burst-k", OPT_BURST_K, true, "K", "burst: standard deviations above the mean (default 3)" },
	{ "burst-min", OPT_BURST_MIN, true, "N", "burst: allocs/s below which nothing is a burst (1000)" },
	{ "user", OPT_USER, false, NULL, "user-space malloc/free of -p PID or -- CMD (BPF uprobes on libc)" },
	{ NULL, 0, false, NULL, NULL },
};

/* "65536", "64K", "64KB", "2M", "1G". */
static int parse_bytes(const char *opt, const char *arg, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || arg[0] == '-')
		goto bad;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if ((*end == 'B' || *end == 'b') && end != arg)
		end++;
	if (*end)
		goto bad;
	*out = v;
	return 0;
bad:
	usage_error("bad value '%s' for %s (expected bytes, e.g. 65536, 64K, 2M)", arg, opt);
	return -1;
}

static int parse_num(const char *opt, const char *arg, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max) {
		usage_error("bad value '%s' for %s (expected a number from %llu to %llu)", arg, opt,
			    (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

static int kmemsnoop_parse_opt(int key, const char *arg)
{
	uint64_t v;
	char *end;

	switch (key) {
	case OPT_COMM:
		if (!*arg || strlen(arg) > 15) {
			usage_error("bad value '%s' for --comm (a command name of 1 to 15 characters)", arg);
			return -1;
		}
		ks.comm = arg;
		return 0;
	case OPT_CACHE: ks.cache = true; return 0;
	case OPT_USER: ks.user = true; return 0;
	case OPT_PAGES: ks.pages = true; return 0;
	case OPT_LEAK_SAMPLES:
		if (parse_num("--leak-samples", arg, 2, SERIES_MAX - 1, &v))
			return -1;
		ks.leak.samples = (uint32_t)v;
		return 0;
	case OPT_LEAK_MIN: return parse_bytes("--leak-min", arg, &ks.leak.min_growth);
	case OPT_LEAK_SLOPE: return parse_bytes("--leak-slope", arg, &ks.leak.min_slope);
	case OPT_LEAK_RETAIN:
		if (parse_num("--leak-retain", arg, 0, 100, &v))
			return -1;
		ks.leak.min_retain_pct = (uint32_t)v;
		return 0;
	case OPT_CHURN_LIFE:
		if (parse_duration_ns(arg, &ks.churn_life_ns) || !ks.churn_life_ns) {
			usage_error("bad value '%s' for --churn-lifetime (expected e.g. 100us, 10ms, 1s)", arg);
			return -1;
		}
		return 0;
	case OPT_CHURN_RATE: return parse_num("--churn-rate", arg, 1, 1ULL << 40, &ks.churn.full_rate);
	case OPT_CHURN_SCORE:
		if (parse_num("--churn-threshold", arg, 1, 100, &v))
			return -1;
		ks.churn.threshold = (uint32_t)v;
		return 0;
	case OPT_FRAG_RATIO:
		if (parse_num("--frag-ratio", arg, 1, 100, &v))
			return -1;
		ks.frag.min_ratio_pct = (uint32_t)v;
		return 0;
	case OPT_FRAG_OBJS: return parse_num("--frag-objects", arg, 1, 1ULL << 40, &ks.frag.min_objects);
	case OPT_FRAG_SMALL: return parse_bytes("--frag-small", arg, &ks.frag_small);
	case OPT_FRAG_SPREAD:
		if (parse_num("--frag-spread", arg, 1, FRAG_ORDERS - 1, &v))
			return -1;
		ks.frag.min_order_spread = (uint32_t)v;
		return 0;
	case OPT_BURST_K:
		errno = 0;
		ks.burst.k = strtod(arg, &end);
		if (errno || end == arg || *end || ks.burst.k <= 0 || ks.burst.k > 1000) {
			usage_error("bad value '%s' for --burst-k (expected a number above 0, e.g. 3)", arg);
			return -1;
		}
		return 0;
	case OPT_BURST_MIN: return parse_num("--burst-min", arg, 0, 1ULL << 40, &ks.burst.min_rate);
	}
	return -1;
}

/* ---- processes ---- */

static bool watched_pid(uint32_t tgid)
{
	for (int i = 0; i < ks.nr_watch_pids; i++)
		if ((uint32_t)ks.watch_pids[i] == tgid)
			return true;
	return false;
}

static bool filtering(void)
{
	return ks.nr_watch_pids || ks.comm || env.cmd_argv;
}

/* Decided when a process is first seen, and again each interval while it is not watched. */
static bool decide_watched(struct session *s, struct proc *p)
{
	if (p->tgid == (uint32_t)ks.self)
		return false;
	if (!filtering())
		return true;
	if (watched_pid(p->tgid))
		return true;
	if (!ks.child && s)
		ks.child = session_child_pid(s);
	if (ks.child && p->tgid == (uint32_t)ks.child)
		return true;
	return ks.comm && !strcmp(p->comm, ks.comm);
}

static inline struct proc **bucket_of(uint32_t tgid)
{
	return &ks.buckets[(tgid * 2654435761u) % PROC_BUCKETS];
}

static struct proc *proc_find(uint32_t tgid)
{
	for (struct proc *p = *bucket_of(tgid); p; p = p->next)
		if (p->tgid == tgid)
			return p;
	return NULL;
}

/* One allocation per new process, never per event. */
static struct proc *proc_new(struct session *s, uint32_t tgid, uint64_t time)
{
	struct proc *p = calloc(1, sizeof(*p)), **b = bucket_of(tgid);

	if (!p) {
		pr_err("kmemsnoop: out of memory for process %u", tgid);
		exit(EXIT_RUNTIME);
	}
	p->tgid = p->pid = tgid;
	p->born = p->last_seen = time;
	snprintf(p->comm, sizeof(p->comm), "%s", comm_get((int)tgid));
	p->watched = decide_watched(s, p);
	p->next = *b;
	*b = p;
	ks.nr_procs++;
	return p;
}

static void proc_drop(struct proc *victim)
{
	for (struct proc **pp = bucket_of(victim->tgid); *pp; pp = &(*pp)->next) {
		if (*pp == victim) {
			*pp = victim->next;
			free(victim->hist);
			free(victim);
			ks.nr_procs--;
			return;
		}
	}
}

/* Kill with signal 0 says whether the tgid still exists (a zombie still does, until reaped). */
static bool proc_gone(uint32_t tgid)
{
	return tgid && kill((pid_t)tgid, 0) < 0 && errno == ESRCH;
}

/* ---- accounting ---- */

static void frag_account(struct proc *p, const struct live_rec *r, int sign)
{
	if (!r->aux)
		return;
	if (r->aux & PAGE_AUX) {
		uint32_t order = r->aux & ~PAGE_AUX;

		if (order < FRAG_ORDERS)
			p->frag.pages[order] += (uint64_t)(int64_t)sign;
		return;
	}
	if (r->size > ks.frag_small)
		return;
	p->frag.small_objs += (uint64_t)(int64_t)sign;
	p->frag.small_alloc += (uint64_t)(int64_t)sign * r->size;
	p->frag.small_req += (uint64_t)(int64_t)sign * r->aux;
}

/* A live record of p is gone (freed, replaced or evicted). */
static void release(struct proc *p, const struct live_rec *r)
{
	p->current -= r->size < p->current ? r->size : p->current;
	if (p->live_objs)
		p->live_objs--;
	frag_account(p, r, -1);
}

/* The owner of a record, unless it exited and its tgid now names another process. */
static struct proc *owner_of(const struct live_rec *r)
{
	struct proc *p = proc_find(r->pid);

	return p && r->time >= p->born ? p : NULL;
}

static void on_drop(void *ctx, const struct live_rec *r, enum pair_drop why)
{
	struct proc *p = owner_of(r);

	(void)ctx;
	(void)why;
	if (p)
		release(p, r);
}

static uint32_t aux_of(struct evsel *ev, const struct sample *smp)
{
	struct ev_aux *a = &ks.aux[ev->idx];
	uint64_t v;

	if (a->req) {
		v = (uint64_t)expr_eval(a->req, smp->raw, smp->raw_size);
		return v < PAGE_AUX ? (uint32_t)v : PAGE_AUX - 1;
	}
	if (a->order)
		return PAGE_AUX | ((uint32_t)expr_eval(a->order, smp->raw, smp->raw_size) & 0xff);
	return 0;
}

/* The process an allocation at `time` is charged to; NULL when it is not watched. */
static struct proc *alloc_owner(struct session *s, uint32_t tgid, uint64_t time)
{
	struct proc *p = proc_find(tgid);

	if (!p)
		p = proc_new(s, tgid, time);
	p->last_seen = time;
	return p->watched ? p : NULL;
}

/* Kernel and user allocations alike: r goes into the one live table. */
static void track_alloc(struct proc *p, const struct live_rec *rec, uint32_t tid)
{
	struct live_rec r = *rec;

	/* A replaced record is handed to on_drop() before the new one goes in. */
	if (pair_start(&ks.live, &r)) {
		ks.untracked++;
		return;
	}
	p->pid = tid;
	p->total_allocs++;
	p->iv_allocs++;
	p->iv_alloc_bytes += r.size;
	p->current += r.size;
	p->live_objs++;
	if (p->current > p->peak)
		p->peak = p->current;
	frag_account(p, &r, +1);
	series_push(&p->alloc_sizes, r.size);
}

static void on_alloc(struct session *s, struct evsel *ev, const struct sample *smp)
{
	struct proc *p = alloc_owner(s, smp->pid, smp->time);
	struct live_rec r;

	if (!p)
		return;
	r = (struct live_rec){
		.key = evsel_key(ev, smp), .time = smp->time, .size = evsel_size(ev, smp),
		.pid = smp->pid, .evsel = (uint16_t)ev->idx, .aux = aux_of(ev, smp),
	};
	if (ev->stack && smp->nr_ips)
		r.stack = callchain_intern(ks.stacks, 0, smp->pid, smp->ips, smp->nr_ips);
	track_alloc(p, &r, smp->tid);
}

/* A free at `time` of the object at key, charged to the process that allocated it. */
static void track_free(uint64_t key, uint64_t time)
{
	struct live_rec r;
	struct proc *p;

	if (!pair_end(&ks.live, key, &r)) {
		ks.unmatched_frees++;
		return;
	}
	p = owner_of(&r);
	if (!p) {
		ks.orphan_frees++;
		return;
	}
	p->total_frees++;
	release(p, &r);
	if (time >= r.time && time - r.time <= ks.churn_life_ns)
		p->iv_short_bytes += r.size;
}

static void on_free(struct evsel *ev, const struct sample *smp)
{
	uint64_t key = evsel_key(ev, smp);

	/* kfree(NULL) frees nothing. */
	if (key)
		track_free(key, smp->time);
}

/* A forked child starts with its parent's comm and may be gone before /proc is read. */
static void on_fork(struct ev_aux *a, const struct sample *smp)
{
	const char *str;
	char comm[16];
	int len;

	if (expr_eval_str(a->b, smp->raw, smp->raw_size, &str, &len) || len <= 0)
		return;
	if (len > 15)
		len = 15;
	memcpy(comm, str, (size_t)len);
	comm[len] = '\0';
	comm_set((int)expr_eval(a->a, smp->raw, smp->raw_size), comm);
}

/* The last thread of a process exits: report it once more, then drop it. */
static void on_exit_event(struct ev_aux *a, const struct sample *smp)
{
	bool dead = a->a ? expr_eval(a->a, smp->raw, smp->raw_size) != 0 : smp->pid == smp->tid;
	struct proc *p;

	if (!dead || !(p = proc_find(smp->pid)))
		return;
	p->exited = true;
	p->last_seen = smp->time;
}

static void kmemsnoop_sample(struct session *s, struct evsel *ev, const struct sample *smp)
{
	struct ev_aux *a = &ks.aux[ev->idx];

	if (a->kind == EV_FORK)
		on_fork(a, smp);
	else if (a->kind == EV_EXIT)
		on_exit_event(a, smp);
	else if (evsel_is_start(ev))
		on_alloc(s, ev, smp);
	else
		on_free(ev, smp);
}

/* ---- detection, once per interval ---- */

static void detect(struct proc *p, uint64_t now)
{
	/*
	 * The interval of an exited process ends at its exit, so exiting half way
	 * does not dilute its rate. It always starts at the interval start: a
	 * process first seen just before a report has one allocation, not a
	 * thousand a second.
	 */
	uint64_t start = ks.last_report;
	uint64_t end = p->exited && p->last_seen > start ? p->last_seen : now;
	uint64_t buf[SERIES_MAX], window = 0;
	uint32_t n;

	p->rate = rate_per_sec(p->iv_allocs, end > start ? end - start : 0);
	p->churn = churn_score(p->rate, p->iv_short_bytes, p->iv_alloc_bytes, &ks.churn);
	p->is_churn = p->churn >= ks.churn.threshold;
	p->is_frag = detect_frag(&p->frag, &ks.frag, &p->fr);
	p->leak_stack = 0;
	p->leak_stack_bytes = 0;
	/*
	 * Histories cost ~1.5 KB: a process that is born and gone within one
	 * interval (no earlier sample, so no leak or burst verdict) never gets one.
	 */
	if (!p->hist && !p->exited)
		p->hist = calloc(1, sizeof(*p->hist));
	if (!p->hist) {
		memset(&p->leak, 0, sizeof(p->leak));
		p->is_burst = false;
		return;
	}
	n = series_last(&p->hist->rates, SERIES_MAX, buf);
	p->is_burst = detect_burst(buf, n, p->rate, &ks.burst, &p->burst);
	series_push(&p->hist->rates, p->rate);
	series_push(&p->hist->usage, p->current);
	series_push(&p->hist->alloc_bytes, p->iv_alloc_bytes);
	n = series_last(&p->hist->alloc_bytes, ks.leak.samples, buf);
	for (uint32_t i = 0; i < n; i++)
		window += buf[i];
	n = series_last(&p->hist->usage, ks.leak.samples + 1, buf);
	detect_leak(buf, n, window, &ks.leak, &p->leak);
}

/*
 * The stack holding most live bytes of each leaking process: one pass over
 * the live table into a scratch (tgid, stack) -> bytes map, once per report.
 */
struct stack_sum {
	uint64_t key, bytes;
};

struct leak_scan {
	struct stack_sum *sums;
	uint64_t mask;
};

static void sum_leak_stack(void *ctx, const struct live_rec *r)
{
	struct leak_scan *sc = ctx;
	struct proc *p = owner_of(r);
	uint64_t key = (uint64_t)r->pid << 32 | r->stack, i;

	if (!p || !p->leak.leak || !r->stack)
		return;
	for (i = (key * 0x9E3779B97F4A7C15ULL) >> 20 & sc->mask; sc->sums[i].key && sc->sums[i].key != key;
	     i = (i + 1) & sc->mask)
		;
	sc->sums[i].key = key;
	sc->sums[i].bytes += r->size;
}

static void find_leak_stacks(void)
{
	struct leak_scan sc;
	uint64_t cap = 64;

	while (cap < ks.live.count * 2)
		cap <<= 1;
	sc.sums = calloc(cap, sizeof(*sc.sums));
	sc.mask = cap - 1;
	if (!sc.sums)
		return;
	pair_foreach(&ks.live, sum_leak_stack, &sc);
	for (uint64_t i = 0; i < cap; i++) {
		struct proc *p;

		if (!sc.sums[i].key || !(p = proc_find((uint32_t)(sc.sums[i].key >> 32))))
			continue;
		if (sc.sums[i].bytes > p->leak_stack_bytes) {
			p->leak_stack_bytes = sc.sums[i].bytes;
			p->leak_stack = (uint32_t)sc.sums[i].key;
		}
	}
	free(sc.sums);
}

/* ---- reports ---- */

static void text_anomalies(FILE *f, const struct proc *p)
{
	char a[32], b[32];

	if (p->leak.leak) {
		fprintf(f, "ANOMALY leak: current grew in %u of the last %u samples (+%s, %u%% of allocated bytes kept",
			p->leak.grew, p->leak.of, format_human_size((uint64_t)p->leak.growth, a, sizeof(a)),
			p->leak.retain_pct);
		if (p->leak.by_slope)
			fprintf(f, ", fitted %s/s", format_human_size((uint64_t)p->leak.slope, b, sizeof(b)));
		if (p->leak_stack) {
			fprintf(f, "), top stack (%s live):\n", format_human_size(p->leak_stack_bytes, b, sizeof(b)));
			report_stack_text(f, ks.stacks, p->leak_stack);
		} else {
			fprintf(f, "), no stack (%s)\n", ks.user ? "--user records no stacks" :
				"add stack to the alloc events or use -g");
		}
	}
	if (p->is_churn)
		fprintf(f, "ANOMALY churn: score %u >= %u (%llu allocs/s, %s of %s freed within %llu us)\n",
			p->churn, ks.churn.threshold, (unsigned long long)p->rate,
			format_human_size(p->iv_short_bytes, a, sizeof(a)),
			format_human_size(p->iv_alloc_bytes, b, sizeof(b)),
			(unsigned long long)(ks.churn_life_ns / 1000));
	if (p->fr.slab)
		fprintf(f, "ANOMALY fragmentation: %llu live objects of <= %llu bytes use %u%% of their size class "
			"(below %u%%)\n", (unsigned long long)p->frag.small_objs, (unsigned long long)ks.frag_small,
			p->fr.ratio_pct, ks.frag.min_ratio_pct);
	if (p->fr.pages)
		fprintf(f, "ANOMALY fragmentation: %llu live order-0 pages, live orders spread over %u\n",
			(unsigned long long)p->frag.pages[0], p->fr.order_spread);
	if (p->is_burst)
		fprintf(f, "ANOMALY burst: %llu allocs/s > %.0f (mean %.0f + %.1f x stddev %.0f)\n",
			(unsigned long long)p->rate, p->burst.limit, p->burst.mean, ks.burst.k, p->burst.stddev);
}

static void text_proc(FILE *f, const struct proc *p)
{
	char cur[32], peak[32], avg[32], max[32];
	uint64_t sizes[SERIES_MAX], sum = 0, hi = 0;
	uint32_t n = series_last(&p->alloc_sizes, SERIES_MAX, sizes);

	for (uint32_t i = 0; i < n; i++) {
		sum += sizes[i];
		hi = sizes[i] > hi ? sizes[i] : hi;
	}
	fprintf(f, "============ memory report: %s (tgid %u%s) ============\n", p->comm, p->tgid,
		p->exited ? ", exited" : "");
	fprintf(f, "allocs %llu, frees %llu, current %s, peak %s, churn %u\n",
		(unsigned long long)p->total_allocs, (unsigned long long)p->total_frees,
		format_human_size(p->current, cur, sizeof(cur)), format_human_size(p->peak, peak, sizeof(peak)),
		p->churn);
	fprintf(f, "pid %u, live objects %llu, %llu allocs/s, last %u alloc sizes: avg %s, max %s\n", p->pid,
		(unsigned long long)p->live_objs, (unsigned long long)p->rate, n,
		format_human_size(n ? sum / n : 0, avg, sizeof(avg)), format_human_size(hi, max, sizeof(max)));
	text_anomalies(f, p);
}

static void json_series(FILE *f, const char *name, const struct series *s)
{
	uint64_t v[SERIES_MAX];
	uint32_t n = series_last(s, SERIES_MAX, v);

	fprintf(f, ",\"%s\":[", name);
	for (uint32_t i = 0; i < n; i++)
		fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
	fputc(']', f);
}

static void json_proc(FILE *f, const char *ts, const struct proc *p)
{
	bool first = true;

	fprintf(f, "{\"time\":\"%s\",\"tgid\":%u,\"pid\":%u,\"comm\":", ts, p->tgid, p->pid);
	report_json_string(f, p->comm);
	fprintf(f, ",\"exited\":%s,\"total_allocs\":%llu,\"total_frees\":%llu,\"current_bytes\":%llu,"
		"\"peak_bytes\":%llu,\"live_objects\":%llu,\"allocs_per_sec\":%llu,\"churn_score\":%u",
		p->exited ? "true" : "false", (unsigned long long)p->total_allocs,
		(unsigned long long)p->total_frees, (unsigned long long)p->current, (unsigned long long)p->peak,
		(unsigned long long)p->live_objs, (unsigned long long)p->rate, p->churn);
	json_series(f, "alloc_sizes", &p->alloc_sizes);
	if (p->hist)
		json_series(f, "usage_samples", &p->hist->usage);
	else
		fprintf(f, ",\"usage_samples\":[%llu]", (unsigned long long)p->current);
	fputs(",\"anomalies\":[", f);
	if (p->leak.leak) {
		fprintf(f, "{\"type\":\"leak\",\"grew\":%u,\"of\":%u,\"growth_bytes\":%lld,\"retain_pct\":%u,"
			"\"slope_bytes_per_sec\":%.0f,\"by_slope\":%s,\"stack_bytes\":%llu,\"stack\":", p->leak.grew,
			p->leak.of, (long long)p->leak.growth, p->leak.retain_pct, p->leak.slope, p->leak.by_slope ? "true" : "false",
			(unsigned long long)p->leak_stack_bytes);
		if (p->leak_stack)
			report_stack_json(f, ks.stacks, p->leak_stack);
		else
			fputs("[]", f);
		fputc('}', f);
		first = false;
	}
	if (p->is_churn) {
		fprintf(f, "%s{\"type\":\"churn\",\"score\":%u,\"short_lived_bytes\":%llu,\"alloc_bytes\":%llu}",
			first ? "" : ",", p->churn, (unsigned long long)p->iv_short_bytes,
			(unsigned long long)p->iv_alloc_bytes);
		first = false;
	}
	if (p->is_frag) {
		fprintf(f, "%s{\"type\":\"fragmentation\",\"slab\":%s,\"pages\":%s,\"small_objects\":%llu,"
			"\"ratio_pct\":%u,\"order_spread\":%u}", first ? "" : ",", p->fr.slab ? "true" : "false",
			p->fr.pages ? "true" : "false", (unsigned long long)p->frag.small_objs, p->fr.ratio_pct,
			p->fr.order_spread);
		first = false;
	}
	if (p->is_burst)
		fprintf(f, "%s{\"type\":\"burst\",\"rate\":%llu,\"limit\":%.0f,\"mean\":%.0f,\"stddev\":%.0f}",
			first ? "" : ",", (unsigned long long)p->rate, p->burst.limit, p->burst.mean, p->burst.stddev);
	fputs("]}\n", f);
}

static int by_current(const void *a, const void *b)
{
	const struct proc *x = *(struct proc *const *)a, *y = *(struct proc *const *)b;

	if (x->current != y->current)
		return x->current < y->current ? 1 : -1;
	return x->tgid < y->tgid ? -1 : x->tgid > y->tgid;
}

/* s is NULL for --user (no tracepoint session). */
static void print_report(struct session *s, struct env *e, struct proc **procs, uint64_t n, uint64_t now)
{
	FILE *f = e->out;
	bool json = !strcmp(e->format, "json");
	uint64_t shown = n < (uint64_t)e->top ? n : (uint64_t)e->top;
	char ts[40];

	format_wallclock(now, ts, sizeof(ts));
	if (!json)
		fprintf(f, "%s kmemsnoop: %llu processes, top %llu by current bytes\n", ts,
			(unsigned long long)n, (unsigned long long)shown);
	for (uint64_t i = 0; i < shown; i++) {
		if (json)
			json_proc(f, ts, procs[i]);
		else
			text_proc(f, procs[i]);
	}
	if (json)
		return;
	if (ks.unmatched_frees || ks.orphan_frees)
		fprintf(f, "%llu frees without a seen alloc, %llu frees of exited processes' objects\n",
			(unsigned long long)ks.unmatched_frees, (unsigned long long)ks.orphan_frees);
	if (ks.untracked)
		fprintf(f, "%llu allocs not tracked (out of memory for the live table)\n",
			(unsigned long long)ks.untracked);
	if (ks.live.nr_replaced || ks.live.nr_evicted)
		fprintf(f, "%llu allocs replaced without a seen free, %llu evicted by --max-live\n",
			(unsigned long long)ks.live.nr_replaced, (unsigned long long)ks.live.nr_evicted);
	if (ks.user_lost)
		fprintf(f, "%llu user allocs/frees lost (event buffer full)\n", (unsigned long long)ks.user_lost);
	if (s)
		pairing_report_faults(s, f);
	fputc('\n', f);
}

static void report(struct session *s, struct env *e, bool final)
{
	uint64_t now = mono_now_ns(), n = 0;
	struct proc **procs = malloc(sizeof(*procs) * (ks.nr_procs ? ks.nr_procs : 1));
	bool any_leak = false;

	if (!procs) {
		pr_err("kmemsnoop: out of memory for the report");
		return;
	}
	for (int b = 0; b < PROC_BUCKETS; b++) {
		for (struct proc *p = ks.buckets[b]; p; p = p->next) {
			/* exec renames a process (PERF_RECORD_COMM updates the cache). */
			snprintf(p->comm, sizeof(p->comm), "%s", comm_get((int)p->tgid));
			if (!p->watched && (p->watched = decide_watched(s, p)) == false)
				continue;
			if (!final && !p->exited)
				p->exited = proc_gone(p->tgid);
			detect(p, now);
			any_leak |= p->leak.leak;
			procs[n++] = p;
		}
	}
	if (any_leak)
		find_leak_stacks();
	qsort(procs, n, sizeof(*procs), by_current);
	print_report(s, e, procs, n, now);
	fflush(e->out);
	free(procs);
	/* Interval counters start again; exited processes have had their last report. */
	for (int b = 0; b < PROC_BUCKETS; b++) {
		struct proc *next;

		for (struct proc *p = ks.buckets[b]; p; p = next) {
			next = p->next;
			p->iv_allocs = p->iv_alloc_bytes = p->iv_short_bytes = 0;
			if (p->exited || (!p->watched && proc_gone(p->tgid)))
				proc_drop(p);
		}
	}
	ks.last_report = now;
}

static void kmemsnoop_interval(struct session *s)
{
	report(s, s->env, false);
}

/* ---- setup ---- */

static int setup_aux(struct session *s)
{
	ks.aux = calloc((size_t)s->nr_evsels, sizeof(*ks.aux));
	if (!ks.aux)
		return EXIT_RUNTIME;
	for (int i = 0; i < s->nr_evsels; i++) {
		struct evsel *ev = &s->evsels[i];
		struct expr_error err;

		if (!strcmp(ev->tp->system, "sched") && !strcmp(ev->tp->name, "sched_process_fork")) {
			ks.aux[i].kind = EV_FORK;
			ks.aux[i].a = expr_compile("child_pid", ev->tp, &err);
			ks.aux[i].b = expr_compile("child_comm", ev->tp, &err);
			if (!ks.aux[i].a || !ks.aux[i].b) {
				pr_err("kmemsnoop: sched:sched_process_fork lacks child_pid/child_comm");
				return EXIT_RUNTIME;
			}
			continue;
		}
		if (!strcmp(ev->tp->system, "sched") && !strcmp(ev->tp->name, "sched_process_exit")) {
			ks.aux[i].kind = EV_EXIT;
			if (tep_find_field(ev->tp, "group_dead"))
				ks.aux[i].a = expr_compile("group_dead", ev->tp, &err);
			continue;
		}
		if (!evsel_is_start(ev))
			continue;
		if (tep_find_field(ev->tp, "bytes_req"))
			ks.aux[i].req = expr_compile("bytes_req", ev->tp, &err);
		else if (tep_find_field(ev->tp, "order"))
			ks.aux[i].order = expr_compile("order", ev->tp, &err);
		if (ev->stack && ksyms_load()) {
			pr_err("kmemsnoop: cannot read /proc/kallsyms for stacks");
			return EXIT_RUNTIME;
		}
	}
	return 0;
}

/* "a,b" names of one group's memory events (the internal process events left out). */
static void memory_group_names(const struct session *s, int group, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < s->nr_evsels && o < len; i++)
		if (s->evsels[i].group == group && ks.aux[i].kind == EV_MEM)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "", s->evsels[i].name);
}

static int kmemsnoop_init(struct session *s)
{
	struct pairing_cfg cfg = { .prof = "kmemsnoop", .start_needs_size = true, .end_optional = true };
	int ret = pairing_setup(s, &cfg);

	if (ret)
		return ret;
	if (strcmp(s->env->format, "text") && strcmp(s->env->format, "json")) {
		usage_error("kmemsnoop: --format %s is not supported here (text, json)", s->env->format);
		return EXIT_USAGE;
	}
	ks.self = getpid();
	ks.leak.interval_ns = (uint64_t)s->env->interval_ms * 1000000ULL;
	ks.stacks = stack_table_new();
	if (!ks.stacks || pair_table_init(&ks.live, (uint64_t)s->env->max_live, on_drop, NULL))
		return EXIT_RUNTIME;
	if ((ret = setup_aux(s)))
		return ret;
	/* Watched processes are reported from the start, even before they allocate. */
	for (int i = 0; i < ks.nr_watch_pids; i++)
		if (!proc_find((uint32_t)ks.watch_pids[i]))
			proc_new(s, (uint32_t)ks.watch_pids[i], mono_now_ns());
	memory_group_names(s, 0, ks.start_names, sizeof(ks.start_names));
	memory_group_names(s, 1, ks.end_names, sizeof(ks.end_names));
	pr_verbose(1, "kmemsnoop: %s => %s\n", ks.start_names, ks.end_names);
	ks.last_report = mono_now_ns();
	return 0;
}

/* Both the kernel and the --user path end by dropping every tracked process. */
static void free_procs(void)
{
	for (int b = 0; b < PROC_BUCKETS; b++) {
		struct proc *next;

		for (struct proc *p = ks.buckets[b]; p; p = next) {
			next = p->next;
			free(p->hist);
			free(p);
		}
		ks.buckets[b] = NULL;
	}
}

static void kmemsnoop_exit(struct session *s)
{
	report(s, s->env, true);
	pr_verbose(1, "kmemsnoop: %llu processes, %llu live records in a table of %llu, %u stacks\n",
		   (unsigned long long)ks.nr_procs, (unsigned long long)ks.live.count,
		   (unsigned long long)ks.live.mask + 1, stack_count(ks.stacks));
	free_procs();
	for (int i = 0; ks.aux && i < s->nr_evsels; i++) {
		expr_free(ks.aux[i].req);
		expr_free(ks.aux[i].order);
		expr_free(ks.aux[i].a);
		expr_free(ks.aux[i].b);
	}
	free(ks.aux);
	pair_table_free(&ks.live);
	stack_table_free(ks.stacks);
}

/*
 * -p is kmemsnoop's own filter: events stay system-wide so that frees done
 * by other tasks (RCU, kworkers) still pair with the watched allocations.
 */
static int take_pids(struct env *e)
{
	const char *p = e->pids;

	while (p && *p) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || v <= 0 || v > INT32_MAX || (*end && *end != ',')) {
			usage_error("bad value '%s' for -p (expected a comma separated list of process ids)", e->pids);
			return EXIT_USAGE;
		}
		if (kill((pid_t)v, 0) < 0 && errno == ESRCH) {
			usage_error("no such process %ld in -p", v);
			return EXIT_USAGE;
		}
		if (ks.nr_watch_pids == MAX_WATCH_PIDS) {
			usage_error("too many processes in -p (at most %d)", MAX_WATCH_PIDS);
			return EXIT_USAGE;
		}
		ks.watch_pids[ks.nr_watch_pids++] = (int)v;
		p = *end ? end + 1 : end;
	}
	e->pids = NULL;
	return 0;
}

#define LIFE_EVENTS "sched:sched_process_fork//key=child_pid/,sched:sched_process_exit//key=pid/"

static char start_spec[512], end_spec[512], *user_end_spec;

static void default_events(struct env *e)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t o;

	o = (size_t)snprintf(start_spec, sizeof(start_spec), "kmem:kmalloc//key=ptr/size=bytes_alloc/stack/");
	if (ks.cache)
		o += (size_t)snprintf(start_spec + o, sizeof(start_spec) - o,
				      ",kmem:kmem_cache_alloc//key=ptr/size=bytes_alloc/stack/");
	if (ks.pages)
		snprintf(start_spec + o, sizeof(start_spec) - o,
			 ",kmem:mm_page_alloc//key=pfn/size=%ld<<order/stack/", page > 0 ? page : 4096);
	o = (size_t)snprintf(end_spec, sizeof(end_spec), "kmem:kfree//key=ptr/");
	if (ks.cache)
		o += (size_t)snprintf(end_spec + o, sizeof(end_spec) - o, ",kmem:kmem_cache_free//key=ptr/");
	if (ks.pages)
		o += (size_t)snprintf(end_spec + o, sizeof(end_spec) - o, ",kmem:mm_page_free//key=pfn/");
	snprintf(end_spec + o, sizeof(end_spec) - o, ",%s", LIFE_EVENTS);
	e->events[0] = start_spec;
	e->events[1] = end_spec;
	e->nr_events = 2;
}

/* ---- --user: the C library's malloc/free through memleak's uprobes ---- */

#define USER_RINGBUF (16u << 20)
#define USER_TICK_MS 50

static int user_event(void *ctx, void *data, size_t len)
{
	const struct bv_uevent *ev = data;
	struct proc *p;

	(void)ctx;
	if (len < sizeof(*ev))
		return 0;
	if (ev->op == BV_UEV_FREE) {
		track_free(ev->addr, ev->time_ns);
		return 0;
	}
	p = alloc_owner(NULL, ev->pid, ev->time_ns);
	if (p)
		track_alloc(p, &(struct live_rec){ .key = ev->addr, .time = ev->time_ns, .size = ev->size,
						   .pid = ev->pid }, ev->tid);
	return 0;
}

static void user_free_state(void)
{
	free_procs();
	pair_table_free(&ks.live);
	stack_table_free(ks.stacks);
}

/* Options that only make sense for kernel events, refused with --user. */
static int user_check_usage(struct env *e)
{
	if (e->nr_events || ks.cache || ks.pages || ks.comm) {
		usage_error("kmemsnoop: --user traces malloc/free; -e, --cache, --pages and --comm are for kernel events");
		return EXIT_USAGE;
	}
	if (!e->pids && !e->cmd_argv) {
		usage_error("kmemsnoop: --user needs -p PID or -- CMD");
		return EXIT_USAGE;
	}
	if (e->pids && e->cmd_argv) {
		usage_error("kmemsnoop: --user takes either -p PID or -- CMD, not both");
		return EXIT_USAGE;
	}
	if (strcmp(e->format, "text") && strcmp(e->format, "json")) {
		usage_error("kmemsnoop: --format %s is not supported here (text, json)", e->format);
		return EXIT_USAGE;
	}
	return take_pids(e);
}

static int user_attach(struct memleak_bpf *skel, struct bpf_link **links, int pid, const char *libc_of_pid)
{
	char libc[4200];

	if (memleak_find_libc(libc_of_pid ? atoi(libc_of_pid) : pid, libc, sizeof(libc))) {
		pr_err("kmemsnoop: process %d maps no C library (static binary?): nothing to probe", pid);
		return EXIT_RUNTIME;
	}
	if (memleak_attach(skel, pid, libc, links))
		return EXIT_RUNTIME;
	pr_verbose(1, "kmemsnoop: uprobes on malloc/calloc/realloc/free/mmap/munmap of %s for pid %d\n", libc, pid);
	return 0;
}

/*
 * A -p process has exited once it is a zombie: its parent may reap it
 * much later, and it cannot malloc any more.
 */
static bool user_pid_done(uint32_t tgid)
{
	char path[40], buf[256], *rp;
	FILE *f;
	size_t n;

	if (proc_gone(tgid))
		return true;
	snprintf(path, sizeof(path), "/proc/%u/stat", tgid);
	f = fopen(path, "re");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold ')' itself, the last one ends it. */
	rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

/* Still something to watch: the child, or any -p process. */
static bool user_targets_alive(int *exit_code)
{
	bool alive = false;

	if (ks.child)
		return memleak_child_poll(ks.child, NULL, exit_code);
	for (int i = 0; i < ks.nr_watch_pids; i++)
		alive |= !user_pid_done((uint32_t)ks.watch_pids[i]);
	return alive;
}

static void user_mark_exited(void)
{
	for (int b = 0; b < PROC_BUCKETS; b++)
		for (struct proc *p = ks.buckets[b]; p; p = p->next)
			if (!p->exited && user_pid_done(p->tgid))
				p->exited = true;
}

static int user_loop(struct env *e, struct memleak_bpf *skel, struct ring_buffer *rb)
{
	long reports = 0;
	int exit_code = 0;

	for (;;) {
		bool alive, stop;
		int n = ring_buffer__poll(rb, USER_TICK_MS);

		if (n < 0 && n != -EINTR) {
			pr_err("kmemsnoop: reading the event buffer: %s", strerror(-n));
			return EXIT_RUNTIME;
		}
		alive = user_targets_alive(&exit_code);
		stop = bv_stopping() || !alive;
		if (stop)
			break;
		if (mono_now_ns() - ks.last_report >= (uint64_t)e->interval_ms * 1000000ULL) {
			ks.user_lost = skel->bss->lost_events;
			report(NULL, e, false);
			if (e->exit_n && ++reports >= e->exit_n)
				return EXIT_OK;
		}
	}
	/* What the target did up to its exit is in the buffer: take it all, then the last report. */
	ring_buffer__consume(rb);
	ks.user_lost = skel->bss->lost_events;
	user_mark_exited();
	report(NULL, e, true);
	return EXIT_OK;
}

static int user_run(struct env *e)
{
	struct bpf_link *links[MAX_WATCH_PIDS][MEMLEAK_NR_PROBES] = { 0 };
	struct bv_run r = { 0 };
	struct memleak_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	int ret, err;

	if ((ret = user_check_usage(e)))
		return ret;
	if (!e->interval_ms)
		e->interval_ms = 1000;
	if ((ret = bv_start(&r, "kmemsnoop", e, 0)))
		return ret;
	ks.self = getpid();
	ks.leak.interval_ns = (uint64_t)e->interval_ms * 1000000ULL;
	ks.stacks = stack_table_new();
	if (!ks.stacks || pair_table_init(&ks.live, (uint64_t)e->max_live, on_drop, NULL))
		return EXIT_RUNTIME;
	skel = memleak_bpf__open();
	if (!skel) {
		ret = bv_bpf_error("kmemsnoop", "opening the uprobe programs", -errno);
		goto out;
	}
	skel->rodata->emit_events = true;
	bpf_map__set_max_entries(skel->maps.events, USER_RINGBUF);
	/* Only the ring buffer is used: keep the memleak tables minimal. */
	bpf_map__set_max_entries(skel->maps.allocs, 1);
	bpf_map__set_max_entries(skel->maps.combined, 1);
	bpf_map__set_max_entries(skel->maps.stack_traces, 1);
	if ((err = memleak_bpf__load(skel))) {
		ret = bv_bpf_error("kmemsnoop", "loading the uprobe programs", err);
		goto out;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), user_event, NULL, NULL);
	if (!rb) {
		ret = bv_bpf_error("kmemsnoop", "opening the event buffer", -errno);
		goto out;
	}
	if (e->cmd_argv) {
		char self[16];

		/* The child has our C library until its exec: probe the one it will map. */
		snprintf(self, sizeof(self), "%d", ks.self);
		ks.child = memleak_start_command(e->cmd_argv);
		if (ks.child < 0) {
			ks.child = 0;
			ret = EXIT_RUNTIME;
			goto out;
		}
		ret = user_attach(skel, links[0], ks.child, self);
		if (ret) {
			kill(ks.child, SIGKILL);
			waitpid(ks.child, NULL, __WALL);
			goto out;
		}
		proc_new(NULL, (uint32_t)ks.child, mono_now_ns());
		ptrace(PTRACE_CONT, ks.child, NULL, NULL);
	} else {
		for (int i = 0; i < ks.nr_watch_pids; i++) {
			if ((ret = user_attach(skel, links[i], ks.watch_pids[i], NULL)))
				goto out;
			if (!proc_find((uint32_t)ks.watch_pids[i]))
				proc_new(NULL, (uint32_t)ks.watch_pids[i], mono_now_ns());
		}
	}
	ks.last_report = mono_now_ns();
	ret = user_loop(e, skel, rb);
out:
	if (ks.child && !proc_gone((uint32_t)ks.child)) {
		kill(ks.child, SIGKILL);
		waitpid(ks.child, NULL, __WALL);
	}
	ring_buffer__free(rb);
	for (int i = 0; i < MAX_WATCH_PIDS; i++)
		for (int j = 0; j < MEMLEAK_NR_PROBES; j++)
			bpf_link__destroy(links[i][j]);
	memleak_bpf__destroy(skel);
	user_free_state();
	return ret;
}

static struct profiler kmemsnoop;

static int kmemsnoop_run(struct env *e)
{
	int ret;

	if (ks.user)
		return user_run(e);

	if (e->nr_events && (ks.cache || ks.pages)) {
		usage_error("kmemsnoop: --cache and --pages choose default events; they cannot be used with -e");
		return EXIT_USAGE;
	}
	if ((ret = take_pids(e)))
		return ret;
	if (!e->nr_events)
		default_events(e);
	/*
	 * Process life comes from the stream itself: fork gives a short-lived
	 * child's comm, exit (group_dead) says when to report a process for the
	 * last time. They ride in the end group; the sample hook tells them apart.
	 */
	if (e->nr_events == 1) {
		e->events[1] = LIFE_EVENTS;
		e->nr_events = 2;
	} else if (e->nr_events == 2) {
		if (e->events[1] != end_spec && asprintf(&user_end_spec, "%s,%s", e->events[1], LIFE_EVENTS) < 0)
			return EXIT_RUNTIME;
		e->events[1] = user_end_spec ? user_end_spec : end_spec;
	}
	/* Samples are the detectors' time base: an interval is always on. */
	if (!e->interval_ms)
		e->interval_ms = 1000;
	/* Out-of-order free-before-alloc would leave phantom live objects: always merge. */
	e->order = true;
	if (e->mmap_pages == 64)
		e->mmap_pages = 256;
	ret = session_run(&kmemsnoop, e);
	free(user_end_spec);
	return ret;
}

static struct profiler kmemsnoop = {
	.name = "kmemsnoop",
	.formats = "text json",
	.desc = "per-process kernel memory (allocs, frees, current, peak) and leak/churn/fragmentation/burst "
		"anomalies [-- CMD]",
	.common = "event cpus pids cgroups mmap-pages watermark interval exit-N call-graph kernel-callchain user-callchain line "
		  "output format key top max-live verbose",
	.opts = kmemsnoop_opts,
	.parse_opt = kmemsnoop_parse_opt,
	.init = kmemsnoop_init,
	.sample = kmemsnoop_sample,
	.interval = kmemsnoop_interval,
	.exit = kmemsnoop_exit,
	.run = kmemsnoop_run,
};
PROFILER_REGISTER(kmemsnoop);
