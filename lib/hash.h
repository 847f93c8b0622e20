/* Small integer hashing shared by the tables. */
#ifndef LIB_HASH_H
#define LIB_HASH_H

#include <stdint.h>

/* A strong 64-bit mix (splitmix64 finaliser): keys like pointers and pfns are far from random. */
static inline uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static inline uint64_t hash_combine(uint64_t h, uint64_t v)
{
	return hash_u64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

#endif
