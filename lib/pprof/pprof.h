/*
 * pprof output: interned stacks with a few values each, written as a
 * gzipped profile.proto that `go tool pprof` and other pprof readers load.
 * Frames are symbolized here (kernel through kallsyms, user frames through
 * the --user-callchain symbolizer), so readers need no binaries.
 * Functions, locations, mappings and strings are stored once each.
 */
#ifndef LIB_PPROF_PPROF_H
#define LIB_PPROF_PPROF_H

#include <stdint.h>

struct pprof;
struct stack_table;

struct pprof_type {
	const char *type;   /* e.g. "alloc_space" */
	const char *unit;   /* e.g. "bytes", "count" */
};

/* alloc_objects, alloc_space, inuse_objects, inuse_space: the heap profile types Go uses. */
#define PPROF_NR_HEAP_TYPES 4
extern const struct pprof_type pprof_heap_types[PPROF_NR_HEAP_TYPES];

/* A profile whose samples carry nr values of these types; default_type is what viewers show first. */
struct pprof *pprof_new(const struct pprof_type *types, int nr, const char *default_type);
void pprof_free(struct pprof *p);
/*
 * One sample: the frames of stack id of t (innermost first; an empty stack
 * becomes one "[no stack]" frame), values[nr], labelled event=EVENT.
 * 0, or -1 when out of memory.
 */
int pprof_add(struct pprof *p, const struct stack_table *t, uint32_t id, const int64_t *values, const char *event);
/* Number of samples added. */
int pprof_nr_samples(const struct pprof *p);
/*
 * Write the profile gzipped to path, through path.tmp and rename() so a
 * reader never sees half a file. It covers the duration_ns up to now.
 * 0, or -errno.
 */
int pprof_write(struct pprof *p, const char *path, uint64_t duration_ns);

#endif
