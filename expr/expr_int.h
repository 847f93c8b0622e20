/*
 * Internals of the expression language: tokens, the typed AST the
 * parser builds, the flat instruction array the evaluator runs, and
 * the compiled expression itself. Not part of the public contract.
 */
#ifndef EXPR_EXPR_INT_H
#define EXPR_EXPR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "expr/expr.h"

struct tep_format_field;

/* Limits that keep compile-time recursion and the eval stack bounded. */
#define EXPR_MAX_DEPTH 100	/* parser nesting */
#define EXPR_STACK_MAX 256	/* eval stack slots */
#define EXPR_MAX_ARGS 16	/* builtin call arguments */

/* ---- tokens ---- */

enum tok_kind {
	TK_END,
	TK_NUM,		/* integer or character literal */
	TK_STR,		/* string literal */
	TK_IDENT,
	TK_PUNCT,	/* operator or bracket, see tok_op */
};

/* Operators; the two-character ones get their own codes. */
enum tok_op {
	OP_NONE = 0,
	OP_LPAREN, OP_RPAREN, OP_LBRACK, OP_RBRACK, OP_COMMA, OP_QUEST, OP_COLON,
	OP_PLUS, OP_MINUS, OP_STAR, OP_SLASH, OP_PERCENT,
	OP_SHL, OP_SHR, OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE,
	OP_AMP, OP_CARET, OP_PIPE, OP_ANDAND, OP_OROR, OP_NOT, OP_TILDE,
	OP_ASSIGN,	/* only to say "use ==" */
};

struct token {
	enum tok_kind kind;
	enum tok_op op;
	int pos;		/* 0-based column of the first character */
	int len;		/* characters in the text */
	uint64_t num;		/* TK_NUM value */
	bool num_unsigned;	/* literal is an unsigned 64-bit value */
	char *str;		/* TK_STR decoded bytes (NUL terminated) */
	int str_len;
};

struct tokens {
	struct token *v;
	int n;
};

int expr_lex(const char *text, struct tokens *out, struct expr_error *err);
void expr_tokens_free(struct tokens *t);
const char *expr_op_text(enum tok_op op);

/* ---- types ---- */

enum ty_kind {
	TY_INT,		/* 64-bit value loaded with the given size/signedness */
	TY_PTR,		/* byte offset into the record; size = pointee size */
	TY_STR,		/* (bytes, length); in_record ones decay to char * */
};

struct ty {
	enum ty_kind kind;
	uint8_t size;		/* INT: 1,2,4,8. PTR: pointee size, 0 = void */
	bool is_signed;		/* INT, or the PTR pointee */
	bool is_bool;		/* INT from a (bool) cast */
};

/* Arithmetic in 64 bits is unsigned only for 64-bit unsigned types. */
static inline bool ty_unsigned64(const struct ty *t)
{
	return t->kind == TY_PTR || (t->kind == TY_INT && t->size == 8 && !t->is_signed);
}

/* ---- AST ---- */

enum node_kind {
	N_CONST,	/* ival, type INT or PTR */
	N_STR,		/* string literal */
	N_LOAD,		/* numeric field */
	N_STRFIELD,	/* char array / __data_loc char[] field as a string */
	N_DLOC_PTR,	/* __data_loc field as a pointer to its first element */
	N_UNARY,	/* op: OP_MINUS OP_NOT OP_TILDE */
	N_DEREF,	/* *kid[0], type.size bytes */
	N_BINARY,	/* alu op in `alu` */
	N_ANDAND,
	N_OROR,
	N_COND,
	N_COMMA,
	N_CAST,		/* integer conversion to type */
	N_STREQ,	/* op: OP_EQ / OP_NE */
	N_PTR2STR,	/* char * into the record -> string to record end */
	N_CALL,
};

enum builtin {
	BI_KSYMBOL, BI_NTOHL, BI_NTOHS, BI_HTONL, BI_HTONS, BI_PRINTF, BI_STRNCMP,
};

struct printf_desc;

struct node {
	enum node_kind kind;
	int pos;
	struct ty type;
	int alu;			/* N_BINARY: enum alu_op; N_UNARY: enum alu_op */
	int64_t ival;
	struct node *kid[3];
	/* fields */
	int off;			/* N_LOAD / N_STRFIELD / N_DLOC_PTR: record offset */
	int fsize;			/* N_STRFIELD char array: its length */
	bool dloc;			/* N_STRFIELD: __data_loc */
	bool rel;			/* __rel_loc: offset relative to the word's end */
	/* strings and calls */
	const char *str;		/* N_STR bytes, owned by the compile arena */
	int slen;
	enum builtin bi;
	int nargs;
	struct node **args;
	struct printf_desc *pf;		/* BI_PRINTF, handed to the expr */
	int arraylen;			/* sizeof() of array fields */
};

