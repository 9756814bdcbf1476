/* x509.c: see include/cscert/x509.h. */
#include "cscert/x509.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

/* 40: SHA-1 is 20 bytes, shown as hex. */
#define THUMB_HEX 40
/* 1 KiB: a pasted thumbprint with a separator between every digit and a
 * U+200E in front is ~120 bytes; longer input is not a thumbprint. */
#define THUMB_INPUT_MAX 1024
/* 48 bytes of the input are quoted in a message: enough to recognise it. */
#define THUMB_QUOTE_MAX 48
/* The names a certificate may carry before we call it hostile: 10000
 * SANs (a real one has tens; the EST body cap keeps requests far below). */
#define NAMES_MAX 10000
/* 64 KiB: a printed distinguished name; real ones are under 1 KiB. */
#define NAME_TEXT_MAX 65536

int cscert_x509_thumbprint(char out[41], X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    static const char hex[] = "0123456789ABCDEF";

    out[0] = '\0';
    if (!x)
        return cscert_error_set(CSCERT_EINVAL, "thumbprint", "no certificate", NULL);
    /* SHA-1 of the DER, as Windows computes it: a name, not a security
     * property (the SPKI SHA-256 is what matches keys). */
    if (!X509_digest(x, EVP_sha1(), md, &len) || len != THUMB_HEX / 2)
        return cscert__crypto_error("thumbprint", "hashing a certificate");
    for (unsigned int i = 0; i < len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[THUMB_HEX] = '\0';
    return CSCERT_OK;
}

/* The input, shortened and with non-printable bytes as '?', for a message. */
static void quote_input(char *buf, size_t n, const char *in)
{
    size_t i = 0;

    for (; *in && i + 4 < n && i < THUMB_QUOTE_MAX; in++)
        buf[i++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
    if (*in && i + 4 < n) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
}

int cscert_x509_thumbprint_normalize(char out[41], const char *in)
{
    static const char fix[] = "give the 40 hex digits of the SHA-1 thumbprint "
                              "(spaces, ':' and any case are fine)";
    char q[THUMB_QUOTE_MAX + 8];
    size_t len, o = 0;

    out[0] = '\0';
    if (!in)
        return cscert_error_set(CSCERT_EINVAL, "thumbprint", "none given", fix);
    len = strnlen(in, THUMB_INPUT_MAX + 1);
    quote_input(q, sizeof(q), in);
    if (len > THUMB_INPUT_MAX)
        return cscert_error_setf(CSCERT_EINVAL, "thumbprint", fix, "'%s' is too long", q);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];

        if (c == ' ' || c == '\t' || c == ':')
            continue;
        /* U+200E LEFT-TO-RIGHT MARK: the MMC's Details tab puts one in
         * front of the thumbprint it lets you copy. */
        if (c == 0xE2 && i + 2 < len && (unsigned char)in[i + 1] == 0x80
            && (unsigned char)in[i + 2] == 0x8E) {
            i += 2;
            continue;
        }
        if (!isxdigit(c)) {
            out[0] = '\0';
            return cscert_error_setf(CSCERT_EINVAL, "thumbprint", fix,
                                     "'%s' has a character that is not a hex digit at byte %zu",
                                     q, i + 1);
        }
        if (o == THUMB_HEX) {
            out[0] = '\0';
            return cscert_error_setf(CSCERT_EINVAL, "thumbprint", fix,
                                     "'%s' has more than 40 hex digits", q);
        }
        out[o++] = (char)toupper(c);
    }
    if (o != THUMB_HEX) {
        out[0] = '\0';
        return cscert_error_setf(CSCERT_EINVAL, "thumbprint", fix,
                                 "'%s' has %zu hex digits, not 40", q, o);
    }
    out[THUMB_HEX] = '\0';
    return CSCERT_OK;
}

/* ---- names ---- */

