/* cmd_web.c: `cscert web binding list|set|remove`, `cscert web serve`,
 * `cscert web verify`: the Internal and External Web Sites (web.h). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cscert/web.h"

static const char web_usage[] =
    "usage: cscert web binding list [--json]\n"
    "       cscert web binding set --site NAME [--port P] [--address A] [--use U]\n"
    "       cscert web binding remove --site NAME\n"
    "       cscert web serve [--foreground] [--workers N] [--timeout SECONDS]\n"
    "       cscert web verify [--json]\n\n"
    "The HTTPS bindings, as IIS's Lync Server Internal and External Web Sites. On a\n"
    "StandardEdition, FrontEnd or Director server the sites Internal (0.0.0.0:443,\n"
    "WebServicesInternal) and External (0.0.0.0:4443, WebServicesExternal) exist from\n"
    "the start; any other site may be added (e.g. a SIP/TLS listener on 5061, Default).\n\n"
    "binding set    add a site (--port and --use needed) or change one; the use must be\n"
    "               one this server's role has; one site per address:port\n"
    "serve          serve every binding over TLS 1.2+ with its use's certificate, key\n"
    "               and chain; a new assignment reaches new connections within 2 s;\n"
    "               SIGHUP reloads now, SIGTERM drains and stops. Without --foreground\n"
    "               it detaches, logs to syslog and prints its PID. Pages: / (status),\n"
    "               /healthz (JSON).\n"
    "  --workers N  event loops (default 2)   --timeout S  idle/handshake limit (10)\n"
    "verify         connect to every binding with the site's name as SNI and compare\n"
    "               the served certificate with the assignment, the chain with Root\n"
    "               and its names with the site's; exit 3 when any differs, 1 when a\n"
    "               binding cannot be reached\n\n"
    "Examples:\n"
    "  cscert web binding set --site External --port 4443 --address 0.0.0.0\n"
    "  cscert web binding set --site SIP --port 5061 --use Default\n"
    "  cscert web serve --foreground\n"
    "  cscert web verify\n";

enum { O_SITE = 1, O_PORT, O_ADDRESS, O_USE, O_JSON, O_FG, O_WORKERS, O_TIMEOUT, O_HELP };

static const struct option web_opts[] = {
    { "site", required_argument, NULL, O_SITE },
    { "port", required_argument, NULL, O_PORT },
    { "address", required_argument, NULL, O_ADDRESS },
    { "use", required_argument, NULL, O_USE },
    { "type", required_argument, NULL, O_USE },
    { "json", no_argument, NULL, O_JSON },
    { "foreground", no_argument, NULL, O_FG },
    { "workers", required_argument, NULL, O_WORKERS },
    { "timeout", required_argument, NULL, O_TIMEOUT },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
};

struct web_args {
    const char *site, *address, *use;
    int port, json, foreground, workers, timeout, help;
};

static int number(int *out, const char *s, const char *opt, int lo, int hi)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (!*s || *end || v < lo || v > hi)
        return cli_usage("web", "%s wants a number from %d to %d, not '%s'", opt, lo, hi, s);
    *out = (int)v;
    return 0;
}

static int parse(struct web_args *a, int argc, char **argv)
{
    int c, rc;

    memset(a, 0, sizeof(*a));
    while ((c = getopt_long(argc, argv, "", web_opts, NULL)) != -1) {
        switch (c) {
        case O_SITE: a->site = optarg; break;
        case O_PORT:
            /* 0..65535 parsed here; the library names a bad port itself */
            if ((rc = number(&a->port, optarg, "--port", 0, 1 << 20)))
                return rc;
            if (a->port == 0)
                return cli_usage("web", "--port wants a port from 1 to 65535, not '%s'", optarg);
            break;
        case O_ADDRESS: a->address = optarg; break;
        case O_USE: a->use = optarg; break;
        case O_JSON: a->json = 1; break;
        case O_FG: a->foreground = 1; break;
        case O_WORKERS:
            if ((rc = number(&a->workers, optarg, "--workers", 1, CSCERT_WEB_WORKERS_MAX)))
                return rc;
            break;
        case O_TIMEOUT:
            if ((rc = number(&a->timeout, optarg, "--timeout", 1, 3600)))
                return rc;
            break;
        case O_HELP: a->help = 1; break;
        default: return cli_usage("web", "unknown option");
        }
    }
    return 0;
}

