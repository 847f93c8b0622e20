/*
 * Exact values of the kernel's per-CPU counters (struct percpu_counter).
 * /proc/PID/status prints the summed counter (get_mm_counter_sum, 6.16+),
 * so the central `.count` alone can lag by up to batch x CPUs pages.
 *
 * Summing needs __per_cpu_offset[cpu], which this kernel hides: it is not
 * in BTF and kallsyms has no data symbols, so typed ksyms fail. Each CPU's
 * offset is learned instead from that CPU's runqueue: rq (a real address,
 * reached through a task's cfs_rq) is the per-CPU `runqueues` of the CPU,
 * and that CPU's `this_cpu_off` (holding the offset) sits at a fixed
 * distance from it, which user space reads from the .data..percpu section
 * of vmlinux BTF (pcpu_rq_to_off). The section base cancels out.
 */
#ifndef BPF_PCPU_BPF_H
#define BPF_PCPU_BPF_H

/* Set by user space before load: possible CPUs (0 = read `.count` only). */
const volatile __u32 pcpu_nr_cpus = 0;
const volatile __s64 pcpu_rq_to_off = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BV_MAX_CPUS);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_offsets SEC(".maps");

/* Learn this CPU's per-CPU offset once, from a task that just ran here. */
static __always_inline void pcpu_learn(struct task_struct *t)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct cfs_rq *cfs;
	__u64 *slot, off = 0;
	struct rq *rq;

	if (!pcpu_nr_cpus || !pcpu_rq_to_off)
		return;
	slot = bpf_map_lookup_elem(&pcpu_offsets, &cpu);
	if (!slot || *slot)
		return;
	cfs = BPF_CORE_READ(t, se.cfs_rq);
	if (!cfs)
		return;
	rq = BPF_CORE_READ(cfs, rq);
	if (!rq || BPF_CORE_READ(rq, cpu) != (int)cpu)
		return;
	if (bpf_probe_read_kernel(&off, sizeof(off), (void *)rq + pcpu_rq_to_off))
		return;
	*slot = off;
}

/* Sum of a percpu_counter; *partial is set when some CPU's offset is not known yet. */
static __always_inline __s64 pcpu_counter_sum(struct percpu_counter *fbc, bool *partial)
{
	__s64 sum = BPF_CORE_READ(fbc, count);
	void *counters = BPF_CORE_READ(fbc, counters);
	__u32 cpu;

	if (!counters || !pcpu_nr_cpus)
		return sum;
	for (cpu = 0; cpu < BV_MAX_CPUS; cpu++) {
		__u64 *off;
		__s32 c = 0;

		if (cpu >= pcpu_nr_cpus)
			break;
		off = bpf_map_lookup_elem(&pcpu_offsets, &cpu);
		if (!off || !*off) {
			*partial = true;
			continue;
		}
		bpf_probe_read_kernel(&c, sizeof(c), counters + *off);
		sum += c;
	}
	return sum;
}

#endif
