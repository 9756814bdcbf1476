/* cmd_store.c: the certificate store's commands: `import`, `export`,
 * `set`, `get`, `remove`, `store list`, `show`, `remove-cert`, `check`
 * (Import/Export/Set/Get/Remove-CsCertificate, the MMC Certificates
 * snap-in, Test-CsCertificateConfiguration). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "cli.h"
#include "cscert/assign.h"
#include "cscert/certinfo.h"
#include "cscert/check.h"
#include "cscert/import.h"
#include "cscert/x509.h"

static const char import_usage[] =
    "usage: cscert import FILE [--password-file F] [--private-key-exportable]\n"
    "                          [--store My|Root|CA] [--friendly-name S]\n\n"
    "Import a certificate: a CA's response to a request made here (PEM, DER or\n"
    "PKCS#7 .p7b, with or without its chain), which is matched to its pending key;\n"
    "a PKCS#12 (.pfx) with its key; or a root or intermediate CA certificate.\n"
    "The leaf goes to My, intermediates to CA; a self-signed root only to Root\n"
    "and only with --store Root. Prints the thumbprint. One transaction: a refusal\n"
    "leaves the store as it was.\n\n"
    "  --password-file F         PKCS#12 password: first line of F ('-' = stdin)\n"
    "  --private-key-exportable  mark the key exportable (R17)\n"
    "  --store S                 My, Root (trust a root) or CA\n"
    "  --friendly-name S         display name of the leaf\n\n"
    "Examples:\n"
    "  cscert import contoso-root.cer --store Root\n"
    "  cscert import fe01-response.p7b\n"
    "  cscert import edge.pfx --password-file /root/pfx.pass --private-key-exportable\n";

static const char export_usage[] =
    "usage: cscert export --thumbprint X --path FILE --password-file F [--no-chain]\n"
    "       cscert export --thumbprint X --path FILE --format pem [--no-chain]\n\n"
    "Write a PKCS#12 (.pfx) with the private key and the chain (AES-256-CBC, PBKDF2,\n"
    "HMAC-SHA256 MAC), or with --format pem the certificate and chain without the key.\n"
    "The file is created mode 0600 and is never overwritten. A key not marked\n"
    "exportable never leaves the store.\n\n"
    "  --thumbprint X     the certificate (any case; spaces and ':' ignored)\n"
    "  --path FILE        the new file\n"
    "  --password-file F  PKCS#12 password: first line of F ('-' = stdin)\n"
    "  --format F         pkcs12 (default) or pem\n"
    "  --chain            include the chain from Root/CA (the default)\n"
    "  --no-chain         the certificate alone\n\n"
    "Example:\n"
    "  cscert export --thumbprint 3F2A... --path /root/edge.pfx --password-file /root/pfx.pass\n";

static const char set_usage[] =
    "usage: cscert set --type T[,T] --thumbprint X [--roll --effective-date ISO8601] [--force]\n\n"
    "Assign a certificate of My to uses of this server. Refused, unless --force\n"
    "(said loudly and audited): a certificate without its private key, expired or\n"
    "not yet valid, whose chain does not reach Root, or lacking a name the use\n"
    "requires here (each named, with the 'cscert request' command that fixes it);\n"
    "and several uses at once when separate certificates serve them today.\n\n"
    "  --type T[,T]              uses (any case): Default, WebServicesInternal, ...\n"
    "  --thumbprint X            the certificate (any case; spaces and ':' ignored)\n"
    "  --roll                    stage the certificate: it takes over at --effective-date;\n"
    "                            until then the one in force now (PreviousThumbprint)\n"
    "                            keeps serving and cannot be removed\n"
    "  --effective-date D        ISO 8601, e.g. 2026-12-01T00:00:00Z\n"
    "  --force                   assign despite the refusals above\n\n"
    "Example:\n"
    "  cscert set --type Default,WebServicesInternal,WebServicesExternal --thumbprint 3F2A...\n";

static const char get_usage[] =
    "usage: cscert get [--type T[,T]] [--json]\n\n"
    "The assigned certificates, one block a use: Use, Thumbprint, Subject, Issuer,\n"
    "SerialNumber, NotBefore, NotAfter, AlternativeNames (every one, one a line),\n"
    "EffectiveDate, PreviousThumbprint; and InForce while a staged roll keeps the\n"
    "previous certificate serving.\n\n"
    "  --type T[,T]   only these uses\n"
    "  --json         a JSON array (dates RFC 3339 UTC)\n\n"
    "Example: cscert get --type WebServicesExternal\n";

static const char remove_usage[] =
    "usage: cscert remove --type T[,T] [--previous]\n\n"
    "Unassign the uses (the certificates stay in the store). With --previous, as\n"
    "Remove-CsCertificate -Previous: forget only the previous certificate of a roll\n"
    "that has taken effect (refused while the roll is staged: it is still in force).\n\n"
    "Example: cscert remove --type OAuthTokenIssuer --previous\n";

static const char store_usage[] =
    "usage: cscert store list [--store My|Root|CA] [--json]\n\n"
    "The certificate store: thumbprint, store, subject, expiry, private key,\n"
    "exportable, friendly name and the uses each certificate is assigned to.\n\n"
    "Example: cscert store list --store My\n";

static const char show_usage[] =
    "usage: cscert show THUMBPRINT [--json] [--pem]\n\n"
    "One certificate in full, as the MMC details tab shows it: subject, issuer,\n"
    "serial, validity, every SAN, key, signature algorithm, EKU, key usage,\n"
    "basic constraints, CRL distribution points, SHA-1 and SHA-256 fingerprints,\n"
    "and its chain against Root + CA.\n\n"
    "  --json   one JSON object\n"
    "  --pem    the certificate in PEM instead\n\n"
    "Example: cscert show 3F2A...\n";

static const char remove_cert_usage[] =
    "usage: cscert remove-cert THUMBPRINT\n\n"
    "Delete a certificate (and its private key, when no other certificate uses it)\n"
    "that no use is assigned to; refused while a use points at it.\n\n"
    "Example: cscert remove-cert 3F2A...\n";

static const char check_usage[] =
    "usage: cscert check [--json] [--warn-days N]\n\n"
    "Every problem of the uses this server's role needs, each with its fix:\n"
    "unassigned uses, a missing certificate or private key, a chain that does not\n"
    "reach Root (which link), expired or expiring within N days (30), each name the\n"
    "topology requires that the certificate lacks, RSA below 2048 bits, SHA-1.\n"
    "Changes nothing. Exit 0 when clean, 3 when anything was found.\n\n"
    "  --json          {\"clean\": bool, \"findings\": [...]}\n"
    "  --warn-days N   expiry warning horizon in days (default 30)\n\n"
    "Example: cscert check --warn-days 60\n";

enum { O_HELP = 256, O_JSON, O_PASSWORD_FILE, O_EXPORTABLE, O_STORE, O_FRIENDLY, O_THUMB,
       O_PATH, O_FORMAT, O_CHAIN, O_NO_CHAIN, O_TYPE, O_ROLL, O_EFFECTIVE, O_FORCE, O_PEM,
       O_WARN_DAYS, O_PREVIOUS };

/* The store, or the library's error code. */
#define STORE_OR_FAIL(st, cli)                                   \
    do {                                                         \
        if (!((st) = cli_store(cli)))                            \
            return cscert_error_code() ? cscert_error_code() : CSCERT_EIO; \
    } while (0)

