/*
 * Expression language: table-driven tests over synthetic records laid
 * out by REAL tracepoint formats (tests/unit/formats/, copied from
 * /sys/kernel/tracing/events). Each table row is one expression with its
 * expected value; every failing row is printed before the test fails.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event-parse.h>

#include "expr/expr.h"
#include "lib/ksyms.h"

enum ev { KM, PA, WK, SW, EX, IR, DM, RL, NR_EV };

static const struct {
	const char *file, *sys, *name;
} formats[NR_EV] = {
	[KM] = { "kmalloc.format", "kmem", "kmalloc" },
	[PA] = { "mm_page_alloc.format", "kmem", "mm_page_alloc" },
	[WK] = { "sched_wakeup.format", "sched", "sched_wakeup" },
	[SW] = { "sched_switch.format", "sched", "sched_switch" },
	[EX] = { "sched_process_exec.format", "sched", "sched_process_exec" },
	[IR] = { "irq_handler_entry.format", "irq", "irq_handler_entry" },
	[DM] = { "dma_alloc_sgt.format", "dma", "dma_alloc_sgt" },
	/* No event on the test kernel has __rel_loc; this one is written by hand. */
	[RL] = { "synthetic_rel_loc.format", "synthetic", "rel_loc_demo" },
};

static struct tep_handle *tep;
static struct tep_event *events[NR_EV];
static uint8_t records[NR_EV][128];
static uint32_t rec_size[NR_EV];
static char kallsyms_path[64];
static const char *format_dir = "tests/unit/formats";

/* Values in the records (the tables below are written against these). */
#define KM_CALL_SITE 0xffffffff81234567ULL
#define KM_PTR 0xffff888012345678ULL

/* ---- building records from the formats ---- */

static void put(enum ev ev, const char *name, uint64_t v)
{
	struct tep_format_field *f = tep_find_any_field(events[ev], name);

	assert_non_null(f);
	assert_true(f->offset + f->size <= (int)sizeof(records[ev]));
	memcpy(records[ev] + f->offset, &v, f->size); /* little endian host */
}

static void put_str(enum ev ev, const char *name, const char *s)
{
	struct tep_format_field *f = tep_find_any_field(events[ev], name);

	assert_non_null(f);
	strncpy((char *)records[ev] + f->offset, s, f->size);
}

/* Append bytes after the fixed fields and point a __data_loc/__rel_loc word at them. */
static void put_dyn(enum ev ev, const char *name, const void *data, int len)
{
	struct tep_format_field *f = tep_find_any_field(events[ev], name);
	uint32_t off = rec_size[ev], w;

	assert_non_null(f);
	memcpy(records[ev] + off, data, len);
	if (f->flags & TEP_FIELD_IS_RELATIVE)
		w = (uint32_t)len << 16 | (off - (f->offset + 4));
	else
		w = (uint32_t)len << 16 | off;
	memcpy(records[ev] + f->offset, &w, 4);
	rec_size[ev] = (off + len + 7) & ~7u;
}

static void common(enum ev ev, int pid)
{
	put(ev, "common_type", events[ev]->id);
	put(ev, "common_flags", 1);
	put(ev, "common_preempt_count", 2);
	put(ev, "common_pid", pid);
}

static void build_records(void)
{
	uint64_t phys[2] = { 0x1000, 0x2000 };

	common(KM, 1234);
	put(KM, "call_site", KM_CALL_SITE);
	put(KM, "ptr", KM_PTR);
	put(KM, "bytes_req", 100);
	put(KM, "bytes_alloc", 128);
	put(KM, "gfp_flags", 0xcc0);
	put(KM, "node", (uint32_t)-1);
	rec_size[KM] = 56;

	common(PA, 1);
	put(PA, "pfn", 0x12345);
	put(PA, "order", 3);
	put(PA, "gfp_flags", 0x140cca);
	put(PA, "migratetype", 1);
	rec_size[PA] = 40;

	common(WK, 7);
	put_str(WK, "comm", "kworker/0:1");
	put(WK, "pid", 77);
	put(WK, "prio", 120);
	put(WK, "target_cpu", 1);
	rec_size[WK] = 40;

	common(SW, 100);
	put_str(SW, "prev_comm", "bash");
	put(SW, "prev_pid", 100);
	put(SW, "prev_prio", 120);
	put(SW, "prev_state", 1);
	put_str(SW, "next_comm", "swapper/0");
	put(SW, "next_pid", 0);
	put(SW, "next_prio", 110);
	rec_size[SW] = 64;

	common(EX, 42);
	put(EX, "pid", 42);
	put(EX, "old_pid", 41);
	rec_size[EX] = 20;
	put_dyn(EX, "filename", "/usr/bin/ls", 12);

	common(IR, 0);
	put(IR, "irq", 16);
	rec_size[IR] = 16;
	put_dyn(IR, "name", "eth0", 5);

	common(DM, 9);
	rec_size[DM] = 40;
	put_dyn(DM, "device", "0000:00:1f.0", 13);
	put_dyn(DM, "phys_addrs", phys, sizeof(phys));
	put(DM, "dma_addr", 0xfee00000);
	put(DM, "size", 4096);
	put(DM, "dir", 1);
	put(DM, "flags", 0xcc0);

	common(RL, 0);
	put(RL, "irq", 7);
	rec_size[RL] = 16;
	put_dyn(RL, "name", "timer", 6);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;

	if (!f)
		return NULL;
	buf = calloc(1, 1 << 16);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	static const char fake_kallsyms[] =
		"ffffffff81000000 T _stext\n"
		"ffffffff81234000 T __kmalloc_noprof\n"
		"ffffffff81235000 t kfree_skb_reason\n"
		"ffffffff81300000 T kfree\n";
	int fd;

	(void)state;
	tep = tep_alloc();
	assert_non_null(tep);
	tep_set_long_size(tep, 8);
	for (int i = 0; i < NR_EV; i++) {
		char path[512];
		size_t len;
		char *buf;

		snprintf(path, sizeof(path), "%s/%s", format_dir, formats[i].file);
		buf = slurp(path, &len);
		if (!buf) {
			fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
			return -1;
		}
		if (tep_parse_event(tep, buf, len, formats[i].sys)) {
			fprintf(stderr, "cannot parse %s\n", path);
			free(buf);
			return -1;
		}
		free(buf);
		events[i] = tep_find_event_by_name(tep, formats[i].sys, formats[i].name);
		if (!events[i])
			return -1;
	}
	build_records();

	strcpy(kallsyms_path, "/tmp/test_expr_kallsyms.XXXXXX");
	fd = mkstemp(kallsyms_path);
	if (fd < 0 || write(fd, fake_kallsyms, sizeof(fake_kallsyms) - 1) < 0)
		return -1;
	close(fd);
	return ksyms_load_file(kallsyms_path) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	ksyms_free();
	unlink(kallsyms_path);
	tep_free(tep);
	return 0;
}

