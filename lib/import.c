/* import.c: see include/cscert/import.h. */
#include "cscert/import.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>

#include "cscert/certinfo.h"
#include "cscert/x509.h"

/* OpenSSL's default PBKDF2 iteration count for PKCS#12 (2048); Windows
 * and GnuTLS read it, and it matches `openssl pkcs12 -export`. */
#define IMPORT_P12_ITER PKCS12_DEFAULT_ITER
/* What a failed parse says it tried, so the admin can tell "wrong file"
 * from "damaged file". */
#define FORMATS_TRIED "tried PEM (CERTIFICATE, PKCS7), DER certificate, DER PKCS#7 (.p7b) and PKCS#12 (.pfx)"

const char *cscert_import_format_name(cscert_import_format f)
{
    switch (f) {
    case CSCERT_FMT_UNKNOWN: return "unknown";
    case CSCERT_FMT_PEM: return "PEM";
    case CSCERT_FMT_DER: return "DER certificate";
    case CSCERT_FMT_PKCS7_DER: return "PKCS#7 (DER)";
    case CSCERT_FMT_PKCS12: return "PKCS#12";
    }
    return "unknown";
}

void cscert_bundle_free(cscert_bundle *b)
{
    if (!b)
        return;
    sk_X509_pop_free(b->certs, X509_free);
    EVP_PKEY_free(b->key);
    free(b->friendly_name);
    free(b);
}

static int push_cert(cscert_bundle *b, X509 *x, const char *what)
{
    if (sk_X509_num(b->certs) >= CSCERT_IMPORT_MAX_CERTS) {
        X509_free(x);
        return cscert_error_setf(CSCERT_EINVAL, what, "split the file",
                                 "more than %d certificates in one file", CSCERT_IMPORT_MAX_CERTS);
    }
    if (!sk_X509_push(b->certs, x)) {
        X509_free(x);
        return cscert__oom();
    }
    return CSCERT_OK;
}

static int take_pkcs7(cscert_bundle *b, PKCS7 *p7, const char *what)
{
    STACK_OF(X509) *certs = NULL;
    int i, rc;

    switch (OBJ_obj2nid(p7->type)) {
    case NID_pkcs7_signed:
        certs = p7->d.sign ? p7->d.sign->cert : NULL;
        break;
    case NID_pkcs7_signedAndEnveloped:
        certs = p7->d.signed_and_enveloped ? p7->d.signed_and_enveloped->cert : NULL;
        break;
    default:
        break;
    }
    if (sk_X509_num(certs) <= 0)
        return cscert_error_set(CSCERT_EINVAL, what, "the PKCS#7 holds no certificate",
                                "ask the CA for the certificate or its chain (.p7b)");
    for (i = 0; i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);

        if (!X509_up_ref(x))
            return cscert__oom();
        if ((rc = push_cert(b, x, what)) < 0)
            return rc;
    }
    return CSCERT_OK;
}

static int parse_pem(cscert_bundle *b, const unsigned char *buf, size_t len, const char *what)
{
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    int rc = CSCERT_OK;

    if (!bio)
        return cscert__oom();
    while (rc == CSCERT_OK && PEM_read_bio(bio, &name, &header, &data, &dlen) == 1) {
        const unsigned char *p = data;

        if (!strcmp(name, PEM_STRING_X509) || !strcmp(name, PEM_STRING_X509_OLD)) {
            X509 *x = d2i_X509(NULL, &p, dlen);

            rc = x ? push_cert(b, x, what)
                   : cscert_error_setf(CSCERT_EINVAL, what, "get a fresh copy from the CA",
                                       "a PEM '%s' block does not decode", name);
        } else if (!strcmp(name, PEM_STRING_X509_TRUSTED)) {
            X509 *x = d2i_X509_AUX(NULL, &p, dlen);

            rc = x ? push_cert(b, x, what)
                   : cscert_error_set(CSCERT_EINVAL, what, "a PEM 'TRUSTED CERTIFICATE' block does not decode", NULL);
        } else if (!strcmp(name, PEM_STRING_PKCS7) || !strcmp(name, PEM_STRING_PKCS7_SIGNED)) {
            PKCS7 *p7 = d2i_PKCS7(NULL, &p, dlen);

            rc = p7 ? take_pkcs7(b, p7, what)
                    : cscert_error_set(CSCERT_EINVAL, what, "a PEM 'PKCS7' block does not decode",
                                       "get a fresh copy from the CA");
            PKCS7_free(p7);
        } else if (!strcmp(name, PEM_STRING_X509_REQ) || !strcmp(name, PEM_STRING_X509_REQ_OLD)) {
            rc = cscert_error_set(CSCERT_EINVAL, what,
                                  "this is a certificate request (PKCS#10), not the CA's response",
                                  "send it to the CA and import the certificate it returns");
        } else if (strstr(name, "PRIVATE KEY")) {
            rc = cscert_error_set(CSCERT_EINVAL, what,
                                  "the file holds a bare private key",
                                  "import the key with its certificate as a PKCS#12 (.pfx) with --password-file");
        } /* other blocks (parameters, CRLs) are not certificates: skipped */
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_clear_free(data, (size_t)dlen);
        name = header = NULL;
        data = NULL;
    }
    BIO_free(bio);
    ERR_clear_error(); /* the loop ends on "no start line" */
    if (rc == CSCERT_OK && sk_X509_num(b->certs) == 0)
        rc = cscert_error_set(CSCERT_EINVAL, what, "PEM file without a CERTIFICATE or PKCS7 block; " FORMATS_TRIED,
                              "check that this is the CA's response or a .cer/.p7b/.pfx file");
    b->format = CSCERT_FMT_PEM;
    return rc;
}

