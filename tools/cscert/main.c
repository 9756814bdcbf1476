/* cscert: the per-server certificate tool. main.c holds the command
 * table, the setup every command shares, and the one place where library
 * codes become exit codes (0 success, 1 failure, 2 usage, 3 findings). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../common/tool_common.h"
#include "cli.h"

#define CSCERT_VERSION "0.1.0"

struct cmd {
    const char *name;
    int (*fn)(struct cli *cli, int argc, char **argv);
    const char *summary;
};

/* One line a command group; each cmd_<group>.c has its own --help. */
static const struct cmd commands[] = {
    { "topology", cmd_topology, "publish, show, names: the topology and every name a certificate needs" },
    { "request",  cmd_request,  "new key and request: enroll online or write it (--output); list, cancel" },
    { "import",   cmd_import,   "a CA's response, a PKCS#12 with its key, or a root/intermediate" },
    { "export",   cmd_export,   "PKCS#12 with key and chain (AES-256), or PEM without the key" },
    { "set",      cmd_set,      "assign a certificate to uses (--roll to stage it)" },
    { "get",      cmd_get,      "the assigned certificates, every name shown" },
    { "remove",   cmd_remove,   "unassign uses" },
    { "store",    cmd_store,    "list: the certificate store (My, Root, CA)" },
    { "show",     cmd_show,     "one certificate in full, with its chain status" },
    { "remove-cert", cmd_remove_cert, "delete a certificate no use is assigned to" },
    { "check",    cmd_check,    "every problem of this server's certificates, with fixes (exit 3)" },
    { "web",      cmd_web,      "binding list|set|remove, serve, verify: the HTTPS sites (443, 4443)" },
    { "ca",       cmd_ca,       "list, trust: the topology's CAs, and trusting a CA's root by fingerprint" },
    { "log",      cmd_log,      "the audit log of every change to this home" },
    { "wizard",   cmd_wizard,   "the Certificate Wizard: request, assign, import, view, remove, page by page" },
    { NULL, NULL, NULL }
};

static void usage(FILE *f)
{
    const struct cmd *c;

    fprintf(f, "usage: cscert [--home DIR] COMMAND [ARGS] [--help]\n"
               "       cscert --version\n\n"
               "Certificates of a Lync-style unified-communications server: the names each\n"
               "use needs, keys and requests, the store, assignment and checks.\n\n"
               "Commands:\n");
    for (c = commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\nThe home (--home DIR, else $CSCERT_HOME, else /var/lib/cscert) holds the\n"
               "store. Exit: 0 success, 1 failure, 2 usage error, 3 problems found.\n"
               "See cscert(1), and 'cscert COMMAND --help'.\n");
}

cscert_store *cli_store(struct cli *cli)
{
    if (!cli->store && cscert_store_open(&cli->store, cli->home) < 0)
        return NULL;
    return cli->store;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "cscert: error: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "; see 'cscert %s --help'\n", cmd);
    return CLI_EXIT_USAGE;
}

char **cli_split_list(const char *s, size_t *n)
{
    char **list = NULL, *copy, *tok, *save = NULL;
    size_t cnt = 0;

    *n = 0;
    if (!s || !(copy = strdup(s)))
        return NULL;
    list = calloc(strlen(s) / 2 + 2, sizeof(*list));
    for (tok = strtok_r(copy, ",", &save); list && tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;

        while (*tok == ' ' || *tok == '\t')
            tok++;
        end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*tok)
            list[cnt++] = strdup(tok);
    }
    free(copy);
    if (list && cnt == 0) {
        free(list);
        return NULL;
    }
    *n = cnt;
    return list;
}

void cli_list_free(char **list)
{
    size_t i;

    for (i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

int cli_read_password_file(char **out, const char *path)
{
    return tool_read_secret_line(out, path, "check the path given to --password-file");
}

void cli_secret_free(char *s)
{
    tool_secret_free(s);
}

void cli_json_print(json_t *v)
{
    tool_json_print(v);
}

void cli_json_array_begin(void)
{
    fputs("[", stdout);
}

void cli_json_array_item(json_t *v, size_t index)
{
    /* 4 KiB: one listing row; a larger element is dumped to the heap. */
    char buf[4096], *heap = NULL;
    const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER;
    const char *s = "null";
    size_t n = v ? json_dumpb(v, buf, sizeof(buf) - 1, flags) : 0;

    if (n > 0 && n < sizeof(buf)) {
        buf[n] = '\0';
        s = buf;
    } else if (v && (heap = json_dumps(v, flags))) {
        s = heap;
    }
    /* One level deeper than on its own: each line of it two more spaces
     * (a newline in a JSON text is only ever whitespace between tokens). */
    fputs(index ? ",\n  " : "\n  ", stdout);
    for (const char *p = s, *nl; *p; p = nl + 1) {
        if (!(nl = strchr(p, '\n'))) {
            fputs(p, stdout);
            break;
        }
        fwrite(p, 1, (size_t)(nl - p), stdout);
        fputs("\n  ", stdout);
    }
    free(heap);
    json_decref(v);
}

void cli_json_array_end(size_t count)
{
    fputs(count ? "\n]\n" : "]\n", stdout);
}

static void warn_to_stderr(const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "cscert: warning: %s\n", msg);
}

int main(int argc, char **argv)
{
    struct cli cli = { .prog = "cscert" };
    const struct cmd *c;
    char **args;
    int i, n = 0, rc;

    cli.home = getenv("CSCERT_HOME");
    if (!cli.home || !*cli.home)
        cli.home = "/var/lib/cscert";
    cscert_set_warn_handler(warn_to_stderr, NULL);

    /* --home may stand anywhere before "--"; take it out of argv. */
    args = calloc((size_t)argc + 1, sizeof(*args));
    if (!args)
        return 1;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            for (; i < argc; i++)
                args[n++] = argv[i];
            break;
        }
        if (strcmp(argv[i], "--home") == 0) {
            if (i + 1 >= argc) {
                free(args);
                return cli_usage("", "--home needs a directory");
            }
            cli.home = argv[++i];
        } else if (strncmp(argv[i], "--home=", 7) == 0) {
            cli.home = argv[i] + 7;
        } else {
            args[n++] = argv[i];
        }
    }
    if (n == 0 || strcmp(args[0], "--help") == 0 || strcmp(args[0], "-h") == 0
        || strcmp(args[0], "help") == 0) {
        usage(n == 0 ? stderr : stdout);
        free(args);
        return n == 0 ? CLI_EXIT_USAGE : 0;
    }
    if (strcmp(args[0], "--version") == 0) {
        printf("cscert %s\n", CSCERT_VERSION);
        free(args);
        return 0;
    }
    for (c = commands; c->name; c++)
        if (strcmp(c->name, args[0]) == 0)
            break;
    if (!c->name) {
        fprintf(stderr, "cscert: error: '%s' is not a cscert command; see 'cscert --help'\n", args[0]);
        free(args);
        return CLI_EXIT_USAGE;
    }
    optind = 0; /* each command runs getopt_long afresh */
    rc = c->fn(&cli, n, args);
    if (rc < 0) {
        const char *msg = cscert_error_last();

        fprintf(stderr, "cscert: error: %s\n", *msg ? msg : cscert_strerror(rc));
        rc = 1;
    }
    cscert_store_free(cli.store);
    free(args);
    return rc;
}
