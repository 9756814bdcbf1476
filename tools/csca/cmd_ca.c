/* cmd_ca.c: csca init, install-cert, show, cacerts, revoke, crl, issued,
 * log: the CA itself, revocation, and what it issued and did. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cscert/key.h"
#include "cscert/x509.h"
#include "csca_cli.h"

/* 64 MiB: the audit log read by `csca log` (rotate it beyond that). */
#define CSCA_LOG_MAX (64u << 20)

enum { O_HELP = 'h', O_NAME = 256, O_KEY_TYPE, O_VALIDITY, O_KPF, O_SUBREQ, O_JSON, O_OUT,
       O_FORMAT, O_REASON, O_URL, O_LAST };

static const char init_help[] =
    "usage: csca init --name \"FQDN\\Instance\"\n"
    "                 [--key-type rsa:4096|rsa:3072|rsa:2048|ec:P-256|ec:P-384|ec:P-521]\n"
    "                 [--validity 10y|3650d|DAYS] [--key-password-file F]\n"
    "                 [--subordinate-request FILE]\n\n"
    "Create the CA in the home: its key (ca.key, 0600; encrypted with the password in\n"
    "--key-password-file F or $CSCA_KEY_PASSWORD_FILE), a self-signed root (ca.pem),\n"
    "the database with the WebServer template. With --subordinate-request FILE, write\n"
    "a request for a parent CA instead, and finish with 'csca install-cert'.\n"
    "Refused when the home already holds a CA.\n";

int cmd_init(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, O_HELP }, { "name", required_argument, NULL, O_NAME },
        { "key-type", required_argument, NULL, O_KEY_TYPE },
        { "validity", required_argument, NULL, O_VALIDITY },
        { "key-password-file", required_argument, NULL, O_KPF },
        { "subordinate-request", required_argument, NULL, O_SUBREQ }, { NULL, 0, NULL, 0 }
    };
    cscert_ca_init_opts o = { 0 };
    const char *kpf = g->key_password_file;
    char *pw = NULL, fp[65];
    cscert_ca *ca = NULL;
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_HELP: fputs(init_help, stdout); return 0;
        case O_NAME: o.name = optarg; break;
        case O_KEY_TYPE: o.key_type = optarg; break;
        case O_VALIDITY:
            if ((rc = csca_parse_days(&o.validity_days, optarg, "--validity")) < 0)
                return csca_bad_value(rc, "init");
            break;
        case O_KPF: kpf = optarg; break;
        case O_SUBREQ: o.subordinate_request = optarg; break;
        default: return csca_usage("init", "unknown option");
        }
    }
    if (optind < argc)
        return csca_usage("init", "unexpected argument '%s'", argv[optind]);
    if (!o.name)
        return csca_usage("init", "--name \"FQDN\\Instance\" is required");
    if (kpf && (rc = csca_read_password_file(&pw, kpf)) < 0)
        return rc;
    o.key_password = pw;
    o.actor = g->actor;
    rc = cscert_ca_init(g->home, &o);
    if (rc < 0)
        goto out;
    if (o.subordinate_request) {
        printf("CA %s created in %s, waiting for its certificate.\n"
               "Request for the parent CA: %s\n"
               "Next: have the parent CA issue it, then run 'csca install-cert FILE'.\n",
               o.name, g->home, o.subordinate_request);
        goto out;
    }
    if ((rc = cscert_ca_open(&ca, g->home, pw)) < 0 || (rc = cscert_ca_root_fingerprint(fp, ca)) < 0)
        goto out;
    printf("CA %s created in %s.\n"
           "Root SHA-256 fingerprint: %s\n"
           "Next:\n"
           "  csca account add NAME --group RTCUniversalServerAdmins --password-file F\n"
           "  csca template grant WebServer --group RTCUniversalServerAdmins --enroll\n"
           "  csca serve --listen 127.0.0.1:8443   (or offline: csca submit FILE --template WebServer)\n"
           "  on each server: cscert ca trust \"%s\" --fingerprint %s\n",
           cscert_ca_name(ca), g->home, fp, cscert_ca_name(ca), fp);
