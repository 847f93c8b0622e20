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
static int kernel_accepts(int tp_id, const char *filter)
{
	struct perf_event_attr attr;
	struct pe_tp_opts o = { .tp_id = tp_id, .wakeup_bytes = 1 };
	int fd, ret;

	pe_tp_attr(&attr, &o);
	fd = pe_open(&attr, -1, 0, -1, 0);
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

/*
 * The kmemprof manual writes `call_site==kfree_skb`: a kernel function
 * compared with an address field means "inside that function". 6.x
 * kernels accept that as `call_site.function == kfree_skb`. Rewrite
 * FIELD==NAME / FIELD!=NAME where FIELD is a non-string field and NAME is
 * neither a number nor a field. Returns a new string, or NULL if nothing
 * was rewritten; *bad names a symbol that does not exist.
 */
static char *rewrite_function_compares(struct tep_event *tp, const char *f, char *bad, size_t badlen)
{
	size_t len = strlen(f), cap = len * 2 + 64, o = 0;
	char *out = malloc(cap);
	bool changed = false;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
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
				d = c + 2;
				while (d < len && f[d] == ' ')
					d++;
				e = d;
				while (e < len && is_ident_char(f[e]))
					e++;
				snprintf(lhs, sizeof(lhs), "%.*s", (int)(b - a), f + a);
				snprintf(rhs, sizeof(rhs), "%.*s", (int)(e - d), f + d);
				struct tep_format_field *fl = tep_find_any_field(tp, lhs);
				if (e > d && !isdigit((unsigned char)rhs[0]) && fl && !(fl->flags & TEP_FIELD_IS_STRING) &&
				    !tep_find_any_field(tp, rhs) && !strchr(lhs, '.')) {
					uint64_t s0, s1;

					if (ksyms_load() || ksyms_by_name(rhs, &s0, &s1)) {
						snprintf(bad, badlen, "%s", rhs);
						free(out);
						return NULL;
					}
					o += (size_t)snprintf(out + o, cap - o, "%s.function %c= %s", lhs, f[c], rhs);
					i = e;
					changed = true;
					continue;
				}
			}
			memcpy(out + o, f + a, b - a);
			o += b - a;
			continue;
		}
		out[o++] = f[i++];
	}
	out[o] = '\0';
	if (!changed) {
		free(out);
		return NULL;
	}
	return out;
}

static int setup_one(struct session *s, struct evsel *ev)
{
	struct event_spec *sp = ev->spec;
	struct expr_error err;
	char bad[128] = "";
	char *rewritten;
	int kret;

	rewritten = rewrite_function_compares(ev->tp, sp->filter, bad, sizeof(bad));
	if (bad[0]) {
		usage_error("%s: '%s' in filter '%s' is no kernel symbol", ev->name, bad, sp->filter);
		return EXIT_USAGE;
	}
	if (rewritten) {
		pr_verbose(1, "%s: filter '%s' given to the kernel as '%s'\n", ev->name, sp->filter, rewritten);
		free(sp->filter);
		sp->filter = rewritten;
	}
	kret = kernel_accepts(ev->tp_id, sp->filter);
	if (kret == 0) {
		pr_verbose(1, "%s: filter '%s': kernel\n", ev->name, sp->filter);
		return 0;
	}
	if (kret != -EINVAL) {
		pr_err("cannot try the filter of %s: %s", ev->name, pe_strerror(kret));
		return EXIT_RUNTIME;
	}
	ev->filter = expr_compile(sp->filter, ev->tp, &err);
	if (!ev->filter) {
		char what[300];

		snprintf(what, sizeof(what), "%s: filter", ev->name);
		expr_print_error(stderr, what, sp->filter, &err);
		return EXIT_USAGE;
	}
	pr_verbose(1, "%s: filter '%s': user space (the kernel refused it)\n", ev->name, sp->filter);
	(void)s;
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
