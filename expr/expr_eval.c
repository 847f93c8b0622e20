/*
 * The hot path: a stack machine over the instruction array built by
 * expr_compile.c. Every read is checked against the record size; a
 * fault stops the evaluation, counts it and yields 0.
 */
#include <string.h>

#include "expr/expr_int.h"
#include "lib/ksyms.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static const char fault_div0[] = "division by zero";
static const char fault_range[] = "read outside the record";

static void fault(struct expr *e, const char *why)
{
	e->faults++;
	if (!e->first_fault)
		e->first_fault = why;
}

static inline bool in_record(uint32_t size, int64_t off, int64_t len)
{
	return off >= 0 && len >= 0 && (uint64_t)off + (uint64_t)len <= size;
}

/* Records are not aligned for us: read through memcpy. */
static inline int64_t load_int(const uint8_t *p, int size, bool is_signed)
{
	switch (size) {
	case 1:
		return is_signed ? (int64_t)(int8_t)p[0] : (int64_t)p[0];
	case 2: {
		uint16_t v;

		memcpy(&v, p, 2);
		return is_signed ? (int64_t)(int16_t)v : (int64_t)v;
	}
	case 4: {
		uint32_t v;

		memcpy(&v, p, 4);
		return is_signed ? (int64_t)(int32_t)v : (int64_t)v;
	}
	default: {
		int64_t v;

		memcpy(&v, p, 8);
		return v;
	}
	}
}

/*
 * Where the payload of a __data_loc/__rel_loc field is: the 32-bit
 * word holds the offset in its low 16 bits and the length in the high
 * 16; a __rel_loc offset counts from the end of the word.
 */
static bool dloc(const uint8_t *raw, uint32_t size, const struct insn *in, int64_t *off,
		 int64_t *len)
{
	uint32_t w;

	if (!in_record(size, in->a, 4))
		return false;
	memcpy(&w, raw + in->a, 4);
	*off = w & 0xffff;
	*len = w >> 16;
	if (in->flags & IF_REL)
		*off += in->a + 4;
	return in_record(size, *off, *len);
}

static inline int64_t bswap32(int64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap32((uint32_t)v);
#else
	return (uint32_t)v;
#endif
}

static inline int64_t bswap16(int64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap16((uint16_t)v);
#else
	return (uint16_t)v;
#endif
}

/* C strncmp() on counted strings: the end of a string compares as NUL. */
static int64_t counted_strncmp(const union slot *a, const union slot *b, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		int ca = i < a->s.n ? (unsigned char)a->s.p[i] : 0;
		int cb = i < b->s.n ? (unsigned char)b->s.p[i] : 0;

		if (ca != cb)
			return ca - cb;
		if (!ca)
			break;
	}
	return 0;
}

static void set_str(union slot *s, const uint8_t *p, int64_t maxlen)
{
	s->s.p = (const char *)p;
	s->s.n = maxlen ? (int32_t)strnlen((const char *)p, (size_t)maxlen) : 0;
}

/* Callers may pass (NULL, 0); give the machine a real, empty record instead. */
static const uint8_t no_record[1];

/*
 * Run the program; false on a fault (already counted). sp points one
 * past the top of the stack, so the top is sp[-1].
 */
