/*
 * One perf mmap ring (a CPU's buffer, shared by every event on that CPU
 * through PERF_EVENT_IOC_SET_OUTPUT). Records are read in place; one that
 * wraps around the end of the buffer is copied into a per-ring scratch
 * buffer so callers always see contiguous memory.
 */
#ifndef LIB_RING_H
#define LIB_RING_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ring {
	int fd;
	int cpu;
	struct perf_event_mmap_page *meta;
	char *data;
	uint64_t mask;     /* data size - 1 */
	size_t map_len;    /* whole mapping, 0 for synthetic rings */
	uint64_t head;     /* snapshot taken by ring_begin() */
	uint64_t pos;      /* next record to read */
	char *scratch;     /* for records that wrap */
	size_t scratch_len;
	uint64_t stream_lost;   /* sum of PERF_RECORD_LOST(_SAMPLES) read from the ring */
	uint64_t kernel_lost;   /* the kernel's own count (PERF_FORMAT_LOST), when read */
	uint64_t lost_reported; /* part of ring_lost() already printed */
	uint64_t corrupt;       /* records with an impossible size: the rest of the round was skipped */
};

/* Map `pages` data pages (power of two) for fd. 0 or -errno. */
int ring_mmap(struct ring *r, int fd, int cpu, int pages);
/* A ring over caller memory (tests): meta page + data of `size` bytes. */
int ring_init_mem(struct ring *r, void *meta_and_data, size_t size, int cpu);
void ring_unmap(struct ring *r);

/*
 * Records lost in this ring. The kernel's count already includes drops whose
 * LOST record is still unread, so the two are not added: the larger wins.
 */
static inline uint64_t ring_lost(const struct ring *r)
{
	return r->stream_lost > r->kernel_lost ? r->stream_lost : r->kernel_lost;
}

/* Snapshot the kernel's head; records up to it may be read. */
void ring_begin(struct ring *r);
/* Next record, or NULL when pos reached the snapshot. */
const struct perf_event_header *ring_peek(struct ring *r);
/* Step past the record returned by ring_peek(). */
static inline void ring_advance(struct ring *r, const struct perf_event_header *h)
{
	r->pos += h->size;
}
/* Hand everything before pos back to the kernel. */
void ring_end(struct ring *r);
static inline bool ring_empty(const struct ring *r)
{
	return r->pos >= r->head;
}

#endif
