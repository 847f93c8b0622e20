/*
 * Event filters: the kernel first (PERF_EVENT_IOC_SET_FILTER); a filter it
 * refuses, or one that needs our language, becomes a user-space expression
 * evaluated after the ring read.
 */
#ifndef FILTER_FILTER_H
#define FILTER_FILTER_H

struct session;

/* Decide each evsel's filter path; sets ev->filter for the user path. EXIT_*. */
int filters_setup(struct session *s);

#endif
