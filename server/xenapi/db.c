/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Persistence (doc/design.md, "Persistence"): with --db FILE every object
 * of a persisted class (all but sessions and tasks, as xapi) is a row of
 * an SQLite database in WAL mode: its ref, class, uuid and its record as
 * the JSON text of the wire (xbt_wire_record), read back with the JSON
 * parser and the model's field types.
 *
 * Writes: store_unlock hands the section's changes to db_enqueue, under
 * the store's lock, with a reference to each changed record's box, and
 * numbers the section. The writer thread takes everything queued, writes
 * it in one transaction (group commit: many sections, one fsync) without
 * the store's lock, and marks the sections durable. A call's answer waits
 * (db_wait) until the sections its thread made are durable: an answered
 * change survives kill -9, and a section is all or nothing.
 *
 * A file that is not one of ours, or is damaged, is refused before
 * anything writes to it.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xbt/wire.h"
#include "xbtd.h"

#define DB_APP_ID 0x58425444 /* "XBTD" */
#define DB_VERSION 1
#define DB_FORMAT "xbt objects 1"
#define DB_JSON_DEPTH 8

static sqlite3 *db;
static char db_path[1024];
static sqlite3_stmt *db_put, *db_del;

static pthread_mutex_t db_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t db_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t db_done = PTHREAD_COND_INITIALIZER;
static struct db_change *db_queue;
static size_t db_nqueue, db_capqueue;
static uint64_t db_queued;  /* the newest section queued */
static uint64_t db_durable; /* every section up to it is committed */
static atomic_bool db_stopping; /* set under db_mutex */
static bool db_thread_on;
static pthread_t db_thread;
static atomic_bool db_on;
static uint64_t db_commits, db_rows; /* the writer's, read after its end */
static _Thread_local uint64_t db_mine; /* this thread's newest section */

bool db_persisted(const xbt_class_desc *c)
{
	return c->events && c != &xbt_class_session && c != &xbt_class_task;
}

bool db_recording(void)
{
	return atomic_load_explicit(&db_on, memory_order_relaxed);
}

void db_enqueue(const struct db_change *v, size_t n)
{
	pthread_mutex_lock(&db_mutex);
	if (db_nqueue + n > db_capqueue) {
		while (db_nqueue + n > db_capqueue)
			db_capqueue = db_capqueue ? 2 * db_capqueue : 256;
		db_queue = xbt_reallocarray(db_queue, db_capqueue,
					    sizeof(*db_queue));
	}
	memcpy(db_queue + db_nqueue, v, n * sizeof(*v));
	db_nqueue += n;
	db_mine = ++db_queued;
	pthread_cond_signal(&db_work);
	pthread_mutex_unlock(&db_mutex);
}

void db_wait(void)
{
	if (!db_mine)
		return;
	pthread_mutex_lock(&db_mutex);
	while (db_durable < db_mine)
		pthread_cond_wait(&db_done, &db_mutex);
	pthread_mutex_unlock(&db_mutex);
}

/* ---- opening and checking ----------------------------------------------------- */

static xbt_error *db_fail(const char *path, const char *why, const char *more)
{
	xbt_buf b = XBT_BUF_INIT;
	xbt_error *err;

	xbt_buf_addf(&b, "database %s: %s%s%s", path, why, more ? ": " : "",
		     more ? more : "");
	err = XBT_RAISE_INTERNAL_ERROR(b.buf);
	xbt_buf_release(&b);
	return err;
}

static xbt_error *db_sqlite_fail(sqlite3 *h, const char *path, const char *what)
{
	return db_fail(path, what, h ? sqlite3_errmsg(h) : "out of memory");
}

/* The single integer of a pragma (or of any one-row query). */
static bool db_int(sqlite3 *h, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
		  sqlite3_step(st) == SQLITE_ROW;

	if (ok)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return ok;
}

static bool db_text(sqlite3 *h, const char *sql, char *out, size_t size)
{
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
		  sqlite3_step(st) == SQLITE_ROW;

	if (ok)
		snprintf(out, size, "%s",
			 (const char *)sqlite3_column_text(st, 0) ?: "");
	sqlite3_finalize(st);
	return ok;
}

