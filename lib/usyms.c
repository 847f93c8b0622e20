/* User-space symbolizer: /proc/PID/maps + libdwfl (ELF symtab/dynsym, DWARF lines). */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/usyms.h"

struct uobj {                 /* one ELF file, shared by every process mapping it */
	uint64_t dev, ino;
	char *path;
	Dwfl *dwfl;           /* NULL when the file cannot be opened as ELF */
	Dwfl_Module *mod;
	bool tried;
	struct uobj *next;
};

struct umap {
	uint64_t start, end, pgoff;
	struct uobj *obj;     /* NULL for anonymous/special mappings */
	char *name;           /* "[heap]", "[stack]" ... for those */
};

struct uproc {
	int pid;
	struct umap *maps;
	size_t nr;
	struct uproc *next;
};

struct ucache_ent {            /* resolved (object, file-relative address) */
	struct uobj *obj;
	uint64_t vaddr;
	char *sym;
	uint64_t off;
	char *file;
	int line;
	bool line_done;
	bool used;
};

#define UCACHE_SIZE 4096

struct usyms {
	struct uobj *objs;
	struct uproc *procs;
	struct ucache_ent cache[UCACHE_SIZE];
};

static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

struct usyms *usyms_new(void)
{
	return calloc(1, sizeof(struct usyms));
}

static void free_maps(struct uproc *p)
{
	for (size_t i = 0; i < p->nr; i++)
		free(p->maps[i].name);
	free(p->maps);
	p->maps = NULL;
	p->nr = 0;
}

void usyms_free(struct usyms *u)
{
	if (!u)
		return;
	for (struct uproc *p = u->procs, *n; p; p = n) {
		n = p->next;
		free_maps(p);
		free(p);
	}
	for (struct uobj *o = u->objs, *n; o; o = n) {
		n = o->next;
		if (o->dwfl)
			dwfl_end(o->dwfl);
		free(o->path);
		free(o);
	}
	for (size_t i = 0; i < UCACHE_SIZE; i++) {
		free(u->cache[i].sym);
		free(u->cache[i].file);
	}
	free(u);
}

static struct uobj *get_obj(struct usyms *u, uint64_t dev, uint64_t ino, const char *path)
{
	struct uobj *o;

	for (o = u->objs; o; o = o->next)
		if (ino ? (o->dev == dev && o->ino == ino) : !strcmp(o->path, path))
			return o;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->path = strdup(path);
	if (!o->path) {
		free(o);
		return NULL;
	}
	o->dev = dev;
	o->ino = ino;
	o->next = u->objs;
	u->objs = o;
	return o;
}

/* Open the object with libdwfl at bias 0, so module addresses are ELF vaddrs. */
static bool open_obj(struct uobj *o, int pid)
{
	char alt[4200];
	int fd;

	if (o->tried)
		return o->mod != NULL;
	o->tried = true;
	fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && pid > 0) {
		/* Another mount namespace (containers): reach it through the process. */
		snprintf(alt, sizeof(alt), "/proc/%d/root%s", pid, o->path);
		fd = open(alt, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return false;
	o->dwfl = dwfl_begin(&offline_callbacks);
	if (!o->dwfl) {
		close(fd);
		return false;
	}
	/* dwfl owns fd from here on. */
	o->mod = dwfl_report_elf(o->dwfl, o->path, o->path, fd, 0, false);
	dwfl_report_end(o->dwfl, NULL, NULL);
	return o->mod != NULL;
}

/* Map a file offset to the ELF virtual address through the PT_LOAD headers. */
static bool file_off_to_vaddr(struct uobj *o, uint64_t off, uint64_t *vaddr)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(o->mod, &bias);
	size_t n;

	if (!elf || elf_getphdrnum(elf, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (off >= ph.p_offset && off < ph.p_offset + ph.p_filesz) {
			*vaddr = off - ph.p_offset + ph.p_vaddr;
			return true;
		}
	}
	return false;
}

static struct uproc *get_proc(struct usyms *u, int pid, bool create)
{
	struct uproc *p;

	for (p = u->procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	if (!create || !(p = calloc(1, sizeof(*p))))
		return NULL;
	p->pid = pid;
	p->next = u->procs;
	u->procs = p;
	return p;
}

int usyms_capture(struct usyms *u, int pid)
{
	char path[64], line[4400];
	struct umap *maps = NULL;
	size_t nr = 0, cap = 0;
	struct uproc *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, pgoff, ino;
		unsigned maj, min;
		char perms[8], name[4200] = "";
		struct umap m = { 0 };

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %4199[^\n]", &start, &end, perms, &pgoff,
			   &maj, &min, &ino, name) < 7)
			continue;
		if (perms[2] != 'x')
			continue;  /* only code can be a return address */
		m.start = start;
		m.end = end;
		m.pgoff = pgoff;
		{
			char *s = name;

			while (*s == ' ')
				s++;
			if (*s == '/')
				m.obj = get_obj(u, ((uint64_t)maj << 32) | min, ino, s);
			else if (*s)
				m.name = strdup(s);
		}
		if (nr == cap) {
			struct umap *t = realloc(maps, (cap = cap ? cap * 2 : 64) * sizeof(*maps));

			if (!t) {
				free(m.name);
				break;
			}
			maps = t;
		}
		maps[nr++] = m;
	}
	fclose(f);
	if (!nr) {
		free(maps);
		return -ESRCH;  /* a zombie has no maps: keep what was captured before */
	}
	p = get_proc(u, pid, true);
	if (!p) {
		for (size_t i = 0; i < nr; i++)
			free(maps[i].name);
		free(maps);
		return -ENOMEM;
	}
	free_maps(p);
	p->maps = maps;
	p->nr = nr;
	return 0;
}

