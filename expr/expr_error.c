/* Compile errors for humans: one line, the expression, a caret under the culprit. */
#include <string.h>

#include "expr/expr_int.h"

void expr_print_error(FILE *f, const char *what, const char *text, const struct expr_error *err)
{
	int len = text ? (int)strlen(text) : 0;
	int pos = err->pos < 0 ? 0 : err->pos > len ? len : err->pos;

	if (!text)
		text = "";
	/* "at N" counts columns from 1; the caret line is what to look at. */
	if (what && *what)
		fprintf(f, "perf-prof: expr: %s: %s at %d\n", what, err->msg, pos + 1);
	else
		fprintf(f, "perf-prof: expr: %s at %d\n", err->msg, pos + 1);
	fputs("    ", f);
	for (int i = 0; i < len; i++)
		fputc(text[i] == '\n' || text[i] == '\r' ? ' ' : text[i], f);
	fputs("\n    ", f);
	/* Keep tabs so the caret lines up with the text above it. */
	for (int i = 0; i < pos; i++)
		fputc(text[i] == '\t' ? '\t' : ' ', f);
	fputs("^\n", f);
}
