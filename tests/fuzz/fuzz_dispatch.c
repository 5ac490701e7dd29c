/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: the whole request path of xbtd in process. Bodies go
 * through dispatch_http (parse, dispatch, handlers, the store, replies) on
 * both protocols, against the embedded demo world and a session opened for
 * each input.
 *
 * Input: when the first byte is 'X' or 'J' it is raw mode, else the bytes
 * are a program (structured mode).
 * - Raw: one or more requests separated by "\n@@\n", each its protocol
 *   letter ('J' JSON-RPC, anything else XML-RPC) then the body. "@S@" is
 *   replaced by the session ref, "@R@" by the last result that was a
 *   non-empty string or an array (its first item): the ref task.create,
 *   VM.get_all or get_by_name_label returned.
 * - Structured: a sequence of operations, each chosen by one byte (kind
 *   and protocol: XML-RPC, JSON-RPC v1 or v2), drawing names, values and
 *   their spelling from the bytes that follow: any message of the model
 *   with typed (or deliberately mistyped) arguments; set_<field> of a
 *   string field then its getters; task.create .. task.destroy;
 *   add_to_/remove_from_<map>; event.inject then event.from; get_record;
 *   login then logout. Strings are arbitrary bytes, written with XML
 *   escapes, character references or CDATA, or JSON \uXXXX escapes
 *   (surrogate pairs, lone surrogates) and raw UTF-8, chosen per character.
 * Messages that run SM plugins, wait (event.next, event.from with a
 * timeout), go Async or fail a login (300 ms each) are not sent.
 *
 * Properties checked besides "no crash, leak or UB":
 * a. every reply is well-formed: XML-RPC replies are XML 1.0 for libxml2
 *    (no recovery), xbt_wire_parse_response accepts them and they are
 *    {Status: Success, Value} or {Status: Failure, ErrorDescription:
 *    [strings]} (system.listMethods: an array of strings); JSON-RPC
 *    replies are strict JSON of the request's version, with its id
 *    (v1 and a null id when the request did not parse); no struct or
 *    object has a name twice; every reply is safe text.
 * b. round trip: after a successful set_<field> of a string or ref field,
 *    task.create, task.set_result or add_to_<map>, the getter and
 *    get_record return what was sent, on both protocols, as the server's
 *    rules transform it: the text-safety rule (control characters but
 *    TAB, LF and CR, bytes that are not UTF-8 and U+FFFE/U+FFFF become
 *    the four characters \xNN; a JSON \u escape of such a character
 *    arrives as that text already). A CR is kept: XML turns a raw CR and
 *    CRLF into LF, as XML says, but &#13; and JSON's \r are CRs. Text
 *    outside the BMP is compared like any other. A name_label that
 *    is safe text finds its object with get_by_name_label. In structured
 *    mode the strings the server parsed are also compared with what the
 *    request spelt.
 * c. get_record twice gives byte-identical replies (not for sessions,
 *    whose last_active every call refreshes).
 *
 * XBT_FUZZ_VERBOSE=1 prints every request and reply.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "evlog.h"
#include "log.h"
#include "xbt/client.h"
#include "xbt/value.h"
#include "xbt/wire.h"
#include "xbtd.h"
#include "fuzz_stack.h"

#define MAX_OPS 16        /* operations of one structured input */
#define MAX_SEGMENTS 8    /* requests of one raw input */
#define MAX_TASKS 32      /* task refs remembered within an input */
#define MAX_DEPTH 64      /* nesting the reply parsers accept */
#define SHOW 1500         /* bytes of a request or reply in a report */

enum proto { P_XML, P_JSON1, P_JSON2 };

/* ---- per-input allocations ---------------------------------------------- */

static void **arena_v;
static size_t arena_n, arena_cap;

static void *arena_keep(void *p)
{
	if (arena_n == arena_cap) {
		arena_cap = arena_cap ? 2 * arena_cap : 64;
		arena_v = xbt_reallocarray(arena_v, arena_cap, sizeof(*arena_v));
	}
	arena_v[arena_n++] = p;
	return p;
}

static void *arena(size_t n)
{
	return arena_keep(xbt_calloc(1, n ? n : 1));
}

static char *arena_mem(const void *s, size_t n)
{
	char *p = arena(n + 1);

	memcpy(p, s, n);
	return p;
}

static void arena_free(void)
{
	for (size_t i = 0; i < arena_n; i++)
		free(arena_v[i]);
	arena_n = 0;
}

/* ---- reading the input ---------------------------------------------------- */

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned in_u8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint64_t in_uint(struct in *in, unsigned bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = v << 8 | in_u8(in);
	return v;
}

/* Pieces that matter to the wire and the text rules. */
struct piece {
	const char *s;
	size_t n;
};
#define PIECE(s) { s, sizeof(s) - 1 }
static const struct piece dict[] = {
	PIECE("\xf0\x9f\x98\x80"), /* U+1F600, outside the BMP */
	PIECE("\xf4\x8f\xbf\xbf"), /* U+10FFFF */
	PIECE("\r\n"), PIECE("\r"), PIECE("\n"), PIECE("\t"), PIECE(" "),
	PIECE("<"), PIECE("&"), PIECE(">"), PIECE("]]>"), PIECE("\""),
	PIECE("\\"), PIECE("'"), PIECE("/"),
	PIECE("\0"), PIECE("\x01"), PIECE("\x1f"), PIECE("\x7f"),
	PIECE("\xc3\xa9"), PIECE("\xe2\x82\xac"), PIECE("\xef\xbf\xbd"),
	PIECE("\xef\xbf\xbe"), PIECE("\xef\xbf\xbf"), /* XML non-characters */
	PIECE("\xed\xa0\xbd"), PIECE("\xed\xb8\x80"), /* surrogate halves */
	PIECE("\xc0\x80"), PIECE("\xe0\x80"), PIECE("\xff"),
	PIECE("\xf4\x90\x80\x80"), PIECE("\xc2\x85"), PIECE("\xe2\x80\xa8"),
	PIECE("\\x00"), PIECE("\\u0000"), PIECE("&#x1F600;"),
	PIECE("OpaqueRef:NULL"), PIECE("name_label"), PIECE("*"),
};
#define NDICT (sizeof(dict) / sizeof(dict[0]))

/*
 * An arbitrary byte string: up to four parts, each a literal run of the
 * input or a piece of dict, the whole repeated up to 64 times.
 */
static char *in_string(struct in *in, size_t *len)
{
	unsigned h = in_u8(in), parts = 1 + (h & 3), reps = 1;
	xbt_buf b = XBT_BUF_INIT;
	char *one;
	size_t n;

	if (h & 0x80)
		reps = 1 + in_u8(in) % 64;
	while (parts--) {
		unsigned p = in_u8(in);
		if (p & 0x80) {
			const struct piece *d = &dict[(p & 0x7f) % NDICT];
			xbt_buf_add(&b, d->s, d->n);
		} else {
			size_t k = p < in->n ? p : in->n;
			xbt_buf_add(&b, in->p, k);
			in->p += k;
			in->n -= k;
		}
	}
	one = xbt_buf_detach(&b, &n);
	for (unsigned r = 0; r < reps; r++)
		xbt_buf_add(&b, one, n);
	free(one);
	one = xbt_buf_detach(&b, len);
	return arena_keep(one);
}

/* ---- text: UTF-8 units and the oracle's rules ----------------------------- */

enum unit { U_OK, U_SURR, U_BAD };

/*
 * The unit at s[0..n): a character, a surrogate half encoded like one
 * (CESU-8, which is not UTF-8) or a single bad byte. Returns its length.
 */
static size_t u8_unit(const char *str, size_t n, uint32_t *cp, enum unit *k)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0];
	size_t need;
	uint32_t v;

	*cp = c;
	*k = U_BAD;
	if (c < 0x80) {
		*k = U_OK;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		v = c & 0x07;
	} else {
		return 1;
	}
	if (n < need)
		return 1;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		v = v << 6 | (s[i] & 0x3f);
	}
	if ((need == 3 && v < 0x800) ||
	    (need == 4 && (v < 0x10000 || v > 0x10ffff)))
		return 1;
	*cp = v;
	*k = v >= 0xd800 && v <= 0xdfff ? U_SURR : U_OK;
	return need;
}

static void add_utf8(xbt_buf *b, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	xbt_buf_add(b, u, n);
}

/* What the text-safety rule keeps: written here again, not borrowed. */
static bool unit_safe(uint32_t cp, enum unit k)
{
	return k == U_OK && (cp >= 0x20 || cp == '\t' || cp == '\n' ||
			     cp == '\r') && cp != 0xfffe && cp != 0xffff;
}

static void oracle_safe(xbt_buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		enum unit k;
		size_t len = u8_unit(s + i, n - i, &cp, &k);

		if (unit_safe(cp, k)) {
			xbt_buf_add(out, s + i, len);
			i += len;
		} else {
			xbt_buf_addf(out, "\\x%02x", (unsigned char)s[i]);
			i++;
		}
	}
}

static bool oracle_is_safe(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		enum unit k;
		size_t len = u8_unit(s + i, n - i, &cp, &k);

		if (!unit_safe(cp, k))
			return false;
		i += len;
	}
	return true;
}

/* What a getter returns for a string the server parsed as s. */
static char *oracle_out(const char *s, size_t n, size_t *len)
{
	xbt_buf safe = XBT_BUF_INIT;

	oracle_safe(&safe, s, n);
	return arena_keep(xbt_buf_detach(&safe, len));
}


/* ---- replies as trees ------------------------------------------------------- */

enum nkind { N_NULL, N_BOOL, N_NUM, N_STR, N_ARR, N_OBJ };

struct node {
	enum nkind kind;
	char *s;           /* STR: the bytes; NUM, BOOL: the text */
	size_t len;
	char *key;         /* member of an OBJ: its name */
	size_t keylen;
	struct node *kids;
	size_t n, cap;
};

static void node_free(struct node *x)
{
	for (size_t i = 0; i < x->n; i++)
		node_free(&x->kids[i]);
	free(x->kids);
	free(x->s);
	free(x->key);
	memset(x, 0, sizeof(*x));
}

/* The new last child; valid until the next push on the same parent. */
static struct node *node_push(struct node *x)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 8;
		x->kids = xbt_reallocarray(x->kids, x->cap, sizeof(*x->kids));
	}
	memset(&x->kids[x->n], 0, sizeof(*x->kids));
	return &x->kids[x->n++];
}

static void node_set(char **s, size_t *len, const char *v, size_t n)
{
	free(*s);
	*s = xbt_malloc(n + 1);
	memcpy(*s, v, n);
	(*s)[n] = '\0';
	*len = n;
}

static const struct node *node_member(const struct node *x, const char *k)
{
	size_t n = strlen(k);

	for (size_t i = 0; x && x->kind == N_OBJ && i < x->n; i++)
		if (x->kids[i].keylen == n && !memcmp(x->kids[i].key, k, n))
			return &x->kids[i];
	return NULL;
}

static const struct node *node_member_n(const struct node *x, const char *k,
					size_t n)
{
	for (size_t i = 0; x && x->kind == N_OBJ && i < x->n; i++)
		if (x->kids[i].keylen == n && !memcmp(x->kids[i].key, k, n))
			return &x->kids[i];
	return NULL;
}