/* Bad options: getopt already printed what; point at --help. */
static int bad_option(const char *cmd)
{
    return cli_usage(cmd, "unknown or incomplete option");
}

/* ---- import ---- */

int cmd_import(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "password-file", required_argument, NULL, O_PASSWORD_FILE },
        { "private-key-exportable", no_argument, NULL, O_EXPORTABLE },
        { "store", required_argument, NULL, O_STORE },
        { "friendly-name", required_argument, NULL, O_FRIENDLY },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    cscert_import_opts o = { .store = CSCERT_STORE_ALL };
    cscert_import_result r;
    const char *pwfile = NULL, *file;
    char *password = NULL, detail[160];
    cscert_store *st;
    int c, rc;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_PASSWORD_FILE: pwfile = optarg; break;
        case O_EXPORTABLE: o.exportable = 1; break;
        case O_STORE:
            if (cscert_store_kind_parse(&o.store, optarg) < 0 || o.store == CSCERT_STORE_ALL)
                return cli_usage("import", "--store takes My, Root or CA, not '%s'", optarg);
            break;
        case O_FRIENDLY: o.friendly_name = optarg; break;
        case O_HELP: fputs(import_usage, stdout); return CSCERT_OK;
        default: return bad_option("import");
        }
    }
    if (optind + 1 != argc)
        return cli_usage("import", optind >= argc ? "which file? cscert import FILE"
                                                  : "one file at a time");
    file = argv[optind];
    STORE_OR_FAIL(st, cli);
    if (pwfile && (rc = cli_read_password_file(&password, pwfile)) < 0)
        return rc;
    o.password = password;
    rc = cscert_import_file(&r, st, file, &o);
    cli_secret_free(password);
    if (rc < 0) {
        cscert_store_audit(st, "import", file, "refused", cscert_error_last());
        return rc;
    }
    snprintf(detail, sizeof(detail), "%s into %s%s%s%s", r.thumbprint, cscert_store_kind_name(r.store),
             r.has_key ? ", with its key" : "", r.pending_id ? ", completes a pending request" : "",
             r.already ? ", already stored" : "");
    cscert_store_audit(st, "import", file, "ok", detail);
    if (r.already) {
        printf("%s is already in store %s; nothing to import.\n", r.thumbprint,
               cscert_store_kind_name(r.store));
    } else {
        printf("Imported %s (%s) into %s", r.thumbprint, cscert_import_format_name(r.format),
               cscert_store_kind_name(r.store));
        if (r.store == CSCERT_STORE_MY)
            printf(r.has_key ? ", private key %s" : ", no private key",
                   r.exportable ? "exportable" : "not exportable");
        if (r.pending_id)
            printf("; completes request %lld", (long long)r.pending_id);
        if (r.added > 1)
            printf("; %zu certificates added", r.added);
        printf(".\n");
    }
    printf("%s\n", r.thumbprint);
    return CSCERT_OK;
}

