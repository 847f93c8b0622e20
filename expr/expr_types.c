/*
 * Typed node constructors: the C-like typing rules of expr.md, field
 * lookup in the libtraceevent format, and constant folding (done here,
 * bottom-up, with the same ALU the evaluator uses).
 */
#include <stdlib.h>
#include <string.h>

#include <event-parse.h>

#include "expr/expr_parse.h"

struct ty ty_int(int size, bool is_signed)
{
	struct ty t = { .kind = TY_INT, .size = (uint8_t)size, .is_signed = is_signed };

	return t;
}

static struct ty ty_ptr(int size, bool is_signed)
{
	struct ty t = { .kind = TY_PTR, .size = (uint8_t)size, .is_signed = is_signed };

	return t;
}

static struct ty ty_str(void)
{
	struct ty t = { .kind = TY_STR };

	return t;
}

/* Result of arithmetic: 64 bits, unsigned only if an operand is u64. */
static struct ty ty_arith(const struct node *a, const struct node *b)
{
	return ty_int(8, !(ty_unsigned64(&a->type) || (b && ty_unsigned64(&b->type))));
}

static struct node *new_node(struct parse_ctx *c, enum node_kind kind, int pos, struct ty t)
{
	struct node *n = ctx_alloc(c, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->pos = pos;
	n->type = t;
	return n;
}

struct node *mk_const(struct parse_ctx *c, int pos, int64_t v, struct ty t)
{
	struct node *n = new_node(c, N_CONST, pos, t);

	if (n)
		n->ival = v;
	return n;
}

/* Keep a copy of the literal in the expression: the code points at it. */
static const char *keep_string(struct parse_ctx *c, int pos, const char *s, int len)
{
	struct expr *e = c->e;
	char **v = realloc(e->strs, (e->nstrs + 1) * sizeof(*v));
	char *copy;

	if (!v)
		return ctx_error(c, pos, "out of memory");
	e->strs = v;
	copy = malloc(len + 1);
	if (!copy)
		return ctx_error(c, pos, "out of memory");
	memcpy(copy, s, len);
	copy[len] = '\0';
	e->strs[e->nstrs++] = copy;
	return copy;
}

struct node *mk_string(struct parse_ctx *c, int pos, const char *s, int len)
{
	struct node *n = new_node(c, N_STR, pos, ty_str());

	if (!n)
		return NULL;
	n->str = keep_string(c, pos, s, len);
	n->slen = len;
	return n->str ? n : NULL;
}

/* ---- fields ---- */

static bool is_char_type(const char *type)
{
	const char *p = type;

	/* "char", "const char", "unsigned char", "signed char", "__data_loc char[]" */
	if (!strncmp(p, "__data_loc ", 11))
		p += 11;
	else if (!strncmp(p, "__rel_loc ", 10))
		p += 10;
	if (!strncmp(p, "const ", 6))
		p += 6;
	if (!strncmp(p, "unsigned ", 9))
		p += 9;
	else if (!strncmp(p, "signed ", 7))
		p += 7;
	return !strncmp(p, "char", 4) && (p[4] == '\0' || p[4] == '[' || p[4] == ' ');
}

static bool valid_size(unsigned int s)
{
	return s == 1 || s == 2 || s == 4 || s == 8;
}

struct node *mk_field(struct parse_ctx *c, int pos, const char *name)
{
	struct tep_format_field *f = c->event ? tep_find_any_field(c->event, name) : NULL;
	bool is_signed, is_char;
	struct node *n;

