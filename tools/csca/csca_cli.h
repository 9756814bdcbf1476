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

/* A flag's value its parser refused with EINVAL (message set): said as a
 * usage error of cmd, CSCA_EXIT_USAGE (DESIGN: 2, usage error). Any other
 * rc (ENOMEM) is returned as it is. */
int csca_bad_value(int rc, const char *cmd);

/* `csca serve` (tools/csca/cmd_serve.c). argv[0] is "serve". */
int cmd_serve(const csca_global *g, int argc, char **argv);

/* ---- helpers shared by the command files (main.c) ---- */

/* The first line of path ('-': stdin) without its line ending, in secure
 * memory; free with csca_secret_free (wiped). */
int csca_read_password_file(char **out, const char *path);
void csca_secret_free(char *s);
/* Print v indented (steals v). */
void csca_json_print(json_t *v);
/* o[k] as a string, "" when absent (for table output). */
const char *csca_jstr(json_t *o, const char *k);
/* The strings of array a joined with ',' into buf (cut to n). */
void csca_join(char *buf, size_t n, json_t *a);
/* "10y", "730d", "365": days; EINVAL naming opt otherwise. */
int csca_parse_days(int *out, const char *s, const char *opt);
/* A whole file into memory (at most max bytes); *out the caller's (free). */
int csca_read_file(unsigned char **out, size_t *len, const char *path, size_t max);
/* Write data to path (mode 0644, replaced atomically). */
int csca_write_file(const char *path, const void *data, size_t len);

/* Write PKCS#7 certs-only of leaf (may be NULL) then the CA chain to path:
 * PEM armour (-----BEGIN PKCS7-----) when pem, else DER (cmd_ca.c). */
int csca_write_p7(cscert_ca *ca, X509 *leaf, const char *path, int pem);
/* --format of cacerts and retrieve: "pem" sets *pem, "p7b" (or "der")
 * clears it; else the usage error of cmd, CSCA_EXIT_USAGE (cmd_ca.c). */
int csca_format_pem(int *pem, const char *s, const char *cmd);

/* Command groups (each has --help). argv[0] is the command name. */
int cmd_init(const csca_global *g, int argc, char **argv);
int cmd_install_cert(const csca_global *g, int argc, char **argv);
int cmd_show(const csca_global *g, int argc, char **argv);
int cmd_cacerts(const csca_global *g, int argc, char **argv);
int cmd_template(const csca_global *g, int argc, char **argv);
int cmd_account(const csca_global *g, int argc, char **argv);
int cmd_group(const csca_global *g, int argc, char **argv);
int cmd_request(const csca_global *g, int argc, char **argv);
int cmd_submit(const csca_global *g, int argc, char **argv);
int cmd_retrieve(const csca_global *g, int argc, char **argv);
int cmd_revoke(const csca_global *g, int argc, char **argv);
int cmd_crl(const csca_global *g, int argc, char **argv);
int cmd_issued(const csca_global *g, int argc, char **argv);
int cmd_log(const csca_global *g, int argc, char **argv);

#endif
