/* Event selector grammar (cli.md): filter/spec.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "filter/spec.h"

struct parsed {
	struct event_spec *s;
	int nr;
	char err[256];
};

static int parse(struct parsed *p, const char *arg, int group)
{
	p->err[0] = '\0';
	return spec_parse(arg, group, &p->s, &p->nr, p->err, sizeof(p->err));
}

static void done(struct parsed *p)
{
	spec_free(p->s, p->nr);
	p->s = NULL;
	p->nr = 0;
}

/* Parse arg expecting exactly one event; the caller frees with done(). */
static struct event_spec *one(struct parsed *p, const char *arg)
{
	memset(p, 0, sizeof(*p));
	if (parse(p, arg, 0) != 0)
		fail_msg("'%s' rejected: %s", arg, p->err);
	assert_int_equal(p->nr, 1);
	return &p->s[0];
}

/* arg must be rejected with a message containing each of the needles. */
static void expect_error(const char *arg, const char *needle1, const char *needle2)
{
	struct parsed p = { 0 };

	if (parse(&p, arg, 0) != -1)
		fail_msg("'%s' accepted", arg);
	assert_int_equal(p.nr, 0);
	assert_null(strchr(p.err, '\n'));
	if (!strstr(p.err, needle1))
		fail_msg("'%s': message '%s' lacks '%s'", arg, p.err, needle1);
	if (needle2 && !strstr(p.err, needle2))
		fail_msg("'%s': message '%s' lacks '%s'", arg, p.err, needle2);
	done(&p);
}

static void test_plain(void **state)
{
	struct parsed p;
	struct event_spec *s = one(&p, "kmem:kmalloc");

	(void)state;
	assert_string_equal(s->sys, "kmem");
	assert_string_equal(s->name, "kmalloc");
	assert_null(s->filter);
	assert_false(s->stack);
	assert_null(s->key);
	assert_null(s->size);
	assert_null(s->alias);
	assert_int_equal(s->max_stack, 0);
	assert_string_equal(s->text, "kmem:kmalloc");
	done(&p);
}

static void test_filter_only(void **state)
{
	struct parsed p;
	struct event_spec *s = one(&p, "kmem:kmalloc/bytes_alloc>1024 && gfp_flags&0x10/");

	(void)state;
	assert_string_equal(s->filter, "bytes_alloc>1024 && gfp_flags&0x10");
	assert_false(s->stack);
	done(&p);
}

static void test_empty_filter_is_null(void **state)
{
	struct parsed p;
	struct event_spec *s = one(&p, "kmem:kmalloc//");

	(void)state;
	assert_null(s->filter);
	done(&p);
	s = one(&p, "kmem:kmalloc/   /stack/");
	assert_null(s->filter);
	assert_true(s->stack);
	done(&p);
}

static void test_all_attributes(void **state)
{
	struct parsed p;
	struct event_spec *s = one(&p,
		"kmem:kmalloc/bytes_alloc>1024/stack/key=ptr/size=bytes_alloc/"
		"alias=km/max-stack=32/");

	(void)state;
	assert_string_equal(s->filter, "bytes_alloc>1024");
	assert_true(s->stack);
	assert_string_equal(s->key, "ptr");
	assert_string_equal(s->size, "bytes_alloc");
	assert_string_equal(s->alias, "km");
	assert_int_equal(s->max_stack, 32);
	done(&p);
}

static void test_trailing_slash_optional(void **state)
{
	struct parsed p;
	struct event_spec *s = one(&p, "kmem:kmalloc//stack");

	(void)state;
	assert_true(s->stack);
	assert_null(s->filter);
	done(&p);
	s = one(&p, "kmem:kmalloc//stack/size=bytes_alloc");
	assert_true(s->stack);
	assert_string_equal(s->size, "bytes_alloc");
	done(&p);
}

