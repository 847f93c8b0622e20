// SPDX-License-Identifier: GPL-2.0
/*
 * loadgen: a kernel-allocation load generator for perf-prof's benchmarks,
 * demo and end-to-end tests.
 *
 *   pipe     each op: pipe2, write, read, close both ends
 *            (pipe_inode_info/bufs kmalloc + kfree, file and inode caches)
 *   socket   each op: socketpair(AF_UNIX), send, recv, close (skb allocations)
 *   hold     open --hold N pipes with data in them and keep them open
 *            (the "planted leak"); --rate R opens them gradually
 *   sleeper  each worker sleeps --period-ms in a loop and counts wake-ups
 *
 * One summary line goes to stdout at the end:
 *   loadgen: mode=pipe ops=123456 seconds=5.00 ops/s=24691.2
 * Bad arguments: one line on stderr, exit 2. A failing syscall: exit 1.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define NSEC_PER_SEC 1000000000LL
#define MAX_WORKERS 256
#define MAX_SIZE (64 * 1024) /* default pipe capacity: one write never blocks */
#define PACE_SLICE_NS 1000000LL /* pace in 1 ms batches: cheap and smooth */

enum mode { MODE_PIPE, MODE_SOCKET, MODE_HOLD, MODE_SLEEPER };

static const char *const mode_names[] = {
	[MODE_PIPE] = "pipe",
	[MODE_SOCKET] = "socket",
	[MODE_HOLD] = "hold",
	[MODE_SLEEPER] = "sleeper",
};

struct config {
	enum mode mode;
	int workers;
	double rate;        /* total ops/s, 0 = as fast as possible */
	double duration;    /* seconds, 0 = until a signal (or --count) */
	long long count;    /* total ops, 0 = unlimited */
	int cpu;            /* -1 = not pinned */
	long hold;          /* pipes to hold in hold mode */
	long period_ms;     /* sleeper period */
	size_t size;        /* bytes written per op */
};

/* One per worker, on its own cache line so counting stays cheap. */
struct worker {
	_Alignas(64) pthread_t thread;
	const struct config *cfg;
	long long quota;    /* ops this worker does, 0 = unlimited */
	double rate;        /* this worker's share of --rate */
	long long ops;
	int err;            /* errno of a failed syscall, 0 = fine */
	const char *what;   /* which syscall failed */
};

static atomic_bool stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store_explicit(&stop_flag, true, memory_order_relaxed);
}

static bool stopping(void)
{
	return atomic_load_explicit(&stop_flag, memory_order_relaxed);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static struct timespec ns_to_ts(long long ns)
{
	struct timespec ts = { .tv_sec = ns / NSEC_PER_SEC, .tv_nsec = ns % NSEC_PER_SEC };

	return ts;
}

static void sleep_until(long long deadline_ns)
{
	struct timespec ts = ns_to_ts(deadline_ns);

	/* EINTR only means a signal arrived; the caller re-checks stop_flag. */
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: loadgen --mode pipe|socket|hold|sleeper [--workers N] [--rate OPS_PER_S]\n"
		"               [--duration S] [--count N] [--cpu C] [--hold N] [--period-ms MS]\n"
		"               [--size BYTES]\n"
		"  --workers N      threads (default 1)\n"
		"  --rate R         total ops/s across workers, 0 = as fast as possible\n"
		"  --duration S     stop after S seconds (default 5; 0 = until SIGINT/SIGTERM)\n"
		"  --count N        stop after N ops in total (no default duration then)\n"
		"  --cpu C          pin every worker to CPU C\n"
		"  --hold N         hold mode: pipes to keep open (default 100)\n"
		"  --period-ms MS   sleeper mode: sleep period (default 10)\n"
		"  --size BYTES     bytes written per op, 1..65536 (default 64)\n");
}

static int bad_arg(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "loadgen: bad %s '%s': %s\n", opt, val, why);
	return 2;
}

/* Parses a whole-string integer in [min, max]; false on anything else. */
static bool parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min && v <= max))
		return false;
	*out = v;
	return true;
}

static bool parse_mode(const char *s, enum mode *out)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (!strcmp(s, mode_names[i])) {
			*out = (enum mode)i;
			return true;
		}
	}
	return false;
}

