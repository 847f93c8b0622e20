// SPDX-License-Identifier: GPL-2.0
/*
 * pr: page reclaim passes. A pass opens at the direct/memcg/node reclaim
 * begin event of a task, gathers the task's shrink_inactive batches
 * (scanned, reclaimed, dirty, unqueued dirty, congested, writeback,
 * immediate) and is sent to user space at the matching end event with the
 * pass's own nr_reclaimed. Batches outside a pass (kswapd) are sent one by
 * one as BV_RC_LRU.
 *
 * nr_to_reclaim lives in struct scan_control, which no tracepoint passes:
 * only the kprobe on shrink_folio_list (where kprobes exist) can fill it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "bpfview_shared.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct bv_reclaim);
} passes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Events the ring could not take: reported, never silent. */
__u64 lost;

static __always_inline void begin(__u32 type, int order, gfp_t gfp)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct bv_reclaim r = {};

	r.type = type;
	r.order = order;
	r.gfp = gfp;
	r.nr_to_reclaim = -1;
	r.time_ns = bpf_ktime_get_ns();
	r.pid = tid;
	bpf_get_current_comm(&r.comm, sizeof(r.comm));
	bpf_map_update_elem(&passes, &tid, &r, BPF_ANY);
}

static __always_inline void emit(struct bv_reclaim *r)
{
	if (bpf_ringbuf_output(&events, r, sizeof(*r), 0))
		__sync_fetch_and_add(&lost, 1);
}

static __always_inline void end(unsigned long nr_reclaimed)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct bv_reclaim *r = bpf_map_lookup_elem(&passes, &tid);

	if (!r)
		return;
	r->nr_reclaimed = nr_reclaimed;
	r->duration_ns = bpf_ktime_get_ns() - r->time_ns;
	emit(r);
	bpf_map_delete_elem(&passes, &tid);
}

SEC("tp_btf/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(direct_begin, int order, gfp_t gfp)
{
	begin(BV_RC_DIRECT, order, gfp);
	return 0;
}

SEC("tp_btf/mm_vmscan_direct_reclaim_end")
int BPF_PROG(direct_end, unsigned long nr_reclaimed)
{
	end(nr_reclaimed);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(memcg_begin, int order, gfp_t gfp)
{
	begin(BV_RC_MEMCG, order, gfp);
	return 0;
}

SEC("tp_btf/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(memcg_end, unsigned long nr_reclaimed)
{
	end(nr_reclaimed);
	return 0;
}

SEC("tp_btf/mm_vmscan_node_reclaim_begin")
int BPF_PROG(node_begin, int nid, int order, gfp_t gfp)
{
	begin(BV_RC_NODE, order, gfp);
	return 0;
}

SEC("tp_btf/mm_vmscan_node_reclaim_end")
int BPF_PROG(node_end, unsigned long nr_reclaimed)
{
	end(nr_reclaimed);
	return 0;
}

static __noinline void add_batch(struct bv_reclaim *r, unsigned long nr_scanned,
				 unsigned long nr_reclaimed, struct reclaim_stat *stat)
{
	if (!r)
		return;
	r->nr_batches++;
	r->nr_scanned += nr_scanned;
	r->lru_reclaimed += nr_reclaimed;
	r->nr_dirty += BPF_CORE_READ(stat, nr_dirty);
	r->nr_unqueued_dirty += BPF_CORE_READ(stat, nr_unqueued_dirty);
	r->nr_congested += BPF_CORE_READ(stat, nr_congested);
	r->nr_writeback += BPF_CORE_READ(stat, nr_writeback);
	r->nr_immediate += BPF_CORE_READ(stat, nr_immediate);
}

SEC("tp_btf/mm_vmscan_lru_shrink_inactive")
int BPF_PROG(shrink_inactive, int nid, unsigned long nr_scanned, unsigned long nr_reclaimed,
	     struct reclaim_stat *stat, int priority, int file)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct bv_reclaim *r = bpf_map_lookup_elem(&passes, &tid);
	struct bv_reclaim one = {};

	if (r) {
		add_batch(r, nr_scanned, nr_reclaimed, stat);
		return 0;
	}
	/* kswapd or any reclaim without a begin event: one row per batch. */
	one.type = BV_RC_LRU;
	one.nr_to_reclaim = -1;
	one.time_ns = bpf_ktime_get_ns();
	one.pid = tid;
	one.nr_reclaimed = nr_reclaimed;
	bpf_get_current_comm(&one.comm, sizeof(one.comm));
	add_batch(&one, nr_scanned, nr_reclaimed, stat);
	emit(&one);
	return 0;
}

/* The seed's hook: scan_control carries nr_to_reclaim. Kernels with kprobes only. */
SEC("kprobe/shrink_folio_list")
int BPF_KPROBE(on_shrink_folio_list, void *folio_list, struct pglist_data *pgdat, struct scan_control *sc)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct bv_reclaim *r = bpf_map_lookup_elem(&passes, &tid);

	if (r)
		r->nr_to_reclaim = BPF_CORE_READ(sc, nr_to_reclaim);
	return 0;
}
