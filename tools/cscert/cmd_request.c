/* cmd_request.c: `cscert request --new|--renew ...`, `request list`,
 * `request cancel ID`: Request-CsCertificate's -New, -List and -Clear. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli.h"
#include "cscert/assign.h"
#include "cscert/enroll.h"
#include "cscert/request.h"
#include "cscert/topology.h"

/* --wait: at most 60 polls and one hour in all; every loop is bounded. */
#define REQUEST_WAIT_MAX_POLLS 60
#define REQUEST_WAIT_MAX_S 3600
/* 3 retries of a transport error (CA restarting) while waiting, 5 s apart
 * and doubling: kept apart from the CA's Retry-After. */
#define REQUEST_WAIT_ERROR_RETRIES 3
#define REQUEST_WAIT_ERROR_BACKOFF_S 5

/* parse(): --help was given and printed; the command is done (0 is "go
 * on", CLI_EXIT_USAGE a usage error, negative a library error). */
#define PARSE_HELP 1

static const char request_usage[] =
    "usage: cscert request --new|--renew --type T[,T] (--output FILE | --ca NAME) [options]\n"
    "       cscert request resume [ID] [--ca-account A --ca-password-file F] [--wait[=S]] [--assign]\n"
    "       cscert request list [--json]\n"
    "       cscert request cancel ID\n\n"
    "Generate a key in this process, build the PKCS#10 request with every name the\n"
    "topology requires for these uses (see 'cscert topology names'), and write it to\n"
    "FILE (offline). The key waits in the store as a pending request, committed before\n"
    "the file is written; import the CA's response with 'cscert import'.\n"
    "Online (--ca), the key is committed the same way before the request is sent over\n"
    "EST; the certificate is installed with its chain (TLS verified against the Root\n"
    "store only) and its thumbprint printed. When the CA holds the request for approval\n"
    "(202), it stays pending: 'cscert request resume ID' asks again.\n"
    "--renew instead of --new renews the certificates assigned to these uses: a new\n"
    "key, every name they carry (none is lost to a forgotten --domain-name) plus any\n"
    "the topology now requires, and their key type, exportable flag and subject\n"
    "O/OU/L/ST/C unless given; it names each name carried over. Online without\n"
    "--ca-account, the certificate renewed is the credential (TLS client certificate,\n"
    "simplereenroll): no password, and the CA then allows exactly its names.\n\n"
    "  --type T[,T]               uses: Default, WebServicesInternal, WebServicesExternal,\n"
    "                             OAuthTokenIssuer, Internal, AccessEdgeExternal,\n"
    "                             DataEdgeExternal, AudioVideoAuthentication, XmppServer,\n"
    "                             ReverseProxy (any case)\n"
    "  --output FILE              write the request (PEM) to FILE\n"
    "  --ca NAME                  enroll online with the CA 'FQDN\\Instance'\n"
    "                             (topology certification_authorities, else its host:443)\n"
    "  --ca-account A             CA account; its password from --ca-password-file F,\n"
    "                             else the file named by $CSCERT_CA_PASSWORD_FILE, else a\n"
    "                             no-echo prompt on a terminal (never in argv)\n"
    "  --template N               the CA's template (default WebServer)\n"
    "  --assign                   (online) assign the certificate to the requested uses\n"
    "  --wait[=S]                 (resume) poll, honouring Retry-After, for up to S seconds\n"
    "                             (default and maximum 3600)\n"
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
    "  --verbose                  print the names computed, on stderr\n"
    "  --json                     (list) JSON output\n\n"
    "Examples:\n"
    "  cscert request --new --type Default,WebServicesInternal,WebServicesExternal \\\n"
    "      --all-sip-domain --output /root/fe01.csr\n"
    "  cscert request --new --type Default,WebServicesInternal,WebServicesExternal \\\n"
    "      --all-sip-domain --ca 'dc01.contoso.net\\contoso-DC01-CA' --ca-account fe01 \\\n"
    "      --ca-password-file /root/ca.pw --assign\n";