/* A file that SQLite would take as a database (else nothing touches it). */
static xbt_error *db_check_header(const char *path)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	FILE *f = fopen(path, "rb");
	size_t got;

	if (!f)
		return db_fail(path, "cannot open", strerror(errno));
	got = fread(head, 1, sizeof(head), f);
	fclose(f);
	if (got != sizeof(head) || memcmp(head, magic, sizeof(magic)) != 0)
		return db_fail(path, "not an SQLite database; refusing to use "
			       "it (the file is left as it is)", NULL);
	return NULL;
}

/* Ours and sound: application_id, user_version, the format row, and
 * SQLite's check (full: integrity_check; else quick_check). */
static xbt_error *db_verify(sqlite3 *h, const char *path, bool full)
{
	int64_t app = 0, version = 0;
	char format[64] = "", check[256] = "";
	char why[128];

	if (!db_int(h, "PRAGMA application_id", &app))
		return db_sqlite_fail(h, path, "unreadable; refusing to use "
				      "it (the file is left as it is)");
	if (app != DB_APP_ID) {
		snprintf(why, sizeof(why), "not an xbt database "
			 "(application_id %lld); refusing to use it (the file "
			 "is left as it is)", (long long)app);
		return db_fail(path, why, NULL);
	}
	if (!db_int(h, "PRAGMA user_version", &version) ||
	    version != DB_VERSION) {
		snprintf(why, sizeof(why), "schema version %lld, this xbtd "
			 "knows %d; refusing to use it", (long long)version,
			 DB_VERSION);
		return db_fail(path, why, NULL);
	}
	if (!db_text(h, "SELECT value FROM meta WHERE key = 'format'", format,
		     sizeof(format)) || strcmp(format, DB_FORMAT) != 0)
		return db_fail(path, "no xbt schema (table meta); refusing to "
			       "use it", NULL);
	if (!db_text(h, full ? "PRAGMA integrity_check" : "PRAGMA quick_check",
		     check, sizeof(check)) || strcmp(check, "ok") != 0)
		return db_fail(path, "damaged; refusing to use it (the file "
			       "is left as it is)", check[0] ? check :
			       sqlite3_errmsg(h));
	return NULL;
}

static const char db_schema[] =
	"PRAGMA application_id = 1480741956;"
	"PRAGMA user_version = 1;"
	"BEGIN;"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"INSERT INTO meta VALUES ('format', '" DB_FORMAT "');"
	"CREATE TABLE objects (ref TEXT PRIMARY KEY, class TEXT NOT NULL,"
	" uuid TEXT NOT NULL, rec TEXT NOT NULL);"
	"COMMIT;";

xbt_error *db_open(const char *path)
{
	struct stat st;
	bool fresh;
	char mode[16] = "";

	_Static_assert(DB_APP_ID == 1480741956, "db_schema's application_id");
	snprintf(db_path, sizeof(db_path), "%s", path);
	if (stat(path, &st) == 0)
		fresh = st.st_size == 0;
	else if (errno == ENOENT)
		fresh = true;
	else
		return db_fail(path, "cannot use it", strerror(errno));
	if (!fresh) {
		/* Read-only first: a refused file is not even checkpointed. */
		sqlite3 *h = NULL;
		xbt_error *err = db_check_header(path);

		if (!err && sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY,
					    NULL) != SQLITE_OK)
			err = db_sqlite_fail(h, path, "cannot open");
		if (!err)
			err = db_verify(h, path, false);
		sqlite3_close(h);
		if (err)
			return err;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
			    (fresh ? SQLITE_OPEN_CREATE : 0), NULL) !=
	    SQLITE_OK) {
		xbt_error *err = db_sqlite_fail(db, path, "cannot open");

		sqlite3_close(db);
		db = NULL;
		return err;
	}
	sqlite3_busy_timeout(db, 5000);
	if (fresh && sqlite3_exec(db, db_schema, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	/* synchronous FULL: a commit is on the disk when it returns. */
	if (!db_text(db, "PRAGMA journal_mode = WAL", mode, sizeof(mode)) ||
	    strcmp(mode, "wal") != 0 ||
	    sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO objects (ref, class, uuid, rec)"
			       " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (ref) DO "
			       "UPDATE SET rec = excluded.rec", -1, &db_put,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "DELETE FROM objects WHERE ref = ?1", -1,
			       &db_del, NULL) != SQLITE_OK)
		goto fail;
	return NULL;
fail: {
	xbt_error *err = db_sqlite_fail(db, path, "cannot set it up");

	sqlite3_finalize(db_put);
	sqlite3_finalize(db_del);
	db_put = db_del = NULL;
	sqlite3_close(db);
	db = NULL;
	return err;
}
}

