/* cmd_request.c: `cscert request --new|--renew ...`, `request list`,
 * `request cancel ID`: Request-CsCertificate's -New, -List and -Clear. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cscert/request.h"

static const char request_usage[] =
    "usage: cscert request --new --type T[,T] (--output FILE | --ca NAME) [options]\n"
    "       cscert request list [--json]\n"
    "       cscert request cancel ID\n\n"
    "Generate a key in this process, build the PKCS#10 request with every name the\n"
    "topology requires for these uses (see 'cscert topology names'), and write it to\n"
    "FILE (offline). The key waits in the store as a pending request, committed before\n"
    "the file is written; import the CA's response with 'cscert import'.\n\n"
    "  --type T[,T]               uses: Default, WebServicesInternal, WebServicesExternal,\n"
    "                             OAuthTokenIssuer, Internal, AccessEdgeExternal,\n"
    "                             DataEdgeExternal, AudioVideoAuthentication, XmppServer,\n"
    "                             ReverseProxy (any case)\n"
    "  --output FILE              write the request (PEM) to FILE\n"
    "  --ca NAME                  enroll online with the CA 'FQDN\\Instance'\n"
    "  --ca-account A             CA account; password from --ca-password-file F\n"
    "                             or $CSCERT_CA_PASSWORD\n"
    "  --template N               the CA's template (default WebServer)\n"
    "  --domain-name \"a,b\"        extra SANs\n"
    "  --all-sip-domain           sip.<d> / lyncdiscover.<d> for every SIP domain\n"
    "  --friendly-name S          display name (default: generated)\n"
    "  --key-type T               rsa:1024|rsa:2048|rsa:3072|rsa:4096|ec:P-256|ec:P-384|ec:P-521\n"
    "  --key-size N               the same as --key-type rsa:N (default 2048)\n"
    "  --hash H                   sha1|sha224|sha256|sha384|sha512 (default sha256)\n"
    "  --private-key-exportable   allow 'cscert export' of the key (R17)\n"
    "  --client-eku               add Client Authentication (R16)\n"
    "  --organization S --ou S --city S --state S --country CC\n"
    "  --computer-fqdn F          request for another server of the topology (key exportable)\n"
    "  --json                     (list) JSON output\n\n"
    "Example:\n"
    "  cscert request --new --type Default,WebServicesInternal,WebServicesExternal \\\n"
    "      --all-sip-domain --output /root/fe01.csr\n";

enum {
    O_NEW = 256, O_RENEW, O_TYPE, O_OUTPUT, O_CA, O_CA_ACCOUNT, O_CA_PASSWORD_FILE, O_TEMPLATE,
    O_DOMAIN_NAME, O_ALL_SIP, O_FRIENDLY, O_KEY_TYPE, O_KEY_SIZE, O_HASH, O_EXPORTABLE,
    O_CLIENT_EKU, O_ORG, O_OU, O_CITY, O_STATE, O_COUNTRY, O_COMPUTER, O_JSON, O_HELP, O_VERBOSE,
    O_ASSIGN
};

static const struct option request_opts[] = {
    { "new", no_argument, NULL, O_NEW },
    { "renew", no_argument, NULL, O_RENEW },
    { "type", required_argument, NULL, O_TYPE },
    { "output", required_argument, NULL, O_OUTPUT },
    { "ca", required_argument, NULL, O_CA },
    { "ca-account", required_argument, NULL, O_CA_ACCOUNT },
    { "ca-password-file", required_argument, NULL, O_CA_PASSWORD_FILE },
    { "template", required_argument, NULL, O_TEMPLATE },
    { "domain-name", required_argument, NULL, O_DOMAIN_NAME },
    { "all-sip-domain", no_argument, NULL, O_ALL_SIP },
    { "friendly-name", required_argument, NULL, O_FRIENDLY },
    { "key-type", required_argument, NULL, O_KEY_TYPE },
    { "key-size", required_argument, NULL, O_KEY_SIZE },
    { "hash", required_argument, NULL, O_HASH },
    { "private-key-exportable", no_argument, NULL, O_EXPORTABLE },
    { "client-eku", no_argument, NULL, O_CLIENT_EKU },
    { "organization", required_argument, NULL, O_ORG },
    { "ou", required_argument, NULL, O_OU },
    { "city", required_argument, NULL, O_CITY },
    { "state", required_argument, NULL, O_STATE },
    { "country", required_argument, NULL, O_COUNTRY },
    { "computer-fqdn", required_argument, NULL, O_COMPUTER },
    { "json", no_argument, NULL, O_JSON },
    { "verbose", no_argument, NULL, O_VERBOSE },
    { "assign", no_argument, NULL, O_ASSIGN },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
};

struct request_args {
    cscert_request_opts o;
    int is_new, renew, json, verbose, assign;
    const char *output, *ca_account, *ca_password_file;
    char key_size_buf[32];
};

static int parse(struct request_args *a, int argc, char **argv)
{
    int c;

    while ((c = getopt_long(argc, argv, "", request_opts, NULL)) != -1) {
        switch (c) {
        case O_NEW: a->is_new = 1; break;
        case O_RENEW: a->renew = 1; break;
        case O_TYPE: a->o.types = optarg; break;
        case O_OUTPUT: a->output = optarg; break;
        case O_CA: a->o.ca = optarg; break;
        case O_CA_ACCOUNT: a->ca_account = optarg; break;
        case O_CA_PASSWORD_FILE: a->ca_password_file = optarg; break;
        case O_TEMPLATE: a->o.template_name = optarg; break;
        case O_DOMAIN_NAME: a->o.domain_names = optarg; break;
        case O_ALL_SIP: a->o.all_sip_domain = 1; break;
        case O_FRIENDLY: a->o.friendly_name = optarg; break;
        case O_KEY_TYPE: a->o.key_type = optarg; break;
        case O_KEY_SIZE:
            snprintf(a->key_size_buf, sizeof(a->key_size_buf), "rsa:%s", optarg);
            a->o.key_type = a->key_size_buf;
            break;
        case O_HASH: a->o.hash = optarg; break;
        case O_EXPORTABLE: a->o.exportable = 1; break;
        case O_CLIENT_EKU: a->o.client_eku = 1; break;
        case O_ORG: a->o.organization = optarg; break;
        case O_OU: a->o.ou = optarg; break;
        case O_CITY: a->o.city = optarg; break;
        case O_STATE: a->o.state = optarg; break;
        case O_COUNTRY: a->o.country = optarg; break;
        case O_COMPUTER: a->o.computer_fqdn = optarg; break;
        case O_JSON: a->json = 1; break;
        case O_VERBOSE: a->verbose = 1; break;
        case O_ASSIGN: a->assign = 1; break;
        case O_HELP: fputs(request_usage, stdout); return 1;
        default: return cli_usage("request", "unknown option");
        }
    }
    return 0;
}

static int request_list(struct cli *cli, int json)
{
    cscert_store *st = cli_store(cli);
    cscert_pending **v = NULL;
    size_t n = 0, i;
    int rc;

    if (!st)
        return cscert_error_code();
    if ((rc = cscert_store_list_pending(&v, &n, st)) < 0)
        return rc;
    if (json) {
        json_t *arr = json_array();

        for (i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s, s:b}",
                "id", (json_int_t)v[i]->id, "created", v[i]->created, "state", v[i]->state,
                "uses", v[i]->uses, "names", v[i]->names, "template", v[i]->template_name,
                "ca", v[i]->ca, "output", v[i]->output_path,
                "computer_fqdn", v[i]->computer_fqdn ? v[i]->computer_fqdn : "",
                "exportable", v[i]->exportable));
        cli_json_print(arr);
    } else if (n == 0) {
        printf("No pending requests.\n");
    } else {
        for (i = 0; i < n; i++) {
            printf("Request %lld  %s  %s\n", (long long)v[i]->id, v[i]->created, v[i]->state);
            printf("  Uses:       %s\n", v[i]->uses ? v[i]->uses : "");
            printf("  Names:      %s\n", v[i]->names ? v[i]->names : "");
            printf("  Template:   %s\n", v[i]->template_name ? v[i]->template_name : "");
            if (v[i]->ca)
                printf("  CA:         %s\n", v[i]->ca);
            if (v[i]->output_path)
                printf("  File:       %s\n", v[i]->output_path);
            printf("  Exportable: %s\n", v[i]->exportable ? "yes" : "no");
        }
    }
    cscert_pendings_free(v, n);
    return CSCERT_OK;
}

static int request_cancel(struct cli *cli, const char *arg)
{
    cscert_store *st;
    char *end;
    long long id = strtoll(arg, &end, 10);
    int rc;

    if (*end || id <= 0)
        return cli_usage("request", "'%s' is not a request ID (see 'cscert request list')", arg);
    if (!(st = cli_store(cli)))
        return cscert_error_code();
    rc = cscert_request_cancel(st, id);
    cscert_store_audit(st, "request cancel", arg, rc < 0 ? "failed" : "ok",
                       rc < 0 ? cscert_error_last() : NULL);
    if (rc == CSCERT_OK)
        printf("Request %lld cancelled; its key is deleted.\n", id);
    return rc;
}

static int request_new(struct cli *cli, struct request_args *a)
{
    cscert_store *st;
    cscert_request *r = NULL;
    int64_t id = 0;
    int rc;

    if (!a->o.types)
        return cli_usage("request", "--type is required (e.g. --type Default)");
    if (!a->output && !a->o.ca)
        return cli_usage("request", "give --output FILE (offline) or --ca NAME (online)");
    if (a->output && a->o.ca)
        return cli_usage("request", "--output and --ca exclude each other");
    if (!(st = cli_store(cli)))
        return cscert_error_code();
    if ((rc = cscert_request_prepare(&r, st, &a->o)) < 0)
        goto out;
    if (a->verbose)
        fprintf(stderr, "cscert: names: %s\n", cscert_request_names(r));
    if (a->output) {
        if ((rc = cscert_request_write_offline(&id, st, r, a->output)) < 0)
            goto out;
        printf("Request %lld written to %s\n", (long long)id, a->output);
        printf("  Uses:       %s\n", cscert_request_uses(r));
        printf("  Names:      %s\n", cscert_request_names(r));
        printf("  Exportable: %s\n", cscert_request_exportable(r) ? "yes" : "no");
        printf("Send it to the CA, then: cscert import RESPONSE\n");
    } else {
        rc = cscert_error_set(CSCERT_EINVAL, a->o.ca, "online enrollment is not available in this build",
                              "use --output FILE and import the CA's response");
    }
out:
    cscert_store_audit(st, "request", a->output ? a->output : a->o.ca,
                       rc < 0 ? "failed" : "ok", rc < 0 ? cscert_error_last() : cscert_request_names(r));
    cscert_request_free(r);
    return rc;
}

int cmd_request(struct cli *cli, int argc, char **argv)
{
    struct request_args a = { 0 };
    int rc;

    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        argv++;
        argc--;
        if ((rc = parse(&a, argc, argv)) != 0)
            return rc > 0 ? CSCERT_OK : rc;
        return request_list(cli, a.json);
    }
    if (argc >= 2 && strcmp(argv[1], "cancel") == 0) {
        if (argc != 3)
            return cli_usage("request", "cancel takes one request ID");
        return request_cancel(cli, argv[2]);
    }
    if ((rc = parse(&a, argc, argv)) != 0)
        return rc > 0 ? CSCERT_OK : rc;
    if (optind < argc)
        return cli_usage("request", "unexpected argument '%s'", argv[optind]);
    if (!a.is_new && !a.renew)
        return cli_usage("request", "say --new (or --renew), or use 'request list' / 'request cancel ID'");
    return request_new(cli, &a);
}
