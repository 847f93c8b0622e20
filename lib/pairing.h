/*
 * Setup shared by the pairing profilers: two -e groups (start, end),
 * key= / size= compiled per event (key defaults to -k).
 */
#ifndef LIB_PAIRING_H
#define LIB_PAIRING_H

#include <stdbool.h>

#include "expr/expr.h"
#include "lib/session.h"

struct pairing_cfg {
	const char *prof;      /* profiler name, for messages */
	bool start_needs_size; /* kmemprof, kmemleak */
	bool end_optional;     /* kmemsnoop may run on starts only */
};

/* Validate groups, compile ev->key / ev->size. Returns EXIT_*. */
int pairing_setup(struct session *s, const struct pairing_cfg *cfg);

static inline bool evsel_is_start(const struct evsel *ev)
{
	return ev->group == 0;
}

static inline uint64_t evsel_key(struct evsel *ev, const struct sample *smp)
{
	return (uint64_t)expr_eval(ev->key, smp->raw, smp->raw_size);
}

static inline uint64_t evsel_size(struct evsel *ev, const struct sample *smp)
{
	return ev->size ? (uint64_t)expr_eval(ev->size, smp->raw, smp->raw_size) : 0;
}

/* "a,b" names of the events of one group, for report headers. */
void pairing_group_names(const struct session *s, int group, char *buf, size_t len);
/* Print runtime expression faults of every key=/size= ("expr errors: N (first: ...)"). */
void pairing_report_faults(const struct session *s, FILE *f);

#endif
