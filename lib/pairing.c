/* Pairing profiler setup; see pairing.h. */
#include <string.h>

#include "filter/spec.h"
#include "lib/pairing.h"

static int compile_attr(struct evsel *ev, const char *what, const char *text, struct expr **out)
{
	struct expr_error err;
	char ctx[300];

	*out = expr_compile(text, ev->tp, &err);
	if (*out)
		return 0;
	snprintf(ctx, sizeof(ctx), "%s: %s=", ev->name, what);
	expr_print_error(stderr, ctx, text, &err);
	return EXIT_USAGE;
}

int pairing_setup(struct session *s, const struct pairing_cfg *cfg)
{
	int want = cfg->end_optional ? 1 : 2;

	if (s->nr_groups < want || s->nr_groups > 2) {
		usage_error("%s: needs -e START_EVENTS%s (got %d -e)", cfg->prof,
			    cfg->end_optional ? " [-e END_EVENTS]" : " -e END_EVENTS", s->nr_groups);
		return EXIT_USAGE;
	}
	for (int i = 0; i < s->nr_evsels; i++) {
		struct evsel *ev = &s->evsels[i];
		const char *key = ev->spec->key ? ev->spec->key : s->env->key;
		int ret;

		if (!key) {
			usage_error("%s: %s needs key=EXPR or -k FIELD", cfg->prof, ev->name);
			return EXIT_USAGE;
		}
		if ((ret = compile_attr(ev, "key", key, &ev->key)))
			return ret;
		if (evsel_is_start(ev) && cfg->start_needs_size && !ev->spec->size) {
			usage_error("%s: the first -e needs size=EXPR (%s has none)", cfg->prof, ev->name);
			return EXIT_USAGE;
		}
		if (ev->spec->size && (ret = compile_attr(ev, "size", ev->spec->size, &ev->size)))
			return ret;
	}
	return 0;
}

void pairing_group_names(const struct session *s, int group, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < s->nr_evsels && o < len; i++)
		if (s->evsels[i].group == group)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "", s->evsels[i].name);
}

void pairing_report_faults(const struct session *s, FILE *f)
{
	for (int i = 0; i < s->nr_evsels; i++) {
		const struct evsel *ev = &s->evsels[i];
		struct expr *ex[2] = { ev->key, ev->size };
		const char *nm[2] = { "key", "size" };

		for (int k = 0; k < 2; k++)
			if (ex[k] && expr_faults(ex[k]))
				fprintf(f, "expr errors: %llu (first: %s in %s=%s of %s)\n",
					(unsigned long long)expr_faults(ex[k]), expr_first_fault(ex[k]), nm[k],
					k ? ev->spec->size : (ev->spec->key ? ev->spec->key : s->env->key), ev->name);
	}
}