out:
    cscert_ca_free(ca);
    csca_secret_free(pw);
    return rc;
}

static const char install_help[] =
    "usage: csca install-cert FILE\n\n"
    "Complete a subordinate CA: FILE is the CA certificate its parent issued with the\n"
    "parent's chain up to its self-signed root (PEM bundle or PKCS#7): /cacerts\n"
    "serves that chain. A file without the root is refused.\n";

int cmd_install_cert(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = { { "help", no_argument, NULL, O_HELP }, { NULL, 0, NULL, 0 } };
    char *pw = NULL;
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == O_HELP) {
            fputs(install_help, stdout);
            return 0;
        }
        return csca_usage("install-cert", "unknown option");
    }
    if (argc - optind != 1)
        return csca_usage("install-cert", "give one certificate FILE");
    if (g->key_password_file && (rc = csca_read_password_file(&pw, g->key_password_file)) < 0)
        return rc;
    rc = cscert_ca_install_cert(g->home, argv[optind], pw, g->actor);
    csca_secret_free(pw);
    if (rc == CSCERT_OK)
        printf("CA certificate installed from %s; the CA can issue now.\n", argv[optind]);
    return rc;
}

static char *name_str(const X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s = NULL, *p;
    long len;

    if (!b)
        return NULL;
    X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253);
    len = BIO_get_mem_data(b, &p);
    if ((s = malloc((size_t)len + 1))) {
        memcpy(s, p, (size_t)len);
        s[len] = '\0';
    }
    BIO_free(b);
    return s;
}

static char *time_str(const ASN1_TIME *t)
{
    struct tm tm;
    char buf[32];

    if (!ASN1_TIME_to_tm(t, &tm))
        return strdup("?");
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return strdup(buf);
}

static json_t *cert_json(X509 *x)
{
    char *subj = name_str(X509_get_subject_name(x)), *iss = name_str(X509_get_issuer_name(x));
    char *nb = time_str(X509_get0_notBefore(x)), *na = time_str(X509_get0_notAfter(x));
    char tp[41] = "";
    json_t *o;

    cscert_x509_thumbprint(tp, x);
    o = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s}", "subject", subj, "issuer", iss,
                  "not_before", nb, "not_after", na, "thumbprint", tp);
    free(subj);
    free(iss);
    free(nb);
    free(na);
    return o;
}

static const char show_help[] =
    "usage: csca show [--json]\n\n"
    "The CA: name, subject, validity, key type, root SHA-256 fingerprint, and the chain.\n";

int cmd_show(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = { { "help", no_argument, NULL, O_HELP },
                                          { "json", no_argument, NULL, O_JSON }, { NULL, 0, NULL, 0 } };
    cscert_ca *ca = NULL;
    json_t *o = NULL, *chain, *cj;
    STACK_OF(X509) *sk;
    char fp[65], keydesc[64] = "";
    int c, rc, json = 0, i;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == O_HELP) {
            fputs(show_help, stdout);
            return 0;
        }
        if (c == O_JSON)
            json = 1;
        else
            return csca_usage("show", "unknown option");
    }
    if (optind < argc)
        return csca_usage("show", "unexpected argument '%s'", argv[optind]);
    if ((rc = csca_open(&ca, g)) < 0 || (rc = cscert_ca_root_fingerprint(fp, ca)) < 0)
        goto out;
    cscert_key_describe(keydesc, sizeof(keydesc), cscert_ca_key(ca));
    cj = cert_json(cscert_ca_cert(ca));
    chain = json_array();
    sk = cscert_ca_chain(ca);
    for (i = 0; sk && i < sk_X509_num(sk); i++)
        json_array_append_new(chain, cert_json(sk_X509_value(sk, i)));
    o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:o}", "name", cscert_ca_name(ca), "home",
                  cscert_ca_home(ca), "certificate", cj, "key_type", keydesc,
                  "root_fingerprint_sha256", fp, "chain", chain);
    if (!o) {
        rc = cscert__oom();
        goto out;
    }
    if (json) {
        csca_json_print(o);
        o = NULL;
        goto out;
    }
    printf("Name:        %s\nHome:        %s\nSubject:     %s\nIssuer:      %s\n"
           "Valid:       %s to %s\nKey type:    %s\nThumbprint:  %s\nRoot SHA-256: %s\nChain:\n",
           cscert_ca_name(ca), cscert_ca_home(ca), json_string_value(json_object_get(cj, "subject")),
           json_string_value(json_object_get(cj, "issuer")),
           json_string_value(json_object_get(cj, "not_before")),
           json_string_value(json_object_get(cj, "not_after")), keydesc,
           json_string_value(json_object_get(cj, "thumbprint")), fp);
    for (i = 0; i < (int)json_array_size(chain); i++)
        printf("  %d. %s (until %s)\n", i + 1,
               json_string_value(json_object_get(json_array_get(chain, (size_t)i), "subject")),
               json_string_value(json_object_get(json_array_get(chain, (size_t)i), "not_after")));
