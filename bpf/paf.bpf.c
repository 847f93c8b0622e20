// SPDX-License-Identifier: GPL-2.0
/*
 * paf: page allocation and free-memory pressure.
 *  - `zones_snapshot` (raw_tp, run by user space each interval): every
 *    zone's watermarks, present/managed/spanned and free pages, read from
 *    the node descriptors (see node.bpf.h);
 *  - tp_btf/mm_page_alloc: allocations by gfp mask; a NULL page is a failed
 *    allocation (the event fires after the slow path gave up);
 *  - direct reclaim, compaction attempts and kswapd wakeups as pressure counts.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "bpfview_shared.h"
#include "node.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct bv_zones zones;
__u64 pressure[BV_NR_PRESSURE];

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct bv_gfp_stat);
} gfps SEC(".maps");

static __always_inline void read_zone(struct zone *z, struct bv_zone *out, __u32 nid)
{
	__u32 free_idx = bpf_core_enum_value(enum zone_stat_item, NR_FREE_PAGES);
	__u64 boost = BPF_CORE_READ(z, watermark_boost);
	const char *name = BPF_CORE_READ(z, name);

	out->node = nid;
	out->wmark_min = BPF_CORE_READ(z, _watermark[WMARK_MIN]) + boost;
	out->wmark_low = BPF_CORE_READ(z, _watermark[WMARK_LOW]) + boost;
	out->wmark_high = BPF_CORE_READ(z, _watermark[WMARK_HIGH]) + boost;
	out->present = BPF_CORE_READ(z, present_pages);
	out->spanned = BPF_CORE_READ(z, spanned_pages);
	out->managed = BPF_CORE_READ(z, managed_pages.counter);
	out->populated = out->present != 0;
	out->free = read_stat(z, bpf_core_field_offset(struct zone, vm_stat), free_idx);
	bpf_probe_read_kernel_str(out->name, sizeof(out->name), name);
}

SEC("raw_tp")
int zones_snapshot(void *ctx)
{
	__u32 zsize = bpf_core_type_size(struct zone);
	__u32 zbase = bpf_core_field_offset(struct pglist_data, node_zones);
	__u32 nz = bpf_core_field_size(struct pglist_data, node_zones) / (zsize ? zsize : 1);
	__u32 nid, i, n = 0;

	for (nid = 0; nid < BV_MAX_NODES && nid < nr_nodes; nid++) {
		struct pglist_data *pgdat = node_pgdat(nid);

		if (!pgdat)
			continue;
		for (i = 0; i < BV_MAX_ZONES && i < nz; i++) {
			if (n >= BV_MAX_NODES * BV_MAX_ZONES)
				break;
			read_zone((void *)pgdat + zbase + i * zsize, &zones.z[n], nid);
			n++;
		}
	}
	zones.nr = n;
	zones.seq++;
	return n ? 0 : -1;
}

SEC("tp_btf/mm_page_alloc")
int BPF_PROG(on_page_alloc, struct page *page, unsigned int order, gfp_t gfp)
{
	__u32 key = gfp;
	struct bv_gfp_stat *s = bpf_map_lookup_elem(&gfps, &key);

	if (!s) {
		struct bv_gfp_stat zero = {};

		bpf_map_update_elem(&gfps, &key, &zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&gfps, &key);
		if (!s)
			return 0;
	}
	__sync_fetch_and_add(&s->allocs, 1);
	if (!page) {
		__sync_fetch_and_add(&s->failed, 1);
		__sync_fetch_and_add(&pressure[BV_PR_FAILED], 1);
	} else {
		__sync_fetch_and_add(&s->pages, 1ull << order);
	}
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(on_direct_reclaim, int order, gfp_t gfp)
{
	__sync_fetch_and_add(&pressure[BV_PR_DIRECT_RECLAIM], 1);
	return 0;
}

SEC("tp_btf/mm_compaction_try_to_compact_pages")
int BPF_PROG(on_compact, int order, gfp_t gfp, int prio)
{
	__sync_fetch_and_add(&pressure[BV_PR_COMPACT], 1);
	return 0;
}

SEC("tp_btf/mm_vmscan_wakeup_kswapd")
int BPF_PROG(on_kswapd_wake, int nid, int zid, int order, gfp_t gfp)
{
	__sync_fetch_and_add(&pressure[BV_PR_KSWAPD_WAKE], 1);
	return 0;
}
