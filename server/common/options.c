/* SPDX-License-Identifier: BSD-2-Clause */
/* Command-line options from a table (options.h). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "options.h"
#include "xbt/buf.h"

static bool opt_number(const char *s, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' ||
	    s[0] == ' ' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Stores arg (NULL for a flag) as o says; false when arg is bad. */
static bool opt_set(const struct opt *o, const char *arg)
{
	unsigned long v = 0;
	bool ok = true;

	switch (o->kind) {
	case OPT_FLAG:
		*(bool *)o->dest = true;
		break;
	case OPT_STRING:
		*(const char **)o->dest = arg;
		break;
	case OPT_UINT:
		ok = opt_number(arg, o->min, o->max < UINT32_MAX ? o->max
							      : UINT32_MAX, &v);
		if (ok)
			*(unsigned *)o->dest = (unsigned)v;
		break;
	case OPT_SIZE:
		ok = opt_number(arg, o->min, o->max, &v);
		if (ok)
			*(size_t *)o->dest = (size_t)v;
		break;
	case OPT_CUSTOM:
		ok = o->parse(arg, o->dest);
		break;
	}
	return ok;
}

static void opt_bad(const char *prog, const struct opt *o, const char *from,
		    const char *arg)
{
	fprintf(stderr, "%s: bad value for --%s%s: %s", prog, o->name, from,
		arg);
	if (o->kind == OPT_UINT || o->kind == OPT_SIZE)
		fprintf(stderr, " (%lu to %lu)", o->min, o->max);
	fputc('\n', stderr);
}

void opt_usage(FILE *f, const struct opt *table, size_t n, const char *prog)
{
	fprintf(f, "usage: %s [options]\n", prog);
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = &table[i];
		xbt_buf head = XBT_BUF_INIT;

		xbt_buf_addf(&head, "  --%s", o->name);
		if (o->kind != OPT_FLAG)
			xbt_buf_addf(&head, " %s", o->metavar ? o->metavar : "X");
		fprintf(f, "%-26s %s", head.buf, o->help);
		if (o->dflt_help)
			fprintf(f, " (default %s)", o->dflt_help);
		else if (o->dflt)
			fprintf(f, " (default %s)", o->dflt);
		if (o->env)
			fprintf(f, " [$%s]", o->env);
		fputc('\n', f);
		xbt_buf_release(&head);
	}
	fprintf(f, "  --help, --version\n");
}

int opt_parse(const struct opt *table, size_t n, const char *prog,
	      const char *version, int argc, char **argv)
{
	struct option *longs = xbt_calloc(n + 3, sizeof(*longs));
	int status = 0, c;

	for (size_t i = 0; i < n && !status; i++) {
		const struct opt *o = &table[i];
		const char *env = o->env ? getenv(o->env) : NULL;

		/* A bad default is the table's bug: say so, as for argv. */
		if (o->dflt && !opt_set(o, o->dflt)) {
			opt_bad(prog, o, " (default)", o->dflt);
			status = 2;
		} else if (env && !opt_set(o, env)) {
			opt_bad(prog, o, " (from the environment)", env);
			status = 2;
		}
		longs[i].name = o->name;
		longs[i].has_arg = o->kind == OPT_FLAG ? no_argument
						       : required_argument;
		longs[i].val = (int)i;
	}
	longs[n].name = "help";
	longs[n].val = (int)n;
	longs[n + 1].name = "version";
	longs[n + 1].val = (int)n + 1;
	optind = 1;
	/* argc 0: the defaults only (in-process tests). */
	while (!status && argc > 0 &&
	       (c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (c == (int)n) {
			opt_usage(stdout, table, n, prog);
			exit(0);
		} else if (c == (int)n + 1) {
			printf("%s %s\n", prog, version);
			exit(0);
		} else if (c < 0 || c >= (int)n) {
			opt_usage(stderr, table, n, prog);
			status = 2;
		} else if (!opt_set(&table[c], optarg)) {
			opt_bad(prog, &table[c], "", optarg);
			status = 2;
		}
	}
	if (!status && argc > 0 && optind < argc) {
		fprintf(stderr, "%s: unexpected argument: %s\n", prog,
			argv[optind]);
		status = 2;
	}
	free(longs);
	return status;
}

bool opt_parse_hostname(const char *arg, void *dest)
{
	bool ok = arg[0] && strlen(arg) < OPT_HOSTNAME_MAX;

	if (ok)
		memcpy(dest, arg, strlen(arg) + 1);
	return ok;
}

bool opt_parse_socket(const char *arg, void *dest)
{
	struct sockaddr_un sun;

	*(const char **)dest = arg;
	return arg[0] == '/' && strlen(arg) < sizeof(sun.sun_path);
}

bool opt_parse_log_level(const char *arg, void *dest)
{
	int level = log_level_parse(arg);

	*(int *)dest = level;
	return level >= 0;
}

void opt_default_hostname(char *name)
{
	if (!name[0] && gethostname(name, OPT_HOSTNAME_MAX - 1) != 0)
		snprintf(name, OPT_HOSTNAME_MAX, "localhost");
	name[OPT_HOSTNAME_MAX - 1] = '\0';
}
