/* ca_db.c: every SQL statement of the CA (see lib/ca_internal.h).
 * Invariants: HOME/csca.db in WAL mode with synchronous=FULL (an
 * issuance is on disk before its answer leaves), secure_delete=ON,
 * writers take BEGIN IMMEDIATE, no AUTOINCREMENT. */
#include "ca_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/x509.h>
#include <sqlite3.h>

#include "cscert/store.h"
#include "cscert/x509.h"
#include "sql.h"

#define CA_DB_SCHEMA_VERSION 1

/* The statements every enrollment runs, prepared once per connection
 * (SQLITE_PREPARE_PERSISTENT) instead of once per request. */
enum { STMT_META, STMT_TEMPLATE, STMT_GRANTS, STMT_REPEAT, STMT_BEGIN, STMT_COMMIT, STMT_REQ_INSERT, STMT_CERT_INSERT,
       STMT_ACCOUNT, STMT_N };

struct ca_db {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *cache[STMT_N];
};

static const char *const schema_v1 =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE templates(name TEXT PRIMARY KEY COLLATE NOCASE, validity_days INTEGER NOT NULL,"
    " eku INTEGER NOT NULL, min_rsa_bits INTEGER NOT NULL, min_ec_bits INTEGER NOT NULL,"
    " hashes TEXT NOT NULL, allowed_domains TEXT, manual INTEGER NOT NULL);"
    "CREATE TABLE grants(template TEXT NOT NULL COLLATE NOCASE, grp TEXT NOT NULL COLLATE NOCASE,"
    " PRIMARY KEY(template, grp));"
    "CREATE TABLE accounts(name TEXT PRIMARY KEY COLLATE NOCASE, groups TEXT NOT NULL,"
    " pwhash TEXT NOT NULL, created TEXT NOT NULL);"
    "CREATE TABLE requests(id INTEGER PRIMARY KEY, csr_sha256 TEXT NOT NULL, csr BLOB NOT NULL,"
    " template TEXT NOT NULL, requester TEXT NOT NULL, source TEXT, subject TEXT, sans TEXT,"
    " disposition TEXT NOT NULL CHECK(disposition IN ('pending','issued','denied')),"
    " reason TEXT, serial TEXT, submitted TEXT NOT NULL, decided TEXT);"
    "CREATE INDEX requests_repeat ON requests(csr_sha256, requester, template);"
    "CREATE TABLE certs(serial TEXT PRIMARY KEY, request_id INTEGER, subject TEXT NOT NULL,"
    " sans TEXT, not_before TEXT NOT NULL, not_after TEXT NOT NULL, requester TEXT,"
    " template TEXT, der BLOB NOT NULL, revoked TEXT, revoke_reason INTEGER);"
    "CREATE INDEX certs_revoked ON certs(revoked) WHERE revoked IS NOT NULL;";

static int db_error(ca_db *db, const char *doing)
{
    return cscert__sql_error(db ? db->db : NULL, db && db->path ? db->path : "csca.db", doing);
}

static int prepare(sqlite3_stmt **out, ca_db *db, const char *sql)
{
    return cscert__sql_prepare(out, db->db, db->path, sql);
}

/* A cached statement, reset and unbound; give it back with release(). */
static int cached(sqlite3_stmt **out, ca_db *db, int slot, const char *sql)
{
    if (db->cache[slot]) {
        *out = db->cache[slot];
        return CSCERT_OK;
    }
    if (sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &db->cache[slot], NULL)
        != SQLITE_OK)
        return db_error(db, "preparing a statement");
    *out = db->cache[slot];
    return CSCERT_OK;
}

static void release(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* cscert__sql_done for a cached statement: stepped, then reset. */
static int cached_done(ca_db *db, sqlite3_stmt *s, const char *doing)
{
    int rc = sqlite3_step(s);

    rc = rc == SQLITE_DONE ? CSCERT_OK : rc == SQLITE_CONSTRAINT ? CSCERT_EEXISTS : db_error(db, doing);
    release(s);
    return rc;
}

/* The statements every issuance runs, prepared once (a batch of the
 * group committer runs them for each row). */
static int cached_exec(ca_db *db, int slot, const char *sql, const char *doing)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = cached(&s, db, slot, sql)) < 0)
        return rc;
    return cached_done(db, s, doing);
}

