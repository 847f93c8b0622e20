// SPDX-License-Identifier: GPL-2.0
/*
 * sysstat: the node counters behind /proc/meminfo (LRU lists, dirty,
 * writeback, mapped, shmem, slab, THP), read from each node's vm_stat.
 *
 * `snapshot` is a raw_tp program user space runs with BPF_PROG_TEST_RUN at
 * every interval, so a sample costs nothing between intervals and is taken
 * at the moment of the report. Where test runs are refused, `on_page_alloc`
 * (tp_btf/mm_page_alloc, the seed's allocation-time sampling) refreshes the
 * same snapshot instead.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "bpfview_shared.h"
#include "node.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Gone in 6.16 (the FUSE temp writeback pages); looked up by name, CO-RE style. */
enum node_stat_item___wbtmp { NR_WRITEBACK_TEMP = 1 };
/* Renamed over time; the current names are in vmlinux.h. */

struct bv_nodestat snap;

static __always_inline int item(int which)
{
	switch (which) {
	case BV_NS_ACTIVE_ANON: return bpf_core_enum_value(enum node_stat_item, NR_ACTIVE_ANON);
	case BV_NS_INACTIVE_ANON: return bpf_core_enum_value(enum node_stat_item, NR_INACTIVE_ANON);
	case BV_NS_ACTIVE_FILE: return bpf_core_enum_value(enum node_stat_item, NR_ACTIVE_FILE);
	case BV_NS_INACTIVE_FILE: return bpf_core_enum_value(enum node_stat_item, NR_INACTIVE_FILE);
	case BV_NS_UNEVICTABLE: return bpf_core_enum_value(enum node_stat_item, NR_UNEVICTABLE);
	case BV_NS_FILE_DIRTY: return bpf_core_enum_value(enum node_stat_item, NR_FILE_DIRTY);
	case BV_NS_WRITEBACK: return bpf_core_enum_value(enum node_stat_item, NR_WRITEBACK);
	case BV_NS_ANON_MAPPED: return bpf_core_enum_value(enum node_stat_item, NR_ANON_MAPPED);
	case BV_NS_FILE_MAPPED: return bpf_core_enum_value(enum node_stat_item, NR_FILE_MAPPED);
	case BV_NS_SHMEM: return bpf_core_enum_value(enum node_stat_item, NR_SHMEM);
	case BV_NS_SLAB_RECL: return bpf_core_enum_value(enum node_stat_item, NR_SLAB_RECLAIMABLE_B);
	case BV_NS_SLAB_UNRECL: return bpf_core_enum_value(enum node_stat_item, NR_SLAB_UNRECLAIMABLE_B);
	case BV_NS_KERNEL_MISC_RECL: return bpf_core_enum_value(enum node_stat_item, NR_KERNEL_MISC_RECLAIMABLE);
	case BV_NS_WRITEBACK_TEMP:
		if (!bpf_core_enum_value_exists(enum node_stat_item___wbtmp, NR_WRITEBACK_TEMP))
			return -1;
		return bpf_core_enum_value(enum node_stat_item___wbtmp, NR_WRITEBACK_TEMP);
	case BV_NS_ANON_THPS: return bpf_core_enum_value(enum node_stat_item, NR_ANON_THPS);
	case BV_NS_SHMEM_THPS: return bpf_core_enum_value(enum node_stat_item, NR_SHMEM_THPS);
	case BV_NS_FILE_PAGES: return bpf_core_enum_value(enum node_stat_item, NR_FILE_PAGES);
	}
	return -1;
}

static __always_inline int take_snapshot(void)
{
	__u32 base = bpf_core_field_offset(struct pglist_data, vm_stat);
	struct bv_nodestat s = {};
	__u32 nid, n = 0;
	int i;

	for (nid = 0; nid < BV_MAX_NODES; nid++) {
		struct pglist_data *pgdat;

		if (nid >= nr_nodes)
			break;
		pgdat = node_pgdat(nid);
		if (!pgdat)
			continue;
		n++;
		for (i = 0; i < BV_NR_NS; i++) {
			int idx = item(i);

			if (idx < 0)
				s.missing |= 1u << i;
			else
				s.v[i] += read_stat(pgdat, base, idx);
		}
	}
	if (!n)
		return -1;
	s.nr_nodes = n;
	s.time_ns = bpf_ktime_get_ns();
	s.seq = snap.seq + 1;
	/* Copy field by field is not needed: readers take the whole struct after seq. */
	__builtin_memcpy(&snap, &s, sizeof(s));
	return 0;
}

SEC("raw_tp")
int snapshot(void *ctx)
{
	return take_snapshot();
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(on_page_alloc, struct page *page, unsigned int order, gfp_t gfp)
{
	take_snapshot();
	return 0;
}