static bool node_is_str(const struct node *x, const char *s, size_t n)
{
	return x && x->kind == N_STR && x->len == n && !memcmp(x->s, s, n);
}

static bool node_equal(const struct node *a, const struct node *b)
{
	if (a->kind != b->kind || a->len != b->len || a->n != b->n ||
	    (a->len && memcmp(a->s, b->s, a->len)))
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->kids[i].keylen != b->kids[i].keylen ||
		    (a->kids[i].keylen &&
		     memcmp(a->kids[i].key, b->kids[i].key, a->kids[i].keylen)) ||
		    !node_equal(&a->kids[i], &b->kids[i]))
			return false;
	return true;
}

/* Raw mode's @R@: a non-empty string result, or the first of an array
 * (a ref from task.create, VM.get_all, get_by_name_label). */
static const struct node *node_ref_like(const struct node *x)
{
	if (x->kind == N_ARR && x->n)
		x = &x->kids[0];
	return x->kind == N_STR && x->len ? x : NULL;
}

/* Names must be unique: clients keep one of two equal names. */
static const char *obj_dup_check(const struct node *x)
{
	for (size_t i = 0; i < x->n; i++)
		for (size_t j = 0; j < i; j++)
			if (x->kids[i].keylen == x->kids[j].keylen &&
			    !memcmp(x->kids[i].key, x->kids[j].key,
				    x->kids[i].keylen))
				return x->kids[i].key;
	return NULL;
}

/* ---- strict JSON (RFC 8259), our own reader ------------------------------- */

struct jp {
	const char *p, *end;
	const char *why;
	const char *dup;
};

static bool jp_fail(struct jp *j, const char *why)
{
	if (!j->why)
		j->why = why;
	return false;
}

static void jp_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool jp_hex4(struct jp *j, uint32_t *v)
{
	*v = 0;
	if (j->end - j->p < 4)
		return jp_fail(j, "short \\u escape");
	for (int k = 0; k < 4; k++) {
		char c = *j->p++;
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t)(c - 'A' + 10);
		else
			return jp_fail(j, "bad \\u escape");
	}
	return true;
}

static bool jp_string(struct jp *j, char **s, size_t *len)
{
	xbt_buf b = XBT_BUF_INIT;
	bool ok = false;

	j->p++; /* the opening quote */
	for (;;) {
		unsigned char c;
		if (j->p >= j->end) {
			jp_fail(j, "unterminated string");
			break;
		}
		c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			ok = true;
			break;
		}
		if (c < 0x20) {
			jp_fail(j, "control character in a string");
			break;
		}
		if (c >= 0x80) {
			uint32_t cp;
			enum unit k;
			size_t n = u8_unit(j->p, (size_t)(j->end - j->p), &cp, &k);
			if (k != U_OK) {
				jp_fail(j, "not UTF-8");
				break;
			}
			xbt_buf_add(&b, j->p, n);
			j->p += n;
			continue;
		}
		j->p++;
		if (c != '\\') {
			xbt_buf_addch(&b, (char)c);
			continue;
		}
		if (j->p >= j->end) {
			jp_fail(j, "unterminated escape");
			break;
		}
		c = (unsigned char)*j->p++;
		switch (c) {
		case '"': case '\\': case '/':
			xbt_buf_addch(&b, (char)c);
			continue;
		case 'b': xbt_buf_addch(&b, '\b'); continue;
		case 'f': xbt_buf_addch(&b, '\f'); continue;
		case 'n': xbt_buf_addch(&b, '\n'); continue;
		case 'r': xbt_buf_addch(&b, '\r'); continue;
		case 't': xbt_buf_addch(&b, '\t'); continue;
		case 'u': break;
		default:
			jp_fail(j, "bad escape");
			goto out;
		}
		uint32_t hi, lo;
		if (!jp_hex4(j, &hi))
			break;
		if (hi >= 0xdc00 && hi <= 0xdfff) {
			jp_fail(j, "lone low surrogate");
			break;
		}
		if (hi >= 0xd800 && hi <= 0xdbff) {
			if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u') {
				jp_fail(j, "lone high surrogate");
				break;
			}
			j->p += 2;
			if (!jp_hex4(j, &lo))
				break;
			if (lo < 0xdc00 || lo > 0xdfff) {
				jp_fail(j, "lone high surrogate");
				break;
			}
			hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
		}
		add_utf8(&b, hi);
	}
out:
	if (ok)
		*s = xbt_buf_detach(&b, len);
	xbt_buf_release(&b);
	return ok;
}

static bool jp_digits(struct jp *j)
{
	const char *start = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start || jp_fail(j, "digit expected");
}

static bool jp_value(struct jp *j, struct node *x, int depth)
{
	const char *start;

	jp_ws(j);
	if (depth > MAX_DEPTH)
		return jp_fail(j, "nested too deeply");
	if (j->p >= j->end)
		return jp_fail(j, "value expected");
	start = j->p;
	switch (*j->p) {
	case '"':
		x->kind = N_STR;
		return jp_string(j, &x->s, &x->len);
	case '[':
		x->kind = N_ARR;
		j->p++;
		jp_ws(j);
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return true;
		}
		for (;;) {
			if (!jp_value(j, node_push(x), depth + 1))
				return false;
			jp_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == ']') {
				j->p++;
				return true;
			}
			return jp_fail(j, "',' or ']' expected");
		}
	case '{':
		x->kind = N_OBJ;
		j->p++;
		jp_ws(j);
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			return true;
		}
		for (;;) {
			struct node *m;
			jp_ws(j);
			if (j->p >= j->end || *j->p != '"')
				return jp_fail(j, "member name expected");
			m = node_push(x);
			if (!jp_string(j, &m->key, &m->keylen))
				return false;
			jp_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return jp_fail(j, "':' expected");
			j->p++;
			if (!jp_value(j, m, depth + 1))
				return false;
			jp_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == '}') {
				j->p++;
				if (!j->dup)
					j->dup = obj_dup_check(x);
				return true;
			}
			return jp_fail(j, "',' or '}' expected");
		}
	case 't': case 'f': case 'n': {
		static const char *const lits[] = { "true", "false", "null" };
		for (int k = 0; k < 3; k++) {
			size_t n = strlen(lits[k]);
			if ((size_t)(j->end - j->p) >= n &&
			    !memcmp(j->p, lits[k], n)) {
				j->p += n;
				x->kind = k < 2 ? N_BOOL : N_NULL;
				if (k < 2)
					node_set(&x->s, &x->len, lits[k], n);
				return true;
			}
		}
		return jp_fail(j, "bad literal");
	}
	default:
		break;
	}
	if (*j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (j->p >= j->end || *j->p < '1' || *j->p > '9')
		return jp_fail(j, "value expected");
	else
		jp_digits(j);
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!jp_digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!jp_digits(j))
			return false;
	}
	x->kind = N_NUM;
	node_set(&x->s, &x->len, start, (size_t)(j->p - start));
	return true;
}

/* NULL when s[0..n) is one strict JSON value, else why not. */
static const char *json_read(const char *s, size_t n, struct node *x,
			     const char **dup)
{
	struct jp j = { s, s + n, NULL, NULL };

	if (jp_value(&j, x, 0)) {
		jp_ws(&j);
		if (j.p != j.end)
			jp_fail(&j, "text after the value");
	}
	*dup = j.dup;
	return j.why;
}

/* ---- XML-RPC replies through libxml2 ------------------------------------------ */

static bool xml_named(xmlNodePtr e, const char *name)
{
	return e && e->type == XML_ELEMENT_NODE && !e->ns &&
	       !strcmp((const char *)e->name, name);
}

static bool xml_blank(const xmlChar *s)
{
	for (; s && *s; s++)
		if (!strchr(" \t\n\r", *s))
			return false;
	return true;
}

/*
 * The one element child of e, or NULL when e holds text (but blanks),
 * another node kind or several elements (*why says so; NULL and no *why:
 * e holds text only).
 */
static xmlNodePtr xml_only_child(xmlNodePtr e, const char **why)
{
	xmlNodePtr el = NULL;
	bool text = false;

	for (xmlNodePtr c = e->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE) {
			if (el) {
				*why = "two elements where one is expected";
				return NULL;
			}
			el = c;
		} else if (c->type == XML_TEXT_NODE ||
			   c->type == XML_CDATA_SECTION_NODE) {
			text |= !xml_blank(c->content);
		} else {
			*why = "unexpected node";
			return NULL;
		}
	}
	if (el && text) {
		*why = "text beside an element";
		return NULL;
	}
	return el;
}

/* e's text content; false when e has element children. */
static bool xml_text(xmlNodePtr e, char **s, size_t *len)
{
	xbt_buf b = XBT_BUF_INIT;

	for (xmlNodePtr c = e->children; c; c = c->next) {
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) {
			xbt_buf_release(&b);
			return false;
		}
		xbt_buf_addstr(&b, (const char *)c->content);
	}
	*s = xbt_buf_detach(&b, len);
	return true;
}