static int exec(ca_db *db, const char *sql, const char *doing)
{
    return cscert__sql_exec(db->db, db->path, sql, doing);
}





/* "a, b" -> ["a","b"] as JSON (steals nothing). */
static json_t *json_list(const char *csv)
{
    json_t *arr = json_array();
    const char *p = csv;

    while (arr && p && *p) {
        size_t len = strcspn(p, ","), a = 0, b = len;

        while (a < b && p[a] == ' ')
            a++;
        while (b > a && p[b - 1] == ' ')
            b--;
        if (b > a)
            json_array_append_new(arr, json_stringn(p + a, b - a));
        p += len;
        if (*p == ',')
            p++;
    }
    return arr;
}

/* ---- open ---- */

int ca_db_open(ca_db **out, const char *home, int create)
{
    ca_db *db = NULL;
    char path[PATH_MAX];
    struct stat sb;
    int rc, version;

    *out = NULL;
    snprintf(path, sizeof(path), "%s/csca.db", home);
    if (!create && stat(path, &sb) < 0)
        return cscert_error_setf(CSCERT_ENOTFOUND, home, "create the CA first: csca init --name "
                                 "\"FQDN\\Instance\" (or pass --home / set CSCA_HOME)",
                                 "no CA here (no csca.db)");
    if (!(db = calloc(1, sizeof(*db))) || !(db->path = strdup(path))) {
        free(db);
        return cscert__oom();
    }
    if ((rc = cscert__sql_open(&db->db, path, create)) < 0)
        goto fail;
    version = cscert__sql_user_version(db->db);
    if (version > CA_DB_SCHEMA_VERSION) {
        rc = cscert_error_setf(CSCERT_EINVAL, path, "use the csca that made this CA",
                               "schema version %d is newer than this csca's (%d)", version,
                               CA_DB_SCHEMA_VERSION);
        goto fail;
    }
    if (version < 1) {
        if ((rc = ca_db_begin(db)) < 0)
            goto fail;
        if ((rc = exec(db, schema_v1, "creating the CA database")) < 0
            || (rc = exec(db, "PRAGMA user_version = 1", "setting the schema version")) < 0
            || (rc = ca_db_commit(db)) < 0) {
            ca_db_rollback(db);
            goto fail;
        }
    }
    *out = db;
    return CSCERT_OK;
fail:
    ca_db_close(db);
    return rc;
}

void ca_db_close(ca_db *db)
{
    if (!db)
        return;
    for (int i = 0; i < STMT_N; i++)
        sqlite3_finalize(db->cache[i]);
    sqlite3_close(db->db);
    free(db->path);
    free(db);
}

int ca_db_begin(ca_db *db)
{
    return cached_exec(db, STMT_BEGIN, "BEGIN IMMEDIATE", "starting a transaction");
}

int ca_db_commit(ca_db *db)
{
    return cached_exec(db, STMT_COMMIT, "COMMIT", "committing");
}

void ca_db_rollback(ca_db *db)
{
    if (db)
        cscert__sql_rollback(db->db);
}

/* ---- meta ---- */

