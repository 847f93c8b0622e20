/* tracefs access and format parsing; see tp.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <event-parse.h>

#include "perf-prof.h"
#include "lib/tp.h"

#define TRACEFS_MAGIC_NR 0x74726163

static const char *events_dir;

static bool is_tracefs_events(const char *dir)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/header_page", dir);
	return stat(path, &st) == 0;
}

const char *tracefs_events_dir(void)
{
	static const char *candidates[] = {
		"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events",
	};

	if (events_dir)
		return events_dir;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (is_tracefs_events(candidates[i]))
			return events_dir = candidates[i];
	/* Not mounted: mount it where every modern kernel expects it. */
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0 &&
	    is_tracefs_events(candidates[0]))
		return events_dir = candidates[0];
	pr_err("tracefs is not mounted and mounting it failed (%s); run as root or "
	       "'mount -t tracefs nodev /sys/kernel/tracing'", strerror(errno));
	return NULL;
}

struct tep_handle *tp_tep_new(void)
{
	struct tep_handle *tep = tep_alloc();

	if (!tep)
		return NULL;
	tep_set_long_size(tep, sizeof(long));
	tep_set_page_size(tep, (int)sysconf(_SC_PAGESIZE));
	tep_set_file_bigendian(tep, TEP_LITTLE_ENDIAN);
	tep_set_local_bigendian(tep, TEP_LITTLE_ENDIAN);
	return tep;
}

static char *read_file(const char *path, size_t *len)
{
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY);
	ssize_t r;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((r = read(fd, buf + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	*len = n;
	return buf;
}

static int edit_distance(const char *a, const char *b)
{
	int la = (int)strlen(a), lb = (int)strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (int j = 0; j <= lb; j++)
		prev[j] = j;
	for (int i = 1; i <= la; i++) {
		cur[0] = i;
		for (int j = 1; j <= lb; j++) {
			int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			int del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(int) * (size_t)(lb + 1));
	}
	return prev[lb];
}

struct suggest {
	const char *sys, *name;
	char best[128];
	int dist;
};

static int suggest_one(void *ctx, const char *sys, const char *name)
{
	struct suggest *s = ctx;
	int d = edit_distance(s->name, name) + (strcmp(s->sys, sys) ? edit_distance(s->sys, sys) : 0);

	if (d < s->dist) {
		s->dist = d;
		snprintf(s->best, sizeof(s->best), "%s:%s", sys, name);
	}
	return 0;
}

/* Events the kmemprof manual names that newer kernels dropped, and what replaces them. */
static const struct {
	const char *event, *why;
} gone[] = {
	{ "kmem:kmalloc_node", "merged into kmem:kmalloc in Linux 6.1 (its node field tells the node); use kmem:kmalloc" },
	{ "kmem:kmem_cache_alloc_node", "merged into kmem:kmem_cache_alloc in Linux 6.1; use kmem:kmem_cache_alloc" },
	{ "kmem:vmalloc", "not on this kernel; use vmalloc:alloc_vmap_area (key=addr, size=size) and "
	  "vmalloc:free_vmap_area_noflush (key=va_start)" },
	{ "kmem:vfree", "not on this kernel; use vmalloc:free_vmap_area_noflush (key=va_start)" },
};

static void unknown_event(const char *sys, const char *name, char *err, size_t errlen)
{
	struct suggest s = { .sys = sys, .name = name, .dist = 3 };
	char full[300];

	snprintf(full, sizeof(full), "%s:%s", sys, name);
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		if (!strcmp(full, gone[i].event)) {
			snprintf(err, errlen, "event '%s' does not exist on this kernel: %s", full, gone[i].why);
			return;
		}
	}

	tp_glob("*", "*", suggest_one, &s);
	if (s.best[0])
		snprintf(err, errlen, "unknown event '%s:%s' (did you mean %s?)", sys, name, s.best);
	else
		snprintf(err, errlen, "unknown event '%s:%s' (see 'perf-prof list')", sys, name);
}

static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == '.' )
			return false;
	return true;
}

struct tep_event *tp_load(struct tep_handle *tep, const char *sys, const char *name,
			  char *err, size_t errlen)
{
	const char *dir = tracefs_events_dir();
	struct tep_event *ev;
	char path[512], *buf;
	size_t len;

	if (!dir) {
		snprintf(err, errlen, "tracefs is not available");
		return NULL;
	}
	ev = tep_find_event_by_name(tep, sys, name);
	if (ev)
		return ev;
	if (!valid_name(sys) || !valid_name(name)) {
		snprintf(err, errlen, "bad event name '%s:%s'", sys, name);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s/%s/format", dir, sys, name);
	buf = read_file(path, &len);
	if (!buf) {
		unknown_event(sys, name, err, errlen);
		return NULL;
	}
	if (tep_parse_event(tep, buf, len, sys) != 0) {
		snprintf(err, errlen, "cannot parse the format of '%s:%s'", sys, name);
		free(buf);
		return NULL;
	}
	free(buf);
	return tep_find_event_by_name(tep, sys, name);
}

int tp_id(const char *sys, const char *name)
{
	const char *dir = tracefs_events_dir();
	char path[512], buf[32];
	int fd, id = -1;
	ssize_t n;

	if (!dir)
		return -1;
	snprintf(path, sizeof(path), "%s/%s/%s/id", dir, sys, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		id = atoi(buf);
	}
	close(fd);
	return id;
}

bool tp_is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int match_dir(const struct dirent *d)
{
	return d->d_name[0] != '.' && (d->d_type == DT_DIR || d->d_type == DT_UNKNOWN);
}

int tp_glob(const char *sys_glob, const char *name_glob,
	    int (*fn)(void *ctx, const char *sys, const char *name), void *ctx)
{
	const char *dir = tracefs_events_dir();
	struct dirent **systems = NULL;
	int nsys, count = 0, stop = 0;

	if (!dir)
		return -1;
	nsys = scandir(dir, &systems, match_dir, cmp_names);
	if (nsys < 0)
		return -1;
	for (int i = 0; i < nsys; i++) {
		const char *sys = systems[i]->d_name;
		struct dirent **events = NULL;
		char path[512];
		int nev;

		if (fnmatch(sys_glob, sys, 0) == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, sys);
			nev = scandir(path, &events, match_dir, cmp_names);
			for (int j = 0; j < nev; j++) {
				if (!stop && fnmatch(name_glob, events[j]->d_name, 0) == 0) {
					count++;
					if (fn && fn(ctx, sys, events[j]->d_name))
						stop = 1;
				}
				free(events[j]);
			}
			free(events);
		}
		free(systems[i]);
	}
	free(systems);
	return count;
}