/* ---- export ---- */

int cmd_export(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "thumbprint", required_argument, NULL, O_THUMB },
        { "path", required_argument, NULL, O_PATH },
        { "password-file", required_argument, NULL, O_PASSWORD_FILE },
        { "format", required_argument, NULL, O_FORMAT },
        { "chain", no_argument, NULL, O_CHAIN },
        { "no-chain", no_argument, NULL, O_NO_CHAIN },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *thumb_in = NULL, *path = NULL, *pwfile = NULL;
    cscert_export_format fmt = CSCERT_EXPORT_PKCS12;
    char thumb[41], *password = NULL;
    cscert_store *st;
    int c, rc, chain = 1;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_THUMB: thumb_in = optarg; break;
        case O_PATH: path = optarg; break;
        case O_PASSWORD_FILE: pwfile = optarg; break;
        case O_FORMAT:
            if (!strcasecmp(optarg, "pem"))
                fmt = CSCERT_EXPORT_PEM;
            else if (!strcasecmp(optarg, "pkcs12") || !strcasecmp(optarg, "pfx"))
                fmt = CSCERT_EXPORT_PKCS12;
            else
                return cli_usage("export", "--format takes pkcs12 or pem, not '%s'", optarg);
            break;
        case O_CHAIN: chain = 1; break;
        case O_NO_CHAIN: chain = 0; break;
        case O_HELP: fputs(export_usage, stdout); return CSCERT_OK;
        default: return bad_option("export");
        }
    }
    if (optind < argc)
        return cli_usage("export", "unexpected argument '%s'", argv[optind]);
    if (!thumb_in || !path)
        return cli_usage("export", "--thumbprint and --path are required");
    if (fmt == CSCERT_EXPORT_PKCS12 && !pwfile)
        return cli_usage("export", "a PKCS#12 needs --password-file F (or --format pem, without the key)");
    if ((rc = cscert_x509_thumbprint_normalize(thumb, thumb_in)) < 0)
        return rc;
    STORE_OR_FAIL(st, cli);
    if (pwfile && fmt == CSCERT_EXPORT_PKCS12 && (rc = cli_read_password_file(&password, pwfile)) < 0)
        return rc;
    rc = cscert_export_file(st, thumb, path, fmt, password, chain);
    cli_secret_free(password);
    cscert_store_audit(st, "export", thumb, rc < 0 ? "refused" : "ok",
                       rc < 0 ? cscert_error_last() : path);
    if (rc < 0)
        return rc;
    printf("Exported %s to %s (%s%s).\n", thumb, path,
           fmt == CSCERT_EXPORT_PEM ? "PEM, no private key" : "PKCS#12, AES-256, with the private key",
           chain ? ", with the chain" : "");
    return CSCERT_OK;
}

