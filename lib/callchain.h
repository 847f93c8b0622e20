/*
 * Callchains: interning a sample's chain and printing one. Kernel frames
 * resolve through kallsyms; user frames (after PERF_CONTEXT_USER) through
 * the one user symbolizer the engine sets up for --user-callchain.
 */
#ifndef LIB_CALLCHAIN_H
#define LIB_CALLCHAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct stack_table;
struct usyms;

/* User frames resolve through u (NULL: printed as bare addresses); want_line adds file:line. */
void callchain_set_usyms(struct usyms *u, bool want_line);
/* The symbolizer set above (or NULL), and whether file:line is wanted. */
struct usyms *callchain_usyms(bool *want_line);
/* True when the chain holds user frames. */
bool callchain_has_user(const uint64_t *ips, uint64_t nr);
/*
 * Intern a sample's chain. With user frames its process is part of the
 * identity, and that process's maps are kept for the report even after it
 * exits. Returns 0 only when out of memory.
 */
uint32_t callchain_intern(struct stack_table *t, uint32_t salt, uint32_t pid, const uint64_t *ips, uint64_t nr);
/* Print ips[0..nr) one frame a line (cli.md format), skipping PERF_CONTEXT_* markers. */
void callchain_print(FILE *f, const uint64_t *ips, uint64_t nr, int pid);

#endif