/* Compile or print why not; NULL on failure. */
static struct expr *compile(enum ev ev, const char *text)
{
	struct expr_error err;
	struct expr *e = expr_compile(text, events[ev], &err);

	if (!e)
		expr_print_error(stderr, formats[ev].name, text, &err);
	return e;
}

/* ---- integer results ---- */

struct int_case {
	enum ev ev;
	const char *text;
	int64_t want;
};

static const struct int_case int_cases[] = {
	/* literals */
	{ KM, "42", 42 },
	{ KM, "0x2a", 42 },
	{ KM, "0X2A", 42 },
	{ KM, "052", 42 },
	{ KM, "'a'", 97 },
	{ KM, "'\\n'", 10 },
	{ KM, "'\\x41'", 65 },
	{ KM, "'\\0'", 0 },
	{ KM, "'\\377'", 255 },
	{ KM, "0", 0 },
	{ KM, "18446744073709551615", -1 },
	{ KM, "0xffffffffffffffff == -1", 1 },
	{ KM, "10UL", 10 },
	{ KM, "10ull + 1", 11 },
	/* fields: sizes and signedness from the format */
	{ KM, "bytes_req", 100 },
	{ KM, "bytes_alloc", 128 },
	{ KM, "node", -1 },
	{ KM, "call_site", (int64_t)KM_CALL_SITE },
	{ KM, "ptr", (int64_t)KM_PTR },
	{ KM, "gfp_flags", 0xcc0 },
	{ KM, "common_pid", 1234 },
	{ KM, "common_type", 658 },
	{ KM, "common_flags", 1 },
	{ KM, "common_preempt_count", 2 },
	/* arithmetic */
	{ KM, "bytes_alloc - bytes_req", 28 },
	{ KM, "bytes_req - bytes_alloc", -28 },
	{ KM, "bytes_req * 3", 300 },
	{ KM, "bytes_alloc / 3", 42 },
	{ KM, "bytes_alloc % 3", 2 },
	{ KM, "-7 / 2", -3 },
	{ KM, "-7 % 2", -1 },
	{ KM, "7 / -2", -3 },
	{ KM, "node / 2", 0 },
	{ KM, "node * 5", -5 },
	{ KM, "bytes_req + node", 99 },
	{ KM, "(-9223372036854775807 - 1) / -1", INT64_MIN },
	{ KM, "(-9223372036854775807 - 1) % -1", 0 },
	{ KM, "9223372036854775807 + 1", INT64_MIN },
	/* shifts */
	{ KM, "1 << 10", 1024 },
	{ KM, "4096 << 3", 32768 },
	{ KM, "-16 >> 2", -4 },
	{ KM, "gfp_flags >> 4", 0xcc },
	{ KM, "(u64)-16 >> 60", 15 },
	{ KM, "1 << 64", 0 },
	{ KM, "1 << 63", INT64_MIN },
	{ KM, "-1 >> 70", -1 },
	{ KM, "bytes_req >> node", 0 },
	/* bitwise and logical */
	{ KM, "gfp_flags & 0xff", 0xc0 },
	{ KM, "gfp_flags | 1", 0xcc1 },
	{ KM, "gfp_flags ^ 0xcc0", 0 },
	{ KM, "~0", -1 },
	{ KM, "~gfp_flags & 0xfff", 0x33f },
	{ KM, "!bytes_req", 0 },
	{ KM, "!0", 1 },
	{ KM, "!!bytes_req", 1 },
	{ KM, "-bytes_req", -100 },
	{ KM, "+bytes_req", 100 },
	{ KM, "- -5", 5 },
	{ KM, "bytes_req && node", 1 },
	{ KM, "bytes_req && 0", 0 },
	{ KM, "0 || bytes_req", 1 },
	{ KM, "bytes_req || 0", 1 },
	/* comparisons: unsigned only when an operand is 64-bit unsigned */
	{ KM, "bytes_req == 100", 1 },
	{ KM, "bytes_req != 100", 0 },
	{ KM, "bytes_req < bytes_alloc", 1 },
	{ KM, "bytes_req <= 100", 1 },
	{ KM, "bytes_req > 100", 0 },
	{ KM, "bytes_req >= 101", 0 },
	{ KM, "-1 < 0", 1 },
	{ KM, "-1 < 0UL", 0 },
	{ KM, "node < 0", 1 },
	{ KM, "node < bytes_req", 0 },
	{ KM, "node < (long)bytes_req", 1 },
	{ KM, "call_site > 0xffffffff80000000", 1 },
	/* precedence and associativity */
	{ KM, "1 + 2 * 3", 7 },
	{ KM, "(1 + 2) * 3", 9 },
	{ KM, "10 - 4 - 3", 3 },
	{ KM, "100 / 10 / 5", 2 },
	{ KM, "1 << 2 + 1", 8 },
	{ KM, "1 + 2 << 1", 6 },
	{ KM, "1 < 2 == 1", 1 },
	{ KM, "2 == 2 < 1", 0 },
	{ KM, "1 | 2 ^ 3 & 1", 3 },
	{ KM, "6 & 3 == 3", 0 },
	{ KM, "1 || 0 && 0", 1 },
	{ KM, "0 && 1 || 1", 1 },
	{ KM, "-2 * -3", 6 },
	{ KM, "~1 + 1", -1 },
	{ KM, "!1 + 1", 1 },
	{ KM, "2 * 3 % 4", 2 },
	{ KM, "bytes_alloc - bytes_req * 2 + 1", -71 },
	{ KM, "bytes_req > 50 && bytes_alloc < 256 || node == 0", 1 },
	{ KM, "gfp_flags & 0x400 ? 1 : 2", 1 },
	{ KM, "bytes_req < 50 | bytes_alloc > 100", 1 },
	/* ?: and comma */
	{ KM, "bytes_req > 64 ? 1 : 0", 1 },
	{ KM, "node ? 10 : 20", 10 },
	{ KM, "0 ? 1 : 2 ? 3 : 4", 3 },
	{ KM, "bytes_req ? bytes_alloc ? 1 : 2 : 3", 1 },
	{ KM, "1 ? 2 : 3, 4", 4 },
	{ KM, "(1, 2) + 3", 5 },
	{ KM, "bytes_req, bytes_alloc", 128 },
	{ KM, "bytes_req == 100 ? bytes_alloc : bytes_req", 128 },
	/* short circuit: the faulting side is never run */
	{ KM, "bytes_req == 0 && bytes_alloc / 0", 0 },
	{ KM, "bytes_req != 0 || bytes_alloc / 0", 1 },
	{ KM, "bytes_req ? 5 : bytes_alloc / 0", 5 },
	{ KM, "!bytes_req ? bytes_alloc % 0 : 6", 6 },
	/* casts */
	{ KM, "(u8)0x1ff", 255 },
	{ KM, "(s8)0xff", -1 },
	{ KM, "(char)0x141", 0x41 },
	{ KM, "(char)-1", 255 },
	{ KM, "(signed char)200", -56 },
	{ KM, "(u16)-1", 65535 },
	{ KM, "(short)0x18000", -32768 },
	{ KM, "(int)0xffffffff", -1 },
	{ KM, "(unsigned int)-1", 4294967295LL },
	{ KM, "(unsigned)-1", 4294967295LL },
	{ KM, "(u32)call_site", 0x81234567 },
	{ KM, "(s32)call_site", (int64_t)(int32_t)0x81234567 },
	{ KM, "(bool)bytes_req", 1 },
	{ KM, "(bool)0", 0 },
	{ KM, "(_Bool)(gfp_flags & 0x40)", 1 },
	{ KM, "(long)node", -1 },
	{ KM, "(unsigned long)node", -1 },
	{ KM, "(u64)node > 0", 1 },
	{ KM, "(u8)(bytes_req + 200)", 44 },
	{ KM, "(unsigned char)gfp_flags", 192 },
	{ KM, "(s16)(u16)-2", -2 },
	{ KM, "(long long)5", 5 },
	{ KM, "(const unsigned long)bytes_req", 100 },
	{ KM, "(int)(s8)bytes_alloc", -128 },
	{ KM, "(u32)node + 1", 4294967296LL },
	/* sizeof */
	{ KM, "sizeof(int)", 4 },
	{ KM, "sizeof(long)", 8 },
	{ KM, "sizeof(u16)", 2 },
	{ KM, "sizeof(char *)", 8 },
	{ KM, "sizeof(unsigned long long)", 8 },
	{ KM, "sizeof(bool)", 1 },
	{ KM, "sizeof(node)", 4 },
	{ KM, "sizeof(short int)", 2 },
	{ KM, "sizeof(s64) * 2", 16 },
	/* byte order */
	{ KM, "ntohl(0x12345678)", 0x78563412 },
	{ KM, "ntohs(0x1234)", 0x3412 },
	{ KM, "htonl(1)", 0x01000000 },
	{ KM, "htons(0xabcd)", 0xcdab },
	{ KM, "ntohl(node)", 0xffffffffLL },
	{ KM, "ntohs(common_type)", 0x9202 },
	{ KM, "htonl(ntohl(bytes_alloc))", 128 },
	/* char arrays, indexing, pointers (sched_switch) */
	{ SW, "prev_pid", 100 },
	{ SW, "next_prio - prev_prio", -10 },
	{ SW, "prev_comm[0]", 'b' },
	{ SW, "prev_comm[1] == 'a'", 1 },
	{ SW, "next_comm[7]", '/' },
	{ SW, "prev_comm[15]", 0 },
	{ SW, "3[prev_comm]", 'h' },
	{ SW, "*prev_comm", 'b' },
	{ SW, "*(prev_comm + 2)", 's' },
	{ SW, "(unsigned int *)prev_comm + 2", 16 },
	{ SW, "*(unsigned int *)prev_comm", 0x68736162 },
	{ SW, "((u16 *)next_comm)[1]", 0x7061 },
	{ SW, "prev_comm + 4 - prev_comm", 4 },
	{ SW, "(int *)next_comm - (int *)prev_comm", 8 },
	{ SW, "next_comm - prev_comm", 32 },
	{ SW, "sizeof(prev_comm)", 16 },
	{ SW, "prev_state & 1", 1 },
	{ SW, "prev_comm[0] == 'b' ? prev_pid : next_pid", 100 },
	{ SW, "(char *)0 + 8 == prev_comm", 1 },
	{ SW, "*(long *)(prev_comm + 24)", 1 },
	{ SW, "*(s64 *)32", 1 },
	{ SW, "*(int *)(long)24", 100 },
	{ SW, "((int *)0)[6]", 100 },
	{ SW, "*((s8 *)prev_comm + 1)", 'a' },
	{ SW, "(long)(prev_comm + 1)", 9 },
	/* string equality */
	{ SW, "prev_comm == \"bash\"", 1 },
	{ SW, "prev_comm != \"bash\"", 0 },
	{ SW, "next_comm == \"bash\"", 0 },
	{ SW, "prev_comm == next_comm", 0 },
	{ SW, "\"bash\" == prev_comm", 1 },
	{ SW, "prev_comm == \"bas\"", 0 },
	{ SW, "prev_comm == \"bash\" && next_pid == 0", 1 },
	{ SW, "\"a\" == \"a\"", 1 },
	{ SW, "\"a\" != \"ab\"", 1 },
	{ SW, "(prev_pid > 5 ? prev_comm : next_comm) == \"bash\"", 1 },
	/* strncmp */
	{ SW, "strncmp(prev_comm, \"bas\", 3)", 0 },
	{ SW, "strncmp(next_comm, \"swapper\", 7) == 0", 1 },
	{ SW, "strncmp(prev_comm, \"bat\", 3) < 0", 1 },
	{ SW, "strncmp(prev_comm, \"bash\", 10)", 0 },
	{ SW, "strncmp(prev_comm, \"bashx\", 10)", -'x' },
	{ SW, "strncmp(prev_comm, next_comm, 0)", 0 },
	{ SW, "strncmp(prev_comm + 1, \"ash\", 3)", 0 },
	/* sched_wakeup, the examples of expr.md */
	{ WK, "(unsigned int *)comm + 2", 16 },
	{ WK, "comm[0] == 'k' ? 1 : 0", 1 },
	{ WK, "comm == \"kworker/0:1\"", 1 },
	{ WK, "target_cpu", 1 },
	{ WK, "prio - 100", 20 },
	/* mm_page_alloc */
	{ PA, "4096 << order", 32768 },
	{ PA, "order", 3 },
	{ PA, "pfn", 0x12345 },
	{ PA, "pfn << 12", 0x12345000 },
	{ PA, "migratetype == 1", 1 },
	{ PA, "(4096 << order) / 1024", 32 },
	{ PA, "pfn != -1UL ? pfn : 0", 0x12345 },
	{ PA, "order * 2 + 1", 7 },
	{ PA, "(gfp_flags & 0x100) != 0", 0 },
	/* __data_loc strings and arrays */
	{ EX, "filename == \"/usr/bin/ls\"", 1 },
	{ EX, "pid - old_pid", 1 },
	{ EX, "filename[0]", '/' },
	{ EX, "filename[5]", 'b' },
	{ EX, "strncmp(filename, \"/usr\", 4)", 0 },
	{ EX, "*(filename + 1)", 'u' },
	{ EX, "(char *)filename - (char *)0", 20 },
	{ IR, "name == \"eth0\"", 1 },
	{ IR, "irq * 2", 32 },
	{ IR, "name[3]", '0' },
	{ DM, "phys_addrs[1]", 0x2000 },
	{ DM, "*phys_addrs", 0x1000 },
	{ DM, "phys_addrs[1] - phys_addrs[0]", 0x1000 },
	{ DM, "device == \"0000:00:1f.0\"", 1 },
	{ DM, "size", 4096 },
	{ DM, "dir", 1 },
	{ DM, "flags & 0x40", 0x40 },
	{ RL, "name == \"timer\"", 1 },
	{ RL, "name[1]", 'i' },
	{ RL, "irq", 7 },
	/* ksymbol compared as a string */
	{ KM, "ksymbol(call_site) == \"__kmalloc_noprof\"", 1 },
	{ KM, "ksymbol(0x10) == \"[unknown]\"", 1 },
	{ KM, "strncmp(ksymbol(0xffffffff81235010), \"kfree\", 5)", 0 },
};

