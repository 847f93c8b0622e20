/* perf mmap ring reading; see ring.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/ring.h"

/* A record is at most 64 KiB (16-bit size): one buffer fits any that wraps. */
static int alloc_scratch(struct ring *r)
{
	r->scratch_len = 65536;
	r->scratch = malloc(r->scratch_len);
	return r->scratch ? 0 : -ENOMEM;
}

int ring_mmap(struct ring *r, int fd, int cpu, int pages)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = page * (size_t)(pages + 1);
	void *base;

	memset(r, 0, sizeof(*r));
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	r->fd = fd;
	r->cpu = cpu;
	r->meta = base;
	r->data = (char *)base + page;
	r->mask = page * (size_t)pages - 1;
	r->map_len = len;
	return alloc_scratch(r);
}

int ring_init_mem(struct ring *r, void *meta_and_data, size_t size, int cpu)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (size & (size - 1))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->cpu = cpu;
	r->meta = meta_and_data;
	r->data = (char *)meta_and_data + page;
	r->mask = size - 1;
	return alloc_scratch(r);
}

void ring_unmap(struct ring *r)
{
	if (r->map_len)
		munmap(r->meta, r->map_len);
	free(r->scratch);
	r->meta = NULL;
	r->scratch = NULL;
	r->map_len = 0;
}

void ring_begin(struct ring *r)
{
	/* Pairs with the kernel's store of data_head after writing records. */
	r->head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	r->pos = r->meta->data_tail;
}

const struct perf_event_header *ring_peek(struct ring *r)
{
	const struct perf_event_header *h;
	uint64_t off, size, first;

	if (r->pos >= r->head)
		return NULL;
	off = r->pos & r->mask;
	h = (const void *)(r->data + off);
	/* The 8-byte header itself never straddles the end: records are 8-aligned. */
	size = h->size;
	if (size < sizeof(*h) || (size & 7) || size > r->head - r->pos) {
		/* Never from a sane kernel; do not spin on it or read past it. */
		r->corrupt++;
		r->pos = r->head;
		return NULL;
	}
	if (off + size <= r->mask + 1)
		return h;
	first = r->mask + 1 - off;
	memcpy(r->scratch, r->data + off, first);
	memcpy(r->scratch + first, r->data, size - first);
	return (const void *)r->scratch;
}

void ring_end(struct ring *r)
{
	/* Our reads of the records must complete before the kernel reuses them. */
	__atomic_store_n(&r->meta->data_tail, r->pos, __ATOMIC_RELEASE);
}
