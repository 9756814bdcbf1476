/* cmd_log.c: `cscert log [--json] [--last N]`, the audit log of the home. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char log_usage[] =
    "usage: cscert log [--json] [--last N]\n\n"
    "Every change made to this home, oldest first: time, command, object, outcome\n"
    "(ok, refused, forced, failed) and detail. Read from HOME/audit.jsonl.\n\n"
    "  --json     one JSON array\n"
    "  --last N   only the N newest entries\n\n"
    "Example: cscert log --last 20\n";

static const char *str(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));

    return v ? v : "";
}

int cmd_log(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "last", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    cscert_store *st;
    json_t *all = NULL, *e;
    size_t i, from = 0;
    long last = -1;
    int c, json = 0, rc;
    char *end;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'n':
            last = strtol(optarg, &end, 10);
            if (*end || last < 0)
                return cli_usage("log", "--last wants a count, not '%s'", optarg);
            break;
        case 'h': fputs(log_usage, stdout); return CSCERT_OK;
        default: return cli_usage("log", "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage("log", "unexpected argument '%s'", argv[optind]);
    if (!(st = cli_store(cli)))
        return cscert_error_code();
    if ((rc = cscert_store_audit_read(&all, st)) < 0)
        return rc;
    if (last >= 0 && json_array_size(all) > (size_t)last)
        from = json_array_size(all) - (size_t)last;
    if (json) {
        json_t *out = json_array();

        for (i = from; i < json_array_size(all); i++)
            json_array_append(out, json_array_get(all, i));
        cli_json_print(out);
    } else {
        json_array_foreach(all, i, e) {
            if (i < from)
                continue;
            printf("%s  %-10s %-8s %s%s%s\n", str(e, "time"), str(e, "command"), str(e, "outcome"),
                   str(e, "object"), *str(e, "detail") ? ": " : "", str(e, "detail"));
        }
    }
    json_decref(all);
    return CSCERT_OK;
}