static bool int_text(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool xml_value(xmlNodePtr v, struct node *x, const char **why,
		      int depth)
{
	xmlNodePtr el;
	const char *name;

	if (depth > MAX_DEPTH) {
		*why = "nested too deeply";
		return false;
	}
	if (!xml_named(v, "value")) {
		*why = "<value> expected";
		return false;
	}
	el = xml_only_child(v, why);
	if (*why)
		return false;
	if (!el) {
		x->kind = N_STR;
		return xml_text(v, &x->s, &x->len);
	}
	name = (const char *)el->name;
	if (el->ns) {
		*why = "namespaced element";
		return false;
	}
	if (!strcmp(name, "array")) {
		xmlNodePtr data = xml_only_child(el, why);
		if (!xml_named(data, "data")) {
			*why = *why ? *why : "<data> expected";
			return false;
		}
		x->kind = N_ARR;
		for (xmlNodePtr c = data->children; c; c = c->next) {
			if (c->type == XML_TEXT_NODE && xml_blank(c->content))
				continue;
			if (!xml_value(c, node_push(x), why, depth + 1))
				return false;
		}
		return true;
	}
	if (!strcmp(name, "struct")) {
		x->kind = N_OBJ;
		for (xmlNodePtr c = el->children; c; c = c->next) {
			xmlNodePtr k = NULL, val = NULL;
			struct node *m;

			if (c->type == XML_TEXT_NODE && xml_blank(c->content))
				continue;
			if (!xml_named(c, "member")) {
				*why = "<member> expected";
				return false;
			}
			for (xmlNodePtr d = c->children; d; d = d->next) {
				if (d->type == XML_TEXT_NODE && xml_blank(d->content))
					continue;
				if (!k && xml_named(d, "name")) {
					k = d;
				} else if (k && !val) {
					val = d;
				} else {
					*why = "<member> is not <name> <value>";
					return false;
				}
			}
			if (!val) {
				*why = "<member> without <value>";
				return false;
			}
			m = node_push(x);
			if (!xml_text(k, &m->key, &m->keylen)) {
				*why = "<name> holds elements";
				return false;
			}
			if (!xml_value(val, m, why, depth + 1))
				return false;
		}
		if (obj_dup_check(x)) {
			*why = "a <struct> names a member twice";
			return false;
		}
		return true;
	}
	if (!xml_text(el, &x->s, &x->len)) {
		*why = "scalar holds elements";
		return false;
	}
	if (!strcmp(name, "string") || !strcmp(name, "dateTime.iso8601") ||
	    !strcmp(name, "base64")) {
		x->kind = N_STR;
	} else if (!strcmp(name, "i4") || !strcmp(name, "int") ||
		   !strcmp(name, "i8")) {
		x->kind = N_NUM;
		if (!int_text(x->s))
			*why = "bad integer";
	} else if (!strcmp(name, "double")) {
		char *end;
		x->kind = N_NUM;
		strtod(x->s, &end);
		if (!*x->s || *end)
			*why = "bad double";
	} else if (!strcmp(name, "boolean")) {
		x->kind = N_BOOL;
		if (strcmp(x->s, "0") && strcmp(x->s, "1"))
			*why = "bad boolean";
	} else if (!strcmp(name, "nil")) {
		x->kind = N_NULL;
		if (x->len)
			*why = "<nil> with content";
	} else {
		*why = "unknown value type";
	}
	return !*why;
}

/* ---- the session, the world, the model ------------------------------------- */

static bool verbose;           /* XBT_FUZZ_VERBOSE: print every call */
static char *session;          /* this input's */
static char *last_str;         /* raw mode's @R@ */
static char *tasks[MAX_TASKS]; /* created by this input */
static size_t ntasks;
static unsigned next_id;

/* The world's objects as world_init made them, restored after each input. */
struct snap {
	const xbt_class_desc *c;
	size_t n;
	char **refs;
	void **recs;
};
static struct snap *snaps;

/* Messages the structured mode may send, and its oracle's tables. */
static const xbt_message_desc **allowed;
static size_t nallowed;
static const xbt_message_desc **str_setters; /* set_<string or ref field> */
static size_t nstr_setters;
static const xbt_message_desc **map_adders;  /* add_to_<(string, string) map> */
static size_t nmap_adders;

static const xbt_message_desc *msg_find(const xbt_class_desc *c,
					const char *prefix, const char *field)
{
	char name[160];

	snprintf(name, sizeof(name), "%s.%s%s", c->name, prefix, field);
	return xbt_message_find(name);
}

static const struct snap *snap_of(const xbt_class_desc *c)
{
	for (size_t i = 0; i < xbt_nclasses; i++)
		if (snaps[i].c == c)
			return &snaps[i];
	return NULL;
}

/* Never sent: they run SM plugins, wait, need the worker pool, cost
 * 300 ms (a failed login), talk to other hosts or restart the daemon in
 * a new pool role (doc/pools.md). */
static bool denied(const char *method, xmlrpc_value *params)
{
	static const char *const never[] = {
		"VM.start", "VM.start_on", "VM.clean_shutdown",
		"VM.hard_shutdown", "VM.suspend", "VM.resume",
		"PBD.plug", "PBD.unplug", "event.next",
		"pool.join", "pool.eject", "pool.emergency_transition_to_master",
		"session.slave_login", "session.slave_local_login_with_password",
	};
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	bool result = false;
	int n;

	if (!strncmp(method, "Async.", 6))
		return true;
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		if (!strcmp(method, never[i]))
			return true;
	xmlrpc_env_init(&env);
	n = xmlrpc_array_size(&env, params);
	if (!strcmp(method, "session.login_with_password") && n >= 2 &&
	    n <= 4) {
		/* Only a login that gets to the password check is slow. */
		const char *want[] = { "root", "xbt" };
		bool strings = true, match = true;

		for (int i = 0; i < 2; i++) {
			const char *s = NULL;
			size_t len = 0;

			xmlrpc_array_read_item(&env, params, i, &v);
			if (xmlrpc_value_type(v) == XMLRPC_TYPE_STRING) {
				s = xbt_value_text(v, &len);
				match &= len == strlen(want[i]) &&
					 !memcmp(s, want[i], len);
				free((void *)s);
			} else {
				strings = false;
			}
			xmlrpc_DECREF(v);
		}
		result = strings && !match;
	} else if (!strcmp(method, "event.from") && n >= 4) {
		const xbt_message_desc *m = xbt_message_find("event.from");
		xmlrpc_value *norm = NULL;
		xbt_error *e;
		double d = 0;

		xmlrpc_array_read_item(&env, params, 3, &v);
		e = xbt_value_check(m->params[2].type, v, &norm);
		if (!e) {
			xmlrpc_read_double(&env, norm, &d);
			xmlrpc_DECREF(norm);
			result = d > 0;
		}
		xbt_error_free(e);
		xmlrpc_DECREF(v);
	}
	xmlrpc_env_clean(&env);
	return result;
}

static bool parsed_str(xmlrpc_value *params, size_t i, const char **s,
		       size_t *n);

/* ---- sending a body and checking the reply ------------------------------------- */

struct reply {
	bool sent;             /* false: denied */
	bool parsed;           /* the wire layer read the request */
	bool ok;               /* Success */
	char *method;
	xmlrpc_value *params;
	char *id_json;
	bool v2;
	const char *request;   /* for reports */
	size_t request_len;
	xbt_buf body;
	struct node doc;       /* the reply */
	const struct node *value; /* ok: the result */
	const char *code;         /* !ok: the error code */
};

static void reply_free(struct reply *r)
{
	free(r->method);
	free(r->id_json);
	if (r->params)
		xmlrpc_DECREF(r->params);
	xbt_buf_release(&r->body);
	node_free(&r->doc);
	memset(r, 0, sizeof(*r));
}

static int show_len(size_t n)
{
	return n > SHOW ? SHOW : (int)n;
}

#define CHECK(r, cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "request:\n%.*s\nreply:\n%.*s\n", \
			show_len((r)->request_len), (r)->request, \
			show_len((r)->body.len), (r)->body.buf); \
		FUZZ_CHECK(cond, __VA_ARGS__); \
	} \
} while (0)

/* An array of strings; the first is the code unless it holds the params. */
static void check_error_strings(struct reply *r, const struct node *a,
				bool params_only)
{
	CHECK(r, a && a->kind == N_ARR && (params_only || a->n),
	      "no error strings");
	for (size_t i = 0; i < a->n; i++)
		CHECK(r, a->kids[i].kind == N_STR, "error item %zu not a string", i);
	if (!params_only)
		r->code = a->kids[0].s;
}

static void check_xml_reply(struct reply *r)
{
	bool list = r->parsed && !strcmp(r->method, "system.listMethods");
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	const struct node *st, *v;
	xmlDocPtr doc;
	xmlNodePtr e;
	const char *why = NULL;

	doc = xmlCtxtReadMemory(ctxt, r->body.buf, (int)r->body.len, "reply",
				NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
				      XML_PARSE_NOWARNING);
	if (!doc) {
		xmlErrorPtr err = xmlCtxtGetLastError(ctxt);
		CHECK(r, doc, "reply is not well-formed XML: %s",
		      err && err->message ? err->message : "?");
	}
	xmlFreeParserCtxt(ctxt);
	e = xmlDocGetRootElement(doc);
	if (!xml_named(e, "methodResponse"))
		why = "no <methodResponse>";
	if (!why && !xml_named(e = xml_only_child(e, &why), "params"))
		why = why ? why : "no <params>";
	if (!why && !xml_named(e = xml_only_child(e, &why), "param"))
		why = why ? why : "no <param>";
	if (!why && (e = xml_only_child(e, &why)))
		xml_value(e, &r->doc, &why, 0);
	else
		why = why ? why : "no <value>";
	xmlFreeDoc(doc);
	CHECK(r, !why, "not an XML-RPC response: %s", why);

	if (list) {
		r->ok = true;
		r->value = &r->doc;
		CHECK(r, r->doc.kind == N_ARR, "listMethods: not an array");
		for (size_t i = 0; i < r->doc.n; i++)
			CHECK(r, r->doc.kids[i].kind == N_STR, "listMethods item");
	} else {
		CHECK(r, r->doc.kind == N_OBJ && r->doc.n == 2,
		      "not a XenAPI response struct");
		st = node_member(&r->doc, "Status");
		if (node_is_str(st, "Success", 7)) {
			r->ok = true;
			r->value = v = node_member(&r->doc, "Value");
			CHECK(r, v, "Success without Value");
		} else {
			CHECK(r, node_is_str(st, "Failure", 7), "bad Status");
			check_error_strings(r, node_member(&r->doc,
							   "ErrorDescription"), false);
		}
	}

	/* xbtd's own client side reads it the same way. */
	xmlrpc_value *res = NULL, *val = NULL;
	char *fs = NULL;
	int fc = 0;
	xbt_error *err = xbt_wire_parse_response(r->body.buf, r->body.len, &res,
						 &fc, &fs);
	CHECK(r, !err, "xbt_wire_parse_response: %s",
	      err && err->nparams > 1 ? err->params[1] : "?");
	CHECK(r, res, "reply is a <fault>");
	if (!list) {
		const char *dwhy = NULL;
		err = xbt_client_decode_response_why(res, &val, &dwhy);
		CHECK(r, !dwhy, "xbt_wire_decode_response: %s", dwhy);
		CHECK(r, r->ok == !err, "libxml2 and xmlrpc-c disagree on Status");
		CHECK(r, r->ok || !strcmp(err->code, r->code),
		      "error code %s, libxml2 read %s", err->code, r->code);
		xbt_error_free(err);
		if (val)
			xmlrpc_DECREF(val);
	}
	xmlrpc_DECREF(res);
	free(fs);
}

static void check_json_reply(struct reply *r)
{
	struct node want_id = { 0 };
	const struct node *id, *res, *err, *ver;
	const char *why, *dup;

	why = json_read(r->body.buf, r->body.len, &r->doc, &dup);
	CHECK(r, !why, "reply is not JSON: %s", why);
	CHECK(r, !dup, "an object names \"%s\" twice", dup);
	CHECK(r, r->doc.kind == N_OBJ, "reply is not an object");
	id = node_member(&r->doc, "id");
	res = node_member(&r->doc, "result");
	err = node_member(&r->doc, "error");
	ver = node_member(&r->doc, "jsonrpc");
	CHECK(r, id, "no id");
	if (r->parsed) {
		why = json_read(r->id_json, strlen(r->id_json), &want_id, &dup);
		CHECK(r, !why, "request id %s: %s", r->id_json, why);
	}
	CHECK(r, node_equal(id, &want_id), "id is not the request's (%s)",
	      r->parsed ? r->id_json : "null");
	node_free(&want_id);
	if (r->v2) {
		CHECK(r, node_is_str(ver, "2.0", 3), "v2 reply without jsonrpc");
		CHECK(r, r->doc.n == 3 && (res != NULL) != (err != NULL),
		      "v2 reply: not {jsonrpc, result | error, id}");
		if (res) {
			r->ok = true;
			r->value = res;
		} else {
			const struct node *code = node_member(err, "code"),
					  *msg = node_member(err, "message");
			CHECK(r, err->kind == N_OBJ && err->n == 3 && code &&
			      code->kind == N_NUM && !strcmp(code->s, "1") &&
			      msg && msg->kind == N_STR,
			      "v2 error: not {code: 1, message, data}");
			check_error_strings(r, node_member(err, "data"), true);
			r->code = msg->s;
		}
	} else {
		CHECK(r, !ver && r->doc.n == 3 && res && err,
		      "v1 reply: not {result, error, id}");
		if (err->kind == N_NULL) {
			r->ok = true;
			r->value = res;
		} else {
			CHECK(r, res->kind == N_NULL, "v1 failure with a result");
			check_error_strings(r, err, false);
		}
	}
}