	if (!f)
		return ctx_error(c, pos, "unknown field '%s'", name);
	is_signed = f->flags & TEP_FIELD_IS_SIGNED;
	is_char = is_char_type(f->type);
	if (f->flags & TEP_FIELD_IS_DYNAMIC) {
		if (f->size != 4)
			return ctx_error(c, pos, "field '%s': unsupported dynamic size %d", name,
					 f->size);
		if (is_char) {
			n = new_node(c, N_STRFIELD, pos, ty_str());
			if (n)
				n->dloc = true;
		} else {
			unsigned int es = valid_size(f->elementsize) ? f->elementsize : 1;

			n = new_node(c, N_DLOC_PTR, pos, ty_ptr(es, is_signed));
		}
		if (n) {
			n->off = f->offset;
			n->rel = f->flags & TEP_FIELD_IS_RELATIVE;
		}
		return n;
	}
	if (f->flags & TEP_FIELD_IS_ARRAY) {
		if (is_char) {
			n = new_node(c, N_STRFIELD, pos, ty_str());
			if (n) {
				n->off = f->offset;
				n->fsize = f->size;
				n->arraylen = f->size;
			}
			return n;
		}
		/* Other arrays decay to a pointer to their first element. */
		n = mk_const(c, pos, f->offset,
			     ty_ptr(valid_size(f->elementsize) ? f->elementsize : 1, is_signed));
		if (n)
			n->arraylen = f->size;
		return n;
	}
	if (!valid_size(f->size))
		return ctx_error(c, pos, "field '%s' has size %d, which is not a number", name,
				 f->size);
	n = new_node(c, N_LOAD, pos, ty_int(f->size, is_signed));
	if (n)
		n->off = f->offset;
	return n;
}

/* ---- conversions between strings, pointers and integers ---- */

/* A string that lives in the record can be used as a char pointer. */
static struct node *decay(struct parse_ctx *c, struct node *n)
{
	if (n->kind != N_STRFIELD)
		return n;
	if (n->dloc) {
		struct node *p = new_node(c, N_DLOC_PTR, n->pos, ty_ptr(1, false));

		if (p) {
			p->off = n->off;
			p->rel = n->rel;
		}
		return p;
	}
	return mk_const(c, n->pos, n->off, ty_ptr(1, false));
}

/* An operand that must be a number or a pointer. */
static struct node *value(struct parse_ctx *c, struct node *n, int pos, const char *op)
{
	n = decay(c, n);
	if (n && n->type.kind == TY_STR)
		return ctx_error(c, pos, "a string cannot be an operand of '%s'", op);
	return n;
}

static struct node *integer(struct parse_ctx *c, struct node *n, int pos, const char *op)
{
	n = value(c, n, pos, op);
	if (n && n->type.kind != TY_INT)
		return ctx_error(c, pos, "a pointer cannot be an operand of '%s'", op);
	return n;
}

/* An operand that must be a string: strings, or a char pointer into the record. */
static struct node *string(struct parse_ctx *c, struct node *n, const char *what)
{
	struct node *s;

	if (n->type.kind == TY_STR)
		return n;
	if (n->type.kind == TY_PTR && n->type.size == 1) {
		s = new_node(c, N_PTR2STR, n->pos, ty_str());
		if (s)
			s->kid[0] = n;
		return s;
	}
	return ctx_error(c, n->pos, "%s needs a string", what);
}

/* ---- operators ---- */

static struct node *mk_alu(struct parse_ctx *c, int alu, int pos, struct node *a,
			   struct node *b, struct ty t)
{
	struct node *n;
	bool fault = false;

	if (a->kind == N_CONST && b->kind == N_CONST) {
		int64_t v = alu_binary(alu, a->ival, b->ival, &fault);

		/* A constant division by zero stays for run time, where it is counted. */
		if (!fault)
			return mk_const(c, pos, v, t);
	}
	n = new_node(c, N_BINARY, pos, t);
	if (!n)
		return NULL;
	n->alu = alu;
	n->kid[0] = a;
	n->kid[1] = b;
	return n;
}

/* p + i or p - i: the index counts pointee-sized elements. */
static struct node *ptr_add(struct parse_ctx *c, int pos, struct node *p, struct node *i,
			    bool sub)
{
	int scale = p->type.size ? p->type.size : 1;

	if (scale > 1) {
		i = mk_alu(c, ALU_MUL, pos, i, mk_const(c, pos, scale, ty_int(8, true)),
			   ty_int(8, true));
		if (!i)
			return NULL;
	}
	return mk_alu(c, sub ? ALU_SUB : ALU_ADD, pos, p, i, p->type);
}

static struct node *mk_plus_minus(struct parse_ctx *c, enum tok_op op, int pos,
				  struct node *a, struct node *b)
{
	const char *o = expr_op_text(op);
	bool sub = op == OP_MINUS;

