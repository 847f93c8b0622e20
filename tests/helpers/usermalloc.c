// SPDX-License-Identifier: GPL-2.0
/*
 * usermalloc: leaks user-space memory through two distinct, named call paths
 * so end-to-end tests can check that user callchains name both functions and
 * their file:line (built with -g -O0 -fno-omit-frame-pointer).
 *
 *   alloc_small_path()  malloc(100), -n times            (heap, brk)
 *   alloc_big_path()    malloc(1 MiB), -b times, touched  (glibc uses mmap)
 *
 * usage: usermalloc [-n SMALL] [-b BIG] [-d DELAY_MS | -u] [-w SECONDS]
 *   -d MS   sleep before allocating, so a tracer can attach with -p
 *   -u      print "waiting pid=N" and allocate only after SIGUSR1
 *   -w S    after allocating, wait S seconds (default: until SIGINT/SIGTERM)
 * Prints "site small usermalloc.c:L", "site big usermalloc.c:L" (the malloc
 * lines) and then "ready pid=N" once everything is allocated.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SMALL_SIZE 100
#define BIG_SIZE (1024 * 1024)

static volatile sig_atomic_t got_usr1, got_stop;
static int small_line, big_line;

/* Keeps the compiler from dropping an allocation it could prove unused. */
static void *volatile sink;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
}

__attribute__((noinline)) static void alloc_small_path(long n)
{
	for (long i = 0; i < n; i++) {
		sink = malloc(SMALL_SIZE); small_line = __LINE__;
		if (!sink) {
			perror("usermalloc: malloc");
			exit(1);
		}
	}
}

__attribute__((noinline)) static void alloc_big_path(long n)
{
	for (long i = 0; i < n; i++) {
		sink = malloc(BIG_SIZE); big_line = __LINE__;
		if (!sink) {
			perror("usermalloc: malloc");
			exit(1);
		}
		memset(sink, 1, BIG_SIZE); /* fault the pages in, as a real user would */
	}
}

static long parse_num(const char *s, const char *opt)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < 0) {
		fprintf(stderr, "usermalloc: bad %s '%s'\n", opt, s);
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
	long small = 10, big = 2, delay_ms = 0, wait_s = -1;
	int use_usr1 = 0, c;
	sigset_t block, old;

	while ((c = getopt(argc, argv, "n:b:d:uw:")) != -1) {
		switch (c) {
		case 'n': small = parse_num(optarg, "-n"); break;
		case 'b': big = parse_num(optarg, "-b"); break;
		case 'd': delay_ms = parse_num(optarg, "-d"); break;
		case 'u': use_usr1 = 1; break;
		case 'w': wait_s = parse_num(optarg, "-w"); break;
		default:
			fprintf(stderr, "usage: usermalloc [-n SMALL] [-b BIG] [-d DELAY_MS | -u] [-w SECONDS]\n");
			return 2;
		}
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

	alloc_small_path(small);
	alloc_big_path(big);
	if (small)
		printf("site small %s:%d\n", __FILE__, small_line);
	if (big)
		printf("site big %s:%d\n", __FILE__, big_line);
	printf("ready pid=%d\n", (int)getpid());

	if (wait_s >= 0) {
		sleep_ms(wait_s * 1000);
		return 0;
	}
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!got_stop)
		sigsuspend(&old);
	return 0;
}
