/* cmd_queue.c: csca request, submit, retrieve: the request queue and
 * offline processing (a request file brought by a server administrator). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>

#include "cscert/csr.h"
#include "csca_cli.h"

/* 1 MiB: an offline PKCS#10 file (real ones are a few KiB). */
#define CSCA_REQUEST_FILE_MAX (1u << 20)

enum { O_HELP = 'h', O_PENDING = 256, O_JSON, O_REASON, O_TEMPLATE, O_OUT, O_FORMAT };

static int parse_id(int64_t *out, const char *s, const char *cmd)
{
    char *end;
    long long v = strtoll(s, &end, 10);

    if (!*s || *end || v <= 0)
        return csca_usage(cmd, "'%s' is not a request ID (a positive number)", s);
    *out = (int64_t)v;
    return CSCERT_OK;
}

static const char request_help[] =
    "usage: csca request list [--pending] [--json]\n"
    "       csca request show ID [--json]\n"
    "       csca request issue ID\n"
    "       csca request deny ID --reason S\n\n"
    "The request queue: every request, online or offline, with its ID and disposition\n"
    "(issued, pending, denied). issue signs a pending request with its template as it\n"
    "is now; deny records why. A pending online request is fetched again by its client;\n"
    "an offline one with 'csca retrieve ID --out FILE'.\n";

static json_t *request_find(json_t *list, int64_t id)
{
    size_t i;
    json_t *e;

    json_array_foreach(list, i, e)
        if (json_integer_value(json_object_get(e, "id")) == id)
            return e;
    return NULL;
}

int cmd_request(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, O_HELP }, { "pending", no_argument, NULL, O_PENDING },
        { "json", no_argument, NULL, O_JSON }, { "reason", required_argument, NULL, O_REASON },
        { NULL, 0, NULL, 0 }
    };
    const char *sub, *reason = NULL;
    cscert_ca *ca = NULL;
    cscert_ca_result r;
    json_t *list = NULL, *e;
    int64_t id = 0;
    int c, rc = CSCERT_OK, json = 0, pending = 0;

    memset(&r, 0, sizeof(r));
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(request_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CSCA_EXIT_USAGE : 0;
    }
    sub = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_HELP: fputs(request_help, stdout); return 0;
        case O_PENDING: pending = 1; break;
        case O_JSON: json = 1; break;
        case O_REASON: reason = optarg; break;
        default: return csca_usage("request", "unknown option");
        }
    }
    if (strcmp(sub, "list") == 0) {
        size_t i;
        char sans[512];
        if (optind < argc)
            return csca_usage("request", "unexpected argument '%s'", argv[optind]);
        if ((rc = csca_open(&ca, g)) < 0 || (rc = cscert_ca_request_list(&list, ca, pending)) < 0)
            goto out;
        if (json) {
            csca_json_print(list);
            list = NULL;
            goto out;
        }
        printf("%-6s  %-8s  %-16s  %-20s  %-20s  %s\n", "ID", "STATE", "TEMPLATE", "REQUESTER",
               "SUBMITTED", "SUBJECT / NAMES");
        json_array_foreach(list, i, e) {
            csca_join(sans, sizeof(sans), json_object_get(e, "sans"));
            printf("%-6lld  %-8s  %-16s  %-20s  %-20s  %s  [%s]\n",
                   (long long)json_integer_value(json_object_get(e, "id")), csca_jstr(e, "disposition"),
                   csca_jstr(e, "template"), csca_jstr(e, "requester"), csca_jstr(e, "submitted"),
                   csca_jstr(e, "subject"), sans);
        }
        goto out;
    }
    if (strcmp(sub, "show") && strcmp(sub, "issue") && strcmp(sub, "deny"))
        return csca_usage("request", "'%s' is not a request subcommand", sub);
    if (argc - optind != 1)
        return csca_usage("request", "'request %s' needs one request ID", sub);
    if ((rc = parse_id(&id, argv[optind], "request")) != 0)
        return rc;
    if (strcmp(sub, "deny") == 0 && (!reason || !*reason))
        return csca_usage("request", "'request deny' needs --reason S (the requester sees it)");
    if ((rc = csca_open(&ca, g)) < 0)
        goto out;
    if (strcmp(sub, "issue") == 0) {
        if ((rc = cscert_ca_request_issue(&r, ca, id, g->actor)) < 0)
            goto out;
        printf("Request %lld issued: serial %s%s.\n", (long long)id, r.serial,
               r.capped ? " (validity cut to the CA's own notAfter)" : "");
        printf("Retrieve it: csca retrieve %lld --out FILE (online clients fetch it themselves)\n",
               (long long)id);
    } else if (strcmp(sub, "deny") == 0) {
        if ((rc = cscert_ca_request_deny(ca, id, reason, g->actor)) == CSCERT_OK)
            printf("Request %lld denied: %s\n", (long long)id, reason);
    } else {
        if ((rc = cscert_ca_request_get(&r, ca, id)) < 0)
            goto out;
        /* the list carries the subject, names and times of the entry */
        if ((rc = cscert_ca_request_list(&list, ca, 0)) < 0)
            goto out;
        e = request_find(list, id);
        if (json) {
            csca_json_print(e ? json_incref(e)
                              : json_pack("{s:I, s:s}", "id", (json_int_t)id, "disposition",
                                          cscert_ca_disposition_name(r.disposition)));
            goto out;
        }
        printf("Request:     %lld\nState:       %s\n", (long long)id,
               cscert_ca_disposition_name(r.disposition));
        if (e) {
            char sans[1024];
            csca_join(sans, sizeof(sans), json_object_get(e, "sans"));
            printf("Template:    %s\nRequester:   %s\nSource:      %s\nSubject:     %s\n"
                   "Names:       %s\nSubmitted:   %s\nDecided:     %s\n",
                   csca_jstr(e, "template"), csca_jstr(e, "requester"), csca_jstr(e, "source"), csca_jstr(e, "subject"),
                   sans, csca_jstr(e, "submitted"), csca_jstr(e, "decided"));
        }
        if (r.disposition == CSCERT_CA_ISSUED)
            printf("Serial:      %s\n", r.serial);
        if (r.disposition == CSCERT_CA_DENIED)
            printf("Reason:      %s\n", r.reason);
    }