xbt_error *db_clear(void)
{
	xbt_error *err = NULL;

	if (sqlite3_exec(db, "DELETE FROM objects", NULL, NULL, NULL) !=
	    SQLITE_OK)
		err = db_sqlite_fail(db, db_path, "cannot empty it");
	return err;
}

/* ---- records ------------------------------------------------------------------- */

/* rec (initialised) from the JSON text of one row. */
static xbt_error *db_decode(const xbt_class_desc *c, const char *text,
			    size_t len, void *rec)
{
	xmlrpc_value *v = NULL;
	xbt_error *err = XBT_PROPAGATE(xbt_json_parse(text, len, DB_JSON_DEPTH,
						      &v));

	if (err)
		return err;
	if (xmlrpc_value_type(v) != XMLRPC_TYPE_STRUCT)
		err = XBT_RAISE_INTERNAL_ERROR("a record is not a JSON object");
	for (size_t i = 0; i < c->nfields && !err; i++) {
		const xbt_field_desc *f = &c->fields[i];
		xmlrpc_value *m = xbt_value_get(v, f->name), *norm = NULL;

		if (!m)
			continue;
		err = XBT_PROPAGATE(xbt_value_check(f->type, m, &norm));
		xmlrpc_DECREF(m);
		if (!err) {
			err = XBT_PROPAGATE(xbt_field_from_value(f, norm, rec));
			xmlrpc_DECREF(norm);
		}
	}
	xmlrpc_DECREF(v);
	return err;
}

/* One row, copied out of SQLite, and what decoding it gave. */
struct db_slot {
	char *cols[4];            /* class, ref, uuid, rec */
	size_t len;               /* of rec */
	const xbt_class_desc *c;
	void *rec;                /* new, for store_add, or NULL */
	xbt_error *err;
};

/* Decodes one row into its slot (any thread: nothing shared). */
static void db_row(struct db_slot *sl, const char *path)
{
	const char *cls = sl->cols[0], *ref = sl->cols[1];
	const char *uuid = sl->cols[2], *text = sl->cols[3];
	const xbt_class_desc *c = cls ? xbt_class_find(cls) : NULL;
	const xbt_field_desc *uf = c ? xbt_field_find(c, "uuid") : NULL;
	xbt_buf what = XBT_BUF_INIT;
	xbt_error *err = NULL;
	void *rec = NULL;

	xbt_buf_addf(&what, "object %s of class %s", ref ? ref : "(null)",
		     cls ? cls : "(null)");
	if (!c || !uf || !db_persisted(c) || strcmp(c->name, cls) != 0 ||
	    !ref || !uuid || !text || !store_uuid_valid(uuid) ||
	    strncmp(ref, "OpaqueRef:", 10) != 0 || strcmp(ref + 10, uuid)) {
		err = db_fail(path, what.buf, "not a valid row");
		goto out;
	}
	rec = xbt_malloc(c->record_size);
	xbt_record_init(c, rec);
	err = db_decode(c, text, sl->len, rec);
	if (err) {
		char *s = xbt_error_summary(err);

		xbt_error_free(err);
		err = db_fail(path, what.buf, s);
		free(s);
	} else if (strcmp(*(char **)((char *)rec + uf->offset), uuid) != 0) {
		err = db_fail(path, what.buf, "its record has another uuid");
	}
	if (err) {
		xbt_record_release(c, rec);
		free(rec);
		rec = NULL;
	}
out:
	xbt_buf_release(&what);
	sl->c = c;
	sl->rec = rec;
	sl->err = err;
}