int ca_db_meta_get(char **out, ca_db *db, const char *key)
{
    sqlite3_stmt *s = NULL;
    int rc;

    *out = NULL;
    if ((rc = cached(&s, db, STMT_META, "SELECT value FROM meta WHERE key=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, key);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = (*out = cscert__sql_text(s, 0)) ? CSCERT_OK : cscert__oom();
    else if (rc == SQLITE_DONE)
        rc = CSCERT_ENOTFOUND;
    else
        rc = db_error(db, "reading the CA's settings");
    release(s);
    return rc;
}

int ca_db_meta_set(ca_db *db, const char *key, const char *value)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if (!value) {
        if ((rc = prepare(&s, db, "DELETE FROM meta WHERE key=?")) < 0)
            return rc;
        cscert__sql_bind(s, 1, key);
    } else {
        if ((rc = prepare(&s, db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)")) < 0)
            return rc;
        cscert__sql_bind(s, 1, key);
        cscert__sql_bind(s, 2, value);
    }
    return cscert__sql_done(db->db, db->path, s, "writing the CA's settings", NULL);
}

/* ---- templates ---- */

static int load_groups(char ***out, ca_db *db, const char *template_name)
{
    sqlite3_stmt *s = NULL;
    char **v = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    if ((rc = cached(&s, db, STMT_GRANTS, "SELECT grp FROM grants WHERE template=? ORDER BY grp")) < 0)
        return rc;
    cscert__sql_bind(s, 1, template_name);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        char **nv = realloc(v, (n + 2) * sizeof(*v));

        if (!nv || !(nv[n] = cscert__sql_text(s, 0))) {
            v = nv ? nv : v;
            if (nv)
                nv[n] = NULL;
            rc = cscert__oom();
            goto out;
        }
        v = nv;
        v[++n] = NULL;
    }
    rc = rc == SQLITE_DONE ? CSCERT_OK : db_error(db, "reading the grants");
out:
    release(s);
    if (rc < 0)
        cscert_x509_names_free(v);
    else
        *out = v;
    return rc;
}

int ca_db_template_get(cscert_ca_template *out, ca_db *db, const char *name)
{
    sqlite3_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = cached(&s, db, STMT_TEMPLATE, "SELECT name, validity_days, eku, min_rsa_bits, min_ec_bits, hashes,"
                              " allowed_domains, manual FROM templates WHERE name=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, name);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        cscert__sql_copy(out->name, sizeof(out->name), s, 0);
        out->validity_days = sqlite3_column_int(s, 1);
        out->eku = (unsigned)sqlite3_column_int(s, 2);
        out->min_rsa_bits = sqlite3_column_int(s, 3);
        out->min_ec_bits = sqlite3_column_int(s, 4);
        out->hashes = cscert__sql_text(s, 5);
        out->allowed_domains = cscert__sql_text(s, 6);
        out->manual_approval = sqlite3_column_int(s, 7);
        rc = out->hashes ? CSCERT_OK : cscert__oom();
    } else if (rc == SQLITE_DONE) {
        rc = CSCERT_ENOTFOUND;
    } else {
        rc = db_error(db, "reading a template");
    }
    release(s);
    if (rc == CSCERT_OK)
        rc = load_groups(&out->groups, db, out->name);
    if (rc < 0)
        cscert_ca_template_clear(out);
    return rc;
}

int ca_db_template_put(ca_db *db, const cscert_ca_template *t, int insert)
{
    sqlite3_stmt *s = NULL;
    int rc, changes = 0;

    rc = prepare(&s, db, insert ? "INSERT INTO templates(validity_days, eku, min_rsa_bits,"
                                  " min_ec_bits, hashes, allowed_domains, manual, name)"
                                  " VALUES(?, ?, ?, ?, ?, ?, ?, ?)"
                                : "UPDATE templates SET validity_days=?, eku=?, min_rsa_bits=?,"
                                  " min_ec_bits=?, hashes=?, allowed_domains=?, manual=?"
                                  " WHERE name=?");
    if (rc < 0)
        return rc;
    sqlite3_bind_int(s, 1, t->validity_days);
    sqlite3_bind_int(s, 2, (int)t->eku);
    sqlite3_bind_int(s, 3, t->min_rsa_bits);
    sqlite3_bind_int(s, 4, t->min_ec_bits);
    cscert__sql_bind(s, 5, t->hashes);
    cscert__sql_bind(s, 6, t->allowed_domains && *t->allowed_domains ? t->allowed_domains : NULL);
    sqlite3_bind_int(s, 7, t->manual_approval);
    cscert__sql_bind(s, 8, t->name);
    if ((rc = cscert__sql_done(db->db, db->path, s, "writing a template", &changes)) < 0)
        return rc;
    return !insert && changes == 0 ? CSCERT_ENOTFOUND : CSCERT_OK;
}

int ca_db_template_remove(ca_db *db, const char *name)
{
    sqlite3_stmt *s = NULL;
    int rc, changes = 0;

    if ((rc = prepare(&s, db, "DELETE FROM grants WHERE template=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, name);
    if ((rc = cscert__sql_done(db->db, db->path, s, "removing grants", NULL)) < 0)
        return rc;
    if ((rc = prepare(&s, db, "DELETE FROM templates WHERE name=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, name);
    if ((rc = cscert__sql_done(db->db, db->path, s, "removing a template", &changes)) < 0)
        return rc;
    return changes ? CSCERT_OK : CSCERT_ENOTFOUND;
}

int ca_db_template_names(char **out, ca_db *db)
{
    sqlite3_stmt *s = NULL;
    char buf[1024] = "";
    size_t off = 0;
    int rc;

    *out = NULL;
    if ((rc = prepare(&s, db, "SELECT name FROM templates ORDER BY name")) < 0)
        return rc;
    while (sqlite3_step(s) == SQLITE_ROW && off + 2 < sizeof(buf))
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? ", " : "",
                                (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return (*out = strdup(*buf ? buf : "none")) ? CSCERT_OK : cscert__oom();
}

static const char *eku_names[] = {"serverAuth", "clientAuth"};

int ca_db_template_list(json_t **out, ca_db *db)
{
    sqlite3_stmt *s = NULL;
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if (!arr)
        return cscert__oom();
    if ((rc = prepare(&s, db, "SELECT name FROM templates ORDER BY name")) < 0)
        goto out;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cscert_ca_template t;
        json_t *eku = json_array(), *groups = json_array(), *o;

        if ((rc = ca_db_template_get(&t, db, (const char *)sqlite3_column_text(s, 0))) < 0) {
            json_decref(eku);
            json_decref(groups);
            goto out;
        }
        for (unsigned i = 0; i < 2; i++)
            if (t.eku & (1u << i))
                json_array_append_new(eku, json_string(eku_names[i]));
        for (size_t i = 0; t.groups && t.groups[i]; i++)
            json_array_append_new(groups, json_string(t.groups[i]));
        o = json_pack("{s:s, s:i, s:o, s:i, s:i, s:o, s:o, s:s, s:o}", "name", t.name,
                      "validity_days", t.validity_days, "eku", eku, "min_rsa_bits",
                      t.min_rsa_bits, "min_ec_bits", t.min_ec_bits, "hashes", json_list(t.hashes),
                      "allowed_domains", json_list(t.allowed_domains), "approval",
                      t.manual_approval ? "manual" : "auto", "enroll_groups", groups);
        cscert_ca_template_clear(&t);
        if (!o || json_array_append_new(arr, o) < 0) {
            rc = cscert__oom();
            goto out;
        }
    }
    rc = rc == SQLITE_DONE ? CSCERT_OK : db_error(db, "listing templates");
out:
    sqlite3_finalize(s);
    if (rc < 0)
        json_decref(arr);
    else
        *out = arr;
    return rc;
}

int ca_db_grant(ca_db *db, const char *template_name, const char *group, int add)
{
    sqlite3_stmt *s = NULL;
    int rc, changes = 0;

    rc = prepare(&s, db, add ? "INSERT INTO grants(template, grp) VALUES(?, ?)"
                             : "DELETE FROM grants WHERE template=? AND grp=?");
    if (rc < 0)
        return rc;
    cscert__sql_bind(s, 1, template_name);
    cscert__sql_bind(s, 2, group);
    if ((rc = cscert__sql_done(db->db, db->path, s, "writing a grant", &changes)) < 0)
        return rc;
    return !add && changes == 0 ? CSCERT_ENOTFOUND : CSCERT_OK;
}

/* ---- accounts ---- */

int ca_db_account_put(ca_db *db, const char *name, const char *groups, const char *pwhash,
                      int insert)
{
    sqlite3_stmt *s = NULL;
    char now[32];
    int rc;

    (void)insert; /* accounts are only inserted here; update below */
    cscert_now_rfc3339(now);
    if ((rc = prepare(&s, db, "INSERT INTO accounts(name, groups, pwhash, created)"
                              " VALUES(?, ?, ?, ?)")) < 0)
        return rc;
    cscert__sql_bind(s, 1, name);
    cscert__sql_bind(s, 2, groups);
    cscert__sql_bind(s, 3, pwhash);
    cscert__sql_bind(s, 4, now);
    return cscert__sql_done(db->db, db->path, s, "adding an account", NULL);
}

int ca_db_account_get(char **groups, char **pwhash, ca_db *db, const char *name)
{
    sqlite3_stmt *s = NULL;
    int rc;

    *groups = NULL;
    *pwhash = NULL;
    /* Every EST request authenticates: a cached statement. */
    if ((rc = cached(&s, db, STMT_ACCOUNT, "SELECT groups, pwhash FROM accounts WHERE name=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, name);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *groups = cscert__sql_text(s, 0);
        *pwhash = cscert__sql_text(s, 1);
        rc = *groups && *pwhash ? CSCERT_OK : cscert__oom();
    } else {
        rc = rc == SQLITE_DONE ? CSCERT_ENOTFOUND : db_error(db, "reading an account");
    }
    release(s);
    if (rc < 0) {
        free(*groups);
        free(*pwhash);
        *groups = *pwhash = NULL;
    }
    return rc;
}

int ca_db_account_update(ca_db *db, const char *name, const char *groups, const char *pwhash)
{
    sqlite3_stmt *s = NULL;
    int rc, changes = 0;

    if ((rc = prepare(&s, db, "UPDATE accounts SET groups=coalesce(?, groups),"
                              " pwhash=coalesce(?, pwhash) WHERE name=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, groups);
    cscert__sql_bind(s, 2, pwhash);
    cscert__sql_bind(s, 3, name);
    if ((rc = cscert__sql_done(db->db, db->path, s, "updating an account", &changes)) < 0)
        return rc;
    return changes ? CSCERT_OK : CSCERT_ENOTFOUND;
}

int ca_db_account_remove(ca_db *db, const char *name)
{
    sqlite3_stmt *s = NULL;
    int rc, changes = 0;

    if ((rc = prepare(&s, db, "DELETE FROM accounts WHERE name=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, name);
    if ((rc = cscert__sql_done(db->db, db->path, s, "removing an account", &changes)) < 0)
        return rc;
    return changes ? CSCERT_OK : CSCERT_ENOTFOUND;
}

int ca_db_account_list(json_t **out, ca_db *db)
{
    sqlite3_stmt *s = NULL;
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if (!arr)
        return cscert__oom();
    if ((rc = prepare(&s, db, "SELECT name, groups, created FROM accounts ORDER BY name")) < 0) {
        json_decref(arr);
        return rc;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = json_pack("{s:s, s:o, s:s}", "name", sqlite3_column_text(s, 0), "groups",
                              json_list((const char *)sqlite3_column_text(s, 1)), "created",
                              sqlite3_column_text(s, 2));

        json_array_append_new(arr, o ? o : json_null());
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return db_error(db, "listing accounts");
    }
    *out = arr;
    return CSCERT_OK;
}

/* ---- requests ---- */

void ca_db_request_clear(ca_db_request *r)
{
    if (!r)
        return;
    free(r->csr_der);
    free(r->template_name);
    free(r->requester);
    free(r->source);
    free(r->subject);
    free(r->sans);
    free(r->reason);
    memset(r, 0, sizeof(*r));
}

static cscert_ca_disposition disposition_parse(const char *s)
{
    if (s && strcmp(s, "issued") == 0)
        return CSCERT_CA_ISSUED;
    if (s && strcmp(s, "denied") == 0)
        return CSCERT_CA_DENIED;
    return CSCERT_CA_PENDING;
}

#define REQUEST_COLS                                                                              \
    "id, csr_sha256, csr, template, requester, source, subject, sans, disposition, reason,"       \
    " serial, submitted, decided"

static int row_to_request(ca_db_request *r, sqlite3_stmt *s)
{
    const void *blob = sqlite3_column_blob(s, 2);
    int len = sqlite3_column_bytes(s, 2);

    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(s, 0);
    cscert__sql_copy(r->csr_sha256, sizeof(r->csr_sha256), s, 1);
    if (len > 0 && (r->csr_der = malloc((size_t)len)))
        memcpy(r->csr_der, blob, (size_t)len);
    r->csr_len = r->csr_der ? (size_t)len : 0;
    r->template_name = cscert__sql_text(s, 3);
    r->requester = cscert__sql_text(s, 4);
    r->source = cscert__sql_text(s, 5);
    r->subject = cscert__sql_text(s, 6);
    r->sans = cscert__sql_text(s, 7);
    r->disposition = disposition_parse((const char *)sqlite3_column_text(s, 8));
    r->reason = cscert__sql_text(s, 9);
    cscert__sql_copy(r->serial, sizeof(r->serial), s, 10);
    cscert__sql_copy(r->submitted, sizeof(r->submitted), s, 11);
    cscert__sql_copy(r->decided, sizeof(r->decided), s, 12);
    if (!r->csr_der || !r->template_name || !r->requester) {
        ca_db_request_clear(r);
        return cscert__oom();
    }
    return CSCERT_OK;
}

/* One row of s; s is finalized, or only reset when it is a cached one. */
static int request_one(ca_db_request *out, ca_db *db, sqlite3_stmt *s, int is_cached)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        rc = row_to_request(out, s);
    else
        rc = rc == SQLITE_DONE ? CSCERT_ENOTFOUND : db_error(db, "reading the request queue");
    if (is_cached)
        release(s);
    else
        sqlite3_finalize(s);
    return rc;
}

int ca_db_request_find(ca_db_request *out, ca_db *db, const char *csr_sha256,
                       const char *requester, const char *template_name)
{
    sqlite3_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = cached(&s, db, STMT_REPEAT, "SELECT " REQUEST_COLS " FROM requests WHERE csr_sha256=?"
                              " AND requester=? COLLATE NOCASE AND template=? COLLATE NOCASE"
                              " ORDER BY id DESC LIMIT 1")) < 0)
        return rc;
    cscert__sql_bind(s, 1, csr_sha256);
    cscert__sql_bind(s, 2, requester);
    cscert__sql_bind(s, 3, template_name);
    return request_one(out, db, s, 1);
}

int ca_db_request_get(ca_db_request *out, ca_db *db, int64_t id)
{
    sqlite3_stmt *s = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = prepare(&s, db, "SELECT " REQUEST_COLS " FROM requests WHERE id=?")) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    return request_one(out, db, s, 0);
}

int ca_db_request_insert(int64_t *id, ca_db *db, const ca_db_request *r)
{
    sqlite3_stmt *s = NULL;
    int rc;

    *id = 0;
    if ((rc = cached(&s, db, STMT_REQ_INSERT, "INSERT INTO requests(csr_sha256, csr, template, requester, source,"
                              " subject, sans, disposition, reason, serial, submitted, decided)"
                              " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) < 0)
        return rc;
    cscert__sql_bind(s, 1, r->csr_sha256);
    sqlite3_bind_blob(s, 2, r->csr_der, (int)r->csr_len, SQLITE_STATIC);
    cscert__sql_bind(s, 3, r->template_name);
    cscert__sql_bind(s, 4, r->requester);
    cscert__sql_bind(s, 5, r->source);
    cscert__sql_bind(s, 6, r->subject);
    cscert__sql_bind(s, 7, r->sans);
    cscert__sql_bind(s, 8, cscert_ca_disposition_name(r->disposition));
    cscert__sql_bind(s, 9, r->reason);
    cscert__sql_bind(s, 10, *r->serial ? r->serial : NULL);
    cscert__sql_bind(s, 11, r->submitted);
    cscert__sql_bind(s, 12, *r->decided ? r->decided : NULL);
    if ((rc = cached_done(db, s, "recording a request")) < 0)
        return rc == CSCERT_EEXISTS ? db_error(db, "recording a request") : rc;
    *id = sqlite3_last_insert_rowid(db->db);
    return CSCERT_OK;
}

int ca_db_request_decide(ca_db *db, int64_t id, cscert_ca_disposition d, const char *serial,
                         const char *reason)
{
    sqlite3_stmt *s = NULL;
    char now[32];
    int rc, changes = 0;

    cscert_now_rfc3339(now);
    if ((rc = prepare(&s, db, "UPDATE requests SET disposition=?, serial=?, reason=?, decided=?"
                              " WHERE id=? AND disposition='pending'")) < 0)
        return rc;
    cscert__sql_bind(s, 1, cscert_ca_disposition_name(d));
    cscert__sql_bind(s, 2, serial);
    cscert__sql_bind(s, 3, reason);
    cscert__sql_bind(s, 4, now);
    sqlite3_bind_int64(s, 5, id);
    if ((rc = cscert__sql_done(db->db, db->path, s, "deciding a request", &changes)) < 0)
        return rc;
    return changes ? CSCERT_OK : CSCERT_ENOTFOUND;
}

int ca_db_request_list(json_t **out, ca_db *db, int pending_only)
{
    sqlite3_stmt *s = NULL;
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if (!arr)
        return cscert__oom();
    rc = prepare(&s, db, pending_only
                             ? "SELECT " REQUEST_COLS " FROM requests WHERE disposition='pending'"
                               " ORDER BY id"
                             : "SELECT " REQUEST_COLS " FROM requests ORDER BY id");
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        ca_db_request r;
        json_t *o;

        if (row_to_request(&r, s) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
        o = json_pack("{s:I, s:s, s:s, s:s, s:s*, s:s*, s:o, s:s, s:s*, s:s*, s:s*}", "id",
                      (json_int_t)r.id, "disposition", cscert_ca_disposition_name(r.disposition),
                      "template", r.template_name, "requester", r.requester, "source", r.source,
                      "subject", r.subject, "sans", json_list(r.sans), "submitted", r.submitted,
                      "decided", *r.decided ? r.decided : NULL, "serial",
                      *r.serial ? r.serial : NULL, "reason", r.reason);
        ca_db_request_clear(&r);
        json_array_append_new(arr, o ? o : json_null());
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return rc == SQLITE_NOMEM ? cscert__oom() : db_error(db, "listing the request queue");
    }
    *out = arr;
    return CSCERT_OK;
}

/* ---- certificates ---- */

int ca_db_cert_insert(ca_db *db, const char *serial, int64_t request_id, X509 *x,
                      const char *sans, const char *requester, const char *template_name)
{
    sqlite3_stmt *s = NULL;
    unsigned char *der = NULL;
    char nb[32], na[32], subject[512], *own = NULL;
    char **names = NULL;
    size_t n = 0, cap = 1, off = 0;
    int len, rc = CSCERT_OK;

    if ((len = i2d_X509(x, &der)) <= 0)
        return cscert__crypto_error("certificate", "encoding an issued certificate");
    ca__time_rfc3339(nb, X509_get0_notBefore(x));
    ca__time_rfc3339(na, X509_get0_notAfter(x));
    X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
    if (!sans) {
        if ((rc = cscert_x509_names(&names, &n, x)) < 0)
            goto out;
        for (size_t i = 0; i < n; i++)
            cap += strlen(names[i]) + 2;
        if (!(own = malloc(cap))) {
            rc = cscert__oom();
            goto out;
        }
        own[0] = '\0';
        for (size_t i = 0; i < n; i++)
            off += (size_t)snprintf(own + off, cap - off, "%s%s", i ? "," : "", names[i]);
        sans = own;
    }
    if ((rc = cached(&s, db, STMT_CERT_INSERT, "INSERT INTO certs(serial, request_id, subject, sans, not_before,"
                              " not_after, requester, template, der)"
                              " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)")) < 0)
        goto out;
    cscert__sql_bind(s, 1, serial);
    if (request_id > 0) /* else NULL: signed outside the queue */
        sqlite3_bind_int64(s, 2, request_id);
    cscert__sql_bind(s, 3, subject);
    cscert__sql_bind(s, 4, sans);
    cscert__sql_bind(s, 5, nb);
    cscert__sql_bind(s, 6, na);
    cscert__sql_bind(s, 7, requester);
    cscert__sql_bind(s, 8, template_name);
    sqlite3_bind_blob(s, 9, der, len, SQLITE_STATIC);
    rc = cached_done(db, s, "recording an issued certificate");
    if (rc == CSCERT_EEXISTS)
        rc = cscert_error_setf(CSCERT_EIO, serial, "submit the request again",
                               "serial number already issued (a random collision)");
out:
    OPENSSL_free(der);
    free(own);
    cscert_x509_names_free(names);
    return rc;
}

int ca_db_cert_get(X509 **out, ca_db *db, const char *serial)
{
    sqlite3_stmt *s = NULL;
    const unsigned char *p;
    int rc;

    *out = NULL;
    if ((rc = prepare(&s, db, "SELECT der FROM certs WHERE serial=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, serial);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        p = sqlite3_column_blob(s, 0);
        rc = (*out = d2i_X509(NULL, &p, sqlite3_column_bytes(s, 0)))
                 ? CSCERT_OK
                 : cscert__crypto_error(serial, "decoding a stored certificate");
    } else {
        rc = rc == SQLITE_DONE ? CSCERT_ENOTFOUND : db_error(db, "reading a certificate");
    }
    sqlite3_finalize(s);
    return rc;
}

int ca_db_cert_owner(char **requester, int *revoked, ca_db *db, const char *serial, const unsigned char *der,
                     int der_len)
{
    sqlite3_stmt *s = NULL;
    int rc;

    *requester = NULL;
    *revoked = 0;
    if ((rc = prepare(&s, db, "SELECT requester, revoked IS NOT NULL, der FROM certs WHERE serial=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, serial);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 2) == der_len
        && memcmp(sqlite3_column_blob(s, 2), der, (size_t)der_len) == 0) {
        *revoked = sqlite3_column_int(s, 1);
        rc = (*requester = cscert__sql_text(s, 0)) ? CSCERT_OK : CSCERT_ENOTFOUND;
    } else {
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? CSCERT_ENOTFOUND : db_error(db, "reading a certificate");
    }
    sqlite3_finalize(s);
    return rc;
}

int ca_db_cert_revoke(ca_db *db, const char *serial, int reason_code)
{
    sqlite3_stmt *s = NULL;
    char now[32];
    int rc, found, revoked;

    if ((rc = prepare(&s, db, "SELECT revoked IS NOT NULL FROM certs WHERE serial=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, serial);
    found = sqlite3_step(s) == SQLITE_ROW;
    revoked = found && sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (!found)
        return CSCERT_ENOTFOUND;
    if (revoked)
        return CSCERT_EEXISTS;
    cscert_now_rfc3339(now);
    if ((rc = prepare(&s, db, "UPDATE certs SET revoked=?, revoke_reason=? WHERE serial=?")) < 0)
        return rc;
    cscert__sql_bind(s, 1, now);
    sqlite3_bind_int(s, 2, reason_code);
    cscert__sql_bind(s, 3, serial);
    return cscert__sql_done(db->db, db->path, s, "revoking", NULL);
}

int ca_db_revoked_each(ca_db *db, int (*fn)(void *ud, const char *serial, const char *when,
                                            int reason), void *ud)
{
    sqlite3_stmt *s = NULL;
    int rc;

    if ((rc = prepare(&s, db, "SELECT serial, revoked, revoke_reason FROM certs"
                              " WHERE revoked IS NOT NULL ORDER BY serial")) < 0)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int r = fn(ud, (const char *)sqlite3_column_text(s, 0),
                   (const char *)sqlite3_column_text(s, 1), sqlite3_column_int(s, 2));

        if (r < 0) {
            sqlite3_finalize(s);
            return r;
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? CSCERT_OK : db_error(db, "reading revocations");
}

int ca_db_issued_list(json_t **out, ca_db *db)
{
    sqlite3_stmt *s = NULL;
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if (!arr)
        return cscert__oom();
    if ((rc = prepare(&s, db, "SELECT serial, subject, sans, not_before, not_after, requester,"
                              " template, revoked, revoke_reason, request_id FROM certs"
                              " ORDER BY not_before, serial")) < 0) {
        json_decref(arr);
        return rc;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = json_pack(
            "{s:s, s:s, s:o, s:s, s:s, s:s*, s:s*, s:b, s:s*, s:I}", "serial",
            sqlite3_column_text(s, 0), "subject", sqlite3_column_text(s, 1), "sans",
            json_list((const char *)sqlite3_column_text(s, 2)), "not_before",
            sqlite3_column_text(s, 3), "not_after", sqlite3_column_text(s, 4), "requester",
            sqlite3_column_text(s, 5), "template", sqlite3_column_text(s, 6), "revoked",
            sqlite3_column_type(s, 7) != SQLITE_NULL, "revoked_at", sqlite3_column_text(s, 7),
            "request_id", (json_int_t)sqlite3_column_int64(s, 9));

        json_array_append_new(arr, o ? o : json_null());
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return db_error(db, "listing issued certificates");
    }
    *out = arr;
    return CSCERT_OK;
}
