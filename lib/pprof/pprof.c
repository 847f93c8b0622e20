/*
 * pprof writer; see pprof.h. Samples, locations, functions and mappings are
 * kept as small plain records while a report adds samples; the protobuf-c
 * message tree exists only inside pprof_write().
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/callchain.h"
#include "lib/ksyms.h"
#include "lib/pprof/pprof.h"
#include "lib/pprof/profile.pb-c.h"
#include "lib/sample.h"
#include "lib/stack.h"
#include "lib/usyms.h"

const struct pprof_type pprof_heap_types[PPROF_NR_HEAP_TYPES] = {
	{ "alloc_objects", "count" }, { "alloc_space", "bytes" },
	{ "inuse_objects", "count" }, { "inuse_space", "bytes" },
};

/* Open addressing (a, b) -> id; id 0 marks an empty slot. */
struct idtab {
	struct idslot { uint64_t a, b, id; } *slots;
	uint64_t mask, nr;
};

struct pfunc { int64_t name, file; };
struct pmap { int64_t file; bool lines; };
struct ploc { uint64_t map, addr, func; int64_t line; };
struct psample {
	uint64_t *locs;
	uint32_t nr_locs;
	int64_t event;
	int64_t *values;
};

struct pprof {
	int nr_types;
	int64_t (*types)[2];      /* string ids of type, unit */
	int64_t default_type;
	char **strs;
	uint64_t nr_strs, cap_strs;
	uint64_t *str_index;      /* open addressing: string id + 1, 0 = empty */
	uint64_t str_mask;
	struct idtab func_ids, map_ids, loc_ids;
	struct pfunc *funcs;
	struct pmap *maps;
	struct ploc *locs;
	uint64_t nr_funcs, nr_maps, nr_locs, cap_funcs, cap_maps, cap_locs;
	struct psample *samples;
	uint64_t nr_samples, cap_samples;
	uint64_t *scratch;        /* location ids of the sample being added */
	uint64_t cap_scratch;
};

static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xff51afd7ed558ccdull;

	return h ^ (h >> 29);
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* Grow a plain array by doubling; 0 or -1. */
static int grow(void **arr, uint64_t *cap, uint64_t need, size_t elem)
{
	uint64_t n = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*arr, n * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = n;
	return 0;
}

static int idtab_grow(struct idtab *t)
{
	uint64_t cap = t->slots ? (t->mask + 1) * 2 : 1024;
	struct idslot *n = calloc(cap, sizeof(*n));

	if (!n)
		return -1;
	for (uint64_t i = 0; t->slots && i <= t->mask; i++) {
		struct idslot *s = &t->slots[i];
		uint64_t k;

		if (!s->id)
			continue;
		for (k = mix(s->a, s->b) & (cap - 1); n[k].id; k = (k + 1) & (cap - 1))
			;
		n[k] = *s;
	}
	free(t->slots);
	t->slots = n;
	t->mask = cap - 1;
	return 0;
}

/* The slot of (a, b): its id, or an empty slot the caller fills. NULL when out of memory. */
static struct idslot *idtab_slot(struct idtab *t, uint64_t a, uint64_t b)
{
	uint64_t i;

	if ((!t->slots || (t->nr + 1) * 2 > t->mask + 1) && idtab_grow(t))
		return NULL;
	for (i = mix(a, b) & t->mask; t->slots[i].id; i = (i + 1) & t->mask)
		if (t->slots[i].a == a && t->slots[i].b == b)
			return &t->slots[i];
	t->slots[i].a = a;
	t->slots[i].b = b;
	return &t->slots[i];
}

/* Index of s in the string table, added on first use; -1 when out of memory. */
static int64_t str_id(struct pprof *p, const char *s)
{
	uint64_t i;

	if ((p->nr_strs + 1) * 2 > p->str_mask + 1) {
		uint64_t cap = (p->str_mask + 1) * 2;
		uint64_t *n = calloc(cap, sizeof(*n));

		if (!n)
			return -1;
		for (uint64_t k = 0; k < p->nr_strs; k++) {
			for (i = str_hash(p->strs[k]) & (cap - 1); n[i]; i = (i + 1) & (cap - 1))
				;
			n[i] = k + 1;
		}
		free(p->str_index);
		p->str_index = n;
		p->str_mask = cap - 1;
	}
	for (i = str_hash(s) & p->str_mask; p->str_index[i]; i = (i + 1) & p->str_mask)
		if (!strcmp(p->strs[p->str_index[i] - 1], s))
			return (int64_t)p->str_index[i] - 1;
	if (grow((void **)&p->strs, &p->cap_strs, p->nr_strs + 1, sizeof(*p->strs)) ||
	    !(p->strs[p->nr_strs] = strdup(s)))
		return -1;
	p->str_index[i] = ++p->nr_strs;
	return (int64_t)p->nr_strs - 1;
}

