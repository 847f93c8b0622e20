// SPDX-License-Identifier: GPL-2.0
/*
 * umalloc_leak: mallocs N objects of SIZE bytes from one known line and never
 * frees them, so a memleak tool must report exactly N * SIZE bytes from here.
 * Built with -g -O0 -fno-omit-frame-pointer.
 *
 * usage: umalloc_leak [-d DELAY_MS | -u] [-w SECONDS] N SIZE
 *   -d MS   sleep before allocating, so a tracer can attach with -p
 *   -u      print "waiting pid=N" and allocate only after SIGUSR1
 *   -w S    after allocating, wait S seconds (default: until SIGINT/SIGTERM)
 * Prints "site umalloc_leak.c:L" (the malloc line) and then "ready pid=N".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1, got_stop;
static int leak_line;

/* Every pointer is kept here so the allocations cannot be optimised away;
 * keeping them reachable does not matter to a tracer that pairs malloc/free. */
static void **objects;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
}

__attribute__((noinline)) static void leak_objects(long n, size_t size)
{
	for (long i = 0; i < n; i++) {
		objects[i] = malloc(size); leak_line = __LINE__;
		if (!objects[i]) {
			perror("umalloc_leak: malloc");
			exit(1);
		}
		memset(objects[i], 0xa5, size);
	}
}

static long parse_num(const char *s, const char *what, long min)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < min) {
		fprintf(stderr, "umalloc_leak: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && !got_stop)
		;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	long n, size, delay_ms = 0, wait_s = -1;
	int use_usr1 = 0, c;
	sigset_t block, old;

	while ((c = getopt(argc, argv, "d:uw:")) != -1) {
		switch (c) {
		case 'd': delay_ms = parse_num(optarg, "-d", 0); break;
		case 'u': use_usr1 = 1; break;
		case 'w': wait_s = parse_num(optarg, "-w", 0); break;
		default: goto usage;
		}
	}
	if (argc - optind != 2)
		goto usage;
	n = parse_num(argv[optind], "N", 1);
	size = parse_num(argv[optind + 1], "SIZE", 1);
	objects = calloc((size_t)n, sizeof(*objects));
	if (!objects) {
		perror("umalloc_leak: calloc");
		return 1;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* Block the signals between the check and the wait so none is missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (use_usr1) {
		printf("waiting pid=%d\n", (int)getpid());
		while (!got_usr1 && !got_stop)
			sigsuspend(&old);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (delay_ms)
		sleep_ms(delay_ms);

	leak_objects(n, (size_t)size);
	printf("site %s:%d\n", __FILE__, leak_line);
	printf("ready pid=%d\n", (int)getpid());

	if (wait_s >= 0) {
		sleep_ms(wait_s * 1000);
		return 0;
	}
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!got_stop)
		sigsuspend(&old);
	return 0;

usage:
	fprintf(stderr, "usage: umalloc_leak [-d DELAY_MS | -u] [-w SECONDS] N SIZE\n");
	return 2;
}
