/*
 * Evaluations per second of compiled expressions on records laid out by
 * real tracepoint formats (tests/unit/formats/). One core, no I/O in
 * the timed loop. Usage: bench/expr_bench [FORMAT_DIR] [SECONDS_PER_CASE]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event-parse.h>

#include "expr/expr.h"

struct bench_case {
	const char *label;
	const char *event;	/* format file name */
	const char *sys, *name;
	const char *text;
};

static const struct bench_case cases[] = {
	{ "size=4096<<order", "mm_page_alloc.format", "kmem", "mm_page_alloc", "4096<<order" },
	{ "key=ptr", "kmalloc.format", "kmem", "kmalloc", "ptr" },
	{ "filter(10 ops)", "kmalloc.format", "kmem", "kmalloc",
	  "bytes_alloc > 64 && bytes_req < 4096 && (gfp_flags & 0x400) != 0 && "
	  "node != 1 || call_site == 0" },
	{ "string ==", "sched_switch.format", "sched", "sched_switch",
	  "prev_comm == \"bash\" && next_pid != 0" },
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct tep_event *load_event(struct tep_handle *tep, const char *dir,
				    const struct bench_case *c)
{
	char path[512], *buf;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, c->event);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "perf-prof: expr_bench: cannot open %s\n", path);
		return NULL;
	}
	buf = calloc(1, 1 << 16);
	len = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	tep_parse_event(tep, buf, len, c->sys);
	free(buf);
	return tep_find_event_by_name(tep, c->sys, c->name);
}

static void put(struct tep_event *ev, uint8_t *rec, const char *field, uint64_t v)
{
	struct tep_format_field *f = tep_find_any_field(ev, field);

	if (f)
		memcpy(rec + f->offset, &v, f->size < 8 ? f->size : 8);
}

/* A record like the kernel writes them, filled by field name. */
static void fill(struct tep_event *ev, uint8_t *rec)
{
	struct tep_format_field *f;

	memset(rec, 0, 128);
	put(ev, rec, "common_type", ev->id);
	put(ev, rec, "common_pid", 4321);
	put(ev, rec, "order", 2);
	put(ev, rec, "pfn", 0x1a2b3);
	put(ev, rec, "gfp_flags", 0xcc0);
	put(ev, rec, "call_site", 0xffffffff81234567ULL);
	put(ev, rec, "ptr", 0xffff888012345678ULL);
	put(ev, rec, "bytes_req", 100);
	put(ev, rec, "bytes_alloc", 128);
	put(ev, rec, "node", 0);
	put(ev, rec, "next_pid", 1);
	f = tep_find_any_field(ev, "prev_comm");
	if (f)
		memcpy(rec + f->offset, "bash", 5);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/unit/formats";
	double secs = argc > 2 ? atof(argv[2]) : 1.0;
	struct tep_handle *tep = tep_alloc();
	static uint8_t rec[128];
	int status = 0;

	tep_set_long_size(tep, 8);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bench_case *c = &cases[i];
		struct tep_event *ev = load_event(tep, dir, c);
		struct expr_error err;
		struct expr *e;
		uint64_t n = 0, batch = 1 << 20;
		volatile int64_t sink = 0;
		int64_t sum = 0;
		double t0, t;

		if (!ev) {
			status = 1;
			continue;
		}
		e = expr_compile(c->text, ev, &err);
		if (!e) {
			expr_print_error(stderr, c->name, c->text, &err);
			status = 1;
			continue;
		}
		fill(ev, rec);
		t0 = now();
		do {
			for (uint64_t k = 0; k < batch; k++)
				sum += expr_eval(e, rec, 64);
			n += batch;
			t = now() - t0;
		} while (t < secs);
		sink = sum;
		(void)sink;
		printf("expr_eval %s: %.1f M evals/s (%.2f ns/eval, faults %llu)\n", c->label,
		       n / t / 1e6, t * 1e9 / n, (unsigned long long)expr_faults(e));
		expr_free(e);
	}
	tep_free(tep);
	return status;
}
