// SPDX-License-Identifier: GPL-2.0
/*
 * procstat: the memory counters of a process's mm, sampled when one of its
 * threads is switched out (the mm is stable while the task is off-CPU), and
 * refreshed by kmem:rss_stat whenever an RSS counter moves.
 *
 * Three entry points, picked by user space before load:
 *   kprobe/finish_task_switch  the seed's hook, only where kprobes exist;
 *   tp_btf/sched_switch        the default here (prev is the task leaving);
 *   tp_btf/rss_stat            event-driven complement.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "bpfview_shared.h"
#include "pcpu.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * A busy task is switched out thousands of times a second; re-reading its mm
 * more often than this (ns) buys nothing for a report every interval.
 * rss_stat and snapshots ignore it: they are the exact-value paths.
 */
const volatile __u64 switch_gap_ns = 0;

/* True when -p gave pids: then only tgids present in `targets` are kept. */
const volatile bool filter_pids = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct bv_procmem);
} procs SEC(".maps");

/* A scratch value: too big for the 512-byte BPF stack together with the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bv_procmem);
} scratch SEC(".maps");

static __always_inline void sample_task(struct task_struct *task, __u32 source)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	struct bv_procmem *m, *old;
	__u32 tgid, zero = 0;
	int i;

	/* Kernel threads have no mm; exiting tasks have dropped theirs. */
	if (!mm)
		return;
	tgid = BPF_CORE_READ(task, tgid);
	if (filter_pids && !bpf_map_lookup_elem(&targets, &tgid))
		return;
	if (switch_gap_ns && (source == BV_SRC_SWITCH || source == BV_SRC_KPROBE)) {
		old = bpf_map_lookup_elem(&procs, &tgid);
		if (old && bpf_ktime_get_ns() - old->time_ns < switch_gap_ns)
			return;
	}
	m = bpf_map_lookup_elem(&scratch, &zero);
	if (!m)
		return;
	m->time_ns = bpf_ktime_get_ns();
	m->pid = tgid;
	m->source = source;
	m->total_vm = BPF_CORE_READ(mm, total_vm);
	m->data_vm = BPF_CORE_READ(mm, data_vm);
	m->stack_vm = BPF_CORE_READ(mm, stack_vm);
	m->pgtables_bytes = BPF_CORE_READ(mm, pgtables_bytes.counter);
	m->partial = 0;
	for (i = 0; i < BV_NR_RSS; i++) {
		bool partial = false;
		__s64 v = pcpu_counter_sum(&mm->rss_stat[i], &partial);

		m->partial |= partial;

		m->rss[i] = v < 0 ? 0 : v;
	}
	/* The group leader's comm names the process, like /proc/PID/status. */
	BPF_CORE_READ_STR_INTO(&m->comm, task, group_leader, comm);
	old = bpf_map_lookup_elem(&procs, &tgid);
	m->seq = old ? old->seq + 1 : 1;
	bpf_map_update_elem(&procs, &tgid, m, BPF_ANY);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	pcpu_learn(prev);
	sample_task(prev, BV_SRC_SWITCH);
	return 0;
}

SEC("kprobe/finish_task_switch")
int BPF_KPROBE(on_finish_task_switch, struct task_struct *prev)
{
	pcpu_learn(prev);
	sample_task(prev, BV_SRC_KPROBE);
	return 0;
}

/* rss_stat fires in the context of the task whose counter moved (mostly current). */
SEC("tp_btf/rss_stat")
int BPF_PROG(on_rss_stat, struct mm_struct *mm, int member)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (BPF_CORE_READ(task, mm) != mm)
		return 0;
	sample_task(task, BV_SRC_RSS_STAT);
	return 0;
}

/*
 * First sample of each -p target, run by user space (BPF_PROG_TEST_RUN)
 * so a process that sleeps through the first interval still gets a row.
 */
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

struct snap_args {
	__s32 pid;
};

SEC("syscall")
int snapshot_pid(struct snap_args *args)
{
	struct task_struct *task = bpf_task_from_pid(args->pid);

	if (!task)
		return -1;
	sample_task(task, BV_SRC_SNAPSHOT);
	bpf_task_release(task);
	return 0;
}