/* Returns -1 when parsing succeeded, otherwise the exit status to use. */
static int parse_args(int argc, char **argv, struct config *cfg)
{
	enum { OPT_MODE = 256, OPT_WORKERS, OPT_RATE, OPT_DURATION, OPT_COUNT,
	       OPT_CPU, OPT_HOLD, OPT_PERIOD, OPT_SIZE, OPT_HELP };
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "cpu", required_argument, NULL, OPT_CPU },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "period-ms", required_argument, NULL, OPT_PERIOD },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	bool have_mode = false, have_duration = false;
	long long v;
	int c;

	*cfg = (struct config){ .workers = 1, .duration = 5, .cpu = -1, .hold = 100,
				.period_ms = 10, .size = 64 };
	opterr = 0; /* we print our own one-line errors; ":" reports missing values */
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

		switch (c) {
		case OPT_MODE:
			if (!parse_mode(optarg, &cfg->mode))
				return bad_arg("--mode", optarg, "expected pipe, socket, hold or sleeper");
			have_mode = true;
			break;
		case OPT_WORKERS:
			if (!parse_ll(optarg, 1, MAX_WORKERS, &v))
				return bad_arg("--workers", optarg, "expected 1..256");
			cfg->workers = (int)v;
			break;
		case OPT_RATE:
			if (!parse_double(optarg, 0, 1e9, &cfg->rate))
				return bad_arg("--rate", optarg, "expected ops/s in 0..1e9");
			break;
		case OPT_DURATION:
			if (!parse_double(optarg, 0, 1e6, &cfg->duration))
				return bad_arg("--duration", optarg, "expected seconds in 0..1e6");
			have_duration = true;
			break;
		case OPT_COUNT:
			if (!parse_ll(optarg, 1, LLONG_MAX, &cfg->count))
				return bad_arg("--count", optarg, "expected a positive integer");
			break;
		case OPT_CPU:
			if (!parse_ll(optarg, 0, CPU_SETSIZE - 1, &v))
				return bad_arg("--cpu", optarg, "expected a CPU number");
			cfg->cpu = (int)v;
			break;
		case OPT_HOLD:
			if (!parse_ll(optarg, 1, 1000000, &v))
				return bad_arg("--hold", optarg, "expected 1..1000000");
			cfg->hold = (long)v;
			break;
		case OPT_PERIOD:
			if (!parse_ll(optarg, 1, 3600000, &v))
				return bad_arg("--period-ms", optarg, "expected 1..3600000");
			cfg->period_ms = (long)v;
			break;
		case OPT_SIZE:
			if (!parse_ll(optarg, 1, MAX_SIZE, &v))
				return bad_arg("--size", optarg, "expected 1..65536");
			cfg->size = (size_t)v;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "loadgen: option '%s' needs a value\n", name);
			return 2;
		default:
			fprintf(stderr, "loadgen: unknown option '%s'\n", name);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!have_mode) {
		fprintf(stderr, "loadgen: --mode is required (pipe, socket, hold or sleeper)\n");
		return 2;
	}
	/* --count alone means "run until done"; --duration still caps it if given. */
	if (cfg->count && !have_duration)
		cfg->duration = 0;
	return -1;
}

/* Retries short writes; a pipe or socket buffer holds MAX_SIZE, so no deadlock. */
static int write_all(int fd, const char *buf, size_t len, bool is_socket)
{
	while (len) {
		ssize_t n = is_socket ? send(fd, buf, len, MSG_NOSIGNAL) : write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, char *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EPIPE;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One pipe or socket op; fills w->what on failure. */
static int do_one_op(struct worker *w, char *buf)
{
	bool is_socket = w->cfg->mode == MODE_SOCKET;
	size_t size = w->cfg->size;
	int fds[2], ret = 0;

	if (is_socket) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)) {
			w->what = "socketpair";
			return -1;
		}
	} else if (pipe2(fds, O_CLOEXEC)) {
		w->what = "pipe2";
		return -1;
	}
	if (write_all(fds[1], buf, size, is_socket)) {
		w->what = is_socket ? "send" : "write";
		ret = -1;
	} else if (read_all(fds[0], buf, size)) {
		w->what = "read";
		ret = -1;
	}
	close(fds[0]);
	close(fds[1]);
	return ret;
}