static struct ucache_ent *lookup(struct usyms *u, struct uobj *o, uint64_t vaddr)
{
	size_t h = (size_t)((vaddr * 0x9E3779B97F4A7C15ull) ^ (uintptr_t)o) % UCACHE_SIZE;
	struct ucache_ent *e = &u->cache[h];
	GElf_Sym sym;
	GElf_Off off = 0;
	const char *name;

	if (e->used && e->obj == o && e->vaddr == vaddr)
		return e;
	free(e->sym);
	free(e->file);
	memset(e, 0, sizeof(*e));
	e->used = true;
	e->obj = o;
	e->vaddr = vaddr;
	name = dwfl_module_addrinfo(o->mod, vaddr, &off, &sym, NULL, NULL, NULL);
	if (name) {
		e->sym = strdup(name);
		e->off = off;
	}
	return e;
}

static void lookup_line(struct ucache_ent *e)
{
	Dwfl_Line *l;
	const char *src;
	int line = 0;

	if (e->line_done)
		return;
	e->line_done = true;
	/* A return address points after the call: look up the call instruction. */
	l = dwfl_module_getsrc(e->obj->mod, e->vaddr ? e->vaddr - 1 : 0);
	if (!l)
		return;
	src = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
	if (src && line > 0) {
		const char *base = strrchr(src, '/');

		e->file = strdup(base ? base + 1 : src);
		e->line = line;
	}
}

int usyms_resolve(struct usyms *u, int pid, uint64_t addr, bool want_line, struct usym *out)
{
	struct uproc *p = get_proc(u, pid, false);
	struct ucache_ent *e;
	uint64_t vaddr;

	memset(out, 0, sizeof(*out));
	if (!p && usyms_capture(u, pid) == 0)
		p = get_proc(u, pid, false);
	if (!p)
		return -1;
	for (size_t i = 0; i < p->nr; i++) {
		struct umap *m = &p->maps[i];

		if (addr < m->start || addr >= m->end)
			continue;
		if (!m->obj) {
			out->object = m->name;
			return 0;
		}
		out->object = m->obj->path;
		if (!open_obj(m->obj, pid) || !file_off_to_vaddr(m->obj, addr - m->start + m->pgoff, &vaddr))
			return 0;
		e = lookup(u, m->obj, vaddr);
		out->sym = e->sym;
		out->off = e->off;
		if (want_line) {
			lookup_line(e);
			out->file = e->file;
			out->line = e->line;
		}
		return 0;
	}
	return -1;
}

void usyms_print_frame(FILE *f, struct usyms *u, int pid, uint64_t addr, bool want_line)
{
	struct usym s;

	fprintf(f, "    %016" PRIx64 " ", addr);
	if (usyms_resolve(u, pid, addr, want_line, &s)) {
		fprintf(f, "[unknown]\n");
		return;
	}
	if (s.sym)
		fprintf(f, "%s+0x%" PRIx64, s.sym, s.off);
	else
		fprintf(f, "[unknown]");
	if (s.object)
		fprintf(f, " (%s)", s.object);
	if (s.file)
		fprintf(f, " %s:%d", s.file, s.line);
	fputc('\n', f);
}
