// SPDX-License-Identifier: GPL-2.0
/*
 * memleak (user space): uprobes on the C library's allocator. Each live
 * allocation is kept by address with its size and the user stack of the
 * call site; frees remove it, and the per-stack aggregate (`combined`)
 * always holds what is outstanding.
 *
 * The stack is taken at the return probe: there the instruction pointer is
 * the call site inside the caller and the frame pointer chain starts at the
 * caller, while at entry the caller's own frame would be skipped.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "bpfview_shared.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_STACK_DEPTH 127

/* Allocations not taken because a map was full; reported, never silent. */
__u64 dropped;
/* Events lost because the ring buffer was full (events mode). */
__u64 lost_events;

/*
 * Events mode (kmemsnoop --user): every malloc/free goes to user space
 * through `events` and the per-address and per-stack maps stay unused, so
 * the consumer keeps the only live table. Set before load.
 */
const volatile bool emit_events = false;

/* Events mode: the block each thread last freed, to spot free()'s own munmap. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);       /* tid */
	__type(value, __u64);     /* freed address */
} freeing SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 16);  /* resized by the consumer before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);       /* tid */
	__type(value, __u64);     /* requested size */
} sizes SEC(".maps");

/* mmap has its own: a large malloc calls mmap between malloc's entry and return. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} mmap_sizes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, __u64);       /* address */
	__type(value, struct bv_alloc);
} allocs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);       /* stack id */
	__type(value, struct bv_combined);
} combined SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
} stack_traces SEC(".maps");

static __always_inline int emit(__u32 op, __u64 addr, __u64 size)
{
	struct bv_uevent *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	__u64 id = bpf_get_current_pid_tgid();

	if (!ev) {
		__sync_fetch_and_add(&lost_events, 1);
		return 0;
	}
	ev->time_ns = bpf_ktime_get_ns();
	ev->addr = addr;
	ev->size = size;
	ev->pid = (__u32)(id >> 32);
	ev->tid = (__u32)id;
	ev->op = op;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

static __always_inline int enter(void *size_map, __u64 size)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(size_map, &tid, &size, BPF_ANY);
	return 0;
}

static __always_inline int leave(struct pt_regs *ctx, void *size_map, __u64 addr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct bv_alloc a = {};
	struct bv_combined *c;
	__u64 *size = bpf_map_lookup_elem(size_map, &tid);

	if (!size)
		return 0;
	a.size = *size;
	bpf_map_delete_elem(size_map, &tid);
	if (!addr)
		return 0;
	if (emit_events)
		return emit(BV_UEV_ALLOC, addr, a.size);
	a.time_ns = bpf_ktime_get_ns();
	a.stack_id = bpf_get_stackid(ctx, &stack_traces, BPF_F_USER_STACK);
	if (bpf_map_update_elem(&allocs, &addr, &a, BPF_ANY)) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	c = bpf_map_lookup_elem(&combined, &a.stack_id);
	if (!c) {
		struct bv_combined zero = {};

		bpf_map_update_elem(&combined, &a.stack_id, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&combined, &a.stack_id);
		if (!c)
			return 0;
	}
	__sync_fetch_and_add(&c->total_size, a.size);
	__sync_fetch_and_add(&c->nr_allocs, 1);
	return 0;
}

static __always_inline int release(__u64 addr)
{
	struct bv_alloc *a;
	struct bv_combined *c;

	/* free(NULL) frees nothing. */
	if (emit_events)
		return addr ? emit(BV_UEV_FREE, addr, 0) : 0;
	a = bpf_map_lookup_elem(&allocs, &addr);
	if (!a)
		return 0;
	c = bpf_map_lookup_elem(&combined, &a->stack_id);
	if (c) {
		__sync_fetch_and_sub(&c->total_size, a->size);
		__sync_fetch_and_sub(&c->nr_allocs, 1);
	}
	bpf_map_delete_elem(&allocs, &addr);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(malloc_enter, size_t size)
{
	return enter(&sizes, size);
}

SEC("uretprobe")
int BPF_KRETPROBE(malloc_exit, void *ret)
{
	return leave(ctx, &sizes, (__u64)ret);
}

SEC("uprobe")
int BPF_KPROBE(calloc_enter, size_t n, size_t size)
{
	return enter(&sizes, (__u64)n * size);
}

SEC("uretprobe")
int BPF_KRETPROBE(calloc_exit, void *ret)
{
	return leave(ctx, &sizes, (__u64)ret);
}

SEC("uprobe")
int BPF_KPROBE(realloc_enter, void *ptr, size_t size)
{
	release((__u64)ptr);
	return enter(&sizes, size);
}

SEC("uretprobe")
int BPF_KRETPROBE(realloc_exit, void *ret)
{
	return leave(ctx, &sizes, (__u64)ret);
}

SEC("uprobe")
int BPF_KPROBE(free_enter, void *ptr)
{
	if (emit_events && ptr) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		__u64 p = (__u64)ptr;

		bpf_map_update_elem(&freeing, &tid, &p, BPF_ANY);
	}
	return release((__u64)ptr);
}

SEC("uprobe")
int BPF_KPROBE(mmap_enter, void *addr, size_t len)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	/*
	 * Events mode counts each block once: an mmap made by malloc for a large
	 * block is part of that malloc (this thread is between its entry and return).
	 */
	if (emit_events && bpf_map_lookup_elem(&sizes, &tid))
		return 0;
	return enter(&mmap_sizes, len);
}

SEC("uretprobe")
int BPF_KRETPROBE(mmap_exit, void *ret)
{
	/* MAP_FAILED is (void *)-1. */
	return leave(ctx, &mmap_sizes, (long)ret == -1 ? 0 : (__u64)ret);
}

SEC("uprobe")
int BPF_KPROBE(munmap_enter, void *addr, size_t len)
{
	if (emit_events) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		__u64 *p = bpf_map_lookup_elem(&freeing, &tid), a = (__u64)addr;

		/* free() of a large block unmaps the range around it: already a free. */
		if (p && *p > a && *p < a + len) {
			bpf_map_delete_elem(&freeing, &tid);
			return 0;
		}
	}
	return release((__u64)addr);
}
