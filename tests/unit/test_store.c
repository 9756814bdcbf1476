/* test_store.c: the SQLite store: modes, schema, keys, certificates,
 * pending requests, assignments, bindings, settings, audit, and several
 * processes writing at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "cscert/store.h"

struct fx {
    char home[64];
    cscert_store *st;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char tmpl[] = "/tmp/cscert-store-XXXXXX";

    assert_non_null(mkdtemp(tmpl));
    snprintf(f->home, sizeof(f->home), "%s/home", tmpl);
    assert_int_equal(cscert_store_open(&f->st, f->home), CSCERT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[160];

    cscert_store_free(f->st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strrchr(f->home, '/') - f->home), f->home);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static EVP_PKEY *ec_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");

    assert_non_null(k);
    return k;
}

static X509 *self_signed(EVP_PKEY *k, const char *cn, int ca)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    (void)ca;
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    X509_NAME_free(n);
    return x;
}

static void test_modes(void **state)
{
    struct fx *f = *state;
    struct stat sb;
    char path[128];

    assert_int_equal(stat(f->home, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/cscert.db", f->home);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(cscert_store_audit(f->st, "test", "obj", "ok", NULL), CSCERT_OK);
    snprintf(path, sizeof(path), "%s/audit.jsonl", f->home);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_open_errors(void **state)
{
    cscert_store *st = NULL;
    struct fx *f = *state;
    char path[128];
    sqlite3 *db;

    (void)state;
    assert_int_equal(cscert_store_open(&st, ""), CSCERT_EINVAL);
    assert_int_equal(cscert_store_open(&st, "/proc/nonexistent/x"), CSCERT_EIO);
    assert_non_null(strstr(cscert_error_last(), "/proc/nonexistent/x"));
    assert_null(st);
    /* A schema newer than this build is refused, not downgraded. */
    snprintf(path, sizeof(path), "%s/cscert.db", f->home);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(cscert_store_open(&st, f->home), CSCERT_EINVAL);
    assert_non_null(strstr(cscert_error_last(), "schema version 99"));
}

static void test_settings(void **state)
{
    struct fx *f = *state;
    char *v = NULL;

    assert_int_equal(cscert_store_get_setting(&v, f->st, "topology"), CSCERT_ENOTFOUND);
    assert_int_equal(cscert_store_set_setting(f->st, "topology", "{}"), CSCERT_OK);
    assert_int_equal(cscert_store_set_setting(f->st, "topology", "{\"a\":1}"), CSCERT_OK);
    assert_int_equal(cscert_store_get_setting(&v, f->st, "topology"), CSCERT_OK);
    assert_string_equal(v, "{\"a\":1}");
    free(v);
}

static void test_keys(void **state)
{
    struct fx *f = *state;
    EVP_PKEY *k = ec_key(), *k2 = ec_key(), *back = NULL;
    int64_t id = 0, found = 0;

    assert_int_equal(cscert_store_put_key(&id, f->st, k, 0), CSCERT_OK);
    assert_true(id > 0);
    assert_int_equal(cscert_store_get_key(&back, f->st, id), CSCERT_OK);
    assert_int_equal(EVP_PKEY_eq(k, back), 1);
    EVP_PKEY_free(back);
    back = NULL;
    assert_int_equal(cscert_store_find_key(&found, f->st, k), CSCERT_OK);
    assert_int_equal(found, id);
    assert_int_equal(cscert_store_find_key(&found, f->st, k2), CSCERT_ENOTFOUND);
    assert_int_equal(cscert_store_get_key(&back, f->st, id + 100), CSCERT_ENOTFOUND);
    assert_null(back);
    assert_int_equal(cscert_store_delete_key(f->st, id), CSCERT_OK);
    assert_int_equal(cscert_store_find_key(&found, f->st, k), CSCERT_ENOTFOUND);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
}

