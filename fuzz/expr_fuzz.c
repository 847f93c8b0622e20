/*
 * libFuzzer target for the expression language: compile arbitrary text
 * against real tracepoint formats and evaluate it on an arbitrary record.
 *
 * Input layout: byte 0 picks the event, byte 1 the record size (0..255,
 * capped to the buffer), then the expression text up to a NUL; the
 * bytes after the NUL are the record (zero padded).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event-parse.h>

#include "expr/expr.h"
#include "lib/ksyms.h"

static const struct {
	const char *file, *sys, *name;
} formats[] = {
	{ "kmalloc.format", "kmem", "kmalloc" },
	{ "sched_switch.format", "sched", "sched_switch" },
	{ "sched_process_exec.format", "sched", "sched_process_exec" },
	{ "dma_alloc_sgt.format", "dma", "dma_alloc_sgt" },
	{ "synthetic_rel_loc.format", "synthetic", "rel_loc_demo" },
};

#define NR_FORMATS (sizeof(formats) / sizeof(formats[0]))
#define MAX_RECORD 256

static struct tep_event *events[NR_FORMATS];
static FILE *devnull;

static int load_format(struct tep_handle *tep, const char *dir, size_t i)
{
	char path[512], *buf;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, formats[i].file);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "expr_fuzz: cannot open %s (run from the source root or set EXPR_FORMATS)\n",
			path);
		return -1;
	}
	buf = calloc(1, 1 << 16);
	len = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	if (tep_parse_event(tep, buf, len, formats[i].sys)) {
		free(buf);
		return -1;
	}
	free(buf);
	events[i] = tep_find_event_by_name(tep, formats[i].sys, formats[i].name);
	return events[i] ? 0 : -1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("EXPR_FORMATS") ? getenv("EXPR_FORMATS") : "tests/unit/formats";
	static const char syms[] = "ffffffff81000000 T _stext\nffffffff81234000 T __kmalloc_noprof\n";
	char symfile[] = "/tmp/expr_fuzz_kallsyms.XXXXXX";
	struct tep_handle *tep = tep_alloc();
	FILE *f;
	int fd;

	(void)argc;
	(void)argv;
	tep_set_long_size(tep, 8);
	for (size_t i = 0; i < NR_FORMATS; i++)
		if (load_format(tep, dir, i))
			exit(1);
	/* A tiny symbol table so ksymbol() has something to find. */
	fd = mkstemp(symfile);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f) {
		fputs(syms, f);
		fclose(f);
		ksyms_load_file(symfile);
		unlink(symfile);
	}
	devnull = fopen("/dev/null", "w");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t record[MAX_RECORD];
	struct expr_error err;
	struct tep_event *ev;
	uint32_t rsize;
	size_t tlen, rlen;
	struct expr *e;
	char *text;

	if (size < 2)
		return 0;
	ev = events[data[0] % NR_FORMATS];
	rsize = data[1];
	data += 2;
	size -= 2;
	tlen = strnlen((const char *)data, size);
	text = malloc(tlen + 1);
	if (!text)
		return 0;
	memcpy(text, data, tlen);
	text[tlen] = '\0';
	/* The record: what follows the text, zero padded to rsize. */
	memset(record, 0, sizeof(record));
	rlen = tlen < size ? size - tlen - 1 : 0;
	memcpy(record, data + size - rlen, rlen < sizeof(record) ? rlen : sizeof(record));

	e = expr_compile(text, ev, &err);
	if (!e) {
		expr_print_error(devnull, "fuzz", text, &err);
		free(text);
		return 0;
	}
	expr_set_output(e, devnull);
	/* Hand the exact size to the evaluator on a heap copy so ASan sees overreads. */
	{
		uint8_t *rec = malloc(rsize ? rsize : 1);
		const char *s;
		int len;

		memcpy(rec, record, rsize);
		(void)expr_eval(e, rec, rsize);
		if (expr_result_type(e) == EXPR_STR && !expr_eval_str(e, rec, rsize, &s, &len) &&
		    len > 0)
			(void)(volatile char)s[len - 1];
		free(rec);
	}
	(void)expr_faults(e);
	expr_free(e);
	free(text);
	return 0;
}
