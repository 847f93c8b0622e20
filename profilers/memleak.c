/*
 * memleak: outstanding user-space allocations of one process, by call
 * stack, with symbols and (from debug info) file:line. Uprobes on the C
 * library's malloc/calloc/realloc/free/mmap/munmap; `-P PID` (or -p) for a
 * running process, or `-- CMD ARGS` to start one. Kernel leaks are the
 * kmemleak profiler's job.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/bpfview.h"
#include "bpf/bpfview_shared.h"
#include "lib/usyms.h"
#include "memleak.skel.h"

#define MAX_STACK_DEPTH 127
#define TICK_MS 50

enum { OPT_PID = 'P', OPT_DURATION = 'd' };

static struct bv_view_opts opts;

struct stack_row {
	__s64 id;
	struct bv_combined c;
};

static int by_size(const void *a, const void *b)
{
	const struct stack_row *x = a, *y = b;

	if (x->c.total_size != y->c.total_size)
		return x->c.total_size < y->c.total_size ? 1 : -1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void report(struct memleak_bpf *skel, struct usyms *us, int pid, struct env *e)
{
	int fd = bpf_map__fd(skel->maps.combined), sfd = bpf_map__fd(skel->maps.stack_traces);
	struct stack_row *rows = NULL;
	size_t n = 0, cap = 0;
	__s64 key, next, *prev = NULL;
	__u64 ips[MAX_STACK_DEPTH];
	char now[16];

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct stack_row r = { .id = next };

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &r.c) || !r.c.nr_allocs)
			continue;
		if (n == cap) {
			struct stack_row *t = realloc(rows, (cap = cap ? cap * 2 : 64) * sizeof(*rows));

			if (!t)
				break;
			rows = t;
		}
		rows[n++] = r;
	}
	qsort(rows, n, sizeof(*rows), by_size);
	fprintf(e->out, "[%s] Top %d stacks with outstanding allocations of pid %d:\n", bv_clock(now, sizeof(now)),
		e->top, pid);
	for (size_t i = 0; i < n && (int)i < e->top; i++) {
		fprintf(e->out, "stack_id=%#llx with outstanding allocations: total_size=%llu nr_allocs=%llu\n",
			(unsigned long long)rows[i].id, (unsigned long long)rows[i].c.total_size,
			(unsigned long long)rows[i].c.nr_allocs);
		if (rows[i].id < 0) {
			fprintf(e->out, "    [stack unavailable: %s]\n", strerror((int)-rows[i].id));
			continue;
		}
		__u32 sid = (__u32)rows[i].id;

		memset(ips, 0, sizeof(ips));
		if (bpf_map_lookup_elem(sfd, &sid, ips))
			continue;
		for (int d = 0; d < MAX_STACK_DEPTH && ips[d]; d++)
			usyms_print_frame(e->out, us, pid, ips[d], true);
	}
	if (skel->bss->dropped)
		fprintf(e->out, "LOST %llu allocations (table full)\n", (unsigned long long)skel->bss->dropped);
	fflush(e->out);
	free(rows);
}

/* The C library the process maps (or ours for a command not started yet). */
int memleak_find_libc(int pid, char *out, size_t len)
{
	char path[64], line[4400];
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/'), *base;

		if (!p)
			continue;
		p[strcspn(p, "\n")] = '\0';
		base = strrchr(p, '/') + 1;
		if (!strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5)) {
			if (access(p, R_OK))
				snprintf(out, len, "/proc/%d/root%s", pid, p);
			else
				snprintf(out, len, "%s", p);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

static int attach_one(struct bpf_program *prog, int pid, const char *lib, const char *func, bool ret,
		      struct bpf_link **link)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = func, .retprobe = ret);

	*link = bpf_program__attach_uprobe_opts(prog, pid, lib, 0, &uo);
	return *link ? 0 : -errno;
}

static int attach_all(struct memleak_bpf *skel, int pid, const char *libc)
{
	int err = memleak_attach(skel, pid, libc, NULL);

	if (!err)
		pr_verbose(1, "memleak: uprobes on malloc/calloc/realloc/free/mmap/munmap of %s for pid %d\n", libc, pid);
	return err;
}

/*
 * links == NULL: into the skeleton's links (freed with it); else into
 * links[MEMLEAK_NR_PROBES], for a caller probing several processes.
 */
int memleak_attach(struct memleak_bpf *skel, int pid, const char *libc, struct bpf_link **links)
{
	struct {
		struct bpf_program *prog;
		const char *func;
		bool ret;
		struct bpf_link **link;
	} probes[] = {
		{ skel->progs.malloc_enter, "malloc", false, &skel->links.malloc_enter },
		{ skel->progs.malloc_exit, "malloc", true, &skel->links.malloc_exit },
		{ skel->progs.calloc_enter, "calloc", false, &skel->links.calloc_enter },
		{ skel->progs.calloc_exit, "calloc", true, &skel->links.calloc_exit },
		{ skel->progs.realloc_enter, "realloc", false, &skel->links.realloc_enter },
		{ skel->progs.realloc_exit, "realloc", true, &skel->links.realloc_exit },
		{ skel->progs.free_enter, "free", false, &skel->links.free_enter },
		{ skel->progs.mmap_enter, "mmap", false, &skel->links.mmap_enter },
		{ skel->progs.mmap_exit, "mmap", true, &skel->links.mmap_exit },
		{ skel->progs.munmap_enter, "munmap", false, &skel->links.munmap_enter },
	};

	_Static_assert(sizeof(probes) / sizeof(probes[0]) == MEMLEAK_NR_PROBES, "probe count");
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		int err = attach_one(probes[i].prog, pid, libc, probes[i].func, probes[i].ret,
				     links ? &links[i] : probes[i].link);

		if (err) {
			pr_err("memleak: cannot attach a uprobe to %s in %s: %s", probes[i].func, libc, strerror(-err));
			return err;
		}
	}
	return 0;
}