static void test_certs(void **state)
{
    struct fx *f = *state;
    EVP_PKEY *k = ec_key();
    X509 *x = self_signed(k, "root.contoso.net", 1), *y = self_signed(k, "a.contoso.net", 0);
    cscert_cert_rec *r = NULL, **v = NULL;
    STACK_OF(X509) *roots = NULL, *mids = NULL;
    char thumb[41], thumb2[41];
    int64_t id = 0;
    size_t n = 0;

    assert_int_equal(cscert_store_put_cert(thumb, f->st, CSCERT_STORE_ROOT, x, "Root", 0), CSCERT_OK);
    assert_int_equal(strlen(thumb), 40);
    assert_int_equal(cscert_store_put_cert(NULL, f->st, CSCERT_STORE_MY, x, NULL, 0), CSCERT_EEXISTS);
    assert_non_null(strstr(cscert_error_last(), thumb));
    assert_int_equal(cscert_store_put_key(&id, f->st, k, 1), CSCERT_OK);
    assert_int_equal(cscert_store_put_cert(thumb2, f->st, CSCERT_STORE_MY, y, "web", id), CSCERT_OK);
    assert_int_equal(cscert_store_get_cert(&r, f->st, thumb2), CSCERT_OK);
    assert_int_equal(r->store, CSCERT_STORE_MY);
    assert_int_equal(r->key_id, id);
    assert_int_equal(r->exportable, 1);
    assert_string_equal(r->friendly_name, "web");
    assert_int_equal(X509_cmp(r->x509, y), 0);
    cscert_cert_rec_free(r);
    assert_int_equal(cscert_store_list_certs(&v, &n, f->st, CSCERT_STORE_ALL), CSCERT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(v[0]->store, CSCERT_STORE_MY); /* My first */
    cscert_cert_recs_free(v, n);
    assert_int_equal(cscert_store_list_certs(&v, &n, f->st, CSCERT_STORE_ROOT), CSCERT_OK);
    assert_int_equal(n, 1);
    cscert_cert_recs_free(v, n);
    assert_int_equal(cscert_store_trust(&roots, &mids, f->st), CSCERT_OK);
    assert_int_equal(sk_X509_num(roots), 1);
    assert_int_equal(sk_X509_num(mids), 0);
    sk_X509_pop_free(roots, X509_free);
    sk_X509_pop_free(mids, X509_free);
    assert_int_equal(cscert_store_delete_cert(f->st, thumb), CSCERT_OK);
    assert_int_equal(cscert_store_delete_cert(f->st, thumb), CSCERT_ENOTFOUND);
    assert_int_equal(cscert_store_get_cert(&r, f->st, thumb), CSCERT_ENOTFOUND);
    X509_free(x);
    X509_free(y);
    EVP_PKEY_free(k);
}

/* notAfter as RFC 3339, by OpenSSL's own conversion (not the store's). */
static void rfc3339(char out[32], X509 *x)
{
    struct tm tm;

    assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* `store list` reads rows: the listing columns are filled on put, and on
 * opening a home made before they existed (schema v1). */
static void test_summaries_and_v1_home(void **state)
{
    struct fx *f = *state;
    EVP_PKEY *k = ec_key();
    X509 *x = self_signed(k, "root.contoso.net", 1), *y = self_signed(k, "a.contoso.net", 0);
    cscert_cert_summary *v = NULL;
    cscert_store *old = NULL;
    unsigned char *der = NULL;
    char thumb[41], want[32], home[96], path[128];
    int64_t id = 0;
    size_t n = 0;
    sqlite3 *db;
    sqlite3_stmt *s;
    int len;

    rfc3339(want, y);
    assert_int_equal(cscert_store_put_cert(NULL, f->st, CSCERT_STORE_ROOT, x, NULL, 0), CSCERT_OK);
    assert_int_equal(cscert_store_put_key(&id, f->st, k, 0), CSCERT_OK);
    assert_int_equal(cscert_store_put_cert(thumb, f->st, CSCERT_STORE_MY, y, "web", id), CSCERT_OK);
    assert_int_equal(cscert_store_list_summaries(&v, &n, f->st, CSCERT_STORE_ALL), CSCERT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].thumbprint, thumb); /* My first, as list_certs */
    assert_int_equal(v[0].store, CSCERT_STORE_MY);
    assert_string_equal(v[0].subject, "CN=a.contoso.net");
    assert_string_equal(v[0].not_after, want);
    assert_string_equal(v[0].friendly_name, "web");
    assert_int_equal(v[0].key_id, id);
    assert_int_equal(v[0].exportable, 0);
    assert_string_equal(v[1].subject, "CN=root.contoso.net");
    assert_null(v[1].friendly_name);
    assert_int_equal(v[1].key_id, 0);
    cscert_cert_summaries_free(v, n);
    assert_int_equal(cscert_store_list_summaries(&v, &n, f->st, CSCERT_STORE_CA), CSCERT_OK);
    assert_int_equal(n, 0);
    cscert_cert_summaries_free(v, n);

    /* A home as the schema-1 cscert left it: no listing columns. */
    snprintf(home, sizeof(home), "%s1", f->home);
    assert_int_equal(mkdir(home, 0700), 0);
    snprintf(path, sizeof(path), "%s/cscert.db", home);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
        "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE keys(id INTEGER PRIMARY KEY, pkcs8 BLOB NOT NULL,"
        " spki_sha256 TEXT NOT NULL, exportable INTEGER NOT NULL, created TEXT NOT NULL);"
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
        " port INTEGER NOT NULL, use TEXT NOT NULL, UNIQUE(address, port));"
        "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
    len = i2d_X509(y, &der);
    assert_true(len > 0);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO certs VALUES(?, 'My', ?, '/CN=a.contoso.net', NULL,"
                                            " NULL, '2026-01-01T00:00:00Z')", -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, thumb, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, der, len, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
    OPENSSL_free(der);
    assert_int_equal(cscert_store_open(&old, home), CSCERT_OK);
    assert_int_equal(cscert_store_list_summaries(&v, &n, old, CSCERT_STORE_ALL), CSCERT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].subject, "CN=a.contoso.net");
    assert_string_equal(v[0].not_after, want);
    cscert_cert_summaries_free(v, n);
    cscert_store_free(old);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 2);
    sqlite3_finalize(s);
    sqlite3_close(db);
    snprintf(path, sizeof(path), "rm -rf '%s'", home);
    assert_int_equal(system(path), 0);
    X509_free(x);
    X509_free(y);
    EVP_PKEY_free(k);
}