/* s[0..n) for a report: C escapes for what a terminal would hide. */
static const char *shown(const char *s, size_t n)
{
	xbt_buf b = XBT_BUF_INIT;

	for (size_t i = 0; i < n && b.len < SHOW; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			xbt_buf_addstr(&b, "\\\\");
		else if (c < 0x20 || c == 0x7f)
			xbt_buf_addf(&b, "\\x%02x", c);
		else
			xbt_buf_addch(&b, (char)c);
	}
	return arena_keep(xbt_buf_detach(&b, NULL));
}

/* Sends body unless denied; checks the reply (property a). */
static void send_body(enum proto p, const char *body, size_t len,
		      struct reply *r)
{
	bool json = p != P_XML;
	xbt_error *e;
	char *copy;

	memset(r, 0, sizeof(*r));
	xbt_buf_init(&r->body);
	r->request = body;
	r->request_len = len;
	/* What dispatch_http will read: the same functions on the same bytes. */
	if (json)
		e = xbt_wire_parse_jsonrpc(body, len, &r->method, &r->params,
					   &r->id_json, &r->v2);
	else
		e = xbt_wire_parse_call(body, len, &r->method, &r->params);
	r->parsed = !e;
	xbt_error_free(e);
	if (r->parsed && denied(r->method, r->params))
		return;
	r->sent = true;
	/* The HTTP front hands over a NUL-terminated body. */
	copy = xbt_malloc(len + 1);
	memcpy(copy, body, len);
	copy[len] = '\0';
	(void)dispatch_http(NULL, NULL, json ? HTTP_JSONRPC : HTTP_XMLRPC, copy, len,
		      &r->body);
	free(copy);
	CHECK(r, strlen(r->body.buf) == r->body.len, "NUL in the reply");
	CHECK(r, oracle_is_safe(r->body.buf, r->body.len),
	      "reply is not safe text");
	if (json)
		check_json_reply(r);
	else
		check_xml_reply(r);
	CHECK(r, r->parsed || (!r->ok && r->code &&
			       !strcmp(r->code, "XMLRPC_UNMARSHAL_FAILURE")),
	      "an unreadable request got %s", r->ok ? "Success" : r->code);
	if (verbose)
		fprintf(stderr, "fuzz_dispatch: %.*s\n  -> %.*s\n",
			show_len(len), shown(body, len),
			show_len(r->body.len), r->body.buf);
}

/* ---- requests from values ------------------------------------------------------ */

enum rk { R_STR, R_INT, R_DBL, R_BOOL, R_DT, R_ARR, R_STRUCT, R_NIL, R_B64 };

struct rv {
	enum rk k;
	const char *s;     /* STR, DT: the text; B64: the bytes */
	size_t len;
	int64_t i;
	double x;
	bool b;
	struct rv *kids;   /* ARR; STRUCT: name, value, name, value, ... */
	size_t n;
	unsigned enc;      /* how characters are spelt (want_escape) */
	unsigned form;     /* how the type is spelt */
	const char *d;     /* written as a string: what the parser delivers */
	size_t dlen;
};

static struct rv rv_text(const char *s)
{
	return (struct rv){ .k = R_STR, .s = s, .len = strlen(s) };
}

/*
 * enc: bits 0-1 which characters are escaped (none, non-ASCII, all, or
 * by the pattern in bits 4-7); bit 2 hexadecimal (XML) or upper-case
 * hex (JSON); bit 3 raw '>' (XML) or raw control characters (JSON).
 */
static bool want_escape(unsigned enc, size_t i, uint32_t cp)
{
	switch (enc & 3) {
	case 0:
		return false;
	case 1:
		return cp >= 0x80;
	case 2:
		return true;
	default:
		return enc >> (4 + (i & 3)) & 1;
	}
}

/*
 * s as XML character data, maybe in a CDATA section. *d gets what an XML
 * parser delivers: XML turns raw CR and CRLF into LF, &#13; is a CR.
 */
static void xml_chars(xbt_buf *b, const char *s, size_t n, unsigned enc,
		      bool cdata, xbt_buf *d)
{
	bool cr = false;        /* a raw CR was just written */
	unsigned brackets = 0;  /* raw ']' just written */

	if (cdata)
		xbt_buf_addstr(b, "<![CDATA[");
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		enum unit k;
		size_t len = u8_unit(s + i, n - i, &cp, &k);
		const char *raw = s + i;
		/* enc 0 spells faithfully (the oracle's own calls): a raw
		 * CR would reach the server as LF. */
		bool esc = k != U_BAD && !cdata &&
			   (want_escape(enc, i, cp) || (enc == 0 && cp == '\r'));

		i += len;
		if (esc) {
			xbt_buf_addf(b, enc & 4 ? "&#x%X;" : "&#%u;", cp);
			add_utf8(d, cp);
			cr = false;
			brackets = 0;
			continue;
		}
		if (cdata && cp == '>' && brackets >= 2)
			xbt_buf_addstr(b, "]]><![CDATA[");
		if (!cdata && cp == '&')
			xbt_buf_addstr(b, "&amp;");
		else if (!cdata && cp == '<')
			xbt_buf_addstr(b, "&lt;");
		else if (!cdata && cp == '>' && !(enc & 8))
			xbt_buf_addstr(b, "&gt;");
		else
			xbt_buf_add(b, raw, len);
		brackets = cp == ']' ? brackets + 1 : 0;
		if (cp == '\n' && cr) {
			cr = false;
			continue;
		}
		cr = cp == '\r';
		if (cr)
			xbt_buf_addch(d, '\n');
		else
			xbt_buf_add(d, raw, len);
	}
	if (cdata)
		xbt_buf_addstr(b, "]]>");
}

/*
 * s as a JSON string literal (raw bytes that are not UTF-8 included;
 * control characters escaped, as JSON wants: api/json.c refuses them
 * raw). *d gets what the JSON reader decodes before it makes the text
 * safe (wire.h): a \u pair as one character, a lone \u surrogate as its
 * three bytes; check_spelling applies the safety rule itself.
 */
static void json_chars(xbt_buf *b, const char *s, size_t n, unsigned enc,
		       xbt_buf *d)
{
	static const char shorts[] = "\b\f\n\r\t";
	const char *hex = enc & 4 ? "\\u%04X" : "\\u%04x";
	bool high = false; /* \u of a high surrogate was just written */

	xbt_buf_addch(b, '"');
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		enum unit k;
		size_t len = u8_unit(s + i, n - i, &cp, &k);
		const char *raw = s + i;
		bool esc = want_escape(enc, i, cp);
		const char *sh;

		i += len;
		/* A \u low half after a \u high half would pair with it. */
		if (k == U_BAD || (k == U_SURR && (!esc || (high && cp >= 0xdc00)))) {
			xbt_buf_add(b, raw, len);
			xbt_buf_add(d, raw, len);
			high = false;
			continue;
		}
		high = false;
		if (k == U_SURR) {
			xbt_buf_addf(b, hex, cp);
			xbt_buf_add(d, raw, len);
			high = cp < 0xdc00;
			continue;
		}
		if (cp < 0x20) {
			sh = cp ? strchr(shorts, (int)cp) : NULL;
			if (sh && !(enc & 0x10)) {
				xbt_buf_addch(b, '\\');
				xbt_buf_addch(b, "bfnrt"[sh - shorts]);
				xbt_buf_addch(d, (char)cp);
			} else {
				xbt_buf_addf(b, hex, cp);
				xbt_buf_addch(d, (char)cp);
			}
			continue;
		}
		if (cp == '"' || cp == '\\') {
			if (esc) {
				xbt_buf_addf(b, hex, cp);
			} else {
				xbt_buf_addch(b, '\\');
				xbt_buf_addch(b, (char)cp);
			}
		} else if (esc && cp >= 0x10000) {
			xbt_buf_addf(b, hex, 0xd800 + ((cp - 0x10000) >> 10));
			xbt_buf_addf(b, hex, 0xdc00 + ((cp - 0x10000) & 0x3ff));
		} else if (esc) {
			xbt_buf_addf(b, hex, cp);
		} else if (cp == '/' && (enc & 0x10)) {
			xbt_buf_addstr(b, "\\/");
		} else {
			xbt_buf_add(b, raw, len);
		}
		xbt_buf_add(d, raw, len);
	}
	xbt_buf_addch(b, '"');
}

/* A string value; records what the server's parser will deliver. */
static void w_text(xbt_buf *b, enum proto p, struct rv *v, const char *s,
		   size_t n, unsigned enc, bool string_element)
{
	xbt_buf d = XBT_BUF_INIT;

	if (p == P_XML) {
		if (string_element)
			xbt_buf_addstr(b, "<string>");
		xml_chars(b, s, n, enc, (v->form & 2) && !(enc & 3), &d);
		if (string_element)
			xbt_buf_addstr(b, "</string>");
	} else {
		json_chars(b, s, n, enc, &d);
	}
	v->d = arena_mem(d.buf, d.len);
	v->dlen = d.len;
	xbt_buf_release(&d);
}

static void base64(xbt_buf *b, const char *s, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		xbt_buf_addch(b, tab[v >> 18]);
		xbt_buf_addch(b, tab[v >> 12 & 63]);
		xbt_buf_addch(b, i + 1 < n ? tab[v >> 6 & 63] : '=');
		xbt_buf_addch(b, i + 2 < n ? tab[v & 63] : '=');
	}
}

