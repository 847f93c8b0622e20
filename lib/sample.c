/* Sample parsing: walks the fields in the order the kernel writes them. */
#include <string.h>

#include "lib/sample.h"

int sample_parse(const struct perf_event_header *h, uint64_t type, struct sample *s)
{
	const uint64_t *p = (const uint64_t *)(h + 1);
	const uint64_t *end = (const uint64_t *)((const char *)h + h->size);

	/* Fields are 8-byte words; a truncated record must not be read past. */
#define NEED(n) do { if (p + (n) > end) return -1; } while (0)
	memset(s, 0, sizeof(*s));
	if (type & PERF_SAMPLE_IDENTIFIER) { NEED(1); s->id = *p++; }
	if (type & PERF_SAMPLE_IP) { NEED(1); s->ip = *p++; }
	if (type & PERF_SAMPLE_TID) {
		NEED(1);
		s->pid = (uint32_t)*p;
		s->tid = (uint32_t)(*p >> 32);
		p++;
	}
	if (type & PERF_SAMPLE_TIME) { NEED(1); s->time = *p++; }
	if (type & PERF_SAMPLE_ADDR) { NEED(1); p++; }
	if (type & PERF_SAMPLE_ID) { NEED(1); s->id = *p++; }
	if (type & PERF_SAMPLE_STREAM_ID) { NEED(1); p++; }
	if (type & PERF_SAMPLE_CPU) { NEED(1); s->cpu = (uint32_t)*p++; }
	if (type & PERF_SAMPLE_PERIOD) { NEED(1); p++; }
	if (type & PERF_SAMPLE_CALLCHAIN) {
		NEED(1);
		s->nr_ips = *p++;
		if (s->nr_ips > (uint64_t)(end - p))
			return -1;
		s->ips = p;
		p += s->nr_ips;
	}
	if (type & PERF_SAMPLE_RAW) {
		const uint32_t *sz = (const uint32_t *)p;

		NEED(1);
		s->raw_size = *sz;
		s->raw = sz + 1;
		if ((const char *)s->raw + s->raw_size > (const char *)end)
			return -1;
	}
#undef NEED
	return 0;
}

int sample_frames(const struct sample *smp, const uint64_t **ips)
{
	/*
	 * Context markers (PERF_CONTEXT_KERNEL/USER) separate the halves; the
	 * callers that need them look at smp->ips directly. Here we only skip
	 * a leading marker, the common case of a kernel-only chain.
	 */
	uint64_t i = 0;

	while (i < smp->nr_ips && smp->ips[i] >= CALLCHAIN_CONTEXT_MIN)
		i++;
	*ips = smp->ips + i;
	return (int)(smp->nr_ips - i);
}