/*
 * Ops per pacing batch: about 1 ms worth, so a paced worker sleeps at most
 * ~1000 times a second however high the rate is.
 */
static long long pace_batch(double rate)
{
	long long batch = (long long)(rate * PACE_SLICE_NS / NSEC_PER_SEC);

	return batch < 1 ? 1 : batch;
}

static void *churn_worker(void *arg)
{
	struct worker *w = arg;
	long long batch = w->rate > 0 ? pace_batch(w->rate) : LLONG_MAX;
	double batch_ns = w->rate > 0 ? batch * (double)NSEC_PER_SEC / w->rate : 0;
	long long start = now_ns(), done_in_batch = 0, batches = 0;
	char buf[MAX_SIZE];

	memset(buf, 'x', w->cfg->size);
	while (!stopping() && (!w->quota || w->ops < w->quota)) {
		if (do_one_op(w, buf)) {
			w->err = errno;
			break;
		}
		w->ops++;
		if (++done_in_batch == batch) {
			/* Absolute deadlines: pacing error does not accumulate. */
			done_in_batch = 0;
			batches++;
			sleep_until(start + (long long)(batches * batch_ns));
		}
	}
	return NULL;
}

static void *sleeper_worker(void *arg)
{
	struct worker *w = arg;
	struct timespec period = ns_to_ts(w->cfg->period_ms * 1000000LL);

	while (!stopping() && (!w->quota || w->ops < w->quota)) {
		/* A signal cuts a sleep short; that still counts as a wake-up. */
		nanosleep(&period, NULL);
		w->ops++;
	}
	return NULL;
}

/* Sleeps until the duration is over, a signal arrives or all workers are done. */
static void wait_for_end(const struct config *cfg, long long start, atomic_int *running)
{
	long long end = cfg->duration > 0 ? start + (long long)(cfg->duration * NSEC_PER_SEC) : 0;

	while (!stopping() && atomic_load(running) > 0) {
		long long next = now_ns() + 10000000LL; /* re-check every 10 ms */

		if (end && next > end)
			next = end;
		sleep_until(next);
		if (end && now_ns() >= end)
			break;
	}
	atomic_store(&stop_flag, true);
}

struct runner_arg {
	struct worker *w;
	void *(*fn)(void *);
	atomic_int *running;
};

static void *runner(void *arg)
{
	struct runner_arg *ra = arg;

	ra->fn(ra->w);
	atomic_fetch_sub(ra->running, 1);
	return NULL;
}

static void split_work(const struct config *cfg, struct worker *ws)
{
	for (int i = 0; i < cfg->workers; i++) {
		ws[i].cfg = cfg;
		ws[i].rate = cfg->rate / cfg->workers;
		/* Spread --count so the workers together do exactly that many ops. */
		ws[i].quota = cfg->count ? cfg->count / cfg->workers + (i < cfg->count % cfg->workers) : 0;
	}
}

static int run_workers(const struct config *cfg, long long *ops)
{
	void *(*fn)(void *) = cfg->mode == MODE_SLEEPER ? sleeper_worker : churn_worker;
	struct worker ws[MAX_WORKERS] = { 0 };
	struct runner_arg ras[MAX_WORKERS];
	atomic_int running = 0;
	long long start = now_ns();
	int started = 0, ret = 0;

	split_work(cfg, ws);
	for (int i = 0; i < cfg->workers; i++) {
		int err;

		if (cfg->count && !ws[i].quota)
			continue; /* more workers than ops */
		ras[i] = (struct runner_arg){ .w = &ws[i], .fn = fn, .running = &running };
		atomic_fetch_add(&running, 1);
		err = pthread_create(&ws[i].thread, NULL, runner, &ras[i]);
		if (err) {
			atomic_fetch_sub(&running, 1);
			fprintf(stderr, "loadgen: pthread_create: %s\n", strerror(err));
			atomic_store(&stop_flag, true);
			ret = 1;
			break;
		}
		started = i + 1;
	}
	if (!ret)
		wait_for_end(cfg, start, &running);
	*ops = 0;
	for (int i = 0; i < started; i++) {
		if (cfg->count && !ws[i].quota)
			continue;
		pthread_join(ws[i].thread, NULL);
		*ops += ws[i].ops;
		if (ws[i].err && !ret) {
			fprintf(stderr, "loadgen: %s: %s\n", ws[i].what, strerror(ws[i].err));
			ret = 1;
		}
	}
	return ret;
}