static void test_pending(void **state)
{
    struct fx *f = *state;
    EVP_PKEY *k = ec_key();
    cscert_pending p = { 0 }, *back = NULL, **v = NULL;
    int64_t kid = 0, pid = 0, found = 0;
    size_t n = 0;

    assert_int_equal(cscert_store_put_key(&kid, f->st, k, 0), CSCERT_OK);
    p.key_id = kid;
    p.uses = "Default,WebServicesInternal";
    p.names = "pool01.contoso.net,fe01.contoso.net";
    p.template_name = "WebServer";
    p.output_path = "/tmp/x.csr";
    p.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----";
    assert_int_equal(cscert_store_put_pending(&pid, f->st, &p), CSCERT_OK);
    assert_int_equal(cscert_store_get_pending(&back, f->st, pid), CSCERT_OK);
    assert_string_equal(back->uses, p.uses);
    assert_string_equal(back->state, "offline");
    assert_null(back->ca);
    cscert_pending_free(back);
    assert_int_equal(cscert_store_find_pending_by_key(&back, f->st, kid), CSCERT_OK);
    assert_int_equal(back->id, pid);
    cscert_pending_free(back);
    assert_int_equal(cscert_store_set_pending_state(f->st, pid, "pending", "ca request 4"), CSCERT_OK);
    assert_int_equal(cscert_store_list_pending(&v, &n, f->st), CSCERT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0]->state, "pending");
    assert_string_equal(v[0]->note, "ca request 4");
    cscert_pendings_free(v, n);
    /* cancel drops the key too */
    assert_int_equal(cscert_store_delete_pending(f->st, pid, 1), CSCERT_OK);
    assert_int_equal(cscert_store_find_key(&found, f->st, k), CSCERT_ENOTFOUND);
    assert_int_equal(cscert_store_get_pending(&back, f->st, pid), CSCERT_ENOTFOUND);
    assert_non_null(strstr(cscert_error_last(), "cscert request list"));
    EVP_PKEY_free(k);
}

