/* Units: durations, human sizes, wall-clock timestamps. */
#ifndef LIB_UNITS_H
#define LIB_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "500ns", "100us", "10ms", "1s", "2m"; a bare number is nanoseconds. */
int parse_duration_ns(const char *s, uint64_t *ns);
/* "1.25 MB": B, KB, MB, GB with two decimals, 1024 based. */
char *format_human_size(uint64_t bytes, char *buf, size_t len);
/*
 * Sample times are CLOCK_MONOTONIC (use_clockid). Wall-clock conversion
 * uses one offset taken at start: "YYYY-MM-DD HH:MM:SS.uuuuuu".
 */
void wallclock_init(void);
char *format_wallclock(uint64_t mono_ns, char *buf, size_t len);
uint64_t mono_now_ns(void);
/* Parse "0-3,6" into a bitmap of at most max entries; -1 on bad input. */
int parse_cpu_list(const char *s, int max, unsigned char *set);

#endif