static int parse_pkcs12(cscert_bundle *b, PKCS12 *p12, const char *password, const char *what)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    STACK_OF(X509) *ca = NULL;
    const char *pass = password;
    unsigned char *alias;
    int alen = 0, i, rc = CSCERT_OK;

    b->format = CSCERT_FMT_PKCS12;
    if (PKCS12_mac_present(p12)) {
        /* Without a password file, an empty password is the only guess:
         * no retry loop, one MAC check per attempt. */
        if (!pass)
            pass = PKCS12_verify_mac(p12, "", 0) ? "" : PKCS12_verify_mac(p12, NULL, 0) ? NULL : "\x01";
        if (pass && !strcmp(pass, "\x01")) {
            ERR_clear_error();
            return cscert_error_set(CSCERT_EAUTH, what, "the PKCS#12 file is protected by a password",
                                    "give it with --password-file FILE");
        }
        if (pass && !PKCS12_verify_mac(p12, pass, -1)) {
            ERR_clear_error();
            return cscert_error_set(CSCERT_EAUTH, what, "wrong password: the PKCS#12 integrity check (MAC) fails",
                                    "check the first line of --password-file; nothing was imported");
        }
    }
    if (!PKCS12_parse(p12, pass, &key, &cert, &ca)) {
        unsigned long e = ERR_peek_last_error();

        if (ERR_GET_REASON(e) == ERR_R_UNSUPPORTED || ERR_GET_LIB(e) == ERR_LIB_EVP)
            return cscert__crypto_error(what, "the PKCS#12 uses a cipher OpenSSL 3 does not enable"
                                        " (legacy RC2/RC4?); re-export it with AES-256");
        return cscert__crypto_error(what, "reading the PKCS#12");
    }
    if (cert) {
        if ((alias = X509_alias_get0(cert, &alen)) && alen > 0)
            b->friendly_name = strndup((const char *)alias, (size_t)alen);
        rc = push_cert(b, cert, what);
        cert = NULL;
    }
    for (i = 0; rc == CSCERT_OK && i < sk_X509_num(ca); i++) {
        X509 *x = sk_X509_value(ca, i);

        if (!X509_up_ref(x))
            rc = cscert__oom();
        else
            rc = push_cert(b, x, what);
    }
    if (rc == CSCERT_OK && sk_X509_num(b->certs) == 0)
        rc = cscert_error_set(CSCERT_EINVAL, what, "the PKCS#12 holds no certificate",
                              "export it again with its certificate");
    if (rc == CSCERT_OK && key && !X509_check_private_key(sk_X509_value(b->certs, 0), key)) {
        ERR_clear_error();
        rc = cscert_error_set(CSCERT_EINVAL, what, "the PKCS#12's key does not belong to its certificate",
                              "export the certificate with its own key");
    }
    if (rc == CSCERT_OK) {
        b->key = key;
        key = NULL;
    }
    EVP_PKEY_free(key);
    X509_free(cert);
    sk_X509_pop_free(ca, X509_free);
    return rc;
}

