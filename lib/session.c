/*
 * The event engine. One run: parse specs, load formats, let the profiler
 * validate, open every event on every CPU (and task / cgroup), give each
 * CPU one ring, enable, then read rounds until stopped, handing samples
 * (time-ordered with --order) to the profiler.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event-parse.h>

#include "expr/expr.h"
#include "filter/filter.h"
#include "filter/spec.h"
#include "lib/callchain.h"
#include "lib/comm.h"
#include "lib/order.h"
#include "lib/perf_event.h"
#include "lib/ring.h"
#include "lib/sample.h"
#include "lib/session.h"
#include "lib/tp.h"
#include "lib/units.h"
#include "lib/usyms.h"

/* Records committed this long after their timestamp still reach the merge in order. */
#define ORDER_LATENESS_NS 2000000ULL
#define POLL_MS 100
#define MAX_CPUS 4096

struct idmap {
	uint64_t *keys;
	int *vals;
	uint32_t mask;
};

struct engine {
	struct event_spec *specs;
	int nr_specs;
	int cpus[MAX_CPUS];
	int nr_cpus;
	int *tasks;            /* pids/tids, or a single -1 for every task */
	int nr_tasks;
	int cgroup_fd;
	struct ring *rings;    /* one per CPU */
	struct ring **ring_ptrs;
	int *fds;
	int *fd_cpu;           /* ring index of each fd */
	int *fd_evsel;         /* evsel of each fd */
	int nr_fds;
	uint64_t *sample_types;/* per evsel */
	struct idmap ids;
	struct order order;
	int epfd;
	pid_t child;
	int child_go;
	bool stop;             /* end the read loop; what is in the rings is still read */
	bool halt;             /* deliver nothing more (-N reached, or the profiler asked) */
	struct usyms *usyms;   /* user frames' symbolizer, only with --user-callchain and stacks */
	uint64_t delivered;
	uint64_t unknown_ids;
	double user_at_enable, sys_at_enable; /* -v: CPU spent before the events ran */
	uint64_t bad_samples;
};

static volatile sig_atomic_t signalled;
static volatile sig_atomic_t child_exited;

