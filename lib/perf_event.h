/* Our thin perf_event_open layer (libperf is not in Debian). */
#ifndef LIB_PERF_EVENT_H
#define LIB_PERF_EVENT_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdint.h>

struct pe_tp_opts {
	int tp_id;
	bool callchain;
	bool kernel_callchain;
	bool user_callchain;
	int max_stack;        /* 0: kernel default */
	uint32_t wakeup_bytes; /* watermark in bytes */
	bool track_comm;      /* PERF_RECORD_COMM on this event */
	bool track_maps;      /* PERF_RECORD_MMAP2 (executable maps), FORK and EXIT on this event */
};

/* Fill attr for a tracepoint sampled on every hit. */
void pe_tp_attr(struct perf_event_attr *attr, const struct pe_tp_opts *o);
/* perf_event_open(2). Returns fd or -errno. */
int pe_open(struct perf_event_attr *attr, int pid, int cpu, int group_fd, unsigned long flags);
/* Redirect fd's output into the ring of `into`. 0 or -errno. */
int pe_set_output(int fd, int into);
int pe_set_filter(int fd, const char *filter);
int pe_enable(int fd);
int pe_disable(int fd);
int pe_id(int fd, uint64_t *id);
/*
 * The kernel's count of hits of this event and of samples it dropped
 * (PERF_FORMAT_LOST); -1 if unsupported.
 */
int pe_read_counts(int fd, uint64_t *count, uint64_t *lost);
/* A user-facing explanation of an open error (what is missing, how to fix). */
const char *pe_strerror(int err);

#endif