static void test_int_cases(void **state)
{
	int bad = 0, n = sizeof(int_cases) / sizeof(int_cases[0]);

	(void)state;
	for (int i = 0; i < n; i++) {
		const struct int_case *c = &int_cases[i];
		struct expr *e = compile(c->ev, c->text);
		int64_t got;

		if (!e) {
			fprintf(stderr, "FAIL compile: %s\n", c->text);
			bad++;
			continue;
		}
		got = expr_eval(e, records[c->ev], rec_size[c->ev]);
		if (got != c->want || expr_faults(e)) {
			fprintf(stderr, "FAIL %s: got %lld (%#llx), want %lld (%#llx), faults %llu\n",
				c->text, (long long)got, (long long)got, (long long)c->want,
				(long long)c->want, (unsigned long long)expr_faults(e));
			bad++;
		}
		expr_free(e);
	}
	print_message("%d integer expressions\n", n);
	assert_int_equal(bad, 0);
}

/* ---- string results ---- */

struct str_case {
	enum ev ev;
	const char *text;
	const char *want;
	int64_t want_off;	/* expr_eval(): offset in the record, 0 if not in it */
};

static const struct str_case str_cases[] = {
	{ SW, "prev_comm", "bash", 8 },
	{ SW, "next_comm", "swapper/0", 40 },
	{ EX, "filename", "/usr/bin/ls", 20 },
	{ IR, "name", "eth0", 16 },
	{ RL, "name", "timer", 16 },
	{ DM, "device", "0000:00:1f.0", 40 },
	{ WK, "comm", "kworker/0:1", 8 },
	{ KM, "\"hello\"", "hello", 0 },
	{ KM, "\"a\\tb\"", "a\tb", 0 },
	{ KM, "ksymbol(call_site)", "__kmalloc_noprof", 0 },
	{ KM, "ksymbol(0x10)", "[unknown]", 0 },
	{ KM, "ksymbol(0xffffffff81235000)", "kfree_skb_reason", 0 },
	{ KM, "ksymbol(0xffffffff81300001)", "kfree", 0 },
	{ KM, "bytes_req > 1 ? \"big\" : \"small\"", "big", 0 },
	{ SW, "prev_pid > 0 ? prev_comm : next_comm", "bash", 8 },
	{ SW, "next_pid > 0 ? prev_comm : next_comm", "swapper/0", 40 },
	{ SW, "prev_pid, next_comm", "swapper/0", 40 },
};

