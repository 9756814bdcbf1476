/* cmd_ca.c: `cscert ca list [--json]` and `cscert ca trust NAME
 * --fingerprint SHA256`: the CAs the topology registers, and trusting a
 * CA's root by its fingerprint (enroll.h). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cscert/enroll.h"

static const char ca_usage[] =
    "usage: cscert ca list [--json]\n"
    "       cscert ca trust NAME --fingerprint SHA256\n\n"
    "list: the certification authorities of the published topology\n"
    "(certification_authorities), each with its URL, whether it answers, and whether\n"
    "its TLS certificate chains to a root in this server's Root store.\n\n"
    "trust: fetch the CA's chain (GET /.well-known/est/cacerts, RFC 7030 4.1.1: the one\n"
    "request made without verifying TLS, and without credentials) and install its root\n"
    "into Root only when the root's SHA-256 is SHA256 (any case; ':' and spaces\n"
    "ignored) and the CA's own TLS certificate chains to that root. Get the\n"
    "fingerprint from the CA's administrator: 'csca show' on the CA host.\n\n"
    "  NAME            the CA as FQDN\\Instance (registered in the topology, else its\n"
    "                  host on port 443)\n"
    "  --fingerprint X the root's SHA-256\n"
    "  --json          (list) JSON output\n\n"
    "Example:\n"
    "  cscert ca trust 'dc01.contoso.net\\contoso-DC01-CA' \\\n"
    "      --fingerprint 3A:5F:...:C2\n";

enum { O_JSON = 256, O_FP, O_HELP };

static const struct option ca_opts[] = {
    { "json", no_argument, NULL, O_JSON },
    { "fingerprint", required_argument, NULL, O_FP },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
};

static int ca_list(struct cli *cli, int json)
{
    cscert_store *st = cli_store(cli);
    cscert_enroll_ca **v = NULL;
    size_t n = 0, i;
    json_t *arr = NULL;
    int rc;

    if (!st)
        return cscert_error_code();
    if ((rc = cscert_enroll_ca_list(&v, &n, st)) < 0)
        return rc;
    if (json)
        arr = json_array();
    else if (n == 0)
        printf("No certification authority is registered in the topology (certification_authorities).\n");
    for (i = 0; i < n; i++) {
        cscert_enroll_probe pr;

        if ((rc = cscert_enroll_ca_probe(&pr, st, v[i])) < 0)
            goto out;
        if (json) {
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s?, s:b, s:b, s:s?, s:s?, s:s?}",
                "name", v[i]->name, "url", v[i]->url, "est", v[i]->base, "address", v[i]->address,
                "reachable", pr.reachable, "trusted", pr.trusted,
                "root_sha256", pr.root_sha256[0] ? pr.root_sha256 : NULL,
                "root_subject", pr.root_subject[0] ? pr.root_subject : NULL,
                "error", pr.error[0] ? pr.error : NULL));
            continue;
        }
        printf("%s\n", v[i]->name);
        if (v[i]->address)
            printf("  URL:        %s  (address %s)\n", v[i]->url, v[i]->address);
        else
            printf("  URL:        %s\n", v[i]->url);
        printf("  EST:        %s\n", v[i]->base);
        printf("  Reachable:  %s\n", pr.reachable ? "yes" : "no");
        printf("  Trusted:    %s\n", pr.trusted ? "yes" : "no");
        if (pr.root_sha256[0])
            printf("  Root:       %s\n  SHA-256:    %s\n", pr.root_subject, pr.root_sha256);
        if (pr.error[0])
            printf("  Problem:    %s\n", pr.error);
    }
    if (json) {
        cli_json_print(arr);
        arr = NULL;
    }
    rc = CSCERT_OK;
out:
    json_decref(arr);
    cscert_enroll_cas_free(v, n);
    return rc;
}

static int ca_trust(struct cli *cli, const char *name, const char *fp)
{
    cscert_store *st = cli_store(cli);
    char thumb[41];
    int already = 0, rc;

    if (!st)
        return cscert_error_code();
    rc = cscert_enroll_ca_trust(thumb, &already, st, name, fp);
    cscert_store_audit(st, "ca trust", name, rc < 0 ? "refused" : "ok", rc < 0 ? cscert_error_last() : thumb);
    if (rc < 0)
        return rc;
    if (already)
        printf("The root of %s was already trusted: %s\n", name, thumb);
    else
        printf("Root of %s installed in Root: %s\n", name, thumb);
    return CSCERT_OK;
}

int cmd_ca(struct cli *cli, int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : NULL, *fp = NULL;
    int json = 0, c;

    if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        fputs(ca_usage, sub ? stdout : stderr);
        return sub ? CSCERT_OK : CLI_EXIT_USAGE;
    }
    argv++;
    argc--;
    while ((c = getopt_long(argc, argv, "", ca_opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: json = 1; break;
        case O_FP: fp = optarg; break;
        case O_HELP: fputs(ca_usage, stdout); return CSCERT_OK;
        default: return cli_usage("ca", "unknown option");
        }
    }
    if (!strcmp(sub, "list")) {
        if (optind < argc)
            return cli_usage("ca", "unexpected argument '%s'", argv[optind]);
        return ca_list(cli, json);
    }
    if (!strcmp(sub, "trust")) {
        if (optind + 1 != argc)
            return cli_usage("ca", "trust takes one CA name (FQDN\\Instance)");
        if (!fp)
            return cli_usage("ca", "--fingerprint SHA256 is required (on the CA host: csca show)");
        return ca_trust(cli, argv[optind], fp);
    }
    return cli_usage("ca", "'%s' is not a ca subcommand (list, trust)", sub);
}
