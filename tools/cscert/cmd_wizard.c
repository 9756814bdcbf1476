/* cmd_wizard.c: `cscert wizard`, the Certificate Wizard page by page in the
 * terminal (spec/lync-certificates.md section 3). Each page asks one
 * question with its default in brackets; Enter takes it, "cancel" leaves
 * the task. What a task does it does by running the commands an
 * administrator would type (request, import, set, remove, show), shown on
 * its "Executing Commands" page as Lync's wizard logs its cmdlets, so the
 * wizard adds no second way to do anything. Answers come from the
 * terminal or, when standard input is not one, one a line (scripts and
 * tests); passwords are read without echo on a terminal and reach the
 * commands through a pipe, never argv. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cli.h"
#include "cscert/assign.h"
#include "cscert/check.h"
#include "cscert/names.h"
#include "cscert/topology.h"

/* 3: invalid answers in a row before a task is cancelled. */
#define WIZ_TRIES 3
/* 50: additional SANs typed on one page; 64 items in a choice list. */
#define WIZ_MAX_EXTRA 50
#define WIZ_MAX_ITEMS 64
#define WIZ_CANCEL 1

static const char wizard_usage[] =
    "usage: cscert wizard\n"
    "\n"
    "The Certificate Wizard: this server's uses and their status, then one task\n"
    "at a time, page by page: Request (online to a CA, or an offline request file),\n"
    "Renew, Assign, Import Certificate, Process Pending Request, View, Remove. Each task\n"
    "runs the cscert commands it shows. Enter takes the default in brackets;\n"
    "'cancel' leaves the task. Without a terminal, answers are read one a line\n"
    "from standard input. Needs a published topology ('cscert topology publish').\n"
    "Exit: 0, or 1 when a task failed or the input ended inside a task.\n";

struct wiz {
    struct cli *cli;
    int tty;
    int failed;                 /* a task's command failed */
    cscert_topology *topo;
    char *fqdn;                 /* this server */
    const cscert_pool *pool;
    unsigned role_uses;
};

/* ---- questions ---- */

/* One answer into out (trimmed); the default when empty. WIZ_CANCEL on
 * "cancel" or at the end of input. */
static int ask_line(struct wiz *w, const char *prompt, const char *def, char *out, size_t n, int echo)
{
    char line[1024];
    size_t len;
    char *s;

    printf("%s%s%s%s: ", prompt, def && *def ? " [" : "", def && *def ? def : "", def && *def ? "]" : "");
    fflush(stdout);
    if (!fgets(line, sizeof(line), stdin)) {
        printf("\n");
        return WIZ_CANCEL;
    }
    if (!strchr(line, '\n') && !feof(stdin)) { /* longer than a line: drop the rest */
        int ch;

        while ((ch = getchar()) != EOF && ch != '\n')
            ;
    }
    for (s = line; *s == ' ' || *s == '\t'; s++)
        ;
    len = strlen(s);
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
        s[--len] = '\0';
    if (!w->tty) /* the transcript shows the answer, a secret as such */
        printf("%s\n", echo ? s : "(not shown)");
    if (strcasecmp(s, "cancel") == 0) {
        OPENSSL_cleanse(line, sizeof(line));
        return WIZ_CANCEL;
    }
    snprintf(out, n, "%s", *s ? s : (def ? def : ""));
    OPENSSL_cleanse(line, sizeof(line)); /* it may have held a password */
    return 0;
}

static int ask(struct wiz *w, const char *prompt, const char *def, char *out, size_t n)
{
    return ask_line(w, prompt, def, out, n, 1);
}

static int retry(int *tries, const char *why)
{
    printf("  %s\n", why);
    if (++*tries >= WIZ_TRIES) {
        printf("  %d invalid answers: the task is cancelled\n", WIZ_TRIES);
        return WIZ_CANCEL;
    }
    return 0;
}

static int ask_yes(struct wiz *w, const char *prompt, int def, int *yes)
{
    char a[16];
    int tries = 0, rc;

    for (;;) {
        if ((rc = ask(w, prompt, def ? "Y/n" : "y/N", a, sizeof(a))) != 0)
            return rc;
        if (strcasecmp(a, "Y/n") == 0 || strcasecmp(a, "y/N") == 0) {
            *yes = def;
            return 0;
        }
        if (strcasecmp(a, "y") == 0 || strcasecmp(a, "yes") == 0 || strcasecmp(a, "n") == 0
            || strcasecmp(a, "no") == 0) {
            *yes = tolower((unsigned char)a[0]) == 'y';
            return 0;
        }
        if ((rc = retry(&tries, "answer y or n")) != 0)
            return rc;
    }
}