void cscert_x509_names_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* Append s (len bytes) unless it is already there (any case). */
static int names_add(char ***v, size_t *n, size_t *cap, const char *s, size_t len)
{
    char *copy;

    for (size_t i = 0; i < *n; i++)
        if (strlen((*v)[i]) == len && strncasecmp((*v)[i], s, len) == 0)
            return CSCERT_OK;
    if (*n >= NAMES_MAX)
        return cscert_error_set(CSCERT_EINVAL, "names", "more than 10000 names", NULL);
    if (*n + 2 > *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        char **nv = realloc(*v, ncap * sizeof(*nv));

        if (!nv)
            return cscert__oom();
        *v = nv;
        *cap = ncap;
    }
    if (!(copy = malloc(len + 1)))
        return cscert__oom();
    memcpy(copy, s, len);
    copy[len] = '\0';
    (*v)[(*n)++] = copy;
    (*v)[*n] = NULL;
    return CSCERT_OK;
}

int cscert__x509_names_from(char ***out, size_t *n, const X509_NAME *subject,
                            const STACK_OF(X509_EXTENSION) *exts)
{
    GENERAL_NAMES *gens = NULL;
    unsigned char *utf8 = NULL;
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    int rc = CSCERT_OK, idx, crit = 0;

    *out = NULL;
    *n = 0;
    /* An empty list is a list: allocate its NULL. */
    if (!(v = calloc(1, sizeof(*v))))
        return cscert__oom();
    cap = 1;
    /* The most specific CN (the last one), as TLS clients read it. */
    idx = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
    for (int next = idx; next >= 0;
         next = X509_NAME_get_index_by_NID(subject, NID_commonName, next))
        idx = next;
    if (idx >= 0) {
        const ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
        int len = ASN1_STRING_to_UTF8(&utf8, d);

        if (len < 0) {
            rc = cscert__crypto_error("names", "decoding the subject's CN");
            goto out;
        }
        if (len > 0 && memchr(utf8, '\0', (size_t)len) == NULL
            && (rc = names_add(&v, &cnt, &cap, (char *)utf8, (size_t)len)) < 0)
            goto out;
    }
    if (exts) {
        gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
        if (!gens && crit != -1) {
            rc = cscert_error_set(CSCERT_EINVAL, "names", "the subjectAltName extension is malformed",
                                  NULL);
            goto out;
        }
    }
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        const ASN1_IA5STRING *s;

        if (g->type != GEN_DNS)
            continue;
        s = g->d.dNSName;
        /* An embedded NUL would hide the rest of a name: skip it. */
        if (ASN1_STRING_length(s) <= 0
            || memchr(ASN1_STRING_get0_data(s), '\0', (size_t)ASN1_STRING_length(s)))
            continue;
        if ((rc = names_add(&v, &cnt, &cap, (const char *)ASN1_STRING_get0_data(s),
                            (size_t)ASN1_STRING_length(s))) < 0)
            goto out;
    }
    *out = v;
    *n = cnt;
    v = NULL;
out:
    OPENSSL_free(utf8);
    GENERAL_NAMES_free(gens);
    cscert_x509_names_free(v);
    return rc;
}

int cscert_x509_names(char ***out, size_t *n, X509 *x)
{
    *out = NULL;
    *n = 0;
    if (!x)
        return cscert_error_set(CSCERT_EINVAL, "names", "no certificate", NULL);
    return cscert__x509_names_from(out, n, X509_get_subject_name(x), X509_get0_extensions(x));
}

int cscert__x509_san_dns(X509_EXTENSION **out, const char *const *dns, size_t n)
{
    GENERAL_NAMES *gens = NULL;
    GENERAL_NAME *g = NULL;
    ASN1_IA5STRING *ia5 = NULL;
    int rc = CSCERT_OK;

    *out = NULL;
    if (n == 0)
        return CSCERT_OK;
    if (!(gens = GENERAL_NAMES_new()))
        return cscert__oom();
    for (size_t i = 0; i < n; i++) {
        int dup = 0;

        for (size_t j = 0; j < i && !dup; j++)
            dup = strcasecmp(dns[i], dns[j]) == 0;
        if (dup)
            continue;
        if (!(ia5 = ASN1_IA5STRING_new()) || !ASN1_STRING_set(ia5, dns[i], -1)
            || !(g = GENERAL_NAME_new())) {
            rc = cscert__oom();
            goto out;
        }
        GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
        ia5 = NULL;
        if (!sk_GENERAL_NAME_push(gens, g)) {
            rc = cscert__oom();
            goto out;
        }
        g = NULL;
    }
    if (!(*out = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)))
        rc = cscert__crypto_error("names", "encoding the subjectAltName extension");