/* ---- set, get, remove ---- */

int cmd_set(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "type", required_argument, NULL, O_TYPE },
        { "thumbprint", required_argument, NULL, O_THUMB },
        { "roll", no_argument, NULL, O_ROLL },
        { "effective-date", required_argument, NULL, O_EFFECTIVE },
        { "force", no_argument, NULL, O_FORCE },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    cscert_assign_opts o = { 0 };
    char **uses = NULL, thumb[41];
    size_t n = 0, i;
    cscert_store *st;
    int c, rc;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_TYPE: o.types = optarg; break;
        case O_THUMB: o.thumbprint = optarg; break;
        case O_ROLL: o.roll = 1; break;
        case O_EFFECTIVE: o.effective_date = optarg; break;
        case O_FORCE: o.force = 1; break;
        case O_HELP: fputs(set_usage, stdout); return CSCERT_OK;
        default: return bad_option("set");
        }
    }
    if (optind < argc)
        return cli_usage("set", "unexpected argument '%s'", argv[optind]);
    if (!o.types || !o.thumbprint)
        return cli_usage("set", "--type and --thumbprint are required");
    if (o.roll != !!o.effective_date)
        return cli_usage("set", "--roll and --effective-date go together");
    STORE_OR_FAIL(st, cli);
    if ((rc = cscert_assign_set(st, &o)) < 0)
        return rc;
    if ((rc = cscert_assign_parse_uses(&uses, &n, o.types)) < 0)
        return rc;
    if ((rc = cscert_x509_thumbprint_normalize(thumb, o.thumbprint)) < 0)
        goto out;
    for (i = 0; i < n; i++)
        printf("%s -> %s%s%s\n", uses[i], thumb, o.roll ? ", effective " : "",
               o.roll ? o.effective_date : "");
out:
    cscert_assign_uses_free(uses);
    return rc;
}

static void print_field(const char *k, json_t *v)
{
    printf("%-19s: %s\n", k, json_is_string(v) ? json_string_value(v) : "");
}

int cmd_get(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "type", required_argument, NULL, O_TYPE },
        { "json", no_argument, NULL, O_JSON },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *types = NULL;
    json_t *arr = NULL, *e, *n;
    cscert_store *st;
    size_t i, j;
    int c, rc, json = 0;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_TYPE: types = optarg; break;
        case O_JSON: json = 1; break;
        case O_HELP: fputs(get_usage, stdout); return CSCERT_OK;
        default: return bad_option("get");
        }
    }
    if (optind < argc)
        return cli_usage("get", "unexpected argument '%s'", argv[optind]);
    STORE_OR_FAIL(st, cli);
    if ((rc = cscert_assign_get(&arr, st, types)) < 0)
        return rc;
    if (json) {
        cli_json_print(arr);
        return CSCERT_OK;
    }
    if (json_array_size(arr) == 0)
        printf("No certificate is assigned%s.\n", types ? " to these uses" : "");
    json_array_foreach(arr, i, e) {
        static const char *const keys[] = { "Use", "Thumbprint", "Subject", "Issuer", "SerialNumber",
                                            "NotBefore", "NotAfter" };

        if (i)
            printf("\n");
        for (j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
            print_field(keys[j], json_object_get(e, keys[j]));
        /* Spec 5.1: never truncated; one name a line. */
        json_array_foreach(json_object_get(e, "AlternativeNames"), j, n)
            printf("%-19s: %s\n", j ? "" : "AlternativeNames", json_string_value(n));
        if (json_array_size(json_object_get(e, "AlternativeNames")) == 0)
            print_field("AlternativeNames", NULL);
        print_field("EffectiveDate", json_object_get(e, "EffectiveDate"));
        print_field("PreviousThumbprint", json_object_get(e, "PreviousThumbprint"));
        if (strcmp(json_string_value(json_object_get(e, "InForce")), json_string_value(json_object_get(e, "Thumbprint"))))
            printf("%-19s: %s (staged roll: PreviousThumbprint serves until EffectiveDate)\n", "InForce",
                   json_string_value(json_object_get(e, "InForce")));
    }
    json_decref(arr);
    return CSCERT_OK;
}

