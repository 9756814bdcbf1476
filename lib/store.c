/* store.c: see include/cscert/store.h.
 * Invariants: every file of the home is created under umask 077; writers
 * take BEGIN IMMEDIATE; synchronous=FULL, so a committed pending key
 * survives power loss; secure_delete=ON, so a deleted key's bytes do not
 * linger in free pages. */
#include "cscert/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "cscert/jsonl.h"
#include "cscert/key.h"
#include "cscert/x509.h"
#include "sql.h"

#define STORE_SCHEMA_VERSION 2

struct cscert_store {
    sqlite3 *db;
    char *home;
    char *audit_path;
};

static const char *const schema_v1 =
    "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE keys(id INTEGER PRIMARY KEY, pkcs8 BLOB NOT NULL,"
    " spki_sha256 TEXT NOT NULL, exportable INTEGER NOT NULL, created TEXT NOT NULL);"
    "CREATE INDEX keys_spki ON keys(spki_sha256);"
    "CREATE TABLE certs(thumbprint TEXT PRIMARY KEY,"
    " store TEXT NOT NULL CHECK(store IN ('My','Root','CA')), der BLOB NOT NULL,"
    " subject TEXT NOT NULL, friendly_name TEXT, key_id INTEGER REFERENCES keys(id),"
    " added_at TEXT NOT NULL);"
    "CREATE TABLE pending(id INTEGER PRIMARY KEY, key_id INTEGER NOT NULL REFERENCES keys(id),"
    " created TEXT NOT NULL, uses TEXT, names TEXT, friendly_name TEXT, template TEXT, ca TEXT,"
    " computer_fqdn TEXT, output_path TEXT, csr_pem TEXT, state TEXT NOT NULL, note TEXT,"
    " exportable INTEGER NOT NULL);"
    "CREATE TABLE assignments(use TEXT PRIMARY KEY, thumbprint TEXT NOT NULL,"
    " effective_date TEXT, previous_thumbprint TEXT, assigned_at TEXT NOT NULL);"
    "CREATE TABLE bindings(site TEXT PRIMARY KEY COLLATE NOCASE, address TEXT NOT NULL,"
    " port INTEGER NOT NULL, use TEXT NOT NULL, UNIQUE(address, port));";

/* How listings are ordered: My, then CA, then Root; by subject. */
#define CERT_ORDER "CASE store WHEN 'My' THEN 1 WHEN 'CA' THEN 2 ELSE 3 END, subject, thumbprint"

/* v2: a certificate's listing columns, so that `store list` reads rows
 * and decodes no certificate (filled by put_cert; v1 rows by backfill_v2). */
static const char *const schema_v2 =
    "ALTER TABLE certs ADD COLUMN subject_text TEXT;"
    "ALTER TABLE certs ADD COLUMN not_after TEXT;"
    /* the listings' order (CERT_ORDER), read from the index, not sorted */
    "CREATE INDEX certs_list ON certs(" CERT_ORDER ");";

static int db_error(cscert_store *st, const char *doing)
{
    return cscert__sql_error(st ? st->db : NULL, st && st->home ? st->home : "store", doing);
}

/* Room for one more element of size elem in the array *v of *cap, holding
 * cnt (doubling, first 16): the listings' rows. ENOMEM (set) and *v
 * untouched when it cannot grow. */
static int grow(void *v, size_t *cap, size_t cnt, size_t elem)
{
    void **pv = v, *nv;
    size_t ncap;

    if (cnt < *cap)
        return CSCERT_OK;
    ncap = *cap ? *cap * 2 : 16;
    if (!(nv = realloc(*pv, ncap * elem)))
        return cscert__oom();
    *pv = nv;
    *cap = ncap;
    return CSCERT_OK;
}



static int prepare(sqlite3_stmt **out, cscert_store *st, const char *sql)
{
    return cscert__sql_prepare(out, st->db, st->home, sql);
}

/* Run a statement that returns no rows; finalizes it. */
static int step_done(cscert_store *st, sqlite3_stmt *s, const char *doing)
{
    int rc = cscert__sql_done(st->db, st->home, s, doing, NULL);

    if (rc == CSCERT_EEXISTS)
        return cscert_error_setf(CSCERT_EEXISTS, st->home, NULL, "%s: already stored", doing);
    return rc;
}


