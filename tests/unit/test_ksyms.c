/* Kernel symbol table (lib/ksyms.c): fixture file and the live kernel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/ksyms.h"

#ifndef KSYMS_FIXTURE
#define KSYMS_FIXTURE "tests/unit/data/kallsyms.txt"
#endif

static int load_fixture(void **state)
{
	(void)state;
	if (ksyms_load_file(KSYMS_FIXTURE)) {
		fprintf(stderr, "cannot load %s (run from the source root)\n", KSYMS_FIXTURE);
		return -1;
	}
	return 0;
}

static int unload(void **state)
{
	(void)state;
	ksyms_free();
	return 0;
}

static void assert_sym(uint64_t addr, const char *name, const char *module)
{
	const struct ksym *s = ksyms_find(addr);

	if (!s)
		fail_msg("0x%llx: no symbol, expected %s", (unsigned long long)addr, name);
	assert_string_equal(s->name, name);
	if (module)
		assert_string_equal(s->module, module);
	else
		assert_null(s->module);
}

static void test_find_exact_and_inside(void **state)
{
	(void)state;
	assert_sym(0xffffffff81001000, "do_one", NULL);
	assert_sym(0xffffffff81001fff, "do_one", NULL);
	assert_sym(0xffffffff81002000, "local_helper", NULL);
	assert_sym(0xffffffff81006010, "some_data", NULL);
}

static void test_find_below_first_is_null(void **state)
{
	(void)state;
	assert_null(ksyms_find(0xffffffff80ffffff));
	assert_null(ksyms_find(0x400000));
	/* Absolute symbols are not addresses: 0x1000 must not find one. */
	assert_null(ksyms_find(0x1000));
}

static void test_unsorted_input_and_modules(void **state)
{
	const struct ksym *a, *b;

	(void)state;
	assert_sym(0xffffffffc0a01010, "nf_hook_a", "nf_tables");
	assert_sym(0xffffffffc0a02abc, "nft_do_chain", "nf_tables");
	assert_sym(0xffffffffc0b00004, "tiny_init", "tiny");
	/* A module's name is interned: one string for all its symbols. */
	a = ksyms_find(0xffffffffc0a01000);
	b = ksyms_find(0xffffffffc0a03000);
	assert_ptr_equal(a->module, b->module);
	assert_string_equal(b->name, "nf_last");
}

static void test_alias_preference(void **state)
{
	(void)state;
	/* _text/_stext/startup_64 share an address: the name without '_' wins. */
	assert_sym(0xffffffff81000010, "startup_64", NULL);
	/* A global weak symbol beats a local alias with underscores. */
	assert_sym(0xffffffff81003000, "weak_fn", NULL);
}

static void test_end(void **state)
{
	const struct ksym *s;

	(void)state;
	s = ksyms_find(0xffffffff81000000);
	assert_int_equal(ksyms_end(s), 0xffffffff81001000);
	/* Duplicate lines do not make a zero-sized symbol. */
	s = ksyms_find(0xffffffff81001000);
	assert_int_equal(ksyms_end(s), 0xffffffff81002000);
	s = ksyms_find(0xffffffffc0b00000);
	assert_true(ksyms_end(s) == UINT64_MAX);
	assert_true(ksyms_end(NULL) == UINT64_MAX);
}

