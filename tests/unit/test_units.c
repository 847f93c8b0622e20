/* Units (lib/units.c): durations, sizes, wall clock, CPU lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "lib/units.h"

static void expect_ns(const char *s, uint64_t want)
{
	uint64_t ns = 0xdeadbeef;

	if (parse_duration_ns(s, &ns))
		fail_msg("'%s' rejected", s);
	if (ns != want)
		fail_msg("'%s' = %llu, want %llu", s, (unsigned long long)ns,
			 (unsigned long long)want);
}

static void expect_bad_duration(const char *s)
{
	uint64_t ns = 77;

	if (parse_duration_ns(s, &ns) != -1)
		fail_msg("'%s' accepted as %llu", s, (unsigned long long)ns);
	assert_int_equal(ns, 77);
}

static void test_duration_units(void **state)
{
	(void)state;
	expect_ns("0", 0);
	expect_ns("500", 500);
	expect_ns("500ns", 500);
	expect_ns("100us", 100000);
	expect_ns("10ms", 10000000);
	expect_ns("1s", 1000000000);
	expect_ns("2m", 120000000000ULL);
	expect_ns("007ms", 7000000);
}

static void test_duration_fraction(void **state)
{
	(void)state;
	expect_ns("1.5ms", 1500000);
	expect_ns("0.25s", 250000000);
	expect_ns("2.000001s", 2000001000);
	expect_ns("1.5ns", 1);
	expect_ns("0.1m", 6000000000ULL);
}

static void test_duration_limits(void **state)
{
	(void)state;
	expect_ns("18446744073709551615", UINT64_MAX);
	expect_bad_duration("18446744073709551616");
	expect_bad_duration("18446744073709551615s");
	expect_ns("18446744073s", 18446744073000000000ULL);
	expect_bad_duration("18446744074s");
	expect_bad_duration("18446744073.71s");
	expect_ns("18446744073ms", 18446744073000000ULL);
	expect_bad_duration("99999999999999999999999999ns");
}

static void test_duration_junk(void **state)
{
	(void)state;
	expect_bad_duration("");
	expect_bad_duration("ms");
	expect_bad_duration("-1");
	expect_bad_duration("-1ms");
	expect_bad_duration("+1ms");
	expect_bad_duration("1 ms");
	expect_bad_duration(" 1ms");
	expect_bad_duration("1ms ");
	expect_bad_duration("10mss");
	expect_bad_duration("10h");
	expect_bad_duration("10MS");
	expect_bad_duration("1.ms");
	expect_bad_duration(".5ms");
	expect_bad_duration("1.5.5ms");
	expect_bad_duration("0x10");
	expect_bad_duration("1e3");
	assert_int_equal(parse_duration_ns(NULL, &(uint64_t){ 0 }), -1);
}

static void expect_size(uint64_t bytes, const char *want)
{
	char buf[32];

	assert_ptr_equal(format_human_size(bytes, buf, sizeof(buf)), buf);
	assert_string_equal(buf, want);
}

static void test_human_size(void **state)
{
	(void)state;
	expect_size(0, "0 B");
	expect_size(1, "1 B");
	expect_size(1023, "1023 B");
	expect_size(1024, "1.00 KB");
	expect_size(1280, "1.25 KB");
	expect_size(1536 * 1024, "1.50 MB");
	expect_size(1ULL << 20, "1.00 MB");
	expect_size(1ULL << 30, "1.00 GB");
	expect_size(1ULL << 40, "1024.00 GB");
	expect_size(5ULL * (1ULL << 30) / 4, "1.25 GB");
}

static void test_human_size_truncates(void **state)
{
	char buf[5];

	(void)state;
	format_human_size(1ULL << 30, buf, sizeof(buf));
	assert_string_equal(buf, "1.00");
}

/* Wall time for mono_ns, formatted the way the test expects it. */
static void expected_wall(time_t sec, char *buf, size_t len)
{
	struct tm tm;

	localtime_r(&sec, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void check_wallclock_in_tz(const char *tz)
{
	struct timespec rt, mt;
	char got[64], want[64];
	uint64_t mono, offset;
	time_t target;
	unsigned us;

	setenv("TZ", tz, 1);
	tzset();
	wallclock_init();
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	offset = ((uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec) -
		 ((uint64_t)mt.tv_sec * 1000000000ULL + (uint64_t)mt.tv_nsec);
	/*
	 * Aim at the middle of a second one hour back, so the few
	 * microseconds between the two offsets cannot change the second.
	 */
	target = rt.tv_sec - 3600;
	mono = (uint64_t)target * 1000000000ULL + 500000000ULL - offset;
	format_wallclock(mono, got, sizeof(got));
	expected_wall(target, want, sizeof(want));
	assert_int_equal(strlen(got), 26);
	assert_memory_equal(got, want, 19);
	assert_int_equal(got[19], '.');
	assert_int_equal(sscanf(got + 20, "%6u", &us), 1);
	assert_in_range(us, 499000, 501000);
}

static void test_wallclock_local_time(void **state)
{
	(void)state;
	check_wallclock_in_tz("UTC");
	/* POSIX "UTC-5" is five hours east: the hour must move. */
	check_wallclock_in_tz("UTC-5");
	unsetenv("TZ");
	tzset();
}

static void test_wallclock_steps(void **state)
{
	char a[64], b[64];
	uint64_t m = mono_now_ns();

	(void)state;
	wallclock_init();
	/* Align to a whole microsecond inside a second. */
	m -= m % 1000000000ULL;
	format_wallclock(m + 123456789ULL, a, sizeof(a));
	format_wallclock(m + 123457789ULL, b, sizeof(b));
	assert_memory_equal(a, b, 20);
	assert_int_not_equal(strcmp(a + 20, b + 20), 0);
	{
		unsigned ua, ub;

		sscanf(a + 20, "%u", &ua);
		sscanf(b + 20, "%u", &ub);
		assert_int_equal((ub + 1000000 - ua) % 1000000, 1);
	}
}

static void test_mono_now_advances(void **state)
{
	struct timespec ts;
	uint64_t a, b, c;

	(void)state;
	a = mono_now_ns();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	b = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	c = mono_now_ns();
	assert_true(a <= b && b <= c);
}

static void expect_cpus(const char *s, int max, const char *want_bits, int want_n)
{
	unsigned char set[64];
	int i;

	memset(set, 0xaa, sizeof(set));
	if (parse_cpu_list(s, max, set) != want_n)
		fail_msg("'%s' gives %d CPUs, want %d", s, parse_cpu_list(s, max, set), want_n);
	for (i = 0; i < max; i++)
		if (!!set[i] != (want_bits[i] == '1'))
			fail_msg("'%s': cpu %d is %d", s, i, set[i]);
}

static void test_cpu_list(void **state)
{
	(void)state;
	expect_cpus("0", 8, "10000000", 1);
	expect_cpus("0-3,6", 8, "11110010", 5);
	expect_cpus("7", 8, "00000001", 1);
	expect_cpus("1,1,0-1", 8, "11000000", 2);
	expect_cpus("2-2", 8, "00100000", 1);
	expect_cpus("0-1\n", 4, "1100", 2);
	expect_cpus("0-63", 64, "1111111111111111111111111111111111111111111111111111111111111111", 64);
}

static void expect_bad_cpus(const char *s, int max)
{
	unsigned char set[16];
	int i;

	memset(set, 0xaa, sizeof(set));
	if (parse_cpu_list(s, max, set) != -1)
		fail_msg("'%s' accepted", s);
	for (i = 0; i < max; i++)
		assert_int_equal(set[i], 0);
}

static void test_cpu_list_bad(void **state)
{
	(void)state;
	expect_bad_cpus("", 8);
	expect_bad_cpus("8", 8);
	expect_bad_cpus("0-8", 8);
	expect_bad_cpus("3-1", 8);
	expect_bad_cpus("a", 8);
	expect_bad_cpus("1,", 8);
	expect_bad_cpus(",1", 8);
	expect_bad_cpus("1,,2", 8);
	expect_bad_cpus("1-", 8);
	expect_bad_cpus("-1", 8);
	expect_bad_cpus("0-3,6x", 8);
	expect_bad_cpus("1 2", 8);
	expect_bad_cpus("99999999999999999999", 8);
	assert_int_equal(parse_cpu_list(NULL, 8, (unsigned char[8]){ 0 }), -1);
	assert_int_equal(parse_cpu_list("0", 0, (unsigned char[1]){ 0 }), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_fraction),
		cmocka_unit_test(test_duration_limits),
		cmocka_unit_test(test_duration_junk),
		cmocka_unit_test(test_human_size),
		cmocka_unit_test(test_human_size_truncates),
		cmocka_unit_test(test_wallclock_local_time),
		cmocka_unit_test(test_wallclock_steps),
		cmocka_unit_test(test_mono_now_advances),
		cmocka_unit_test(test_cpu_list),
		cmocka_unit_test(test_cpu_list_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