void cscert_now_rfc3339(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *cscert_store_kind_name(cscert_store_kind k)
{
    switch (k) {
    case CSCERT_STORE_ALL: return "all";
    case CSCERT_STORE_MY: return "My";
    case CSCERT_STORE_ROOT: return "Root";
    case CSCERT_STORE_CA: return "CA";
    }
    return "?";
}

int cscert_store_kind_parse(cscert_store_kind *out, const char *s)
{
    if (s && strcasecmp(s, "My") == 0)
        *out = CSCERT_STORE_MY;
    else if (s && strcasecmp(s, "Root") == 0)
        *out = CSCERT_STORE_ROOT;
    else if (s && strcasecmp(s, "CA") == 0)
        *out = CSCERT_STORE_CA;
    else
        return cscert_error_setf(CSCERT_EINVAL, "--store", "use My, Root or CA",
                                 "unknown store '%s'", s ? s : "");
    return CSCERT_OK;
}

static int exec(cscert_store *st, const char *sql, const char *doing)
{
    return cscert__sql_exec(st->db, st->home, sql, doing);
}

/* The display columns of one certificate (see schema_v2). */
static int listing_columns(char **subject, char not_after[32], X509 *x)
{
    int rc;

    if ((rc = cscert_x509_name_text(subject, X509_get_subject_name(x))) < 0)
        return rc;
    if (cscert_x509_time_text(not_after, X509_get0_notAfter(x)) < 0)
        cscert_error_clear(); /* shown empty, as certinfo shows it */
    return CSCERT_OK;
}

static int backfill_v2(cscert_store *st)
{
    sqlite3_stmt *s = NULL, *u = NULL;
    int rc;

    if ((rc = cscert__sql_prepare(&s, st->db, st->home, "SELECT thumbprint, der FROM certs")) < 0)
        return rc;
    if ((rc = cscert__sql_prepare(&u, st->db, st->home,
                                  "UPDATE certs SET subject_text=?, not_after=? WHERE thumbprint=?")) < 0) {
        sqlite3_finalize(s);
        return rc;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_blob(s, 1);
        X509 *x = p ? d2i_X509(NULL, &p, sqlite3_column_bytes(s, 1)) : NULL;
        char *subject = NULL, na[32] = "";

        if (x && listing_columns(&subject, na, x) < 0) {
            X509_free(x);
            rc = SQLITE_NOMEM;
            break;
        }
        X509_free(x);
        /* A row that does not decode keeps NULLs: store list shows it
         * empty, show and check report it as they did. */
        cscert__sql_bind(u, 1, subject);
        cscert__sql_bind(u, 2, *na ? na : NULL);
        sqlite3_bind_text(u, 3, (const char *)sqlite3_column_text(s, 0), -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(u);
        sqlite3_reset(u);
        sqlite3_clear_bindings(u);
        free(subject);
        if (rc != SQLITE_DONE)
            break;
    }
    sqlite3_finalize(s);
    sqlite3_finalize(u);
    if (rc == SQLITE_NOMEM)
        return cscert__oom();
    return rc == SQLITE_DONE ? CSCERT_OK : db_error(st, "filling the listing columns");
}

static int migrate(cscert_store *st)
{
    char pragma[48];
    int version, rc;

    if ((rc = cscert_store_begin(st)) < 0)
        return rc;
    version = cscert__sql_user_version(st->db);
    if (version > STORE_SCHEMA_VERSION) {
        rc = cscert_error_setf(CSCERT_EINVAL, st->home, "use the cscert that made this home",
                               "the store's schema version %d is newer than this cscert's (%d)",
                               version, STORE_SCHEMA_VERSION);
        goto fail;
    }
    /* Each step moves the schema one version up; all in this transaction. */
    if (version < 1 && (rc = exec(st, schema_v1, "creating the store")) < 0)
        goto fail;
    if (version < 2
        && ((rc = exec(st, schema_v2, "adding the listing columns")) < 0 || (rc = backfill_v2(st)) < 0))
        goto fail;
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
    if (version < STORE_SCHEMA_VERSION && (rc = exec(st, pragma, "setting the schema version")) < 0)
        goto fail;
    return cscert_store_commit(st);
fail:
    cscert_store_rollback(st);
    return rc;
}

static int make_home(const char *home)
{
    struct stat sb;

    if (mkdir(home, 0700) < 0 && errno != EEXIST)
        return cscert_error_setf(CSCERT_EIO, home, "create its parent or pass another --home",
                                 "cannot create the home directory: %s", strerror(errno));
    if (stat(home, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return cscert_error_set(CSCERT_EIO, home, "the home is not a directory",
                                "pass a directory to --home or set CSCERT_HOME");
    return CSCERT_OK;
}

int cscert_store_open(cscert_store **out, const char *home)
{
    cscert_store *st = NULL;
    char path[PATH_MAX];
    mode_t old_mask;
    int rc = CSCERT_EIO;

    *out = NULL;
    if (!home || !*home)
        return cscert_error_set(CSCERT_EINVAL, "home", "no home directory given",
                                "pass --home DIR or set CSCERT_HOME");
    old_mask = umask(077); /* the home 0700, its files 0600, from birth */
    if ((rc = make_home(home)) < 0)
        goto out;
    if (!(st = calloc(1, sizeof(*st))) || !(st->home = strdup(home))) {
        rc = cscert__oom();
        goto out;
    }
    snprintf(path, sizeof(path), "%s/audit.jsonl", home);
    if (!(st->audit_path = strdup(path))) {
        rc = cscert__oom();
        goto out;
    }
    snprintf(path, sizeof(path), "%s/cscert.db", home);
    if ((rc = cscert__sql_open(&st->db, path, 1)) < 0
        || (rc = migrate(st)) < 0)
        goto out;
    *out = st;
    st = NULL;
    rc = CSCERT_OK;
out:
    umask(old_mask);
    cscert_store_free(st);
    return rc;
}

void cscert_store_free(cscert_store *st)
{
    if (!st)
        return;
    sqlite3_close(st->db);
    free(st->home);
    free(st->audit_path);
    free(st);
}

const char *cscert_store_home(const cscert_store *st)
{
    return st->home;
}

int cscert_store_begin(cscert_store *st)
{
    return exec(st, "BEGIN IMMEDIATE", "starting a transaction (another cscert may hold the store)");
}

int cscert_store_commit(cscert_store *st)
{
    return exec(st, "COMMIT", "committing");
}

void cscert_store_rollback(cscert_store *st)
{
    cscert__sql_rollback(st->db);
}

/* ---- settings ---- */

int cscert_store_get_setting(char **out, cscert_store *st, const char *key)
{
    sqlite3_stmt *s = NULL;
    int rc;

    *out = NULL;
    if ((rc = prepare(&s, st, "SELECT value FROM settings WHERE key=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, key);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = cscert__sql_text(s, 0);
        rc = *out ? CSCERT_OK : cscert__oom();
    } else if (rc == SQLITE_DONE) {
        rc = cscert_error_setf(CSCERT_ENOTFOUND, key, NULL, "not set in %s", st->home);
    } else {
        rc = db_error(st, "reading a setting");
    }
    sqlite3_finalize(s);
    return rc;
}

int cscert_store_set_setting(cscert_store *st, const char *key, const char *value)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = prepare(&s, st, "INSERT OR REPLACE INTO settings(key, value) VALUES(?, ?)")) < 0)
        return rc;
    cscert__sql_bind(s, 1, key);
    cscert__sql_bind(s, 2, value);
    return step_done(st, s, "saving a setting");
}

/* ---- keys ---- */

int cscert_store_put_key(int64_t *out_id, cscert_store *st, EVP_PKEY *pkey, int exportable)
{
    sqlite3_stmt *s = NULL;
    unsigned char *der = NULL;
    char spki[65], now[32];
    size_t len = 0;
    int rc;

    *out_id = 0;
    if ((rc = cscert_key_spki_sha256(spki, pkey)) < 0 || (rc = cscert_key_to_pkcs8_der(&der, &len, pkey)) < 0)
        return rc;
    cscert_now_rfc3339(now);
    if ((rc = prepare(&s, st, "INSERT INTO keys(pkcs8, spki_sha256, exportable, created)"
                              " VALUES(?, ?, ?, ?)")) < 0)
        goto out;
    sqlite3_bind_blob(s, 1, der, (int)len, SQLITE_TRANSIENT);
    cscert__sql_bind(s, 2, spki);
    sqlite3_bind_int(s, 3, exportable ? 1 : 0);
    cscert__sql_bind(s, 4, now);
    if ((rc = step_done(st, s, "storing a private key")) == CSCERT_OK)
        *out_id = sqlite3_last_insert_rowid(st->db);
out:
    OPENSSL_clear_free(der, len);
    return rc;
}

int cscert_store_get_key(EVP_PKEY **out, cscert_store *st, int64_t key_id)
{
    sqlite3_stmt *s = NULL;
    const unsigned char *p;
    int rc, len;

    *out = NULL;
    if ((rc = prepare(&s, st, "SELECT pkcs8 FROM keys WHERE id=?")) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, key_id);
    if (sqlite3_step(s) != SQLITE_ROW) {
        rc = cscert_error_setf(CSCERT_ENOTFOUND, "private key", "request a new certificate",
                               "key %lld is not in the store", (long long)key_id);
        goto out;
    }
    p = sqlite3_column_blob(s, 0);
    len = sqlite3_column_bytes(s, 0);
    if (!p || len <= 0)
        rc = cscert_error_setf(CSCERT_EIO, "private key", "request a new certificate",
                               "key %lld is empty in the store", (long long)key_id);
    else
        rc = cscert_key_from_pkcs8_der(out, p, (size_t)len); /* PKCS#8 PrivateKeyInfo */
out:
    sqlite3_finalize(s); /* secure_delete does not cover the statement's copy: */
    return rc;           /* SQLite frees it; the PKCS#8 bytes were never ours to wipe */
}

int cscert_store_delete_key(cscert_store *st, int64_t key_id)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = prepare(&s, st, "DELETE FROM keys WHERE id=?")) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, key_id);
    return step_done(st, s, "deleting a key");
}