#define DB_CHUNK 2048     /* rows decoded together */
#define DB_THREADS 8      /* decoding them, at most */

struct db_part {
	struct db_slot *slots;
	size_t n, from, step;
	const char *path;
};

static void *db_decode_part(void *arg)
{
	struct db_part *p = arg;

	for (size_t i = p->from; i < p->n; i += p->step)
		db_row(&p->slots[i], p->path);
	return NULL;
}

/* Decodes sl[0..n) on up to DB_THREADS threads (this one too). */
static void db_decode_chunk(struct db_slot *sl, size_t n, const char *path)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t t = cpus < 1 ? 1 : cpus > DB_THREADS ? DB_THREADS : (size_t)cpus;
	struct db_part parts[DB_THREADS];
	pthread_t threads[DB_THREADS];
	bool started[DB_THREADS] = { false };

	if (t > n / 64 + 1)
		t = n / 64 + 1;
	for (size_t i = 0; i < t; i++)
		parts[i] = (struct db_part){ sl, n, i, t, path };
	for (size_t i = 1; i < t; i++)
		started[i] = pthread_create(&threads[i], NULL, db_decode_part,
					    &parts[i]) == 0;
	db_decode_part(&parts[0]);
	for (size_t i = 1; i < t; i++) {
		if (started[i])
			pthread_join(threads[i], NULL);
		else
			db_decode_part(&parts[i]); /* no thread: here */
	}
}

/*
 * Every row of st (db_select), in order, to take(c, rec, uuid, ctx),
 * which takes rec; decoded a chunk at a time on several threads. Stops at
 * the first bad row or an error of take. *n: the rows taken.
 */
static xbt_error *db_read_rows(sqlite3 *h, sqlite3_stmt *st, const char *path,
			       xbt_error *(*take)(const xbt_class_desc *c,
						  void *rec, const char *uuid,
						  void *ctx),
			       void *ctx, size_t *n)
{
	struct db_slot *sl = xbt_calloc(DB_CHUNK, sizeof(*sl));
	xbt_error *err = NULL;
	int rc = SQLITE_ROW;

	*n = 0;
	while (!err && rc == SQLITE_ROW) {
		size_t got = 0;

		while (got < DB_CHUNK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			for (int k = 0; k < 4; k++) {
				const char *v = (const char *)
					sqlite3_column_text(st, k);

				sl[got].cols[k] = v ? xbt_strdup(v) : NULL;
			}
			sl[got].len = (size_t)sqlite3_column_bytes(st, 3);
			got++;
		}
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			err = db_sqlite_fail(h, path, "cannot read it");
		if (!err)
			db_decode_chunk(sl, got, path);
		for (size_t i = 0; i < got; i++) {
			if (!err && sl[i].err) {
				err = sl[i].err;
				sl[i].err = NULL;
			}
			if (!err && sl[i].rec) {
				err = take(sl[i].c, sl[i].rec, sl[i].cols[2], ctx);
				if (!err)
					(*n)++;
			} else if (sl[i].rec) {
				xbt_record_release(sl[i].c, sl[i].rec);
				free(sl[i].rec);
			}
			xbt_error_free(sl[i].err);
			for (int k = 0; k < 4; k++)
				free(sl[i].cols[k]);
			memset(&sl[i], 0, sizeof(sl[i]));
		}
	}
	free(sl);
	return err;
}

/* An object's operations in progress end with the run that had them. */
static void db_forget_operations(const xbt_class_desc *c, void *rec)
{
	const xbt_field_desc *f = xbt_field_find(c, "current_operations");
	xmlrpc_value *empty;
	xbt_error *err;

	if (!f)
		return;
	empty = xbt_value_struct();
	err = xbt_field_from_value(f, empty, rec);
	xmlrpc_DECREF(empty);
	xbt_error_free(err); /* an empty map fits every map type */
}

