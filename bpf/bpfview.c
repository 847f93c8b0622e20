/* User-space plumbing shared by the BPF views; see bpfview.h. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf/bpfview.h"
#include "lib/units.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

bool bv_stopping(void)
{
	return stop_requested;
}

void bv_request_stop(void)
{
	stop_requested = 1;
}

static int libbpf_to_verbose(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf warnings are noise unless asked for: a failed probe is handled by us. */
	if (env.verbose < (level == LIBBPF_DEBUG ? 3 : 2))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int bv_parse_duration(const char *view, const char *arg, uint64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || v <= 0)
		goto bad;
	if (!*end || !strcmp(end, "s"))
		*ns = (uint64_t)(v * 1e9);
	else if (!strcmp(end, "ms"))
		*ns = (uint64_t)(v * 1e6);
	else if (!strcmp(end, "m"))
		*ns = (uint64_t)(v * 60e9);
	else
		goto bad;
	return 0;
bad:
	usage_error("%s: bad value '%s' for --duration (expected e.g. 10, 10s, 500ms, 2m)", view, arg);
	return -1;
}

int bv_start(struct bv_run *r, const char *name, struct env *e, uint64_t duration_ns)
{
	struct sigaction sa = { .sa_handler = on_signal };

	r->name = name;
	r->interval_ms = e->interval_ms > 0 ? e->interval_ms : 1000;
	r->deadline_ns = duration_ns ? now_ns() + duration_ns : 0;
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		pr_err("%s: kernel BTF (/sys/kernel/btf/vmlinux) is missing: the BPF views need a kernel built with CONFIG_DEBUG_INFO_BTF=y", name);
		return EXIT_RUNTIME;
	}
	if (geteuid() != 0)
		pr_verbose(1, "%s: not root: loading BPF needs CAP_BPF and CAP_PERFMON\n", name);
	libbpf_set_print(libbpf_to_verbose);
	/* No SA_RESTART: a signal must cut a sleep short. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return EXIT_OK;
}

bool bv_pid_alive(int pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

int bv_parse_pids(struct bv_run *r, const char *list, const char *opt)
{
	const char *s = list;

	while (s && *s) {
		char *end;
		long v;

		errno = 0;
		v = strtol(s, &end, 10);
		if (errno || end == s || v <= 0 || v > 0x3fffffff || (*end && *end != ',')) {
			usage_error("%s: bad pid in %s '%s'", r->name, opt, list);
			return EXIT_USAGE;
		}
		if (r->nr_pids == BV_MAX_PIDS) {
			usage_error("%s: too many pids in %s (at most %d)", r->name, opt, BV_MAX_PIDS);
			return EXIT_USAGE;
		}
		if (!bv_pid_alive((int)v)) {
			usage_error("%s: no such process %ld (%s)", r->name, v, opt);
			return EXIT_USAGE;
		}
		r->pids[r->nr_pids++] = (int)v;
		s = *end ? end + 1 : end;
	}
	return EXIT_OK;
}

int bv_bpf_error(const char *view, const char *what, int err)
{
	if (err == -EPERM || err == -EACCES)
		pr_err("%s: %s: permission denied: run as root (CAP_BPF and CAP_PERFMON; check kernel.unprivileged_bpf_disabled and lockdown)", view, what);
	else if (err == -ENOENT || err == -ESRCH)
		pr_err("%s: %s: the kernel lacks the needed hook or symbol (%s); try -v for details", view, what, strerror(-err));
	else
		pr_err("%s: %s failed: %s (run with -vv for the verifier log)", view, what, strerror(-err));
	return EXIT_RUNTIME;
}

bool bv_wait(struct bv_run *r)
{
	uint64_t t = now_ns(), wake = t + (uint64_t)r->interval_ms * 1000000ull;

	if (r->deadline_ns && wake > r->deadline_ns)
		wake = r->deadline_ns;
	while (!stop_requested && t < wake) {
		uint64_t left = wake - t;
		struct timespec ts = { .tv_sec = (time_t)(left / 1000000000ull),
				       .tv_nsec = (long)(left % 1000000000ull) };

		nanosleep(&ts, NULL);
		t = now_ns();
	}
	return !stop_requested;
}

bool bv_report_done(struct bv_run *r, struct env *e)
{
	r->reports++;
	if (e->out)
		fflush(e->out);
	if (e->exit_n && r->reports >= e->exit_n)
		return false;
	if (r->deadline_ns && now_ns() >= r->deadline_ns)
		return false;
	return !stop_requested;
}

int bv_possible_cpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : 1;
}

bool bv_have_kprobes(void)
{
	return !access("/sys/kernel/tracing/kprobe_events", F_OK) ||
	       !access("/sys/kernel/debug/tracing/kprobe_events", F_OK) ||
	       !access("/sys/bus/event_source/devices/kprobe/type", F_OK);
}

char *bv_clock(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
	return buf;
}

long long bv_proc_kb(const char *path, const char *key)
{
	size_t klen = strlen(key);
	long long v = -1;
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

int bv_percpu_var_offset(const char *name, long long *off)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int ret = -ENOENT;

	if (!btf)
		return -errno;
	for (__u32 id = 1; id < btf__type_cnt(btf) && ret; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_var_secinfo *vs;

		if (!btf_is_datasec(t) || strcmp(btf__name_by_offset(btf, t->name_off), ".data..percpu"))
			continue;
		vs = btf_var_secinfos(t);
		for (__u16 i = 0; i < btf_vlen(t); i++, vs++) {
			const struct btf_type *v = btf__type_by_id(btf, vs->type);

			if (!strcmp(btf__name_by_offset(btf, v->name_off), name)) {
				*off = vs->offset;
				ret = 0;
				break;
			}
		}
	}
	btf__free(btf);
	return ret;
}

long long bv_rq_to_cpu_off(void)
{
	long long rq, off;

	if (bv_percpu_var_offset("runqueues", &rq) || bv_percpu_var_offset("this_cpu_off", &off))
		return 0;
	return off - rq;
}

/*
 * gfp names from vmlinux BTF: the ___GFP_<NAME>_BIT enumerators give the
 * bit of each __GFP_<NAME> on the running kernel (they move between
 * releases). The common composites are matched first, as the kernel's own
 * show_gfp_flags() does.
 */