int cscert_store_find_key(int64_t *out_id, cscert_store *st, EVP_PKEY *pub)
{
    sqlite3_stmt *s = NULL;
    char spki[65];
    int rc;

    *out_id = 0;
    if ((rc = cscert_key_spki_sha256(spki, pub)) < 0)
        return rc;
    if ((rc = prepare(&s, st, "SELECT id FROM keys WHERE spki_sha256=? ORDER BY id DESC")) < 0)
        return rc;
    cscert__sql_bind(s, 1, spki);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out_id = sqlite3_column_int64(s, 0);
        rc = CSCERT_OK;
    } else {
        rc = rc == SQLITE_DONE ? cscert_error_set(CSCERT_ENOTFOUND, "private key",
                                                  "no stored key matches this public key", NULL)
                               : db_error(st, "finding a key");
    }
    sqlite3_finalize(s);
    return rc;
}

/* ---- certificates ---- */

void cscert_cert_rec_free(cscert_cert_rec *r)
{
    if (!r)
        return;
    X509_free(r->x509);
    free(r->friendly_name);
    free(r);
}

void cscert_cert_recs_free(cscert_cert_rec **v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        cscert_cert_rec_free(v[i]);
    free(v);
}

int cscert_store_put_cert(char thumb_out[41], cscert_store *st, cscert_store_kind kind, X509 *x,
                          const char *friendly_name, int64_t key_id)
{
    sqlite3_stmt *s = NULL;
    unsigned char *der = NULL;
    char thumb[41], now[32], *subject = NULL, *text = NULL, na[32] = "";
    int len, rc;

    if (kind == CSCERT_STORE_ALL)
        return cscert_error_set(CSCERT_EINVAL, "store", "a certificate goes to My, Root or CA", NULL);
    if ((rc = cscert_x509_thumbprint(thumb, x)) < 0)
        return rc;
    if (thumb_out)
        memcpy(thumb_out, thumb, 41);
    len = i2d_X509(x, &der);
    subject = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
    if (len <= 0 || !subject) {
        rc = cscert__crypto_error(thumb, "encoding the certificate");
        goto out;
    }
    if ((rc = listing_columns(&text, na, x)) < 0)
        goto out;
    cscert_now_rfc3339(now);
    if ((rc = prepare(&s, st, "INSERT INTO certs(thumbprint, store, der, subject, friendly_name,"
                              " key_id, added_at, subject_text, not_after) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)")) < 0)
        goto out;
    cscert__sql_bind(s, 1, thumb);
    cscert__sql_bind(s, 2, cscert_store_kind_name(kind));
    sqlite3_bind_blob(s, 3, der, len, SQLITE_TRANSIENT);
    cscert__sql_bind(s, 4, subject);
    cscert__sql_bind(s, 5, friendly_name);
    if (key_id > 0)
        sqlite3_bind_int64(s, 6, key_id);
    else
        sqlite3_bind_null(s, 6);
    cscert__sql_bind(s, 7, now);
    cscert__sql_bind(s, 8, text);
    cscert__sql_bind(s, 9, *na ? na : NULL);
    rc = step_done(st, s, "storing a certificate");
    if (rc == CSCERT_EEXISTS)
        rc = cscert_error_set(CSCERT_EEXISTS, thumb, "the certificate is already in the store",
                              NULL);
out:
    OPENSSL_free(der);
    OPENSSL_free(subject);
    free(text);
    return rc;
}