	a = value(c, a, pos, o);
	b = a ? value(c, b, pos, o) : NULL;
	if (!b)
		return NULL;
	if (a->type.kind == TY_INT && b->type.kind == TY_INT)
		return mk_alu(c, sub ? ALU_SUB : ALU_ADD, pos, a, b, ty_arith(a, b));
	if (a->type.kind == TY_PTR && b->type.kind == TY_INT)
		return ptr_add(c, pos, a, b, sub);
	if (!sub && a->type.kind == TY_INT && b->type.kind == TY_PTR)
		return ptr_add(c, pos, b, a, false);
	if (sub && a->type.kind == TY_PTR && b->type.kind == TY_PTR) {
		int scale = a->type.size ? a->type.size : 1;
		struct node *d;

		if (a->type.size != b->type.size)
			return ctx_error(c, pos, "subtracting pointers to different sizes");
		d = mk_alu(c, ALU_SUB, pos, a, b, ty_int(8, true));
		if (d && scale > 1)
			d = mk_alu(c, ALU_DIVS, pos, d, mk_const(c, pos, scale, ty_int(8, true)),
				   ty_int(8, true));
		return d;
	}
	return ctx_error(c, pos, sub ? "cannot subtract a pointer from a number"
				     : "cannot add two pointers");
}

static struct node *mk_streq(struct parse_ctx *c, enum tok_op op, int pos, struct node *a,
			     struct node *b)
{
	struct node *n;

	if (a->kind == N_STR && b->kind == N_STR) {
		bool eq = a->slen == b->slen && !memcmp(a->str, b->str, a->slen);

		return mk_const(c, pos, op == OP_EQ ? eq : !eq, ty_int(4, true));
	}
	n = new_node(c, N_STREQ, pos, ty_int(4, true));
	if (!n)
		return NULL;
	n->alu = op == OP_NE;
	n->kid[0] = a;
	n->kid[1] = b;
	return n;
}

static int compare_alu(enum tok_op op, bool u)
{
	switch (op) {
	case OP_EQ: return ALU_EQ;
	case OP_NE: return ALU_NE;
	case OP_LT: return u ? ALU_LTU : ALU_LTS;
	case OP_LE: return u ? ALU_LEU : ALU_LES;
	case OP_GT: return u ? ALU_GTU : ALU_GTS;
	default: return u ? ALU_GEU : ALU_GES;
	}
}

static struct node *mk_compare(struct parse_ctx *c, enum tok_op op, int pos, struct node *a,
			       struct node *b)
{
	const char *o = expr_op_text(op);
	bool u;

	if (a->type.kind == TY_STR && b->type.kind == TY_STR && (op == OP_EQ || op == OP_NE))
		return mk_streq(c, op, pos, a, b);
	if ((a->type.kind == TY_STR) != (b->type.kind == TY_STR) &&
	    (a->kind == N_STR || b->kind == N_STR || a->kind == N_CALL || b->kind == N_CALL))
		return ctx_error(c, pos, "cannot compare a string with a number");
	a = value(c, a, pos, o);
	b = a ? value(c, b, pos, o) : NULL;
	if (!b)
		return NULL;
	u = ty_unsigned64(&a->type) || ty_unsigned64(&b->type);
	return mk_alu(c, compare_alu(op, u), pos, a, b, ty_int(4, true));
}

static struct node *mk_logical(struct parse_ctx *c, enum tok_op op, int pos, struct node *a,
			       struct node *b)
{
	const char *o = expr_op_text(op);
	struct node *n;

	a = value(c, a, pos, o);
	b = a ? value(c, b, pos, o) : NULL;
	if (!b)
		return NULL;
	/* A constant left side decides alone: the right side is never run. */
	if (a->kind == N_CONST) {
		bool t = a->ival != 0;

		if (op == OP_ANDAND && !t)
			return mk_const(c, pos, 0, ty_int(4, true));
		if (op == OP_OROR && t)
			return mk_const(c, pos, 1, ty_int(4, true));
		if (b->kind == N_CONST)
			return mk_const(c, pos, b->ival != 0, ty_int(4, true));
	}
	n = new_node(c, op == OP_ANDAND ? N_ANDAND : N_OROR, pos, ty_int(4, true));
	if (!n)
		return NULL;
	n->kid[0] = a;
	n->kid[1] = b;
	return n;
}

struct node *mk_binary(struct parse_ctx *c, enum tok_op op, int pos, struct node *a,
		       struct node *b)
{
	const char *o = expr_op_text(op);
	bool u;

