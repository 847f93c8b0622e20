/*
 * Records shared by the BPF halves (bpf/<view>.bpf.c) and the user halves
 * (profilers/<view>.c) of the BPF views. Only fixed-size __u types: the
 * BPF side sees them through vmlinux.h, user space through linux/types.h.
 */
#ifndef BPF_BPFVIEW_SHARED_H
#define BPF_BPFVIEW_SHARED_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define BV_COMM_LEN 16
#define BV_MAX_CPUS 256  /* per-CPU counter sums walk at most this many CPUs */
#define BV_MAX_NODES 8
#define BV_MAX_ZONES 6

/* procstat: the mm of one process, as last seen when one of its threads left a CPU. */
enum { BV_RSS_FILE, BV_RSS_ANON, BV_SWAPENTS, BV_RSS_SHMEM, BV_NR_RSS };

struct bv_procmem {
	__u64 seq;             /* bumped on every update, lets user space spot fresh rows */
	__u64 time_ns;         /* bpf_ktime_get_ns() of the update */
	__u64 total_vm;        /* pages */
	__s64 rss[BV_NR_RSS];  /* pages, indexed like the kernel's MM_* counters */
	__u64 data_vm;         /* pages */
	__u64 stack_vm;        /* pages */
	__u64 pgtables_bytes;
	__u32 pid;
	__u16 source;          /* which program wrote it (BV_SRC_*) */
	__u16 partial;         /* some CPU's share of the RSS counters was not known yet */
	char comm[BV_COMM_LEN];
};

enum { BV_SRC_SWITCH = 1, BV_SRC_RSS_STAT = 2, BV_SRC_KPROBE = 3, BV_SRC_SNAPSHOT = 4 };

/* sysstat: node counters (pages), summed over nodes. */
enum {
	BV_NS_ACTIVE_ANON, BV_NS_INACTIVE_ANON, BV_NS_ACTIVE_FILE, BV_NS_INACTIVE_FILE,
	BV_NS_UNEVICTABLE, BV_NS_FILE_DIRTY, BV_NS_WRITEBACK, BV_NS_ANON_MAPPED,
	BV_NS_FILE_MAPPED, BV_NS_SHMEM, BV_NS_SLAB_RECL, BV_NS_SLAB_UNRECL,
	BV_NS_KERNEL_MISC_RECL, BV_NS_WRITEBACK_TEMP, BV_NS_ANON_THPS, BV_NS_SHMEM_THPS,
	BV_NS_FILE_PAGES, BV_NR_NS,
};

struct bv_nodestat {
	__u64 seq;
	__u64 time_ns;
	__u32 nr_nodes;
	__u32 missing;          /* bit per BV_NS_* the running kernel does not have */
	__s64 v[BV_NR_NS];
};

/* paf: one zone as /proc/zoneinfo shows it. */
struct bv_zone {
	char name[16];
	__u32 node;
	__u32 populated;
	__u64 wmark_min, wmark_low, wmark_high; /* watermark + boost, like min_wmark_pages() */
	__u64 present, managed, spanned;
	__s64 free;
};

struct bv_zones {
	__u64 seq;
	__u32 nr;
	__u32 pad;
	struct bv_zone z[BV_MAX_NODES * BV_MAX_ZONES];
};

/* paf: allocations aggregated by gfp mask. */
struct bv_gfp_stat {
	__u64 allocs;
	__u64 failed;      /* mm_page_alloc with no page */
	__u64 pages;       /* 1 << order summed over successful allocations */
};

/* paf: pressure events counted since start. */
enum { BV_PR_DIRECT_RECLAIM, BV_PR_COMPACT, BV_PR_KSWAPD_WAKE, BV_PR_FAILED, BV_NR_PRESSURE };

/* pr: one reclaim pass (or one kswapd/un-paired shrink_inactive batch). */
enum { BV_RC_DIRECT = 1, BV_RC_MEMCG, BV_RC_NODE, BV_RC_LRU };

struct bv_reclaim {
	__u64 time_ns;
	__u64 duration_ns;
	__s64 nr_to_reclaim;    /* -1: the kernel does not expose it on this path */
	__u64 nr_reclaimed;     /* of the whole pass (end event), or of the batch */
	__u64 lru_reclaimed;    /* sum over shrink_inactive batches of the pass */
	__u64 nr_scanned;
	__u64 nr_dirty, nr_unqueued_dirty, nr_congested, nr_writeback, nr_immediate;
	__u32 nr_batches;
	__u32 gfp;
	__u32 pid;
	__u32 type;             /* BV_RC_* */
	__s32 order;
	__u32 pad;
	char comm[BV_COMM_LEN];
};

/* memleak: one live allocation and the per-stack aggregate. */
struct bv_alloc {
	__u64 size;
	__u64 time_ns;
	__s64 stack_id;
};

struct bv_combined {
	__u64 total_size;
	__u64 nr_allocs;
};

/* memleak with events on (kmemsnoop --user): one malloc/free, in call order per thread. */
enum { BV_UEV_ALLOC = 1, BV_UEV_FREE = 2 };

struct bv_uevent {
	__u64 time_ns;          /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 addr;
	__u64 size;             /* 0 for a free */
	__u32 pid;              /* tgid */
	__u32 tid;
	__u32 op;               /* BV_UEV_* */
	__u32 pad;
};

#endif
