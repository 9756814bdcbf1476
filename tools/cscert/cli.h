/* cli.h: what the cscert tool's command files share.
 * The tool only parses arguments, formats output and picks exit codes;
 * all work is done by libcscert (include/cscert/). */
#ifndef CSCERT_CLI_H
#define CSCERT_CLI_H

#include <stdio.h>
#include <jansson.h>

#include "cscert/error.h"
#include "cscert/store.h"

/* What a command returns besides CSCERT_OK and a negative cscert_err
 * (printed by main.c as "cscert: error: MSG", exit 1). */
#define CLI_EXIT_USAGE 2    /* bad arguments; the command printed why */
#define CLI_EXIT_FINDINGS 3 /* check/verify found problems */

struct cli {
    const char *prog;       /* "cscert" */
    const char *home;       /* --home, $CSCERT_HOME, or /var/lib/cscert */
    cscert_store *store;    /* opened by cli_store() on first use */
};

/* The store of the home, opened (and created 0700/0600) on first use.
 * NULL with the library's error set when it cannot be opened. */
cscert_store *cli_store(struct cli *cli);

/* Print "cscert: error: MSG" for a usage problem, the hint to see --help,
 * and return CLI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Split "a, b,c" into trimmed, non-empty items; *n items, NULL-terminated.
 * Free with cli_list_free. Returns NULL on an empty list. */
char **cli_split_list(const char *s, size_t *n);
void cli_list_free(char **list);

/* Read a password: first line of FILE without its line ending ('-' reads
 * stdin). The caller wipes and frees it with cli_secret_free. */
int cli_read_password_file(char **out, const char *path);
void cli_secret_free(char *s);

/* Print a JSON value to stdout, indented, with a newline; steals v. */
void cli_json_print(json_t *v);
/* A long JSON array printed element by element, as cli_json_print would
 * print the whole array (begin, then each item (stolen), then end). */
void cli_json_array_begin(void);
void cli_json_array_item(json_t *v, size_t index);
void cli_json_array_end(size_t count);

/* Commands. argv[0] is the command's own name. */
int cmd_topology(struct cli *cli, int argc, char **argv);
int cmd_request(struct cli *cli, int argc, char **argv);
int cmd_log(struct cli *cli, int argc, char **argv);
/* cmd_store.c: the store's lifecycle (issue 4). */
int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_set(struct cli *cli, int argc, char **argv);
int cmd_get(struct cli *cli, int argc, char **argv);
int cmd_remove(struct cli *cli, int argc, char **argv);
int cmd_store(struct cli *cli, int argc, char **argv);
int cmd_show(struct cli *cli, int argc, char **argv);
int cmd_remove_cert(struct cli *cli, int argc, char **argv);
int cmd_check(struct cli *cli, int argc, char **argv);
/* cmd_web.c: the HTTPS bindings, web serve and web verify (issue 6). */
int cmd_web(struct cli *cli, int argc, char **argv);
/* cmd_ca.c: ca list, ca trust (issue 5, online enrollment). */
int cmd_ca(struct cli *cli, int argc, char **argv);
/* cmd_wizard.c: the Certificate Wizard, running the commands above. */
int cmd_wizard(struct cli *cli, int argc, char **argv);

#endif