	switch (op) {
	case OP_PLUS:
	case OP_MINUS:
		return mk_plus_minus(c, op, pos, a, b);
	case OP_EQ: case OP_NE: case OP_LT: case OP_LE: case OP_GT: case OP_GE:
		return mk_compare(c, op, pos, a, b);
	case OP_ANDAND:
	case OP_OROR:
		return mk_logical(c, op, pos, a, b);
	default:
		break;
	}
	a = integer(c, a, pos, o);
	b = a ? integer(c, b, pos, o) : NULL;
	if (!b)
		return NULL;
	u = ty_unsigned64(&a->type) || ty_unsigned64(&b->type);
	switch (op) {
	case OP_STAR: return mk_alu(c, ALU_MUL, pos, a, b, ty_arith(a, b));
	case OP_SLASH: return mk_alu(c, u ? ALU_DIVU : ALU_DIVS, pos, a, b, ty_arith(a, b));
	case OP_PERCENT: return mk_alu(c, u ? ALU_MODU : ALU_MODS, pos, a, b, ty_arith(a, b));
	/* A shift has the type of its left operand. */
	case OP_SHL: return mk_alu(c, ALU_SHL, pos, a, b, ty_arith(a, NULL));
	case OP_SHR:
		return mk_alu(c, ty_unsigned64(&a->type) ? ALU_SHRU : ALU_SHRS, pos, a, b,
			      ty_arith(a, NULL));
	case OP_AMP: return mk_alu(c, ALU_AND, pos, a, b, ty_arith(a, b));
	case OP_PIPE: return mk_alu(c, ALU_OR, pos, a, b, ty_arith(a, b));
	case OP_CARET: return mk_alu(c, ALU_XOR, pos, a, b, ty_arith(a, b));
	default:
		return ctx_error(c, pos, "unexpected '%s'", o);
	}
}

struct node *mk_unary(struct parse_ctx *c, enum tok_op op, int pos, struct node *a)
{
	struct node *n;
	struct ty t;
	int alu;

	if (op == OP_NOT) {
		a = value(c, a, pos, "!");
		t = ty_int(4, true);
		alu = ALU_LNOT;
	} else {
		a = integer(c, a, pos, expr_op_text(op));
		if (!a)
			return NULL;
		if (op == OP_PLUS)
			return a;
		t = ty_arith(a, NULL);
		alu = op == OP_MINUS ? ALU_NEG : ALU_BNOT;
	}
	if (!a)
		return NULL;
	if (a->kind == N_CONST)
		return mk_const(c, pos, alu_unary(alu, a->ival), t);
	n = new_node(c, N_UNARY, pos, t);
	if (!n)
		return NULL;
	n->alu = alu;
	n->kid[0] = a;
	return n;
}

struct node *mk_deref(struct parse_ctx *c, int pos, struct node *a)
{
	struct node *n;

	a = decay(c, a);
	if (!a)
		return NULL;
	if (a->type.kind == TY_INT)
		return ctx_error(c, pos, "cannot dereference a number (cast it to a pointer)");
	if (a->type.kind == TY_STR)
		return ctx_error(c, pos, "cannot dereference a string");
	if (!a->type.size)
		return ctx_error(c, pos, "cannot dereference a void pointer");
	n = new_node(c, N_DEREF, pos, ty_int(a->type.size, a->type.is_signed));
	if (n)
		n->kid[0] = a;
	return n;
}

struct node *mk_index(struct parse_ctx *c, int pos, struct node *a, struct node *i)
{
	a = value(c, a, pos, "[]");
	i = a ? value(c, i, pos, "[]") : NULL;
	if (!i)
		return NULL;
	if (a->type.kind == TY_INT && i->type.kind == TY_PTR) {
		struct node *t = a;

		a = i;
		i = t;
	}
	if (a->type.kind != TY_PTR)
		return ctx_error(c, pos, "only arrays and pointers can be indexed");
	if (i->type.kind != TY_INT)
		return ctx_error(c, pos, "an index must be a number");
	a = ptr_add(c, pos, a, i, false);
	return a ? mk_deref(c, pos, a) : NULL;
}

struct node *mk_cond(struct parse_ctx *c, int pos, struct node *cond, struct node *a,
		     struct node *b)
{
	struct node *n;
	struct ty t;