static void on_signal(int sig)
{
	if (sig == SIGCHLD)
		child_exited = 1;
	else
		signalled = 1;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: epoll_wait must return so the loop sees the flag. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- id -> evsel map: ids are handed out by the kernel, looked up per sample ---- */

static int idmap_init(struct idmap *m, int n)
{
	uint32_t cap = 16;

	while (cap < (uint32_t)n * 2)
		cap <<= 1;
	m->keys = calloc(cap, sizeof(*m->keys));
	m->vals = calloc(cap, sizeof(*m->vals));
	m->mask = cap - 1;
	return m->keys && m->vals ? 0 : -1;
}

static inline uint32_t idmap_hash(uint64_t id)
{
	return (uint32_t)((id * 0x9E3779B97F4A7C15ULL) >> 32);
}

static void idmap_put(struct idmap *m, uint64_t id, int val)
{
	uint32_t i = idmap_hash(id) & m->mask;

	/* id 0 is never handed out, so 0 marks an empty slot. */
	while (m->keys[i] && m->keys[i] != id)
		i = (i + 1) & m->mask;
	m->keys[i] = id;
	m->vals[i] = val;
}

static inline int idmap_get(const struct idmap *m, uint64_t id)
{
	for (uint32_t i = idmap_hash(id) & m->mask;; i = (i + 1) & m->mask) {
		if (m->keys[i] == id)
			return m->vals[i];
		if (!m->keys[i])
			return -1;
	}
}

/* ---- targets: CPUs, tasks, cgroup ---- */

static int online_cpus(int *cpus)
{
	unsigned char set[MAX_CPUS] = { 0 };
	char buf[1024];
	int fd = open("/sys/devices/system/cpu/online", O_RDONLY), n = 0;
	ssize_t len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (parse_cpu_list(buf, MAX_CPUS, set) < 0)
		return -1;
	for (int i = 0; i < MAX_CPUS; i++)
		if (set[i])
			cpus[n++] = i;
	return n;
}

static int setup_cpus(struct engine *e, const char *list)
{
	int online[MAX_CPUS], nr_online = online_cpus(online);
	unsigned char want[MAX_CPUS] = { 0 };

	if (nr_online <= 0) {
		pr_err("cannot read the online CPUs from /sys/devices/system/cpu/online");
		return EXIT_RUNTIME;
	}
	if (!list) {
		memcpy(e->cpus, online, sizeof(int) * (size_t)nr_online);
		e->nr_cpus = nr_online;
		return 0;
	}
	if (parse_cpu_list(list, MAX_CPUS, want) < 0) {
		usage_error("bad CPU list '%s' for -C (expected e.g. 0-3,6)", list);
		return EXIT_USAGE;
	}
	for (int c = 0; c < MAX_CPUS; c++) {
		bool is_online = false;

		if (!want[c])
			continue;
		for (int i = 0; i < nr_online; i++)
			is_online |= online[i] == c;
		if (!is_online) {
			usage_error("CPU %d in -C %s is not online", c, list);
			return EXIT_USAGE;
		}
		e->cpus[e->nr_cpus++] = c;
	}
	return 0;
}

static int add_task(struct engine *e, int tid)
{
	int *n = realloc(e->tasks, sizeof(int) * (size_t)(e->nr_tasks + 1));

	if (!n)
		return -1;
	e->tasks = n;
	e->tasks[e->nr_tasks++] = tid;
	return 0;
}

/* A process means all of its threads now; threads it starts later are not seen. */
static int add_process_threads(struct engine *e, int pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			add_task(e, atoi(d->d_name));
	closedir(dir);
	return 0;
}

static int parse_id_list(const char *opt, const char *list, struct engine *e, bool process)
{
	const char *p = list;

	while (*p) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || v <= 0 || (*end && *end != ',')) {
			usage_error("bad value '%s' for %s (expected a comma separated list of ids)", list, opt);
			return EXIT_USAGE;
		}
		if (process ? add_process_threads(e, (int)v) : (kill((pid_t)v, 0) && errno == ESRCH ? -1 : add_task(e, (int)v))) {
			usage_error("no such %s %ld in %s", process ? "process" : "thread", v, opt);
			return EXIT_USAGE;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* Where cgroup v2 is mounted: /sys/fs/cgroup on most systems, .../unified on hybrid ones. */
static int cgroup2_mount(char *buf, size_t len)
{
	FILE *f = fopen("/proc/mounts", "r");
	char line[1024], dev[256], dir[512], type[64];
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %511s %63s", dev, dir, type) == 3 && !strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			ret = 0;
			break;
		}
	fclose(f);
	return ret;
}

static int setup_targets(struct engine *e, struct env *env)
{
	int ret;

	e->cgroup_fd = -1;
	if ((env->pids || env->tids) && env->cgroup) {
		usage_error("--cgroups cannot be combined with -p/-t");
		return EXIT_USAGE;
	}
	if (env->pids && (ret = parse_id_list("-p", env->pids, e, true)))
		return ret;
	if (env->tids && (ret = parse_id_list("-t", env->tids, e, false)))
		return ret;
	if (env->cgroup) {
		char base[512], path[1024];

		if (cgroup2_mount(base, sizeof(base))) {
			pr_err("--cgroups needs a cgroup v2 hierarchy: none is mounted "
			       "(mount -t cgroup2 none /sys/fs/cgroup/unified)");
			return EXIT_RUNTIME;
		}
		snprintf(path, sizeof(path), "%s/%s", base, env->cgroup + (env->cgroup[0] == '/'));
		e->cgroup_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (e->cgroup_fd < 0) {
			usage_error("no such cgroup '%s' (%s)", env->cgroup, path);
			return EXIT_USAGE;
		}
	}
	if (!e->nr_tasks && add_task(e, -1))
		return EXIT_RUNTIME;
	return 0;
}

/* ---- events ---- */

struct glob_ctx {
	struct session *s;
	struct event_spec *spec;
	int ret;
};

static int add_evsel(struct session *s, struct event_spec *spec, const char *sys, const char *name)
{
	struct evsel *n = realloc(s->evsels, sizeof(*n) * (size_t)(s->nr_evsels + 1));
	struct evsel *ev;
	char err[256];

	if (!n)
		return EXIT_RUNTIME;
	s->evsels = n;
	ev = &s->evsels[s->nr_evsels];
	memset(ev, 0, sizeof(*ev));
	ev->spec = spec;
	ev->group = spec->group;
	ev->idx = s->nr_evsels;
	ev->stack = spec->stack || s->env->callchain;
	ev->tp = tp_load(s->tep, sys, name, err, sizeof(err));
	if (!ev->tp) {
		usage_error("%s", err);
		return EXIT_USAGE;
	}
	ev->tp_id = ev->tp->id;
	if (spec->alias)
		ev->name = strdup(spec->alias);
	else if (asprintf(&ev->name, "%s:%s", sys, name) < 0)
		ev->name = NULL;
	if (!ev->name)
		return EXIT_RUNTIME;
	s->nr_evsels++;
	return 0;
}

static int add_glob_one(void *ctx, const char *sys, const char *name)
{
	struct glob_ctx *g = ctx;

	g->ret = add_evsel(g->s, g->spec, sys, name);
	return g->ret;
}

static int setup_events(struct session *s)
{
	struct engine *e = s->engine;
	char err[256];

	for (int i = 0; i < s->env->nr_events; i++) {
		if (spec_parse(s->env->events[i], i, &e->specs, &e->nr_specs, err, sizeof(err))) {
			usage_error("%s", err);
			return EXIT_USAGE;
		}
	}
	s->nr_groups = s->env->nr_events;
	for (int i = 0; i < e->nr_specs; i++) {
		struct event_spec *sp = &e->specs[i];
		int ret;

		if (tp_is_glob(sp->sys) || tp_is_glob(sp->name)) {
			struct glob_ctx g = { s, sp, 0 };
			int n = tp_glob(sp->sys, sp->name, add_glob_one, &g);

			if (g.ret)
				return g.ret;
			if (n <= 0) {
				usage_error("no event matches '%s:%s'", sp->sys, sp->name);
				return EXIT_USAGE;
			}
			continue;
		}
		ret = add_evsel(s, sp, sp->sys, sp->name);
		if (ret)
			return ret;
	}
	return 0;
}

static int open_evsel_fd(struct session *s, struct evsel *ev, struct perf_event_attr *attr,
			 int cpu_idx, int task)
{
	struct engine *e = s->engine;
	struct ring *r = &e->rings[cpu_idx];
	int cpu = e->cpus[cpu_idx], pid = task, fd, err;
	unsigned long flags = 0;
	uint64_t id;

	if (e->cgroup_fd >= 0) {
		pid = e->cgroup_fd;
		flags = PERF_FLAG_PID_CGROUP;
	}
	fd = pe_open(attr, pid, cpu, -1, flags);
	if (fd < 0) {
		pr_err("cannot open %s on CPU %d%s: %s", evsel_name(ev), cpu,
		       task > 0 ? " for that task" : "", pe_strerror(fd));
		return fd == -ESRCH ? EXIT_USAGE : EXIT_RUNTIME;
	}
	e->fd_cpu[e->nr_fds] = cpu_idx;
	e->fd_evsel[e->nr_fds] = ev->idx;
	e->fds[e->nr_fds++] = fd;
	if (!r->meta) {
		err = ring_mmap(r, fd, cpu, s->env->mmap_pages);
		if (err) {
			pr_err("cannot map %d pages for CPU %d: %s (try a smaller -m, or raise "
			       "kernel.perf_event_mlock_kb)", s->env->mmap_pages, cpu, strerror(-err));
			return EXIT_RUNTIME;
		}
	} else if ((err = pe_set_output(fd, r->fd))) {
		pr_err("cannot share the CPU %d ring with %s: %s", cpu, evsel_name(ev), strerror(-err));
		return EXIT_RUNTIME;
	}
	if ((err = pe_id(fd, &id))) {
		pr_err("cannot read the id of %s: %s", evsel_name(ev), strerror(-err));
		return EXIT_RUNTIME;
	}
	idmap_put(&e->ids, id, ev->idx);
	if (ev->spec->filter && !ev->filter && (err = pe_set_filter(fd, ev->spec->filter))) {
		pr_err("the kernel refused the filter of %s on CPU %d: %s", evsel_name(ev), cpu, strerror(-err));
		return EXIT_RUNTIME;
	}
	return 0;
}

/* --watermark PCT of the ring, in bytes; 64-bit so huge -m values cannot wrap. */
static uint32_t wakeup_bytes(uint64_t ring_bytes, int pct)
{
	uint64_t b = ring_bytes * (uint64_t)pct / 100;

	if (b < 1)
		b = 1;
	return b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
}

static int open_events(struct session *s)
{
	struct engine *e = s->engine;
	struct env *env = s->env;
	long page = sysconf(_SC_PAGESIZE);
	int total = s->nr_evsels * e->nr_cpus * e->nr_tasks, ret;

	e->rings = calloc((size_t)e->nr_cpus, sizeof(*e->rings));
	e->ring_ptrs = calloc((size_t)e->nr_cpus, sizeof(*e->ring_ptrs));
	e->fds = calloc((size_t)total, sizeof(int));
	e->fd_cpu = calloc((size_t)total, sizeof(int));
	e->fd_evsel = calloc((size_t)total, sizeof(int));
	e->sample_types = calloc((size_t)s->nr_evsels, sizeof(uint64_t));
	if (!e->rings || !e->ring_ptrs || !e->fds || !e->fd_cpu || !e->fd_evsel || !e->sample_types || idmap_init(&e->ids, total))
		return EXIT_RUNTIME;
	for (int i = 0; i < s->nr_evsels; i++) {
		struct evsel *ev = &s->evsels[i];
		struct perf_event_attr attr;
		struct pe_tp_opts o = {
			.tp_id = ev->tp_id,
			.callchain = ev->stack,
			.kernel_callchain = env->kernel_callchain || !env->user_callchain,
			.user_callchain = env->user_callchain,
			.max_stack = ev->spec->max_stack,
			.wakeup_bytes = wakeup_bytes((uint64_t)page * (uint64_t)env->mmap_pages, env->watermark),
			.track_comm = i == 0,
			.track_maps = i == 0 && e->usyms,
		};

		pe_tp_attr(&attr, &o);
		e->sample_types[i] = attr.sample_type;
		pr_verbose(1, "open %s (id %d)%s%s%s on %d CPUs x %d tasks\n", evsel_name(ev), ev->tp_id,
			   ev->stack ? " stack" : "", ev->spec->filter ? ", filter: " : "",
			   ev->spec->filter ? (ev->filter ? "user space" : "kernel") : "",
			   e->nr_cpus, e->nr_tasks);
		for (int c = 0; c < e->nr_cpus; c++)
			for (int t = 0; t < e->nr_tasks; t++)
				if ((ret = open_evsel_fd(s, ev, &attr, c, e->tasks[t])))
					return ret;
	}
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0)
		return EXIT_RUNTIME;
	for (int c = 0; c < e->nr_cpus; c++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)c };

		e->ring_ptrs[c] = &e->rings[c];
		if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->rings[c].fd, &ev))
			return EXIT_RUNTIME;
	}
	pr_verbose(1, "%d rings of %d pages, wake-up at %d%%\n", e->nr_cpus, env->mmap_pages, env->watermark);
	return order_init(&e->order, e->ring_ptrs, e->nr_cpus) ? EXIT_RUNTIME : 0;
}