static int parse_der(cscert_bundle *b, const unsigned char *buf, size_t len, const char *password,
                     const char *what)
{
    const unsigned char *p;
    X509 *x;
    PKCS7 *p7;
    PKCS12 *p12;
    long plen = 0;
    int tag = 0, xclass = 0, ret, rc;

    p = buf;
    if ((x = d2i_X509(NULL, &p, (long)len)) && p == buf + len) {
        b->format = CSCERT_FMT_DER;
        return push_cert(b, x, what);
    }
    X509_free(x);
    p = buf;
    if ((p7 = d2i_PKCS7(NULL, &p, (long)len)) && p == buf + len) {
        b->format = CSCERT_FMT_PKCS7_DER;
        rc = take_pkcs7(b, p7, what);
        PKCS7_free(p7);
        return rc;
    }
    PKCS7_free(p7);
    p = buf;
    if ((p12 = d2i_PKCS12(NULL, &p, (long)len)) && p == buf + len) {
        rc = parse_pkcs12(b, p12, password, what);
        PKCS12_free(p12);
        return rc;
    }
    PKCS12_free(p12);
    ERR_clear_error();
    /* A DER SEQUENCE whose declared length runs past the end of the file
     * is a truncated download, not a wrong format: say so. */
    p = buf;
    ret = ASN1_get_object(&p, &plen, &tag, &xclass, (long)len);
    ERR_clear_error();
    if (len > 0 && buf[0] == 0x30 && (ret & 0x80) && plen > 0
        && (size_t)plen + (size_t)(p - buf) > len)
        return cscert_error_setf(CSCERT_EINVAL, what, "copy the file again from its source",
                                 "truncated DER: it declares %ld bytes, the file has %zu",
                                 plen + (long)(p - buf), len);
    return cscert_error_set(CSCERT_EINVAL, what, "not a certificate file; " FORMATS_TRIED,
                            "check that this is the CA's response or a .cer/.p7b/.pfx file");
}

int cscert_bundle_parse(cscert_bundle **out, const unsigned char *buf, size_t len,
                        const char *password, const char *what)
{
    cscert_bundle *b;
    int rc;

    *out = NULL;
    if (len == 0)
        return cscert_error_set(CSCERT_EINVAL, what, "the file is empty", "check the path");
    if (len > (size_t)CSCERT_IMPORT_MAX_FILE)
        return cscert_error_setf(CSCERT_EINVAL, what, "check the path", "%zu bytes is too large"
                                 " for a certificate file (limit %ld)", len, CSCERT_IMPORT_MAX_FILE);
    if (!(b = calloc(1, sizeof(*b))) || !(b->certs = sk_X509_new_null())) {
        free(b);
        return cscert__oom();
    }
    if (memmem(buf, len, "-----BEGIN ", 11))
        rc = parse_pem(b, buf, len, what);
    else
        rc = parse_der(b, buf, len, password, what);
    if (rc < 0) {
        cscert_bundle_free(b);
        return rc;
    }
    *out = b;
    return CSCERT_OK;
}

/* ---- import ---- */

struct plan {
    X509 *x;
    char thumb[41];
    int is_ca, self_signed;
    int exists;                 /* already in the store */
    cscert_store_kind dest;     /* CSCERT_STORE_ALL: skipped */
};

static int list_pending_text(char *buf, size_t n, cscert_store *st)
{
    cscert_pending **v = NULL;
    size_t cnt = 0, i, off = 0;
    int rc;

    buf[0] = '\0';
    if ((rc = cscert_store_list_pending(&v, &cnt, st)) < 0)
        return rc;
    if (cnt == 0)
        snprintf(buf, n, "there is no pending request on this server");
    for (i = 0; i < cnt && off < n; i++) {
        const char *names = v[i]->names ? v[i]->names : "";
        int w = snprintf(buf + off, n - off, "%s%lld (%.*s, %s)", i ? ", " : "pending requests: ",
                         (long long)v[i]->id, (int)strcspn(names, ","), names, v[i]->created);

        if (w < 0)
            break;
        off += (size_t)w;
    }
    cscert_pendings_free(v, cnt);
    return CSCERT_OK;
}

/* The response's names against the request's (CN first, comma-separated):
 * each one the CA dropped or added is named. */