struct pprof *pprof_new(const struct pprof_type *types, int nr, const char *default_type)
{
	struct pprof *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->str_mask = 255;
	p->str_index = calloc(p->str_mask + 1, sizeof(*p->str_index));
	p->types = calloc((size_t)nr, sizeof(*p->types));
	p->nr_types = nr;
	/* The format wants "" at index 0. */
	if (!p->str_index || !p->types || str_id(p, "") != 0)
		goto fail;
	for (int i = 0; i < nr; i++)
		if ((p->types[i][0] = str_id(p, types[i].type)) < 0 || (p->types[i][1] = str_id(p, types[i].unit)) < 0)
			goto fail;
	if ((p->default_type = str_id(p, default_type)) < 0)
		goto fail;
	return p;
fail:
	pprof_free(p);
	return NULL;
}

void pprof_free(struct pprof *p)
{
	if (!p)
		return;
	for (uint64_t i = 0; i < p->nr_strs; i++)
		free(p->strs[i]);
	for (uint64_t i = 0; i < p->nr_samples; i++) {
		free(p->samples[i].locs);
		free(p->samples[i].values);
	}
	free(p->strs);
	free(p->str_index);
	free(p->types);
	free(p->func_ids.slots);
	free(p->map_ids.slots);
	free(p->loc_ids.slots);
	free(p->funcs);
	free(p->maps);
	free(p->locs);
	free(p->samples);
	free(p->scratch);
	free(p);
}

static uint64_t func_id(struct pprof *p, const char *name, const char *file)
{
	int64_t n = str_id(p, name), f = str_id(p, file);
	struct idslot *s;

	if (n < 0 || f < 0 || !(s = idtab_slot(&p->func_ids, (uint64_t)n, (uint64_t)f)))
		return 0;
	if (s->id)
		return s->id;
	if (grow((void **)&p->funcs, &p->cap_funcs, p->nr_funcs + 1, sizeof(*p->funcs)))
		return 0;
	p->funcs[p->nr_funcs] = (struct pfunc){ n, f };
	p->func_ids.nr++;
	return s->id = ++p->nr_funcs;
}

static uint64_t map_id(struct pprof *p, const char *file, bool lines)
{
	int64_t f = str_id(p, file);
	struct idslot *s;

	if (f < 0 || !(s = idtab_slot(&p->map_ids, (uint64_t)f, 0)))
		return 0;
	if (s->id)
		return s->id;
	if (grow((void **)&p->maps, &p->cap_maps, p->nr_maps + 1, sizeof(*p->maps)))
		return 0;
	p->maps[p->nr_maps] = (struct pmap){ f, lines };
	p->map_ids.nr++;
	return s->id = ++p->nr_maps;
}

/* What one frame is: function, source file and line, and the object it lives in. */
struct frame_info {
	const char *name, *file, *object;
	int line;
	char hex[24];
};

static void describe_kernel(uint64_t ip, struct frame_info *fi)
{
	const struct ksym *ks = ksyms_find(ip);
	static char module[80];

	fi->name = ks ? ks->name : NULL;
	fi->object = "[kernel.kallsyms]";
	if (ks && ks->module) {
		snprintf(module, sizeof(module), "[%s]", ks->module);
		fi->object = module;
	}
}

static void describe_user(uint64_t ip, int pid, struct frame_info *fi)
{
	bool want_line;
	struct usyms *us = callchain_usyms(&want_line);
	struct usym u;

	fi->object = "[user]";
	if (!us || usyms_resolve(us, pid, ip, want_line, &u))
		return;
	fi->name = u.sym;
	fi->object = u.object ? u.object : "[user]";
	fi->file = u.file;
	fi->line = u.line;
}

/* The location of one frame, added on first sight. 0 when out of memory. */
static uint64_t loc_id(struct pprof *p, uint64_t ip, bool user, int pid)
{
	/* User addresses mean something only in their process; kernel ones everywhere. */
	struct idslot *s = idtab_slot(&p->loc_ids, user ? (uint64_t)pid + 1 : 0, ip);
	struct frame_info fi = { 0 };
	uint64_t f, m;

	if (!s)
		return 0;
	if (s->id)
		return s->id;
	if (user)
		describe_user(ip, pid, &fi);
	else
		describe_kernel(ip, &fi);
	if (!fi.name) {
		snprintf(fi.hex, sizeof(fi.hex), "0x%" PRIx64, ip);
		fi.name = fi.hex;
	}
	f = func_id(p, fi.name, fi.file ? fi.file : "");
	m = map_id(p, fi.object, fi.file != NULL);
	if (!f || !m || grow((void **)&p->locs, &p->cap_locs, p->nr_locs + 1, sizeof(*p->locs)))
		return 0;
	p->locs[p->nr_locs] = (struct ploc){ m, ip, f, fi.line };
	p->loc_ids.nr++;
	return s->id = ++p->nr_locs;
}

