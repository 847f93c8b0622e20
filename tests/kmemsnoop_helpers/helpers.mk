# kmemsnoop's e2e helper programs (owned by kmemsnoop), included by the Makefile.
KMEMSNOOP_HELPERS := $(patsubst %.c,%,$(wildcard tests/kmemsnoop_helpers/*.c))
HELPERS += $(KMEMSNOOP_HELPERS)

tests/kmemsnoop_helpers/%: tests/kmemsnoop_helpers/%.c
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -o $@ $<