out:
    json_decref(o);
    cscert_ca_free(ca);
    return rc;
}

/* PKCS#7 DER → PEM "-----BEGIN PKCS7-----" (OpenSSL's own armour writer). */
static int p7_pem(char **out, size_t *olen, const unsigned char *der, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    long n;

    *out = NULL;
    if (!b || !PEM_write_bio(b, "PKCS7", "", der, (long)len)) {
        BIO_free(b);
        return cscert__crypto_error("PKCS#7", "cannot write PEM");
    }
    n = BIO_get_mem_data(b, &p);
    if ((*out = malloc((size_t)n + 1))) {
        memcpy(*out, p, (size_t)n);
        *olen = (size_t)n;
    }
    BIO_free(b);
    return *out ? CSCERT_OK : cscert__oom();
}

/* Declared in csca_cli.h: PKCS#7 of leaf (may be NULL) + chain, PEM or DER. */
int csca_write_p7(cscert_ca *ca, X509 *leaf, const char *path, int pem)
{
    unsigned char *der = NULL;
    char *txt = NULL;
    size_t len = 0, tlen = 0;
    int rc;

    if ((rc = cscert_ca_pkcs7_der(&der, &len, ca, leaf)) < 0)
        return rc;
    if (pem) {
        if ((rc = p7_pem(&txt, &tlen, der, len)) == CSCERT_OK)
            rc = csca_write_file(path, txt, tlen);
    } else {
        rc = csca_write_file(path, der, len);
    }
    free(txt);
    OPENSSL_free(der);
    return rc;
}

int csca_format_pem(int *pem, const char *s, const char *cmd)
{
    if (strcmp(s, "pem") == 0)
        *pem = 1;
    else if (strcmp(s, "p7b") == 0 || strcmp(s, "der") == 0)
        *pem = 0;
    else
        return csca_usage(cmd, "--format is pem or p7b, not '%s'", s);
    return CSCERT_OK;
}

static const char cacerts_help[] =
    "usage: csca cacerts --out FILE [--format pem|p7b]\n\n"
    "Write the CA chain (issuing CA up to the root) as a PKCS#7 certs-only, PEM\n"
    "armoured (-----BEGIN PKCS7-----, the default) or DER (p7b).\n";

int cmd_cacerts(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = { { "help", no_argument, NULL, O_HELP },
                                          { "out", required_argument, NULL, O_OUT },
                                          { "format", required_argument, NULL, O_FORMAT },
                                          { NULL, 0, NULL, 0 } };
    const char *out = NULL;
    cscert_ca *ca = NULL;
    int c, rc, pem = 1;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_HELP: fputs(cacerts_help, stdout); return 0;
        case O_OUT: out = optarg; break;
        case O_FORMAT: if ((rc = csca_format_pem(&pem, optarg, "cacerts")) != 0) return rc; break;
        default: return csca_usage("cacerts", "unknown option");
        }
    }
    if (!out || optind < argc)
        return csca_usage("cacerts", "give --out FILE and nothing else");
    if ((rc = csca_open(&ca, g)) == CSCERT_OK && (rc = csca_write_p7(ca, NULL, out, pem)) == CSCERT_OK)
        printf("CA chain written to %s\n", out);
    cscert_ca_free(ca);
    return rc;
}