static void test_str_cases(void **state)
{
	int bad = 0, n = sizeof(str_cases) / sizeof(str_cases[0]);

	(void)state;
	for (int i = 0; i < n; i++) {
		const struct str_case *c = &str_cases[i];
		struct expr *e = compile(c->ev, c->text);
		const char *s = NULL;
		int len = -1;
		int64_t off;

		if (!e) {
			bad++;
			continue;
		}
		if (expr_result_type(e) != EXPR_STR ||
		    expr_eval_str(e, records[c->ev], rec_size[c->ev], &s, &len) ||
		    len != (int)strlen(c->want) || memcmp(s, c->want, len)) {
			fprintf(stderr, "FAIL %s: got '%.*s' want '%s'\n", c->text, len < 0 ? 0 : len,
				s ? s : "", c->want);
			bad++;
		}
		off = expr_eval(e, records[c->ev], rec_size[c->ev]);
		if (off != c->want_off) {
			fprintf(stderr, "FAIL %s: offset %lld want %lld\n", c->text, (long long)off,
				(long long)c->want_off);
			bad++;
		}
		expr_free(e);
	}
	print_message("%d string expressions\n", n);
	assert_int_equal(bad, 0);
}

static void test_result_types(void **state)
{
	static const struct {
		enum ev ev;
		const char *text;
		enum expr_type t;
	} cases[] = {
		{ KM, "bytes_req", EXPR_INT },
		{ SW, "prev_comm", EXPR_STR },
		{ SW, "prev_comm + 1", EXPR_PTR },
		{ SW, "(u32 *)prev_comm", EXPR_PTR },
		{ KM, "ptr", EXPR_INT },
		{ KM, "(char *)ptr", EXPR_PTR },
		{ KM, "ksymbol(ptr)", EXPR_STR },
	};
	const char *s;
	int len;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct expr *e = compile(cases[i].ev, cases[i].text);

		assert_non_null(e);
		assert_int_equal(expr_result_type(e), cases[i].t);
		if (cases[i].t != EXPR_STR)
			assert_int_equal(expr_eval_str(e, records[cases[i].ev], 64, &s, &len), -1);
		expr_free(e);
	}
}

