/* csca: the enterprise CA's administration tool. main.c holds the command
 * table, the global options, the helpers the command files share, and the
 * one place where library codes become exit codes (0 success, 1 failure,
 * 2 usage). All work is done by libcscert (cscert/ca.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/tool_common.h"
#include "csca_cli.h"

#define CSCA_VERSION "0.1.0"

#ifndef CSCA_HAVE_SERVE
#define CSCA_HAVE_SERVE 0
#endif

struct cmd {
    const char *name;
    int (*fn)(const csca_global *g, int argc, char **argv);
    const char *summary;
};

static const struct cmd commands[] = {
    { "init",         cmd_init,         "create the CA: a self-signed root, or a request for a parent CA" },
    { "install-cert", cmd_install_cert, "complete a subordinate CA with the certificate its parent issued" },
    { "show",         cmd_show,         "the CA: name, subject, validity, key type, fingerprint, chain" },
    { "cacerts",      cmd_cacerts,      "write the CA chain (PEM or PKCS#7)" },
    { "template",     cmd_template,     "add|set|list|show|remove|grant|revoke-grant: certificate templates" },
    { "account",      cmd_account,      "add|list|remove|passwd|set: requesters and their groups" },
    { "group",        cmd_group,        "list: the groups of accounts and grants" },
    { "request",      cmd_request,      "list|show|issue|deny: the request queue" },
    { "submit",       cmd_submit,       "submit an offline request file (PKCS#10) for a template" },
    { "retrieve",     cmd_retrieve,     "write an issued request's certificate with the chain (PKCS#7)" },
    { "revoke",       cmd_revoke,       "revoke an issued certificate by serial" },
    { "crl",          cmd_crl,          "write the CRL; --url sets the CRL distribution point" },
    { "issued",       cmd_issued,       "list: the certificates this CA issued" },
    { "log",          cmd_log,          "the audit log (HOME/audit.jsonl)" },
#if CSCA_HAVE_SERVE
    { "serve",        cmd_serve,        "the online CA: EST (RFC 7030) over HTTPS" },
#endif
    { NULL, NULL, NULL }
};

static void usage(FILE *f)
{
    const struct cmd *c;

    fprintf(f, "usage: csca [--home DIR] [--key-password-file F] COMMAND [ARGS] [--help]\n"
               "       csca --version\n\n"
               "The internal enterprise certification authority \"FQDN\\Instance\": its key and\n"
               "certificate, templates, accounts and Enroll grants, the request queue,\n"
               "revocation and the CRL.\n\n"
               "Commands:\n");
    for (c = commands; c->name; c++)
        fprintf(f, "  %-13s %s\n", c->name, c->summary);
    fprintf(f, "\nThe home (--home DIR, else $CSCA_HOME, else %s) holds csca.db,\n"
               "ca.key (0600), ca.pem and audit.jsonl. An encrypted CA key is opened with the\n"
               "password in --key-password-file F (else $CSCA_KEY_PASSWORD_FILE; '-' = stdin).\n"
               "Exit: 0 success, 1 failure, 2 usage error. See csca(8), 'csca COMMAND --help'.\n",
            CSCERT_CA_HOME_DEFAULT);
}

int csca_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "csca: error: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "; see 'csca %s%s--help'\n", cmd, *cmd ? " " : "");
    return CSCA_EXIT_USAGE;
}

int csca_bad_value(int rc, const char *cmd)
{
    if (rc != CSCERT_EINVAL)
        return rc;
    return csca_usage(cmd, "%s", cscert_error_last());
}

int csca_read_password_file(char **out, const char *path)
{
    int rc;

    if ((rc = tool_read_secret_line(out, path, "check the path of the password file")) < 0)
        return rc;
    if (!**out) {
        tool_secret_free(*out);
        *out = NULL;
        return cscert_error_set(CSCERT_EINVAL, path, "the password file's first line is empty",
                                "put the password on its first line");
    }
    return CSCERT_OK;
}

void csca_secret_free(char *s)
{
    tool_secret_free(s);
}

void csca_json_print(json_t *v)
{
    tool_json_print(v);
}

const char *csca_jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s ? s : "";
}

void csca_join(char *buf, size_t n, json_t *a)
{
    size_t i, used = 0;

    buf[0] = '\0';
    for (i = 0; json_is_array(a) && i < json_array_size(a) && used < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));

        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? "," : "", s ? s : "");
    }
}

int csca_parse_days(int *out, const char *s, const char *opt)
{
    char *end = NULL;
    long v, mult = 1;

    errno = 0;
    v = strtol(s, &end, 10);
    if (end && *end && end[1] == '\0') {
        if (*end == 'y' || *end == 'Y')
            mult = 365;
        else if (*end == 'd' || *end == 'D')
            mult = 1;
        else
            end = NULL;
        if (end)
            end++;
    }
    /* 100 years: beyond anything a CA or template needs. */
    if (errno || !end || end == s || *end || v <= 0 || v * mult > 36500)
        return cscert_error_setf(CSCERT_EINVAL, opt, "give days (730, 730d) or years (10y)",
                                 "'%s' is not a validity of 1 day to 100 years", s);
    *out = (int)(v * mult);
    return CSCERT_OK;
}