static void test_by_name(void **state)
{
	uint64_t start = 0, end = 0;

	(void)state;
	assert_int_equal(ksyms_by_name("local_helper", &start, &end), 0);
	assert_int_equal(start, 0xffffffff81002000);
	assert_int_equal(end, 0xffffffff81003000);
	assert_int_equal(ksyms_by_name("nft_do_chain", &start, &end), 0);
	assert_int_equal(start, 0xffffffffc0a02000);
	assert_int_equal(end, 0xffffffffc0a03000);
	assert_int_equal(ksyms_by_name("_text", &start, NULL), 0);
	assert_int_equal(start, 0xffffffff81000000);
	/* Two static functions of one name: the lowest address, stable. */
	assert_int_equal(ksyms_by_name("dup_static", &start, &end), 0);
	assert_int_equal(start, 0xffffffff81004000);
	assert_int_equal(end, 0xffffffff81005000);
	assert_int_equal(ksyms_by_name("no_such_fn", &start, &end), -1);
	assert_int_equal(ksyms_by_name("fixed_percpu_data", &start, &end), -1);
	assert_int_equal(ksyms_by_name("", &start, &end), -1);
	assert_int_equal(ksyms_by_name("do_on", &start, &end), -1);
}

static char *frame(uint64_t addr)
{
	static char buf[256];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	assert_non_null(f);
	ksyms_print_frame(f, addr);
	fclose(f);
	return buf;
}

static void test_print_frame(void **state)
{
	(void)state;
	assert_string_equal(frame(0xffffffff810011d0),
			    "    ffffffff810011d0 do_one+0x1d0 ([kernel.kallsyms])\n");
	assert_string_equal(frame(0xffffffff81001000),
			    "    ffffffff81001000 do_one+0x0 ([kernel.kallsyms])\n");
	assert_string_equal(frame(0xffffffffc0a02010),
			    "    ffffffffc0a02010 nft_do_chain+0x10 ([nf_tables])\n");
	assert_string_equal(frame(0x1234),
			    "    0000000000001234 [unknown] ([kernel.kallsyms])\n");
}

static void test_reload_replaces(void **state)
{
	(void)state;
	assert_int_equal(ksyms_load_file("/nonexistent/kallsyms"), -2 /* -ENOENT */);
	assert_null(ksyms_find(0xffffffff81001000));
	assert_int_equal(ksyms_load_file(KSYMS_FIXTURE), 0);
	assert_sym(0xffffffff81001000, "do_one", NULL);
}

/* The real table: a known symbol maps back to itself. */
static void test_live_kfree(void **state)
{
	unsigned long long addr = 0;
	char line[512], name[256], type;
	const struct ksym *s;
	uint64_t start, end;
	FILE *f;

	(void)state;
	ksyms_free();
	f = fopen("/proc/kallsyms", "r");
	if (!f)
		skip();
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
		    !strcmp(name, "kfree"))
			break;
	fclose(f);
	if (strcmp(name, "kfree") || !addr) {
		fprintf(stderr, "kfree not visible in /proc/kallsyms (not root?)\n");
		skip();
	}
	assert_int_equal(ksyms_load(), 0);
	s = ksyms_find(addr);
	assert_non_null(s);
	assert_string_equal(s->name, "kfree");
	assert_null(s->module);
	assert_string_equal(frame(addr + 0x10) + 21, "kfree+0x10 ([kernel.kallsyms])\n");
	assert_int_equal(ksyms_by_name("kfree", &start, &end), 0);
	assert_int_equal(start, addr);
	assert_true(end > start && end - start < 0x100000);
	/* Loading again is a no-op: the same table. */
	assert_int_equal(ksyms_load(), 0);
	assert_ptr_equal(ksyms_find(addr), s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_find_exact_and_inside, load_fixture, unload),
		cmocka_unit_test_setup_teardown(test_find_below_first_is_null, load_fixture, unload),
		cmocka_unit_test_setup_teardown(test_unsorted_input_and_modules, load_fixture, unload),
		cmocka_unit_test_setup_teardown(test_alias_preference, load_fixture, unload),
		cmocka_unit_test_setup_teardown(test_end, load_fixture, unload),
		cmocka_unit_test_setup_teardown(test_by_name, load_fixture, unload),
		cmocka_unit_test_setup_teardown(test_print_frame, load_fixture, unload),
		cmocka_unit_test_setup_teardown(test_reload_replaces, load_fixture, unload),
		cmocka_unit_test_teardown(test_live_kfree, unload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