/* Stacks without frames (events without `stack`) still need one location to hang values on. */
static uint64_t no_stack_loc(struct pprof *p)
{
	struct idslot *s = idtab_slot(&p->loc_ids, UINT64_MAX, 0);
	uint64_t f, m;

	if (!s)
		return 0;
	if (s->id)
		return s->id;
	f = func_id(p, "[no stack]", "");
	m = map_id(p, "[no stack]", false);
	if (!f || !m || grow((void **)&p->locs, &p->cap_locs, p->nr_locs + 1, sizeof(*p->locs)))
		return 0;
	p->locs[p->nr_locs] = (struct ploc){ m, 0, f, 0 };
	p->loc_ids.nr++;
	return s->id = ++p->nr_locs;
}

int pprof_add(struct pprof *p, const struct stack_table *t, uint32_t id, const int64_t *values, const char *event)
{
	uint32_t nr, n = 0;
	const uint64_t *ips = stack_ips(t, id, &nr);
	int pid = (int)stack_pid(t, id);
	bool user = false;
	struct psample *s;

	if (grow((void **)&p->scratch, &p->cap_scratch, nr + 1, sizeof(*p->scratch)))
		return -1;
	/* Our chains are innermost first, kernel half then user half: pprof's order too. */
	for (uint32_t i = 0; i < nr; i++) {
		if (ips[i] >= CALLCHAIN_CONTEXT_MIN) {
			user = ips[i] == (uint64_t)PERF_CONTEXT_USER;
			continue;
		}
		if (!(p->scratch[n++] = loc_id(p, ips[i], user, pid)))
			return -1;
	}
	if (!n && !(p->scratch[n++] = no_stack_loc(p)))
		return -1;
	if (grow((void **)&p->samples, &p->cap_samples, p->nr_samples + 1, sizeof(*p->samples)))
		return -1;
	s = &p->samples[p->nr_samples];
	s->locs = malloc(n * sizeof(*s->locs));
	s->values = malloc((size_t)p->nr_types * sizeof(*s->values));
	s->event = str_id(p, event);
	if (!s->locs || !s->values || s->event < 0) {
		free(s->locs);
		free(s->values);
		return -1;
	}
	memcpy(s->locs, p->scratch, n * sizeof(*s->locs));
	memcpy(s->values, values, (size_t)p->nr_types * sizeof(*s->values));
	s->nr_locs = n;
	p->nr_samples++;
	return 0;
}

int pprof_nr_samples(const struct pprof *p)
{
	return (int)p->nr_samples;
}

/* ---- writing: build the message tree, pack, gzip ---- */

struct tree {
	Perftools__Profiles__Profile prof;
	Perftools__Profiles__ValueType *types, **type_ptrs;
	Perftools__Profiles__Sample *samples, **sample_ptrs;
	Perftools__Profiles__Label *labels, **label_ptrs;
	Perftools__Profiles__Mapping *maps, **map_ptrs;
	Perftools__Profiles__Location *locs, **loc_ptrs;
	Perftools__Profiles__Line *lines, **line_ptrs;
	Perftools__Profiles__Function *funcs, **func_ptrs;
	int64_t event_key;
};

static void tree_free(struct tree *t)
{
	free(t->types);
	free(t->type_ptrs);
	free(t->samples);
	free(t->sample_ptrs);
	free(t->labels);
	free(t->label_ptrs);
	free(t->maps);
	free(t->map_ptrs);
	free(t->locs);
	free(t->loc_ptrs);
	free(t->lines);
	free(t->line_ptrs);
	free(t->funcs);
	free(t->func_ptrs);
}

#define ALLOC(arr, n) ((arr) = calloc((n) ? (n) : 1, sizeof(*(arr))))