static bool run(struct expr *e, const uint8_t *raw, uint32_t size, union slot *result)
{
	union slot stack[EXPR_STACK_MAX];
	union slot *sp = stack;
	const struct insn *ip = e->code;
	int64_t off, len;
	bool div0 = false;

	for (;; ip++) {
		switch (ip->op) {
		case I_END:
			*result = sp[-1];
			return true;
		case I_CONST:
			(sp++)->i = ip->imm;
			break;
		case I_STRCONST:
			sp->s.p = ip->str;
			sp->s.n = ip->a;
			sp++;
			break;
		case I_LOAD:
			if (unlikely(!in_record(size, ip->a, ip->size)))
				goto out_of_range;
			(sp++)->i = load_int(raw + ip->a, ip->size, ip->flags & IF_SIGNED);
			break;
		case I_ARRSTR:
			if (unlikely(!in_record(size, ip->a, ip->imm)))
				goto out_of_range;
			set_str(sp++, raw + ip->a, ip->imm);
			break;
		case I_DLOCSTR:
			if (unlikely(!dloc(raw, size, ip, &off, &len)))
				goto out_of_range;
			set_str(sp++, raw + off, len);
			break;
		case I_DLOCPTR:
			if (unlikely(!dloc(raw, size, ip, &off, &len)))
				goto out_of_range;
			(sp++)->i = off;
			break;
		case I_DEREF:
			if (unlikely(!in_record(size, sp[-1].i, ip->size)))
				goto out_of_range;
			sp[-1].i = load_int(raw + sp[-1].i, ip->size, ip->flags & IF_SIGNED);
			break;
		case I_PTR2STR:
			off = sp[-1].i;
			if (unlikely(!in_record(size, off, 0)))
				goto out_of_range;
			set_str(&sp[-1], raw + off, size - off);
			break;
		case I_UNARY:
			sp[-1].i = alu_unary(ip->a, sp[-1].i);
			break;
		case I_BINARY:
			sp[-2].i = alu_binary(ip->a, sp[-2].i, sp[-1].i, &div0);
			sp--;
			if (unlikely(div0))
				goto div_by_zero;
			break;
		/* One case per ALU op and family: the operation is a constant in each. */
#define FAMILY_CASES(op)							\
		case I_BIN + op:						\
			sp[-2].i = alu_binary(op, sp[-2].i, sp[-1].i, &div0);	\
			sp--;							\
			if (unlikely(div0))					\
				goto div_by_zero;				\
			break;							\
		case I_OPK + op:						\
			sp[-1].i = alu_binary(op, sp[-1].i, ip->imm, &div0);	\
			if (unlikely(div0))					\
				goto div_by_zero;				\
			break;							\
		case I_LOADK + op:						\
			if (unlikely(!in_record(size, ip->a, ip->size)))	\
				goto out_of_range;				\
			(sp++)->i = alu_binary(op, load_int(raw + ip->a, ip->size, \
					ip->flags & IF_SIGNED), ip->imm, &div0); \
			if (unlikely(div0))					\
				goto div_by_zero;				\
			break;							\
		case I_KLOAD + op:						\
			if (unlikely(!in_record(size, ip->a, ip->size)))	\
				goto out_of_range;				\
			(sp++)->i = alu_binary(op, ip->imm, load_int(raw + ip->a, \
					ip->size, ip->flags & IF_SIGNED), &div0); \
			if (unlikely(div0))					\
				goto div_by_zero;				\
			break;
		ALU_BINARY_OPS(FAMILY_CASES)
#undef FAMILY_CASES
		case I_CONV:
			sp[-1].i = conv_int(sp[-1].i, ip->size, ip->flags & IF_SIGNED,
					    ip->flags & IF_BOOL);
			break;
		case I_JZ:
			if (!(--sp)->i)
				ip = e->code + ip->a - 1;
			break;
		case I_JMP:
			ip = e->code + ip->a - 1;
			break;
		case I_ANDJZ:
			if (!sp[-1].i)
				ip = e->code + ip->a - 1;
			else
				sp--;
			break;
		case I_ORJNZ:
			if (sp[-1].i) {
				sp[-1].i = 1;
				ip = e->code + ip->a - 1;
			} else {
				sp--;
			}
			break;
		case I_BOOL:
			sp[-1].i = sp[-1].i != 0;
			break;
		case I_POP:
			sp--;
			break;
		case I_STREQ: {
			bool eq = sp[-2].s.n == sp[-1].s.n &&
				  !memcmp(sp[-2].s.p, sp[-1].s.p, sp[-1].s.n);

			sp--;
			sp[-1].i = ip->a ? !eq : eq;
			break;
		}
		case I_STRNCMP:
			sp -= 2;
			sp[-1].i = counted_strncmp(&sp[-1], &sp[0], sp[1].i);
			break;
		case I_KSYM: {
			const struct ksym *k = ksyms_find((uint64_t)sp[-1].i);
			const char *name = k && k->name ? k->name : "[unknown]";

			sp[-1].s.p = name;
			sp[-1].s.n = (int32_t)strlen(name);
			break;
		}
		case I_BSWAP32:
			sp[-1].i = bswap32(sp[-1].i);
			break;
		case I_BSWAP16:
			sp[-1].i = bswap16(sp[-1].i);
			break;
		case I_PRINTF:
			/* nargs values are popped and the count of characters pushed */
			sp -= ip->a;
			sp->i = pf_run(e->out, ip->pf, sp);
			sp++;
			break;
		}
	}
out_of_range:
	fault(e, fault_range);
	return false;
div_by_zero:
	fault(e, fault_div0);
	return false;
}

static int64_t eval_fast(struct expr *e, const uint8_t *raw, uint32_t size)
{
	int64_t v, r;
	bool div0 = false;

	if (unlikely(!in_record(size, e->fast_off, e->fast_size))) {
		fault(e, fault_range);
		return 0;
	}
	v = load_int(raw + e->fast_off, e->fast_size, e->fast_signed);
	switch (e->fast) {
	case FAST_LOAD:
		return v;
	case FAST_LOAD_OP_K:
		r = alu_binary(e->fast_op, v, e->fast_k, &div0);
		break;
	default:
		r = alu_binary(e->fast_op, e->fast_k, v, &div0);
		break;
	}
	if (unlikely(div0)) {
		fault(e, fault_div0);
		return 0;
	}
	return r;
}

int64_t expr_eval(struct expr *e, const void *raw, uint32_t size)
{
	union slot r;

	if (unlikely(!raw)) {
		raw = no_record;
		size = 0;
	}
	if (likely(e->fast != FAST_NONE)) {
		if (e->fast == FAST_CONST)
			return e->fast_k;
		return eval_fast(e, raw, size);
	}
	if (!run(e, raw, size, &r))
		return 0;
	if (e->result != EXPR_STR)
		return r.i;
	/* A string answers with where it is in the record. */
	if (raw && r.s.p >= (const char *)raw && r.s.p < (const char *)raw + size)
		return r.s.p - (const char *)raw;
	return 0;
}

int expr_eval_str(struct expr *e, const void *raw, uint32_t size, const char **str, int *len)
{
	union slot r;

	if (e->result != EXPR_STR)
		return -1;
	if (!raw) {
		raw = no_record;
		size = 0;
	}
	if (!run(e, raw, size, &r)) {
		*str = "";
		*len = 0;
		return 0;
	}
	*str = r.s.p;
	*len = r.s.n;
	return 0;
}