static void w_value(xbt_buf *b, enum proto p, struct rv *v)
{
	bool xml = p == P_XML;
	char num[64];
	xbt_buf scratch = XBT_BUF_INIT;

	v->d = NULL;
	if (xml)
		xbt_buf_addstr(b, "<value>");
	switch (v->k) {
	case R_STR:
		w_text(b, p, v, v->s, v->len, v->enc, v->form & 1);
		break;
	case R_INT:
		snprintf(num, sizeof(num), "%" PRId64, v->i);
		if (!xml && (v->form & 1))
			w_text(b, p, v, num, strlen(num), 0, false);
		else if (!xml)
			xbt_buf_addstr(b, num);
		else if (v->form % 5 == 0)
			xbt_buf_addf(b, v->i == (int32_t)v->i ? "<i4>%s</i4>" :
				     "<i8>%s</i8>", num);
		else if (v->form % 5 == 1)
			xbt_buf_addf(b, "<i8>%s</i8>", num);
		else if (v->form % 5 == 2)
			xbt_buf_addf(b, "<int>%s</int>", num);
		else
			w_text(b, p, v, num, strlen(num), 0, v->form % 5 == 4);
		break;
	case R_DBL:
		if ((v->form & 1) && isfinite(v->x) && fabs(v->x) < 1e15)
			snprintf(num, sizeof(num), "%.6f", v->x);
		else
			snprintf(num, sizeof(num), "%.17g", v->x);
		if (v->form & 2)
			w_text(b, p, v, num, strlen(num), 0, false);
		else
			xbt_buf_addf(b, xml ? "<double>%s</double>" : "%s", num);
		break;
	case R_BOOL:
		if (v->form & 1)
			w_text(b, p, v, v->b ? "true" : "false", v->b ? 4 : 5, 0,
			       false);
		else if (xml)
			xbt_buf_addf(b, "<boolean>%d</boolean>", v->b);
		else
			xbt_buf_addstr(b, v->b ? "true" : "false");
		break;
	case R_DT:
		if (!xml || (v->form & 1)) {
			w_text(b, p, v, v->s, v->len, v->enc, false);
		} else {
			xbt_buf_addstr(b, "<dateTime.iso8601>");
			xml_chars(b, v->s, v->len, v->enc, false, &scratch);
			xbt_buf_addstr(b, "</dateTime.iso8601>");
		}
		break;
	case R_ARR:
		xbt_buf_addstr(b, xml ? "<array><data>" : "[");
		for (size_t i = 0; i < v->n; i++) {
			if (!xml && i)
				xbt_buf_addch(b, ',');
			w_value(b, p, &v->kids[i]);
		}
		xbt_buf_addstr(b, xml ? "</data></array>" : "]");
		break;
	case R_STRUCT:
		xbt_buf_addstr(b, xml ? "<struct>" : "{");
		for (size_t i = 0; i + 1 < v->n; i += 2) {
			struct rv *k = &v->kids[i];
			if (xml) {
				xbt_buf_addstr(b, "<member><name>");
				xml_chars(b, k->s, k->len, k->enc, false, &scratch);
				xbt_buf_addstr(b, "</name>");
			} else {
				if (i)
					xbt_buf_addch(b, ',');
				json_chars(b, k->s, k->len, k->enc, &scratch);
				xbt_buf_addch(b, ':');
			}
			w_value(b, p, &v->kids[i + 1]);
			if (xml)
				xbt_buf_addstr(b, "</member>");
		}
		xbt_buf_addstr(b, xml ? "</struct>" : "}");
		break;
	case R_NIL:
		xbt_buf_addstr(b, xml ? "<nil/>" : "null");
		break;
	case R_B64:
		xbt_buf_addstr(b, xml ? "<base64>" : "\"");
		base64(b, v->s, v->len);
		xbt_buf_addstr(b, xml ? "</base64>" : "\"");
		break;
	}
	if (xml)
		xbt_buf_addstr(b, "</value>");
	xbt_buf_release(&scratch);
}

/*
 * style: bit 0 no XML declaration; bit 1 line breaks and blanks between
 * elements; bit 2 the JSON id first. id NULL: none (JSON).
 */
static char *w_request(enum proto p, struct rv *method, struct rv *args,
		       size_t n, struct rv *id, unsigned style, size_t *len)
{
	const char *nl = style & 2 ? "\n " : "";
	xbt_buf b = XBT_BUF_INIT, scratch = XBT_BUF_INIT;

	if (p == P_XML) {
		if (!(style & 1))
			xbt_buf_addf(&b, "<?xml version=\"1.0\"?>%s", nl);
		xbt_buf_addstr(&b, "<methodCall><methodName>");
		xml_chars(&b, method->s, method->len, method->enc, false,
			  &scratch);
		xbt_buf_addf(&b, "</methodName>%s<params>", nl);
		for (size_t i = 0; i < n; i++) {
			xbt_buf_addf(&b, "%s<param>", nl);
			w_value(&b, p, &args[i]);
			xbt_buf_addstr(&b, "</param>");
		}
		xbt_buf_addf(&b, "%s</params></methodCall>", nl);
	} else {
		const char *sep = style & 2 ? ",\n " : ",";
		xbt_buf_addch(&b, '{');
		if (p == P_JSON2)
			xbt_buf_addf(&b, "\"jsonrpc\":\"2.0\"%s", sep);
		if (id && (style & 4)) {
			xbt_buf_addstr(&b, "\"id\":");
			w_value(&b, p, id);
			xbt_buf_addstr(&b, sep);
		}
		xbt_buf_addstr(&b, "\"method\":");
		json_chars(&b, method->s, method->len, method->enc, &scratch);
		xbt_buf_addf(&b, "%s\"params\":[", sep);
		for (size_t i = 0; i < n; i++) {
			if (i)
				xbt_buf_addstr(&b, sep);
			w_value(&b, p, &args[i]);
		}
		xbt_buf_addch(&b, ']');
		if (id && !(style & 4)) {
			xbt_buf_addf(&b, "%s\"id\":", sep);
			w_value(&b, p, id);
		}
		xbt_buf_addch(&b, '}');
	}
	xbt_buf_release(&scratch);
	return arena_keep(xbt_buf_detach(&b, len));
}

/* A string the server parsed: *s (arena) or false when not a string. */
static bool parsed_str(xmlrpc_value *params, size_t i, const char **s,
		       size_t *n)
{
	xmlrpc_env env;
	xmlrpc_value *v = NULL;
	const char *t = NULL;
	bool ok = false;

	xmlrpc_env_init(&env);
	if (params && (int)i < xmlrpc_array_size(&env, params)) {
		xmlrpc_array_read_item(&env, params, (int)i, &v);
		/* Decoded as every reader decodes it (api/value.c). */
		if (!env.fault_occurred &&
		    (t = xbt_value_text(v, n))) {
			*s = arena_mem(t, *n);
			ok = true;
			free((void *)t);
		}
		if (v)
			xmlrpc_DECREF(v);
	}
	xmlrpc_env_clean(&env);
	return ok;
}

/*
 * Structured mode knows what it spelt: the strings and the id the server
 * parsed must be what the writer says a parser delivers (XML-RPC then
 * passes them through xmlrpc-c's CR to LF).
 */
static void check_spelling(enum proto p, struct rv *args, size_t n,
			   struct rv *id, struct reply *r)
{
	for (size_t i = 0; i < n; i++) {
		xbt_buf want = XBT_BUF_INIT;
		const char *s;
		size_t len;

		if (!args[i].d)
			continue;
		/* XML that is not safe text does not parse at all; JSON's
		 * reader makes its strings safe (api/json.c). */
		oracle_safe(&want, args[i].d, args[i].dlen);
		CHECK(r, parsed_str(r->params, i, &s, &len),
		      "param %zu: not parsed as a string", i);
		CHECK(r, len == want.len && !memcmp(s, want.buf, len),
		      "param %zu: the server read \"%s\", the request spelt \"%s\"",
		      i, shown(s, len), shown(want.buf, want.len));
		xbt_buf_release(&want);
	}
	if (p != P_XML && id && id->d) {
		/* ids are made safe text, without the CR to LF. */
		struct node got = { 0 };
		const char *dup;
		xbt_buf want = XBT_BUF_INIT;

		oracle_safe(&want, id->d, id->dlen);
		CHECK(r, !json_read(r->id_json, strlen(r->id_json), &got, &dup) &&
		      node_is_str(&got, want.buf, want.len),
		      "id read as %s, spelt \"%s\"", r->id_json,
		      shown(want.buf, want.len));
		node_free(&got);
		xbt_buf_release(&want);
	}
}

static void call_rv(enum proto p, struct rv *method, struct rv *args,
		    size_t n, struct rv *id, unsigned style, struct reply *r)
{
	size_t len;
	char *body = w_request(p, method, args, n, id, style, &len);

	send_body(p, body, len, r);
	if (r->sent && r->parsed)
		check_spelling(p, args, n, id, r);
}

/* method(session, a...) with every string spelt plainly. */
static void call_plain_s(enum proto p, const char *sess, const char *method,
			 const struct piece *a, size_t n, int64_t id,
			 struct reply *r)
{
	struct rv m = rv_text(method), rid = { .k = R_INT, .i = id };
	struct rv *args = arena((n + 1) * sizeof(*args));

	args[0] = rv_text(sess);
	for (size_t i = 0; i < n; i++)
		args[i + 1] = (struct rv){ .k = R_STR, .s = a[i].s, .len = a[i].n };
	call_rv(p, &m, args, n + 1, p == P_XML ? NULL : &rid, 0, r);
	CHECK(r, r->sent && r->parsed, "plain call not sent");
}

static void call_plain(enum proto p, const char *method,
		       const struct piece *a, size_t n, struct reply *r)
{
	call_plain_s(p, session, method, a, n, ++next_id, r);
}

/* ---- property b and c: what was set reads back, twice the same ------------- */

static enum proto other_json(void)
{
	return next_id & 1 ? P_JSON1 : P_JSON2;
}

/*
 * Property c (and b for field when given): get_record twice on q gives
 * the same bytes, and field holds want.
 */
static void check_record(enum proto q, const xbt_class_desc *c,
			 const char *ref, const char *field, const char *want,
			 size_t want_len, bool cmp, bool twice)
{
	const xbt_message_desc *m = msg_find(c, "get_record", "");
	struct piece self = { ref, strlen(ref) };
	struct reply r1, r2;
	const struct node *v;
	int64_t id = ++next_id;

	if (!m)
		return;
	call_plain_s(q, session, m->wire_name, &self, 1, id, &r1);
	/* A session's last_active moves with every call it makes. */
	if (twice && c != &xbt_class_session) {
		call_plain_s(q, session, m->wire_name, &self, 1, id, &r2);
		CHECK(&r2, r1.body.len == r2.body.len &&
		      !memcmp(r1.body.buf, r2.body.buf, r1.body.len),
		      "get_record twice, different replies; the first:\n%.*s",
		      show_len(r1.body.len), r1.body.buf);
		reply_free(&r2);
	}
	if (field) {
		CHECK(&r1, r1.ok, "get_record failed after a successful set: %s",
		      r1.code);
		v = node_member(r1.value, field);
		CHECK(&r1, v && v->kind == N_STR, "no string %s in the record",
		      field);
		CHECK(&r1, !cmp || node_is_str(v, want, want_len),
		      "%s.%s in the record: \"%s\", expected \"%s\"", c->name,
		      field, shown(v->s, v->len), shown(want, want_len));
	}
	reply_free(&r1);
}

/*
 * Property b: field f of ref was just set, on protocol p, from the string
 * s[0..n) as the server parsed it.
 */
static void check_field(enum proto p, const xbt_class_desc *c, const char *ref,
			const xbt_field_desc *f, const char *s, size_t n)
{
	const xbt_message_desc *get = msg_find(c, "get_", f->name), *look;
	struct piece self = { ref, strlen(ref) }, label = { s, n };
	size_t want_len;
	const char *want = oracle_out(s, n, &want_len);
	bool cmp = true, found = false;
	struct reply r;

	for (int k = 0; k < 2; k++) {
		enum proto q = k ? other_json() : P_XML;
		if (get) {
			call_plain(q, get->wire_name, &self, 1, &r);
			CHECK(&r, r.ok, "%s failed after a successful set: %s",
			      get->wire_name, r.code);
			CHECK(&r, r.value->kind == N_STR, "not a string");
			CHECK(&r, !cmp || node_is_str(r.value, want, want_len),
			      "%s: \"%s\", expected \"%s\" (sent as \"%s\")",
			      get->wire_name, shown(r.value->s, r.value->len),
			      shown(want, want_len), shown(s, n));
			reply_free(&r);
		}
		check_record(q, c, ref, f->name, want, want_len, cmp, !k);
	}
	/* Lookups compare the argument with the stored text as they are:
	 * only safe text is stored as it came. */
	if (strcmp(f->name, "name_label") || !oracle_is_safe(s, n) ||
	    !(look = msg_find(c, "get_by_name_label", "")))
		return;
	call_plain(p, look->wire_name, &label, 1, &r);
	CHECK(&r, r.ok && r.value->kind == N_ARR, "%s failed", look->wire_name);
	for (size_t i = 0; i < r.value->n; i++)
		found |= node_is_str(&r.value->kids[i], ref, strlen(ref));
	CHECK(&r, found, "%s(\"%s\") does not find %s", look->wire_name,
	      shown(s, n), ref);
	reply_free(&r);
}