static void test_escaped_slash(void **state)
{
	struct parsed p;
	struct event_spec *s = one(&p, "kmem:kmalloc/bytes_alloc\\/2>512/size=bytes_alloc\\/4/");

	(void)state;
	assert_string_equal(s->filter, "bytes_alloc/2>512");
	assert_string_equal(s->size, "bytes_alloc/4");
	/* text keeps what the user wrote */
	assert_string_equal(s->text, "kmem:kmalloc/bytes_alloc\\/2>512/size=bytes_alloc\\/4/");
	done(&p);
}

static void test_other_backslashes_kept(void **state)
{
	struct parsed p;
	struct event_spec *s = one(&p, "sched:sched_switch/prev_comm==\"a\\\"b\"/");

	(void)state;
	assert_string_equal(s->filter, "prev_comm==\"a\\\"b\"");
	done(&p);
}

static void test_comma_list(void **state)
{
	struct parsed p = { 0 };

	(void)state;
	assert_int_equal(parse(&p, "kmem:kmalloc/bytes_alloc>1024/size=bytes_alloc/stack/,"
				   "kmem:kmem_cache_alloc//size=bytes_alloc/", 3), 0);
	assert_int_equal(p.nr, 2);
	assert_string_equal(p.s[0].name, "kmalloc");
	assert_string_equal(p.s[0].filter, "bytes_alloc>1024");
	assert_string_equal(p.s[0].size, "bytes_alloc");
	assert_true(p.s[0].stack);
	assert_string_equal(p.s[0].text, "kmem:kmalloc/bytes_alloc>1024/size=bytes_alloc/stack/");
	assert_string_equal(p.s[1].name, "kmem_cache_alloc");
	assert_null(p.s[1].filter);
	assert_string_equal(p.s[1].size, "bytes_alloc");
	assert_false(p.s[1].stack);
	assert_string_equal(p.s[1].text, "kmem:kmem_cache_alloc//size=bytes_alloc/");
	assert_int_equal(p.s[0].group, 3);
	assert_int_equal(p.s[1].group, 3);
	done(&p);
}

static void test_comma_list_plain_and_attr_no_slash(void **state)
{
	struct parsed p = { 0 };

	(void)state;
	assert_int_equal(parse(&p, "kmem:kmalloc//stack,kmem:kfree,sched:sched_switch", 0), 0);
	assert_int_equal(p.nr, 3);
	assert_true(p.s[0].stack);
	assert_string_equal(p.s[1].name, "kfree");
	assert_string_equal(p.s[2].sys, "sched");
	assert_string_equal(p.s[2].name, "sched_switch");
	done(&p);
}

static void test_comma_after_filter(void **state)
{
	struct parsed p = { 0 };

	(void)state;
	assert_int_equal(parse(&p, "kmem:kmalloc/ptr!=0/,kmem:kfree", 0), 0);
	assert_int_equal(p.nr, 2);
	assert_string_equal(p.s[0].filter, "ptr!=0");
	assert_string_equal(p.s[0].text, "kmem:kmalloc/ptr!=0/");
	done(&p);
}

static void test_comma_inside_filter(void **state)
{
	struct parsed p;
	struct event_spec *s = one(&p, "kmem:kmalloc/printf(\"%d,%d\",a,b)/stack/");

	(void)state;
	assert_string_equal(s->filter, "printf(\"%d,%d\",a,b)");
	assert_true(s->stack);
	done(&p);
}

static void test_comma_in_filter_without_parens(void **state)
{
	struct parsed p;
	/* Inside /.../ a comma never splits, parentheses or not. */
	struct event_spec *s = one(&p, "kmem:kmalloc/a==1,b==2/");

	(void)state;
	assert_string_equal(s->filter, "a==1,b==2");
	done(&p);
}

static void test_comma_inside_attr_parens(void **state)
{
	struct parsed p = { 0 };

	(void)state;
	assert_int_equal(parse(&p, "kmem:kmalloc//key=hash(ptr,call_site)/size=max(a,b),kmem:kfree", 0), 0);
	assert_int_equal(p.nr, 2);
	assert_string_equal(p.s[0].key, "hash(ptr,call_site)");
	assert_string_equal(p.s[0].size, "max(a,b)");
	assert_string_equal(p.s[1].name, "kfree");
	done(&p);
}