static void enable_all(struct engine *e, bool on)
{
	for (int i = 0; i < e->nr_fds; i++)
		on ? pe_enable(e->fds[i]) : pe_disable(e->fds[i]);
}

/* ---- the workload after "--" ---- */

static int start_child(struct engine *e, char **argv)
{
	int go[2];

	if (pipe2(go, O_CLOEXEC))
		return EXIT_RUNTIME;
	e->child = fork();
	if (e->child < 0)
		return EXIT_RUNTIME;
	if (e->child == 0) {
		char c;

		sigset_t none;

		close(go[1]);
		/* The workload gets the signal state it would have had without us. */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Wait until the events are enabled, so the start is seen. */
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "perf-prof: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(go[0]);
	e->child_go = go[1];
	return 0;
}

static void release_child(struct engine *e)
{
	if (e->child_go >= 0) {
		if (write(e->child_go, "g", 1) != 1)
			pr_err("cannot start the workload");
		close(e->child_go);
		e->child_go = -1;
	}
}

/* ---- the read loop ---- */

static int on_sample(struct session *s, struct ring *r, const struct perf_event_header *h)
{
	struct engine *e = s->engine;
	struct sample smp;
	struct evsel *ev;
	int idx = idmap_get(&e->ids, sample_id_of(h));

	(void)r;
	if (idx < 0) {
		e->unknown_ids++;
		return 0;
	}
	ev = &s->evsels[idx];
	if (sample_parse(h, e->sample_types[idx], &smp)) {
		e->bad_samples++;
		return 0;
	}
	if (ev->filter && !expr_eval(ev->filter, smp.raw, smp.raw_size)) {
		ev->nr_filtered++;
		return 0;
	}
	ev->nr_samples++;
	s->prof->sample(s, ev, &smp);
	if (s->env->exit_n && (int64_t)++e->delivered >= s->env->exit_n)
		e->stop = e->halt = true;
	return e->halt;
}

struct lost_record {
	struct perf_event_header header;
	uint64_t id;
	uint64_t lost;
};

struct comm_record {
	struct perf_event_header header;
	uint32_t pid, tid;
	char comm[];
};

struct mmap2_record {
	struct perf_event_header header;
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	uint32_t maj, min;
	uint64_t ino, ino_generation;
	uint32_t prot, flags;
	char filename[];
};

struct task_record {      /* PERF_RECORD_FORK and PERF_RECORD_EXIT */
	struct perf_event_header header;
	uint32_t pid, ppid, tid, ptid;
	uint64_t time;
};

/* Side-band records that keep the user symbolizer's view of every process current. */
static void on_maps_record(struct engine *e, const struct perf_event_header *h)
{
	if (h->type == PERF_RECORD_MMAP2 && h->size > sizeof(struct mmap2_record)) {
		const struct mmap2_record *m = (const void *)h;
		size_t room = h->size - sizeof(*m);

		/* The name is NUL-padded to 8 bytes; never trust it to be terminated. */
		if (memchr(m->filename, '\0', room))
			usyms_mmap(e->usyms, (int)m->pid, m->addr, m->len, m->pgoff,
				   ((uint64_t)m->maj << 32) | m->min, m->ino, m->filename);
	} else if (h->size >= sizeof(struct task_record)) {
		const struct task_record *t = (const void *)h;

		if (h->type == PERF_RECORD_FORK && t->pid != t->ppid)
			usyms_fork(e->usyms, (int)t->ppid, (int)t->pid, t->time);
		else if (h->type == PERF_RECORD_EXIT && t->pid == t->tid)
			usyms_exit(e->usyms, (int)t->pid, t->time);
	}
}

static int on_record(void *ctx, struct ring *r, const struct perf_event_header *h)
{
	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		return on_sample(ctx, r, h);
	case PERF_RECORD_LOST:
		if (h->size >= sizeof(struct lost_record))
			r->stream_lost += ((const struct lost_record *)h)->lost;
		return 0;
	case PERF_RECORD_LOST_SAMPLES:
		/* { header; u64 lost; sample_id } - no id word first, unlike PERF_RECORD_LOST. */
		if (h->size >= sizeof(*h) + sizeof(uint64_t))
			r->stream_lost += *(const uint64_t *)(h + 1);
		return 0;
	case PERF_RECORD_COMM: {
		const struct comm_record *c = (const void *)h;

		comm_set((int)c->tid, c->comm);
		return 0;
	}
	case PERF_RECORD_MMAP2:
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		struct session *s = ctx;

		if (s->engine->usyms)
			on_maps_record(s->engine, h);
		return 0;
	}
	}
	return 0;
}