/* Property b for maps: key k now maps to v in get_<map> on both protocols. */
static void check_map_entry(const xbt_message_desc *add, const char *ref,
			    const char *k, size_t kn, const char *v, size_t vn)
{
	const xbt_class_desc *c = add->cls;
	const xbt_field_desc *f = &c->fields[add->field];
	const xbt_message_desc *get = msg_find(c, "get_", f->name);
	struct piece self = { ref, strlen(ref) };
	size_t wkl, wvl;
	const char *wk = oracle_out(k, kn, &wkl), *wv = oracle_out(v, vn, &wvl);
	bool cmp = true;
	struct reply r;

	for (int i = 0; get && i < 2; i++) {
		enum proto q = i ? other_json() : P_XML;
		const struct node *e;

		call_plain(q, get->wire_name, &self, 1, &r);
		CHECK(&r, r.ok && r.value->kind == N_OBJ, "%s failed after %s",
		      get->wire_name, add->wire_name);
		e = node_member_n(r.value, wk, wkl);
		CHECK(&r, !cmp || node_is_str(e, wv, wvl),
		      "%s: key \"%s\" holds \"%s\", expected \"%s\"",
		      get->wire_name, shown(wk, wkl),
		      e ? shown(e->s, e->len) : "(absent)", shown(wv, wvl));
		reply_free(&r);
		check_record(q, c, ref, NULL, NULL, 0, false, !i);
	}
}

static const xbt_message_desc *msg_task_create, *msg_task_set_result,
	*msg_event_from, *msg_login;

static void remember_task(const char *ref)
{
	if (ntasks < MAX_TASKS)
		tasks[ntasks++] = xbt_strdup(ref);
}

/* A call succeeded: check what it stored (property b). */
static void after_success(enum proto p, struct reply *r)
{
	const xbt_message_desc *m = xbt_message_find(r->method);
	size_t o = m && m->session ? 1 : 0, n0, n1, n2;
	const char *a0, *a1, *a2;

	if (!m)
		return;
	bool s0 = parsed_str(r->params, o, &a0, &n0);
	bool s1 = parsed_str(r->params, o + 1, &a1, &n1);
	bool s2 = parsed_str(r->params, o + 2, &a2, &n2);
	if (m == msg_task_create && r->value->kind == N_STR) {
		const char *ref = arena_mem(r->value->s, r->value->len);
		remember_task(ref);
		if (s0)
			check_field(p, &xbt_class_task, ref,
				    xbt_field_find(&xbt_class_task, "name_label"),
				    a0, n0);
		if (s1)
			check_field(p, &xbt_class_task, ref,
				    xbt_field_find(&xbt_class_task,
						   "name_description"), a1, n1);
	} else if (m == msg_task_set_result && s0 && s1) {
		check_field(p, &xbt_class_task, a0,
			    xbt_field_find(&xbt_class_task, "result"), a1, n1);
	} else if (m->kind == XBT_MSG_SET_FIELD && s0 && s1) {
		const xbt_field_desc *f = &m->cls->fields[m->field];
		if (f->type->kind == XBT_T_STRING || f->type->kind == XBT_T_REF)
			check_field(p, m->cls, a0, f, a1, n1);
	} else if (m->kind == XBT_MSG_ADD_TO_MAP && s0 && s1 && s2) {
		const xbt_type *t = m->cls->fields[m->field].type;
		if (t->key->kind == XBT_T_STRING && t->elem->kind == XBT_T_STRING)
			check_map_entry(m, a0, a1, n1, a2, n2);
	}
}

/* ---- structured mode: values from the input ----------------------------------- */

static void gen_str(struct in *in, struct rv *v)
{
	*v = (struct rv){ .k = R_STR };
	v->s = in_string(in, &v->len);
	v->enc = in_u8(in);
	v->form = in_u8(in);
}

static int64_t gen_int64(struct in *in)
{
	static const int64_t special[] = {
		0, 1, -1, 2, INT32_MAX, (int64_t)INT32_MAX + 1,
		(int64_t)INT32_MIN - 1, INT64_MAX, INT64_MIN, 4294967296LL,
		1000000007, -42,
	};
	unsigned s = in_u8(in);

	if (s < 0xf0)
		return special[s % (sizeof(special) / sizeof(special[0]))];
	return (int64_t)in_uint(in, 8);
}

static double gen_double(struct in *in)
{
	static const double special[] = {
		0.0, -0.0, 0.5, 1.0, -1.0, 0.1, 1e300, -1e-300, 3600.0,
		1e15, 123456789.125, 2.5e-7,
	};
	unsigned s = in_u8(in);
	uint64_t bits;
	double d;

	if (s == 0xfe)
		return NAN;
	if (s == 0xff)
		return -INFINITY;
	if (s < 0xf0)
		return special[s % (sizeof(special) / sizeof(special[0]))];
	bits = in_uint(in, 8);
	memcpy(&d, &bits, sizeof(d));
	return d;
}

static void gen_datetime(struct in *in, struct rv *v)
{
	static const char *const forms[] = {
		"20260101T00:00:00Z", "2026-01-01T12:34:56Z",
		"19700101T00:00:00", "99991231T23:59:59Z", "19691231T23:59:59Z",
		"20260101T00:00:00.5+01:00", " 20260229T00:00:00Z",
		"20250229T00:00:00Z",
	};
	unsigned s = in_u8(in);

	*v = (struct rv){ .k = R_DT, .form = s >> 4 };
	if ((s & 15) < 8) {
		v->s = forms[s & 7];
		v->len = strlen(v->s);
	} else {
		v->s = in_string(in, &v->len);
		v->enc = in_u8(in);
	}
}

static const char *pick_object(struct in *in, const xbt_class_desc *c)
{
	unsigned k = in_u8(in);
	const struct snap *s;

	if (c == &xbt_class_session)
		return session;
	if (c == &xbt_class_task)
		return ntasks ? tasks[k % ntasks] : XBT_REF_NULL;
	s = snap_of(c);
	return s && s->n ? s->refs[k % s->n] : XBT_REF_NULL;
}

static void gen_ref(struct in *in, const char *cls, struct rv *v)
{
	unsigned s = in_u8(in);
	const xbt_class_desc *c = cls ? xbt_class_find(cls) : NULL;

	switch (s % 8) {
	case 5: /* an object of some class, likely another */
		c = xbt_classes[in_u8(in) % xbt_nclasses];
		/* fall through */
	default:
		*v = rv_text(c ? pick_object(in, c) : XBT_REF_NULL);
		break;
	case 6:
		*v = rv_text(XBT_REF_NULL);
		break;
	case 7:
		gen_str(in, v);
		return;
	}
	v->enc = s >> 3;
}

static void gen_wild(struct in *in, struct rv *v, int depth);

static void gen_typed(struct in *in, const xbt_type *t, struct rv *v,
		      int depth)
{
	unsigned s;

	switch (t->kind) {
	case XBT_T_STRING:
		gen_str(in, v);
		break;
	case XBT_T_REF:
		gen_ref(in, t->cls, v);
		break;
	case XBT_T_ENUM:
		s = in_u8(in);
		if (s < 0xf0 && t->enum_desc->n) {
			*v = rv_text(t->enum_desc->values[s % t->enum_desc->n]);
			v->enc = in_u8(in);
		} else {
			gen_str(in, v);
		}
		break;
	case XBT_T_INT:
		*v = (struct rv){ .k = R_INT, .form = in_u8(in) };
		v->i = gen_int64(in);
		break;
	case XBT_T_FLOAT:
		*v = (struct rv){ .k = R_DBL, .form = in_u8(in) };
		v->x = gen_double(in);
		break;
	case XBT_T_BOOL:
		s = in_u8(in);
		*v = (struct rv){ .k = R_BOOL, .b = s & 1, .form = s >> 1 };
		break;
	case XBT_T_DATETIME:
		gen_datetime(in, v);
		break;
	case XBT_T_SET:
		*v = (struct rv){ .k = R_ARR, .n = in_u8(in) % 5 };
		v->kids = arena(v->n * sizeof(*v->kids));
		for (size_t i = 0; i < v->n; i++)
			gen_typed(in, t->elem, &v->kids[i], depth + 1);
		break;
	case XBT_T_MAP:
		*v = (struct rv){ .k = R_STRUCT, .n = 2 * (in_u8(in) % 4) };
		v->kids = arena(v->n * sizeof(*v->kids));
		for (size_t i = 0; i < v->n; i += 2) {
			/* Names are strings on the wire, whatever the key type. */
			gen_typed(in, t->key, &v->kids[i], depth + 1);
			if (v->kids[i].k != R_STR) {
				char num[32];
				snprintf(num, sizeof(num), "%" PRId64,
					 v->kids[i].i);
				v->kids[i] = rv_text(arena_mem(num, strlen(num)));
			}
			gen_typed(in, t->elem, &v->kids[i + 1], depth + 1);
		}
		break;
	default:
		gen_wild(in, v, depth);
		break;
	}
}

static void gen_wild(struct in *in, struct rv *v, int depth)
{
	unsigned k = in_u8(in) % 11;

	if (depth >= 4 && (k == 6 || k == 7 || k == 10))
		k = 0;
	switch (k) {
	case 0: case 1:
		gen_str(in, v);
		break;
	case 2:
		*v = (struct rv){ .k = R_INT, .form = in_u8(in) };
		v->i = gen_int64(in);
		break;
	case 3:
		*v = (struct rv){ .k = R_DBL, .form = in_u8(in) };
		v->x = gen_double(in);
		break;
	case 4:
		*v = (struct rv){ .k = R_BOOL, .b = in_u8(in) & 1 };
		break;
	case 5:
		gen_datetime(in, v);
		break;
	case 6:
		*v = (struct rv){ .k = R_ARR, .n = in_u8(in) % 4 };
		v->kids = arena(v->n * sizeof(*v->kids));
		for (size_t i = 0; i < v->n; i++)
			gen_wild(in, &v->kids[i], depth + 1);
		break;
	case 7:
		*v = (struct rv){ .k = R_STRUCT, .n = 2 * (in_u8(in) % 4) };
		v->kids = arena(v->n * sizeof(*v->kids));
		for (size_t i = 0; i < v->n; i += 2) {
			gen_str(in, &v->kids[i]);
			gen_wild(in, &v->kids[i + 1], depth + 1);
		}
		break;
	case 8:
		*v = (struct rv){ .k = R_NIL };
		break;
	case 9:
		*v = (struct rv){ .k = R_B64 };
		v->s = in_string(in, &v->len);
		break;
	default: {
		/* Nesting around xbt's limit (XBT_MAX_NESTING). */
		unsigned levels = in_u8(in) % 48;
		struct rv *cur = v;
		for (unsigned i = 0; i < levels; i++) {
			bool st = i & 1;
			*cur = (struct rv){ .k = st ? R_STRUCT : R_ARR,
					    .n = st ? 2 : 1 };
			cur->kids = arena(cur->n * sizeof(*cur->kids));
			if (st)
				cur->kids[0] = rv_text("k");
			cur = &cur->kids[cur->n - 1];
		}
		gen_str(in, cur);
		break;
	}
	}
}

