/* perf-prof: shared types between main, the engine and the profilers. */
#ifndef PERF_PROF_H
#define PERF_PROF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define MAX_EVENT_ARGS 16

/* Exit statuses (cli.md). */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Options common to every profiler, filled by perf-prof.c from argv. */
struct env {
	const char *events[MAX_EVENT_ARGS]; /* each -e argument, in order */
	int nr_events;
	const char *cpus;     /* -C */
	const char *pids;     /* -p */
	const char *tids;     /* -t */
	const char *cgroup;   /* --cgroups */
	int mmap_pages;       /* -m, default 64 */
	int watermark;        /* --watermark PCT, default 50 */
	bool order;           /* --order */
	long interval_ms;     /* -i, 0 = only at the end */
	long exit_n;          /* -N, 0 = unlimited */
	uint64_t than_ns;     /* --than */
	bool callchain;       /* -g */
	bool kernel_callchain;/* default true */
	bool user_callchain;
	bool line;            /* --line: file:line for user frames */
	const char *output;   /* -o */
	const char *format;   /* --format text|json|folded|pprof */
	int verbose;          /* -v, repeatable */
	const char *key;      /* -k */
	int top;              /* --top, default 10 */
	long max_live;        /* --max-live, 0 = unbounded */
	char **cmd_argv;      /* argv after "--", NULL when none */
	char **args;          /* positional arguments after the options */
	int nr_args;
	FILE *out;            /* report stream (stdout or -o FILE) */
};

/*
 * A profiler-specific option. `name` is the long name, `key` a short
 * option letter or a value >= 256 for long-only ones. parse_opt() of the
 * owning profiler receives (key, optarg).
 */
struct prof_option {
	const char *name;
	int key;
	bool has_arg;
	const char *arg_name; /* shown in --help, e.g. "MS" */
	const char *help;
};

struct session;
struct evsel;
struct sample;

/*
 * A profiler owns only its policy. Engine-driven profilers implement
 * init/sample/interval/exit and let the engine open, read and order the
 * events. Profilers that are not event streams (list, BPF views) set
 * run(), which replaces the engine loop.
 */
struct profiler {
	const char *name;
	const char *desc;
	/*
	 * Common options this profiler accepts, by long name separated by
	 * spaces, e.g. "event cpus pids order interval". NULL = all.
	 */
	const char *common;
	const struct prof_option *opts; /* extra options, NULL-name terminated */
	/* Report formats it writes, space separated, e.g. "text json"; NULL = text only. */
	const char *formats;
	int (*parse_opt)(int key, const char *arg);
	/* Validate env/events before anything is opened; return EXIT_* code. */
	int (*init)(struct session *s);
	void (*sample)(struct session *s, struct evsel *ev, const struct sample *smp);
	void (*interval)(struct session *s);
	void (*exit)(struct session *s);
	int (*run)(struct env *env);
	struct profiler *next; /* registry link, set by profiler_register() */
};

void profiler_register(struct profiler *p);
struct profiler *profiler_find(const char *name);
struct profiler *profiler_first(void);

#define PROFILER_REGISTER(p) \
	static void __attribute__((constructor)) register_##p(void) { profiler_register(&(p)); }

/* Usage error: one line on stderr prefixed "perf-prof: ". */
void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_verbose(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

extern struct env env;

#endif