/* Each held pipe takes two descriptors; lift the soft limit to the hard one. */
static int ensure_fd_room(long pipes)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)pipes * 2 + 8; /* + stdio and slack */

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < need) {
		fprintf(stderr, "loadgen: --hold %ld needs %llu open files, limit is %llu (raise ulimit -n)\n",
			pipes, (unsigned long long)need, (unsigned long long)rl.rlim_cur);
		return -1;
	}
	return 0;
}

/* Opens one pipe with --size bytes in it, so its first buffer page is allocated. */
static int open_held_pipe(const struct config *cfg, int fds[2], const char *buf)
{
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK)) {
		fprintf(stderr, "loadgen: pipe2: %s\n", strerror(errno));
		return -1;
	}
	if (write_all(fds[1], buf, cfg->size, false)) {
		fprintf(stderr, "loadgen: write: %s\n", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	return 0;
}

static int run_hold(const struct config *cfg, long long *ops)
{
	double gap_ns = cfg->rate > 0 ? NSEC_PER_SEC / cfg->rate : 0;
	long long start = now_ns();
	long long end = cfg->duration > 0 ? start + (long long)(cfg->duration * NSEC_PER_SEC) : 0;
	char buf[MAX_SIZE];
	int (*fds)[2];
	long opened = 0;
	int ret = 0;

	if (ensure_fd_room(cfg->hold))
		return 1;
	fds = calloc((size_t)cfg->hold, sizeof(*fds));
	if (!fds) {
		fprintf(stderr, "loadgen: out of memory for %ld pipes\n", cfg->hold);
		return 1;
	}
	memset(buf, 'x', cfg->size);
	while (opened < cfg->hold && !stopping() && !(end && now_ns() >= end)) {
		if (open_held_pipe(cfg, fds[opened], buf)) {
			ret = 1;
			break;
		}
		opened++;
		if (gap_ns > 0)
			sleep_until(start + (long long)(opened * gap_ns));
	}
	if (!ret && opened == cfg->hold) {
		printf("held %ld pipes\n", opened);
		fflush(stdout);
		while (!stopping() && !(end && now_ns() >= end))
			sleep_until(end ? end : now_ns() + NSEC_PER_SEC); /* a signal ends the sleep */
	}
	for (long i = 0; i < opened; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	free(fds);
	printf("closed %ld pipes\n", opened);
	*ops = opened;
	return ret;
}

static int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* Threads created later inherit the mask, so pinning the caller pins all. */
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "loadgen: bad --cpu '%d': %s\n", cpu, strerror(errno));
		return -1;
	}
	return 0;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: a signal must interrupt sleeps and blocking reads. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int main(int argc, char **argv)
{
	struct config cfg;
	long long ops = 0, start, elapsed;
	double secs;
	int ret;

	ret = parse_args(argc, argv, &cfg);
	if (ret >= 0)
		return ret;
	if (cfg.cpu >= 0 && pin_to_cpu(cfg.cpu))
		return 2;
	install_signals();

	start = now_ns();
	if (cfg.mode == MODE_HOLD)
		ret = run_hold(&cfg, &ops);
	else
		ret = run_workers(&cfg, &ops);
	elapsed = now_ns() - start;
	secs = elapsed / (double)NSEC_PER_SEC;

	if (cfg.mode == MODE_SLEEPER)
		printf("wakeups %lld\n", ops);
	printf("loadgen: mode=%s ops=%lld seconds=%.2f ops/s=%.1f\n", mode_names[cfg.mode], ops,
	       secs, secs > 0 ? ops / secs : 0.0);
	fflush(stdout);
	return ret;
}