static int compare_names(X509 *x, const char *requested, const char *thumb)
{
    char **have = NULL, *cn = NULL, *copy, *tok, *save = NULL;
    size_t n = 0, i;
    int differ = 0;

    if (!requested || !*requested || cscert_certinfo_dns_names(&have, &n, &cn, x) < 0) {
        cscert_error_clear();
        return 0;
    }
    if (!(copy = strdup(requested)))
        goto out;
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (*tok && !cscert_certinfo_covers(have, tok) && !(cn && !strcasecmp(cn, tok))) {
            cscert__warn("%s: the CA dropped the requested name '%s'", thumb, tok);
            differ = 1;
        }
    }
    free(copy);
    for (i = 0; i < n; i++) {
        size_t l = strlen(have[i]);
        const char *p = requested;
        int found = 0;

        while (p && *p && !found) {
            while (*p == ' ' || *p == ',')
                p++;
            if (strncasecmp(p, have[i], l) == 0 && (p[l] == ',' || p[l] == '\0' || p[l] == ' '))
                found = 1;
            p = strchr(p, ',');
        }
        if (!found) {
            cscert__warn("%s: the CA added the name '%s', which was not requested", thumb, have[i]);
            differ = 1;
        }
    }
out:
    cscert_certinfo_names_free(have);
    free(cn);
    return differ;
}

static int read_file(unsigned char **out, size_t *len, const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t n;

    *out = NULL;
    *len = 0;
    if (!f)
        return cscert_error_setf(CSCERT_EIO, path, "check the path", "cannot open: %s", strerror(errno));
    buf = malloc((size_t)CSCERT_IMPORT_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        return cscert__oom();
    }
    n = fread(buf, 1, (size_t)CSCERT_IMPORT_MAX_FILE + 1, f);
    if (ferror(f)) {
        fclose(f);
        free(buf);
        return cscert_error_setf(CSCERT_EIO, path, NULL, "cannot read: %s", strerror(errno));
    }
    fclose(f);
    *out = buf;
    *len = n;
    return CSCERT_OK;
}

int cscert_import_file(cscert_import_result *out, cscert_store *st, const char *path,
                       const cscert_import_opts *o)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = read_file(&buf, &len, path)) < 0)
        return rc;
    rc = cscert_import_buffer(out, st, buf, len, path, o);
    OPENSSL_clear_free(buf, (size_t)CSCERT_IMPORT_MAX_FILE + 1);
    return rc;
}

static void warn_validity(cscert_import_result *r, X509 *x, const char *thumb)
{
    char nb[32], na[32];
    time_t now = time(NULL);

    if (X509_cmp_time(X509_get0_notAfter(x), &now) < 0) {
        cscert_certinfo_time(na, X509_get0_notAfter(x));
        cscert__warn("%s: expired on %s; it cannot be assigned (cscert set refuses it)", thumb, na);
        r->expired = 1;
    } else if (X509_cmp_time(X509_get0_notBefore(x), &now) > 0) {
        cscert_certinfo_time(nb, X509_get0_notBefore(x));
        cscert__warn("%s: not valid before %s; it cannot be assigned until then", thumb, nb);
        r->not_yet_valid = 1;
    }
    cscert_error_clear();
}