static const char db_select[] =
	"SELECT class, ref, uuid, rec FROM objects ORDER BY rowid";

/* db_load's take: into the store (locked), as it was. */
static xbt_error *db_take_load(const xbt_class_desc *c, void *rec,
			       const char *uuid, void *ctx)
{
	(void)ctx;
	if (store_ref_by_uuid(c, uuid)) {
		xbt_record_release(c, rec);
		free(rec);
		return db_fail(db_path, "an object is there twice", uuid);
	}
	db_forget_operations(c, rec);
	store_add(c, rec);
	return NULL;
}

/* db_check's: decoded, that is enough. */
static xbt_error *db_take_check(const xbt_class_desc *c, void *rec,
				const char *uuid, void *ctx)
{
	(void)uuid;
	(void)ctx;
	xbt_record_release(c, rec);
	free(rec);
	return NULL;
}

xbt_error *db_load(bool *loaded)
{
	sqlite3_stmt *st = NULL;
	xbt_error *err = NULL;
	size_t n = 0;
	struct timespec t0, t1;

	*loaded = false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (sqlite3_prepare_v2(db, db_select, -1, &st, NULL) != SQLITE_OK)
		return db_sqlite_fail(db, db_path, "cannot read it");
	store_lock();
	err = db_read_rows(db, st, db_path, db_take_load, NULL, &n);
	if (!err && n)
		storage_update_all();
	store_unlock();
	sqlite3_finalize(st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!err && n)
		log_info("database %s: %zu objects loaded in %.3f s", db_path, n,
			 (double)(t1.tv_sec - t0.tv_sec) +
				 (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	*loaded = !err && n > 0;
	return err;
}

/* ---- writing ------------------------------------------------------------------- */

/* One transaction of v[0..n). */
static bool db_write(const struct db_change *v, size_t n, xbt_buf *text)
{
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return false;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = v[i].box ? db_put : db_del;
		int rc;

		sqlite3_bind_text(st, 1, v[i].ref, -1, SQLITE_STATIC);
		if (v[i].box) {
			xbt_buf_reset(text);
			xbt_wire_record(text, true, v[i].c,
					store_box_rec(v[i].box));
			sqlite3_bind_text(st, 2, v[i].c->name, -1,
					  SQLITE_STATIC);
			sqlite3_bind_text(st, 3, v[i].ref + 10, -1,
					  SQLITE_STATIC);
			sqlite3_bind_text(st, 4, text->buf, (int)text->len,
					  SQLITE_STATIC);
		}
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return false;
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return false;
	}
	return true;
}

xbt_error *db_seed(void)
{
	struct store_view *views = xbt_calloc(xbt_nclasses, sizeof(*views));
	struct db_change *v = NULL;
	size_t n = 0, cap = 0;
	xbt_buf text = XBT_BUF_INIT;
	xbt_error *err = NULL;

	store_lock();
	for (size_t i = 0; i < xbt_nclasses; i++)
		store_view_take(xbt_classes[i], &views[i]);
	store_unlock();
	for (size_t i = 0; i < xbt_nclasses; i++) {
		if (!db_persisted(xbt_classes[i]))
			continue;
		for (size_t j = 0; j < views[i].n; j++) {
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				v = xbt_reallocarray(v, cap, sizeof(*v));
			}
			v[n].c = xbt_classes[i];
			v[n].box = views[i].v[j];
			snprintf(v[n].ref, sizeof(v[n].ref), "%s",
				 store_view_ref(&views[i], j));
			n++;
		}
	}
	if (!db_write(v, n, &text))
		err = db_sqlite_fail(db, db_path, "cannot write the world");
	else
		log_info("database %s: new, %zu objects from the world",
			 db_path, n);
	for (size_t i = 0; i < xbt_nclasses; i++)
		store_view_release(&views[i]);
	free(views);
	free(v);
	xbt_buf_release(&text);
	return err;
}

