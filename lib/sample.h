/* PERF_RECORD_SAMPLE layout for our events and its parser. */
#ifndef LIB_SAMPLE_H
#define LIB_SAMPLE_H

#include <linux/perf_event.h>
#include <stdint.h>

#include "lib/session.h"

/*
 * Every event we open samples this prefix, so the id (first word) and the
 * time are at fixed offsets whatever else an event adds (CALLCHAIN for
 * `stack`). The merge reads the time without a full parse.
 */
#define SAMPLE_BASE_TYPE (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | \
			  PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_RAW)
#define SAMPLE_ID_OFFSET   8
#define SAMPLE_TIME_OFFSET 32

static inline uint64_t sample_id_of(const struct perf_event_header *h)
{
	return *(const uint64_t *)((const char *)h + SAMPLE_ID_OFFSET);
}

static inline uint64_t sample_time_of(const struct perf_event_header *h)
{
	return *(const uint64_t *)((const char *)h + SAMPLE_TIME_OFFSET);
}

/* Parse a sample of the given sample_type. 0, or -1 if it is malformed. */
int sample_parse(const struct perf_event_header *h, uint64_t sample_type, struct sample *s);

/* Callchain context markers (PERF_CONTEXT_*) are above this value. */
#define CALLCHAIN_CONTEXT_MIN ((uint64_t)-4095)

#endif
