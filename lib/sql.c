/* sql.c: see lib/sql.h. */
#include "sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cscert/error.h"

int cscert__sql_open(sqlite3 **out, const char *path, int create)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    mode_t old_mask = umask(077); /* the file 0600 from birth */
    int rc = sqlite3_open_v2(path, out, flags, NULL);

    umask(old_mask);
    if (rc != SQLITE_OK) {
        rc = cscert_error_setf(CSCERT_EIO, path, "check the home's permissions",
                               "cannot open the database: %s",
                               *out ? sqlite3_errmsg(*out) : "out of memory");
        sqlite3_close(*out);
        *out = NULL;
        return rc;
    }
    sqlite3_busy_timeout(*out, CSCERT_SQL_BUSY_TIMEOUT_MS);
    if ((rc = cscert__sql_exec(*out, path, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                           " PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON;",
                               "configuring the database")) < 0) {
        sqlite3_close(*out);
        *out = NULL;
    }
    return rc;
}

int cscert__sql_error(sqlite3 *db, const char *name, const char *doing)
{
    int code = db ? sqlite3_errcode(db) & 0xff : SQLITE_ERROR;
    const char *fix = "check the home's permissions and free space";

    /* Not a permission problem: the file itself is damaged or foreign. */
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
        fix = "the file is damaged or is not this tool's database: move it aside and restore "
              "the home from a backup (nothing was changed)";
    else if (code == SQLITE_READONLY)
        fix = "the database is read-only: check its owner and mode (0600) and the home's (0700)";
    else if (code == SQLITE_FULL)
        fix = "the disk is full: free space, then run the command again (nothing was changed)";
    return cscert_error_setf(CSCERT_EIO, name ? name : "database", fix, "%s: %s", doing,
                             db ? sqlite3_errmsg(db) : "no database");
}

int cscert__sql_prepare(sqlite3_stmt **out, sqlite3 *db, const char *name, const char *sql)
{
    if (sqlite3_prepare_v2(db, sql, -1, out, NULL) != SQLITE_OK)
        return cscert__sql_error(db, name, "preparing a statement");
    return CSCERT_OK;
}

int cscert__sql_exec(sqlite3 *db, const char *name, const char *sql, const char *doing)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return cscert__sql_error(db, name, doing);
    return CSCERT_OK;
}

int cscert__sql_done(sqlite3 *db, const char *name, sqlite3_stmt *s, const char *doing,
                     int *changes)
{
    int rc = sqlite3_step(s);

    sqlite3_finalize(s);
    if (rc == SQLITE_CONSTRAINT)
        return CSCERT_EEXISTS;
    if (rc != SQLITE_DONE)
        return cscert__sql_error(db, name, doing);
    if (changes)
        *changes = sqlite3_changes(db);
    return CSCERT_OK;
}

void cscert__sql_rollback(sqlite3 *db)
{
    if (db && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int cscert__sql_user_version(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int v = -1;

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK
        && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

void cscert__sql_bind(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

char *cscert__sql_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    return t ? strdup((const char *)t) : NULL;
}

void cscert__sql_copy(char *dst, size_t n, sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    snprintf(dst, n, "%s", t ? (const char *)t : "");
}
