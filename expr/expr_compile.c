/*
 * From the typed AST to a flat instruction array for a stack machine,
 * then recognise the shapes common in size=/key= (one field, field OP
 * constant) so expr_eval() can skip the interpreter for them.
 */
#include <stdlib.h>
#include <string.h>

#include "expr/expr_int.h"
#include "lib/ksyms.h"

struct codegen {
	struct insn *code;
	int n, cap;
	int depth, max_depth;
	bool oom;
};

static int emit(struct codegen *g, enum insn_op op, int stack_delta)
{
	if (g->n == g->cap) {
		int cap = g->cap ? g->cap * 2 : 16;
		struct insn *v = realloc(g->code, cap * sizeof(*v));

		if (!v) {
			g->oom = true;
			return 0;
		}
		g->code = v;
		g->cap = cap;
	}
	memset(&g->code[g->n], 0, sizeof(g->code[0]));
	g->code[g->n].op = op;
	g->depth += stack_delta;
	if (g->depth > g->max_depth)
		g->max_depth = g->depth;
	return g->n++;
}

/* The instruction just emitted (or a dummy after OOM, never run). */
static struct insn *at(struct codegen *g, int i)
{
	static struct insn dummy;

	return g->oom ? &dummy : &g->code[i];
}

static void gen(struct codegen *g, const struct node *n);

static void gen_call(struct codegen *g, const struct node *n)
{
	struct insn *in;

	for (int i = n->bi == BI_PRINTF ? 1 : 0; i < n->nargs; i++)
		gen(g, n->args[i]);
	switch (n->bi) {
	case BI_KSYMBOL:
		emit(g, I_KSYM, 0);
		break;
	case BI_NTOHL: case BI_HTONL:
		emit(g, I_BSWAP32, 0);
		break;
	case BI_NTOHS: case BI_HTONS:
		emit(g, I_BSWAP16, 0);
		break;
	case BI_STRNCMP:
		emit(g, I_STRNCMP, -2);
		break;
	case BI_PRINTF:
		in = at(g, emit(g, I_PRINTF, 1 - (n->nargs - 1)));
		in->a = n->nargs - 1;
		in->pf = n->pf;
		break;
	}
}

/* Nodes whose value is already 0 or 1: no I_BOOL needed after them. */
static bool is_boolean(const struct node *n)
{
	switch (n->kind) {
	case N_BINARY:
		return alu_is_bool(n->alu);
	case N_UNARY:
		return n->alu == ALU_LNOT;
	case N_ANDAND: case N_OROR: case N_STREQ:
		return true;
	default:
		return false;
	}
}

static void set_load(struct insn *in, const struct node *n)
{
	in->a = n->off;
	in->size = n->type.size;
	in->flags = n->type.is_signed ? IF_SIGNED : 0;
}

/* A constant operand folds into the instruction; a field next to it too. */
static void gen_binary(struct codegen *g, const struct node *n)
{
	const struct node *a = n->kid[0], *b = n->kid[1];
	struct insn *in;

	if (b->kind == N_CONST && a->kind == N_LOAD) {
		in = at(g, emit(g, I_LOADK + n->alu, 1));
		set_load(in, a);
		in->imm = b->ival;
	} else if (a->kind == N_CONST && b->kind == N_LOAD) {
		in = at(g, emit(g, I_KLOAD + n->alu, 1));
		set_load(in, b);
		in->imm = a->ival;
	} else if (b->kind == N_CONST) {
		gen(g, a);
		at(g, emit(g, I_OPK + n->alu, 0))->imm = b->ival;
	} else {
		gen(g, a);
		gen(g, b);
		emit(g, I_BIN + n->alu, -1);
	}
}