static void *db_writer(void *arg)
{
	xbt_buf text = XBT_BUF_INIT;
	struct db_change *v = NULL;
	size_t cap = 0;

	(void)arg;
	log_set_thread_name("db-writer");
	pthread_mutex_lock(&db_mutex);
	for (;;) {
		size_t n;
		uint64_t upto;
		unsigned failures = 0;

		while (!db_nqueue && !db_stopping)
			pthread_cond_wait(&db_work, &db_mutex);
		if (!db_nqueue)
			break;
		/* Everything queued: many sections, one commit. */
		struct db_change *swap = db_queue;
		db_queue = v;
		v = swap;
		n = db_nqueue;
		swap = NULL;
		{
			size_t c = db_capqueue;

			db_capqueue = cap;
			cap = c;
		}
		db_nqueue = 0;
		upto = db_queued;
		pthread_mutex_unlock(&db_mutex);
		/* Until it is written, no answer of these sections goes out. */
		while (!db_write(v, n, &text)) {
			struct timespec nap = { 1, 0 };

			if (failures++ % 60 == 0)
				log_error("database %s: cannot commit (%s); "
					  "retrying, the calls wait", db_path,
					  sqlite3_errmsg(db));
			/* At the stop no call waits any more: 10 tries. */
			if (atomic_load(&db_stopping) && failures >= 10) {
				log_error("database %s: %zu changes of "
					  "unanswered calls not written",
					  db_path, n);
				break;
			}
			nanosleep(&nap, NULL);
		}
		db_commits++;
		db_rows += n;
		for (size_t i = 0; i < n; i++)
			if (v[i].box)
				store_box_release(v[i].box);
		pthread_mutex_lock(&db_mutex);
		db_durable = upto;
		pthread_cond_broadcast(&db_done);
	}
	pthread_mutex_unlock(&db_mutex);
	free(v);
	xbt_buf_release(&text);
	return NULL;
}

void db_start(void)
{
	if (!db)
		return;
	db_stopping = false;
	if (pthread_create(&db_thread, NULL, db_writer, NULL) != 0)
		xbt_fatalx("db: cannot start the writer thread");
	db_thread_on = true;
	atomic_store(&db_on, true);
}

void db_stop(void)
{
	/* Under the store's lock: no section is between its check of
	 * db_recording and db_enqueue, so the writer drains them all. */
	if (db_thread_on) {
		store_lock();
		atomic_store(&db_on, false);
		store_unlock();
	}
	if (db_thread_on) {
		pthread_mutex_lock(&db_mutex);
		db_stopping = true;
		pthread_cond_signal(&db_work);
		pthread_mutex_unlock(&db_mutex);
		pthread_join(db_thread, NULL);
		db_thread_on = false;
		log_info("database %s: %llu sections in %llu commits (%llu "
			 "rows)", db_path, (unsigned long long)db_queued,
			 (unsigned long long)db_commits,
			 (unsigned long long)db_rows);
	}
	sqlite3_finalize(db_put);
	sqlite3_finalize(db_del);
	db_put = db_del = NULL;
	sqlite3_close(db);
	db = NULL;
	free(db_queue);
	db_queue = NULL;
	db_nqueue = db_capqueue = 0;
}

/* ---- --check ------------------------------------------------------------------- */

int db_check(const char *path)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	xbt_error *err = db_check_header(path);
	size_t n = 0;

	if (!err && sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) !=
			    SQLITE_OK)
		err = db_sqlite_fail(h, path, "cannot open");
	if (!err)
		err = db_verify(h, path, true);
	if (!err && sqlite3_prepare_v2(h, db_select, -1, &st, NULL) != SQLITE_OK)
		err = db_sqlite_fail(h, path, "cannot read it");
	if (!err)
		err = db_read_rows(h, st, path, db_take_check, NULL, &n);
	sqlite3_finalize(st);
	sqlite3_close(h);
	if (err) {
		char *s = xbt_error_summary(err);

		printf("%s\n", s);
		free(s);
		xbt_error_free(err);
		return 1;
	}
	printf("database %s: sound, %zu objects\n", path, n);
	return 0;
}
