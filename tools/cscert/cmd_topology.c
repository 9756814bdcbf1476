/* cmd_topology.c: `cscert topology publish|show|names`. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cscert/names.h"
#include "cscert/topology.h"

/* 16 MiB: the topology module refuses more anyway. */
#define TOPO_FILE_MAX (16L << 20)

static const char topology_usage[] =
    "usage: cscert topology publish FILE [--computer-fqdn F]\n"
    "       cscert topology show [--json]\n"
    "       cscert topology names --type T[,T] [--computer-fqdn F] [--all-sip-domain]\n"
    "                             [--domain-name \"a,b\"] [--json]\n\n"
    "publish  validate the topology document (JSON) and store it with this server's\n"
    "         FQDN; a refused document leaves the previous one in force\n"
    "show     the published topology, normalized\n"
    "names    the subject name and every SAN a request for these uses carries, in\n"
    "         order, each with the rule (R1-R18) that produced it\n\n"
    "Example:\n"
    "  cscert topology publish contoso.json --computer-fqdn fe01.contoso.net\n"
    "  cscert topology names --type Default,WebServicesInternal,WebServicesExternal --all-sip-domain\n";

enum { O_COMPUTER = 256, O_JSON, O_TYPE, O_ALL_SIP, O_DOMAIN, O_HELP };
static const struct option topo_opts[] = {
    { "computer-fqdn", required_argument, NULL, O_COMPUTER },
    { "json", no_argument, NULL, O_JSON },
    { "type", required_argument, NULL, O_TYPE },
    { "all-sip-domain", no_argument, NULL, O_ALL_SIP },
    { "domain-name", required_argument, NULL, O_DOMAIN },
    { "help", no_argument, NULL, O_HELP },
    { NULL, 0, NULL, 0 },
};

