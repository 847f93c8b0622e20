/*
 * Kernel symbols from /proc/kallsyms.
 *
 * The whole file is read with a few big read()s and parsed in place: the
 * read buffer becomes the name arena (separators overwritten with NULs),
 * so loading ~200k lines costs one allocation for the text and one for the
 * table. The table is sorted by address for ksyms_find(); a name index is
 * built only when ksyms_by_name() is first used.
 *
 * Not thread-safe: load before starting threads that look symbols up.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/ksyms.h"

/* The public struct plus what ordering duplicates needs. */
struct entry {
	struct ksym sym;
	uint32_t line;  /* input order, keeps the sort deterministic */
	char type;
};

static struct {
	int loaded;
	char *text;             /* the file contents: the name arena */
	struct entry *syms;     /* sorted by address */
	size_t nr;
	const char **modules;   /* interned module names */
	size_t nr_modules;
	size_t cap_modules;
	uint32_t *by_name;      /* indices into syms sorted by name, lazy */
} ks;

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Read a whole (possibly size-less /proc) file, NUL terminated. */
static int read_all(const char *path, char **out, size_t *outlen)
{
	size_t cap = 8 << 20, len = 0;
	char *buf = NULL, *nbuf;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (!buf || len + 1 >= cap) {
			if (buf)
				cap *= 2;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				err = -ENOMEM;
				break;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* Same module text -> same pointer; symbols of a module are contiguous. */
static const char *intern_module(const char *name)
{
	const char **nmods;
	size_t i;

	for (i = ks.nr_modules; i-- > 0;)
		if (!strcmp(ks.modules[i], name))
			return ks.modules[i];
	if (ks.nr_modules == ks.cap_modules) {
		size_t ncap = ks.cap_modules ? ks.cap_modules * 2 : 64;

		nmods = realloc(ks.modules, ncap * sizeof(*nmods));
		if (!nmods)
			return NULL;
		ks.modules = nmods;
		ks.cap_modules = ncap;
	}
	ks.modules[ks.nr_modules++] = name;
	return name;
}

/*
 * Parse one line "ADDR TYPE NAME[\t[MODULE]]" starting at p (NUL-splitting
 * it in place); returns the start of the next line.
 */
static char *parse_line(char *p, char *end, struct entry *e, int *ok)
{
	uint64_t addr = 0;
	char *nl = memchr(p, '\n', (size_t)(end - p));
	char *name, *q;
	int d, digits = 0;

	if (!nl)
		nl = end;
	*nl = '\0';
	*ok = 0;
	for (q = p; (d = hexval(*q)) >= 0; q++, digits++)
		addr = addr << 4 | (uint64_t)d;
	if (!digits || digits > 16 || q[0] != ' ' || !q[1] || q[2] != ' ')
		return nl + 1;
	e->type = q[1];
	name = q + 3;
	q = name;
	while (*q && *q != '\t' && *q != ' ')
		q++;
	if (q == name)
		return nl + 1;
	e->sym.module = NULL;
	if (*q) {
		char *mod, *close;

		*q++ = '\0';
		while (*q == ' ' || *q == '\t')
			q++;
		mod = q;
		if (*mod == '[' && (close = strchr(mod, ']')) != NULL) {
			*close = '\0';
			e->sym.module = intern_module(mod + 1);
			if (!e->sym.module)
				return nl + 1;
		}
	}
	e->sym.addr = addr;
	e->sym.name = name;
	*ok = 1;
	return nl + 1;
}

/* Rank among symbols sharing an address: the highest one is reported. */
static int preference(const struct entry *e)
{
	const char *n = e->sym.name;
	int rank = 0;

	switch (e->type) {
	case 'T': rank = 40; break;
	case 'W': rank = 30; break;
	case 't': rank = 20; break;
	case 'w': rank = 10; break;
	}
	/* "kfree" reads better than "__pi_kfree" or "_text". */
	while (*n == '_' && rank > 0) {
		rank--;
		n++;
	}
	return rank;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int px, py;

	if (x->sym.addr != y->sym.addr)
		return x->sym.addr < y->sym.addr ? -1 : 1;
	/* Preferred last: the search picks the last entry <= addr. */
	px = preference(x);
	py = preference(y);
	if (px != py)
		return px - py;
	return x->line < y->line ? 1 : (x->line > y->line ? -1 : 0);
}

static int keep_type(char type)
{
	/* Absolute symbols are no code or data addresses. */
	return type != 'a' && type != 'A' && type != 'U';
}

static int parse_all(char *text, size_t len)
{
	char *p = text, *end = text + len;
	size_t cap = 1, n = 0, zeros = 0;
	struct entry *syms;
	uint32_t line = 0;

	for (char *q = text; q < end; q++)
		cap += *q == '\n';
	syms = malloc(cap * sizeof(*syms));
	if (!syms)
		return -ENOMEM;
	while (p < end && n < cap) {
		int ok;

		p = parse_line(p, end, &syms[n], &ok);
		line++;
		if (!ok || !keep_type(syms[n].type))
			continue;
		if (syms[n].sym.addr == 0) {
			zeros++;
			continue;
		}
		syms[n].line = line;
		n++;
	}
	if (!n) {
		free(syms);
		/* All zero: kptr_restrict hides addresses from this user. */
		return zeros ? -EACCES : -ENOENT;
	}
	qsort(syms, n, sizeof(*syms), cmp_addr);
	ks.syms = syms;
	ks.nr = n;
	return 0;
}

int ksyms_load_file(const char *path)
{
	size_t len = 0;
	char *text = NULL;
	int err;

	ksyms_free();
	err = read_all(path, &text, &len);
	if (err)
		return err;
	ks.text = text;
	err = parse_all(text, len);
	if (err) {
		ksyms_free();
		return err;
	}
	ks.loaded = 1;
	return 0;
}

int ksyms_load(void)
{
	if (ks.loaded)
		return 0;
	return ksyms_load_file("/proc/kallsyms");
}

void ksyms_free(void)
{
	free(ks.text);
	free(ks.syms);
	free(ks.modules);
	free(ks.by_name);
	memset(&ks, 0, sizeof(ks));
}

/* Index of the last entry with addr <= target, or -1. */
static ptrdiff_t find_index(uint64_t addr)
{
	size_t lo = 0, hi = ks.nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks.syms[mid].sym.addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ptrdiff_t)lo - 1;
}

const struct ksym *ksyms_find(uint64_t addr)
{
	ptrdiff_t i = find_index(addr);

	return i < 0 ? NULL : &ks.syms[i].sym;
}

uint64_t ksyms_end(const struct ksym *s)
{
	const struct entry *e;
	size_t i;

	if (!s || !ks.nr)
		return UINT64_MAX;
	e = (const struct entry *)((const char *)s - offsetof(struct entry, sym));
	for (i = (size_t)(e - ks.syms) + 1; i < ks.nr; i++)
		if (ks.syms[i].sym.addr > s->addr)
			return ks.syms[i].sym.addr;
	return UINT64_MAX;
}

static int cmp_name_idx(const void *a, const void *b)
{
	const struct entry *x = &ks.syms[*(const uint32_t *)a];
	const struct entry *y = &ks.syms[*(const uint32_t *)b];
	int c = strcmp(x->sym.name, y->sym.name);

	if (c)
		return c;
	/* Same name: core kernel first, then the preferred type. */
	if (!x->sym.module != !y->sym.module)
		return x->sym.module ? 1 : -1;
	if (preference(x) != preference(y))
		return preference(y) - preference(x);
	return x->sym.addr < y->sym.addr ? -1 : (x->sym.addr > y->sym.addr);
}

static int build_name_index(void)
{
	size_t i;

	ks.by_name = malloc(ks.nr * sizeof(*ks.by_name));
	if (!ks.by_name)
		return -1;
	for (i = 0; i < ks.nr; i++)
		ks.by_name[i] = (uint32_t)i;
	qsort(ks.by_name, ks.nr, sizeof(*ks.by_name), cmp_name_idx);
	return 0;
}

int ksyms_by_name(const char *name, uint64_t *start, uint64_t *end)
{
	size_t lo = 0, hi = ks.nr;

	if (!name || !ks.nr || (!ks.by_name && build_name_index()))
		return -1;
	/* First entry whose name is >= name. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ks.syms[ks.by_name[mid]].sym.name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == ks.nr || strcmp(ks.syms[ks.by_name[lo]].sym.name, name))
		return -1;
	if (start)
		*start = ks.syms[ks.by_name[lo]].sym.addr;
	if (end)
		*end = ksyms_end(&ks.syms[ks.by_name[lo]].sym);
	return 0;
}

void ksyms_print_frame(FILE *f, uint64_t addr)
{
	const struct ksym *s = ksyms_find(addr);

	if (!s) {
		fprintf(f, "    %016" PRIx64 " [unknown] ([kernel.kallsyms])\n", addr);
		return;
	}
	if (s->module)
		fprintf(f, "    %016" PRIx64 " %s+0x%" PRIx64 " ([%s])\n",
			addr, s->name, addr - s->addr, s->module);
	else
		fprintf(f, "    %016" PRIx64 " %s+0x%" PRIx64 " ([kernel.kallsyms])\n",
			addr, s->name, addr - s->addr);
}