/*
 * Start CMD stopped at its exec (PTRACE_TRACEME) so the probes are in place
 * before its first malloc; PTRACE_O_TRACEEXIT then stops it once more at
 * exit, while its maps still exist, to capture them for the symbolizer.
 */
int memleak_start_command(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execvp(argv[0], argv);
		fprintf(stderr, "perf-prof: memleak: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		pr_err("memleak: '%s' did not start", argv[0]);
		return -ECHILD;
	}
	ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL));
	return pid;
}

/* Handle the child's stops; returns false once it is gone (us may be NULL). */
bool memleak_child_poll(int pid, struct usyms *us, int *exit_code)
{
	int status;

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG | __WALL);

		if (w <= 0)
			return w == 0;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			*exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			return false;
		}
		if (!WIFSTOPPED(status))
			continue;
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			if (us)
				usyms_capture(us, pid);  /* last chance: the mm is still there */
			ptrace(PTRACE_CONT, pid, NULL, NULL);
		} else {
			int sig = WSTOPSIG(status);

			ptrace(PTRACE_CONT, pid, NULL, (void *)(long)(sig == SIGTRAP ? 0 : sig));
		}
	}
}

int memleak_main(struct env *e, const struct bv_view_opts *o)
{
	struct memleak_bpf *skel = NULL;
	struct usyms *us = NULL;
	struct bv_run r = { 0 };
	const char *pids = o->pids ? o->pids : e->pids;
	bool child = false;
	int ret, err, pid = 0, exit_code = 0;
	long since_report = 0;
	char libc[4200];

	opts = *o;
	ret = bv_start(&r, "memleak", e, o->duration_ns);
	if (ret)
		return ret;
	if (pids && e->cmd_argv) {
		usage_error("memleak: give either -P PID or -- CMD, not both");
		return EXIT_USAGE;
	}
	if (pids) {
		if ((ret = bv_parse_pids(&r, pids, o->pids ? "-P" : "-p")))
			return ret;
		if (r.nr_pids != 1) {
			usage_error("memleak: one process at a time (got %d pids)", r.nr_pids);
			return EXIT_USAGE;
		}
		pid = r.pids[0];
		if (memleak_find_libc(pid, libc, sizeof(libc))) {
			pr_err("memleak: process %d maps no C library (static binary?): nothing to probe", pid);
			return EXIT_RUNTIME;
		}
	} else if (e->cmd_argv) {
		if (memleak_find_libc(getpid(), libc, sizeof(libc))) {
			pr_err("memleak: cannot find the C library");
			return EXIT_RUNTIME;
		}
	} else {
		usage_error("memleak: needs -P PID or -- CMD; kernel leaks are traced by 'perf-prof kmemleak'");
		return EXIT_USAGE;
	}
	us = usyms_new();
	skel = memleak_bpf__open_and_load();
	if (!us || !skel) {
		err = -errno;
		usyms_free(us);
		memleak_bpf__destroy(skel);
		return bv_bpf_error(r.name, "loading the uprobe programs", err);
	}
	if (e->cmd_argv) {
		pid = memleak_start_command(e->cmd_argv);
		if (pid < 0) {
			ret = EXIT_RUNTIME;
			goto out;
		}
		child = true;
	}
	if (attach_all(skel, pid, libc)) {
		ret = EXIT_RUNTIME;
		if (child)
			kill(pid, SIGKILL);
		goto out;
	}
	usyms_capture(us, pid);
	if (child)
		ptrace(PTRACE_CONT, pid, NULL, NULL);
	/* Short ticks: maps are re-captured often and a child's stops are served quickly. */
	r.interval_ms = TICK_MS;
	for (;;) {
		bool more = bv_wait(&r), alive;

		since_report += TICK_MS;
		alive = child ? memleak_child_poll(pid, us, &exit_code) : bv_pid_alive(pid);
		if (alive && !child)
			usyms_capture(us, pid);
		if (!alive || !more) {
			if (!alive)
				pr_verbose(1, "memleak: process %d exited\n", pid);
			break;
		}
		if (since_report >= (e->interval_ms > 0 ? e->interval_ms : 5000)) {
			since_report = 0;
			report(skel, us, pid, e);
			if (!bv_report_done(&r, e))
				goto done;
		}
		if (r.deadline_ns && !bv_report_done(&r, &(struct env){ 0 }))
			break;
	}
	report(skel, us, pid, e);
done:
	if (child && bv_pid_alive(pid)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, __WALL);
	}
out:
	memleak_bpf__destroy(skel);
	usyms_free(us);
	return ret;
}

static int memleak_parse_opt(int key, const char *arg)
{
	switch (key) {
	case OPT_PID: opts.pids = arg; return 0;
	case OPT_DURATION: return bv_parse_duration("memleak", arg, &opts.duration_ns);
	}
	return -1;
}

static int memleak_run(struct env *e)
{
	return memleak_main(e, &opts);
}

static const struct prof_option memleak_opts[] = {
	{ "pid", OPT_PID, true, "PID", "the process to watch (same as -p)" },
	{ "duration", OPT_DURATION, true, "TIME", "stop after TIME (e.g. 10, 10s, 500ms)" },
	{ NULL, 0, false, NULL, NULL },
};

static struct profiler memleak = {
	.name = "memleak",
	.desc = "outstanding user-space allocations by call stack, with file:line (BPF uprobes)",
	.common = "pids interval exit-N top line output verbose",
	.opts = memleak_opts,
	.parse_opt = memleak_parse_opt,
	.run = memleak_run,
};
PROFILER_REGISTER(memleak);