static void gen(struct codegen *g, const struct node *n)
{
	struct insn *in;
	int j1, j2;

	switch (n->kind) {
	case N_CONST:
		at(g, emit(g, I_CONST, 1))->imm = n->ival;
		break;
	case N_STR:
		in = at(g, emit(g, I_STRCONST, 1));
		in->str = n->str;
		in->a = n->slen;
		break;
	case N_LOAD:
		in = at(g, emit(g, I_LOAD, 1));
		in->a = n->off;
		in->size = n->type.size;
		in->flags = n->type.is_signed ? IF_SIGNED : 0;
		break;
	case N_STRFIELD:
		in = at(g, emit(g, n->dloc ? I_DLOCSTR : I_ARRSTR, 1));
		in->a = n->off;
		in->imm = n->fsize;
		in->flags = n->rel ? IF_REL : 0;
		break;
	case N_DLOC_PTR:
		in = at(g, emit(g, I_DLOCPTR, 1));
		in->a = n->off;
		in->flags = n->rel ? IF_REL : 0;
		break;
	case N_UNARY:
		gen(g, n->kid[0]);
		at(g, emit(g, I_UNARY, 0))->a = n->alu;
		break;
	case N_DEREF:
		gen(g, n->kid[0]);
		in = at(g, emit(g, I_DEREF, 0));
		in->size = n->type.size;
		in->flags = n->type.is_signed ? IF_SIGNED : 0;
		break;
	case N_BINARY:
		gen_binary(g, n);
		break;
	case N_ANDAND:
	case N_OROR:
		gen(g, n->kid[0]);
		j1 = emit(g, n->kind == N_ANDAND ? I_ANDJZ : I_ORJNZ, -1);
		gen(g, n->kid[1]);
		if (!is_boolean(n->kid[1]))
			emit(g, I_BOOL, 0);
		at(g, j1)->a = g->n;
		break;
	case N_COND:
		gen(g, n->kid[0]);
		j1 = emit(g, I_JZ, -1);
		gen(g, n->kid[1]);
		j2 = emit(g, I_JMP, -1); /* the else branch pushes its own value */
		at(g, j1)->a = g->n;
		gen(g, n->kid[2]);
		at(g, j2)->a = g->n;
		break;
	case N_COMMA:
		gen(g, n->kid[0]);
		emit(g, I_POP, -1);
		gen(g, n->kid[1]);
		break;
	case N_CAST:
		gen(g, n->kid[0]);
		if (n->fsize) {
			in = at(g, emit(g, I_CONV, 0));
			in->size = n->type.size;
			in->flags = (n->type.is_signed ? IF_SIGNED : 0) |
				    (n->type.is_bool ? IF_BOOL : 0);
		}
		break;
	case N_STREQ:
		gen(g, n->kid[0]);
		gen(g, n->kid[1]);
		at(g, emit(g, I_STREQ, -1))->a = n->alu;
		break;
	case N_PTR2STR:
		gen(g, n->kid[0]);
		emit(g, I_PTR2STR, 0);
		break;
	case N_CALL:
		gen_call(g, n);
		break;
	}
}

/* Pick a specialised evaluator when the program has a trivial shape. */
static void find_fast_path(struct expr *e)
{
	const struct insn *c = e->code;

	e->fast = FAST_NONE;
	if (e->result == EXPR_STR || e->ncode != 2)
		return;
	if (c->op == I_CONST) {
		e->fast = FAST_CONST;
		e->fast_k = c->imm;
		return;
	}
	if (c->op == I_LOAD)
		e->fast = FAST_LOAD;
	else if (c->op >= I_LOADK && c->op < I_LOADK + 32)
		e->fast = FAST_LOAD_OP_K;
	else if (c->op >= I_KLOAD && c->op < I_KLOAD + 32)
		e->fast = FAST_K_OP_LOAD;
	else
		return;
	e->fast_off = c->a;
	e->fast_size = c->size;
	e->fast_signed = c->flags & IF_SIGNED;
	e->fast_k = c->imm;
	e->fast_op = c->op & 31;
}

static enum expr_type result_type(const struct node *n)
{
	switch (n->type.kind) {
	case TY_PTR: return EXPR_PTR;
	case TY_STR: return EXPR_STR;
	default: return EXPR_INT;
	}
}

struct expr *expr_compile(const char *text, struct tep_event *event, struct expr_error *err)
{
	struct expr_error dummy;
	struct codegen g = { 0 };
	struct expr *e;
	struct node *root;
	void *arena = NULL;

	if (!err)
		err = &dummy;
	e = calloc(1, sizeof(*e));
	if (!e) {
		expr_set_error(err, 0, "out of memory");
		return NULL;
	}
	e->out = stdout;
	root = expr_parse(text ? text : "", event, e, err, &arena);
	if (!root)
		goto fail;
	e->result = result_type(root);
	gen(&g, root);
	emit(&g, I_END, 0);
	e->code = g.code;
	e->ncode = g.n;
	if (g.oom) {
		expr_set_error(err, 0, "out of memory");
		goto fail;
	}
	if (g.max_depth > EXPR_STACK_MAX) {
		expr_set_error(err, 0, "expression too complex (needs %d stack slots, max %d)",
			       g.max_depth, EXPR_STACK_MAX);
		goto fail;
	}
	find_fast_path(e);
	/* Symbols are loaded once, here, never on the hot path. A failure leaves "[unknown]". */
	if (e->uses_ksym)
		ksyms_load();
	expr_arena_free(arena);
	return e;
fail:
	expr_arena_free(arena);
	expr_free(e);
	return NULL;
}

void expr_free(struct expr *e)
{
	if (!e)
		return;
	free(e->code);
	for (int i = 0; i < e->nstrs; i++)
		free(e->strs[i]);
	free(e->strs);
	for (int i = 0; i < e->npfs; i++)
		pf_free(e->pfs[i]);
	free(e->pfs);
	free(e);
}

enum expr_type expr_result_type(const struct expr *e)
{
	return e->result;
}

void expr_set_output(struct expr *e, FILE *f)
{
	e->out = f ? f : stdout;
}

uint64_t expr_faults(const struct expr *e)
{
	return e->faults;
}

const char *expr_first_fault(const struct expr *e)
{
	return e->first_fault;
}

bool expr_has_printf(const struct expr *e)
{
	return e->has_printf;
}