int cmd_remove(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "type", required_argument, NULL, O_TYPE },
        { "previous", no_argument, NULL, O_PREVIOUS },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    const char *types = NULL;
    cscert_store *st;
    int c, rc, previous = 0;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_TYPE: types = optarg; break;
        case O_PREVIOUS: previous = 1; break;
        case O_HELP: fputs(remove_usage, stdout); return CSCERT_OK;
        default: return bad_option("remove");
        }
    }
    if (optind < argc)
        return cli_usage("remove", "unexpected argument '%s' (remove-cert deletes a certificate)",
                         argv[optind]);
    if (!types)
        return cli_usage("remove", "--type is required");
    STORE_OR_FAIL(st, cli);
    if (previous) {
        if ((rc = cscert_assign_remove_previous(st, types)) < 0)
            return rc;
        printf("Previous certificate forgotten: %s\n", types);
        return CSCERT_OK;
    }
    if ((rc = cscert_assign_remove(st, types)) < 0)
        return rc;
    printf("Unassigned: %s\n", types);
    return CSCERT_OK;
}

/* ---- store list, show, remove-cert ---- */

/* The uses thumb serves: assigned, or in force until a staged roll's
 * effective date. */
static void uses_of(char *buf, size_t n, const cscert_assignment *a, size_t na, const char *thumb)
{
    size_t i, off = 0;
    time_t now = time(NULL);

    buf[0] = '\0';
    for (i = 0; i < na && off < n; i++)
        if (!strcmp(a[i].thumbprint, thumb) || !strcmp(cscert_store_assignment_in_force(&a[i], now), thumb)) {
            int w = snprintf(buf + off, n - off, "%s%s", off ? "," : "", a[i].use);

            if (w < 0)
                break;
            off += (size_t)w;
        }
}

