# BPF views: compile bpf/*.bpf.c with clang against a vmlinux.h dumped from
# the running kernel's BTF, wrap each object in a libbpf skeleton, and make
# the user-space halves (profilers/<view>.c) depend on their skeleton.
BPF_CLANG   ?= clang
BPFTOOL     ?= bpftool
BPF_OUT     := bpf/.output
BPF_VMLINUX ?= /sys/kernel/btf/vmlinux
BPF_ARCH    := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CFLAGS  := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -I$(BPF_OUT) -Ibpf -Wall -Werror

BPF_PROGS   := $(patsubst bpf/%.bpf.c,%,$(wildcard bpf/*.bpf.c))
BPF_SKELS   := $(patsubst %,$(BPF_OUT)/%.skel.h,$(BPF_PROGS))

CFLAGS      += -I$(BPF_OUT)
# Shared user-space helpers of the views (not matched by profilers/*.c).
BPF_OBJS    += bpf/bpfview.o

$(BPF_OUT):
	mkdir -p $@

# One vmlinux.h per build tree; CO-RE relocations make the objects portable.
$(BPF_OUT)/vmlinux.h: | $(BPF_OUT)
	@test -r $(BPF_VMLINUX) || { echo "bpf.mk: $(BPF_VMLINUX) missing: the kernel needs CONFIG_DEBUG_INFO_BTF=y" >&2; exit 1; }
	$(BPFTOOL) btf dump file $(BPF_VMLINUX) format c > $@.tmp && mv $@.tmp $@

$(BPF_OUT)/%.bpf.o: bpf/%.bpf.c bpf/bpfview_shared.h $(wildcard bpf/*.bpf.h) $(BPF_OUT)/vmlinux.h | $(BPF_OUT)
	$(BPF_CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BPF_OUT)/%.skel.h: $(BPF_OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# Each view's user half includes its skeleton.
$(foreach p,$(BPF_PROGS),$(eval profilers/$(p).o: $(BPF_OUT)/$(p).skel.h))
profilers/mem_watcher.o: $(BPF_SKELS)
# kmemsnoop --user reads the memleak uprobes' event ring buffer.
profilers/kmemsnoop.o: $(BPF_OUT)/memleak.skel.h
bpf/bpfview.o: bpf/bpfview.c bpf/bpfview.h

# Helper programs of the BPF view tests (debug info on: memleak resolves file:line).
BPF_TEST_BINS := tests/bpfhelpers/leaker tests/bpfhelpers/memtouch
tests/bpfhelpers/%: tests/bpfhelpers/%.c
	$(CC) -O0 -g -Wall -Wextra -Werror -std=c11 -D_GNU_SOURCE -fno-omit-frame-pointer -o $@ $<
all: $(BPF_TEST_BINS)

.PRECIOUS: $(BPF_OUT)/%.bpf.o

bpf-clean:
	rm -rf $(BPF_OUT) $(BPF_TEST_BINS)
.PHONY: bpf-clean
