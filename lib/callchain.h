/* Printing callchains: kernel frames through kallsyms, user frames as addresses. */
#ifndef LIB_CALLCHAIN_H
#define LIB_CALLCHAIN_H

#include <stdint.h>
#include <stdio.h>

/* Print ips[0..nr) one frame a line, skipping PERF_CONTEXT_* markers. */
void callchain_print(FILE *f, const uint64_t *ips, uint64_t nr, int pid);

#endif