static int store_list(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "store", required_argument, NULL, O_STORE },
        { "json", no_argument, NULL, O_JSON },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    cscert_store_kind kind = CSCERT_STORE_ALL;
    cscert_cert_summary *v = NULL;
    cscert_assignment *a = NULL;
    size_t n = 0, na = 0, i;
    cscert_store *st;
    int c, rc, json = 0;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_STORE:
            if (cscert_store_kind_parse(&kind, optarg) < 0)
                return cli_usage("store list", "--store takes My, Root or CA, not '%s'", optarg);
            break;
        case O_JSON: json = 1; break;
        case O_HELP: fputs(store_usage, stdout); return CSCERT_OK;
        default: return bad_option("store list");
        }
    }
    if (optind < argc)
        return cli_usage("store list", "unexpected argument '%s'", argv[optind]);
    STORE_OR_FAIL(st, cli);
    if ((rc = cscert_store_list_summaries(&v, &n, st, kind)) < 0
        || (rc = cscert_store_list_assignments(&a, &na, st)) < 0)
        goto out;
    if (json)
        cli_json_array_begin();
    else if (n == 0)
        printf("The store is empty.\n");
    else
        printf("%-40s  %-5s %-20s  %-3s  %-6s  %s\n", "Thumbprint", "Store", "NotAfter", "Key",
               "Export", "Subject / \"FriendlyName\"  Uses");
    for (i = 0; i < n; i++) {
        const cscert_cert_summary *c = &v[i];
        const char *subject = c->subject, *na_s = c->not_after;
        char uses[256];

        uses_of(uses, sizeof(uses), a, na, c->thumbprint);
        if (json) {
            cli_json_array_item(json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:s?, s:s}",
                "thumbprint", c->thumbprint, "store", cscert_store_kind_name(c->store),
                "subject", subject ? subject : "", "not_after", na_s, "has_key", c->key_id > 0,
                "exportable", c->exportable, "friendly_name", c->friendly_name, "uses", uses), i);
        } else {
            printf("%-40s  %-5s %-20s  %-3s  %-6s  %s\n", c->thumbprint,
                   cscert_store_kind_name(c->store), na_s, c->key_id > 0 ? "yes" : "no",
                   c->exportable ? "yes" : "no", subject ? subject : "");
            if (c->friendly_name || *uses)
                printf("%-40s  %-5s %-20s  %-3s  %-6s  %s%s%s%s\n", "", "", "", "", "",
                       c->friendly_name ? "\"" : "", c->friendly_name ? c->friendly_name : "",
                       c->friendly_name ? "\"  " : "", *uses ? uses : "");
        }
    }
    if (json)
        cli_json_array_end(n);
out:
    cscert_cert_summaries_free(v, n);
    free(a);
    return rc;
}

int cmd_store(struct cli *cli, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(store_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CSCERT_OK;
    }
    if (strcmp(argv[1], "list") == 0)
        return store_list(cli, argc - 1, argv + 1);
    return cli_usage("store", "'%s' is not a store subcommand (list)", argv[1]);
}

static void print_list(const char *k, json_t *arr)
{
    size_t i;
    json_t *v;

    if (json_array_size(arr) == 0)
        printf("%-24s: \n", k);
    json_array_foreach(arr, i, v)
        printf("%-24s: %s\n", i ? "" : k, json_string_value(v));
}

