/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Failed logins throttled across connections (doc/design.md, "Logins"):
 * a token bucket of failures per source address and per user name, each
 * LOGIN_RATE a second with as many in reserve. A login takes a token from
 * both before its password is checked, waiting for them when either is
 * empty, and gives them back when it succeeds: a client that does not
 * fail never waits, and guessers from one address, or against one name,
 * get LOGIN_RATE answers a second however many connections they use.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "xbtd.h"

#define LOGIN_RATE 5            /* failures a second, per key */
#define LOGIN_WAITERS_MAX 64    /* logins that may wait on one key */
#define LOGIN_KEYS_MAX 4096     /* keys kept; idle ones go past it */
#define LOGIN_BUCKETS 1024
#define LOGIN_LOG_MS 10000      /* failures are logged once this often */

struct login_key {
	struct login_key *next;
	double tokens;
	int64_t updated_ms;
	unsigned waiting;
	unsigned failed;           /* since logged_ms */
	int64_t logged_ms;
	char name[96];             /* "address 127.0.0.1", "user root" */
};

static pthread_mutex_t login_lock = PTHREAD_MUTEX_INITIALIZER;
static struct login_key *login_keys[LOGIN_BUCKETS];
static size_t login_nkeys;

static size_t login_hash(const char *s)
{
	size_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % LOGIN_BUCKETS;
}

static void login_refill(struct login_key *k, int64_t now)
{
	k->tokens += (double)(now - k->updated_ms) * LOGIN_RATE / 1000.0;
	if (k->tokens > LOGIN_RATE)
		k->tokens = LOGIN_RATE;
	k->updated_ms = now;
}

/* Under the lock: keys that hold nothing a full bucket would not go. */
static void login_prune(int64_t now)
{
	for (size_t b = 0; b < LOGIN_BUCKETS; b++) {
		struct login_key **p = &login_keys[b];

		while (*p) {
			struct login_key *k = *p;

			login_refill(k, now);
			if (!k->waiting && !k->failed &&
			    k->tokens >= LOGIN_RATE) {
				*p = k->next;
				free(k);
				login_nkeys--;
			} else {
				p = &k->next;
			}
		}
	}
}

/* Under the lock: the key, made on first use. Past LOGIN_KEYS_MAX (names
 * are the client's to choose), new names share one key. */
static struct login_key *login_key(const char *kind, const char *what,
				   bool make, int64_t now)
{
	char name[96];
	struct login_key *k;
	size_t h;

	snprintf(name, sizeof(name), "%s %.80s", kind, what);
	h = login_hash(name);
	for (k = login_keys[h]; k; k = k->next)
		if (strcmp(k->name, name) == 0)
			return k;
	if (!make)
		return NULL;
	if (login_nkeys >= LOGIN_KEYS_MAX)
		login_prune(now);
	if (login_nkeys >= LOGIN_KEYS_MAX) {
		snprintf(name, sizeof(name), "%s (any other)", kind);
		h = login_hash(name);
		for (k = login_keys[h]; k; k = k->next)
			if (strcmp(k->name, name) == 0)
				return k;
	}
	k = xbt_calloc(1, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->tokens = LOGIN_RATE;
	k->updated_ms = now;
	k->logged_ms = now - LOGIN_LOG_MS;
	k->next = login_keys[h];
	login_keys[h] = k;
	login_nkeys++;
	return k;
}

/* Milliseconds until k has a token. */
static int64_t login_wait_ms(const struct login_key *k)
{
	return k->tokens >= 1 ? 0
		: (int64_t)((1 - k->tokens) * 1000 / LOGIN_RATE) + 1;
}

bool login_limit_enter(const char *addr, const char *user)
{
	struct login_key *a, *u;
	bool waiting = false, ok = true;

	pthread_mutex_lock(&login_lock);
	for (;;) {
		int64_t now = http_now_ms(), wait;
		struct timespec ts;

		/* Found again each time: a key no one waits on may go. */
		a = login_key("address", addr, true, now);
		u = login_key("user", user, true, now);
		login_refill(a, now);
		login_refill(u, now);
		if (a->tokens >= 1 && u->tokens >= 1) {
			a->tokens -= 1;
			u->tokens -= 1;
			break;
		}
		if (!waiting) {
			if (a->waiting >= LOGIN_WAITERS_MAX ||
			    u->waiting >= LOGIN_WAITERS_MAX) {
				ok = false;
				break;
			}
			a->waiting++;
			u->waiting++;
			waiting = true;
		}
		wait = login_wait_ms(a);
		if (login_wait_ms(u) > wait)
			wait = login_wait_ms(u);
		pthread_mutex_unlock(&login_lock);
		ts.tv_sec = wait / 1000;
		ts.tv_nsec = wait % 1000 * 1000000L;
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&login_lock);
	}
	if (waiting) {
		a->waiting--;
		u->waiting--;
	}
	pthread_mutex_unlock(&login_lock);
	return ok;
}

/* Under the lock: a failure counted, and logged once an interval. */
static void login_failed(struct login_key *k, int64_t now)
{
	k->failed++;
	if (now - k->logged_ms < LOGIN_LOG_MS)
		return;
	log_warn("login: %u failed attempt(s) from %s in the last %d s",
		 k->failed, k->name, LOGIN_LOG_MS / 1000);
	k->failed = 0;
	k->logged_ms = now;
}

void login_limit_leave(const char *addr, const char *user, bool success)
{
	int64_t now = http_now_ms();
	struct login_key *a, *u;

	pthread_mutex_lock(&login_lock);
	a = login_key("address", addr, !success, now);
	u = login_key("user", user, !success, now);
	if (success) {
		/* A login that did not fail costs nothing. */
		if (a && a->tokens + 1 <= LOGIN_RATE)
			a->tokens += 1;
		if (u && u->tokens + 1 <= LOGIN_RATE)
			u->tokens += 1;
	} else {
		login_failed(a, now);
		login_failed(u, now);
	}
	pthread_mutex_unlock(&login_lock);
}

void login_limit_shutdown(void)
{
	pthread_mutex_lock(&login_lock);
	for (size_t b = 0; b < LOGIN_BUCKETS; b++) {
		while (login_keys[b]) {
			struct login_key *k = login_keys[b];

			login_keys[b] = k->next;
			free(k);
		}
	}
	login_nkeys = 0;
	pthread_mutex_unlock(&login_lock);
}
