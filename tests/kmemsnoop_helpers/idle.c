/*
 * idle: a process that allocates no kernel memory while it runs, for
 * kmemsnoop's "an idle process reports nothing" test.
 *   idle SECONDS    sleep that long (one long nanosleep), then exit 0
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	struct timespec ts = { 0 };
	char *end;
	double s = argc == 2 ? strtod(argv[1], &end) : -1;

	if (argc != 2 || *end || s <= 0 || s > 86400) {
		fprintf(stderr, "usage: idle SECONDS\n");
		return 2;
	}
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	/* Interrupted by a signal: simply end early. */
	nanosleep(&ts, NULL);
	return 0;
}
