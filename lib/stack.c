/* Stack interning: frames in one growing arena, ids in an open-addressing index. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/stack.h"

struct stack_entry {
	uint64_t hash;
	uint64_t off;   /* into the frame arena */
	uint32_t nr;
	uint32_t salt;
	uint32_t pid;
};

/* Hot stacks repeat: the last few ids per salt are tried before hashing. */
#define RECENT_SALTS 64
#define RECENT_WAYS 4

struct stack_table {
	uint32_t recent[RECENT_SALTS][RECENT_WAYS];
	uint8_t recent_next[RECENT_SALTS];
	struct stack_entry *entries; /* index = id; entries[0] unused */
	uint32_t nr_entries, cap_entries;
	uint32_t *index;             /* open addressing: id, 0 = empty */
	uint32_t index_mask;
	uint64_t *frames;
	uint64_t nr_frames, cap_frames;
};

struct stack_table *stack_table_new(void)
{
	struct stack_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cap_entries = 1024;
	t->entries = calloc(t->cap_entries, sizeof(*t->entries));
	t->index_mask = 2048 - 1;
	t->index = calloc(t->index_mask + 1, sizeof(*t->index));
	t->cap_frames = 16384;
	t->frames = malloc(t->cap_frames * sizeof(*t->frames));
	t->nr_entries = 1;
	if (!t->entries || !t->index || !t->frames) {
		stack_table_free(t);
		return NULL;
	}
	return t;
}

void stack_table_free(struct stack_table *t)
{
	if (!t)
		return;
	free(t->entries);
	free(t->index);
	free(t->frames);
	free(t);
}

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/*
 * Hot path: every sample with a stack is hashed. Two independent
 * multiply-rotate lanes over alternate frames keep the dependency chain
 * half as long as one lane; one strong mix at the end spreads the bits.
 * Collisions only cost a memcmp, never correctness.
 */
static uint64_t hash_stack(uint32_t salt, uint32_t pid, const uint64_t *ips, uint32_t nr)
{
	uint64_t a = 0x9e3779b97f4a7c15ULL ^ salt ^ ((uint64_t)pid << 32), b = 0xc2b2ae3d27d4eb4fULL ^ nr;
	uint32_t i = 0;

	for (; i + 1 < nr; i += 2) {
		a = rotl64((a ^ ips[i]) * 0x87c37b91114253d5ULL, 31);
		b = rotl64((b ^ ips[i + 1]) * 0x4cf5ad432745937fULL, 33);
	}
	if (i < nr)
		a = rotl64((a ^ ips[i]) * 0x87c37b91114253d5ULL, 31);
	return hash_u64(a ^ rotl64(b, 17));
}

static int grow_index(struct stack_table *t)
{
	uint32_t cap = (t->index_mask + 1) * 2;
	uint32_t *n = calloc(cap, sizeof(*n));

	if (!n)
		return -1;
	for (uint32_t id = 1; id < t->nr_entries; id++) {
		uint32_t i = (uint32_t)t->entries[id].hash & (cap - 1);

		while (n[i])
			i = (i + 1) & (cap - 1);
		n[i] = id;
	}
	free(t->index);
	t->index = n;
	t->index_mask = cap - 1;
	return 0;
}

static uint32_t add_entry(struct stack_table *t, uint64_t h, uint32_t salt, uint32_t pid,
			  const uint64_t *ips, uint32_t nr)
{
	struct stack_entry *e;

	if (t->nr_entries == t->cap_entries) {
		struct stack_entry *n = realloc(t->entries, sizeof(*n) * t->cap_entries * 2);

		if (!n)
			return 0;
		t->entries = n;
		t->cap_entries *= 2;
	}
	if (t->nr_frames + nr > t->cap_frames) {
		uint64_t cap = t->cap_frames * 2;
		uint64_t *n;

		while (cap < t->nr_frames + nr)
			cap *= 2;
		n = realloc(t->frames, cap * sizeof(*n));
		if (!n)
			return 0;
		t->frames = n;
		t->cap_frames = cap;
	}
	memcpy(t->frames + t->nr_frames, ips, nr * sizeof(*ips));
	e = &t->entries[t->nr_entries];
	*e = (struct stack_entry){ .hash = h, .off = t->nr_frames, .nr = nr, .salt = salt, .pid = pid };
	t->nr_frames += nr;
	return t->nr_entries++;
}

uint32_t stack_intern(struct stack_table *t, uint32_t salt, const uint64_t *ips, uint32_t nr)
{
	return stack_intern_pid(t, salt, 0, ips, nr);
}

static inline bool same_stack(const struct stack_table *t, uint32_t id, uint32_t pid,
			      const uint64_t *ips, uint32_t nr)
{
	const struct stack_entry *e = &t->entries[id];

	return e->nr == nr && e->pid == pid && (!nr || (t->frames[e->off] == ips[0] &&
		!memcmp(t->frames + e->off, ips, nr * sizeof(*ips))));
}

static uint32_t intern_hashed(struct stack_table *t, uint32_t salt, uint32_t pid,
			      const uint64_t *ips, uint32_t nr);

uint32_t stack_intern_pid(struct stack_table *t, uint32_t salt, uint32_t pid, const uint64_t *ips, uint32_t nr)
{
	uint32_t id;

	if (salt >= RECENT_SALTS)
		return intern_hashed(t, salt, pid, ips, nr);
	for (int w = 0; w < RECENT_WAYS; w++) {
		id = t->recent[salt][w];
		if (id && same_stack(t, id, pid, ips, nr))
			return id;
	}
	id = intern_hashed(t, salt, pid, ips, nr);
	if (id) {
		t->recent[salt][t->recent_next[salt]] = id;
		t->recent_next[salt] = (uint8_t)((t->recent_next[salt] + 1) % RECENT_WAYS);
	}
	return id;
}

static uint32_t intern_hashed(struct stack_table *t, uint32_t salt, uint32_t pid,
			      const uint64_t *ips, uint32_t nr)
{
	uint64_t h = hash_stack(salt, pid, ips, nr);
	uint32_t i, id;

	for (i = (uint32_t)h & t->index_mask; (id = t->index[i]); i = (i + 1) & t->index_mask) {
		const struct stack_entry *e = &t->entries[id];

		if (e->hash == h && e->nr == nr && e->salt == salt && e->pid == pid &&
		    !memcmp(t->frames + e->off, ips, nr * sizeof(*ips)))
			return id;
	}
	/* Keep the index at most half full so probes stay short. */
	if ((t->nr_entries + 1) * 2 > t->index_mask + 1) {
		if (grow_index(t))
			return 0;
		for (i = (uint32_t)h & t->index_mask; t->index[i]; i = (i + 1) & t->index_mask)
			;
	}
	id = add_entry(t, h, salt, pid, ips, nr);
	if (id)
		t->index[i] = id;
	return id;
}

const uint64_t *stack_ips(const struct stack_table *t, uint32_t id, uint32_t *nr)
{
	const struct stack_entry *e = &t->entries[id];

	*nr = e->nr;
	return t->frames + e->off;
}

uint32_t stack_salt(const struct stack_table *t, uint32_t id)
{
	return t->entries[id].salt;
}

uint32_t stack_pid(const struct stack_table *t, uint32_t id)
{
	return t->entries[id].pid;
}

uint32_t stack_count(const struct stack_table *t)
{
	return t->nr_entries - 1;
}