int csca_read_file(unsigned char **out, size_t *len, const char *path, size_t max)
{
    FILE *f;
    unsigned char *buf = NULL;
    size_t n;
    int rc = CSCERT_OK;

    *out = NULL;
    *len = 0;
    if (!(f = fopen(path, "rb")))
        return cscert_error_setf(CSCERT_EIO, path, "check the path", "cannot open: %s",
                                 strerror(errno));
    if (!(buf = malloc(max + 1))) {
        rc = cscert__oom();
        goto out;
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        rc = cscert_error_setf(CSCERT_EIO, path, "check the file", "cannot read: %s", strerror(errno));
        goto out;
    }
    if (n > max) {
        rc = cscert_error_setf(CSCERT_EINVAL, path, "give the right file",
                               "larger than %zu bytes", max);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return rc;
}

int csca_write_file(const char *path, const void *data, size_t len)
{
    char *tmp = NULL;
    int fd = -1, rc = CSCERT_OK;
    size_t plen = strlen(path);

    if (!(tmp = malloc(plen + 16)))
        return cscert__oom();
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    if ((fd = mkstemp(tmp)) < 0) {
        rc = cscert_error_setf(CSCERT_EIO, path, "check the directory exists and is writable",
                               "cannot create: %s", strerror(errno));
        goto out;
    }
    if (fchmod(fd, 0644) < 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) < 0
        || close(fd) < 0) {
        rc = cscert_error_setf(CSCERT_EIO, path, "check the disk", "cannot write: %s",
                               strerror(errno));
        fd = -1;
        unlink(tmp);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = cscert_error_setf(CSCERT_EIO, path, "check the directory is writable",
                               "cannot write: %s", strerror(errno));
        unlink(tmp);
    }
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

int csca_open(cscert_ca **out, const csca_global *g)
{
    char *pw = NULL;
    int rc;

    *out = NULL;
    if (g->key_password_file && (rc = csca_read_password_file(&pw, g->key_password_file)) < 0)
        return rc;
    rc = cscert_ca_open(out, g->home, pw);
    csca_secret_free(pw);
    return rc;
}

static void warn_to_stderr(const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "csca: warning: %s\n", msg);
}

static const char *actor_name(void)
{
    const char *s = getenv("SUDO_USER");
    struct passwd *pw;

    if (s && *s)
        return s;
    pw = getpwuid(getuid());
    if (pw && pw->pw_name)
        return pw->pw_name;
    s = getenv("USER");
    return s && *s ? s : "unknown";
}

int main(int argc, char **argv)
{
    csca_global g = { 0 };
    const struct cmd *c;
    const char *home = NULL;
    char **args;
    int i, n = 0, rc;

    cscert_set_warn_handler(warn_to_stderr, NULL);
    g.key_password_file = getenv("CSCA_KEY_PASSWORD_FILE");
    if (g.key_password_file && !*g.key_password_file)
        g.key_password_file = NULL;

    /* Global options may stand anywhere before "--"; take them out of argv. */
    args = calloc((size_t)argc + 1, sizeof(*args));
    if (!args)
        return 1;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            for (; i < argc; i++)
                args[n++] = argv[i];
            break;
        }
        if (strcmp(argv[i], "--home") == 0 || strcmp(argv[i], "--key-password-file") == 0) {
            if (i + 1 >= argc) {
                free(args);
                return csca_usage("", "%s needs a value", argv[i]);
            }
            if (argv[i][2] == 'h')
                home = argv[++i];
            else
                g.key_password_file = argv[++i];
        } else if (strncmp(argv[i], "--home=", 7) == 0) {
            home = argv[i] + 7;
        } else if (strncmp(argv[i], "--key-password-file=", 20) == 0) {
            g.key_password_file = argv[i] + 20;
        } else {
            args[n++] = argv[i];
        }
    }
    g.home = cscert_ca_home_resolve(home);
    g.actor = actor_name();
    if (n == 0 || strcmp(args[0], "--help") == 0 || strcmp(args[0], "-h") == 0
        || strcmp(args[0], "help") == 0) {
        usage(n == 0 ? stderr : stdout);
        free(args);
        return n == 0 ? CSCA_EXIT_USAGE : 0;
    }
    if (strcmp(args[0], "--version") == 0) {
        printf("csca %s\n", CSCA_VERSION);
        free(args);
        return 0;
    }
    for (c = commands; c->name; c++)
        if (strcmp(c->name, args[0]) == 0)
            break;
    if (!c->name) {
        fprintf(stderr, "csca: error: '%s' is not a csca command; see 'csca --help'\n", args[0]);
        free(args);
        return CSCA_EXIT_USAGE;
    }
    optind = 0; /* each command runs getopt_long afresh */
    rc = c->fn(&g, n, args);
    if (rc < 0) {
        const char *msg = cscert_error_last();

        fprintf(stderr, "csca: error: %s\n", *msg ? msg : cscert_strerror(rc));
        rc = 1;
    }
    free(args);
    return rc;
}