	cond = value(c, cond, cond->pos, "?:");
	if (!cond)
		return NULL;
	if (a->type.kind != TY_STR || b->type.kind != TY_STR) {
		a = decay(c, a);
		b = a ? decay(c, b) : NULL;
		if (!b)
			return NULL;
	}
	if (a->type.kind == b->type.kind) {
		t = a->type.kind == TY_INT ? ty_arith(a, b) : a->type;
	} else if (a->type.kind == TY_PTR && b->kind == N_CONST && b->type.kind == TY_INT &&
		   !b->ival) {
		t = a->type;
	} else if (b->type.kind == TY_PTR && a->kind == N_CONST && a->type.kind == TY_INT &&
		   !a->ival) {
		t = b->type;
	} else {
		return ctx_error(c, pos, "the two sides of ':' have different types");
	}
	if (cond->kind == N_CONST) {
		n = cond->ival ? a : b;
		if (n->type.kind != TY_STR)
			n->type = t;
		return n;
	}
	n = new_node(c, N_COND, pos, t);
	if (!n)
		return NULL;
	n->kid[0] = cond;
	n->kid[1] = a;
	n->kid[2] = b;
	return n;
}

struct node *mk_comma(struct parse_ctx *c, int pos, struct node *a, struct node *b)
{
	struct node *n;

	/* A constant on the left has no effect. */
	if (a->kind == N_CONST || a->kind == N_STR)
		return b;
	n = new_node(c, N_COMMA, pos, b->type);
	if (!n)
		return NULL;
	n->kid[0] = a;
	n->kid[1] = b;
	return n;
}

/* True when converting a value of type `from` to `to` leaves its 64-bit value unchanged. */
static bool cast_is_retype(const struct ty *from, const struct ty *to)
{
	if (to->kind == TY_PTR)
		return true;
	if (to->is_bool)
		return from->kind == TY_INT && from->is_bool;
	if (to->size == 8)
		return true;
	if (from->kind != TY_INT)
		return false;
	if (from->is_bool)
		return true;
	if (from->size < to->size)
		return to->is_signed || !from->is_signed;
	return from->size == to->size && from->is_signed == to->is_signed;
}

struct node *mk_cast(struct parse_ctx *c, int pos, struct ty t, struct node *a)
{
	struct node *n;