static int binding_list(cscert_store *st, int json)
{
    cscert_binding *b = NULL;
    size_t n = 0, i;
    int rc;

    if ((rc = cscert_web_bindings(&b, &n, st)) < 0)
        return rc;
    if (json) {
        json_t *arr = json_array();

        for (i = 0; i < n; i++) {
            json_t *o = json_object();

            json_object_set_new(o, "site", json_string(b[i].site));
            json_object_set_new(o, "address", json_string(b[i].address));
            json_object_set_new(o, "port", json_integer(b[i].port));
            json_object_set_new(o, "use", json_string(b[i].use));
            json_array_append_new(arr, o);
        }
        cli_json_print(arr);
    } else if (n == 0) {
        printf("no bindings (the default sites appear once the topology places this server in a\n"
               "StandardEdition, FrontEnd or Director pool)\n");
    } else {
        printf("%-16s %-40s %-6s %s\n", "Site", "Address", "Port", "Use");
        for (i = 0; i < n; i++)
            printf("%-16s %-40s %-6d %s\n", b[i].site, b[i].address, b[i].port, b[i].use);
    }
    free(b);
    return CSCERT_OK;
}

static void print_result(const cscert_web_result *r)
{
    size_t i, n_req = 0;

    for (i = 0; r->required && r->required[i]; i++)
        n_req++;
    printf("%s  %s:%d  %s\n", r->binding.site, r->binding.address, r->binding.port, r->binding.use);
    printf("  connect     %s%s%s\n", r->connect_to, r->sni[0] ? "  SNI " : "", r->sni);
    if (!r->reachable || !r->handshake) {
        printf("  error       %s\n", r->error);
    } else {
        printf("  served      %s\n", r->served);
        printf("  assigned    %s  %s\n", r->assigned[0] ? r->assigned : "(none)",
               r->match ? "match" : "DIFFERENT");
        printf("  chain       %s%s\n", r->chain_trusted ? "trusted (reaches Root)" : "NOT TRUSTED: ",
               r->chain_trusted ? "" : r->chain_error);
        printf("  expires     %s\n", r->not_after);
        if (n_req && r->n_missing == 0)
            printf("  names       all %zu covered\n", n_req);
        else if (n_req) {
            printf("  names       %zu of %zu MISSING:", r->n_missing, n_req);
            for (i = 0; i < r->n_missing; i++)
                printf(" %s", r->missing[i]);
            printf("\n");
        }
    }
    for (i = 0; i < r->n_problems; i++) {
        printf("  problem     %s\n", r->problems[i].message);
        if (r->problems[i].fix)
            printf("    fix       %s\n", r->problems[i].fix);
    }
    printf("  result      %s\n\n", r->n_problems ? "PROBLEMS" : "ok");
}

static int verify(cscert_store *st, int json)
{
    cscert_web_result *v = NULL;
    size_t n = 0, i, j;
    int rc, problems = 0;
    const cscert_web_result *unreachable = NULL;

    if ((rc = cscert_web_verify(&v, &n, st, NULL)) < 0)
        return rc;
    for (i = 0; i < n; i++) {
        problems += v[i].n_problems != 0;
        for (j = 0; j < v[i].n_problems; j++)
            if (strcmp(v[i].problems[j].kind, "binding-unreachable") == 0 && !unreachable)
                unreachable = &v[i];
    }
    if (json)
        cli_json_print(cscert_web_results_json(v, n));
    else if (n == 0)
        printf("no bindings to verify; see 'cscert web binding list'\n");
    else
        for (i = 0; i < n; i++)
            print_result(&v[i]);
    if (unreachable)
        rc = cscert_error_setf(CSCERT_EIO, unreachable->binding.site, "is 'cscert web serve' running?",
                               "cannot connect to %s: %s", unreachable->connect_to, unreachable->error);
    else
        rc = problems ? CLI_EXIT_FINDINGS : CSCERT_OK;
    if (!json && !unreachable && n)
        printf("%zu binding%s, %d with problems\n", n, n == 1 ? "" : "s", problems);
    cscert_web_results_free(v, n);
    return rc;
}