#define CERT_COLS "c.thumbprint, c.store, c.der, c.friendly_name, c.key_id," \
                  " COALESCE(k.exportable, 0), c.added_at FROM certs c" \
                  " LEFT JOIN keys k ON k.id = c.key_id"

static int row_to_cert(cscert_cert_rec **out, sqlite3_stmt *s)
{
    cscert_cert_rec *r = calloc(1, sizeof(*r));
    const unsigned char *p;
    const char *kind;

    *out = NULL;
    if (!r)
        return cscert__oom();
    cscert__sql_copy(r->thumbprint, sizeof(r->thumbprint), s, 0);
    kind = (const char *)sqlite3_column_text(s, 1);
    cscert_store_kind_parse(&r->store, kind);
    p = sqlite3_column_blob(s, 2);
    r->x509 = p ? d2i_X509(NULL, &p, sqlite3_column_bytes(s, 2)) : NULL;
    r->friendly_name = cscert__sql_text(s, 3);
    r->key_id = sqlite3_column_int64(s, 4);
    r->exportable = sqlite3_column_int(s, 5);
    cscert__sql_copy(r->added_at, sizeof(r->added_at), s, 6);
    if (!r->x509) {
        int rc = cscert__crypto_error(r->thumbprint, "the stored certificate does not decode");

        cscert_cert_rec_free(r);
        return rc;
    }
    *out = r;
    return CSCERT_OK;
}

