/*
 * spawner: many short-lived processes, for kmemsnoop's bounded-memory test.
 *   spawner COUNT [PARALLEL]
 * Forks COUNT children in total, at most PARALLEL (default 8) at a time;
 * each opens and closes a pipe (a few kernel allocations) and exits.
 * Prints "spawned COUNT" at the end; exit 1 if a fork or pipe fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int child(void)
{
	int fds[2];

	if (pipe(fds))
		return 1;
	close(fds[0]);
	close(fds[1]);
	return 0;
}

/* Reap one child; returns -1 if it failed. */
static int reap(void)
{
	int status;

	while (wait(&status) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	long count = argc >= 2 ? strtol(argv[1], NULL, 10) : 0;
	long parallel = argc >= 3 ? strtol(argv[2], NULL, 10) : 8;
	long running = 0, failed = 0;

	if (argc < 2 || argc > 3 || count <= 0 || parallel <= 0) {
		fprintf(stderr, "usage: spawner COUNT [PARALLEL]\n");
		return 2;
	}
	for (long i = 0; i < count; i++) {
		pid_t pid;

		if (running == parallel) {
			failed += reap() < 0;
			running--;
		}
		pid = fork();
		if (pid < 0) {
			perror("spawner: fork");
			return 1;
		}
		if (pid == 0)
			_exit(child());
		running++;
	}
	while (running--)
		failed += reap() < 0;
	printf("spawned %ld\n", count);
	return failed ? 1 : 0;
}