static const char revoke_help[] =
    "usage: csca revoke SERIAL --reason R\n\n"
    "Revoke a certificate this CA issued. SERIAL in hex (':' and spaces ignored).\n"
    "R: unspecified, keyCompromise, cACompromise, affiliationChanged, superseded,\n"
    "cessationOfOperation, certificateHold. Then publish a new CRL with 'csca crl'.\n";

int cmd_revoke(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = { { "help", no_argument, NULL, O_HELP },
                                          { "reason", required_argument, NULL, O_REASON },
                                          { NULL, 0, NULL, 0 } };
    const char *reason = NULL;
    cscert_ca *ca = NULL;
    char hex[41];
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_HELP: fputs(revoke_help, stdout); return 0;
        case O_REASON: reason = optarg; break;
        default: return csca_usage("revoke", "unknown option");
        }
    }
    if (argc - optind != 1 || !reason)
        return csca_usage("revoke", "give SERIAL and --reason R");
    /* Values of the wrong kind are usage errors, before the CA is opened. */
    if ((rc = cscert_ca_revoke_reason(reason)) < 0 || (rc = cscert_ca_serial_normalize(hex, argv[optind])) < 0)
        return csca_bad_value(rc, "revoke");
    if ((rc = csca_open(&ca, g)) == CSCERT_OK && (rc = cscert_ca_revoke(ca, hex, reason, g->actor)) == CSCERT_OK)
        printf("Revoked %s (%s). Publish the CRL: csca crl --out FILE\n", hex, reason);
    cscert_ca_free(ca);
    return rc;
}

static const char crl_help[] =
    "usage: csca crl [--out FILE] [--url URL]\n\n"
    "Write a CRL signed by the CA (PEM; standard output without --out). --url sets the\n"
    "CRL distribution point put in certificates issued from now on ('' removes it).\n";

int cmd_crl(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = { { "help", no_argument, NULL, O_HELP },
                                          { "out", required_argument, NULL, O_OUT },
                                          { "url", required_argument, NULL, O_URL },
                                          { NULL, 0, NULL, 0 } };
    const char *out = NULL, *url = NULL;
    cscert_ca *ca = NULL;
    char *pem = NULL;
    int c, rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_HELP: fputs(crl_help, stdout); return 0;
        case O_OUT: out = optarg; break;
        case O_URL: url = optarg; break;
        default: return csca_usage("crl", "unknown option");
        }
    }
    if (optind < argc)
        return csca_usage("crl", "unexpected argument '%s'", argv[optind]);
    if ((rc = csca_open(&ca, g)) < 0)
        goto out;
    if (url) {
        if ((rc = cscert_ca_set_crl_url(ca, url, g->actor)) < 0)
            goto out;
        printf("CRL distribution point: %s\n", *url ? url : "(none)");
        if (!out)
            goto out;
    }
    if ((rc = cscert_ca_crl_pem(&pem, ca, g->actor)) < 0)
        goto out;
    if (out) {
        if ((rc = csca_write_file(out, pem, strlen(pem))) == CSCERT_OK)
            printf("CRL written to %s\n", out);
    } else {
        fputs(pem, stdout);
    }
out:
    free(pem);
    cscert_ca_free(ca);
    return rc;
}

static const char issued_help[] =
    "usage: csca issued list [--json]\n\n"
    "The certificates this CA issued: serial, subject, names, validity, requester,\n"
    "template, and whether revoked.\n";