int cscert_import_buffer(cscert_import_result *out, cscert_store *st, const unsigned char *buf,
                         size_t len, const char *what, const cscert_import_opts *o)
{
    static const cscert_import_opts none = { 0 };
    cscert_bundle *b = NULL;
    struct plan *plan = NULL;
    cscert_pending *pending = NULL;
    cscert_cert_rec *rec = NULL;
    cscert_chain_status cs;
    STACK_OF(X509) *extra = NULL;
    int64_t key_id = 0;
    int i, n, leaf = -1, rc, in_tx = 0, new_key = 0, attach_key = 0, first = -1;
    char pend[1024], *subj = NULL; /* the leaf's subject, for messages */

    memset(out, 0, sizeof(*out));
    if (!o)
        o = &none;
    if ((rc = cscert_bundle_parse(&b, buf, len, o->password, what)) < 0)
        return rc;
    out->format = b->format;
    n = sk_X509_num(b->certs);
    if (!(plan = calloc((size_t)n, sizeof(*plan)))) {
        rc = cscert__oom();
        goto out;
    }
    /* Classify: the leaf is the key's certificate (PKCS#12 puts it first)
     * or the first certificate that is not a CA. */
    for (i = 0; i < n; i++) {
        struct plan *p = &plan[i];
        int j, dup = 0;

        p->x = sk_X509_value(b->certs, i);
        if ((rc = cscert_x509_thumbprint(p->thumb, p->x)) < 0)
            goto out;
        for (j = 0; j < i; j++)
            dup |= !strcmp(plan[j].thumb, p->thumb);
        p->is_ca = cscert_certinfo_is_ca(p->x, &p->self_signed);
        p->dest = CSCERT_STORE_ALL;
        if (dup)
            continue;
        if ((rc = cscert_store_get_cert(&rec, st, p->thumb)) == CSCERT_OK) {
            p->exists = 1;
            p->dest = rec->store;
            if (i == leaf || (leaf < 0 && (b->key ? i == 0 : !p->is_ca)))
                attach_key = rec->key_id == 0; /* a key may arrive for it */
            cscert_cert_rec_free(rec);
            rec = NULL;
        } else if (rc != CSCERT_ENOTFOUND) {
            goto out;
        }
        cscert_error_clear();
        if (leaf < 0 && (b->key ? i == 0 : !p->is_ca)) {
            leaf = i;
            if (!p->exists)
                p->dest = (o->store == CSCERT_STORE_ROOT && p->self_signed) ? CSCERT_STORE_ROOT
                                                                              : CSCERT_STORE_MY;
        } else if (!p->exists) {
            if (p->self_signed)
                p->dest = o->store == CSCERT_STORE_ROOT ? CSCERT_STORE_ROOT : CSCERT_STORE_ALL;
            else
                p->dest = p->is_ca ? CSCERT_STORE_CA : CSCERT_STORE_ALL;
            if (p->dest == CSCERT_STORE_ALL && p->self_signed)
                out->skipped_roots++;
        }
    }
    /* --store is checked against what the certificates are. */
    if (leaf >= 0 && (o->store == CSCERT_STORE_ROOT || o->store == CSCERT_STORE_CA)
        && !(o->store == CSCERT_STORE_ROOT && plan[leaf].self_signed)) {
        rc = cscert_error_setf(CSCERT_EPOLICY, what, "import it without --store (it goes to My)",
                               "%s is not a CA certificate; it does not belong in %s", plan[leaf].thumb,
                               cscert_store_kind_name(o->store));
        goto out;
    }
    if (leaf < 0 && o->store == CSCERT_STORE_MY) {
        rc = cscert_error_setf(CSCERT_EPOLICY, what, "import it with --store Root (a root you trust) or without --store",
                               "%s is a CA certificate; CA certificates go to Root or CA, not My",
                               plan[0].thumb);
        goto out;
    }
    for (i = 0; i < n; i++)
        if (plan[i].dest != CSCERT_STORE_ALL && first < 0)
            first = i;
    if (first < 0) {
        /* Only self-signed roots, and no --store Root: trust is never implied. */
        unsigned char md[32];
        unsigned int mdlen = 0, k;
        char fp[65];

        X509_digest(plan[0].x, EVP_sha256(), md, &mdlen);
        for (k = 0; k < mdlen; k++)
            snprintf(fp + 2 * k, 3, "%02X", md[k]);
        rc = cscert_error_setf(CSCERT_EPOLICY, what,
                               "if you trust it (compare its SHA-256 with the CA's), run: cscert import FILE --store Root",
                               "%s is a self-signed root (SHA-256 %s); a root is trusted only on request",
                               plan[0].thumb, fp);
        goto out;
    }
    /* The leaf's private key: from the file, or a pending request's. */
    if (leaf >= 0 && plan[leaf].dest == CSCERT_STORE_MY) {
        struct plan *p = &plan[leaf];

        rc = cscert_store_find_key(&key_id, st, b->key ? b->key : X509_get0_pubkey(p->x));
        if (rc == CSCERT_OK) {
            if ((rc = cscert_store_find_pending_by_key(&pending, st, key_id)) < 0 && rc != CSCERT_ENOTFOUND)
                goto out;
        } else if (rc != CSCERT_ENOTFOUND) {
            goto out;
        } else if (b->key) {
            new_key = 1;
        } else if (!p->exists) {
            if ((rc = list_pending_text(pend, sizeof(pend), st)) < 0)
                goto out;
            if ((rc = cscert_certinfo_name(&subj, X509_get_subject_name(p->x))) < 0)
                goto out;
            /* 3.4 "missing private key": say which requests do exist. */
            rc = cscert_error_setf(CSCERT_ENOTFOUND, what,
                                   "import the response on the server that made the request, or import a PKCS#12 (.pfx) with its key",
                                   "no pending request holds the private key of %s (%s); %s",
                                   p->thumb, subj, pend);
            goto out;
        }
        cscert_error_clear();
        rc = CSCERT_OK;
        out->has_key = key_id > 0 || new_key;
        /* A key made non-exportable stays so (DESIGN: it never leaves the
         * store; as on Windows, the flag is the key's, fixed when it was
         * made): --private-key-exportable applies to a key the file brings. */
        if (pending && !pending->exportable && o->exportable) {
            rc = cscert_error_setf(CSCERT_EPOLICY, what, "import it without --private-key-exportable, or make a new "
                                   "request with --private-key-exportable",
                                   "the key of pending request %lld was made non-exportable, and stays so",
                                   (long long)pending->id);
            goto out;
        }
        out->exportable = new_key ? o->exportable : pending ? pending->exportable : o->exportable;
        if (o->expect_pending > 0 && (!pending || pending->id != o->expect_pending)) {
            rc = cscert_error_setf(CSCERT_EPOLICY, p->thumb, "check the CA: it answered with another certificate; "
                                   "nothing was installed",
                                   "the certificate does not carry the key of request %lld%s",
                                   (long long)o->expect_pending,
                                   pending ? " (it is another pending request's)" : "");
            goto out;
        }
        if (pending)
            out->names_differ = compare_names(p->x, pending->names, p->thumb);
        warn_validity(out, p->x, p->thumb);
    } else if (o->expect_pending > 0) {
        rc = cscert_error_setf(CSCERT_EPOLICY, what, "check the CA: it answered with no certificate for this "
                               "server; nothing was installed",
                               "the answer holds no end-entity certificate for request %lld",
                               (long long)o->expect_pending);
        goto out;
    }
    /* One transaction: key, certificates, the pending request's end. */
    if ((rc = cscert_store_begin(st)) < 0)
        goto out;
    in_tx = 1;
    if (new_key && (rc = cscert_store_put_key(&key_id, st, b->key, o->exportable)) < 0)
        goto out;
    for (i = 0; i < n; i++) {
        struct plan *p = &plan[i];
        const char *fn = NULL;

        if (p->exists || p->dest == CSCERT_STORE_ALL)
            continue;
        if (i == leaf)
            fn = o->friendly_name ? o->friendly_name
               : pending && pending->friendly_name ? pending->friendly_name : b->friendly_name;
        if ((rc = cscert_store_put_cert(NULL, st, p->dest, p->x, fn, i == leaf ? key_id : 0)) < 0)
            goto out;
        out->added++;
    }
    if (leaf >= 0 && plan[leaf].exists && attach_key && key_id > 0) {
        if ((rc = cscert_store_set_cert_key(st, plan[leaf].thumb, key_id)) < 0)
            goto out;
        out->added++; /* the key is new for it */
    }
    if (pending && (rc = cscert_store_delete_pending(st, pending->id, 0)) < 0)
        goto out;
    if ((rc = cscert_store_commit(st)) < 0)
        goto out;
    in_tx = 0;
    if (pending)
        out->pending_id = pending->id;
    out->already = out->added == 0;
    i = leaf >= 0 ? leaf : first;
    memcpy(out->thumbprint, plan[i].thumb, 41);
    out->store = plan[i].dest;
    if (cscert_store_get_cert(&rec, st, out->thumbprint) == CSCERT_OK) {
        out->store = rec->store;
        out->has_key = rec->key_id > 0;
        out->exportable = rec->exportable;
    }
    cscert_error_clear();
    /* Trust: the chain must reach Root; otherwise say which link and how. */
    extra = sk_X509_new_null();
    if ((rc = cscert_certinfo_chain(&cs, st, plan[i].x, extra)) < 0)
        goto out;
    out->chain_trusted = cs.trusted;
    if (!cs.trusted) {
        if (out->skipped_roots)
            cscert__warn("%s: the chain does not reach a trusted root (%s at '%s'); this file holds"
                         " the root: to trust it, run: cscert import %s --store Root", plan[i].thumb,
                         cs.error, cs.subject, what);
        else
            cscert__warn("%s: the chain does not reach a trusted root (%s; issuer '%s'); import the"
                         " CA's root: cscert import ROOT.cer --store Root, or: cscert ca trust NAME"
                         " --fingerprint SHA256", plan[i].thumb, cs.error, cs.issuer);
    }
    rc = CSCERT_OK;
out:
    if (in_tx)
        cscert_store_rollback(st);
    free(subj);
    sk_X509_free(extra);
    cscert_pending_free(pending);
    cscert_cert_rec_free(rec);
    free(plan);
    cscert_bundle_free(b);
    return rc;
}