int cscert_store_get_cert(cscert_cert_rec **out, cscert_store *st, const char *thumbprint)
{
    sqlite3_stmt *s = NULL;
    int rc;

    *out = NULL;
    if ((rc = prepare(&s, st, "SELECT " CERT_COLS " WHERE c.thumbprint=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, thumbprint);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = row_to_cert(out, s);
    else if (rc == SQLITE_DONE)
        rc = cscert_error_set(CSCERT_ENOTFOUND, thumbprint, "no certificate with this thumbprint",
                              "see 'cscert store list'");
    else
        rc = db_error(st, "reading a certificate");
    sqlite3_finalize(s);
    return rc;
}

int cscert_store_list_certs(cscert_cert_rec ***out, size_t *n, cscert_store *st, cscert_store_kind kind)
{
    sqlite3_stmt *s = NULL;
    cscert_cert_rec **v = NULL;
    size_t cnt = 0, cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = prepare(&s, st, "SELECT " CERT_COLS " WHERE ?1 = 'all' OR c.store = ?1"
                              " ORDER BY " CERT_ORDER)) < 0)
        return rc;
    cscert__sql_bind(s, 1, cscert_store_kind_name(kind));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((rc = grow(&v, &cap, cnt, sizeof(*v))) < 0)
            goto fail;
        if ((rc = row_to_cert(&v[cnt], s)) < 0)
            goto fail;
        cnt++;
    }
    if (rc != SQLITE_DONE) {
        rc = db_error(st, "listing certificates");
        goto fail;
    }
    sqlite3_finalize(s);
    *out = v;
    *n = cnt;
    return CSCERT_OK;
fail:
    sqlite3_finalize(s);
    cscert_cert_recs_free(v, cnt);
    return rc;
}

void cscert_cert_summaries_free(cscert_cert_summary *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].subject);
        free(v[i].friendly_name);
    }
    free(v);
}

int cscert_store_list_summaries(cscert_cert_summary **out, size_t *n, cscert_store *st, cscert_store_kind kind)
{
    sqlite3_stmt *s = NULL;
    cscert_cert_summary *v = NULL;
    size_t cnt = 0, cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = prepare(&s, st, "SELECT c.thumbprint, c.store, c.subject_text, c.not_after, c.friendly_name,"
                              " c.key_id, COALESCE(k.exportable, 0) FROM certs c"
                              " LEFT JOIN keys k ON k.id = c.key_id WHERE ?1 = 'all' OR c.store = ?1"
                              " ORDER BY " CERT_ORDER)) < 0)
        return rc;
    cscert__sql_bind(s, 1, cscert_store_kind_name(kind));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cscert_cert_summary *r;

        if ((rc = grow(&v, &cap, cnt, sizeof(*v))) < 0)
            goto fail;
        r = memset(&v[cnt++], 0, sizeof(*r));
        cscert__sql_copy(r->thumbprint, sizeof(r->thumbprint), s, 0);
        cscert_store_kind_parse(&r->store, (const char *)sqlite3_column_text(s, 1));
        r->subject = cscert__sql_text(s, 2);
        cscert__sql_copy(r->not_after, sizeof(r->not_after), s, 3);
        r->friendly_name = cscert__sql_text(s, 4);
        r->key_id = sqlite3_column_int64(s, 5);
        r->exportable = sqlite3_column_int(s, 6);
        if ((sqlite3_column_type(s, 2) != SQLITE_NULL && !r->subject)
            || (sqlite3_column_type(s, 4) != SQLITE_NULL && !r->friendly_name)) {
            rc = cscert__oom();
            goto fail;
        }
    }
    if (rc != SQLITE_DONE) {
        rc = db_error(st, "listing certificates");
        goto fail;
    }
    sqlite3_finalize(s);
    *out = v;
    *n = cnt;
    return CSCERT_OK;
fail:
    sqlite3_finalize(s);
    cscert_cert_summaries_free(v, cnt);
    return rc;
}

static int update_one(cscert_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);

    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return db_error(st, "updating the store");
    if (sqlite3_changes(st->db) == 0)
        return cscert_error_set(CSCERT_ENOTFOUND, what, "not in the store", NULL);
    return CSCERT_OK;
}

int cscert_store_set_cert_key(cscert_store *st, const char *thumbprint, int64_t key_id)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = prepare(&s, st, "UPDATE certs SET key_id=? WHERE thumbprint=?")) < 0)
        return rc;
    if (key_id > 0)
        sqlite3_bind_int64(s, 1, key_id);
    else
        sqlite3_bind_null(s, 1);
    cscert__sql_bind(s, 2, thumbprint);
    return update_one(st, s, thumbprint);
}

