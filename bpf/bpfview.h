/*
 * User-space plumbing shared by the BPF views (procstat, sysstat, paf, pr,
 * memleak, mem_watcher): feature checks with messages that say what is
 * missing, -p parsing, the stop conditions and the interval clock.
 */
#ifndef BPF_BPFVIEW_H
#define BPF_BPFVIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "perf-prof.h"
#include "bpf/bpfview_shared.h"

#define BV_MAX_PIDS 64

/* Options every view adds to the common ones (keys >= 256 or free letters). */
enum { BV_OPT_DURATION = 'd' };

struct bv_run {
	const char *name;       /* view name for messages */
	long interval_ms;       /* effective interval */
	long reports;           /* reports printed so far */
	uint64_t deadline_ns;   /* CLOCK_MONOTONIC, 0 = none */
	int pids[BV_MAX_PIDS];
	int nr_pids;
};

/* Parse a -d/--duration value ("10", "10s", "500ms"); -1 and a usage error on bad input. */
int bv_parse_duration(const char *view, const char *arg, uint64_t *ns);
/*
 * Check BTF and privileges, install SIGINT/SIGTERM handlers, route libbpf's
 * messages to -v. Returns EXIT_OK or the exit code to return.
 */
int bv_start(struct bv_run *r, const char *name, struct env *env, uint64_t duration_ns);
/* Parse env->pids (-p) into r->pids; each must exist. EXIT_OK or EXIT_USAGE. */
int bv_parse_pids(struct bv_run *r, const char *list, const char *opt);
/* Explain a libbpf open/load/attach failure (errno-style err < 0); returns EXIT_RUNTIME. */
int bv_bpf_error(const char *view, const char *what, int err);
/* Sleep until the next interval, a signal or the deadline; false once the run must stop. */
bool bv_wait(struct bv_run *r);
/* Account one printed report and apply -N; false when the run must stop. */
bool bv_report_done(struct bv_run *r, struct env *env);
bool bv_stopping(void);
void bv_request_stop(void);
/* Number of possible CPUs (for per-CPU counter sums). */
int bv_possible_cpus(void);
/* True when the kernel can host kprobes (CONFIG_KPROBES with the tracefs interface). */
bool bv_have_kprobes(void);
/* "HH:MM:SS" of now, local time. */
char *bv_clock(char *buf, size_t len);
bool bv_pid_alive(int pid);
/* Read one "Key:   123 kB" line of a /proc file; -1 when absent. */
long long bv_proc_kb(const char *path, const char *key);

/*
 * The views' entry points with their options, so mem_watcher can drive
 * them with the seed's flags. `seed_layout` selects mem_watcher's columns.
 */
struct bv_view_opts {
	uint64_t duration_ns;   /* -d, 0 = until a signal or -N */
	bool rss_only;          /* procstat -R */
	bool part2;             /* sysstat -n */
	bool seed_layout;       /* print mem_watcher's column layout */
	const char *pids;       /* procstat/memleak target list (overrides env->pids) */
};

int procstat_main(struct env *env, const struct bv_view_opts *o);
int sysstat_main(struct env *env, const struct bv_view_opts *o);
int paf_main(struct env *env, const struct bv_view_opts *o);
int pr_main(struct env *env, const struct bv_view_opts *o);
int memleak_main(struct env *env, const struct bv_view_opts *o);

/*
 * memleak's uprobe plumbing, shared with kmemsnoop --user: the C library a
 * process maps, the MEMLEAK_NR_PROBES uprobes on it (links NULL = into the
 * skeleton), a command started stopped at its exec (its pid, or -errno),
 * and serving that child's ptrace stops (false once it is gone).
 */
#define MEMLEAK_NR_PROBES 10
struct memleak_bpf;
struct bpf_link;
struct usyms;
int memleak_find_libc(int pid, char *out, size_t len);
int memleak_attach(struct memleak_bpf *skel, int pid, const char *libc, struct bpf_link **links);
int memleak_start_command(char **argv);
bool memleak_child_poll(int pid, struct usyms *us, int *exit_code);

/* Offset of a per-CPU variable in vmlinux BTF's .data..percpu; 0 or -errno. */
int bv_percpu_var_offset(const char *name, long long *off);
/* this_cpu_off - runqueues in the per-CPU area (0 when unknown): see bpf/pcpu.bpf.h. */
long long bv_rq_to_cpu_off(void);

/* "GFP_KERNEL|__GFP_ZERO": composite names first, then single bits, then hex. */
char *bv_gfp_names(unsigned long long gfp, char *buf, size_t len);

/* Nodes under /sys/devices/system/node (at most BV_MAX_NODES), 1 without NUMA. */
int bv_possible_nodes(void);

#endif
