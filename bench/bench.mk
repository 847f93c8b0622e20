# Benchmark and end-to-end test helpers (owned by bench/), included by the Makefile.
#
# tests/helpers/*.c are tiny programs the e2e tests trace. They are built
# without optimisation, with debug info and frame pointers, so user
# callchains and file:line lookups in the tests are exact.
TEST_HELPERS := $(patsubst %.c,%,$(wildcard tests/helpers/*.c))
HELPERS += $(TEST_HELPERS)

HELPER_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O0 -fno-omit-frame-pointer -Wall -Wextra -Werror

tests/helpers/%: tests/helpers/%.c
	$(CC) $(HELPER_CFLAGS) -o $@ $<