int cscert_store_set_friendly_name(cscert_store *st, const char *thumbprint, const char *name)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = prepare(&s, st, "UPDATE certs SET friendly_name=? WHERE thumbprint=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, name);
    cscert__sql_bind(s, 2, thumbprint);
    return update_one(st, s, thumbprint);
}

int cscert_store_delete_cert(cscert_store *st, const char *thumbprint)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = prepare(&s, st, "DELETE FROM certs WHERE thumbprint=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, thumbprint);
    return update_one(st, s, thumbprint);
}

/* Only Root and CA rows are read: `check` and `set` build chains on every
 * call, and My may hold thousands of certificates. */
static int push_kind(STACK_OF(X509) *to, cscert_store *st, cscert_store_kind kind)
{
    cscert_cert_rec **v = NULL;
    size_t n = 0, i;
    int rc;

    if ((rc = cscert_store_list_certs(&v, &n, st, kind)) < 0)
        return rc;
    for (i = 0; i < n; i++)
        if (sk_X509_push(to, v[i]->x509) > 0)
            v[i]->x509 = NULL; /* the stack owns it now */
    cscert_cert_recs_free(v, n);
    return CSCERT_OK;
}

int cscert_store_trust(STACK_OF(X509) **roots, STACK_OF(X509) **intermediates, cscert_store *st)
{
    int rc;

    *roots = sk_X509_new_null();
    *intermediates = sk_X509_new_null();
    if (!*roots || !*intermediates)
        rc = cscert__oom();
    else if ((rc = push_kind(*roots, st, CSCERT_STORE_ROOT)) == CSCERT_OK)
        rc = push_kind(*intermediates, st, CSCERT_STORE_CA);
    if (rc < 0) {
        sk_X509_pop_free(*roots, X509_free);
        sk_X509_pop_free(*intermediates, X509_free);
        *roots = *intermediates = NULL;
    }
    return rc;
}

/* ---- pending requests ---- */

void cscert_pending_free(cscert_pending *p)
{
    if (!p)
        return;
    free(p->uses);
    free(p->names);
    free(p->friendly_name);
    free(p->template_name);
    free(p->ca);
    free(p->computer_fqdn);
    free(p->output_path);
    free(p->csr_pem);
    free(p->state);
    free(p->note);
    free(p);
}

void cscert_pendings_free(cscert_pending **v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        cscert_pending_free(v[i]);
    free(v);
}

int cscert_store_put_pending(int64_t *out_id, cscert_store *st, const cscert_pending *p)
{
    sqlite3_stmt *s = NULL;
    char now[32];
    int rc;

    *out_id = 0;
    cscert_now_rfc3339(now);
    if ((rc = prepare(&s, st, "INSERT INTO pending(key_id, created, uses, names, friendly_name,"
                              " template, ca, computer_fqdn, output_path, csr_pem, state, note,"
                              " exportable) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)")) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, p->key_id);
    cscert__sql_bind(s, 2, p->created[0] ? p->created : now);
    cscert__sql_bind(s, 3, p->uses);
    cscert__sql_bind(s, 4, p->names);
    cscert__sql_bind(s, 5, p->friendly_name);
    cscert__sql_bind(s, 6, p->template_name);
    cscert__sql_bind(s, 7, p->ca);
    cscert__sql_bind(s, 8, p->computer_fqdn);
    cscert__sql_bind(s, 9, p->output_path);
    cscert__sql_bind(s, 10, p->csr_pem);
    cscert__sql_bind(s, 11, p->state ? p->state : "offline");
    cscert__sql_bind(s, 12, p->note);
    sqlite3_bind_int(s, 13, p->exportable ? 1 : 0);
    if ((rc = step_done(st, s, "storing a pending request")) == CSCERT_OK)
        *out_id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

#define PENDING_COLS "id, key_id, created, uses, names, friendly_name, template, ca," \
                     " computer_fqdn, output_path, csr_pem, state, note, exportable FROM pending"

static int row_to_pending(cscert_pending **out, sqlite3_stmt *s)
{
    cscert_pending *p = calloc(1, sizeof(*p));

    *out = NULL;
    if (!p)
        return cscert__oom();
    p->id = sqlite3_column_int64(s, 0);
    p->key_id = sqlite3_column_int64(s, 1);
    cscert__sql_copy(p->created, sizeof(p->created), s, 2);
    p->uses = cscert__sql_text(s, 3);
    p->names = cscert__sql_text(s, 4);
    p->friendly_name = cscert__sql_text(s, 5);
    p->template_name = cscert__sql_text(s, 6);
    p->ca = cscert__sql_text(s, 7);
    p->computer_fqdn = cscert__sql_text(s, 8);
    p->output_path = cscert__sql_text(s, 9);
    p->csr_pem = cscert__sql_text(s, 10);
    p->state = cscert__sql_text(s, 11);
    p->note = cscert__sql_text(s, 12);
    p->exportable = sqlite3_column_int(s, 13);
    *out = p;
    return CSCERT_OK;
}

static int get_pending_where(cscert_pending **out, cscert_store *st, const char *where, int64_t v,
                             const char *what)
{
    sqlite3_stmt *s = NULL;
    char sql[256];
    int rc;

    *out = NULL;
    snprintf(sql, sizeof(sql), "SELECT " PENDING_COLS " WHERE %s", where);
    if ((rc = prepare(&s, st, sql)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, v);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = row_to_pending(out, s);
    else if (rc == SQLITE_DONE)
        rc = cscert_error_setf(CSCERT_ENOTFOUND, what, "see 'cscert request list'",
                               "no pending request %lld", (long long)v);
    else
        rc = db_error(st, "reading a pending request");
    sqlite3_finalize(s);
    return rc;
}

int cscert_store_get_pending(cscert_pending **out, cscert_store *st, int64_t id)
{
    return get_pending_where(out, st, "id=?", id, "pending request");
}

int cscert_store_find_pending_by_key(cscert_pending **out, cscert_store *st, int64_t key_id)
{
    return get_pending_where(out, st, "key_id=? ORDER BY id DESC", key_id, "pending request for key");
}

int cscert_store_list_pending(cscert_pending ***out, size_t *n, cscert_store *st)
{
    sqlite3_stmt *s = NULL;
    cscert_pending **v = NULL;
    size_t cnt = 0, cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = prepare(&s, st, "SELECT " PENDING_COLS " ORDER BY id")) < 0)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((rc = grow(&v, &cap, cnt, sizeof(*v))) < 0)
            goto fail;
        if ((rc = row_to_pending(&v[cnt], s)) < 0)
            goto fail;
        cnt++;
    }
    if (rc != SQLITE_DONE) {
        rc = db_error(st, "listing pending requests");
        goto fail;
    }
    sqlite3_finalize(s);
    *out = v;
    *n = cnt;
    return CSCERT_OK;