/* ---- runtime faults ---- */

struct fault_case {
	enum ev ev;
	const char *text;
	int trunc;		/* evaluate on a record cut to this size; 0 = whole */
	const char *why;
};

static const char DIV0[] = "division by zero";
static const char RANGE[] = "read outside the record";

static const struct fault_case fault_cases[] = {
	{ KM, "bytes_alloc / 0", 0, DIV0 },
	{ KM, "0 / 0", 0, DIV0 },
	{ KM, "bytes_alloc % (bytes_req - 100)", 0, DIV0 },
	{ KM, "1 / (node + 1)", 0, DIV0 },
	{ KM, "5 % (bytes_req - bytes_req)", 0, DIV0 },
	{ KM, "1 + 1 / 0", 0, DIV0 },
	{ KM, "*(int *)1000", 0, RANGE },
	{ KM, "*(u64 *)ptr", 0, RANGE },
	{ KM, "*(char *)-1", 0, RANGE },
	{ KM, "*(u64 *)52", 0, RANGE },
	{ SW, "prev_comm[100]", 0, RANGE },
	{ SW, "prev_comm[-9]", 0, RANGE },
	{ SW, "*(long *)(prev_comm + 60)", 0, RANGE },
	{ SW, "strncmp((char *)prev_comm + 70, \"a\", 1)", 0, RANGE },
	{ SW, "prev_comm == \"bash\"", 20, RANGE },
	{ KM, "node", 40, RANGE },
	{ KM, "bytes_req + 1", 20, RANGE },
	{ PA, "4096 << order", 10, RANGE },
	{ KM, "bytes_req ? bytes_alloc : 0", 30, RANGE },
	{ EX, "filename == \"x\"", 24, RANGE },
	{ EX, "filename[0]", 10, RANGE },
	{ DM, "phys_addrs[1]", 60, RANGE },
	{ RL, "name == \"timer\"", 18, RANGE },
	{ KM, "node", 0x7fffffff, NULL },	/* a big size is fine */
};

static void test_faults(void **state)
{
	int bad = 0, n = sizeof(fault_cases) / sizeof(fault_cases[0]);

	(void)state;
	for (int i = 0; i < n; i++) {
		const struct fault_case *c = &fault_cases[i];
		struct expr *e = compile(c->ev, c->text);
		uint32_t size = c->trunc ? (uint32_t)c->trunc : rec_size[c->ev];
		int64_t v;

		if (!e) {
			bad++;
			continue;
		}
		if (size > sizeof(records[0]))	/* only read what exists */
			size = sizeof(records[0]);
		v = expr_eval(e, records[c->ev], size);
		if (c->why ? (v != 0 || expr_faults(e) != 1 || !expr_first_fault(e) ||
			      strcmp(expr_first_fault(e), c->why))
			   : expr_faults(e) != 0) {
			fprintf(stderr, "FAIL %s: value %lld faults %llu first %s\n", c->text,
				(long long)v, (unsigned long long)expr_faults(e),
				expr_first_fault(e) ? expr_first_fault(e) : "(none)");
			bad++;
		}
		expr_free(e);
	}
	print_message("%d fault cases\n", n);
	assert_int_equal(bad, 0);
}