static void read_round(struct session *s, bool final)
{
	struct engine *e = s->engine;

	if (s->env->order) {
		uint64_t now = mono_now_ns();
		uint64_t horizon = final ? UINT64_MAX : now - ORDER_LATENESS_NS;

		order_round(&e->order, horizon, on_record, s);
	} else {
		unordered_round(e->ring_ptrs, e->nr_cpus, on_record, s);
	}
	if (e->usyms && !final)
		usyms_gc(e->usyms);
}

/*
 * Lost records seen in the stream lag behind the kernel's own count
 * (the record is written only when space returns); take the larger.
 */
static void sync_kernel_lost(struct engine *e)
{
	uint64_t per_ring[MAX_CPUS] = { 0 };
	bool have = e->nr_fds > 0;

	for (int i = 0; i < e->nr_fds && have; i++) {
		uint64_t count, lost;

		if (pe_read_counts(e->fds[i], &count, &lost))
			have = false;
		else
			per_ring[e->fd_cpu[i]] += lost;
	}
	for (int c = 0; have && c < e->nr_cpus; c++)
		e->rings[c].kernel_lost = per_ring[c];
}

/* JSON and pprof reports stay machine-readable: notes such as LOST go to stderr there. */
static FILE *notes_stream(const struct session *s)
{
	return strcmp(s->env->format, "json") && strcmp(s->env->format, "pprof") ? s->env->out : stderr;
}