fail:
    sqlite3_finalize(s);
    cscert_pendings_free(v, cnt);
    return rc;
}

int cscert_store_set_pending_state(cscert_store *st, int64_t id, const char *state, const char *note)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = prepare(&s, st, "UPDATE pending SET state=?, note=? WHERE id=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, state);
    cscert__sql_bind(s, 2, note);
    sqlite3_bind_int64(s, 3, id);
    return update_one(st, s, "pending request");
}

int cscert_store_delete_pending(cscert_store *st, int64_t id, int drop_key)
{
    cscert_pending *p = NULL;
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = cscert_store_get_pending(&p, st, id)) < 0)
        return rc;
    if ((rc = prepare(&s, st, "DELETE FROM pending WHERE id=?")) < 0)
        goto out;
    sqlite3_bind_int64(s, 1, id);
    if ((rc = update_one(st, s, "pending request")) < 0)
        goto out;
    if (drop_key)
        rc = cscert_store_delete_key(st, p->key_id);
out:
    cscert_pending_free(p);
    return rc;
}

/* ---- assignments ---- */

int cscert_store_set_assignment(cscert_store *st, const cscert_assignment *a)
{
    sqlite3_stmt *s = NULL;
    char now[32];
    int rc;

    cscert_now_rfc3339(now);
    if ((rc = prepare(&s, st, "INSERT OR REPLACE INTO assignments(use, thumbprint, effective_date,"
                              " previous_thumbprint, assigned_at) VALUES(?,?,?,?,?)")) < 0)
        return rc;
    cscert__sql_bind(s, 1, a->use);
    cscert__sql_bind(s, 2, a->thumbprint);
    cscert__sql_bind(s, 3, a->effective_date[0] ? a->effective_date : NULL);
    cscert__sql_bind(s, 4, a->previous_thumbprint[0] ? a->previous_thumbprint : NULL);
    cscert__sql_bind(s, 5, a->assigned_at[0] ? a->assigned_at : now);
    return step_done(st, s, "saving an assignment");
}

static void row_to_assignment(cscert_assignment *a, sqlite3_stmt *s)
{
    cscert__sql_copy(a->use, sizeof(a->use), s, 0);
    cscert__sql_copy(a->thumbprint, sizeof(a->thumbprint), s, 1);
    cscert__sql_copy(a->effective_date, sizeof(a->effective_date), s, 2);
    cscert__sql_copy(a->previous_thumbprint, sizeof(a->previous_thumbprint), s, 3);
    cscert__sql_copy(a->assigned_at, sizeof(a->assigned_at), s, 4);
}

#define ASSIGN_COLS "use, thumbprint, effective_date, previous_thumbprint, assigned_at FROM assignments"

int cscert_store_assignment_staged(const cscert_assignment *a, time_t now)
{
    char t[32];
    struct tm tm;

    if (!a->effective_date[0] || !gmtime_r(&now, &tm))
        return 0;
    /* Both RFC 3339 UTC ("2026-12-01T10:00:00Z", cscert_assign_parse_date):
     * as strings they sort as the times do. */
    strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return strcmp(a->effective_date, t) > 0;
}