out:
    ASN1_IA5STRING_free(ia5);
    GENERAL_NAME_free(g);
    GENERAL_NAMES_free(gens);
    return rc;
}

/* ---- template ---- */

int cscert__x509_template_from(char **out, const STACK_OF(X509_EXTENSION) *exts)
{
    ASN1_OBJECT *oid = NULL;
    ASN1_TYPE *t = NULL;
    unsigned char *utf8 = NULL;
    const unsigned char *p;
    const ASN1_OCTET_STRING *val;
    int rc = CSCERT_OK, idx, len;
    long left;

    *out = NULL;
    if (!(oid = OBJ_txt2obj(CSCERT_OID_MS_CERTTYPE, 1)))
        return cscert__crypto_error("template", "parsing the template OID");
    idx = exts ? X509v3_get_ext_by_OBJ(exts, oid, -1) : -1;
    if (idx < 0) {
        rc = cscert_error_set(CSCERT_ENOTFOUND, "template", "no certificate template extension",
                              NULL);
        goto out;
    }
    val = X509_EXTENSION_get_data(X509v3_get_ext(exts, idx));
    p = ASN1_STRING_get0_data(val);
    left = ASN1_STRING_length(val);
    /* A DirectoryString-like value: BMPString from Windows, but take
     * UTF8String or PrintableString too. Exactly one value, nothing after. */
    t = d2i_ASN1_TYPE(NULL, &p, left);
    if (!t || p != ASN1_STRING_get0_data(val) + left
        || (t->type != V_ASN1_BMPSTRING && t->type != V_ASN1_UTF8STRING
            && t->type != V_ASN1_PRINTABLESTRING)) {
        rc = cscert_error_set(CSCERT_EINVAL, "template",
                              "the certificate template extension is not a string", NULL);
        goto out;
    }
    len = ASN1_STRING_to_UTF8(&utf8, t->value.asn1_string);
    if (len <= 0 || memchr(utf8, '\0', (size_t)len)) {
        rc = cscert_error_set(CSCERT_EINVAL, "template",
                              "the certificate template name is empty or not text", NULL);
        goto out;
    }
    if (!(*out = strdup((char *)utf8)))
        rc = cscert__oom();
out:
    ERR_clear_error();
    OPENSSL_free(utf8);
    ASN1_TYPE_free(t);
    ASN1_OBJECT_free(oid);
    return rc;
}

int cscert_x509_template_name(char **out, X509 *x)
{
    *out = NULL;
    if (!x)
        return cscert_error_set(CSCERT_EINVAL, "template", "no certificate", NULL);
    return cscert__x509_template_from(out, X509_get0_extensions(x));
}

int cscert_x509_name_text(char **out, const X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    unsigned long flags = (XN_FLAG_RFC2253 & ~XN_FLAG_SEP_MASK & ~ASN1_STRFLGS_ESC_MSB)
                          | XN_FLAG_SEP_CPLUS_SPC;
    char *data = NULL, *s = NULL;
    long len;

    *out = NULL;
    if (!b)
        return cscert__oom();
    if (X509_NAME_print_ex(b, n, 0, flags) < 0) {
        BIO_free(b);
        return cscert__crypto_error("certificate", "printing a name");
    }
    len = BIO_get_mem_data(b, &data);
    if (len > NAME_TEXT_MAX)
        len = NAME_TEXT_MAX;
    s = malloc((size_t)len + 1);
    if (s) {
        if (len > 0) /* an empty name: data may be NULL */
            memcpy(s, data, (size_t)len);
        s[len] = '\0';
    }
    BIO_free(b);
    if (!s)
        return cscert__oom();
    *out = s;
    return CSCERT_OK;
}

int cscert_x509_time_text(char out[32], const ASN1_TIME *t)
{
    struct tm tm;

    out[0] = '\0';
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return cscert_error_set(CSCERT_EINVAL, "certificate", "unreadable validity date", NULL);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return CSCERT_OK;
}