static int read_file(char **out, size_t *len, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    *out = NULL;
    if (!f)
        return cscert_error_setf(CSCERT_EIO, path, "check the path", "cannot open: %s", strerror(errno));
    buf = malloc(TOPO_FILE_MAX + 1);
    n = buf ? fread(buf, 1, TOPO_FILE_MAX + 1, f) : 0;
    fclose(f);
    if (!buf)
        return cscert__oom();
    if (n > TOPO_FILE_MAX) {
        free(buf);
        return cscert_error_set(CSCERT_EINVAL, path, "larger than 16 MiB", "is it a topology?");
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return CSCERT_OK;
}

int cmd_topology(struct cli *cli, int argc, char **argv)
{
    const char *computer = NULL, *types = NULL, *domains = NULL, *sub;
    int c, json = 0, all_sip = 0, rc;
    cscert_store *st;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(topology_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CSCERT_OK;
    }
    sub = argv[1];
    argv++;
    argc--;
    while ((c = getopt_long(argc, argv, "", topo_opts, NULL)) != -1) {
        switch (c) {
        case O_COMPUTER: computer = optarg; break;
        case O_JSON: json = 1; break;
        case O_TYPE: types = optarg; break;
        case O_ALL_SIP: all_sip = 1; break;
        case O_DOMAIN: domains = optarg; break;
        case O_HELP: fputs(topology_usage, stdout); return CSCERT_OK;
        default: return cli_usage("topology", "unknown option");
        }
    }
    if (strcmp(sub, "publish") == 0) {
        char *text = NULL;
        size_t len = 0;

        if (optind + 1 != argc)
            return cli_usage("topology", "publish takes one FILE");
        if (!(st = cli_store(cli)))
            return cscert_error_code();
        if ((rc = read_file(&text, &len, argv[optind])) == CSCERT_OK)
            rc = cscert_topology_publish(st, text, len, argv[optind], computer);
        free(text);
        cscert_store_audit(st, "topology publish", argv[optind], rc < 0 ? "refused" : "ok",
                           rc < 0 ? cscert_error_last() : computer);
        if (rc == CSCERT_OK) {
            char *fq = NULL;

            cscert_store_get_setting(&fq, st, "computer_fqdn");
            printf("Topology published from %s; this server is %s.\n", argv[optind], fq ? fq : "?");
            free(fq);
        }
        return rc;
    }
    if (optind != argc)
        return cli_usage("topology", "unexpected argument '%s'", argv[optind]);
    if (strcmp(sub, "show") == 0) {
        cscert_topology *t = NULL;
        char *fq = NULL, *s = NULL;

        if (!(st = cli_store(cli)))
            return cscert_error_code();
        if ((rc = cscert_topology_load_published(&t, &fq, st)) < 0 || (rc = cscert_topology_to_json(&s, t)) < 0)
            goto show_out;
        if (json) {
            puts(s);
        } else {
            size_t i;

            printf("Computer FQDN:   %s\n", fq ? fq : "");
            printf("SIP domains:     ");
            for (i = 0; i < t->n_sip; i++)
                printf("%s%s%s", i ? ", " : "", t->sip_domains[i], i == 0 ? " (default)" : "");
            printf("\nMeet:            ");
            for (i = 0; i < t->n_meet; i++)
                printf("%s%s", i ? ", " : "", t->meet[i]);
            printf("\nDial-in:         %s\nAdmin:           %s\n", t->dialin ? t->dialin : "-",
                   t->admin ? t->admin : "-");
            for (i = 0; i < t->n_cas; i++)
                printf("CA:              %s  %s\n", t->cas[i].name, t->cas[i].url ? t->cas[i].url : "");
            for (i = 0; i < t->n_pools; i++) {
                const cscert_pool *p = &t->pools[i];
                size_t j;

                printf("Pool %-26s %-16s site %s\n", p->fqdn, cscert_role_name(p->role), p->site);
                for (j = 0; j < p->n_servers; j++)
                    printf("  server %s\n", p->servers[j]);
                if (p->web_internal)
                    printf("  web services internal %s, external %s\n", p->web_internal, p->web_external);
                if (p->edge_access)
                    printf("  edge access %s, webconf %s, av %s\n", p->edge_access, p->edge_webconf, p->edge_av);
            }
        }
    show_out:
        free(s);
        free(fq);
        cscert_topology_free(t);
        return rc;
    }
    if (strcmp(sub, "names") == 0) {
        cscert_topology *t = NULL;
        cscert_names n = { NULL, 0 };
        char *fq = NULL, fqbuf[254];
        unsigned uses = 0;
        size_t i;

        if (!types)
            return cli_usage("topology", "names needs --type (e.g. --type Default)");
        if ((rc = cscert_uses_parse(&uses, types)) < 0)
            return rc;
        if (computer && (rc = cscert_fqdn_check(fqbuf, computer, 0, "--computer-fqdn")) < 0)
            return rc;
        if (!(st = cli_store(cli)))
            return cscert_error_code();
        if ((rc = cscert_topology_load_published(&t, &fq, st)) < 0
            || (rc = cscert_names_compute(&n, t, computer ? fqbuf : fq, uses, all_sip, domains)) < 0)
            goto names_out;
        if (json) {
            json_t *arr = json_array();

            for (i = 0; i < n.n; i++)
                json_array_append_new(arr, json_pack("{s:s, s:s}", "name", n.v[i].name, "rule", n.v[i].rule));
            cli_json_print(json_pack("{s:s, s:s, s:o}", "computer_fqdn", computer ? fqbuf : fq, "subject",
                                     n.v[0].name, "names", arr));
        } else {
            printf("%-4s %-45s %s\n", "", "NAME", "RULE");
            printf("%-4s %-45s %s\n", "CN", n.v[0].name, n.v[0].rule);
            for (i = 0; i < n.n; i++)
                printf("%-4s %-45s %s\n", "SAN", n.v[i].name, i == 0 ? "R1" : n.v[i].rule);
        }
    names_out:
        cscert_names_clear(&n);
        free(fq);
        cscert_topology_free(t);
        return rc;
    }
    return cli_usage("topology", "unknown subcommand '%s' (publish, show, names)", sub);
}
