/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The data model at run time: lookups over the generated descriptors of
 * a model (xbt_api, xops_api; the XenAPI's when none is given).
 * The rest of the model lives by responsibility: api/record.c (records),
 * api/check.c (argument types), api/strv.c, api/datetime.c.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "xbt/model.h"
#include "xbt/xenapi.h"

const xbt_class_desc *xbt_class_find_in(const xbt_model *m, const char *name)
{
	const xbt_class_desc *r = NULL;

	for (size_t i = 0; name && i < m->nclasses; i++) {
		if (strcasecmp(m->classes[i]->name, name) == 0) {
			r = m->classes[i];
			break;
		}
	}
	return r;
}

const xbt_message_desc *xbt_message_find_in(const xbt_model *m,
					    const char *wire_name)
{
	const xbt_message_desc *r = NULL;
	size_t lo = 0, hi = m->nmessages;

	while (wire_name && !r && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const xbt_message_desc *d = &m->messages[m->messages_by_name[mid]];
		int c = strcmp(wire_name, d->wire_name);

		if (c == 0)
			r = d;
		else if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return r;
}

const xbt_class_desc *xbt_class_find(const char *name)
{
	return xbt_class_find_in(&xbt_api, name);
}

const xbt_message_desc *xbt_message_find(const char *wire_name)
{
	return xbt_message_find_in(&xbt_api, wire_name);
}

const xbt_field_desc *xbt_field_find(const xbt_class_desc *c, const char *name)
{
	const xbt_field_desc *r = NULL;

	for (size_t i = 0; c && name && i < c->nfields; i++) {
		if (strcmp(c->fields[i].name, name) == 0) {
			r = &c->fields[i];
			break;
		}
	}
	return r;
}

int xbt_enum_index(const xbt_enum_desc *e, const char *value)
{
	int r = -1;

	for (size_t i = 0; e && value && i < e->n; i++) {
		if (strcmp(e->values[i], value) == 0) {
			r = (int)i;
			break;
		}
	}
	return r;
}