int cmd_show(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, O_JSON },
        { "pem", no_argument, NULL, O_PEM },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    cscert_cert_rec *rec = NULL;
    json_t *o = NULL, *k, *bc, *ch;
    char thumb[41];
    cscert_store *st;
    int c, rc, json = 0, pem = 0;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: json = 1; break;
        case O_PEM: pem = 1; break;
        case O_HELP: fputs(show_usage, stdout); return CSCERT_OK;
        default: return bad_option("show");
        }
    }
    if (optind + 1 != argc)
        return cli_usage("show", "which certificate? cscert show THUMBPRINT");
    if ((rc = cscert_x509_thumbprint_normalize(thumb, argv[optind])) < 0)
        return rc;
    STORE_OR_FAIL(st, cli);
    if ((rc = cscert_store_get_cert(&rec, st, thumb)) < 0)
        return rc;
    if (pem) {
        PEM_write_X509(stdout, rec->x509);
        goto out;
    }
    if ((rc = cscert_certinfo_json(&o, rec->x509, st)) < 0)
        goto out;
    json_object_set_new(o, "thumbprint", json_string(rec->thumbprint));
    json_object_set_new(o, "store", json_string(cscert_store_kind_name(rec->store)));
    json_object_set_new(o, "friendly_name", rec->friendly_name ? json_string(rec->friendly_name) : json_null());
    json_object_set_new(o, "has_private_key", json_boolean(rec->key_id > 0));
    json_object_set_new(o, "exportable", json_boolean(rec->exportable));
    if (json) {
        cli_json_print(o);
        o = NULL;
        goto out;
    }
    k = json_object_get(o, "key");
    bc = json_object_get(o, "basic_constraints");
    ch = json_object_get(o, "chain");
    printf("%-24s: %s\n", "Thumbprint", rec->thumbprint);
    printf("%-24s: %s\n", "Store", cscert_store_kind_name(rec->store));
    printf("%-24s: %s\n", "FriendlyName", rec->friendly_name ? rec->friendly_name : "");
    printf("%-24s: %s\n", "Subject", json_string_value(json_object_get(o, "subject")));
    printf("%-24s: %s\n", "Issuer", json_string_value(json_object_get(o, "issuer")));
    printf("%-24s: %s\n", "SerialNumber", json_string_value(json_object_get(o, "serial_number")));
    printf("%-24s: %s\n", "NotBefore", json_string_value(json_object_get(o, "not_before")));
    printf("%-24s: %s\n", "NotAfter", json_string_value(json_object_get(o, "not_after")));
    print_list("AlternativeNames", json_object_get(o, "dns_names"));
    printf("%-24s: %s %d%s%s\n", "PublicKey", json_string_value(json_object_get(k, "type")),
           (int)json_integer_value(json_object_get(k, "bits")), json_object_get(k, "curve") ? " " : "",
           json_object_get(k, "curve") ? json_string_value(json_object_get(k, "curve")) : "");
    printf("%-24s: %s\n", "SignatureAlgorithm", json_string_value(json_object_get(o, "signature_algorithm")));
    print_list("EnhancedKeyUsage", json_object_get(o, "eku"));
    print_list("KeyUsage", json_object_get(o, "key_usage"));
    if (json_is_object(bc) && json_is_integer(json_object_get(bc, "path_length")))
        printf("%-24s: CA=%s, PathLength=%lld\n", "BasicConstraints",
               json_is_true(json_object_get(bc, "ca")) ? "true" : "false",
               (long long)json_integer_value(json_object_get(bc, "path_length")));
    else if (json_is_object(bc))
        printf("%-24s: CA=%s\n", "BasicConstraints", json_is_true(json_object_get(bc, "ca")) ? "true" : "false");
    else
        printf("%-24s: \n", "BasicConstraints");
    print_list("CRLDistributionPoints", json_object_get(o, "crl_distribution_points"));
    printf("%-24s: %s\n", "SHA1", json_string_value(json_object_get(o, "sha1")));
    printf("%-24s: %s\n", "SHA256", json_string_value(json_object_get(o, "sha256")));
    printf("%-24s: %s\n", "PrivateKey", rec->key_id > 0 ? (rec->exportable ? "yes, exportable" : "yes, not exportable") : "no");
    if (json_is_true(json_object_get(ch, "trusted")))
        printf("%-24s: trusted (%lld certificates to a root in Root)\n", "Chain",
               (long long)json_integer_value(json_object_get(ch, "length")));
    else
        printf("%-24s: NOT trusted: %s at depth %lld ('%s', issuer '%s'); import the root with"
               " 'cscert import ROOT --store Root' or 'cscert ca trust'\n", "Chain",
               json_string_value(json_object_get(ch, "error")),
               (long long)json_integer_value(json_object_get(ch, "depth")),
               json_string_value(json_object_get(ch, "subject")),
               json_string_value(json_object_get(ch, "issuer")));
out:
    json_decref(o);
    cscert_cert_rec_free(rec);
    return rc;
}