void session_report_lost(struct session *s)
{
	struct engine *e = s->engine;
	FILE *f = notes_stream(s);

	sync_kernel_lost(e);
	for (int c = 0; c < e->nr_cpus; c++) {
		struct ring *r = &e->rings[c];
		uint64_t lost = ring_lost(r);

		if (lost > r->lost_reported) {
			fprintf(f, "LOST %llu events on CPU %d (ring full; try -m %d or --watermark)\n",
				(unsigned long long)(lost - r->lost_reported), r->cpu,
				s->env->mmap_pages * 4 > 256 ? s->env->mmap_pages * 4 : 256);
			r->lost_reported = lost;
		}
	}
	fflush(f);
}

uint64_t session_lost_total(const struct session *s)
{
	uint64_t n = 0;

	for (int c = 0; c < s->engine->nr_cpus; c++)
		n += ring_lost(&s->engine->rings[c]);
	return n;
}

static void check_child(struct engine *e)
{
	int status;

	if (e->child > 0 && waitpid(e->child, &status, WNOHANG) == e->child) {
		e->child = 0;
		e->stop = true;
	}
}

/* A watched task (-p/-t) is gone once /proc no longer has it or it is a zombie. */
static bool task_alive(int tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/*
 * The kernel signals EPOLLHUP on an event whose task exited, on every
 * epoll_wait: take that ring's fd out (its other events are still read
 * every round) and end the run when no watched task is left.
 */
static void ring_hung_up(struct engine *e, int ring)
{
	bool any = false;

	epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->rings[ring].fd, NULL);
	if (e->tasks[0] <= 0 || e->stop)
		return;
	for (int t = 0; t < e->nr_tasks && !any; t++)
		any = task_alive(e->tasks[t]);
	if (!any) {
		pr_verbose(1, "every watched task has exited\n");
		e->stop = true;
	}
}

