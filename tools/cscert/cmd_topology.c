/* cmd_topology.c: `cscert topology publish|show|names`. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cscert/names.h"
#include "cscert/topology.h"

static const char topology_usage[] =
    "usage: cscert topology publish FILE [--computer-fqdn F]\n"
    "       cscert topology show [--json]\n"
    "       cscert topology names --type T[,T] [--computer-fqdn F] [--all-sip-domain]\n"
    "                             [--domain-name \"a,b\"] [--json]\n\n"
    "publish  validate the topology document (JSON, see cscert(1)) and store it, with\n"
    "         this server's FQDN (--computer-fqdn, else the one saved before, else the\n"
    "         host's FQDN), in one transaction; a refused document names the JSON path\n"
    "         and leaves the previous topology in force\n"
    "show     the published topology, normalized (lower-case FQDNs, canonical roles);\n"
    "         --json prints a document that publish accepts\n"
    "names    the subject name (CN) and every SAN a request for these uses carries, in\n"
    "         request order, each with the rule (R1-R18) that produced it\n\n"
    "Options:\n"
    "  --computer-fqdn F  the server (publish: this server's identity; names: the\n"
    "                     target server, whose role decides the names; R17)\n"
    "  --type T[,T]       uses, any case: Default, WebServicesInternal,\n"
    "                     WebServicesExternal, OAuthTokenIssuer, AccessEdgeExternal,\n"
    "                     DataEdgeExternal, AudioVideoAuthentication, Internal,\n"
    "                     XmppServer, ReverseProxy (R18 says which role has which)\n"
    "  --all-sip-domain   sip.<d> and lyncdiscover[internal].<d> for every SIP domain\n"
    "                     (R2, R6, R10), not only the default or auto sign-in ones\n"
    "  --domain-name L    extra SANs, comma-separated; a leftmost wildcard (*.x.y) is\n"
    "                     allowed here, never in the CN\n"
    "  --json             machine-readable output\n\n"
    "Examples:\n"
    "  cscert topology publish contoso.json --computer-fqdn fe01.contoso.net\n"
    "  cscert topology names --type Default,WebServicesInternal,WebServicesExternal --all-sip-domain\n"
    "  cscert topology names --type ReverseProxy --computer-fqdn fe01.contoso.net --json\n";

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
    if (strcmp(sub, "publish") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "names") != 0)
        return cli_usage("topology", "unknown subcommand '%s' (publish, show, names)", sub);
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
        if (optind + 1 != argc)
            return cli_usage("topology", "publish takes one FILE");
        if (!(st = cli_store(cli)))
            return cscert_error_code();
        rc = cscert_topology_publish_file(st, argv[optind], computer);
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
            printf("\nAuto sign-in:    ");
            for (i = 0; i < t->n_auto; i++)
                printf("%s%s", i ? ", " : "", t->auto_sign_in[i]);
            printf("%s\nDial-in:         %s\nAdmin:           %s\nOffice Web Apps: %s\n", t->n_auto ? "" : "-",
                   t->dialin ? t->dialin : "-", t->admin ? t->admin : "-",
                   t->office_web_apps ? t->office_web_apps : "-");
            for (i = 0; i < t->n_cas; i++)
                printf("CA:              %s  %s%s%s\n", t->cas[i].name, t->cas[i].url,
                       t->cas[i].address ? "  at " : "", t->cas[i].address ? t->cas[i].address : "");
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
                for (j = 0; j < p->n_xmpp; j++)
                    printf("  xmpp domain %s\n", p->xmpp_domains[j]);
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
        const cscert_pool *pool;
        char *fq = NULL, fqbuf[254], usebuf[256];
        const char *target;
        unsigned uses = 0;
        int exportable;
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
        target = computer ? fqbuf : fq;
        pool = cscert_topology_find_server(t, target);
        cscert_uses_format(usebuf, sizeof(usebuf), uses);
        exportable = cscert_names_key_exportable(uses, target, fq);
        if (json) {
            json_t *arr = json_array();
            char subject[300];

            snprintf(subject, sizeof(subject), "CN=%s", n.v[0].name);
            /* names: every SAN in request order, the CN's name first (R1). */
            for (i = 0; i < n.n; i++)
                json_array_append_new(arr, json_pack("{s:s, s:s}", "name", n.v[i].name, "rule", n.v[i].rule));
            cli_json_print(json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:o, s:b, s:i}", "computer_fqdn",
                                     target, "pool", pool->fqdn, "role", cscert_role_name(pool->role), "uses",
                                     usebuf, "subject", subject, "cn", "name", n.v[0].name, "rule", n.v[0].rule,
                                     "names", arr, "key_exportable", exportable, "min_rsa_bits",
                                     cscert_uses_min_rsa_bits(uses)));
        } else {
            printf("%s for %s (%s pool %s)%s\n\n", usebuf, target, cscert_role_name(pool->role), pool->fqdn,
                   exportable ? "; the key will be exportable" : "");
            printf("%-4s %-50s %s\n", "", "NAME", "RULE");
            printf("%-4s %-50s %s\n", "CN", n.v[0].name, n.v[0].rule);
            for (i = 0; i < n.n; i++)
                printf("%-4s %-50s %s\n", "SAN", n.v[i].name, i == 0 ? "R1" : n.v[i].rule);
        }
    names_out:
        cscert_names_clear(&n);
        free(fq);
        cscert_topology_free(t);
        return rc;
    }
    return cli_usage("topology", "unknown subcommand '%s' (publish, show, names)", sub);
}