out:
    cscert_ca_result_clear(&r);
    json_decref(list);
    cscert_ca_free(ca);
    return rc;
}

static const char submit_help[] =
    "usage: csca submit FILE --template NAME\n\n"
    "Submit an offline request (PKCS#10, PEM or DER) for a template, as the CA\n"
    "administrator (no Enroll check). The template's rules apply: a refused request\n"
    "leaves no trace but the audit log. Prints the request ID and its disposition;\n"
    "issued or later issued, fetch it with 'csca retrieve ID --out FILE'.\n";

/* PEM when it looks like text armour, else DER (the library parses both). */
static int load_request(X509_REQ **out, const char *path)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    if ((rc = csca_read_file(&buf, &len, path, CSCA_REQUEST_FILE_MAX)) < 0)
        return rc;
    if (len == 0)
        rc = cscert_error_set(CSCERT_EINVAL, path, "the file is empty", "give the request file (PKCS#10)");
    else if (memmem(buf, len, "-----BEGIN", 10))
        rc = cscert_csr_from_pem(out, (const char *)buf, len);
    else
        rc = cscert_csr_from_der(out, buf, len);
    if (rc < 0 && *out == NULL && len > 0) {
        const unsigned char *p = buf;
        char why[256];
        long olen = 0;
        int tag = 0, cls = 0, pem = len && memmem(buf, len, "-----BEGIN", 10) != NULL;
        /* OpenSSL's own header reader: a DER SEQUENCE longer than the file,
         * or PEM armour without its END line, is a cut-off copy. */
        int truncated = pem ? memmem(buf, len, "-----END", 8) == NULL
                            : (len > 0 && buf[0] == 0x30
                               && (ASN1_get_object(&p, &olen, &tag, &cls, (long)len) & 0x80));
        ERR_clear_error();
        snprintf(why, sizeof(why), "%s", cscert_error_last());
        rc = cscert_error_setf(CSCERT_EINVAL, path,
                               truncated ? "copy the whole request file again"
                                         : "give the PKCS#10 request file (PEM or DER) the server wrote",
                               "%s (%s)", truncated ? "truncated PKCS#10 request" :
                               "not a PKCS#10 certificate request", why);
    }
    free(buf);
    return rc;
}