static void run_loop(struct session *s)
{
	struct engine *e = s->engine;
	struct epoll_event evs[64];
	uint64_t interval = (uint64_t)s->env->interval_ms * 1000000ULL;
	uint64_t next = mono_now_ns() + interval;

	while (!e->stop && !signalled) {
		int timeout = POLL_MS;

		if (interval) {
			uint64_t now = mono_now_ns();
			int left = now >= next ? 0 : (int)((next - now) / 1000000ULL) + 1;

			if (left < timeout)
				timeout = left;
		}
		int n = epoll_wait(e->epfd, evs, 64, timeout);

		for (int i = 0; i < n; i++)
			if (evs[i].events & (EPOLLHUP | EPOLLERR))
				ring_hung_up(e, (int)evs[i].data.u32);
		read_round(s, false);
		if (interval && mono_now_ns() >= next && !e->stop) {
			uint64_t now;

			if (s->prof->interval)
				s->prof->interval(s);
			session_report_lost(s);
			/* A slow report must not be followed by a burst of near-empty ones. */
			next += interval;
			now = mono_now_ns();
			if (next <= now)
				next = now + interval;
		}
		if (child_exited)
			check_child(e);
	}
}

/*
 * Cross-check at the end: the kernel counts every hit of an event even
 * when it does not write the sample (seen on this kernel for
 * sched:sched_wakeup, with perf record too). Hits that were neither
 * received nor reported lost are reported, never silently absent.
 */
