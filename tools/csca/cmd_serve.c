/* cmd_serve.c: `csca serve`, the online CA over EST (ca_serve.h). Parses
 * the arguments only; the library serves. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csca_cli.h"
#include "cscert/ca_serve.h"
#include "cscert/topology.h"

static const char serve_usage[] =
    "usage: csca serve --listen ADDR:PORT [--workers N] [--tls-name FQDN]... [--timeout SECONDS]\n"
    "                  [--max-connections N] [--foreground]\n\n"
    "The online CA: EST (RFC 7030) over HTTPS, TLS 1.2+ only.\n"
    "  GET  /.well-known/est/cacerts                 the CA chain (base64 PKCS#7)\n"
    "  POST /.well-known/est/[TEMPLATE/]simpleenroll  a base64 PKCS#10 (application/pkcs10),\n"
    "  POST /.well-known/est/[TEMPLATE/]simplereenroll  HTTP Basic credentials of a CA account;\n"
    "       no TEMPLATE: WebServer. Answers 200 (PKCS#7 certs-only), 202 + Retry-After (manual\n"
    "       approval: repeat the same request), 400, 401, 403 (the refused rule), 404, 405,\n"
    "       413 (body over 64 KiB), 415, 429 + Retry-After (5 failed logins for the account\n"
    "       from that address within a minute).\n"
    "Its TLS certificate is issued by this CA for the CA name's host and each --tls-name;\n"
    "the key lives in memory only; renewed at 2/3 of its 30 days and on SIGHUP. SIGTERM\n"
    "drains and stops. Writes HOME/serve.pid. Without --foreground it detaches and logs to\n"
    "syslog; with it, one line per event on stderr.\n\n"
    "  --listen ADDR:PORT     a literal address: 0.0.0.0:8443, 127.0.0.1:8443, [::]:8443\n"
    "  --workers N            worker threads (default: the number of online CPUs)\n"
    "  --tls-name FQDN        another name for the TLS certificate (repeatable)\n"
    "  --timeout S            idle, handshake and read limit per connection (default 10)\n"
    "  --max-connections N    connections at once (default 512); more wait in the backlog\n"
    "  --foreground           stay attached, log to stderr\n\n"
    "Example:\n"
    "  csca --home /var/lib/csca serve --listen 0.0.0.0:8443 --tls-name ca.contoso.com\n"
    "  curl --cacert root.pem --user web01:PASSWORD -H 'Content-Type: application/pkcs10' \\\n"
    "       --data-binary @req.b64 https://dc01.contoso.net:8443/.well-known/est/simpleenroll\n";

enum { O_LISTEN = 1, O_WORKERS, O_TLS_NAME, O_TIMEOUT, O_MAXCONN, O_FG, O_HELP };

static const struct option serve_opts[] = {
    { "listen", required_argument, NULL, O_LISTEN },
    { "workers", required_argument, NULL, O_WORKERS },
    { "tls-name", required_argument, NULL, O_TLS_NAME },
    { "timeout", required_argument, NULL, O_TIMEOUT },
    { "max-connections", required_argument, NULL, O_MAXCONN },
    { "foreground", no_argument, NULL, O_FG },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
};

static int number(int *out, const char *s, const char *opt, int lo, int hi)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (!*s || *end || v < lo || v > hi)
        return csca_usage("serve", "%s wants a number from %d to %d, not '%s'", opt, lo, hi, s);
    *out = (int)v;
    return 0;
}

int cmd_serve(const csca_global *g, int argc, char **argv)
{
    cscert_ca_serve_opts o;
    const char *names[CSCERT_EST_TLS_NAMES_MAX];
    cscert_ca *ca = NULL;
    long child = 0;
    int c, rc;

    memset(&o, 0, sizeof(o));
    o.tls_names = names;
    o.child_pid = &child;
    optind = 0; /* glibc: start over (main may have used getopt) */
    while ((c = getopt_long(argc, argv, "+", serve_opts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN: o.listen = optarg; break;
        case O_WORKERS:
            if ((rc = number(&o.workers, optarg, "--workers", 1, CSCERT_EST_WORKERS_MAX)))
                return rc;
            break;
        case O_TLS_NAME: {
            char fqdn[254];

            if (o.n_tls_names >= CSCERT_EST_TLS_NAMES_MAX)
                return csca_usage("serve", "at most %d --tls-name", CSCERT_EST_TLS_NAMES_MAX);
            if ((rc = cscert_fqdn_check(fqdn, optarg, 0, "--tls-name")) < 0)
                return csca_bad_value(rc, "serve");
            names[o.n_tls_names++] = optarg;
            break;
        }
        case O_TIMEOUT:
            if ((rc = number(&o.timeout_s, optarg, "--timeout", 1, 3600)))
                return rc;
            break;
        case O_MAXCONN:
            if ((rc = number(&o.max_conns, optarg, "--max-connections", 1, 65536)))
                return rc;
            break;
        case O_FG: o.foreground = 1; break;
        case O_HELP: fputs(serve_usage, stdout); return CSCERT_OK;
        default: return csca_usage("serve", "unknown option");
        }
    }
    if (optind < argc)
        return csca_usage("serve", "unexpected argument '%s'", argv[optind]);
    if (!o.listen)
        return csca_usage("serve", "where? e.g. --listen 0.0.0.0:8443");
    if ((rc = csca_open(&ca, g)) < 0)
        return rc;
    rc = cscert_ca_serve(ca, &o);
    if (rc == CSCERT_OK && !o.foreground)
        printf("%ld\n", child);
    cscert_ca_free(ca);
    return rc;
}