/* ---- export ---- */

/* The certificate's chain from Root + CA, leaf excluded (possibly partial). */
static int build_chain(STACK_OF(X509) **out, cscert_store *st, X509 *x)
{
    STACK_OF(X509) *roots = NULL, *cas = NULL, *chain = NULL;
    X509_STORE *xs = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int i, rc;

    *out = NULL;
    if ((rc = cscert_store_trust(&roots, &cas, st)) < 0)
        goto out;
    rc = CSCERT_ECRYPTO;
    if (!xs || !ctx)
        goto out;
    for (i = 0; i < sk_X509_num(roots); i++)
        X509_STORE_add_cert(xs, sk_X509_value(roots, i));
    if (!X509_STORE_CTX_init(ctx, xs, x, cas))
        goto out;
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
    X509_verify_cert(ctx); /* a partial chain is still exported */
    ERR_clear_error();
    chain = X509_STORE_CTX_get1_chain(ctx);
    if (!chain)
        chain = sk_X509_new_null();
    if (!chain)
        goto out;
    if (sk_X509_num(chain) > 0)
        X509_free(sk_X509_shift(chain)); /* the leaf itself */
    *out = chain;
    rc = CSCERT_OK;
out:
    if (rc == CSCERT_ECRYPTO)
        cscert__crypto_error("chain", "building the chain for export");
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(xs);
    sk_X509_pop_free(roots, X509_free);
    sk_X509_pop_free(cas, X509_free);
    return rc;
}

