/*
 * User-space symbolizer: process maps (from /proc/PID/maps or the kernel's
 * MMAP2/FORK/EXIT records) + libdwfl (ELF symtab/dynsym, DWARF lines).
 */
#include <ctype.h>
#include <dirent.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/units.h"
#include "lib/usyms.h"

#define OBJ_BUCKETS 256
#define PROC_BUCKETS 1024
#define UCACHE_SIZE 4096

struct uobj {                 /* one ELF file, shared by every process mapping it */
	uint64_t dev, ino;
	char *path;
	Dwfl *dwfl;           /* NULL when the file cannot be opened as ELF */
	Dwfl_Module *mod;
	bool tried;
	struct uobj *next;    /* hash chain */
};

struct umap {
	uint64_t start, end, pgoff;
	struct uobj *obj;     /* NULL for anonymous/special mappings */
	char *name;           /* "[vdso]", "//anon" ... for those */
};

/* How long an exited process keeps its maps for samples still in other rings. */
#define EXIT_GRACE_NS 2000000000ULL

struct uproc {
	int pid;
	bool exited, keep, on_exit_list;
	uint64_t exit_ns;         /* when its EXIT record was read (CLOCK_MONOTONIC) */
	uint64_t exit_time;       /* the EXIT record's own time */
	struct umap *maps;
	size_t nr, cap;
	struct uproc *next;       /* hash chain */
	struct uproc *next_exit;  /* exited, waiting for usyms_gc() */
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

struct usyms {
	struct uobj *objs[OBJ_BUCKETS];
	struct uproc *procs[PROC_BUCKETS];
	struct uproc *exit_list;
	unsigned nr_procs;
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
	p->nr = p->cap = 0;
}

void usyms_free(struct usyms *u)
{
	if (!u)
		return;
	for (size_t b = 0; b < PROC_BUCKETS; b++)
		for (struct uproc *p = u->procs[b], *n; p; p = n) {
			n = p->next;
			free_maps(p);
			free(p);
		}
	for (size_t b = 0; b < OBJ_BUCKETS; b++)
		for (struct uobj *o = u->objs[b], *n; o; o = n) {
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

static size_t str_hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

/* Files are told apart by device+inode (a path can be replaced); path only when there is no inode. */
static struct uobj *get_obj(struct usyms *u, uint64_t dev, uint64_t ino, const char *path)
{
	size_t b = (ino ? (size_t)((dev * 31 + ino) * 0x9E3779B97F4A7C15ull >> 32) : str_hash(path)) % OBJ_BUCKETS;
	struct uobj *o;

	for (o = u->objs[b]; o; o = o->next)
		if (ino ? (o->dev == dev && o->ino == ino) : (!o->ino && !strcmp(o->path, path)))
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
	o->next = u->objs[b];
	u->objs[b] = o;
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
	size_t b = (size_t)(unsigned)pid % PROC_BUCKETS;
	struct uproc *p;

	for (p = u->procs[b]; p; p = p->next)
		if (p->pid == pid)
			return p;
	if (!create || !(p = calloc(1, sizeof(*p))))
		return NULL;
	p->pid = pid;
	p->next = u->procs[b];
	u->procs[b] = p;
	u->nr_procs++;
	return p;
}

static void free_proc(struct usyms *u, struct uproc *gone)
{
	struct uproc **pp = &u->procs[(size_t)(unsigned)gone->pid % PROC_BUCKETS];

	while (*pp && *pp != gone)
		pp = &(*pp)->next;
	if (*pp)
		*pp = gone->next;
	free_maps(gone);
	free(gone);
	u->nr_procs--;
}

/* Append m; the process owns m->name from here on (also on failure). */
static int push_map(struct uproc *p, const struct umap *m)
{
	if (p->nr == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct umap *n = realloc(p->maps, cap * sizeof(*n));

		if (!n) {
			free(m->name);
			return -1;
		}
		p->maps = n;
		p->cap = cap;
	}
	p->maps[p->nr++] = *m;
	return 0;
}

static bool overlaps(const struct umap *a, const struct umap *b)
{
	return a->start < b->end && b->start < a->end;
}

/* A new mapping replaces whatever it overlaps, as mmap(MAP_FIXED) does. */
static int add_map(struct uproc *p, const struct umap *m)
{
	size_t i = 0;

	while (i < p->nr) {
		struct umap *o = &p->maps[i];

		if (!overlaps(o, m)) {
			i++;
		} else if (o->start < m->start && o->end > m->end) {
			struct umap right = *o;

			/* m punches a hole: o keeps its left part, its right part is a new map. */
			right.pgoff += m->end - o->start;
			right.start = m->end;
			right.name = o->name ? strdup(o->name) : NULL;
			o->end = m->start;
			push_map(p, &right);
			i++;
		} else if (o->start < m->start) {
			o->end = m->start;
			i++;
		} else if (o->end > m->end) {
			o->pgoff += m->end - o->start;
			o->start = m->end;
			i++;
		} else {
			free(o->name);
			p->maps[i] = p->maps[--p->nr];
		}
	}
	return push_map(p, m);
}

/* Parse one /proc/PID/maps line into m; false for lines that cannot hold code. */
static bool parse_maps_line(struct usyms *u, const char *line, struct umap *m)
{
	unsigned long long start, end, pgoff, ino;
	unsigned maj, min;
	char perms[8], name[4200] = "";
	const char *s = name;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %4199[^\n]", &start, &end, perms, &pgoff,
		   &maj, &min, &ino, name) < 7)
		return false;
	if (perms[2] != 'x')
		return false;  /* only code can be a return address */
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->pgoff = pgoff;
	while (*s == ' ')
		s++;
	if (*s == '/')
		m->obj = get_obj(u, ((uint64_t)maj << 32) | min, ino, s);
	else if (*s)
		m->name = strdup(s);
	return true;
}

int usyms_capture(struct usyms *u, int pid)
{
	char path[64], line[4400];
	struct uproc fresh = { .pid = pid }, *p;
	struct umap m;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (parse_maps_line(u, line, &m) && push_map(&fresh, &m))
			break;
	fclose(f);
	if (!fresh.nr) {
		free_maps(&fresh);
		return -ESRCH;  /* a zombie has no maps: keep what was captured before */
	}
	p = get_proc(u, pid, true);
	if (!p) {
		free_maps(&fresh);
		return -ENOMEM;
	}
	free_maps(p);
	p->maps = fresh.maps;
	p->nr = fresh.nr;
	p->cap = fresh.cap;
	return 0;
}

int usyms_capture_all(struct usyms *u)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (isdigit((unsigned char)e->d_name[0]) && !usyms_capture(u, atoi(e->d_name)))
			n++;
	closedir(d);
	return n;
}