/* A number from 1 to n. */
static int ask_pick(struct wiz *w, const char *prompt, size_t n, size_t def, size_t *pick)
{
    char a[32], d[16], *end;
    int tries = 0, rc;
    long v;

    snprintf(d, sizeof(d), "%zu", def);
    for (;;) {
        if ((rc = ask(w, prompt, def ? d : NULL, a, sizeof(a))) != 0)
            return rc;
        v = strtol(a, &end, 10);
        if (*a && !*end && v >= 1 && (size_t)v <= n) {
            *pick = (size_t)v;
            return 0;
        }
        if ((rc = retry(&tries, n == 1 ? "answer 1" : "answer one of the numbers listed")) != 0)
            return rc;
    }
}

/* A secret: no echo on a terminal, else one line. */
static int ask_secret(struct wiz *w, const char *prompt, char *out, size_t n)
{
    if (w->tty) {
        char p[128];

        snprintf(p, sizeof(p), "%s: ", prompt);
        if (EVP_read_pw_string(out, (int)n, p, 0) != 0)
            return WIZ_CANCEL;
        return 0;
    }
    return ask_line(w, prompt, NULL, out, n, 0);
}

/* ---- running the commands ---- */

struct argv_b {
    char *v[64];
    int n;
};

static void arg(struct argv_b *a, const char *s)
{
    if (a->n < (int)(sizeof(a->v) / sizeof(a->v[0])) - 1)
        a->v[a->n++] = strdup(s);
    a->v[a->n] = NULL;
}

/* "--flag value" when value is not empty. */
static void opt(struct argv_b *a, const char *flag, const char *value)
{
    if (value && *value) {
        arg(a, flag);
        arg(a, value);
    }
}

static void args_free(struct argv_b *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    a->n = 0;
}

/* A secret for a command's --*-password-file: the read end of a pipe
 * holding it, as /dev/fd/N. -1 when no pipe could be made. */
static int secret_fd(const char *secret, char path[32])
{
    int p[2];
    size_t len = strlen(secret);

    if (pipe(p) != 0)
        return -1;
    if (write(p[1], secret, len) != (ssize_t)len || write(p[1], "\n", 1) != 1) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    close(p[1]);
    snprintf(path, 32, "/dev/fd/%d", p[0]);
    return p[0];
}

/* "--FLAG /dev/fd/N" for a secret (see secret_fd); *fd is the caller's to
 * close, *secret_arg the index shown as "the password typed". */
static int opt_secret(struct argv_b *a, const char *flag, const char *secret, int *fd, int *secret_arg)
{
    char path[32];

    if ((*fd = secret_fd(secret, path)) < 0)
        return cscert_error_set(CSCERT_EIO, "wizard", "cannot pass the password to the command", NULL);
    arg(a, flag);
    *secret_arg = a->n;
    arg(a, path);
    return CSCERT_OK;
}

/* Where a request goes, for request and renew: the CA online (its
 * account, the password through a pipe, --assign), or the request file. */
static int dest_args(struct argv_b *a, const char *ca, const char *account, const char *pw, int *pw_fd,
                     int *secret_arg, int assign, const char *file)
{
    int rc;

    if (!*ca) {
        opt(a, "--output", file);
        return CSCERT_OK;
    }
    opt(a, "--ca", ca);
    opt(a, "--ca-account", account);
    if (*account && (rc = opt_secret(a, "--ca-password-file", pw, pw_fd, secret_arg)) < 0)
        return rc;
    if (assign)
        arg(a, "--assign");
    return CSCERT_OK;
}

/* The Executing Commands page: show the command (secret_arg: the index of
 * a password file, shown as such), run it, report its error; a failure
 * is counted in w->failed (the exit status), not returned. */
static int run(struct wiz *w, int (*fn)(struct cli *, int, char **), struct argv_b *a, int secret_arg)
{
    int rc, i;

    printf("\nExecuting Commands\n  $ cscert");
    for (i = 0; i < a->n; i++)
        printf(" %s%s%s", strchr(a->v[i], ' ') || strchr(a->v[i], '\\') ? "'" : "",
               i == secret_arg ? "(the password typed)" : a->v[i],
               strchr(a->v[i], ' ') || strchr(a->v[i], '\\') ? "'" : "");
    printf("\n");
    fflush(stdout);
    optind = 0; /* each command runs getopt_long afresh */
    rc = fn(w->cli, a->n, a->v);
    fflush(stdout);
    if (rc < 0) {
        const char *msg = cscert_error_last();

        fprintf(stderr, "cscert: error: %s\n", *msg ? msg : cscert_strerror(rc));
        cscert_error_clear();
    }
    if (rc != 0) {
        w->failed = 1;
        printf("Task failed: read the error above, fix it, and run the task again.\n");
    } else {
        printf("Task completed.\n");
    }
    return 0; /* reported: the wizard goes on */
}

/* ---- the main page ---- */