struct gfp_bit {
	char name[32];
	unsigned bit;
};

static struct gfp_bit gfp_bits[40];
static int nr_gfp_bits = -1;

static void gfp_load(void)
{
	struct btf *btf = btf__load_vmlinux_btf();

	nr_gfp_bits = 0;
	if (!btf)
		return;
	for (__u32 id = 1; id < btf__type_cnt(btf); id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_enum *e;

		if (!btf_is_enum(t))
			continue;
		e = btf_enum(t);
		if (!btf_vlen(t) || strcmp(btf__name_by_offset(btf, e->name_off), "___GFP_DMA_BIT"))
			continue;
		for (__u16 i = 0; i < btf_vlen(t) && nr_gfp_bits < 40; i++, e++) {
			const char *n = btf__name_by_offset(btf, e->name_off);
			size_t len = strlen(n);

			if (len < 8 || strcmp(n + len - 4, "_BIT") || !strcmp(n, "___GFP_LAST_BIT"))
				continue;
			/* ___GFP_IO_BIT -> __GFP_IO */
			snprintf(gfp_bits[nr_gfp_bits].name, sizeof(gfp_bits[0].name), "%.*s", (int)(len - 5), n + 1);
			gfp_bits[nr_gfp_bits++].bit = (unsigned)e->val;
		}
		break;
	}
	btf__free(btf);
}

static unsigned long long gfp_mask_of(const char *name)
{
	for (int i = 0; i < nr_gfp_bits; i++)
		if (!strcmp(gfp_bits[i].name, name))
			return 1ull << gfp_bits[i].bit;
	return 0;
}

char *bv_gfp_names(unsigned long long gfp, char *buf, size_t len)
{
	static const char *const composites[][8] = {
		/* name, then its __GFP_ parts */
		{ "GFP_HIGHUSER_MOVABLE", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_IO", "__GFP_FS", "__GFP_HARDWALL", "__GFP_HIGHMEM", "__GFP_MOVABLE" },
		{ "GFP_HIGHUSER", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_IO", "__GFP_FS", "__GFP_HARDWALL", "__GFP_HIGHMEM", NULL },
		{ "GFP_USER", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_IO", "__GFP_FS", "__GFP_HARDWALL", NULL, NULL },
		{ "GFP_KERNEL_ACCOUNT", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_IO", "__GFP_FS", "__GFP_ACCOUNT", NULL, NULL },
		{ "GFP_KERNEL", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_IO", "__GFP_FS", NULL, NULL, NULL },
		{ "GFP_NOFS", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_IO", NULL, NULL, NULL, NULL },
		{ "GFP_ATOMIC", "__GFP_HIGH", "__GFP_KSWAPD_RECLAIM", NULL, NULL, NULL, NULL, NULL },
		{ "GFP_NOIO", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", NULL, NULL, NULL, NULL, NULL },
		{ "GFP_NOWAIT", "__GFP_KSWAPD_RECLAIM", "__GFP_NOWARN", NULL, NULL, NULL, NULL, NULL },
	};
	unsigned long long left = gfp;
	size_t n = 0;

	if (nr_gfp_bits < 0)
		gfp_load();
	buf[0] = '\0';
	if (!nr_gfp_bits) {
		snprintf(buf, len, "%#llx", gfp);
		return buf;
	}
	for (size_t c = 0; c < sizeof(composites) / sizeof(composites[0]); c++) {
		unsigned long long m = 0;
		bool ok = true;

		for (int i = 1; i < 8 && composites[c][i]; i++) {
			unsigned long long b = gfp_mask_of(composites[c][i]);

			ok &= b != 0;
			m |= b;
		}
		if (ok && m && (left & m) == m) {
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "|" : "", composites[c][0]);
			left &= ~m;
			break;
		}
	}
	for (int i = 0; i < nr_gfp_bits && left; i++) {
		unsigned long long b = 1ull << gfp_bits[i].bit;

		if (left & b) {
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "|" : "", gfp_bits[i].name);
			left &= ~b;
		}
	}
	if (left)
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%#llx", n ? "|" : "", left);
	if (!gfp)
		snprintf(buf, len, "0");
	return buf;
}

int bv_possible_nodes(void)
{
	char path[64];
	int n = 0;

	while (n < BV_MAX_NODES) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", n);
		if (access(path, F_OK))
			break;
		n++;
	}
	return n ? n : 1;
}