/* A pid seen again after its exit was recorded is a new process (pid reuse or fork). */
/*
 * The entry for a process that starts at `time`. An exited entry is a pid
 * being reused only if it exited before that: records of one short-lived
 * process may be read EXIT first (they come from different CPUs' rings).
 */
static struct uproc *live_proc(struct usyms *u, int pid, uint64_t time)
{
	struct uproc *p = get_proc(u, pid, true);

	if (p && p->exited && time > p->exit_time) {
		p->exited = p->keep = false;
		free_maps(p);
	}
	return p;
}

void usyms_mmap(struct usyms *u, int pid, uint64_t start, uint64_t len, uint64_t pgoff,
		uint64_t dev, uint64_t ino, const char *path)
{
	struct uproc *p = get_proc(u, pid, true);
	struct umap m = { .start = start, .end = start + len, .pgoff = pgoff };

	if (!p || !len)
		return;
	/* "//anon" is the kernel's name for anonymous executable memory (JITs). */
	if (path[0] == '/' && path[1] != '/')
		m.obj = get_obj(u, dev, ino, path);
	else
		m.name = strdup(path);
	add_map(p, &m);
}

void usyms_fork(struct usyms *u, int ppid, int pid, uint64_t time)
{
	struct uproc *parent = get_proc(u, ppid, false), *child;

	if (!parent || ppid == pid || !(child = live_proc(u, pid, time)))
		return;
	/*
	 * Without --order the child's own MMAP2 records (after an exec) may
	 * have been read before this FORK: they win over the inherited ones.
	 */
	for (size_t i = 0; i < parent->nr; i++) {
		struct umap m = parent->maps[i];
		bool taken = false;

		for (size_t k = 0; k < child->nr && !taken; k++)
			taken = overlaps(&child->maps[k], &m);
		if (taken)
			continue;
		m.name = m.name ? strdup(m.name) : NULL;
		if (push_map(child, &m))
			return;
	}
}

void usyms_exit(struct usyms *u, int pid, uint64_t time)
{
	struct uproc *p = get_proc(u, pid, false);

	if (!p || p->exited)
		return;
	p->exited = true;
	p->exit_time = time;
	p->exit_ns = mono_now_ns();
	if (!p->on_exit_list) {
		p->on_exit_list = true;
		p->next_exit = u->exit_list;
		u->exit_list = p;
	}
}

void usyms_keep(struct usyms *u, int pid)
{
	/*
	 * Without --order a sample can be read before the FORK/MMAP2 records
	 * of its process (another CPU's ring): the entry made here is filled
	 * when they come.
	 */
	struct uproc *p = get_proc(u, pid, true);

	if (p)
		p->keep = true;
}

void usyms_gc(struct usyms *u)
{
	struct uproc **pp = &u->exit_list;

	/*
	 * A sample of the process may sit in another CPU's ring behind its
	 * EXIT record, and rounds can come a millisecond apart under load:
	 * maps are freed only after a grace time, not a number of rounds.
	 */
	uint64_t now = mono_now_ns();

	while (*pp) {
		struct uproc *p = *pp;

		if (p->exited && !p->keep && now - p->exit_ns < EXIT_GRACE_NS) {
			pp = &p->next_exit;
			continue;
		}
		*pp = p->next_exit;
		p->on_exit_list = false;
		if (p->exited && !p->keep)
			free_proc(u, p);
	}
}

unsigned usyms_nr_procs(const struct usyms *u)
{
	return u->nr_procs;
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
	/* Not seen at all (e.g. memleak's target before its first capture): try while it lives. */
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