int cscert_export_pkcs12(unsigned char **out, size_t *len, cscert_store *st,
                         const char *thumbprint, const char *password, int with_chain)
{
    cscert_cert_rec *rec = NULL;
    EVP_PKEY *key = NULL;
    STACK_OF(X509) *chain = NULL;
    PKCS12 *p12 = NULL;
    unsigned char *der = NULL;
    int dlen, rc;

    *out = NULL;
    *len = 0;
    if (!password || !*password)
        return cscert_error_set(CSCERT_EINVAL, thumbprint, "an empty PKCS#12 password protects nothing",
                                "put a password on the first line of --password-file");
    if ((rc = cscert_store_get_cert(&rec, st, thumbprint)) < 0)
        return rc;
    if (rec->key_id == 0) {
        rc = cscert_error_set(CSCERT_ENOTFOUND, thumbprint, "this store holds no private key for the certificate",
                              "use --format pem to export the certificate alone");
        goto out;
    }
    /* Security rule: a key not marked exportable never leaves the store. */
    if (!rec->exportable) {
        rc = cscert_error_set(CSCERT_EPOLICY, thumbprint, "the private key is not exportable (R17)",
                              "request the certificate again with --private-key-exportable"
                              " (or import its PFX with --private-key-exportable); --format pem exports"
                              " the certificate without the key");
        goto out;
    }
    if ((rc = cscert_store_get_key(&key, st, rec->key_id)) < 0)
        goto out;
    if (with_chain && (rc = build_chain(&chain, st, rec->x509)) < 0)
        goto out;
    rc = CSCERT_ECRYPTO;
    /* AES-256-CBC + PBKDF2 for key and certificates; the MAC is added
     * separately so that it is HMAC-SHA256, not OpenSSL's SHA-1 default. */
    p12 = PKCS12_create_ex(password, rec->friendly_name, key, rec->x509, chain, NID_aes_256_cbc,
                           NID_aes_256_cbc, IMPORT_P12_ITER, -1, 0, NULL, NULL);
    if (!p12 || !PKCS12_set_mac(p12, password, -1, NULL, 0, IMPORT_P12_ITER, EVP_sha256()))
        goto out;
    if ((dlen = i2d_PKCS12(p12, &der)) <= 0)
        goto out;
    *out = der;
    *len = (size_t)dlen;
    der = NULL;
    rc = CSCERT_OK;
out:
    if (rc == CSCERT_ECRYPTO)
        cscert__crypto_error(thumbprint, "building the PKCS#12");
    PKCS12_free(p12);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
    cscert_cert_rec_free(rec);
    return rc;
}