static void test_comma_and_slash_inside_attr_string(void **state)
{
	struct parsed p;
	struct event_spec *s = one(&p, "kmem:kmalloc//key=strncmp(comm,\"a,b/c\",3)/stack");

	(void)state;
	assert_string_equal(s->key, "strncmp(comm,\"a,b/c\",3)");
	assert_true(s->stack);
	done(&p);
}

static void test_char_literal_comma(void **state)
{
	struct parsed p = { 0 };

	(void)state;
	assert_int_equal(parse(&p, "sched:sched_wakeup//key=comm[0]==','/,sched:sched_switch", 0), 0);
	assert_int_equal(p.nr, 2);
	assert_string_equal(p.s[0].key, "comm[0]==','");
	done(&p);
}

static void test_slash_inside_parens(void **state)
{
	struct parsed p;
	struct event_spec *s = one(&p, "kmem:kmalloc//size=(bytes_alloc/1024)/stack/");

	(void)state;
	assert_string_equal(s->size, "(bytes_alloc/1024)");
	assert_true(s->stack);
	done(&p);
}

static void test_globs(void **state)
{
	struct parsed p = { 0 };

	(void)state;
	assert_int_equal(parse(&p, "kmem:*,sched:sched_?akeup*,*:*", 0), 0);
	assert_int_equal(p.nr, 3);
	assert_string_equal(p.s[0].name, "*");
	assert_string_equal(p.s[1].name, "sched_?akeup*");
	assert_string_equal(p.s[2].sys, "*");
	done(&p);
}

static void test_append_to_existing(void **state)
{
	struct parsed p = { 0 };

	(void)state;
	assert_int_equal(parse(&p, "kmem:kmalloc", 0), 0);
	assert_int_equal(parse(&p, "kmem:kfree,kmem:mm_page_alloc", 1), 0);
	assert_int_equal(p.nr, 3);
	assert_int_equal(p.s[0].group, 0);
	assert_int_equal(p.s[1].group, 1);
	assert_int_equal(p.s[2].group, 1);
	assert_string_equal(p.s[2].name, "mm_page_alloc");
	/* A failed argument leaves the earlier ones untouched. */
	assert_int_equal(parse(&p, "kmem:kfree,oops", 2), -1);
	assert_int_equal(p.nr, 3);
	assert_string_equal(p.s[0].name, "kmalloc");
	done(&p);
}

static void test_whitespace_tolerated(void **state)
{
	struct parsed p = { 0 };

	(void)state;
	assert_int_equal(parse(&p, "kmem:kmalloc// stack / size= bytes_alloc /, kmem:kfree", 0), 0);
	assert_int_equal(p.nr, 2);
	assert_true(p.s[0].stack);
	assert_string_equal(p.s[0].size, "bytes_alloc");
	assert_string_equal(p.s[1].sys, "kmem");
	done(&p);
}

static void test_max_stack_zero_and_large(void **state)
{
	struct parsed p;
	struct event_spec *s = one(&p, "kmem:kmalloc//max-stack=0/");

	(void)state;
	assert_int_equal(s->max_stack, 0);
	done(&p);
	s = one(&p, "kmem:kmalloc//max-stack=127");
	assert_int_equal(s->max_stack, 127);
	done(&p);
}

static void test_filter_with_escaped_slash_then_attrs(void **state)
{
	struct parsed p = { 0 };

	(void)state;
	assert_int_equal(parse(&p, "a:b/x\\/y/alias=first,c:d/z/alias=second/", 0), 0);
	assert_int_equal(p.nr, 2);
	assert_string_equal(p.s[0].filter, "x/y");
	assert_string_equal(p.s[0].alias, "first");
	assert_string_equal(p.s[1].filter, "z");
	assert_string_equal(p.s[1].alias, "second");
	done(&p);
}

/* ---- errors: each names the culprit ---- */

