// SPDX-License-Identifier: GPL-2.0
/*
 * uleak: a user-space leak at a steady rate, for kmemsnoop --user. Every
 * 10 ms it mallocs RATE/100 objects of SIZE bytes and keeps them, and
 * mallocs and frees one scratch buffer (so frees are seen too), for SECONDS.
 *
 * usage: uleak RATE SIZE SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long num(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < 1) {
		fprintf(stderr, "uleak: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

/* Through a volatile the compiler cannot drop a malloc/free pair it proves unused. */
static void *volatile sink;

int main(int argc, char **argv)
{
	struct timespec tick = { .tv_sec = 0, .tv_nsec = 10 * 1000000L };
	long rate, size, ticks, per_tick, kept = 0;
	void **objs;

	if (argc != 4) {
		fprintf(stderr, "usage: uleak RATE SIZE SECONDS\n");
		return 2;
	}
	rate = num(argv[1], "RATE");
	size = num(argv[2], "SIZE");
	ticks = num(argv[3], "SECONDS") * 100;
	per_tick = rate / 100 ? rate / 100 : 1;
	/* Every object stays reachable: the leak is in the malloc/free balance, not in reachability. */
	objs = calloc((size_t)(ticks * per_tick), sizeof(*objs));
	if (!objs)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready pid=%d\n", (int)getpid());
	for (long t = 0; t < ticks; t++) {
		sink = malloc((size_t)size);

		for (long i = 0; i < per_tick; i++) {
			objs[kept] = malloc((size_t)size);
			if (!objs[kept])
				return 1;
			memset(objs[kept++], 0x5a, (size_t)size);
		}
		free(sink);
		nanosleep(&tick, NULL);
	}
	printf("kept %ld\n", kept);
	return 0;
}