static int tree_build(struct pprof *p, struct tree *t, uint64_t time_ns, uint64_t duration_ns)
{
	uint64_t ns = p->nr_samples;

	t->event_key = str_id(p, "event");
	if (t->event_key < 0 || !ALLOC(t->types, p->nr_types) || !ALLOC(t->type_ptrs, p->nr_types) ||
	    !ALLOC(t->samples, ns) || !ALLOC(t->sample_ptrs, ns) || !ALLOC(t->labels, ns) ||
	    !ALLOC(t->label_ptrs, ns) || !ALLOC(t->maps, p->nr_maps) || !ALLOC(t->map_ptrs, p->nr_maps) ||
	    !ALLOC(t->locs, p->nr_locs) || !ALLOC(t->loc_ptrs, p->nr_locs) || !ALLOC(t->lines, p->nr_locs) ||
	    !ALLOC(t->line_ptrs, p->nr_locs) || !ALLOC(t->funcs, p->nr_funcs) || !ALLOC(t->func_ptrs, p->nr_funcs))
		return -1;
	perftools__profiles__profile__init(&t->prof);
	for (int i = 0; i < p->nr_types; i++) {
		perftools__profiles__value_type__init(&t->types[i]);
		t->types[i].type = p->types[i][0];
		t->types[i].unit = p->types[i][1];
		t->type_ptrs[i] = &t->types[i];
	}
	for (uint64_t i = 0; i < ns; i++) {
		Perftools__Profiles__Sample *s = &t->samples[i];

		perftools__profiles__sample__init(s);
		perftools__profiles__label__init(&t->labels[i]);
		t->labels[i].key = t->event_key;
		t->labels[i].str = p->samples[i].event;
		t->label_ptrs[i] = &t->labels[i];
		s->n_location_id = p->samples[i].nr_locs;
		s->location_id = p->samples[i].locs;
		s->n_value = (size_t)p->nr_types;
		s->value = p->samples[i].values;
		s->n_label = 1;
		s->label = &t->label_ptrs[i];
		t->sample_ptrs[i] = s;
	}
	for (uint64_t i = 0; i < p->nr_maps; i++) {
		Perftools__Profiles__Mapping *m = &t->maps[i];

		perftools__profiles__mapping__init(m);
		m->id = i + 1;
		m->filename = p->maps[i].file;
		/* Symbolized already: readers must not look for the binaries. */
		m->has_functions = true;
		m->has_filenames = p->maps[i].lines;
		m->has_line_numbers = p->maps[i].lines;
		t->map_ptrs[i] = m;
	}
	for (uint64_t i = 0; i < p->nr_locs; i++) {
		Perftools__Profiles__Location *l = &t->locs[i];

		perftools__profiles__location__init(l);
		perftools__profiles__line__init(&t->lines[i]);
		t->lines[i].function_id = p->locs[i].func;
		t->lines[i].line = p->locs[i].line;
		t->line_ptrs[i] = &t->lines[i];
		l->id = i + 1;
		l->mapping_id = p->locs[i].map;
		l->address = p->locs[i].addr;
		l->n_line = 1;
		l->line = &t->line_ptrs[i];
		t->loc_ptrs[i] = l;
	}
	for (uint64_t i = 0; i < p->nr_funcs; i++) {
		Perftools__Profiles__Function *f = &t->funcs[i];

		perftools__profiles__function__init(f);
		f->id = i + 1;
		f->name = f->system_name = p->funcs[i].name;
		f->filename = p->funcs[i].file;
		t->func_ptrs[i] = f;
	}
	t->prof.n_sample_type = (size_t)p->nr_types;
	t->prof.sample_type = t->type_ptrs;
	t->prof.n_sample = ns;
	t->prof.sample = t->sample_ptrs;
	t->prof.n_mapping = p->nr_maps;
	t->prof.mapping = t->map_ptrs;
	t->prof.n_location = p->nr_locs;
	t->prof.location = t->loc_ptrs;
	t->prof.n_function = p->nr_funcs;
	t->prof.function = t->func_ptrs;
	/* Strings last: building the tree may still add "event". */
	t->prof.n_string_table = p->nr_strs;
	t->prof.string_table = p->strs;
	t->prof.time_nanos = (int64_t)time_ns;
	t->prof.duration_nanos = (int64_t)duration_ns;
	t->prof.default_sample_type = p->default_type;
	return 0;
}

static int write_gz(const char *path, const uint8_t *buf, size_t len)
{
	gzFile gz = gzopen(path, "wb");
	int err = 0;

	if (!gz)
		return errno ? -errno : -ENOMEM;
	while (len && !err) {
		unsigned chunk = len > (1u << 30) ? 1u << 30 : (unsigned)len;

		if (gzwrite(gz, buf, chunk) != (int)chunk)
			err = -EIO;
		buf += chunk;
		len -= chunk;
	}
	if (gzclose(gz) != Z_OK && !err)
		err = -EIO;
	return err;
}

int pprof_write(struct pprof *p, const char *path, uint64_t duration_ns)
{
	struct tree t = { 0 };
	struct timespec now;
	uint8_t *buf = NULL;
	char *tmp = NULL;
	uint64_t start_ns;
	size_t len;
	int err = -ENOMEM;

	/* time_nanos is when the profile's window started, wall clock. */
	clock_gettime(CLOCK_REALTIME, &now);
	start_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec - duration_ns;
	if (tree_build(p, &t, start_ns, duration_ns))
		goto out;
	len = perftools__profiles__profile__get_packed_size(&t.prof);
	buf = malloc(len ? len : 1);
	if (!buf || asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		goto out;
	}
	perftools__profiles__profile__pack(&t.prof, buf);
	err = write_gz(tmp, buf, len);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	free(tmp);
	free(buf);
	tree_free(&t);
	return err;
}
