/* sql.h: the SQLite plumbing that store.c and ca_db.c share (library-
 * private): opening a database the way both need it (umask 077, WAL,
 * synchronous=FULL, secure_delete, a busy timeout), messages naming the
 * database, and the column/bind helpers. `name` is what messages name
 * (the home, or the database's path). */
#ifndef CSCERT_SQL_H
#define CSCERT_SQL_H

#include <stddef.h>

#include <sqlite3.h>

/* 10 s: how long a writer waits for another process's transaction. */
#define CSCERT_SQL_BUSY_TIMEOUT_MS 10000

/* Open path (created 0600 when create), configured as above. On failure
 * *out is NULL and the message names path. */
int cscert__sql_open(sqlite3 **out, const char *path, int create);
/* EIO "NAME: DOING: <sqlite's message>; check permissions and free space". */
int cscert__sql_error(sqlite3 *db, const char *name, const char *doing);
int cscert__sql_prepare(sqlite3_stmt **out, sqlite3 *db, const char *name, const char *sql);
int cscert__sql_exec(sqlite3 *db, const char *name, const char *sql, const char *doing);
/* Step a statement that returns no rows, then finalize it. CSCERT_EEXISTS
 * for a constraint (no message: the caller names the object); *changes
 * (may be NULL) gets the rows touched. */
int cscert__sql_done(sqlite3 *db, const char *name, sqlite3_stmt *s, const char *doing,
                     int *changes);
void cscert__sql_rollback(sqlite3 *db);
/* PRAGMA user_version; -1 when unreadable. */
int cscert__sql_user_version(sqlite3 *db);

void cscert__sql_bind(sqlite3_stmt *s, int i, const char *v);  /* NULL binds NULL */
char *cscert__sql_text(sqlite3_stmt *s, int i);                /* strdup'd, NULL for NULL */
void cscert__sql_copy(char *dst, size_t n, sqlite3_stmt *s, int i); /* "" for NULL */

#endif
