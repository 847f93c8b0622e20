/*
 * The event engine: specs -> open per CPU -> rings -> (order) -> profiler.
 * A profiler sees only evsels and samples; it never touches a ring.
 */
#ifndef LIB_SESSION_H
#define LIB_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "perf-prof.h"

struct tep_handle;
struct tep_event;
struct event_spec;
struct expr;

/* One parsed sample; pointers are valid only during the callback. */
struct sample {
	uint64_t ip;
	uint32_t pid, tid;
	uint64_t time; /* CLOCK_MONOTONIC ns */
	uint32_t cpu;
	uint64_t id;
	uint64_t nr_ips;        /* callchain entries (context markers removed) */
	const uint64_t *ips;    /* raw callchain, may hold PERF_CONTEXT_* markers */
	uint32_t raw_size;
	const void *raw;        /* tracepoint record */
};

/* One event of one -e argument. */
struct evsel {
	struct event_spec *spec;
	char *name;             /* "sys:name", or the alias */
	struct tep_event *tp;   /* format from libtraceevent */
	int tp_id;
	int group;              /* which -e argument (0-based) */
	int idx;                /* index in session->evsels */
	bool stack;             /* sample callchains */
	struct expr *filter;    /* user-space filter, NULL when the kernel filters */
	struct expr *key;       /* key= (or -k), compiled by the profiler if it uses it */
	struct expr *size;      /* size= */
	uint64_t nr_samples;
	uint64_t nr_filtered;   /* dropped by the user-space filter */
	void *priv;             /* the profiler's */
};

struct session {
	struct env *env;
	struct profiler *prof;
	struct tep_handle *tep;
	struct evsel *evsels;
	int nr_evsels;
	int nr_groups;          /* number of -e arguments */
	int first_cpu;          /* a CPU being watched (for probing the kernel) */
	void *priv;             /* the profiler's */
	struct engine *engine;  /* private to lib/session.c */
};

/* Parse, open, run until stop; calls the profiler's hooks. Returns EXIT_*. */
int session_run(struct profiler *p, struct env *env);
/* The pid of the workload started for "-- CMD" (0 before it starts, or without one). */
int session_child_pid(const struct session *s);
/* Ask the run loop to stop after the current sample. */
void session_stop(struct session *s);
/* Name "sys:name" (or alias) of an evsel. */
static inline const char *evsel_name(const struct evsel *ev)
{
	return ev->name;
}
/* Print "LOST N events on CPU c ..." for each CPU that lost records since the last call. */
void session_report_lost(struct session *s);
uint64_t session_lost_total(const struct session *s);
/* Groups: evsels of -e argument g are those with ev->group == g. */

/* Frames of a sample's callchain without PERF_CONTEXT_* markers. */
int sample_frames(const struct sample *smp, const uint64_t **ips);

#endif