int cmd_remove_cert(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    cscert_cert_rec *rec = NULL;
    cscert_cert_summary *all = NULL;
    cscert_pending *p = NULL;
    cscert_assignment *a = NULL;
    size_t na = 0, nall = 0, i;
    char thumb[41], uses[256];
    cscert_store *st;
    int c, rc, key_shared = 0, in_tx = 0;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_HELP: fputs(remove_cert_usage, stdout); return CSCERT_OK;
        default: return bad_option("remove-cert");
        }
    }
    if (optind + 1 != argc)
        return cli_usage("remove-cert", "which certificate? cscert remove-cert THUMBPRINT");
    if ((rc = cscert_x509_thumbprint_normalize(thumb, argv[optind])) < 0)
        return rc;
    STORE_OR_FAIL(st, cli);
    /* Checks and deletion in one write transaction: a `set` of this
     * certificate in another process cannot slip in between. */
    if ((rc = cscert_store_begin(st)) < 0)
        goto out;
    in_tx = 1;
    if ((rc = cscert_store_get_cert(&rec, st, thumb)) < 0)
        goto out;
    if ((rc = cscert_store_list_assignments(&a, &na, st)) < 0)
        goto out;
    uses_of(uses, sizeof(uses), a, na, thumb);
    if (*uses) {
        rc = cscert_error_setf(CSCERT_EPOLICY, thumb,
                               "assign another certificate first, or 'cscert remove --type ...'; a certificate "
                               "that a staged roll replaces can go once the roll's effective date has passed",
                               "still serves %s (assigned, or in force until a staged roll takes over)", uses);
        goto out;
    }
    /* The key goes with the certificate unless something else needs it. */
    if (rec->key_id > 0) {
        if ((rc = cscert_store_list_summaries(&all, &nall, st, CSCERT_STORE_ALL)) < 0)
            goto out;
        for (i = 0; i < nall; i++)
            key_shared |= all[i].key_id == rec->key_id && strcmp(all[i].thumbprint, thumb);
        rc = cscert_store_find_pending_by_key(&p, st, rec->key_id);
        key_shared |= rc == CSCERT_OK;
        cscert_error_clear();
    }
    if ((rc = cscert_store_delete_cert(st, thumb)) < 0
        || (rec->key_id > 0 && !key_shared && (rc = cscert_store_delete_key(st, rec->key_id)) < 0)
        || (rc = cscert_store_commit(st)) < 0)
        goto out;
    in_tx = 0;
    printf("Deleted %s from %s%s.\n", thumb, cscert_store_kind_name(rec->store),
           rec->key_id > 0 && !key_shared ? " with its private key" : "");
out:
    if (in_tx)
        cscert_store_rollback(st);
    cscert_store_audit(st, "remove-cert", thumb, rc < 0 ? "refused" : "ok", rc < 0 ? cscert_error_last() : NULL);
    cscert_pending_free(p);
    cscert_cert_summaries_free(all, nall);
    cscert_cert_rec_free(rec);
    free(a);
    return rc;
}

/* ---- check ---- */

int cmd_check(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, O_JSON },
        { "warn-days", required_argument, NULL, O_WARN_DAYS },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    cscert_check_opts o = { .warn_days = CSCERT_CHECK_WARN_DAYS };
    cscert_finding *f = NULL;
    cscert_store *st;
    size_t n = 0, i, errors = 0;
    char *end;
    long d;
    int c, rc, json = 0;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: json = 1; break;
        case O_WARN_DAYS:
            d = strtol(optarg, &end, 10);
            if (*end || d < 0 || d > 3650) /* 10 years: no certificate lives longer here */
                return cli_usage("check", "--warn-days wants days (0-3650), not '%s'", optarg);
            o.warn_days = (int)d;
            break;
        case O_HELP: fputs(check_usage, stdout); return CSCERT_OK;
        default: return bad_option("check");
        }
    }
    if (optind < argc)
        return cli_usage("check", "unexpected argument '%s'", argv[optind]);
    STORE_OR_FAIL(st, cli);
    if ((rc = cscert_check_run(&f, &n, st, &o)) < 0)
        return rc;
    if (json) {
        cli_json_print(cscert_findings_json(f, n));
    } else if (n == 0) {
        printf("OK: every use this server needs has a valid, trusted certificate with every required name.\n");
    } else {
        for (i = 0; i < n; i++) {
            errors += f[i].severity == CSCERT_SEV_ERROR;
            printf("%s: %s%s%s\n", f[i].severity == CSCERT_SEV_ERROR ? "ERROR" : "WARNING",
                   f[i].use[0] ? f[i].use : "", f[i].use[0] ? ": " : "", f[i].message);
            if (f[i].fix)
                printf("    fix: %s\n", f[i].fix);
        }
        printf("%zu problem%s (%zu error%s, %zu warning%s).\n", n, n == 1 ? "" : "s", errors,
               errors == 1 ? "" : "s", n - errors, n - errors == 1 ? "" : "s");
    }
    cscert_findings_free(f, n);
    return n ? CLI_EXIT_FINDINGS : CSCERT_OK;
}