static void test_fault_counting(void **state)
{
	struct expr *e = compile(KM, "bytes_alloc / (bytes_req - 100) + *(u32 *)common_pid");
	uint8_t rec[sizeof(records[KM])];
	const char *s;
	int len;

	(void)state;
	assert_non_null(e);
	assert_null(expr_first_fault(e));
	/* bytes_req == 100: a division by zero */
	assert_int_equal(expr_eval(e, records[KM], rec_size[KM]), 0);
	assert_int_equal(expr_faults(e), 1);
	assert_string_equal(expr_first_fault(e), DIV0);
	/* bytes_req == 99: 128 / 2^64-1 is 0, then common_pid 1234 is no record offset */
	memcpy(rec, records[KM], sizeof(rec));
	rec[24] = 99;
	assert_int_equal(expr_eval(e, rec, rec_size[KM]), 0);
	assert_int_equal(expr_faults(e), 2);
	assert_string_equal(expr_first_fault(e), DIV0); /* the first cause stays */
	/* common_pid == 4 points at itself: a good evaluation after faults */
	rec[4] = 4;
	rec[5] = 0;
	assert_int_equal(expr_eval(e, rec, rec_size[KM]), 4);
	assert_int_equal(expr_faults(e), 2);
	expr_free(e);

	/* a string result that faults gives an empty string */
	e = compile(EX, "filename");
	assert_non_null(e);
	assert_int_equal(expr_eval_str(e, records[EX], 22, &s, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(expr_faults(e), 1);
	/* no record at all */
	assert_int_equal(expr_eval(e, NULL, 0), 0);
	assert_int_equal(expr_faults(e), 2);
	expr_free(e);
}

/* ---- printf ---- */

struct printf_case {
	enum ev ev;
	const char *text;
	const char *want;
};

static const struct printf_case printf_cases[] = {
	{ SW, "printf(\"%d-%s\\n\", prev_pid, prev_comm)", "100-bash\n" },
	{ SW, "printf(\"[%5d|%-5s|%5s]\", prev_pid, prev_comm, \"ab\")", "[  100|bash |   ab]" },
	{ KM, "printf(\"%x %lx %X\", gfp_flags, call_site, 255)", "cc0 ffffffff81234567 FF" },
	{ KM, "printf(\"%u\", node)", "4294967295" },
	{ KM, "printf(\"%lu\", node)", "18446744073709551615" },
	{ KM, "printf(\"%ld %d\", node, node)", "-1 -1" },
	{ KM, "printf(\"%hhd %hu\", 300, 70000)", "44 4464" },
	{ KM, "printf(\"%08x|%#x|%o\", 0xbeef, 255, 8)", "0000beef|0xff|10" },
	{ KM, "printf(\"%zu %llu %jd\", bytes_req, bytes_alloc, node)", "100 128 -1" },
	{ KM, "printf(\"%c%c%c\", 'o', 107, 10)", "ok\n" },
	{ KM, "printf(\"100%%\")", "100%" },
	{ KM, "printf(\"%p %p\", ptr, 0)", "0xffff888012345678 (nil)" },
	{ KM, "printf(\"%s\", ksymbol(call_site))", "__kmalloc_noprof" },
	{ SW, "printf(\"%.2s|%.10s\", prev_comm, next_comm)", "ba|swapper/0" },
	{ KM, "printf(\"%+d % d %.3d\", 5, 5, 5)", "+5  5 005" },
	{ KM, "bytes_req > 1000 ? printf(\"big\") : 0", "" },
	{ KM, "bytes_req > 10 && printf(\"yes\")", "yes" },
	{ KM, "printf(\"a\"), printf(\"b\")", "ab" },
	{ EX, "printf(\"%s:%d\", filename, pid)", "/usr/bin/ls:42" },
	{ SW, "printf(\"%s\", prev_comm + 1)", "ash" },
	{ KM, "printf(\"\")", "" },
};

static void test_printf(void **state)
{
	int bad = 0, n = sizeof(printf_cases) / sizeof(printf_cases[0]);

	(void)state;
	for (int i = 0; i < n; i++) {
		const struct printf_case *c = &printf_cases[i];
		struct expr *e = compile(c->ev, c->text);
		char *buf = NULL;
		size_t len = 0;
		FILE *f;
		int64_t ret;

		if (!e) {
			bad++;
			continue;
		}
		f = open_memstream(&buf, &len);
		assert_non_null(f);
		expr_set_output(e, f);
		assert_true(expr_has_printf(e));
		ret = expr_eval(e, records[c->ev], rec_size[c->ev]);
		fclose(f);
		if (strcmp(buf, c->want) ||
		    (strstr(c->text, "printf") == c->text && !strchr(c->text, ',') &&
		     ret != (int64_t)strlen(c->want))) {
			fprintf(stderr, "FAIL %s: printed '%s' (returned %lld), want '%s'\n", c->text,
				buf, (long long)ret, c->want);
			bad++;
		}
		free(buf);
		expr_free(e);
	}
	print_message("%d printf cases\n", n);
	assert_int_equal(bad, 0);
}

static void test_printf_return(void **state)
{
	struct expr *e = compile(SW, "printf(\"%s=%d\\n\", prev_comm, prev_pid)");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(e);
	expr_set_output(e, f);
	assert_int_equal(expr_eval(e, records[SW], rec_size[SW]), 9);
	assert_int_equal(expr_eval(e, records[SW], rec_size[SW]), 9);
	fclose(f);
	assert_string_equal(buf, "bash=100\nbash=100\n");
	free(buf);
	expr_free(e);

	e = compile(SW, "prev_pid + 1");
	assert_false(expr_has_printf(e));
	expr_free(e);
}

/* ---- compile errors ---- */

struct error_case {
	enum ev ev;
	const char *text;
	int pos;
	const char *msg;	/* substring of the message */
};

static const struct error_case error_cases[] = {
	{ KM, "(bytes_alloc))", 13, "unexpected ')'" },
	{ KM, "byts", 0, "unknown field 'byts'" },
	{ KM, "bytes_req + byts", 12, "unknown field 'byts'" },
	{ KM, "comm", 0, "unknown field 'comm'" },
	{ KM, "bytes_req +", 11, "unexpected end of expression" },
	{ KM, "1 +* 2", 3, "cannot dereference a number" },
	{ KM, "\"abc\" + 1", 6, "a string cannot be an operand of '+'" },
	{ KM, "*bytes_req", 0, "cannot dereference a number" },
	{ KM, "(foo)bytes_req", 1, "unknown type 'foo'" },
	{ KM, "(struct_page *)ptr", 1, "unknown type 'struct_page'" },
	{ KM, "(u128)1", 1, "unknown type 'u128'" },
	{ KM, "(foo) + 1", 1, "unknown field 'foo'" },
	{ KM, "(bytes_req) + 1 == 101", -1, "" },
	{ KM, "(unsigned float)1", 10, "expected ')'" },
	{ KM, "(int **)ptr", 6, "pointers to pointers" },
	{ KM, "(long char)1", 6, "bad type" },
	{ KM, "(void)1", 1, "cannot convert to void" },
	{ KM, "bytes_req = 5", 10, "use '=='" },
	{ KM, "foo(1)", 0, "unknown function 'foo'" },
	{ KM, "ntohl(1, 2)", 0, "takes 1 argument" },
	{ KM, "strncmp(\"a\", \"b\")", 0, "takes 3 arguments" },
	{ KM, "printf(\"%d %d\", 1)", 0, "wants 2 arguments" },
	{ KM, "printf(\"%f\", 1)", 8, "unsupported conversion '%f'" },
	{ KM, "printf(\"abc%\")", 11, "incomplete conversion" },
	{ KM, "printf(bytes_req)", 7, "must be a string literal" },
	{ KM, "printf(\"%s\", bytes_req)", 13, "needs a string" },
	{ SW, "prev_comm * 2", 10, "a pointer cannot be an operand of '*'" },
	{ SW, "1 ? prev_comm : 5", 2, "different types" },
	{ SW, "prev_comm + next_comm", 10, "cannot add two pointers" },
	{ SW, "1 - prev_comm", 2, "cannot subtract a pointer" },
	{ SW, "(int *)prev_comm - prev_comm", 17, "different sizes" },
	{ KM, "'ab'", 0, "unterminated character literal" },
	{ KM, "''", 0, "empty character literal" },
	{ KM, "\"abc", 0, "unterminated string" },
	{ KM, "'\\q'", 1, "unknown escape" },
	{ KM, "08", 1, "bad number" },
	{ KM, "12abc", 2, "bad number" },
	{ KM, "99999999999999999999", 0, "number too large" },
	{ KM, "1 $ 2", 2, "unexpected character '$'" },
	{ KM, "sizeof(float)", 7, "unknown field 'float'" },
	{ SW, "*(void *)prev_comm", 0, "void pointer" },
	{ KM, "bytes_req[0]", 9, "only arrays and pointers can be indexed" },
	{ SW, "prev_comm[prev_comm]", 9, "an index must be a number" },
	{ KM, "", 0, "empty expression" },
	{ KM, "   ", 3, "empty expression" },
	{ KM, "strncmp(bytes_req, \"a\", 1)", 8, "strncmp needs a string" },
	{ KM, "ksymbol(\"a\")", 0, "a string cannot be an operand of 'ksymbol'" },
	{ KM, "(int)\"abc\"", 0, "cannot convert a string to a number" },
	{ KM, "\"a\" == 5", 4, "cannot compare a string with a number" },
	{ KM, "\"a\" < \"b\"", 4, "a string cannot be an operand of '<'" },
	{ KM, "1 2", 2, "unexpected '2'" },
	{ KM, "(int", 4, "expected ')' before end of expression" },
	{ KM, "-\"x\"", 0, "a string cannot be an operand of '-'" },
	{ KM, "!\"x\"", 0, "a string cannot be an operand of '!'" },
	{ KM, "\"x\" ? 1 : 2", 0, "a string cannot be an operand of '?:'" },
	{ KM, "bytes_req ? 1 :", 15, "unexpected end of expression" },
	{ KM, "bytes_req ? 1", 13, "expected ':' before end" },
	{ KM, "ptr[1]", 3, "only arrays and pointers" },
	{ KM, "bytes_req )", 10, "unexpected ')'" },
	{ KM, "[1]", 0, "unexpected '['" },
	{ EX, "sizeof(filename)", 0, "no fixed size" },
	{ KM, "\"\\x\"", 1, "bad \\x escape" },
	{ KM, "\x01", 0, "unexpected byte 0x01" },
};

static void test_errors(void **state)
{
	int bad = 0, n = sizeof(error_cases) / sizeof(error_cases[0]);

	(void)state;
	for (int i = 0; i < n; i++) {
		const struct error_case *c = &error_cases[i];
		struct expr_error err = { .pos = -1 };
		struct expr *e = expr_compile(c->text, events[c->ev], &err);

		if (c->pos < 0) {	/* a look-alike that must compile */
			if (!e) {
				fprintf(stderr, "FAIL '%s' should compile: %s\n", c->text, err.msg);
				bad++;
			}
			expr_free(e);
			continue;
		}
		if (e || err.pos != c->pos || !strstr(err.msg, c->msg)) {
			fprintf(stderr, "FAIL '%s': %s, pos %d '%s', want pos %d '%s'\n", c->text,
				e ? "compiled" : "error", err.pos, err.msg, c->pos, c->msg);
			bad++;
		}
		expr_free(e);
	}
	print_message("%d error cases\n", n);
	assert_int_equal(bad, 0);
}

static void test_deep_nesting(void **state)
{
	char text[4096];
	struct expr_error err;
	struct expr *e;
	int i;

	(void)state;
	/* 40 levels compile... */
	for (i = 0; i < 40; i++)
		text[i] = '(';
	text[i] = '1';
	for (int k = 0; k < 40; k++)
		text[++i] = ')';
	text[++i] = '\0';
	e = expr_compile(text, events[KM], &err);
	assert_non_null(e);
	assert_int_equal(expr_eval(e, records[KM], rec_size[KM]), 1);
	expr_free(e);
	/* ...500 are refused, not a stack overflow */
	memset(text, '(', 500);
	strcpy(text + 500, "1");
	e = expr_compile(text, events[KM], &err);
	assert_null(e);
	assert_non_null(strstr(err.msg, "nested too deeply"));
	memset(text, '-', 500);
	strcpy(text + 500, "1");
	assert_null(expr_compile(text, events[KM], &err));
	/* nested printf() calls keep 14 values each on the stack: refused when too deep */
	strcpy(text, "1");
	for (i = 0; i < 20; i++) {
		char inner[4096];

		snprintf(inner, sizeof(inner),
			 "printf(\"%%d%%d%%d%%d%%d%%d%%d%%d%%d%%d%%d%%d%%d%%d%%d\", "
			 "1,1,1,1,1,1,1,1,1,1,1,1,1,1,%s)", text);
		if (strlen(inner) >= sizeof(text))
			break;
		strcpy(text, inner);
	}
	e = expr_compile(text, events[KM], &err);
	assert_null(e);
	assert_non_null(strstr(err.msg, "too complex"));
	/* no event: only constants */
	e = expr_compile("1 + 2", NULL, &err);
	assert_non_null(e);
	assert_int_equal(expr_eval(e, NULL, 0), 3);
	expr_free(e);
	assert_null(expr_compile("bytes_req", NULL, &err));
}

/* The exact shape of expr.md. */
static void test_print_error(void **state)
{
	const char *text = "(bytes_alloc))";
	struct expr_error err;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_null(expr_compile(text, events[KM], &err));
	f = open_memstream(&buf, &len);
	expr_print_error(f, "kmem:kmalloc", text, &err);
	fclose(f);
	assert_string_equal(buf, "perf-prof: expr: kmem:kmalloc: unexpected ')' at 14\n"
				 "    (bytes_alloc))\n"
				 "                 ^\n");
	free(buf);

	text = "bytes_req +\tbyts";
	assert_null(expr_compile(text, events[KM], &err));
	f = open_memstream(&buf, &len);
	expr_print_error(f, "kmem:kmalloc: size=", text, &err);
	fclose(f);
	assert_string_equal(buf, "perf-prof: expr: kmem:kmalloc: size=: unknown field 'byts' at 13\n"
				 "    bytes_req +\tbyts\n"
				 "               \t^\n");
	free(buf);
}

/* Folding must not change results: compare constant and field forms. */
static void test_folding(void **state)
{
	struct expr *a = compile(KM, "(100 + 28) * 2 - (1 << 4)");
	struct expr *b = compile(KM, "(bytes_req + 28) * 2 - (1 << 4)");

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(expr_eval(a, records[KM], rec_size[KM]),
			 expr_eval(b, records[KM], rec_size[KM]));
	/* a folded constant needs no record at all */
	assert_int_equal(expr_eval(a, NULL, 0), 240);
	assert_int_equal(expr_faults(a), 0);
	expr_free(a);
	expr_free(b);
}

/*
 * Every "perf-prof expr -e SYS:NAME 'EXPR'" line of Documentation/expr.md
 * must compile against that event's real format and evaluate cleanly.
 */
static void test_doc_examples(void **state)
{
	char path[512], *doc, *line;
	size_t len;
	int n = 0, bad = 0;
	FILE *devnull = fopen("/dev/null", "w");

	(void)state;
	snprintf(path, sizeof(path), "%s/../../../Documentation/expr.md", format_dir);
	doc = slurp(path, &len);
	assert_non_null(doc);
	for (line = strtok(doc, "\n"); line; line = strtok(NULL, "\n")) {
		char sysname[64], text[256];
		const char *p = strstr(line, "perf-prof expr -e ");
		char quote, *end;
		int ev = -1;

		if (p != line)
			continue;
		if (sscanf(p + 18, "%63s", sysname) != 1)
			continue;
		p += 18 + strlen(sysname) + 1;
		quote = *p++;
		end = strrchr(p, quote);
		assert_non_null(end);
		snprintf(text, sizeof(text), "%.*s", (int)(end - p), p);
		for (int i = 0; i < NR_EV; i++) {
			char full[64];

			snprintf(full, sizeof(full), "%s:%s", formats[i].sys, formats[i].name);
			if (!strcmp(full, sysname))
				ev = i;
		}
		if (ev < 0) {
			fprintf(stderr, "FAIL doc example on unknown event %s\n", sysname);
			bad++;
			continue;
		}
		struct expr *e = compile(ev, text);

		n++;
		if (!e) {
			bad++;
			continue;
		}
		expr_set_output(e, devnull);
		expr_eval(e, records[ev], rec_size[ev]);
		if (expr_faults(e)) {
			fprintf(stderr, "FAIL doc example faults: %s\n", text);
			bad++;
		}
		expr_free(e);
	}
	free(doc);
	fclose(devnull);
	print_message("%d documentation examples\n", n);
	assert_true(n >= 10);
	assert_int_equal(bad, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int_cases),
		cmocka_unit_test(test_str_cases),
		cmocka_unit_test(test_result_types),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_fault_counting),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_printf_return),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_print_error),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_doc_examples),
	};

	if (argc > 1)
		format_dir = argv[1];
	else if (getenv("EXPR_FORMATS"))
		format_dir = getenv("EXPR_FORMATS");
	return cmocka_run_group_tests(tests, setup, teardown);
}