const char *cscert_store_assignment_in_force(const cscert_assignment *a, time_t now)
{
    if (a->previous_thumbprint[0] && cscert_store_assignment_staged(a, now))
        return a->previous_thumbprint;
    return a->thumbprint;
}

int cscert_store_get_assignment(cscert_assignment *out, cscert_store *st, const char *use)
{
    sqlite3_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = prepare(&s, st, "SELECT " ASSIGN_COLS " WHERE use=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, use);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        row_to_assignment(out, s);
        rc = CSCERT_OK;
    } else if (rc == SQLITE_DONE) {
        rc = cscert_error_set(CSCERT_ENOTFOUND, use, "no certificate is assigned to this use",
                              "assign one with 'cscert set --type USE --thumbprint X'");
    } else {
        rc = db_error(st, "reading an assignment");
    }
    sqlite3_finalize(s);
    return rc;
}

int cscert_store_list_assignments(cscert_assignment **out, size_t *n, cscert_store *st)
{
    sqlite3_stmt *s = NULL;
    cscert_assignment *v = NULL;
    size_t cnt = 0, cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = prepare(&s, st, "SELECT " ASSIGN_COLS " ORDER BY use")) < 0)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((rc = grow(&v, &cap, cnt, sizeof(*v))) < 0) {
            free(v);
            sqlite3_finalize(s);
            return rc;
        }
        row_to_assignment(&v[cnt++], s);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(v);
        return db_error(st, "listing assignments");
    }
    *out = v;
    *n = cnt;
    return CSCERT_OK;
}

int cscert_store_delete_assignment(cscert_store *st, const char *use)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = prepare(&s, st, "DELETE FROM assignments WHERE use=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, use);
    return update_one(st, s, use);
}

/* ---- bindings ---- */

int cscert_store_set_binding(cscert_store *st, const cscert_binding *b)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = prepare(&s, st, "INSERT INTO bindings(site, address, port, use) VALUES(?,?,?,?)"
                              " ON CONFLICT(site) DO UPDATE SET address=excluded.address,"
                              " port=excluded.port, use=excluded.use")) < 0)
        return rc;
    cscert__sql_bind(s, 1, b->site);
    cscert__sql_bind(s, 2, b->address);
    sqlite3_bind_int(s, 3, b->port);
    cscert__sql_bind(s, 4, b->use);
    rc = step_done(st, s, "saving a binding");
    if (rc == CSCERT_EEXISTS)
        rc = cscert_error_setf(CSCERT_EEXISTS, b->site, "pick another --port or --address",
                               "another site already listens on %s:%d", b->address, b->port);
    return rc;
}

int cscert_store_list_bindings(cscert_binding **out, size_t *n, cscert_store *st)
{
    sqlite3_stmt *s = NULL;
    cscert_binding *v = NULL;
    size_t cnt = 0, cap = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = prepare(&s, st, "SELECT site, address, port, use FROM bindings ORDER BY port, site")) < 0)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((rc = grow(&v, &cap, cnt, sizeof(*v))) < 0) {
            free(v);
            sqlite3_finalize(s);
            return rc;
        }
        cscert__sql_copy(v[cnt].site, sizeof(v[cnt].site), s, 0);
        cscert__sql_copy(v[cnt].address, sizeof(v[cnt].address), s, 1);
        v[cnt].port = sqlite3_column_int(s, 2);
        cscert__sql_copy(v[cnt].use, sizeof(v[cnt].use), s, 3);
        cnt++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(v);
        return db_error(st, "listing bindings");
    }
    *out = v;
    *n = cnt;
    return CSCERT_OK;
}

int cscert_store_delete_binding(cscert_store *st, const char *site)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = prepare(&s, st, "DELETE FROM bindings WHERE site=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, site);
    return update_one(st, s, site);
}

/* ---- audit ---- */

int cscert_store_audit(cscert_store *st, const char *command, const char *object,
                       const char *outcome, const char *detail)
{
    json_t *o;
    char now[32];
    int rc;

    cscert_now_rfc3339(now);
    /* object and detail quote file names and messages: not always UTF-8. */
    o = json_pack("{s:s, s:s, s:o*, s:s, s:o*, s:i, s:i}", "time", now, "command", command,
                  "object", cscert__jsonl_str(object), "outcome", outcome, "detail", cscert__jsonl_str(detail),
                  "uid", (int)getuid(), "pid", (int)getpid());
    if (!o)
        return cscert__oom();
    rc = cscert__jsonl_append(st->audit_path, o, 1);
    json_decref(o);
    return rc;
}

int cscert_store_audit_read(json_t **out, cscert_store *st)
{
    return cscert__jsonl_read(out, st->audit_path);
}

