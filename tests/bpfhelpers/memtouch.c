/*
 * memtouch ANON_MB FILE_MB SHMEM_MB: hold known amounts of anonymous,
 * file-backed and shared memory resident, say "ready", then sleep until
 * killed. The procstat tests compare what BPF reads with /proc/PID/status.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void touch(volatile char *p, size_t len, int write)
{
	volatile char sink = 0;

	for (size_t i = 0; i < len; i += 4096) {
		if (write)
			p[i] = 1;
		else
			sink += p[i];
	}
	(void)sink;
}

int main(int argc, char **argv)
{
	size_t mb = 1 << 20, anon, file, shm;
	char path[] = "/tmp/memtouch.XXXXXX";
	char *p;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: memtouch ANON_MB FILE_MB SHMEM_MB\n");
		return 2;
	}
	anon = strtoul(argv[1], NULL, 10) * mb;
	file = strtoul(argv[2], NULL, 10) * mb;
	shm = strtoul(argv[3], NULL, 10) * mb;
	if (anon) {
		p = mmap(NULL, anon, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		touch(p, anon, 1);
	}
	if (file) {
		fd = mkstemp(path);
		if (fd < 0 || ftruncate(fd, (off_t)file))
			return 1;
		unlink(path);
		p = mmap(NULL, file, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return 1;
		touch(p, file, 1);
	}
	if (shm) {
		fd = memfd_create("memtouch", 0);
		if (fd < 0 || ftruncate(fd, (off_t)shm))
			return 1;
		p = mmap(NULL, shm, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return 1;
		touch(p, shm, 1);
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
