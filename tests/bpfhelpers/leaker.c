/*
 * leaker N SIZE [--wait] [--exit]: leak N blocks of SIZE bytes from one
 * known line (marked LEAK-LINE), and allocate-and-free as many blocks from
 * another (FREED-LINE) that must not be reported. With --wait it first
 * reads a line from stdin (so a profiler can attach), then prints "done"
 * and sleeps unless --exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *sink[100000];

__attribute__((noinline)) static void *leak_one(size_t size)
{
	void *p = malloc(size); /* LEAK-LINE */

	memset(p, 1, size);
	return p;
}

__attribute__((noinline)) static void churn(size_t size)
{
	void *p = malloc(size); /* FREED-LINE */

	memset(p, 2, size);
	free(p);
}

int main(int argc, char **argv)
{
	int n, wait = 0, exit_now = 0;
	size_t size;
	char buf[16];

	if (argc < 3)
		return 2;
	n = atoi(argv[1]);
	size = strtoul(argv[2], NULL, 10);
	for (int i = 3; i < argc; i++) {
		wait |= !strcmp(argv[i], "--wait");
		exit_now |= !strcmp(argv[i], "--exit");
	}
	if (n < 0 || n > 100000)
		return 2;
	if (wait) {
		printf("ready\n");
		fflush(stdout);
		if (!fgets(buf, sizeof(buf), stdin))
			return 1;
	}
	for (int i = 0; i < n; i++) {
		sink[i] = leak_one(size);
		churn(size);
	}
	printf("done\n");
	fflush(stdout);
	if (exit_now)
		return 0;
	for (;;)
		pause();
}
