/* Tracepoints: tracefs (mounted when missing) and their formats (libtraceevent). */
#ifndef LIB_TP_H
#define LIB_TP_H

#include <stdbool.h>
#include <stddef.h>

struct tep_handle;
struct tep_event;

/* The tracefs events directory; mounts tracefs if needed. NULL + message on failure. */
const char *tracefs_events_dir(void);
/* A tep handle set up for this machine (long size, endianness). */
struct tep_handle *tp_tep_new(void);
/*
 * Load and parse the format of sys:name into tep. Returns the event, or
 * NULL with a one-line reason in err ("unknown event ..." with a
 * suggestion when a close name exists).
 */
struct tep_event *tp_load(struct tep_handle *tep, const char *sys, const char *name,
			  char *err, size_t errlen);
/* The tracepoint id, -1 if unknown. */
int tp_id(const char *sys, const char *name);
/* Call fn for every tracepoint matching the sys/name globs, sorted. Returns count or -1. */
int tp_glob(const char *sys_glob, const char *name_glob,
	    int (*fn)(void *ctx, const char *sys, const char *name), void *ctx);
bool tp_is_glob(const char *s);

#endif
