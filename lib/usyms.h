/*
 * User-space symbols: resolve an address of process PID to
 * "symbol+offset (object)" and, with debug info, "file.c:line".
 *
 * Where the executable mappings of a process come from:
 *  - usyms_capture(): /proc/PID/maps, for processes that exist already
 *    (usyms_capture_all() reads every process once at start);
 *  - the kernel's side-band records while a session runs: usyms_mmap()
 *    for PERF_RECORD_MMAP2, usyms_fork() for PERF_RECORD_FORK,
 *    usyms_exit() for PERF_RECORD_EXIT. These arrive in the rings with the
 *    samples, so a process that lives for a millisecond is still known.
 * Maps of an exited process are kept when usyms_keep() was called for it
 * (a stored stack refers to it); the others are freed by usyms_gc() one
 * call after their exit was seen.
 *
 * ELF objects are opened once and shared by every process (keyed by
 * device+inode, or path); each resolved (object, file address) is cached,
 * so a report resolves a frame once however many stacks hold it.
 * Used by memleak and by the engine's --user-callchain.
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
/* Capture every process in /proc; returns how many were read. */
int usyms_capture_all(struct usyms *u);

/* An executable mapping appeared (PERF_RECORD_MMAP2); overlapped ranges are replaced. */
void usyms_mmap(struct usyms *u, int pid, uint64_t start, uint64_t len, uint64_t pgoff,
		uint64_t dev, uint64_t ino, const char *path);
/* A new process (not a thread): it starts with its parent's mappings. */
void usyms_fork(struct usyms *u, int ppid, int pid, uint64_t time);
/* The process exited; its maps go at a later usyms_gc() unless kept. */
void usyms_exit(struct usyms *u, int pid, uint64_t time);
/* Something stored refers to pid's addresses: keep its maps after exit. */
void usyms_keep(struct usyms *u, int pid);
/* Free the maps of processes that exited before the previous call and are not kept. */
void usyms_gc(struct usyms *u);
/* Number of processes with maps held (for tests and -v). */
unsigned usyms_nr_procs(const struct usyms *u);

/* Resolve addr of pid (captured before); 0 when at least the object is known, -1 otherwise. */
int usyms_resolve(struct usyms *u, int pid, uint64_t addr, bool want_line, struct usym *out);
/*
 * Print one frame as cli.md says:
 * "    00007f3c1a2b3c4d malloc+0x1d (/usr/lib/x86_64-linux-gnu/libc.so.6) file.c:123\n"
 */
void usyms_print_frame(FILE *f, struct usyms *u, int pid, uint64_t addr, bool want_line);

#endif