/* A running web serve listens where it started: a binding change takes
 * effect when it is restarted (assignments, by contrast, reload live). */
static void running_note(cscert_store *st)
{
    long pid = 0;

    if (cscert_web_running(&pid, st))
        fprintf(stderr, "cscert: note: web serve (pid %ld) listens on the bindings it started with; restart it "
                        "to apply this change: kill -TERM %ld; cscert web serve\n", pid, pid);
}

int cmd_web(struct cli *cli, int argc, char **argv)
{
    struct web_args a;
    cscert_store *st;
    const char *sub = argc > 1 ? argv[1] : NULL, *sub2 = NULL;
    int rc, skip = 2;

    if (!sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(web_usage, sub ? stdout : stderr);
        return sub ? CSCERT_OK : CLI_EXIT_USAGE;
    }
    if (strcmp(sub, "binding") == 0) {
        sub2 = argc > 2 ? argv[2] : NULL;
        skip = 3;
        if (!sub2 || strcmp(sub2, "--help") == 0) {
            fputs(web_usage, sub2 ? stdout : stderr);
            return sub2 ? CSCERT_OK : cli_usage("web", "'web binding' wants list, set or remove");
        }
        if (strcmp(sub2, "list") && strcmp(sub2, "set") && strcmp(sub2, "remove"))
            return cli_usage("web", "'web binding %s': use list, set or remove", sub2);
    } else if (strcmp(sub, "serve") && strcmp(sub, "verify")) {
        return cli_usage("web", "'web %s': use binding, serve or verify", sub);
    }
    if ((rc = parse(&a, argc - skip + 1, argv + skip - 1)))
        return rc;
    if (a.help) {
        fputs(web_usage, stdout);
        return CSCERT_OK;
    }
    if (optind < argc - skip + 1)
        return cli_usage("web", "unexpected argument '%s'", argv[skip - 1 + optind]);
    if (sub2 && strcmp(sub2, "set") == 0 && !a.site)
        return cli_usage("web", "'web binding set' needs --site NAME");
    if (sub2 && strcmp(sub2, "remove") == 0 && !a.site)
        return cli_usage("web", "'web binding remove' needs --site NAME");
    if (sub2 && strcmp(sub2, "set") == 0 && !a.port && !a.address && !a.use)
        return cli_usage("web", "'web binding set' needs --port, --address or --use");
    if (!(st = cli_store(cli)))
        return cscert_error_code();

    if (sub2 && strcmp(sub2, "list") == 0)
        return binding_list(st, a.json);
    if (sub2 && strcmp(sub2, "set") == 0) {
        if ((rc = cscert_web_binding_set(st, a.site, a.address, a.port, a.use)) < 0
            || (rc = binding_list(st, 0)) < 0)
            return rc;
        running_note(st);
        return CSCERT_OK;
    }
    if (sub2 && strcmp(sub2, "remove") == 0) {
        if ((rc = cscert_web_binding_remove(st, a.site)) < 0)
            return rc;
        printf("removed site %s\n", a.site);
        running_note(st);
        return CSCERT_OK;
    }
    if (strcmp(sub, "serve") == 0) {
        cscert_web_serve_opts o = { .workers = a.workers, .timeout_s = a.timeout, .foreground = a.foreground };
        long pid = 0;

        o.child_pid = &pid;
        if ((rc = cscert_web_serve(st, &o)) < 0)
            return rc;
        if (!a.foreground)
            printf("%ld\n", pid);
        return CSCERT_OK;
    }
    return verify(st, a.json);
}