/* ---- ALU, shared by constant folding and the evaluator ---- */

enum alu_op {
	ALU_ADD, ALU_SUB, ALU_MUL, ALU_DIVS, ALU_DIVU, ALU_MODS, ALU_MODU,
	ALU_SHL, ALU_SHRS, ALU_SHRU, ALU_AND, ALU_OR, ALU_XOR,
	ALU_EQ, ALU_NE, ALU_LTS, ALU_LTU, ALU_LES, ALU_LEU,
	ALU_GTS, ALU_GTU, ALU_GES, ALU_GEU,
	ALU_NEG, ALU_LNOT, ALU_BNOT,
};

/*
 * One binary operation on 64-bit values. Wraps like unsigned C
 * arithmetic (no undefined behaviour); division by zero sets *fault.
 */
static inline int64_t alu_binary(int op, int64_t a, int64_t b, bool *fault)
{
	uint64_t ua = (uint64_t)a, ub = (uint64_t)b;

	switch (op) {
	case ALU_ADD: return (int64_t)(ua + ub);
	case ALU_SUB: return (int64_t)(ua - ub);
	case ALU_MUL: return (int64_t)(ua * ub);
	case ALU_DIVS:
		if (!b) { *fault = true; return 0; }
		if (a == INT64_MIN && b == -1)
			return INT64_MIN;
		return a / b;
	case ALU_DIVU:
		if (!b) { *fault = true; return 0; }
		return (int64_t)(ua / ub);
	case ALU_MODS:
		if (!b) { *fault = true; return 0; }
		if (b == -1)
			return 0;
		return a % b;
	case ALU_MODU:
		if (!b) { *fault = true; return 0; }
		return (int64_t)(ua % ub);
	/* Shifts by 64 or more (or negative) shift everything out. */
	case ALU_SHL: return ub >= 64 ? 0 : (int64_t)(ua << ub);
	case ALU_SHRS: return ub >= 64 ? (a < 0 ? -1 : 0) : a >> ub;
	case ALU_SHRU: return ub >= 64 ? 0 : (int64_t)(ua >> ub);
	case ALU_AND: return a & b;
	case ALU_OR: return a | b;
	case ALU_XOR: return a ^ b;
	case ALU_EQ: return a == b;
	case ALU_NE: return a != b;
	case ALU_LTS: return a < b;
	case ALU_LTU: return ua < ub;
	case ALU_LES: return a <= b;
	case ALU_LEU: return ua <= ub;
	case ALU_GTS: return a > b;
	case ALU_GTU: return ua > ub;
	case ALU_GES: return a >= b;
	case ALU_GEU: return ua >= ub;
	}
	return 0;
}

static inline int64_t alu_unary(int op, int64_t a)
{
	switch (op) {
	case ALU_NEG: return (int64_t)(0 - (uint64_t)a);
	case ALU_LNOT: return !a;
	case ALU_BNOT: return ~a;
	}
	return 0;
}

/* Truncate/extend to an integer type, as a C conversion would. */
static inline int64_t conv_int(int64_t v, int size, bool is_signed, bool is_bool)
{
	if (is_bool)
		return v != 0;
	switch (size) {
	case 1: return is_signed ? (int64_t)(int8_t)v : (int64_t)(uint8_t)v;
	case 2: return is_signed ? (int64_t)(int16_t)v : (int64_t)(uint16_t)v;
	case 4: return is_signed ? (int64_t)(int32_t)v : (int64_t)(uint32_t)v;
	}
	return v;
}

/* ---- instructions ---- */

