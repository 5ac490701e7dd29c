/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * idl/gen: validates idl/xenapi.xml against idl/xenapi.rng, checks what the
 * schema cannot (names resolve, names are unique, defaults parse, raised
 * errors are declared), adds the implicit messages, and writes the
 * generated sources:
 *
 *   api/xbt/xenapi.h         enums, record structs, descriptors, message
 *                            indexes, error codes, client stub prototypes
 *   api/xenapi.c             the descriptors (see api/xbt/model.h)
 *   api/xenapi_client.c      client stubs over xbt_client_call
 *   server/handlers.h        prototypes of the hand-written handlers
 *   server/dispatch_table.c  xbtd_handlers[], indexed like xbt_messages[]
 *   doc/api.md               the API reference
 *
 * Usage: gen --schema xenapi.rng [--check] [--out-dir DIR] xenapi.xml
 * Nothing is written when any check fails; every problem is reported as
 * "file:line: error: ..." and the exit status is 1.
 *
 * gen.h tells which file does what.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <libxml/parser.h>

#include "gen.h"

/* ---- emitting: common ------------------------------------------------------------- */

static bool write_file(const char *dir, const char *rel, const out *o)
{
	char *path = str_printf("%s/%s", dir, rel);
	char *tmp = str_printf("%s.tmp", path);
	FILE *f;

	/* make the parent directories */
	for (char *p = path + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "gen: mkdir %s: %s\n", path,
				strerror(errno));
			return false;
		}
		*p = '/';
	}
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "gen: %s: %s\n", tmp, strerror(errno));
		return false;
	}
	if (o->len && fwrite(o->buf, 1, o->len, f) != o->len) {
		fprintf(stderr, "gen: %s: write failed\n", tmp);
		fclose(f);
		remove(tmp);
		return false;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
		remove(tmp);
		return false;
	}
	return true;
}

const char *class_c_record(const class_def *c)
{
	return str_printf("struct xbt_%s_record", c->lower);
}

char *signature(const msg_def *m)
{
	out o = { 0 };
	char *r;

	out_s(&o, "(");
	if (m->session)
		out_s(&o, "session ref session");
	for (size_t i = 0; i < m->params.n; i++) {
		param_def *p = m->params.v[i];

		if (i || m->session)
			out_s(&o, ", ");
		out_f(&o, "%s %s", p->name, p->type->text);
		if (p->def)
			out_f(&o, " = \"%s\"", p->def);
	}
	out_f(&o, ") -> %s", m->result->text);
	r = xstrdup(o.buf);
	free(o.buf);
	return r;
}

/* ---- main ------------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: gen --schema SCHEMA.rng [--check] "
		"[--out-dir DIR] IDL.xml\n");
}

int main(int argc, char **argv)
{
	const char *schema = NULL, *outdir = ".";
	bool check_only = false;
	xmlDocPtr doc = NULL;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--schema") == 0 && i + 1 < argc) {
			schema = argv[++i];
		} else if (strcmp(argv[i], "--out-dir") == 0 && i + 1 < argc) {
			outdir = argv[++i];
		} else if (strcmp(argv[i], "--check") == 0) {
			check_only = true;
		} else if (argv[i][0] != '-' && !idl_path) {
			idl_path = argv[i];
		} else {
			usage();
			return 2;
		}
	}
	if (!schema || !idl_path) {
		usage();
		return 2;
	}

	LIBXML_TEST_VERSION
	if (!validate(schema))
		goto out;
	doc = xmlReadFile(idl_path, NULL, XML_PARSE_NONET | XML_PARSE_BIG_LINES);
	if (!doc) {
		fprintf(stderr, "%s: error: cannot parse\n", idl_path);
		nerrors++;
		goto out;
	}
	read_model(doc);
	if (!nerrors)
		check_model();
	if (nerrors)
		goto out;
	if (!check_only) {
		static const struct {
			const char *path;
			void (*emit)(out *);
		} outputs[] = {
			{ "api/xbt/xenapi.h", emit_header },
			{ "api/xenapi.c", emit_model },
			{ "api/xenapi_client.c", emit_client },
			{ "server/handlers.h", emit_handlers_h },
			{ "server/dispatch_table.c", emit_dispatch },
			{ "doc/api.md", emit_doc },
		};

		for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]);
		     i++) {
			out o = { 0 };
			bool ok;

			outputs[i].emit(&o);
			ok = write_file(outdir, outputs[i].path, &o);
			free(o.buf);
			if (!ok)
				goto out;
		}
	}
	rc = 0;
out:
	if (nerrors)
		fprintf(stderr, "%s: %d error%s; nothing generated\n",
			idl_path ? idl_path : "gen", nerrors,
			nerrors == 1 ? "" : "s");
	if (doc)
		xmlFreeDoc(doc);
	xmlCleanupParser();
	arena_free();
	return rc;
}