enum {
    O_NEW = 256, O_RENEW, O_TYPE, O_OUTPUT, O_CA, O_CA_ACCOUNT, O_CA_PASSWORD_FILE, O_TEMPLATE,
    O_DOMAIN_NAME, O_ALL_SIP, O_FRIENDLY, O_KEY_TYPE, O_KEY_SIZE, O_HASH, O_EXPORTABLE,
    O_CLIENT_EKU, O_ORG, O_OU, O_CITY, O_STATE, O_COUNTRY, O_COMPUTER, O_JSON, O_HELP, O_VERBOSE,
    O_ASSIGN, O_WAIT
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
    { "wait", optional_argument, NULL, O_WAIT },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
};

struct request_args {
    cscert_request_opts o;
    int is_new, renew, json, verbose, assign, wait;
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
            /* A number of bits; which sizes are allowed is the key module's rule. */
            if (!*optarg || strspn(optarg, "0123456789") != strlen(optarg) || strlen(optarg) > 6)
                return cli_usage("request", "--key-size takes a number of bits, such as 2048");
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
        case O_WAIT: {
            char *end;
            long v = optarg ? strtol(optarg, &end, 10) : REQUEST_WAIT_MAX_S;

            if ((optarg && (*end || !*optarg)) || v < 1 || v > REQUEST_WAIT_MAX_S)
                return cli_usage("request", "--wait takes seconds from 1 to %d", REQUEST_WAIT_MAX_S);
            a->wait = (int)v;
            break;
        }
        case O_HELP: fputs(request_usage, stdout); return PARSE_HELP;
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
            if (v[i]->ca) {
                cscert_enroll_note nt;

                printf("  CA:         %s\n", v[i]->ca);
                if (cscert_enroll_note_parse(&nt, v[i]->note) == CSCERT_OK) {
                    if (nt.url[0])
                        printf("  URL:        %s\n", nt.url);
                    if (nt.retry_at[0])
                        printf("  Retry at:   %s\n", nt.retry_at);
                    if (nt.text[0])
                        printf("  Note:       %s\n", nt.text);
                }
                cscert_error_clear();
                printf("  Resume:     cscert request resume %lld\n", (long long)v[i]->id);
            }
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


/* The CA account's password: --ca-password-file, else the file named by
 * $CSCERT_CA_PASSWORD_FILE, else a no-echo prompt on a terminal. Never argv. */
static int ca_password(char **out, const char *account, const char *file)
{
    const char *env = getenv("CSCERT_CA_PASSWORD_FILE");
    char *buf;

    *out = NULL;
    if (!account)
        return CSCERT_OK;
    if (file || (env && *env))
        return cli_read_password_file(out, file ? file : env);
    if (!isatty(STDIN_FILENO))
        return cscert_error_setf(CSCERT_EINVAL, "--ca-account", "give --ca-password-file F (or $CSCERT_CA_PASSWORD_FILE)",
                                 "no password for account '%s'", account);
    /* An empty secure buffer of the size cli_secret_free expects: read
     * /dev/null through the same helper, then prompt into it. */
    if (cli_read_password_file(&buf, "/dev/null") < 0)
        return cscert_error_code();
    if (EVP_read_pw_string(buf, 1024, "CA account password: ", 0) != 0) {
        cli_secret_free(buf);
        return cscert_error_set(CSCERT_EINVAL, "--ca-account", "no password was typed", NULL);
    }
    *out = buf;
    return CSCERT_OK;
}

/* --assign is for this server only (DESIGN clarifications). */
static int assign_allowed(cscert_store *st, const char *target)
{
    cscert_topology *t = NULL;
    char *me = NULL;
    int rc = CSCERT_OK;

    if (!target)
        return CSCERT_OK;
    if ((rc = cscert_topology_load_published(&t, &me, st)) < 0)
        return rc;
    if (me && strcasecmp(me, target) != 0)
        rc = cscert_error_setf(CSCERT_EPOLICY, "--assign",
                               "leave out --assign; export the certificate with its key and assign it on that server",
                               "the certificate is for %s, not this server (%s)", target, me);
    free(me);
    cscert_topology_free(t);
    return rc;
}

static void print_enrolled(const cscert_enroll_result *res, const char *ca)
{
    printf("Certificate issued by %s and installed (request %lld)\n", ca, (long long)res->pending_id);
    printf("  Thumbprint: %s\n", res->thumbprint);
    printf("  Chain:      %s\n", res->chain_trusted ? "trusted (reaches Root)" : "NOT trusted: see the warning above");
}

static void print_pending(const cscert_enroll_result *res, const char *ca, int assign)
{
    printf("Request %lld is pending at %s: %s\n", (long long)res->pending_id, ca,
           res->ca_text[0] ? res->ca_text : "held for approval");
    printf("  URL:         %s\n", res->url);
    printf("  Retry-After: %ld s\n", res->retry_after);
    printf("Once the CA's administrator issues it, run: cscert request resume %lld%s\n", (long long)res->pending_id,
           assign ? " --assign" : "");
}

static int assign_uses(cscert_store *st, const char *uses, const char *thumb)
{
    cscert_assign_opts ao = { 0 };
    int rc;

    ao.types = uses;
    ao.thumbprint = thumb;
    rc = cscert_assign_set(st, &ao); /* audited by assign */
    if (rc == CSCERT_OK)
        printf("Assigned to %s\n", uses);
    return rc;
}

/* Online: the key is committed ("submitted") before the request leaves. */
static int request_online(cscert_store *st, cscert_request *r, struct request_args *a, const char *pw,
                          int64_t *id)
{
    cscert_enroll_opts eo = { 0 };
    cscert_enroll_result res;
    int rc;

    eo.account = a->ca_account;
    eo.password = pw;
    /* A renewal without an account proves itself with the certificate it
     * renews (simplereenroll over a TLS client certificate). */
    if (a->renew && !a->ca_account) {
        if (strchr(cscert_request_renews(r), ','))
            return cscert_error_setf(CSCERT_EINVAL, "--renew", "renew them one use at a time, or give --ca-account",
                                     "these uses are served by several certificates (%s); a client certificate "
                                     "renews one", cscert_request_renews(r));
        eo.client_thumbprint = cscert_request_renews(r);
    }
    if ((rc = cscert_request_commit_pending(id, st, r)) < 0)
        return rc;
    rc = cscert_enroll_send(&res, st, *id, &eo);
    if (rc < 0) {
        if (res.thumbprint[0])
            printf("Certificate installed, NOT assigned: %s\n", res.thumbprint);
        return rc;
    }
    if (res.status == 202) {
        print_pending(&res, a->o.ca, a->assign);
        return CSCERT_OK;
    }
    print_enrolled(&res, a->o.ca);
    printf("  Uses:       %s\n  Names:      %s\n", cscert_request_uses(r), cscert_request_names(r));
    if (a->assign)
        return assign_uses(st, cscert_request_uses(r), res.thumbprint);
    return CSCERT_OK;
}

static int pick_online_pending(cscert_pending **out, cscert_store *st, const char *arg)
{
    cscert_pending **v = NULL;
    size_t n = 0, i, found = 0;
    char ids[512] = "";
    size_t off = 0;
    int rc;

    *out = NULL;
    if (arg) {
        char *end;
        long long id = strtoll(arg, &end, 10);

        if (*end || id <= 0)
            return cli_usage("request", "'%s' is not a request ID (see 'cscert request list')", arg);
        return cscert_store_get_pending(out, st, id);
    }
    if ((rc = cscert_store_list_pending(&v, &n, st)) < 0)
        return rc;
    for (i = 0; i < n; i++) {
        if (!v[i]->ca)
            continue;
        if (off < sizeof(ids))
            off += (size_t)snprintf(ids + off, sizeof(ids) - off, "%s%lld", found ? ", " : "", (long long)v[i]->id);
        if (!found++) {
            *out = v[i];
            v[i] = NULL;
        }
    }
    cscert_pendings_free(v, n);
    if (found == 1)
        return CSCERT_OK;
    cscert_pending_free(*out);
    *out = NULL;
    if (found == 0)
        return cscert_error_set(CSCERT_ENOTFOUND, "request resume", "no online request is pending on this server",
                                "see 'cscert request list'");
    return cli_usage("request", "several online requests are pending (%s); give the ID", ids);
}

static void sleep_s(long s)
{
    struct timespec ts = { s, 0 };

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* `request resume [ID]`: re-post the same stored CSR; with --wait poll,
 * honouring Retry-After (kept apart from transport-error retries). */
static int request_resume(struct cli *cli, struct request_args *a, const char *arg)
{
    cscert_store *st;
    cscert_pending *p = NULL;
    cscert_enroll_note note;
    cscert_enroll_opts eo = { 0 };
    cscert_enroll_result res;
    char *pw = NULL, *uses = NULL, *target = NULL, *ca = NULL;
    const char *account;
    time_t deadline = time(NULL) + (a->wait ? a->wait : 0);
    int rc, polls = 0, errors = 0;

    if (!(st = cli_store(cli)))
        return cscert_error_code();
    if ((rc = pick_online_pending(&p, st, arg)) != CSCERT_OK)
        goto out;
    if (!p->ca) {
        rc = cscert_error_setf(CSCERT_EINVAL, "request resume", "import the CA's response with 'cscert import FILE'",
                               "request %lld was written to %s, not sent to a CA", (long long)p->id,
                               p->output_path ? p->output_path : "a file");
        goto out;
    }
    if (cscert_enroll_note_parse(&note, p->note) < 0)
        memset(&note, 0, sizeof(note));
    cscert_error_clear();
    account = a->ca_account ? a->ca_account : note.account[0] ? note.account : NULL;
    uses = strdup(p->uses ? p->uses : "");
    target = p->computer_fqdn ? strdup(p->computer_fqdn) : NULL;
    ca = strdup(p->ca);
    if (!uses || !ca) {
        rc = cscert__oom();
        goto out;
    }
    if ((a->assign && (rc = assign_allowed(st, target)) < 0) || (rc = ca_password(&pw, account, a->ca_password_file)) < 0)
        goto out;
    eo.account = account;
    eo.password = pw;
    eo.resume = 1;
    /* A renewal sent with its certificate as credential asks again with it. */
    if (!account && note.client_cert[0])
        eo.client_thumbprint = note.client_cert;
    /* RFC 7030 4.2.3: --wait first honours the Retry-After already given. */
    if (a->wait && note.retry_at[0]) {
        struct tm tm;
        time_t at;

        memset(&tm, 0, sizeof(tm));
        if (strptime(note.retry_at, "%Y-%m-%dT%H:%M:%SZ", &tm) && (at = timegm(&tm)) > time(NULL)) {
            long s = (long)(at - time(NULL));

            if (at > deadline)
                s = (long)(deadline - time(NULL));
            printf("Waiting %ld s (the CA's Retry-After) before asking for request %lld\n", s, (long long)p->id);
            fflush(stdout);
            sleep_s(s > 0 ? s : 0);
        }
    }
    for (;;) {
        polls++;
        rc = cscert_enroll_send(&res, st, p->id, &eo);
        if (rc < 0) {
            if (res.thumbprint[0])
                printf("Certificate installed, NOT assigned: %s\n", res.thumbprint);
            /* Transport trouble while waiting: a few retries of their own. */
            if (a->wait && rc == CSCERT_EIO && errors < REQUEST_WAIT_ERROR_RETRIES && polls < REQUEST_WAIT_MAX_POLLS
                && time(NULL) + (REQUEST_WAIT_ERROR_BACKOFF_S << errors) < deadline) {
                fprintf(stderr, "cscert: warning: %s; retrying in %d s\n", cscert_error_last(),
                        REQUEST_WAIT_ERROR_BACKOFF_S << errors);
                sleep_s(REQUEST_WAIT_ERROR_BACKOFF_S << errors);
                errors++;
                continue;
            }
            goto out;
        }
        if (res.status != 202)
            break;
        if (!a->wait || polls >= REQUEST_WAIT_MAX_POLLS || time(NULL) + (res.retry_after > 0 ? res.retry_after : 1) > deadline) {
            print_pending(&res, ca, a->assign);
            if (a->wait)
                printf("(stopped waiting after %d tries)\n", polls);
            rc = CSCERT_OK;
            goto out;
        }
        printf("Request %lld still pending; asking again in %ld s\n", (long long)p->id, res.retry_after);
        fflush(stdout);
        sleep_s(res.retry_after > 0 ? res.retry_after : 1);
    }
    print_enrolled(&res, ca);
    printf("  Uses:       %s\n", uses);
    if (a->assign)
        rc = assign_uses(st, uses, res.thumbprint);
out:
    if (st)
        cscert_store_audit(st, "request resume", ca ? ca : (arg ? arg : ""), rc < 0 ? "failed" : "ok",
                           rc < 0 ? cscert_error_last() : NULL);
    cli_secret_free(pw);
    free(uses);
    free(target);
    free(ca);
    cscert_pending_free(p);
    return rc;
}

static int request_new(struct cli *cli, struct request_args *a)
{
    cscert_store *st;
    cscert_request *r = NULL;
    char *pw = NULL;
    int64_t id = 0;
    int rc;

    if (!a->o.types)
        return cli_usage("request", "--type is required (e.g. --type Default)");
    if (!a->output && !a->o.ca)
        return cli_usage("request", "give --output FILE (offline) or --ca NAME (online)");
    if (a->output && a->o.ca)
        return cli_usage("request", "--output and --ca exclude each other");
    if (a->o.ca && a->wait)
        return cli_usage("request", "--wait belongs to 'request resume'");
    if (!a->o.ca && (a->assign || a->ca_account || a->ca_password_file))
        return cli_usage("request", "--assign, --ca-account and --ca-password-file go with --ca");
    if (!(st = cli_store(cli)))
        return cscert_error_code();
    if (a->o.ca) {
        cscert_enroll_ca *ca = NULL;

        /* Everything that can be refused is refused before a key is made. */
        if ((a->assign && (rc = assign_allowed(st, a->o.computer_fqdn)) < 0)
            || (rc = cscert_enroll_ca_locate(&ca, st, a->o.ca)) < 0
            || (rc = ca_password(&pw, a->ca_account, a->ca_password_file)) < 0)
            goto out;
        cscert_enroll_ca_free(ca);
    }
    a->o.renew = a->renew;
    if ((rc = cscert_request_prepare(&r, st, &a->o)) < 0)
        goto out;
    if (a->renew)
        printf("Renewing %s with a new key; names carried over from it: %s\n", cscert_request_renews(r),
               *cscert_request_carried(r) ? cscert_request_carried(r) : "none beyond the topology's");
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
        rc = request_online(st, r, a, pw, &id);
    }
out:
    cli_secret_free(pw);
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
            return rc == PARSE_HELP ? CSCERT_OK : rc;
        return request_list(cli, a.json);
    }
    if (argc >= 2 && strcmp(argv[1], "resume") == 0) {
        argv++;
        argc--;
        if ((rc = parse(&a, argc, argv)) != 0)
            return rc == PARSE_HELP ? CSCERT_OK : rc;
        if (optind + 1 < argc)
            return cli_usage("request", "resume takes at most one request ID");
        return request_resume(cli, &a, optind < argc ? argv[optind] : NULL);
    }
    if (argc >= 2 && strcmp(argv[1], "cancel") == 0) {
        if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
            fputs(request_usage, stdout);
            return CSCERT_OK;
        }
        if (argc != 3)
            return cli_usage("request", "cancel takes one request ID");
        return request_cancel(cli, argv[2]);
    }
    if ((rc = parse(&a, argc, argv)) != 0)
        return rc == PARSE_HELP ? CSCERT_OK : rc;
    if (optind < argc)
        return cli_usage("request", "unexpected argument '%s'", argv[optind]);
    if (a.is_new && a.renew)
        return cli_usage("request", "--new and --renew exclude each other");
    if (!a.is_new && !a.renew)
        return cli_usage("request", "say --new (or --renew), or use 'request list' / 'request cancel ID'");
    return request_new(cli, &a);
}