int cmd_submit(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = { { "help", no_argument, NULL, O_HELP },
                                          { "template", required_argument, NULL, O_TEMPLATE },
                                          { NULL, 0, NULL, 0 } };
    const char *tmpl = NULL, *file;
    cscert_ca *ca = NULL;
    cscert_ca_submission s;
    cscert_ca_result r;
    X509_REQ *req = NULL;
    char *requester = NULL, *source = NULL;
    int c, rc;

    memset(&s, 0, sizeof(s));
    memset(&r, 0, sizeof(r));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_HELP: fputs(submit_help, stdout); return 0;
        case O_TEMPLATE: tmpl = optarg; break;
        default: return csca_usage("submit", "unknown option");
        }
    }
    if (argc - optind != 1 || !tmpl)
        return csca_usage("submit", "give one request FILE and --template NAME");
    file = argv[optind];
    if ((rc = load_request(&req, file)) < 0)
        goto out;
    if ((rc = csca_open(&ca, g)) < 0)
        goto out;
    if (asprintf(&requester, "admin:%s", g->actor) < 0 || asprintf(&source, "offline:%s", file) < 0) {
        rc = cscert__oom();
        goto out;
    }
    s.req = req;
    s.template_name = tmpl;
    s.requester = requester;
    s.groups = NULL;
    s.source = source;
    if ((rc = cscert_ca_submit(&r, ca, &s)) < 0)
        goto out;
    printf("Request ID: %lld\nDisposition: %s%s\n", (long long)r.id,
           cscert_ca_disposition_name(r.disposition), r.repeated ? " (submitted before)" : "");
    switch (r.disposition) {
    case CSCERT_CA_ISSUED:
        printf("Serial: %s%s\nRetrieve it: csca retrieve %lld --out FILE\n", r.serial,
               r.capped ? " (validity cut to the CA's own notAfter)" : "", (long long)r.id);
        break;
    case CSCERT_CA_PENDING:
        printf("The template needs approval: csca request issue %lld (or deny), then\n"
               "csca retrieve %lld --out FILE\n", (long long)r.id, (long long)r.id);
        break;
    case CSCERT_CA_DENIED:
        printf("Reason: %s\n", r.reason);
        break;
    }
out:
    free(requester);
    free(source);
    X509_REQ_free(req);
    cscert_ca_result_clear(&r);
    cscert_ca_free(ca);
    return rc;
}

static const char retrieve_help[] =
    "usage: csca retrieve ID --out FILE [--format pem|p7b]\n\n"
    "Write an issued request's certificate with the CA chain as a PKCS#7 certs-only:\n"
    "PEM armour (-----BEGIN PKCS7-----, the default) or DER (p7b). Import it on the\n"
    "server with 'cscert import FILE'. Pending and denied requests are refused.\n";

int cmd_retrieve(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = { { "help", no_argument, NULL, O_HELP },
                                          { "out", required_argument, NULL, O_OUT },
                                          { "format", required_argument, NULL, O_FORMAT },
                                          { NULL, 0, NULL, 0 } };
    const char *out = NULL;
    cscert_ca *ca = NULL;
    cscert_ca_result r;
    int64_t id = 0;
    int c, rc, pem = 1;

    memset(&r, 0, sizeof(r));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_HELP: fputs(retrieve_help, stdout); return 0;
        case O_OUT: out = optarg; break;
        case O_FORMAT: if ((rc = csca_format_pem(&pem, optarg, "retrieve")) != 0) return rc; break;
        default: return csca_usage("retrieve", "unknown option");
        }
    }
    if (argc - optind != 1 || !out)
        return csca_usage("retrieve", "give one request ID and --out FILE");
    if ((rc = parse_id(&id, argv[optind], "retrieve")) != 0)
        return rc;
    if ((rc = csca_open(&ca, g)) < 0 || (rc = cscert_ca_request_get(&r, ca, id)) < 0)
        goto out;
    if (r.disposition == CSCERT_CA_PENDING) {
        rc = cscert_error_setf(CSCERT_EPENDING, argv[optind],
                               "issue it first: csca request issue ID (or deny it)",
                               "request %lld is pending approval, there is no certificate yet",
                               (long long)id);
        goto out;
    }
    if (r.disposition == CSCERT_CA_DENIED) {
        rc = cscert_error_setf(CSCERT_EPOLICY, argv[optind], "submit a new request if it should be issued",
                               "request %lld was denied: %s", (long long)id, r.reason);
        goto out;
    }
    if (!r.cert) {
        rc = cscert_error_setf(CSCERT_ENOTFOUND, argv[optind], "see 'csca request show ID'",
                               "request %lld has no certificate", (long long)id);
        goto out;
    }
    if ((rc = csca_write_p7(ca, r.cert, out, pem)) == CSCERT_OK)
        printf("Certificate of request %lld (serial %s) with the CA chain written to %s\n"
               "On the server: cscert import %s\n", (long long)id, r.serial, out, out);
out:
    cscert_ca_result_clear(&r);
    cscert_ca_free(ca);
    return rc;
}