static void test_err_no_colon(void **state)
{
	(void)state;
	expect_error("kmem", "bad event 'kmem'", "expected SYS:NAME");
	expect_error("kmem:", "bad event 'kmem:'", NULL);
	expect_error(":kmalloc", "bad event ':kmalloc'", NULL);
	expect_error("kmem:kmalloc:x", "bad event 'kmem:kmalloc:x'", NULL);
}

static void test_err_bad_chars_in_name(void **state)
{
	(void)state;
	expect_error("kmem:kmal loc", "bad event 'kmem:kmal loc'", NULL);
	expect_error("km\"em:x", "bad event", "km\"em:x");
}

static void test_err_unknown_attr(void **state)
{
	(void)state;
	expect_error("kmem:kmalloc//stak/", "unknown attribute 'stak'", "'kmem:kmalloc//stak/'");
	expect_error("kmem:kmalloc//stacks", "unknown attribute 'stacks'", NULL);
	expect_error("kmem:kmalloc//keys=a/", "unknown attribute 'keys=a'", NULL);
}

static void test_err_empty_values(void **state)
{
	(void)state;
	expect_error("kmem:kmalloc//key=/", "empty key=", "'kmem:kmalloc//key=/'");
	expect_error("kmem:kmalloc//size=", "empty size=", NULL);
	expect_error("kmem:kmalloc//alias=/", "empty alias=", NULL);
}

static void test_err_bad_max_stack(void **state)
{
	(void)state;
	expect_error("kmem:kmalloc//max-stack=x/", "bad max-stack 'x'", "'kmem:kmalloc//max-stack=x/'");
	expect_error("kmem:kmalloc//max-stack=-1/", "bad max-stack '-1'", NULL);
	expect_error("kmem:kmalloc//max-stack=12x/", "bad max-stack '12x'", NULL);
	expect_error("kmem:kmalloc//max-stack=99999999999999999999/", "bad max-stack", NULL);
	expect_error("kmem:kmalloc//max-stack=/", "bad max-stack ''", NULL);
}

static void test_err_unterminated_filter(void **state)
{
	(void)state;
	expect_error("kmem:kmalloc/bytes_alloc>1", "unterminated filter", "'kmem:kmalloc/bytes_alloc>1'");
	expect_error("kmem:kmalloc/", "unterminated filter", NULL);
	/* The comma is inside the filter, so the second event is swallowed. */
	expect_error("kmem:kmalloc/a>1,kmem:kfree", "unterminated filter", "kmem:kfree");
	expect_error("kmem:kmalloc/a\\/", "unterminated filter", NULL);
}

static void test_err_empty_event(void **state)
{
	(void)state;
	expect_error("a:b,,c:d", "empty event", "'a:b,,c:d'");
	expect_error("", "empty event", NULL);
	expect_error("a:b,", "empty event", NULL);
	expect_error(",a:b", "empty event", NULL);
	expect_error("  ", "empty event", NULL);
}

static void test_err_duplicate_attr(void **state)
{
	(void)state;
	expect_error("kmem:kmalloc//key=a/key=b/", "duplicate key=", "kmem:kmalloc//key=a/key=b/");
}

static void test_err_bad_alias(void **state)
{
	(void)state;
	expect_error("kmem:kmalloc//alias=1x/", "bad alias '1x'", NULL);
	expect_error("kmem:kmalloc//alias=a-b/", "bad alias 'a-b'", NULL);
}

static void test_err_empty_attribute(void **state)
{
	(void)state;
	expect_error("kmem:kmalloc//stack//", "empty attribute", "'kmem:kmalloc//stack//'");
}

static void test_err_unbalanced_attr(void **state)
{
	(void)state;
	expect_error("kmem:kmalloc//size=(a/stack/", "unbalanced '('", NULL);
	expect_error("kmem:kmalloc//key=\"abc/stack,kmem:kfree", "unterminated string", NULL);
}

static void test_err_second_event_named(void **state)
{
	(void)state;
	expect_error("kmem:kmalloc,kmem:kfree//stak", "unknown attribute 'stak'", "'kmem:kfree//stak'");
}

