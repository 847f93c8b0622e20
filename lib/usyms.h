/*
 * User-space symbols: resolve an address of process PID to
 * "symbol+offset (object)" and, with debug info, "file.c:line".
 *
 * The maps of a process are captured with usyms_capture() (call it while the
 * process lives: at first sight and whenever its maps may have changed), so
 * addresses stay resolvable after it exits. ELF objects are opened once and
 * shared by all processes (keyed by device+inode, or path); each resolved
 * (object, offset) is cached. Meant to be shared by memleak and by the
 * tracepoint profilers' --user-callchain.
 */
#ifndef LIB_USYMS_H
#define LIB_USYMS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct usyms;

struct usym {
	const char *sym;     /* NULL when unknown */
	uint64_t off;        /* addr - symbol start */
	const char *object;  /* mapped file path, "[anon]"-style names, or NULL */
	const char *file;    /* source file (basename kept as DWARF gives it), NULL without debug info */
	int line;            /* 0 without debug info */
};

struct usyms *usyms_new(void);
void usyms_free(struct usyms *u);
/* (Re)read /proc/PID/maps; returns 0, or -errno when the process is gone. */
int usyms_capture(struct usyms *u, int pid);
/* Resolve addr of pid (captured before); 0 when at least the object is known, -1 otherwise. */
int usyms_resolve(struct usyms *u, int pid, uint64_t addr, bool want_line, struct usym *out);
/*
 * Print one frame as cli.md says:
 * "    00007f3c1a2b3c4d malloc+0x1d (/usr/lib/x86_64-linux-gnu/libc.so.6) file.c:123\n"
 */
void usyms_print_frame(FILE *f, struct usyms *u, int pid, uint64_t addr, bool want_line);

#endif
