/* csca_cli.h: what the csca tool's command files share.
 * The tool only parses arguments, formats output and picks exit codes;
 * all work is done by libcscert (include/cscert/ca.h, ca_serve.h). */
#ifndef CSCA_CLI_H
#define CSCA_CLI_H

#include <jansson.h>

#include "cscert/ca.h"
#include "cscert/error.h"

#define CSCA_EXIT_USAGE 2   /* bad arguments; the command printed why */

/* Global options, parsed by main.c before the command. */
typedef struct csca_global {
    const char *home;              /* cscert_ca_home_resolve(--home) */
    const char *key_password_file; /* --key-password-file, or NULL ($CSCA_KEY_PASSWORD_FILE) */
    const char *actor;             /* who runs it: $SUDO_USER, else the login name */
} csca_global;

/* Open the CA of g->home, reading the key password file when given.
 * Returns a cscert_err with the library's message set. */
int csca_open(cscert_ca **out, const csca_global *g);

/* "csca: error: MSG" for a usage problem plus the --help hint; returns
 * CSCA_EXIT_USAGE. */
int csca_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* `csca serve` (tools/csca/cmd_serve.c). argv[0] is "serve". */
int cmd_serve(const csca_global *g, int argc, char **argv);

#endif
