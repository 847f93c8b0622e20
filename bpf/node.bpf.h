/*
 * Finding the node descriptors (struct pglist_data) from BPF.
 *
 * The seed reached pgdat through get_page_from_freelist's alloc_context, a
 * kprobe this kernel cannot place; the global vm_node_stat/contig_page_data
 * are not reachable either (kallsyms carries no data symbols, BTF no global
 * variables). Every memory cgroup, however, keeps one lruvec per node and
 * each lruvec points at its node: current task -> its memory css ->
 * mem_cgroup->nodeinfo[nid]->lruvec.pgdat. That works in any context,
 * including a BPF_PROG_TEST_RUN from the profiler itself.
 */
#ifndef BPF_NODE_BPF_H
#define BPF_NODE_BPF_H

/* Set by user space: number of possible nodes (1 on non-NUMA). */
const volatile __u32 nr_nodes = 1;

static __always_inline struct pglist_data *node_pgdat(__u32 nid)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct cgroup_subsys_state *css;
	struct mem_cgroup_per_node *pn = NULL;
	struct mem_cgroup *memcg;

	if (id < 0 || id >= CGROUP_SUBSYS_COUNT)
		return NULL;
	css = BPF_CORE_READ(task, cgroups, subsys[id]);
	if (!css)
		return NULL;
	/* css is the first member of struct mem_cgroup. */
	memcg = (struct mem_cgroup *)css;
	bpf_probe_read_kernel(&pn, sizeof(pn), (void *)memcg +
			      bpf_core_field_offset(struct mem_cgroup, nodeinfo) + nid * sizeof(void *));
	if (!pn)
		return NULL;
	return BPF_CORE_READ(pn, lruvec.pgdat);
}

/* One atomic_long_t counter of an array field at CO-RE offset `base`. */
static __always_inline __s64 read_stat(const void *obj, __u32 base, int idx)
{
	__s64 v = 0;

	if (idx < 0)
		return 0;
	bpf_probe_read_kernel(&v, sizeof(v), obj + base + idx * sizeof(atomic_long_t));
	return v;
}

#endif