static int load(struct wiz *w)
{
    cscert_store *st = cli_store(w->cli);
    int rc;

    cscert_topology_free(w->topo);
    free(w->fqdn);
    w->topo = NULL;
    w->fqdn = NULL;
    if (!st)
        return cscert_error_code();
    if ((rc = cscert_topology_load_published(&w->topo, &w->fqdn, st)) < 0)
        return rc == CSCERT_ENOTFOUND
                   ? cscert_error_set(CSCERT_ENOTFOUND, "wizard", "no topology is published",
                                      "publish it first: cscert topology publish FILE")
                   : rc;
    if (!w->fqdn || !(w->pool = cscert_topology_find_server(w->topo, w->fqdn)))
        return cscert_error_setf(CSCERT_ENOTFOUND, "wizard",
                                 "publish again with this server's name: cscert topology publish FILE --computer-fqdn FQDN",
                                 "this server (%s) is in no pool of the published topology",
                                 w->fqdn ? w->fqdn : "unknown");
    w->role_uses = cscert_role_uses(w->pool->role);
    return CSCERT_OK;
}

static const char *assigned_field(json_t *arr, const char *use, const char *field)
{
    size_t i;
    json_t *o;

    json_array_foreach(arr, i, o) {
        const char *u = json_string_value(json_object_get(o, "Use"));

        if (u && strcmp(u, use) == 0)
            return json_string_value(json_object_get(o, field));
    }
    return NULL;
}

