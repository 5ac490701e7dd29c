/* SPDX-License-Identifier: BSD-2-Clause */
/* Sets and maps of strings, as records store them (xbt/value.h types). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "xbt/buf.h"
#include "xbt/model.h"
#include "xbt/xenapi.h"

/* ---- strv / map ----------------------------------------------------------------- */

void xbt_strv_add(xbt_strv *s, const char *v)
{
	s->v = xbt_reallocarray(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = xbt_strdup(v ? v : "");
}

bool xbt_strv_remove(xbt_strv *s, const char *v)
{
	size_t w = 0;
	bool found = false;

	for (size_t i = 0; i < s->n; i++) {
		if (v && strcmp(s->v[i], v) == 0) {
			free(s->v[i]);
			found = true;
		} else {
			s->v[w++] = s->v[i];
		}
	}
	s->n = w;
	return found;
}

bool xbt_strv_has(const xbt_strv *s, const char *v)
{
	bool r = false;

	for (size_t i = 0; v && !r && i < s->n; i++)
		r = strcmp(s->v[i], v) == 0;
	return r;
}

void xbt_strv_clear(xbt_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static ssize_t map_index(const xbt_map *m, const char *k)
{
	ssize_t r = -1;

	for (size_t i = 0; k && r < 0 && i < m->n; i++)
		if (strcmp(m->keys[i], k) == 0)
			r = (ssize_t)i;
	return r;
}

void xbt_map_set(xbt_map *m, const char *k, const char *v)
{
	ssize_t i = map_index(m, k ? k : "");
	char *nv = xbt_strdup(v ? v : "");

	if (i >= 0) {
		free(m->vals[i]);
		m->vals[i] = nv;
	} else {
		m->keys = xbt_reallocarray(m->keys, m->n + 1,
					   sizeof(*m->keys));
		m->vals = xbt_reallocarray(m->vals, m->n + 1,
					   sizeof(*m->vals));
		m->keys[m->n] = xbt_strdup(k ? k : "");
		m->vals[m->n] = nv;
		m->n++;
	}
}

bool xbt_map_remove(xbt_map *m, const char *k)
{
	ssize_t i = map_index(m, k);

	if (i >= 0) {
		size_t after = m->n - (size_t)i - 1;

		free(m->keys[i]);
		free(m->vals[i]);
		memmove(&m->keys[i], &m->keys[i + 1], after * sizeof(*m->keys));
		memmove(&m->vals[i], &m->vals[i + 1], after * sizeof(*m->vals));
		m->n--;
	}
	return i >= 0;
}

const char *xbt_map_get(const xbt_map *m, const char *k)
{
	ssize_t i = map_index(m, k);

	return i < 0 ? NULL : m->vals[i];
}

void xbt_map_clear(xbt_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->keys[i]);
		free(m->vals[i]);
	}
	free(m->keys);
	free(m->vals);
	m->keys = m->vals = NULL;
	m->n = 0;
}

void xbt__strv_copy(xbt_strv *dst, const xbt_strv *src)
{
	dst->v = NULL;
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		xbt_strv_add(dst, src->v[i]);
}

void xbt__map_copy(xbt_map *dst, const xbt_map *src)
{
	dst->keys = dst->vals = NULL;
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		xbt_map_set(dst, src->keys[i], src->vals[i]);
}