static int pem_bytes(unsigned char **out, size_t *len, cscert_store *st, const char *thumbprint,
                     int with_chain)
{
    cscert_cert_rec *rec = NULL;
    STACK_OF(X509) *chain = NULL;
    BIO *b = NULL;
    char *data;
    long n;
    int i, rc;

    *out = NULL;
    if ((rc = cscert_store_get_cert(&rec, st, thumbprint)) < 0)
        return rc;
    if (with_chain && (rc = build_chain(&chain, st, rec->x509)) < 0)
        goto out;
    rc = CSCERT_ECRYPTO;
    if (!(b = BIO_new(BIO_s_mem())) || !PEM_write_bio_X509(b, rec->x509))
        goto out;
    for (i = 0; i < sk_X509_num(chain); i++)
        if (!PEM_write_bio_X509(b, sk_X509_value(chain, i)))
            goto out;
    n = BIO_get_mem_data(b, &data);
    if (!(*out = malloc((size_t)n))) {
        rc = cscert__oom();
        goto out;
    }
    memcpy(*out, data, (size_t)n);
    *len = (size_t)n;
    rc = CSCERT_OK;
out:
    if (rc == CSCERT_ECRYPTO)
        cscert__crypto_error(thumbprint, "writing PEM");
    BIO_free(b);
    sk_X509_pop_free(chain, X509_free);
    cscert_cert_rec_free(rec);
    return rc;
}

/* Write beside path (mkstemp: 0600, O_EXCL), fsync, then link() into
 * place: link fails when path exists, so nothing is ever overwritten. */
static int write_new_file(const char *path, const unsigned char *data, size_t len)
{
    char tmp[PATH_MAX];
    const unsigned char *p = data;
    size_t left = len;
    int fd, rc = CSCERT_OK;
    mode_t old;

    if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
        return cscert_error_set(CSCERT_EINVAL, path, "path too long", NULL);
    old = umask(077);
    fd = mkstemp(tmp);
    umask(old);
    if (fd < 0)
        return cscert_error_setf(CSCERT_EIO, path, "check the directory", "cannot create a file beside it: %s",
                                 strerror(errno));
    while (left > 0) {
        ssize_t w = write(fd, p, left);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = cscert_error_setf(CSCERT_EIO, path, "check free space", "write: %s", strerror(errno));
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (rc == CSCERT_OK && (fchmod(fd, 0600) < 0 || fsync(fd) < 0))
        rc = cscert_error_setf(CSCERT_EIO, path, NULL, "fsync: %s", strerror(errno));
    close(fd);
    if (rc == CSCERT_OK && link(tmp, path) < 0)
        rc = errno == EEXIST
                 ? cscert_error_set(CSCERT_EEXISTS, path, "the file exists; export never overwrites",
                                    "choose another --path or remove the file")
                 : cscert_error_setf(CSCERT_EIO, path, NULL, "cannot create: %s", strerror(errno));
    unlink(tmp);
    return rc;
}

int cscert_export_file(cscert_store *st, const char *thumbprint, const char *path,
                       cscert_export_format fmt, const char *password, int with_chain)
{
    unsigned char *data = NULL;
    size_t len = 0;
    struct stat sb;
    int rc;

    if (lstat(path, &sb) == 0)
        return cscert_error_set(CSCERT_EEXISTS, path, "the file exists; export never overwrites",
                                "choose another --path or remove the file");
    if (fmt == CSCERT_EXPORT_PKCS12)
        rc = cscert_export_pkcs12(&data, &len, st, thumbprint, password, with_chain);
    else
        rc = pem_bytes(&data, &len, st, thumbprint, with_chain);
    if (rc == CSCERT_OK)
        rc = write_new_file(path, data, len);
    OPENSSL_clear_free(data, len);
    return rc;
}
