/* Units: durations, human sizes, wall-clock timestamps, CPU lists. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/units.h"

#define NSEC_PER_SEC 1000000000ULL

struct unit {
	const char *suffix;
	uint64_t ns;
};

/* Longest suffixes first so "ms" is not read as "m" + junk. */
static const struct unit duration_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "ms", 1000000 },
	{ "s", NSEC_PER_SEC },
	{ "m", 60 * NSEC_PER_SEC },
	{ "", 1 },
};

/*
 * DIGITS ['.' DIGITS] [ns|us|ms|s|m]; a fraction is allowed so that
 * "1.5ms" works, digits below one nanosecond are dropped.
 */
int parse_duration_ns(const char *s, uint64_t *ns)
{
	const char *p = s, *frac = NULL, *suffix;
	uint64_t ip = 0, total, scale;
	size_t i;

	if (!s || !isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++)
		if (__builtin_mul_overflow(ip, 10, &ip) ||
		    __builtin_add_overflow(ip, (uint64_t)(*p - '0'), &ip))
			return -1;
	if (*p == '.') {
		frac = ++p;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	suffix = p;
	for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
		if (!strcmp(suffix, duration_units[i].suffix))
			break;
	if (i == sizeof(duration_units) / sizeof(duration_units[0]))
		return -1;
	if (__builtin_mul_overflow(ip, duration_units[i].ns, &total))
		return -1;
	scale = duration_units[i].ns;
	for (; frac && frac < suffix && scale; frac++) {
		scale /= 10;
		if (__builtin_add_overflow(total, (uint64_t)(*frac - '0') * scale, &total))
			return -1;
	}
	*ns = total;
	return 0;
}

char *format_human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const names[] = { "KB", "MB", "GB" };
	double v = (double)bytes;
	int i = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return buf;
	}
	/* GB is the largest unit: a terabyte prints as "1024.00 GB". */
	while (i < 2 && v >= 1024) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, "%.2f %s", v, names[i]);
	return buf;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t mono_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* REALTIME - MONOTONIC, taken once so all timestamps of a run agree. */
static int64_t wall_offset_ns;
static int wall_ready;

/* trace formats every event: localtime + strftime only when the second changes. */
static time_t cached_sec = (time_t)-1;
static char cached[32];
static size_t cached_len;

void wallclock_init(void)
{
	uint64_t m1 = clock_ns(CLOCK_MONOTONIC);
	uint64_t r = clock_ns(CLOCK_REALTIME);
	uint64_t m2 = clock_ns(CLOCK_MONOTONIC);

	/* Pair the realtime reading with the midpoint of two monotonic ones. */
	wall_offset_ns = (int64_t)(r - (m1 + (m2 - m1) / 2));
	wall_ready = 1;
	cached_sec = (time_t)-1; /* the time zone may have changed too */
}

char *format_wallclock(uint64_t mono_ns, char *buf, size_t len)
{
	unsigned usec;
	uint64_t wall;
	time_t sec;

	if (!wall_ready)
		wallclock_init();
	wall = mono_ns + (uint64_t)wall_offset_ns;
	sec = (time_t)(wall / NSEC_PER_SEC);
	if (!len)
		return buf;
	if (sec != cached_sec) {
		struct tm tm;

		if (!localtime_r(&sec, &tm) ||
		    !(cached_len = strftime(cached, sizeof(cached), "%Y-%m-%d %H:%M:%S", &tm))) {
			buf[0] = '\0';
			return buf;
		}
		cached_sec = sec;
	}
	if (cached_len + 8 > len) {
		buf[0] = '\0';
		return buf;
	}
	memcpy(buf, cached, cached_len);
	/* ".uuuuuu" by hand: snprintf per event is measurable in trace. */
	usec = (unsigned)((wall % NSEC_PER_SEC) / 1000);
	buf[cached_len] = '.';
	for (int i = 6; i >= 1; i--) {
		buf[cached_len + (size_t)i] = (char)('0' + usec % 10);
		usec /= 10;
	}
	buf[cached_len + 7] = '\0';
	return buf;
}

/* One decimal CPU number in [0, max); advances *pp. */
static int parse_cpu(const char **pp, int max)
{
	const char *p = *pp;
	long v = 0;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (*p - '0');
		if (v >= max)
			return -1;
	}
	*pp = p;
	return (int)v;
}

static int parse_cpu_ranges(const char *s, int max, unsigned char *set)
{
	const char *p = s;
	int count = 0;

	if (!s || !set || max <= 0)
		return -1;
	memset(set, 0, (size_t)max);
	while (isspace((unsigned char)*p))
		p++;
	for (;;) {
		int lo = parse_cpu(&p, max), hi;

		if (lo < 0)
			return -1;
		hi = lo;
		if (*p == '-') {
			p++;
			hi = parse_cpu(&p, max);
			if (hi < lo)
				return -1;
		}
		for (int c = lo; c <= hi; c++) {
			count += !set[c];
			set[c] = 1;
		}
		if (*p != ',')
			break;
		p++;
	}
	while (isspace((unsigned char)*p))
		p++;
	return *p ? -1 : count;
}

/* "0-3,6" -> set[0..3] = set[6] = 1; returns how many CPUs are set. */
int parse_cpu_list(const char *s, int max, unsigned char *set)
{
	int n = parse_cpu_ranges(s, max, set);

	/* A rejected list selects nothing, not a half-parsed prefix. */
	if (n < 0 && set && max > 0)
		memset(set, 0, (size_t)max);
	return n;
}