/* "Assigned", or "Expiring" within CSCERT_CHECK_WARN_DAYS, or "Expired". */
static const char *status(const char *not_after)
{
    struct tm tm;
    time_t t, now = time(NULL);

    memset(&tm, 0, sizeof(tm));
    if (!not_after || !strptime(not_after, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return "Assigned";
    t = timegm(&tm);
    if (t < now)
        return "Expired";
    return t - now < (time_t)CSCERT_CHECK_WARN_DAYS * 86400 ? "Expiring" : "Assigned";
}

static void main_page(struct wiz *w)
{
    cscert_store *st = cli_store(w->cli);
    cscert_pending **pend = NULL;
    json_t *as = NULL;
    size_t np = 0;
    unsigned bit;

    if (!st || cscert_assign_get(&as, st, NULL) < 0)
        as = json_array();
    (void)cscert_store_list_pending(&pend, &np, st);
    printf("\nCertificate Wizard: %s (%s pool %s)\n\n", w->fqdn, cscert_role_name(w->pool->role), w->pool->fqdn);
    printf("  %-26s %-13s %-41s %s\n", "Certificate", "Status", "Thumbprint", "Expires");
    for (bit = 1; bit < (1u << CSCERT_USE_COUNT); bit <<= 1) {
        const char *use = cscert_use_name(bit), *th, *na;

        if (!(w->role_uses & bit) || bit == CSCERT_USE_REVERSE_PROXY)
            continue;
        th = assigned_field(as, use, "Thumbprint");
        na = assigned_field(as, use, "NotAfter");
        printf("  %-26s %-13s %-41s %.10s\n", use, !th ? "Not assigned" : status(na), th ? th : "", na ? na : "");
    }
    if (np)
        printf("\n  Pending requests: %zu (p: Process Pending Request)\n", np);
    printf("\nTasks: r) Request  n) Renew  a) Assign  i) Import Certificate  p) Process Pending Request\n"
           "       v) View  d) Remove  q) Quit\n");
    cscert_pendings_free(pend, np);
    json_decref(as);
}

/* ---- Request ---- */

/* The choices of the first page: the combined certificate of the role
 * (what the wizard offers first), then each use alone. */
static size_t request_choices(const struct wiz *w, unsigned *masks, size_t cap)
{
    static const unsigned combos[] = {
        CSCERT_USE_DEFAULT | CSCERT_USE_WEB_INTERNAL | CSCERT_USE_WEB_EXTERNAL,
        CSCERT_USE_ACCESS_EDGE | CSCERT_USE_DATA_EDGE | CSCERT_USE_AV_AUTH,
    };
    size_t n = 0, i;
    unsigned bit;

    for (i = 0; i < sizeof(combos) / sizeof(combos[0]) && n < cap; i++) {
        unsigned m = combos[i] & w->role_uses;

        if (m & (m - 1)) /* two uses or more */
            masks[n++] = m;
    }
    for (bit = 1; bit < (1u << CSCERT_USE_COUNT) && n < cap; bit <<= 1)
        if (w->role_uses & bit)
            masks[n++] = bit;
    return n;
}

/* The names the ticked SIP domains add (chosen: bit i for sip_domains[i]):
 * those of the all-SIP-domain request that the request without it lacks
 * and that end in a ticked domain, comma-joined onto extra. Both name
 * sets are computed once for every domain. */
static void sip_domain_names(struct wiz *w, unsigned uses, unsigned chosen, char *extra, size_t cap)
{
    cscert_names with = { 0 }, without = { 0 };
    size_t i, j, d;

    if (cscert_names_compute(&with, w->topo, w->fqdn, uses, 1, NULL) < 0
        || cscert_names_compute(&without, w->topo, w->fqdn, uses, 0, NULL) < 0) {
        cscert_error_clear();
        goto out;
    }
    for (i = 0; i < with.n; i++) {
        const char *nm = with.v[i].name;
        size_t l = strlen(nm);
        int known = 0, ticked = 0;

        for (j = 0; j < without.n && !known; j++)
            known = strcmp(without.v[j].name, nm) == 0;
        for (d = 0; d < w->topo->n_sip && d < 31 && !known && !ticked; d++) {
            const char *dom = w->topo->sip_domains[d];
            size_t dl = strlen(dom);

            ticked = (chosen & (1u << d)) && l > dl && nm[l - dl - 1] == '.' && strcmp(nm + l - dl, dom) == 0;
        }
        if (ticked && strlen(extra) + l + 2 < cap)
            snprintf(extra + strlen(extra), cap - strlen(extra), "%s%s", *extra ? "," : "", nm);
    }
out:
    cscert_names_clear(&with);
    cscert_names_clear(&without);
}

static int page_names(struct wiz *w, unsigned uses, int all_sip, const char *extra, const char *title)
{
    cscert_names nm = { 0 };
    size_t i;
    int rc;

    printf("\n%s\n", title);
    if ((rc = cscert_names_compute(&nm, w->topo, w->fqdn, uses, all_sip, *extra ? extra : NULL)) < 0) {
        const char *msg = cscert_error_last();

        printf("  %s\n", *msg ? msg : cscert_strerror(rc));
        cscert_error_clear();
        return WIZ_CANCEL;
    }
    printf("  Subject name:              %s\n", nm.v[0].name);
    for (i = 0; i < nm.n; i++)
        printf("  Subject alternative name:  %-40s (%s)\n", nm.v[i].name, nm.v[i].rule);
    cscert_names_clear(&nm);
    return 0;
}

static int task_request(struct wiz *w)
{
    unsigned masks[WIZ_MAX_ITEMS], uses;
    char types[256], a[512], file[512], ca[512] = "", account[256] = "", tmpl[128] = "", fname[256] = "",
                                          bits[16], org[128], ou[128], country[16], state[128], city[128],
                                          extra[4096] = "", pw[1024] = "";
    size_t n, i, pick, online_pick;
    int rc, yes, exportable = 0, assign = 0, tries = 0, pw_fd = -1, secret_arg = -1, all_sip = 0;
    struct argv_b av = { 0 };

    /* 1. Certificate Request */
    printf("\nCertificate Request: which certificate for %s?\n", w->fqdn);
    n = request_choices(w, masks, WIZ_MAX_ITEMS);
    for (i = 0; i < n; i++) {
        cscert_uses_format(types, sizeof(types), masks[i]);
        printf("  %zu) %s\n", i + 1, types);
    }
    if ((rc = ask_pick(w, "Certificate", n, 1, &pick)) != 0)
        goto out;
    uses = masks[pick - 1];
    cscert_uses_format(types, sizeof(types), uses);
    /* 2. Delayed or Immediate Requests */
    printf("\nDelayed or Immediate Requests\n"
           "  1) Send the request immediately to an online certification authority\n"
           "  2) Prepare the request now, but send it later (offline certificate request)\n");
    if ((rc = ask_pick(w, "Request", 2, 1, &online_pick)) != 0)
        goto out;
    if (online_pick == 2) {
        char def[300];

        snprintf(def, sizeof(def), "%.*s-%s.csr", (int)strcspn(w->fqdn, "."), w->fqdn, types);
        for (i = 0; def[i]; i++)
            def[i] = def[i] == ',' ? '-' : (char)tolower((unsigned char)def[i]);
        if ((rc = ask(w, "Certificate Request File", def, file, sizeof(file))) != 0)
            goto out;
    } else {
        /* 3. Choose a Certification Authority */
        printf("\nChoose a Certification Authority (CA)\n");
        for (i = 0; i < w->topo->n_cas; i++)
            printf("  %zu) %s  (%s)\n", i + 1, w->topo->cas[i].name, w->topo->cas[i].url);
        printf("  %sor type another CA as FQDN\\Instance\n", w->topo->n_cas ? "" : "none in the topology: ");
        for (;;) {
            char *end;
            long v;

            if ((rc = ask(w, "CA", w->topo->n_cas ? "1" : NULL, a, sizeof(a))) != 0)
                goto out;
            v = strtol(a, &end, 10);
            if (*a && !*end && v >= 1 && (size_t)v <= w->topo->n_cas) {
                snprintf(ca, sizeof(ca), "%s", w->topo->cas[v - 1].name);
                break;
            }
            if (strchr(a, '\\') && a[0] != '\\') {
                snprintf(ca, sizeof(ca), "%s", a);
                break;
            }
            if ((rc = retry(&tries, "pick a number listed, or type FQDN\\Instance")) != 0)
                goto out;
        }
        /* 4. Certification Authority Account */
        printf("\nCertification Authority Account\n");
        if ((rc = ask(w, "CA account (blank: none)", NULL, account, sizeof(account))) != 0)
            goto out;
        if (*account && (rc = ask_secret(w, "Password", pw, sizeof(pw))) != 0)
            goto out;
    }
    /* 5. Specify Alternate Certificate Template */
    printf("\nSpecify Alternate Certificate Template\n");
    if ((rc = ask(w, "Certificate template", "WebServer", tmpl, sizeof(tmpl))) != 0)
        goto out;
    /* 6. Name and Security Settings */
    printf("\nName and Security Settings\n");
    if ((rc = ask(w, "Friendly name (blank: generated)", NULL, fname, sizeof(fname))) != 0)
        goto out;
    for (tries = 0;;) {
        if ((rc = ask(w, "Bit length (1024, 2048, 4096)", "2048", bits, sizeof(bits))) != 0)
            goto out;
        if (!strcmp(bits, "1024") || !strcmp(bits, "2048") || !strcmp(bits, "4096"))
            break;
        if ((rc = retry(&tries, "the bit length is 1024, 2048 or 4096")) != 0)
            goto out;
    }
    if (cscert_names_key_exportable(uses, NULL, NULL)) {
        printf("  The private key is marked exportable: these uses need it (R10-R12).\n");
        exportable = 1;
    } else if ((rc = ask_yes(w, "Mark the private key as exportable", 0, &exportable)) != 0) {
        goto out;
    }
    /* 7. Organization Information, 8. Geographical Information */
    printf("\nOrganization Information (optional)\n");
    if ((rc = ask(w, "Organization", NULL, org, sizeof(org))) != 0
        || (rc = ask(w, "Organizational unit", NULL, ou, sizeof(ou))) != 0)
        goto out;
    printf("\nGeographical Information (optional; names written out in full)\n");
    if ((rc = ask(w, "Country (two letters, e.g. US)", NULL, country, sizeof(country))) != 0
        || (rc = ask(w, "State/Province", NULL, state, sizeof(state))) != 0
        || (rc = ask(w, "City/Locality", NULL, city, sizeof(city))) != 0)
        goto out;
    /* 9. Subject Name / Subject Alternative Names */
    if ((rc = page_names(w, uses, 0, "", "Subject Name/Subject Alternative Names (from the published topology)")) != 0)
        goto out;
    printf("  To change them, cancel, publish the corrected topology, and run the wizard again.\n");
    /* 10. SIP Domain setting on Subject Alternate Names */
    if (w->topo->n_sip) {
        printf("\nSIP Domain setting on Subject Alternate Names (SANs)\n");
        for (i = 0; i < w->topo->n_sip; i++)
            printf("  %zu) %s%s\n", i + 1, w->topo->sip_domains[i], i == 0 ? " (default SIP domain)" : "");
        for (tries = 0;;) {
            char list[512], *tok, *save = NULL;
            int ok = 1;
            unsigned chosen = 0;

            if ((rc = ask(w, "SIP domains to add (numbers, 'all', or blank for none)", NULL, list, sizeof(list))) != 0)
                goto out;
            if (strcasecmp(list, "all") == 0) {
                all_sip = 1;
                break;
            }
            for (tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
                char *end;
                long v = strtol(tok, &end, 10);

                if (*end || v < 1 || (size_t)v > w->topo->n_sip || v > 31)
                    ok = 0;
                else
                    chosen |= 1u << (v - 1);
            }
            if (ok) {
                if (chosen)
                    sip_domain_names(w, uses, chosen, extra, sizeof(extra));
                break;
            }
            if ((rc = retry(&tries, "give the numbers of the domains, e.g. 1 or 1,2")) != 0)
                goto out;
        }
    }
    /* 11. Configure Additional Subject Alternate Names */
    printf("\nConfigure Additional Subject Alternate Names\n");
    for (i = 0, tries = 0; i < WIZ_MAX_EXTRA;) {
        char fq[254];

        if ((rc = ask(w, "Additional name (blank: done)", NULL, a, sizeof(a))) != 0)
            goto out;
        if (!*a)
            break;
        if (cscert_fqdn_check(fq, a, 1, "name") < 0) {
            printf("  %s\n", cscert_error_last());
            cscert_error_clear();
            if ((rc = retry(&tries, "type an FQDN such as extra.contoso.com")) != 0)
                goto out;
            continue;
        }
        if (strlen(extra) + strlen(fq) + 2 < sizeof(extra))
            snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "%s%s", *extra ? "," : "", fq);
        i++;
    }
    /* 12. Certificate Request Summary */
    printf("\nCertificate Request Summary\n  Uses:          %s\n", types);
    if (*ca)
        printf("  CA:            %s (online)%s%s\n", ca, *account ? ", account " : "", account);
    else
        printf("  Request file:  %s (offline)\n", file);
    printf("  Template:      %s\n  Bit length:    %s\n  Exportable:    %s\n", tmpl, bits, exportable ? "yes" : "no");
    if ((rc = page_names(w, uses, all_sip, extra, "  Names the request carries:")) != 0)
        goto out;
    if (*ca && (rc = ask_yes(w, "Assign the certificate to these uses once it is issued", 1, &assign)) != 0)
        goto out;
    if ((rc = ask_yes(w, "Send the request now", 1, &yes)) != 0 || !yes) {
        rc = rc ? rc : WIZ_CANCEL;
        goto out;
    }
    /* 13. Executing Commands */
    arg(&av, "request");
    arg(&av, "--new");
    arg(&av, "--type");
    arg(&av, types);
    if ((rc = dest_args(&av, ca, account, pw, &pw_fd, &secret_arg, assign, file)) < 0)
        goto out;
    if (strcasecmp(tmpl, "WebServer") != 0)
        opt(&av, "--template", tmpl);
    opt(&av, "--friendly-name", fname);
    opt(&av, "--key-size", bits);
    if (exportable)
        arg(&av, "--private-key-exportable");
    opt(&av, "--organization", org);
    opt(&av, "--ou", ou);
    opt(&av, "--country", country);
    opt(&av, "--state", state);
    opt(&av, "--city", city);
    if (all_sip)
        arg(&av, "--all-sip-domain");
    opt(&av, "--domain-name", extra);
    rc = run(w, cmd_request, &av, secret_arg);
out:
    if (pw_fd >= 0)
        close(pw_fd);
    OPENSSL_cleanse(pw, sizeof(pw));
    args_free(&av);
    return rc;
}

/* ---- Assign, View, Remove ---- */

/* Pick a use of this role (assigned_only: one that has a certificate). */
static int pick_use(struct wiz *w, const char *prompt, int assigned_only, char *use, size_t n)
{
    const char *names[CSCERT_USE_COUNT];
    json_t *as = NULL;
    size_t k = 0, pick;
    unsigned bit;
    int rc;

    if (cscert_assign_get(&as, cli_store(w->cli), NULL) < 0) {
        cscert_error_clear();
        as = json_array();
    }
    for (bit = 1; bit < (1u << CSCERT_USE_COUNT); bit <<= 1) {
        const char *u = cscert_use_name(bit);

        if (!(w->role_uses & bit) || bit == CSCERT_USE_REVERSE_PROXY
            || (assigned_only && !assigned_field(as, u, "Thumbprint")))
            continue;
        names[k++] = u;
        printf("  %zu) %s\n", k, u);
    }
    json_decref(as);
    if (!k) {
        printf("  No certificate is assigned.\n");
        return WIZ_CANCEL;
    }
    if ((rc = ask_pick(w, prompt, k, 1, &pick)) != 0)
        return rc;
    snprintf(use, n, "%s", names[pick - 1]);
    return 0;
}

static int task_assign(struct wiz *w)
{
    cscert_cert_summary *v = NULL;
    size_t n = 0, i, k = 0, pick, idx[WIZ_MAX_ITEMS];
    char types[256], def[256];
    struct argv_b av = { 0 };
    int rc, yes;

    printf("\nCertificate Assignment: certificates in the My store with their private key\n");
    if ((rc = cscert_store_list_summaries(&v, &n, cli_store(w->cli), CSCERT_STORE_MY)) < 0)
        return rc;
    for (i = 0; i < n && k < WIZ_MAX_ITEMS; i++) {
        if (!v[i].key_id)
            continue;
        idx[k++] = i;
        printf("  %zu) %s  %s  expires %.10s%s%s\n", k, v[i].thumbprint, v[i].subject ? v[i].subject : "?",
               v[i].not_after, v[i].friendly_name ? "  " : "", v[i].friendly_name ? v[i].friendly_name : "");
    }
    if (!k) {
        printf("  None: request a certificate, or import one with its key, first.\n");
        rc = WIZ_CANCEL;
        goto out;
    }
    if ((rc = ask_pick(w, "Certificate", k, 1, &pick)) != 0)
        goto out;
    cscert_uses_format(def, sizeof(def),
                       w->role_uses & ~(CSCERT_USE_REVERSE_PROXY | CSCERT_USE_OAUTH | CSCERT_USE_EDGE_INTERNAL
                                        | CSCERT_USE_XMPP));
    if ((rc = ask(w, "Uses (comma-separated)", def, types, sizeof(types))) != 0)
        goto out;
    printf("\nCertificate Assignment Summary\n  %s -> %s\n", v[idx[pick - 1]].thumbprint, types);
    if ((rc = ask_yes(w, "Assign", 1, &yes)) != 0 || !yes) {
        rc = rc ? rc : WIZ_CANCEL;
        goto out;
    }
    arg(&av, "set");
    arg(&av, "--type");
    arg(&av, types);
    arg(&av, "--thumbprint");
    arg(&av, v[idx[pick - 1]].thumbprint);
    rc = run(w, cmd_set, &av, -1);
out:
    args_free(&av);
    cscert_cert_summaries_free(v, n);
    return rc;
}

static int task_view_or_remove(struct wiz *w, int remove)
{
    struct argv_b av = { 0 };
    json_t *as = NULL;
    char use[64];
    int rc, yes;

    printf("\n%s\n", remove ? "Remove Certificate: the use stops being served by its certificate (the certificate "
                              "stays in the store)"
                            : "View Certificate");
    if ((rc = pick_use(w, remove ? "Use to unassign" : "Use", 1, use, sizeof(use))) != 0)
        return rc;
    if (remove) {
        if ((rc = ask_yes(w, "Remove the assignment", 0, &yes)) != 0 || !yes)
            return rc ? rc : WIZ_CANCEL;
        arg(&av, "remove");
        arg(&av, "--type");
        arg(&av, use);
        rc = run(w, cmd_remove, &av, -1);
    } else {
        const char *th;

        if ((rc = cscert_assign_get(&as, cli_store(w->cli), use)) < 0)
            return rc;
        th = assigned_field(as, use, "Thumbprint");
        arg(&av, "show");
        arg(&av, th ? th : "");
        rc = run(w, cmd_show, &av, -1);
    }
    json_decref(as);
    args_free(&av);
    return rc;
}

/* Renew: a new key for the certificate of a use, with every name it
 * carries (cscert request --renew), online (the certificate itself as the
 * credential unless an account is given) or to a request file. */
static int task_renew(struct wiz *w)
{
    struct argv_b av = { 0 };
    json_t *as = NULL, *o;
    char use[64], types[256] = "", file[512], ca[512] = "", account[256] = "", pw[1024] = "";
    const char *th;
    size_t i, pick, ca_pick;
    unsigned mask = 0;
    int rc, fd = -1, secret_arg = -1, assign = 0, yes;

    printf("\nRenew Certificate: a new key, every name of the certificate kept, and any the topology now requires\n");
    if ((rc = pick_use(w, "Use whose certificate to renew", 1, use, sizeof(use))) != 0)
        return rc;
    if ((rc = cscert_assign_get(&as, cli_store(w->cli), NULL)) < 0)
        return rc;
    th = assigned_field(as, use, "Thumbprint");
    /* Every use that certificate serves is renewed with it (canonical order). */
    json_array_foreach(as, i, o) {
        const char *u = json_string_value(json_object_get(o, "Use"));
        const char *t = json_string_value(json_object_get(o, "Thumbprint"));
        unsigned bit;

        if (u && t && th && strcmp(t, th) == 0 && cscert_use_parse(&bit, u) == CSCERT_OK)
            mask |= bit;
    }
    cscert_uses_format(types, sizeof(types), mask);
    printf("  %s serves %s\n", th ? th : "?", types);
    printf("\n  1) Send the renewal immediately to an online certification authority\n"
           "  2) Prepare it now, but send it later (offline certificate request)\n");
    if ((rc = ask_pick(w, "Request", 2, 1, &pick)) != 0)
        goto out;
    if (pick == 2) {
        if ((rc = ask(w, "Certificate Request File", "renewal.csr", file, sizeof(file))) != 0)
            goto out;
    } else {
        if (!w->topo->n_cas) {
            printf("  No CA is registered in the topology: prepare an offline request instead.\n");
            rc = WIZ_CANCEL;
            goto out;
        }
        for (i = 0; i < w->topo->n_cas; i++)
            printf("  %zu) %s  (%s)\n", i + 1, w->topo->cas[i].name, w->topo->cas[i].url);
        if ((rc = ask_pick(w, "CA", w->topo->n_cas, 1, &ca_pick)) != 0)
            goto out;
        snprintf(ca, sizeof(ca), "%s", w->topo->cas[ca_pick - 1].name);
        if ((rc = ask(w, "CA account (blank: the certificate itself is the credential)", NULL, account,
                      sizeof(account))) != 0
            || (*account && (rc = ask_secret(w, "Password", pw, sizeof(pw))) != 0)
            || (rc = ask_yes(w, "Assign the new certificate to these uses once it is issued", 1, &assign)) != 0)
            goto out;
    }
    if ((rc = ask_yes(w, "Renew now", 1, &yes)) != 0 || !yes) {
        rc = rc ? rc : WIZ_CANCEL;
        goto out;
    }
    arg(&av, "request");
    arg(&av, "--renew");
    opt(&av, "--type", types);
    if ((rc = dest_args(&av, ca, account, pw, &fd, &secret_arg, assign, file)) < 0)
        goto out;
    rc = run(w, cmd_request, &av, secret_arg);
out:
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(pw, sizeof(pw));
    json_decref(as);
    args_free(&av);
    return rc;
}

/* ---- Import, Pending ---- */

static int task_import(struct wiz *w)
{
    char path[1024], pw[1024] = "";
    struct argv_b av = { 0 };
    int rc, has_key, exportable = 0, fd = -1, secret_arg = -1;

    printf("\nImport Certificate: a CA's response (.cer, .p7b), a root or intermediate, or a .pfx with its key\n");
    if ((rc = ask(w, "Certificate file", NULL, path, sizeof(path))) != 0)
        return rc;
    if (!*path)
        return WIZ_CANCEL;
    if ((rc = ask_yes(w, "The file contains the certificate's private key (PKCS#12)", 0, &has_key)) != 0)
        return rc;
    if (has_key && ((rc = ask_secret(w, "Password", pw, sizeof(pw))) != 0
                    || (rc = ask_yes(w, "Mark the private key as exportable", 0, &exportable)) != 0))
        goto out;
    printf("\nImport Certificate Summary\n  File: %s\n  Private key: %s\n", path, has_key ? "yes" : "no");
    arg(&av, "import");
    arg(&av, path);
    if (has_key && (rc = opt_secret(&av, "--password-file", pw, &fd, &secret_arg)) < 0)
        goto out;
    if (exportable)
        arg(&av, "--private-key-exportable");
    rc = run(w, cmd_import, &av, secret_arg);
out:
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(pw, sizeof(pw));
    args_free(&av);
    return rc;
}

static int task_pending(struct wiz *w)
{
    cscert_pending **v = NULL;
    size_t n = 0, i, pick;
    char id[32], account[256] = "", pw[1024] = "";
    struct argv_b av = { 0 };
    int rc, fd = -1, secret_arg = -1;

    printf("\nProcess Pending Request\n");
    if ((rc = cscert_store_list_pending(&v, &n, cli_store(w->cli))) < 0)
        return rc;
    for (i = 0; i < n; i++)
        printf("  %zu) request %lld  %s  %s  %s\n", i + 1, (long long)v[i]->id, v[i]->uses,
               v[i]->ca ? v[i]->ca : "offline", v[i]->state);
    if (!n) {
        printf("  No pending request.\n");
        rc = WIZ_CANCEL;
        goto out;
    }
    if ((rc = ask_pick(w, "Request", n, 1, &pick)) != 0)
        goto out;
    if (!v[pick - 1]->ca) {
        printf("  Request %lld is an offline request (%s): send it to the CA, then import the response with\n"
               "  Import Certificate (i).\n",
               (long long)v[pick - 1]->id, v[pick - 1]->output_path ? v[pick - 1]->output_path : "");
        rc = WIZ_CANCEL;
        goto out;
    }
    snprintf(id, sizeof(id), "%lld", (long long)v[pick - 1]->id);
    if ((rc = ask(w, "CA account (blank: none)", NULL, account, sizeof(account))) != 0
        || (*account && (rc = ask_secret(w, "Password", pw, sizeof(pw))) != 0))
        goto out;
    arg(&av, "request");
    arg(&av, "resume");
    arg(&av, id);
    opt(&av, "--ca-account", account);
    if (*account && (rc = opt_secret(&av, "--ca-password-file", pw, &fd, &secret_arg)) < 0)
        goto out;
    arg(&av, "--assign");
    rc = run(w, cmd_request, &av, secret_arg);
out:
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(pw, sizeof(pw));
    args_free(&av);
    cscert_pendings_free(v, n);
    return rc;
}

int cmd_wizard(struct cli *cli, int argc, char **argv)
{
    struct wiz w = { 0 };
    char a[32];
    int rc, cancelled = 0;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(wizard_usage, stdout);
        return CSCERT_OK;
    }
    if (argc > 1)
        return cli_usage("wizard", "it takes no arguments: the wizard asks for what it needs");
    w.cli = cli;
    w.tty = isatty(STDIN_FILENO);
    /* No stdio buffer on stdin: a password typed or piped would otherwise
     * stay there, out of reach of OPENSSL_cleanse, until exit (and a
     * buffer reading ahead would take input meant for later pages). */
    setvbuf(stdin, NULL, _IONBF, 0);
    for (;;) {
        if ((rc = load(&w)) < 0)
            break;
        main_page(&w);
        if (ask(&w, "Task", "q", a, sizeof(a)) != 0 || strcasecmp(a, "q") == 0) {
            rc = CSCERT_OK;
            break;
        }
        switch (tolower((unsigned char)a[0])) {
        case 'r': rc = task_request(&w); break;
        case 'n': rc = task_renew(&w); break;
        case 'a': rc = task_assign(&w); break;
        case 'i': rc = task_import(&w); break;
        case 'p': rc = task_pending(&w); break;
        case 'v': rc = task_view_or_remove(&w, 0); break;
        case 'd': rc = task_view_or_remove(&w, 1); break;
        default: printf("  '%s' is not a task: answer r, n, a, i, p, v, d or q\n", a); rc = 0; break;
        }
        if (rc == WIZ_CANCEL) {
            printf("Cancelled: nothing was changed by this task.\n");
            cancelled = feof(stdin);
        } else if (rc < 0) {
            const char *msg = cscert_error_last();

            fprintf(stderr, "cscert: error: %s\n", *msg ? msg : cscert_strerror(rc));
            cscert_error_clear();
            w.failed = 1;
        }
        if (feof(stdin)) {
            rc = CSCERT_OK;
            break;
        }
    }
    cscert_topology_free(w.topo);
    free(w.fqdn);
    if (rc < 0)
        return rc;
    return w.failed || cancelled ? 1 : CSCERT_OK;
}
