# libFuzzer target for the expression language (clang only).
# `make fuzz` builds fuzz/out/expr_fuzz and runs it for FUZZ_TIME seconds
# from the seed corpus fuzz/corpus/ (read only); new inputs and any crash
# go to fuzz/out/ (ignored by git).
FUZZ_CC    ?= clang
FUZZ_TIME  ?= 60
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror \
	      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	      -I. -I/usr/include/traceevent
FUZZ_SRCS  := fuzz/expr_fuzz.c $(wildcard expr/*.c) lib/ksyms.c

fuzz/out/expr_fuzz: $(FUZZ_SRCS) $(wildcard expr/*.h) lib/ksyms.h
	@mkdir -p fuzz/out
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_SRCS) -ltraceevent

fuzz: fuzz/out/expr_fuzz
	@mkdir -p fuzz/out/corpus
	./fuzz/out/expr_fuzz -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
		-artifact_prefix=fuzz/out/ fuzz/out/corpus fuzz/corpus

.PHONY: fuzz