static void test_assignments_bindings(void **state)
{
    struct fx *f = *state;
    cscert_assignment a = { 0 }, b, *v = NULL;
    cscert_binding bi = { "Internal", "0.0.0.0", 443, "WebServicesInternal" }, *bv = NULL;
    cscert_binding clash = { "Other", "0.0.0.0", 443, "Default" };
    size_t n = 0;

    strcpy(a.use, "Default");
    strcpy(a.thumbprint, "A9D51A2911C74FABFF7F2A8A994B20857D399107");
    assert_int_equal(cscert_store_set_assignment(f->st, &a), CSCERT_OK);
    assert_int_equal(cscert_store_get_assignment(&b, f->st, "Default"), CSCERT_OK);
    assert_string_equal(b.thumbprint, a.thumbprint);
    assert_string_equal(b.previous_thumbprint, "");
    assert_int_equal(strlen(b.assigned_at), 20);
    assert_int_equal(cscert_store_get_assignment(&b, f->st, "WebServicesExternal"), CSCERT_ENOTFOUND);
    assert_int_equal(cscert_store_list_assignments(&v, &n, f->st), CSCERT_OK);
    assert_int_equal(n, 1);
    free(v);
    assert_int_equal(cscert_store_delete_assignment(f->st, "Default"), CSCERT_OK);
    assert_int_equal(cscert_store_delete_assignment(f->st, "Default"), CSCERT_ENOTFOUND);

    assert_int_equal(cscert_store_set_binding(f->st, &bi), CSCERT_OK);
    assert_int_equal(cscert_store_set_binding(f->st, &clash), CSCERT_EEXISTS);
    assert_non_null(strstr(cscert_error_last(), "0.0.0.0:443"));
    assert_int_equal(cscert_store_list_bindings(&bv, &n, f->st), CSCERT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(bv[0].site, "Internal");
    free(bv);
}

static void test_transaction_rollback(void **state)
{
    struct fx *f = *state;
    char *v = NULL;

    assert_int_equal(cscert_store_begin(f->st), CSCERT_OK);
    assert_int_equal(cscert_store_set_setting(f->st, "computer_fqdn", "fe01.contoso.net"), CSCERT_OK);
    cscert_store_rollback(f->st);
    assert_int_equal(cscert_store_get_setting(&v, f->st, "computer_fqdn"), CSCERT_ENOTFOUND);
}

static void test_audit(void **state)
{
    struct fx *f = *state;
    json_t *a = NULL;

    assert_int_equal(cscert_store_audit(f->st, "set", "Default", "refused", "no key"), CSCERT_OK);
    assert_int_equal(cscert_store_audit(f->st, "set", "Default", "forced", NULL), CSCERT_OK);
    assert_int_equal(cscert_store_audit_read(&a, f->st), CSCERT_OK);
    assert_int_equal(json_array_size(a), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "outcome")), "refused");
    assert_null(json_object_get(json_array_get(a, 1), "detail"));
    json_decref(a);
}

/* Four processes, 25 transactions each, on one home: nothing lost. */
static void test_concurrent_processes(void **state)
{
    struct fx *f = *state;
    int i, j, status;
    pid_t pids[4];
    sqlite3 *db;
    sqlite3_stmt *s;
    char path[128];

    for (i = 0; i < 4; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            cscert_store *st = NULL;
            char key[32];

            if (cscert_store_open(&st, f->home) < 0)
                _exit(1);
            for (j = 0; j < 25; j++) {
                snprintf(key, sizeof(key), "p%d-%d", i, j);
                if (cscert_store_begin(st) < 0 || cscert_store_set_setting(st, key, "x") < 0
                    || cscert_store_commit(st) < 0)
                    _exit(2);
            }
            cscert_store_free(st);
            _exit(0);
        }
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    snprintf(path, sizeof(path), "%s/cscert.db", f->home);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM settings WHERE key LIKE 'p%'", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 100);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* A staged roll keeps the previous certificate in force until the
 * effective date (spec 2.3), compared as RFC 3339 UTC strings. */
static void test_assignment_in_force(void **state)
{
    static const struct {
        const char *eff, *prev, *in_force;
        int staged;
    } rows[] = {
        {"", "", "NEW", 0},
        {"", "OLD", "NEW", 0},                     /* no date: no roll */
        {"2026-12-04T10:00:00Z", "OLD", "NEW", 0}, /* the date has passed */
        {"2026-12-04T10:00:01Z", "OLD", "OLD", 1}, /* one second ahead */
        {"2030-01-01T00:00:00Z", "OLD", "OLD", 1},
        {"2030-01-01T00:00:00Z", "", "NEW", 1},    /* nothing before it */
    };
    const time_t now = 1796378400; /* 2026-12-04T10:00:00Z */

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cscert_assignment a;

        memset(&a, 0, sizeof(a));
        snprintf(a.thumbprint, sizeof(a.thumbprint), "NEW");
        snprintf(a.previous_thumbprint, sizeof(a.previous_thumbprint), "%s", rows[i].prev);
        snprintf(a.effective_date, sizeof(a.effective_date), "%s", rows[i].eff);
        assert_int_equal(cscert_store_assignment_staged(&a, now), rows[i].staged);
        assert_string_equal(cscert_store_assignment_in_force(&a, now), rows[i].in_force);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_certs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summaries_and_v1_home, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assignments_bindings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_processes, setup, teardown),
        cmocka_unit_test(test_assignment_in_force),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