static void gen_id(struct in *in, struct rv *id, struct rv **out)
{
	unsigned s = in_u8(in) % 16;

	*out = id;
	if (s == 0) {
		*out = NULL; /* a notification: refused */
	} else if (s == 1) {
		*id = (struct rv){ .k = R_NIL };
	} else if (s == 2) {
		*id = (struct rv){ .k = R_DBL, .x = 1.5 };
	} else if (s < 7) {
		gen_str(in, id);
	} else {
		*id = (struct rv){ .k = R_INT, .i = gen_int64(in) };
	}
}

/* ---- structured mode: operations -------------------------------------------------- */

enum op { OP_CALL, OP_SET, OP_TASK, OP_MAP, OP_EVENT, OP_RECORD, OP_LOGIN, NOPS };

/* A parameter of m; the few that would make a call wait or fail slowly
 * are kept harmless. */
static void gen_param(struct in *in, const xbt_message_desc *m, size_t i,
		      struct rv *v)
{
	if (m == msg_event_from && i == 2) {
		static const double wait[] = { 0.0, -1.0, -0.0, -1e300 };
		unsigned s = in_u8(in);
		*v = (struct rv){ .k = R_DBL, .x = wait[s % 4], .form = s >> 2 };
		if (v->form & 2)
			v->form &= ~2u; /* "%.17g" of these is no timeout either */
	} else if (m == msg_login && i < 2) {
		*v = rv_text(i ? "xbt" : "root");
		v->enc = in_u8(in);
	} else if (in_u8(in) % 16 == 0) {
		gen_wild(in, v, 0);
	} else {
		gen_typed(in, m->params[i].type, v, 0);
	}
}

/*
 * style: bits 0-2 w_request's; bits 3-4 the arity (as declared, only the
 * required ones, one less, one more); bit 5 the method name escaped; bit
 * 6 a made-up session.
 */
static void op_call(struct in *in, enum proto p)
{
	unsigned which = (unsigned)in_uint(in, 2) % (nallowed + 1);
	const xbt_message_desc *m = which < nallowed ? allowed[which] : NULL;
	unsigned style = in_u8(in);
	size_t want = m ? m->nparams : in_u8(in) % 4, n = 0;
	struct rv name, idv, *id, *args;
	struct reply r;

	if (m) {
		name = rv_text(m->wire_name);
		if (style & 0x20)
			name.enc = in_u8(in);
	} else {
		gen_str(in, &name);
	}
	switch (style >> 3 & 3) {
	case 2:
		want = m ? m->nrequired : want;
		break;
	case 3:
		want = style & 0x80 ? want + 1 : want ? want - 1 : 0;
		break;
	default:
		break;
	}
	args = arena((want + 1) * sizeof(*args));
	if (!m || m->session) {
		if (style & 0x40)
			gen_str(in, &args[n]);
		else
			args[n] = rv_text(session);
		n++;
	}
	for (size_t i = 0; i < want; i++, n++) {
		if (m && i < m->nparams)
			gen_param(in, m, i, &args[n]);
		else
			gen_wild(in, &args[n], 0);
	}
	gen_id(in, &idv, &id);
	call_rv(p, &name, args, n, id, style, &r);
	if (r.sent && r.ok)
		after_success(p, &r);
	reply_free(&r);
}

/* set_<string field> of an object, then the round trip (after_success). */
static void op_set(struct in *in, enum proto p)
{
	const xbt_message_desc *m;
	struct rv name, args[3], id = { .k = R_INT };
	struct reply r;

	if (!nstr_setters)
		return;
	m = str_setters[in_u8(in) % nstr_setters];
	name = rv_text(m->wire_name);
	args[0] = rv_text(session);
	args[1] = rv_text(pick_object(in, m->cls));
	gen_str(in, &args[2]);
	id.i = ++next_id;
	call_rv(p, &name, args, 3, &id, in_u8(in) & 7, &r);
	if (r.sent && r.ok)
		after_success(p, &r);
	reply_free(&r);
}

/* task.create, maybe its setters, get_record, task.destroy. */
static void op_task(struct in *in, enum proto p)
{
	struct rv name = rv_text("task.create"), args[3], id = { .k = R_INT };
	struct piece self;
	struct reply r;
	unsigned s;
	char *ref;

	args[0] = rv_text(session);
	gen_str(in, &args[1]);
	gen_str(in, &args[2]);
	s = in_u8(in);
	id.i = ++next_id;
	call_rv(p, &name, args, 3, &id, s & 7, &r);
	if (!r.sent || !r.ok) {
		reply_free(&r);
		return;
	}
	after_success(p, &r);
	CHECK(&r, r.value->kind == N_STR, "task.create: no ref");
	ref = arena_mem(r.value->s, r.value->len);
	reply_free(&r);
	args[1] = rv_text(ref);
	if (s & 8) {
		name = rv_text("task.set_result");
		gen_str(in, &args[2]);
		id.i = ++next_id;
		call_rv(p, &name, args, 3, &id, 0, &r);
		if (r.sent && r.ok)
			after_success(p, &r);
		reply_free(&r);
	}
	if (s & 16) {
		name = rv_text("task.set_error_info");
		gen_typed(in, xbt_message_find("task.set_error_info")->params[1].type,
			  &args[2], 0);
		id.i = ++next_id;
		call_rv(p, &name, args, 3, &id, 0, &r);
		reply_free(&r);
	}
	if (s & 32) {
		name = rv_text(s & 64 ? "task.cancel" : "task.set_status");
		gen_typed(in, xbt_message_find("task.set_status")->params[1].type,
			  &args[2], 0);
		id.i = ++next_id;
		call_rv(p, &name, args, s & 64 ? 2 : 3, &id, 0, &r);
		reply_free(&r);
	}
	check_record(p, &xbt_class_task, ref, NULL, NULL, 0, false, true);
	if (s & 128)
		return; /* left for the end of the input */
	self = (struct piece){ ref, strlen(ref) };
	call_plain(p, "task.destroy", &self, 1, &r);
	CHECK(&r, r.ok, "task.destroy failed: %s", r.code);
	reply_free(&r);
	call_plain(other_json(), "task.get_record", &self, 1, &r);
	CHECK(&r, !r.ok && !strcmp(r.code, "HANDLE_INVALID"),
	      "a destroyed task is still there");
	reply_free(&r);
	for (size_t i = 0; i < ntasks; i++) {
		if (!strcmp(tasks[i], ref)) {
			free(tasks[i]);
			tasks[i] = tasks[--ntasks];
			break;
		}
	}
}

/* add_to_<map> then remove_from_<map>: the key comes and goes. */
static void op_map(struct in *in, enum proto p)
{
	const xbt_message_desc *add, *get, *rm;
	const xbt_field_desc *f;
	struct rv name, args[4], id = { .k = R_INT };
	struct piece self;
	struct reply r;
	xbt_buf parsed = XBT_BUF_INIT;
	const char *body, *wk;
	size_t len, wkl;
	bool had, removed;
	unsigned s;

	if (!nmap_adders)
		return;
	add = map_adders[in_u8(in) % nmap_adders];
	f = &add->cls->fields[add->field];
	get = msg_find(add->cls, "get_", f->name);
	rm = msg_find(add->cls, "remove_from_", f->name);
	args[0] = rv_text(session);
	args[1] = rv_text(pick_object(in, add->cls));
	gen_str(in, &args[2]);
	gen_str(in, &args[3]);
	s = in_u8(in);
	name = rv_text(add->wire_name);
	id.i = ++next_id;
	body = w_request(p, &name, args, 4, &id, s & 7, &len);
	/* The key as stored output would show it: was it there already? */
	xbt_buf_add(&parsed, args[2].d, args[2].dlen);
	wk = oracle_out(parsed.buf, parsed.len, &wkl);
	xbt_buf_release(&parsed);
	self = (struct piece){ args[1].s, args[1].len };
	had = true;
	if (get) {
		call_plain(p, get->wire_name, &self, 1, &r);
		had = !r.ok || node_member_n(r.value, wk, wkl);
		reply_free(&r);
	}
	send_body(p, body, len, &r);
	if (r.sent && r.parsed)
		check_spelling(p, args, 4, &id, &r);
	if (r.sent && r.ok)
		after_success(p, &r);
	removed = r.sent && r.ok && rm && (s & 8);
	reply_free(&r);
	if (!removed)
		return;
	name = rv_text(rm->wire_name);
	id.i = ++next_id;
	call_rv(p, &name, args, 3, &id, s & 7, &r);
	CHECK(&r, r.ok || !r.sent, "%s failed after %s", rm->wire_name,
	      add->wire_name);
	reply_free(&r);
	if (had || !get)
		return;
	call_plain(other_json(), get->wire_name, &self, 1, &r);
	CHECK(&r, r.ok && !node_member_n(r.value, wk, wkl),
	      "key \"%s\" still there after %s", shown(wk, wkl), rm->wire_name);
	reply_free(&r);
}

/* event.inject, then event.from with its token; sometimes register. */
static void op_event(struct in *in, enum proto p)
{
	const xbt_class_desc *c = xbt_classes[in_u8(in) % xbt_nclasses];
	const char *ref = pick_object(in, c);
	unsigned s = in_u8(in);
	struct rv name, args[4], id = { .k = R_INT }, subs[3];
	const char *token = "";
	char sub[160];
	struct reply r;

	args[0] = rv_text(session);
	if (s & 1) {
		gen_str(in, &args[1]);
	} else {
		args[1] = rv_text(s & 2 ? c->lower : c->name);
		args[1].enc = in_u8(in);
	}
	args[2] = rv_text(ref);
	name = rv_text("event.inject");
	id.i = ++next_id;
	call_rv(p, &name, args, 3, &id, 0, &r);
	if (r.sent && r.ok && r.value->kind == N_STR)
		token = arena_mem(r.value->s, r.value->len);
	reply_free(&r);

	snprintf(sub, sizeof(sub), "%s/%s", c->lower, ref);
	subs[0] = rv_text("*");
	subs[1] = rv_text(s & 4 ? arena_mem(sub, strlen(sub)) : c->lower);
	gen_str(in, &subs[2]);
	args[1] = (struct rv){ .k = R_ARR, .kids = subs, .n = 1 + (s >> 3) % 3 };
	if (s & 0x40)
		subs[0] = subs[1];
	if (s & 0x80) {
		/* event.register takes the same subscriptions. */
		name = rv_text(s & 0x20 ? "event.unregister" : "event.register");
		id.i = ++next_id;
		call_rv(p, &name, args, 2, &id, 0, &r);
		reply_free(&r);
	}
	if (s & 0x20)
		gen_str(in, &args[2]);
	else
		args[2] = rv_text(s & 0x10 ? "" : token);
	args[3] = (struct rv){ .k = R_DBL, .x = 0.0 };
	name = rv_text("event.from");
	id.i = ++next_id;
	call_rv(p, &name, args, 4, &id, 0, &r);
	if (r.sent && r.ok) {
		const struct node *ev = node_member(r.value, "events");
		CHECK(&r, r.value->kind == N_OBJ && ev && ev->kind == N_ARR &&
		      node_member(r.value, "token") &&
		      node_member(r.value, "valid_ref_counts"),
		      "event.from: not {events, valid_ref_counts, token}");
	}
	reply_free(&r);
}

