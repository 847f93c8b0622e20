# The expression language: sources are picked up by the Makefile's
# LIB_SRCS (expr/*.c -> libperfprof.a). This adds its micro-benchmark.
# `make expr-bench` builds and runs it on the formats in tests/unit/formats.
bench/expr_bench: bench/expr_bench.c libperfprof.a
	$(CC) $(CFLAGS) -o $@ $< libperfprof.a $(LDLIBS)

expr-bench: bench/expr_bench
	./bench/expr_bench tests/unit/formats 1

.PHONY: expr-bench

# `make clean` also removes what this file and fuzz/fuzz.mk build.
expr-clean:
	rm -rf bench/expr_bench fuzz/out

clean: expr-clean
.PHONY: expr-clean
