/* Filter path selection; see filter.h. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event-parse.h>

#include "expr/expr.h"
#include "filter/filter.h"
#include "filter/spec.h"
#include "lib/ksyms.h"
#include "lib/perf_event.h"
#include "lib/session.h"

/* Try a filter on a throw-away, disabled instance of the tracepoint. */
static int kernel_accepts(int tp_id, int cpu, const char *filter)
{
	struct perf_event_attr attr;
	struct pe_tp_opts o = { .tp_id = tp_id, .wakeup_bytes = 1 };
	int fd, ret;

	pe_tp_attr(&attr, &o);
	fd = pe_open(&attr, -1, cpu, -1, 0);
	if (fd < 0)
		return fd;
	ret = pe_set_filter(fd, filter);
	close(fd);
	return ret;
}

static bool is_ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.';
}

enum rewrite_for { FOR_KERNEL, FOR_USER };

/*
 * The kmemprof manual writes `call_site==kfree_skb`: a kernel function
 * compared with an address field means "inside that function". 6.x
 * kernels accept that as `call_site.function == kfree_skb`; our
 * expression language says `ksymbol(call_site) == "kfree_skb"`. Rewrite
 * FIELD==NAME / FIELD!=NAME where FIELD is a non-string field and NAME is
 * neither a number nor a field, outside string literals. Returns a new
 * string (malloc'ed) or NULL if nothing was rewritten; *bad names a symbol
 * that does not exist.
 */
static char *rewrite_function_compares(struct tep_event *tp, const char *f, enum rewrite_for to,
				       char *bad, size_t badlen)
{
	size_t len = strlen(f), outlen = 0;
	char *out = NULL;
	FILE *o = open_memstream(&out, &outlen);
	bool changed = false;

	if (!o)
		return NULL;
	for (size_t i = 0; i < len;) {
		if (f[i] == '"' || f[i] == '\'') {
			/* A literal is copied as written: "pid==up" inside quotes is text. */
			char q = f[i];
			size_t j = i + 1;

			while (j < len && f[j] != q)
				j += f[j] == '\\' && j + 1 < len ? 2 : 1;
			j = j < len ? j + 1 : len;
			fwrite(f + i, 1, j - i, o);
			i = j;
			continue;
		}
		if (is_ident_char(f[i]) && !isdigit((unsigned char)f[i]) && (i == 0 || !is_ident_char(f[i - 1]))) {
			size_t a = i, b, c, d, e;
			char lhs[128], rhs[128];

			while (i < len && is_ident_char(f[i]))
				i++;
			b = i;
			c = b;
			while (c < len && f[c] == ' ')
				c++;
			if (c + 1 < len && (f[c] == '=' || f[c] == '!') && f[c + 1] == '=') {
				struct tep_format_field *fl;

				d = c + 2;
				while (d < len && f[d] == ' ')
					d++;
				e = d;
				while (e < len && is_ident_char(f[e]))
					e++;
				snprintf(lhs, sizeof(lhs), "%.*s", (int)(b - a), f + a);
				snprintf(rhs, sizeof(rhs), "%.*s", (int)(e - d), f + d);
				fl = tep_find_any_field(tp, lhs);
				if (e > d && !isdigit((unsigned char)rhs[0]) && fl && !(fl->flags & TEP_FIELD_IS_STRING) &&
				    !tep_find_any_field(tp, rhs) && !strchr(lhs, '.')) {
					uint64_t s0, s1;

					if (ksyms_load() || ksyms_by_name(rhs, &s0, &s1)) {
						snprintf(bad, badlen, "%s", rhs);
						fclose(o);
						free(out);
						return NULL;
					}
					if (to == FOR_KERNEL)
						fprintf(o, "%s.function %c= %s", lhs, f[c], rhs);
					else
						fprintf(o, "ksymbol(%s) %c= \"%s\"", lhs, f[c], rhs);
					i = e;
					changed = true;
					continue;
				}
			}
			fwrite(f + a, 1, b - a, o);
			continue;
		}
		fputc(f[i++], o);
	}
	if (fclose(o) || !changed) {
		free(out);
		return NULL;
	}
	return out;
}

static int setup_one(struct session *s, struct evsel *ev)
{
	struct event_spec *sp = ev->spec;
	const char *user_text = sp->filter;
	struct expr_error err;
	char bad[128] = "";
	char *kernel_text, *user_rewrite;
	int kret;

	kernel_text = rewrite_function_compares(ev->tp, sp->filter, FOR_KERNEL, bad, sizeof(bad));
	if (bad[0]) {
		usage_error("%s: '%s' in filter '%s' is no kernel symbol", ev->name, bad, sp->filter);
		return EXIT_USAGE;
	}
	kret = kernel_accepts(ev->tp_id, s->first_cpu, kernel_text ? kernel_text : sp->filter);
	if (kret == 0) {
		if (kernel_text) {
			pr_verbose(1, "%s: filter '%s' given to the kernel as '%s'\n", ev->name, sp->filter, kernel_text);
			free(sp->filter);
			sp->filter = kernel_text;
		}
		pr_verbose(1, "%s: filter '%s': kernel\n", ev->name, sp->filter);
		return 0;
	}
	free(kernel_text);
	if (kret != -EINVAL) {
		pr_err("cannot try the filter of %s: %s", ev->name, pe_strerror(kret));
		return EXIT_RUNTIME;
	}
	/* The user path compiles what the user wrote, with FUNC compares as ksymbol(). */
	user_rewrite = rewrite_function_compares(ev->tp, sp->filter, FOR_USER, bad, sizeof(bad));
	if (user_rewrite)
		user_text = user_rewrite;
	ev->filter = expr_compile(user_text, ev->tp, &err);
	if (!ev->filter) {
		char what[300];

		snprintf(what, sizeof(what), "%s: filter", ev->name);
		expr_print_error(stderr, what, user_text, &err);
		free(user_rewrite);
		return EXIT_USAGE;
	}
	pr_verbose(1, "%s: filter '%s': user space (the kernel refused it)\n", ev->name, user_text);
	free(user_rewrite);
	return 0;
}

int filters_setup(struct session *s)
{
	for (int i = 0; i < s->nr_evsels; i++) {
		struct evsel *ev = &s->evsels[i];
		int ret;

		if (!ev->spec->filter)
			continue;
		ret = setup_one(s, ev);
		if (ret)
			return ret;
	}
	return 0;
}
