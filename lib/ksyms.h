/* Kernel symbols from /proc/kallsyms: loaded once, binary-searched. */
#ifndef LIB_KSYMS_H
#define LIB_KSYMS_H

#include <stdint.h>
#include <stdio.h>

struct ksym {
	uint64_t addr;
	const char *name;
	const char *module; /* NULL for the core kernel */
};

/* Load /proc/kallsyms once (later calls are no-ops). 0 or -errno. */
int ksyms_load(void);
/* The symbol containing addr (greatest start <= addr), NULL if none. */
const struct ksym *ksyms_find(uint64_t addr);
/* Start of the next symbol after s, or UINT64_MAX for the last one. */
uint64_t ksyms_end(const struct ksym *s);
/* Find a symbol by exact name; 0 and [start,end) on success, -1 if none. */
int ksyms_by_name(const char *name, uint64_t *start, uint64_t *end);
/* Print "    ffffffff812a3b10 __kmalloc_noprof+0x1d0 ([kernel.kallsyms])\n". */
void ksyms_print_frame(FILE *f, uint64_t addr);
/* Tests only: load from another file; replaces what was loaded. */
int ksyms_load_file(const char *path);
void ksyms_free(void);

#endif