static void report_missing(struct session *s)
{
	struct engine *e = s->engine;

	for (int i = 0; i < s->nr_evsels; i++) {
		struct evsel *ev = &s->evsels[i];
		uint64_t count = 0, lost = 0, got = ev->nr_samples + ev->nr_filtered;

		for (int f = 0; f < e->nr_fds; f++) {
			uint64_t c, l;

			if (e->fd_evsel[f] != i)
				continue;
			if (pe_read_counts(e->fds[f], &c, &l))
				return;
			count += c;
			lost += l;
		}
		pr_verbose(1, "%s: kernel counted %llu, received %llu, lost %llu\n", ev->name,
			   (unsigned long long)count, (unsigned long long)got, (unsigned long long)lost);
		if (count > got + lost)
			fprintf(notes_stream(s),
				"MISSING %llu %s events: the kernel counted them but wrote no sample "
				"(a kernel-side drop, not a full ring: seen on VMs for sched events on CPUs waking from idle)\n",
				(unsigned long long)(count - got - lost), ev->name);
	}
}

static void cpu_seconds(double *user, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void print_stats(struct session *s)
{
	struct engine *e = s->engine;

	for (int i = 0; i < s->nr_evsels; i++) {
		struct evsel *ev = &s->evsels[i];

		pr_verbose(1, "%s: %llu samples", evsel_name(ev), (unsigned long long)ev->nr_samples);
		if (ev->filter)
			pr_verbose(1, ", %llu dropped by the user-space filter", (unsigned long long)ev->nr_filtered);
		pr_verbose(1, "\n");
	}
	if (s->env->order)
		pr_verbose(1, "out of order: %llu\n", (unsigned long long)e->order.out_of_order);
	if (e->unknown_ids || e->bad_samples)
		pr_verbose(1, "unknown ids: %llu, malformed samples: %llu\n",
			   (unsigned long long)e->unknown_ids, (unsigned long long)e->bad_samples);
	pr_verbose(1, "lost: %llu\n", (unsigned long long)session_lost_total(s));
	if (env.verbose) {
		uint64_t n = 0;
		double user, sys;

		for (int i = 0; i < s->nr_evsels; i++)
			n += s->evsels[i].nr_samples + s->evsels[i].nr_filtered;
		cpu_seconds(&user, &sys);
		user -= e->user_at_enable;
		sys -= e->sys_at_enable;
		pr_verbose(1, "perf-prof CPU while enabled: user %.3f s, sys %.3f s, %.1f ns per event\n",
			   user, sys, n ? (user + sys) * 1e9 / (double)n : 0.0);
	}
}

/*
 * --user-callchain: user frames are resolved at report time through one
 * symbolizer. Processes that exist now are read from /proc once; anything
 * mapped, forked or exec'd later comes in the rings (MMAP2/FORK/EXIT).
 */
static int setup_usyms(struct session *s)
{
	bool stacks = false;

	for (int i = 0; i < s->nr_evsels; i++)
		stacks |= s->evsels[i].stack;
	if (!s->env->user_callchain || !stacks)
		return 0;
	s->engine->usyms = usyms_new();
	if (!s->engine->usyms)
		return EXIT_RUNTIME;
	callchain_set_usyms(s->engine->usyms, s->env->line);
	return 0;
}

/* After the events are enabled, so a mapping made meanwhile is in /proc or in a ring. */
static void capture_existing_maps(struct engine *e)
{
	int n = 0;

	if (!e->usyms)
		return;
	if (e->tasks[0] < 0) {
		n = usyms_capture_all(e->usyms);
	} else {
		for (int t = 0; t < e->nr_tasks; t++)
			n += !usyms_capture(e->usyms, e->tasks[t]);
	}
	pr_verbose(1, "user symbols: maps of %d processes read from /proc\n", n);
}

static void teardown(struct session *s)
{
	struct engine *e = s->engine;

	if (e->child > 0) {
		/* Ask politely, then insist: a workload ignoring SIGTERM must not hang us. */
		kill(e->child, SIGTERM);
		for (int i = 0; i < 200 && waitpid(e->child, NULL, WNOHANG) == 0; i++)
			usleep(10000);
		if (waitpid(e->child, NULL, WNOHANG) == 0) {
			kill(e->child, SIGKILL);
			waitpid(e->child, NULL, 0);
		}
	}
	if (e->child_go >= 0)
		close(e->child_go);
	for (int c = 0; e->rings && c < e->nr_cpus; c++)
		ring_unmap(&e->rings[c]);
	for (int i = 0; i < e->nr_fds; i++)
		close(e->fds[i]);
	if (e->epfd >= 0)
		close(e->epfd);
	if (e->cgroup_fd >= 0)
		close(e->cgroup_fd);
	order_free(&e->order);
	for (int i = 0; i < s->nr_evsels; i++) {
		expr_free(s->evsels[i].filter);
		expr_free(s->evsels[i].key);
		expr_free(s->evsels[i].size);
		free(s->evsels[i].name);
	}
	free(e->rings);
	free(e->ring_ptrs);
	free(e->fds);
	free(e->fd_cpu);
	free(e->fd_evsel);
	free(e->sample_types);
	free(e->ids.keys);
	free(e->ids.vals);
	free(e->tasks);
	spec_free(e->specs, e->nr_specs);
	if (e->usyms) {
		callchain_set_usyms(NULL, false);
		usyms_free(e->usyms);
	}
	free(s->evsels);
	if (s->tep)
		tep_free(s->tep);
	comm_free();
}

int session_child_pid(const struct session *s)
{
	return s->engine->child > 0 ? s->engine->child : 0;
}

void session_stop(struct session *s)
{
	s->engine->stop = s->engine->halt = true;
}

int session_run(struct profiler *p, struct env *env)
{
	struct engine e = { .epfd = -1, .cgroup_fd = -1, .child_go = -1 };
	struct session s = { .env = env, .prof = p, .engine = &e };
	int ret;

	wallclock_init();
	install_signals();
	if (!env->nr_events) {
		usage_error("%s: needs at least one -e EVENT", p->name);
		return EXIT_USAGE;
	}
	if (!tracefs_events_dir())
		return EXIT_RUNTIME;
	s.tep = tp_tep_new();
	if (!s.tep)
		return EXIT_RUNTIME;
	if ((ret = setup_events(&s)) || (ret = setup_cpus(&e, env->cpus)) ||
	    (ret = setup_targets(&e, env)))
		goto out;
	s.first_cpu = e.cpus[0];
	if ((ret = filters_setup(&s)))
		goto out;
	if ((ret = setup_usyms(&s)))
		goto out;
	if (p->init && (ret = p->init(&s)))
		goto out;
	if ((ret = open_events(&s)))
		goto out;
	if (env->cmd_argv && (ret = start_child(&e, env->cmd_argv)))
		goto out;
	cpu_seconds(&e.user_at_enable, &e.sys_at_enable);
	enable_all(&e, true);
	capture_existing_maps(&e);
	release_child(&e);
	run_loop(&s);
	enable_all(&e, false);
	if (!e.halt)
		read_round(&s, true);
	if (!e.halt && !e.unknown_ids && !e.bad_samples)
		report_missing(&s);
	if (p->exit)
		p->exit(&s);
	session_report_lost(&s);
	print_stats(&s);
	ret = EXIT_OK;
out:
	teardown(&s);
	return ret;
}