	a = decay(c, a);
	if (!a)
		return NULL;
	if (a->type.kind == TY_STR)
		return ctx_error(c, pos, "cannot convert a string to %s",
				 t.kind == TY_PTR ? "a pointer" : "a number");
	if (a->kind == N_CONST) {
		a->ival = t.kind == TY_INT ? conv_int(a->ival, t.size, t.is_signed, t.is_bool)
					   : a->ival;
		a->type = t;
		a->arraylen = 0;
		return a;
	}
	n = new_node(c, N_CAST, pos, t);
	if (!n)
		return NULL;
	n->kid[0] = a;
	/* Values are kept normalised in 64 bits, so many casts are only a retype. */
	n->fsize = !cast_is_retype(&a->type, &t);
	return n;
}

static uint32_t bswap32(uint32_t v)
{
	return __builtin_bswap32(v);
}

static const struct {
	const char *name;
	enum builtin bi;
	int nargs;	/* -1: at least one */
} builtins[] = {
	{ "ksymbol", BI_KSYMBOL, 1 }, { "ntohl", BI_NTOHL, 1 }, { "ntohs", BI_NTOHS, 1 },
	{ "htonl", BI_HTONL, 1 }, { "htons", BI_HTONS, 1 }, { "printf", BI_PRINTF, -1 },
	{ "strncmp", BI_STRNCMP, 3 },
};

static struct node *mk_printf(struct parse_ctx *c, struct node *n, struct node **args,
			      int nargs)
{
	struct printf_desc *pf, **v;

	if (args[0]->kind != N_STR)
		return ctx_error(c, args[0]->pos, "printf: the format must be a string literal");
	pf = pf_compile(args[0]->str, args[0]->slen, args[0]->pos, c->err);
	if (!pf)
		return NULL;
	v = realloc(c->e->pfs, (c->e->npfs + 1) * sizeof(*v));
	if (!v) {
		pf_free(pf);
		return ctx_error(c, n->pos, "out of memory");
	}
	c->e->pfs = v;
	c->e->pfs[c->e->npfs++] = pf;
	c->e->has_printf = true;
	n->pf = pf;
	if (nargs - 1 != pf->nconv)
		return ctx_error(c, n->pos, "printf: the format wants %d argument%s, %d given",
				 pf->nconv, pf->nconv == 1 ? "" : "s", nargs - 1);
	for (int i = 1; i < nargs; i++) {
		if (pf->arg_conv[i - 1] == PF_STR)
			args[i] = string(c, args[i], "printf: %s");
		else
			args[i] = value(c, args[i], args[i]->pos, "printf");
		if (!args[i])
			return NULL;
	}
	return n;
}

struct node *mk_call(struct parse_ctx *c, int pos, const char *name, struct node **args,
		     int nargs)
{
	struct node *n = NULL;
	size_t k;

	for (k = 0; k < sizeof(builtins) / sizeof(builtins[0]); k++)
		if (!strcmp(builtins[k].name, name))
			break;
	if (k == sizeof(builtins) / sizeof(builtins[0]))
		return ctx_error(c, pos, "unknown function '%s'", name);
	if (builtins[k].nargs >= 0 ? nargs != builtins[k].nargs : nargs < 1)
		return ctx_error(c, pos, "%s() takes %d argument%s", name,
				 builtins[k].nargs < 0 ? 1 : builtins[k].nargs,
				 builtins[k].nargs == 1 ? "" : "s");
	n = new_node(c, N_CALL, pos, ty_int(4, true));
	if (!n)
		return NULL;
	n->bi = builtins[k].bi;
	n->nargs = nargs;
	n->args = ctx_alloc(c, nargs * sizeof(*n->args));
	if (!n->args)
		return NULL;
	memcpy(n->args, args, nargs * sizeof(*args));
	args = n->args;
	switch (n->bi) {
	case BI_KSYMBOL:
		args[0] = value(c, args[0], pos, name);
		n->type = ty_str();
		c->e->uses_ksym = true;
		return args[0] ? n : NULL;
	case BI_NTOHL: case BI_HTONL: case BI_NTOHS: case BI_HTONS: {
		bool is32 = n->bi == BI_NTOHL || n->bi == BI_HTONL;

		args[0] = integer(c, args[0], pos, name);
		if (!args[0])
			return NULL;
		n->type = ty_int(is32 ? 4 : 2, false);
		if (args[0]->kind == N_CONST) {
			uint32_t v = (uint32_t)args[0]->ival;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			v = is32 ? bswap32(v) : (uint16_t)__builtin_bswap16((uint16_t)v);
#else
			v = is32 ? v : (uint16_t)v;
#endif
			return mk_const(c, pos, v, n->type);
		}
		return n;
	}
	case BI_PRINTF:
		return mk_printf(c, n, args, nargs);
	case BI_STRNCMP:
		args[0] = string(c, args[0], "strncmp");
		args[1] = args[0] ? string(c, args[1], "strncmp") : NULL;
		args[2] = args[1] ? integer(c, args[2], pos, name) : NULL;
		return args[2] ? n : NULL;
	}
	return NULL;
}

struct node *mk_sizeof_expr(struct parse_ctx *c, int pos, struct node *a)
{
	int64_t size;

	if (a->arraylen)
		size = a->arraylen;
	else if (a->type.kind == TY_PTR)
		size = 8;
	else if (a->type.kind == TY_INT)
		size = a->type.size;
	else
		return ctx_error(c, pos, "sizeof: a string has no fixed size");
	return mk_const(c, pos, size, ty_int(8, false));
}