/* Garbage must be rejected or accepted, never crash or leak (ASan/valgrind). */
static void test_garbage_never_crashes(void **state)
{
	static const char *junk[] = {
		"/", "//", ":", "::", ",", ",,,", "\\", "a:b/\\", "a:b//\\", "a:b//(",
		"a:b//)", "a:b//\"", "a:b//'", "a:b/\"/", "a:b/(/", "a:b/)/", "a:b//,",
		"a:b///", "a:b////", "a:b//=/", "a:b//key", "a:b//key==/", "\x01\x02:\xff",
		"a:b/\\/\\/\\//", "a:b//key=((((((((", "a:b//max-stack=2147483648",
		"a:b//size=)))))/", "a:b//stack\\", "*", "a:b/,/,c:d",
	};
	unsigned seed = 12345;
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		struct parsed p = { 0 };

		p.err[0] = '\0';
		if (parse(&p, junk[i], 0) != 0)
			assert_true(p.err[0] != '\0');
		done(&p);
	}
	/* Random strings over the grammar's alphabet. */
	for (i = 0; i < 20000; i++) {
		static const char alpha[] = "ab:/\\,()\"'= stackeyizmx-1";
		struct parsed p = { 0 };
		size_t n, j;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % (sizeof(buf) - 1);
		for (j = 0; j < n; j++) {
			seed = seed * 1103515245u + 12345u;
			buf[j] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		buf[n] = '\0';
		if (parse(&p, buf, 0) != 0) {
			assert_true(p.err[0] != '\0');
			assert_int_equal(p.nr, 0);
		}
		done(&p);
	}
}

static void test_tiny_err_buffer(void **state)
{
	struct event_spec *s = NULL;
	int nr = 0;
	char err[8];

	(void)state;
	assert_int_equal(spec_parse("kmem:kmalloc//nope/", 0, &s, &nr, err, sizeof(err)), -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(spec_parse("kmem", 0, &s, &nr, NULL, 0), -1);
	spec_free(s, nr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_filter_only),
		cmocka_unit_test(test_empty_filter_is_null),
		cmocka_unit_test(test_all_attributes),
		cmocka_unit_test(test_trailing_slash_optional),
		cmocka_unit_test(test_escaped_slash),
		cmocka_unit_test(test_other_backslashes_kept),
		cmocka_unit_test(test_comma_list),
		cmocka_unit_test(test_comma_list_plain_and_attr_no_slash),
		cmocka_unit_test(test_comma_after_filter),
		cmocka_unit_test(test_comma_inside_filter),
		cmocka_unit_test(test_comma_in_filter_without_parens),
		cmocka_unit_test(test_comma_inside_attr_parens),
		cmocka_unit_test(test_comma_and_slash_inside_attr_string),
		cmocka_unit_test(test_char_literal_comma),
		cmocka_unit_test(test_slash_inside_parens),
		cmocka_unit_test(test_globs),
		cmocka_unit_test(test_append_to_existing),
		cmocka_unit_test(test_whitespace_tolerated),
		cmocka_unit_test(test_max_stack_zero_and_large),
		cmocka_unit_test(test_filter_with_escaped_slash_then_attrs),
		cmocka_unit_test(test_err_no_colon),
		cmocka_unit_test(test_err_bad_chars_in_name),
		cmocka_unit_test(test_err_unknown_attr),
		cmocka_unit_test(test_err_empty_values),
		cmocka_unit_test(test_err_bad_max_stack),
		cmocka_unit_test(test_err_unterminated_filter),
		cmocka_unit_test(test_err_empty_event),
		cmocka_unit_test(test_err_duplicate_attr),
		cmocka_unit_test(test_err_bad_alias),
		cmocka_unit_test(test_err_empty_attribute),
		cmocka_unit_test(test_err_unbalanced_attr),
		cmocka_unit_test(test_err_second_event_named),
		cmocka_unit_test(test_garbage_never_crashes),
		cmocka_unit_test(test_tiny_err_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