int cmd_issued(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = { { "help", no_argument, NULL, O_HELP },
                                          { "json", no_argument, NULL, O_JSON }, { NULL, 0, NULL, 0 } };
    cscert_ca *ca = NULL;
    json_t *a = NULL, *e;
    size_t i;
    char sans[512], now[32];
    time_t t = time(NULL);
    struct tm tm;
    int c, rc, json = 0;

    /* RFC 3339 UTC, as not_after is: the strings compare as the times. */
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == O_HELP) { fputs(issued_help, stdout); return 0; }
        if (c == O_JSON) json = 1;
        else return csca_usage("issued", "unknown option");
    }
    if (optind < argc && strcmp(argv[optind], "list") == 0)
        optind++;
    if (optind < argc)
        return csca_usage("issued", "unexpected argument '%s'", argv[optind]);
    if ((rc = csca_open(&ca, g)) < 0 || (rc = cscert_ca_issued_list(&a, ca)) < 0)
        goto out;
    if (json) {
        csca_json_print(a);
        a = NULL;
        goto out;
    }
    printf("%-32s  %-20s  %-8s  %s\n", "SERIAL", "NOT AFTER", "STATUS", "SUBJECT / NAMES");
    json_array_foreach(a, i, e) {
        csca_join(sans, sizeof(sans), json_object_get(e, "sans"));
        printf("%-32s  %-20s  %-8s  %s  [%s]\n", csca_jstr(e, "serial"), csca_jstr(e, "not_after"),
               json_is_true(json_object_get(e, "revoked")) ? "revoked"
               : strcmp(csca_jstr(e, "not_after"), now) < 0 ? "expired" : "valid", csca_jstr(e, "subject"),
               sans);
    }
out:
    json_decref(a);
    cscert_ca_free(ca);
    return rc;
}

static const char log_help[] =
    "usage: csca log [--json] [--last N]\n\n"
    "The audit log (HOME/audit.jsonl): every request, decision, issuance, revocation\n"
    "and administrative change, with who and from where.\n";

int cmd_log(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = { { "help", no_argument, NULL, O_HELP },
                                          { "json", no_argument, NULL, O_JSON },
                                          { "last", required_argument, NULL, O_LAST },
                                          { NULL, 0, NULL, 0 } };
    unsigned char *buf = NULL;
    char *path = NULL, *line, *save = NULL;
    json_t *all = NULL, *e;
    size_t len, i, first = 0;
    long last = 0;
    int c, rc, json = 0;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_HELP: fputs(log_help, stdout); return 0;
        case O_JSON: json = 1; break;
        case O_LAST: {
            char *end;
            last = strtol(optarg, &end, 10);
            if (*end || last <= 0)
                return csca_usage("log", "--last takes a positive number, not '%s'", optarg);
            break;
        }
        default: return csca_usage("log", "unknown option");
        }
    }
    if (optind < argc)
        return csca_usage("log", "unexpected argument '%s'", argv[optind]);
    if (asprintf(&path, "%s/audit.jsonl", g->home) < 0)
        return cscert__oom();
    if ((rc = csca_read_file(&buf, &len, path, CSCA_LOG_MAX)) < 0)
        goto out;
    all = json_array();
    for (line = strtok_r((char *)buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *v = json_loads(line, 0, NULL);
        if (v)
            json_array_append_new(all, v);
    }
    if (last > 0 && json_array_size(all) > (size_t)last)
        first = json_array_size(all) - (size_t)last;
    if (json) {
        json_t *sub = json_array();
        for (i = first; i < json_array_size(all); i++)
            json_array_append(sub, json_array_get(all, i));
        csca_json_print(sub);
        goto out;
    }
    for (i = first; i < json_array_size(all); i++) {
        const char *k;
        json_t *v;
        e = json_array_get(all, i);
        printf("%s  %-22s %s@%s", csca_jstr(e, "time"), csca_jstr(e, "event"), csca_jstr(e, "actor"),
               csca_jstr(e, "source"));
        json_object_foreach(e, k, v) {
            char *s;
            if (!strcmp(k, "time") || !strcmp(k, "event") || !strcmp(k, "actor") || !strcmp(k, "source"))
                continue;
            s = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            printf("  %s=%s", k, s ? s : "");
            free(s);
        }
        putchar('\n');
    }
out:
    json_decref(all);
    free(buf);
    free(path);
    return rc;
}