/* Property c on any object, and get_all_records twice. */
static void op_record(struct in *in, enum proto p)
{
	const xbt_class_desc *c = xbt_classes[in_u8(in) % xbt_nclasses];
	const xbt_message_desc *all = msg_find(c, "get_all_records", "");
	struct reply r1, r2;
	int64_t id = ++next_id;

	check_record(p, c, pick_object(in, c), NULL, NULL, 0, false, true);
	if (!all || c == &xbt_class_session)
		return;
	call_plain_s(p, session, all->wire_name, NULL, 0, id, &r1);
	call_plain_s(p, session, all->wire_name, NULL, 0, id, &r2);
	CHECK(&r2, r1.body.len == r2.body.len &&
	      !memcmp(r1.body.buf, r2.body.buf, r1.body.len),
	      "get_all_records twice, different replies");
	reply_free(&r1);
	reply_free(&r2);
}

/* A second session: login, a call through it, logout, then it is gone. */
static void op_login(struct in *in, enum proto p)
{
	struct rv name = rv_text("session.login_with_password"), args[4],
		  id = { .k = R_INT };
	struct piece self;
	struct reply r;
	const char *want;
	size_t want_len;
	char *s2;

	args[0] = rv_text("root");
	args[1] = rv_text("xbt");
	args[0].enc = in_u8(in);
	args[1].enc = in_u8(in);
	gen_str(in, &args[2]);
	gen_str(in, &args[3]);
	id.i = ++next_id;
	call_rv(p, &name, args, 4, &id, in_u8(in) & 7, &r);
	if (!r.sent || !r.parsed) { /* strings XML cannot carry */
		reply_free(&r);
		return;
	}
	CHECK(&r, r.ok && r.value->kind == N_STR, "login as root failed");
	s2 = arena_mem(r.value->s, r.value->len);
	reply_free(&r);
	self = (struct piece){ s2, strlen(s2) };
	call_plain_s(other_json(), s2, "session.get_record", &self, 1,
		     ++next_id, &r);
	CHECK(&r, r.ok, "session.get_record of a new session: %s", r.code);
	want = oracle_out(args[3].d, args[3].dlen, &want_len);
	CHECK(&r, node_is_str(node_member(r.value, "originator"), want,
			      want_len),
	      "originator is not \"%s\"", shown(want, want_len));
	reply_free(&r);
	call_plain_s(p, s2, "session.logout", NULL, 0, ++next_id, &r);
	CHECK(&r, r.ok, "logout: %s", r.code);
	reply_free(&r);
	call_plain_s(p, s2, "session.get_record", &self, 1, ++next_id, &r);
	CHECK(&r, !r.ok && !strcmp(r.code, "SESSION_INVALID"),
	      "a session works after logout");
	reply_free(&r);
}

static void structured(const uint8_t *data, size_t size)
{
	struct in in = { data, size };

	for (int k = 0; k < MAX_OPS && in.n; k++) {
		unsigned o = in_u8(&in);
		enum proto p = (enum proto)(o / NOPS % 3);

		switch ((enum op)(o % NOPS)) {
		case OP_CALL: op_call(&in, p); break;
		case OP_SET: op_set(&in, p); break;
		case OP_TASK: op_task(&in, p); break;
		case OP_MAP: op_map(&in, p); break;
		case OP_EVENT: op_event(&in, p); break;
		case OP_RECORD: op_record(&in, p); break;
		case OP_LOGIN: op_login(&in, p); break;
		case NOPS: break;
		}
	}
}

/* ---- raw mode ------------------------------------------------------------------------ */

static void raw(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	for (int seg = 0; p < end && seg < MAX_SEGMENTS; seg++) {
		const char *stop = memmem(p, (size_t)(end - p), "\n@@\n", 4);
		const char *segend = stop ? stop : end, *at;
		enum proto proto = *p == 'J' ? P_JSON1 : P_XML;
		xbt_buf body = XBT_BUF_INIT;
		struct reply r;
		size_t len;
		char *b;

		for (p++; p < segend; p = at + 3) {
			at = memmem(p, (size_t)(segend - p), "@", 1);
			while (at && at + 3 <= segend && strncmp(at, "@S@", 3) &&
			       strncmp(at, "@R@", 3))
				at = memmem(at + 1, (size_t)(segend - at - 1), "@", 1);
			if (!at || at + 3 > segend) {
				xbt_buf_add(&body, p, (size_t)(segend - p));
				break;
			}
			xbt_buf_add(&body, p, (size_t)(at - p));
			xbt_buf_addstr(&body, at[1] == 'S' ? session :
					      last_str ? last_str : "");
		}
		b = arena_keep(xbt_buf_detach(&body, &len));
		send_body(proto, b, len, &r);
		if (r.sent && r.ok) {
			const struct node *s = node_ref_like(r.value);
			after_success(proto, &r);
			if (s) {
				free(last_str);
				last_str = xbt_strndup(s->s, s->len);
			}
		}
		reply_free(&r);
		p = stop ? stop + 4 : end;
	}
}

/* ---- set-up and the entry point ------------------------------------------------------- */

static void snap_one(const char *ref, const void *rec, void *ctx)
{
	struct snap *s = ctx;

	s->refs = xbt_reallocarray(s->refs, s->n + 1, sizeof(*s->refs));
	s->recs = xbt_reallocarray(s->recs, s->n + 1, sizeof(*s->recs));
	s->refs[s->n] = xbt_strdup(ref);
	s->recs[s->n] = xbt_malloc(s->c->record_size);
	xbt_record_copy(s->c, s->recs[s->n], rec);
	s->n++;
}

static bool denied_name(const char *name)
{
	xmlrpc_env env;
	xmlrpc_value *none;
	bool result;

	xmlrpc_env_init(&env);
	none = xmlrpc_array_new(&env);
	result = denied(name, none);
	xmlrpc_DECREF(none);
	xmlrpc_env_clean(&env);
	return result;
}

static char state_dir[] = "/tmp/fuzz_dispatch.XXXXXX";

static void remove_state_dir(void)
{
	static const char *const files[] = { "pool.conf", "ptoken",
		"members.json" };
	char path[sizeof(state_dir) + 16];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", state_dir, files[i]);
		unlink(path);
	}
	rmdir(state_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	xbt_error *e;

	(void)argc;
	(void)argv;
	log_init("fuzz_dispatch", LOG_LEVEL_ERROR, false);
	verbose = getenv("XBT_FUZZ_VERBOSE") != NULL;
	if (config_parse(0, NULL))
		abort();
	xbtd_conf.sm_dir = XBT_SM_DIR; /* none: build.sh's config.h */
	xmlInitParser();
	evlog_init(256); /* events keep record copies: stay small */
	store_init();
	host_init("fuzz", "127.0.0.1");
	/* The pool's files (the secret, members.json) go to a directory of
	 * the run's own, removed at exit. */
	if (!mkdtemp(state_dir) || (e = role_init(state_dir)))
		abort();
	atexit(remove_state_dir);
	if ((e = world_init(NULL))) {
		char *sum = xbt_error_summary(e);
		fprintf(stderr, "fuzz_dispatch: world_init: %s\n", sum);
		abort();
	}
	/* Tasks and sessions are the inputs' own, deleted after each. */
	snaps = xbt_calloc(xbt_nclasses, sizeof(*snaps));
	store_lock();
	for (size_t i = 0; i < xbt_nclasses; i++) {
		snaps[i].c = xbt_classes[i];
		if (xbt_classes[i] != &xbt_class_task &&
		    xbt_classes[i] != &xbt_class_session)
			store_foreach(xbt_classes[i], snap_one, &snaps[i]);
	}
	store_unlock();

	allowed = xbt_calloc(xbt_nmessages, sizeof(*allowed));
	str_setters = xbt_calloc(xbt_nmessages, sizeof(*str_setters));
	map_adders = xbt_calloc(xbt_nmessages, sizeof(*map_adders));
	for (size_t i = 0; i < xbt_nmessages; i++) {
		const xbt_message_desc *m = &xbt_messages[i];
		const xbt_type *t = m->field >= 0 ?
				    m->cls->fields[m->field].type : NULL;

		if (denied_name(m->wire_name))
			continue;
		allowed[nallowed++] = m;
		if (m->kind == XBT_MSG_SET_FIELD &&
		    (t->kind == XBT_T_STRING || t->kind == XBT_T_REF))
			str_setters[nstr_setters++] = m;
		if (m->kind == XBT_MSG_ADD_TO_MAP &&
		    t->key->kind == XBT_T_STRING &&
		    t->elem->kind == XBT_T_STRING)
			map_adders[nmap_adders++] = m;
	}
	for (size_t i = 0; verbose && i < nallowed; i++)
		fprintf(stderr, "fuzz_dispatch: message %zu %s%s%s\n", i,
			allowed[i]->wire_name,
			allowed[i]->kind == XBT_MSG_SET_FIELD &&
			(allowed[i]->cls->fields[allowed[i]->field].type->kind ==
				 XBT_T_STRING ||
			 allowed[i]->cls->fields[allowed[i]->field].type->kind ==
				 XBT_T_REF) ? " (string setter)" : "",
			allowed[i]->kind == XBT_MSG_ADD_TO_MAP ? " (adder)" : "");
	msg_task_create = xbt_message_find("task.create");
	msg_task_set_result = xbt_message_find("task.set_result");
	msg_event_from = xbt_message_find("event.from");
	msg_login = xbt_message_find("session.login_with_password");
	return 0;
}

static void del_one(const char *ref, const void *rec, void *ctx)
{
	(void)rec;
	store_del(ctx, ref);
}

/* Back to the world as world_init made it: inputs stay independent. */
static void reset(void)
{
	store_lock();
	store_foreach(&xbt_class_task, del_one, (void *)&xbt_class_task);
	store_foreach(&xbt_class_session, del_one, (void *)&xbt_class_session);
	for (size_t i = 0; i < xbt_nclasses; i++) {
		struct snap *s = &snaps[i];
		for (size_t k = 0; k < s->n; k++) {
			void *rec = store_edit(s->c, s->refs[k]);
			FUZZ_CHECK(rec, "%s %s vanished", s->c->name, s->refs[k]);
			xbt_record_release(s->c, rec);
			xbt_record_copy(s->c, rec, s->recs[k]);
		}
		FUZZ_CHECK(store_count(s->c) == s->n, "%s: %zu objects, not %zu",
			   s->c->name, store_count(s->c), s->n);
	}
	store_unlock();
	free(session);
	session = NULL;
	free(last_str);
	last_str = NULL;
	for (size_t i = 0; i < ntasks; i++)
		free(tasks[i]);
	ntasks = 0;
	arena_free();
}

static void one(const uint8_t *data, size_t size)
{
	session = session_open_internal("root", "fuzz");
	if (size && (data[0] == 'X' || data[0] == 'J'))
		raw(data, size);
	else
		structured(data, size);
	reset();
}

FUZZ_TARGET(one)
