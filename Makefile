# perf-prof build. `make` builds ./perf-prof; see README.md for the rest.
CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I. -I/usr/include/traceevent
LDLIBS  += -ltraceevent -lelf -ldw -lbpf -lprotobuf-c -lz -lm
PYTHON  := /usr/bin/python3

# Debian packages the build, the demo and the tests need (make deps).
DEB_PKGS := gcc make pkg-config libtraceevent-dev libelf-dev libdw-dev zlib1g-dev \
	    libbpf-dev bpftool clang llvm libcmocka-dev python3-pytest linux-perf time \
	    libprotobuf-c-dev protobuf-c-compiler golang-go
# golang-go: only the e2e tests use it (`go tool pprof` reads our --format pprof files).

# pprof output: C generated at build time from our profile.proto subset.
PPROF_GEN := lib/pprof/profile.pb-c.c lib/pprof/profile.pb-c.h
LIB_SRCS := $(wildcard lib/*.c) $(wildcard expr/*.c) $(wildcard filter/*.c) \
	    $(filter-out lib/pprof/profile.pb-c.c,$(wildcard lib/pprof/*.c)) lib/pprof/profile.pb-c.c
PROF_SRCS := $(wildcard profilers/*.c)
LIB_OBJS := $(LIB_SRCS:.c=.o)
PROF_OBJS := $(PROF_SRCS:.c=.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:.c=)

all: perf-prof bench/loadgen helpers

# BPF views add their skeleton rules and objects here (owned by bpf/).
BPF_OBJS :=
-include bpf/bpf.mk
# The expression language and fuzzing add their rules here (owned by expr/ and fuzz/).
-include expr/expr.mk
-include fuzz/fuzz.mk
# Small programs the e2e tests and benchmarks run; owned sub-makefiles add to HELPERS.
HELPERS :=
-include bench/bench.mk
-include tests/kmemsnoop_helpers/helpers.mk
helpers: $(HELPERS)

perf-prof: perf-prof.o $(PROF_OBJS) $(BPF_OBJS) libperfprof.a
	$(CC) $(CFLAGS) -o $@ perf-prof.o $(PROF_OBJS) $(BPF_OBJS) libperfprof.a $(LDLIBS)

libperfprof.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

%.o: %.c
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

%.pb-c.c %.pb-c.h: %.proto
	protoc-c --c_out=. $<

lib/pprof/pprof.o: lib/pprof/profile.pb-c.h

-include $(wildcard *.d lib/*.d lib/pprof/*.d expr/*.d filter/*.d profilers/*.d tests/unit/*.d bench/*.d)

bench/loadgen: bench/loadgen.c
	$(CC) $(CFLAGS) -o $@ $< -lpthread

tests/unit/test_%: tests/unit/test_%.c libperfprof.a
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< libperfprof.a $(LDLIBS) -lcmocka

deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

tracefs:
	@mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; ./$$t; done

e2e: all tracefs
	$(PYTHON) -m pytest -q tests/e2e

test: deps
	$(MAKE) all $(UNIT_BINS)
	$(MAKE) unit
	$(MAKE) e2e

DEMO_CMD ?= ./perf-prof kmemprof -e "kmem:kmalloc//size=bytes_alloc/stack/" -e "kmem:kfree//stack/" -k ptr --order -m 256 --top 5 -- bench/loadgen --mode pipe --workers 2 --duration 5
demo: deps
	$(MAKE) all
	$(MAKE) tracefs
	$(DEMO_CMD)

bench: deps
	$(MAKE) all bench/expr_bench
	$(MAKE) tracefs
	bench/run.sh
	./bench/expr_bench tests/unit/formats 1
	bench/bpf_views.sh

clean:
	rm -f perf-prof libperfprof.a bench/loadgen $(HELPERS) $(UNIT_BINS) *.o *.d */*.o */*.d tests/unit/*.o tests/unit/*.d
	rm -f lib/pprof/*.o lib/pprof/*.d $(PPROF_GEN)
	rm -rf bpf/.output

.PHONY: all helpers deps tracefs unit e2e test demo bench clean