enum insn_op {
	I_END,
	I_CONST,	/* push imm */
	I_STRCONST,	/* push (str, a) */
	I_LOAD,		/* push field at a, size, signed */
	I_ARRSTR,	/* push char array at a, length size32 in imm */
	I_DLOCSTR,	/* push __data_loc string whose word is at a */
	I_DLOCPTR,	/* push offset of __data_loc data whose word is at a */
	I_DEREF,	/* pop offset, push value of size bytes */
	I_PTR2STR,	/* pop offset, push string up to the record end */
	I_UNARY,	/* a = alu op */
	I_BINARY,	/* a = alu op (generic; codegen uses the families below) */
	I_CONV,		/* integer conversion: size, flags */
	I_JZ,		/* pop; jump to a if zero */
	I_JMP,
	I_ANDJZ,	/* if top == 0 jump to a (keeping 0) else pop */
	I_ORJNZ,	/* if top != 0 set 1 and jump to a else pop */
	I_BOOL,		/* top = top != 0 */
	I_POP,
	I_STREQ,	/* pop 2 strings, push equality (a = 1 for !=) */
	I_STRNCMP,	/* pop n, b, a */
	I_KSYM,		/* pop address, push symbol string */
	I_BSWAP32,
	I_BSWAP16,
	I_PRINTF,	/* a = nargs, pf = descriptor */
	/*
	 * Families with the ALU op in the opcode itself, so each is one
	 * dispatch with the operation known to the compiler:
	 *   I_BIN + op:   top2 = top2 op top
	 *   I_OPK + op:   top = top op imm
	 *   I_LOADK + op: push field(a) op imm
	 *   I_KLOAD + op: push imm op field(a)
	 */
	I_BIN = 32,
	I_OPK = I_BIN + 32,
	I_LOADK = I_OPK + 32,
	I_KLOAD = I_LOADK + 32,
};

/* Every ALU op that can be a binary instruction, for generating VM cases. */
#define ALU_BINARY_OPS(X) \
	X(ALU_ADD) X(ALU_SUB) X(ALU_MUL) X(ALU_DIVS) X(ALU_DIVU) X(ALU_MODS) \
	X(ALU_MODU) X(ALU_SHL) X(ALU_SHRS) X(ALU_SHRU) X(ALU_AND) X(ALU_OR) \
	X(ALU_XOR) X(ALU_EQ) X(ALU_NE) X(ALU_LTS) X(ALU_LTU) X(ALU_LES) X(ALU_LEU) \
	X(ALU_GTS) X(ALU_GTU) X(ALU_GES) X(ALU_GEU)

#define IF_SIGNED 1
#define IF_REL 2
#define IF_BOOL 4

struct insn {
	uint8_t op;
	uint8_t size;
	uint8_t flags;
	int32_t a;
	union {
		int64_t imm;
		const char *str;
		const struct printf_desc *pf;
	};
};

/* Specialised shapes of the whole program that skip the interpreter. */
enum fast_kind {
	FAST_NONE,
	FAST_LOAD,		/* one numeric field */
	FAST_LOAD_OP_K,		/* field OP constant */
	FAST_K_OP_LOAD,		/* constant OP field */
	FAST_CONST,		/* folded to a constant */
};

static inline bool alu_is_bool(int op)
{
	return op >= ALU_EQ && op <= ALU_GEU;
}

struct expr {
	struct insn *code;
	int ncode;
	enum expr_type result;
	enum fast_kind fast;
	int fast_op, fast_off, fast_size;
	bool fast_signed;
	int64_t fast_k;
	bool has_printf;
	bool uses_ksym;
	FILE *out;
	uint64_t faults;
	const char *first_fault;
	/* Storage the code points into: string literals and printf formats. */
	char **strs;
	int nstrs;
	struct printf_desc **pfs;
	int npfs;
};

/* ---- printf ---- */

/*
 * A printf() format split at compile time into literal runs and
 * conversions, so the hot path never parses the format.
 */
enum pf_conv { PF_INT, PF_UINT, PF_CHAR, PF_STR, PF_PTR };

struct pf_seg {
	const char *lit;	/* literal text (conversion == false) */
	int lit_len;
	bool is_conv;
	enum pf_conv conv;
	int size;		/* integer length: 1, 2, 4 or 8 */
	char spec[32];		/* host printf spec, e.g. "%-8lld" or "%*.*s" */
	int width;		/* for %s: -1 none */
	int prec;		/* for %s: -1 none */
	bool left;		/* for %s: '-' flag */
};

struct printf_desc {
	char *fmt;		/* owned copy of the literal */
	struct pf_seg *segs;
	int nsegs;
	int nconv;
	enum pf_conv *arg_conv;	/* conversion per argument, for type checks */
};

struct printf_desc *pf_compile(const char *fmt, int len, int pos, struct expr_error *err);
void pf_free(struct printf_desc *pf);

/* A value on the evaluation stack: integer/pointer, or string. */
union slot {
	int64_t i;
	struct {
		const char *p;
		int32_t n;
	} s;
};

int pf_run(FILE *out, const struct printf_desc *pf, const union slot *args);

/* ---- compile stages ---- */

/*
 * Parse and type-check text against event (may be NULL: no fields).
 * String literals and printf formats the code will point to are
 * attached to e; nodes live in *arena until expr_arena_free().
 */
struct node *expr_parse(const char *text, struct tep_event *event, struct expr *e,
			struct expr_error *err, void **arena);
void expr_arena_free(void *arena);
void expr_set_error(struct expr_error *err, int pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
