/* cmd_admin.c: csca template, account, group: certificate templates and
 * their Enroll grants, requesters and their groups. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csca_cli.h"

enum { O_HELP = 'h', O_VALIDITY = 256, O_EKU, O_MIN_KEY, O_MIN_EC, O_HASH, O_DOMAINS,
       O_APPROVAL, O_JSON, O_GROUP, O_ENROLL, O_PWFILE };

static const char template_help[] =
    "usage: csca template add|set NAME [--validity D] [--eku serverAuth,clientAuth]\n"
    "                     [--min-key-size N] [--min-ec-bits N] [--hash sha256,...]\n"
    "                     [--allowed-domains \"*.contoso.com,...\"] [--approval auto|manual]\n"
    "       csca template list [--json]\n"
    "       csca template show NAME [--json]\n"
    "       csca template remove NAME\n"
    "       csca template grant NAME --group G --enroll\n"
    "       csca template revoke-grant NAME --group G\n\n"
    "Certificate templates: validity (days, 730d, 2y), EKUs, the minimum RSA key size\n"
    "and EC curve bits, the signature hashes allowed, the DNS names allowed (the CN\n"
    "and every SAN must match; '' allows any), and approval (manual: requests wait\n"
    "for 'csca request issue'). add starts from WebServer's defaults. Enroll grants\n"
    "say which groups may request from the template online.\n";

static int eku_parse(unsigned *out, const char *s)
{
    char *copy = strdup(s), *tok, *save = NULL;
    int rc = CSCERT_OK;

    if (!copy)
        return cscert__oom();
    *out = 0;
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (strcasecmp(tok, "serverAuth") == 0)
            *out |= CSCERT_CA_EKU_SERVER;
        else if (strcasecmp(tok, "clientAuth") == 0)
            *out |= CSCERT_CA_EKU_CLIENT;
        else {
            rc = cscert_error_setf(CSCERT_EINVAL, "--eku", "use serverAuth and/or clientAuth",
                                   "'%s' is not a known EKU", tok);
            break;
        }
    }
    free(copy);
    if (rc == CSCERT_OK && *out == 0)
        rc = cscert_error_set(CSCERT_EINVAL, "--eku", "no EKU given", "use serverAuth and/or clientAuth");
    return rc;
}

static int int_arg(int *out, const char *s, const char *opt, int lo, int hi)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (!*s || *end || v < lo || v > hi)
        return cscert_error_setf(CSCERT_EINVAL, opt, "give a number in range",
                                 "'%s' is not a number from %d to %d", s, lo, hi);
    *out = (int)v;
    return CSCERT_OK;
}

static void template_print(json_t *t)
{
    char eku[128], hashes[128], dom[1024], groups[1024];

    csca_join(eku, sizeof(eku), json_object_get(t, "eku"));
    csca_join(hashes, sizeof(hashes), json_object_get(t, "hashes"));
    csca_join(dom, sizeof(dom), json_object_get(t, "allowed_domains"));
    csca_join(groups, sizeof(groups), json_object_get(t, "enroll_groups"));
    printf("Template:        %s\n"
           "Validity:        %lld days\n"
           "EKU:             %s\n"
           "Min RSA bits:    %lld\n"
           "Min EC bits:     %lld\n"
           "Hashes:          %s\n"
           "Allowed domains: %s\n"
           "Approval:        %s\n"
           "Enroll:          %s\n",
           csca_jstr(t, "name"), (long long)json_integer_value(json_object_get(t, "validity_days")), eku,
           (long long)json_integer_value(json_object_get(t, "min_rsa_bits")),
           (long long)json_integer_value(json_object_get(t, "min_ec_bits")), hashes,
           *dom ? dom : "(any)", csca_jstr(t, "approval"), *groups ? groups : "(no group)");
}

static json_t *template_find(json_t *list, const char *name)
{
    size_t i;
    json_t *t;

    json_array_foreach(list, i, t)
        if (strcasecmp(csca_jstr(t, "name"), name) == 0)
            return t;
    return NULL;
}

int cmd_template(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, O_HELP }, { "validity", required_argument, NULL, O_VALIDITY },
        { "eku", required_argument, NULL, O_EKU }, { "min-key-size", required_argument, NULL, O_MIN_KEY },
        { "min-ec-bits", required_argument, NULL, O_MIN_EC }, { "hash", required_argument, NULL, O_HASH },
        { "allowed-domains", required_argument, NULL, O_DOMAINS },
        { "approval", required_argument, NULL, O_APPROVAL }, { "json", no_argument, NULL, O_JSON },
        { "group", required_argument, NULL, O_GROUP }, { "enroll", no_argument, NULL, O_ENROLL },
        { NULL, 0, NULL, 0 }
    };
    const char *sub, *name = NULL, *group = NULL, *hashes = NULL, *domains = NULL;
    int c, rc = CSCERT_OK, json = 0, enroll = 0, validity = 0, min_rsa = 0, min_ec = 0, approval = -1;
    int changes = 0;
    unsigned eku = 0;
    cscert_ca *ca = NULL;
    cscert_ca_template t;
    json_t *list = NULL, *one;

    memset(&t, 0, sizeof(t));
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(template_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CSCA_EXIT_USAGE : 0;
    }
    sub = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_HELP: fputs(template_help, stdout); return 0;
        case O_VALIDITY: if ((rc = csca_parse_days(&validity, optarg, "--validity")) < 0) return csca_bad_value(rc, "template"); changes++; break;
        case O_EKU: if ((rc = eku_parse(&eku, optarg)) < 0) return csca_bad_value(rc, "template"); changes++; break;
        case O_MIN_KEY: if ((rc = int_arg(&min_rsa, optarg, "--min-key-size", 1024, 16384)) < 0) return csca_bad_value(rc, "template"); changes++; break;
        case O_MIN_EC: if ((rc = int_arg(&min_ec, optarg, "--min-ec-bits", 256, 521)) < 0) return csca_bad_value(rc, "template"); changes++; break;
        case O_HASH: hashes = optarg; changes++; break;
        case O_DOMAINS: domains = optarg; changes++; break;
        case O_APPROVAL:
            if (strcmp(optarg, "auto") == 0) approval = 0;
            else if (strcmp(optarg, "manual") == 0) approval = 1;
            else return csca_usage("template", "--approval is auto or manual, not '%s'", optarg);
            changes++;
            break;
        case O_JSON: json = 1; break;
        case O_GROUP: group = optarg; break;
        case O_ENROLL: enroll = 1; break;
        default: return csca_usage("template", "unknown option");
        }
    }
    if (optind < argc)
        name = argv[optind++];
    if (optind < argc)
        return csca_usage("template", "unexpected argument '%s'", argv[optind]);
    if (strcmp(sub, "list") != 0 && !name)
        return csca_usage("template", "'template %s' needs a template NAME", sub);
    if ((strcmp(sub, "add") && strcmp(sub, "set")) && changes)
        return csca_usage("template", "template options go with add or set, not %s", sub);

    if (strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0) {
        if ((rc = csca_open(&ca, g)) < 0 || (rc = cscert_ca_template_list(&list, ca)) < 0)
            goto out;
        if (strcmp(sub, "show") == 0) {
            if (!(one = template_find(list, name))) {
                /* the library's message names the template and those that exist */
                rc = cscert_ca_template_get(&t, ca, name);
                if (rc == CSCERT_OK)
                    rc = cscert_error_set(CSCERT_ENOTFOUND, name, "no such template", "see 'csca template list'");
                goto out;
            }
            if (json) {
                csca_json_print(json_incref(one));
            } else {
                template_print(one);
            }
        } else if (json) {
            csca_json_print(list);
            list = NULL;
        } else {
            size_t i;
            char groups[512];
            printf("%-20s  %-8s  %-8s  %s\n", "TEMPLATE", "DAYS", "APPROVAL", "ENROLL GROUPS");
            json_array_foreach(list, i, one) {
                csca_join(groups, sizeof(groups), json_object_get(one, "enroll_groups"));
                printf("%-20s  %-8lld  %-8s  %s\n", csca_jstr(one, "name"),
                       (long long)json_integer_value(json_object_get(one, "validity_days")),
                       csca_jstr(one, "approval"), groups);
            }
        }
        goto out;
    }
    if (strcmp(sub, "add") == 0 || strcmp(sub, "set") == 0) {
        int add = sub[0] == 'a';
        if (strlen(name) > CSCERT_CA_NAME_MAX)
            return csca_usage("template", "a template name has at most %d characters", CSCERT_CA_NAME_MAX);
        if ((rc = csca_open(&ca, g)) < 0)
            goto out;
        if (add) {
            /* start from WebServer's defaults (as AD CS: duplicate a template) */
            snprintf(t.name, sizeof(t.name), "%s", name);
            t.validity_days = CSCERT_CA_TEMPLATE_VALIDITY_DEFAULT_DAYS;
            t.eku = CSCERT_CA_EKU_SERVER;
            t.min_rsa_bits = 2048;
            t.min_ec_bits = 256;
            t.hashes = strdup("sha256,sha384,sha512");
            if (!t.hashes) { rc = cscert__oom(); goto out; }
        } else if ((rc = cscert_ca_template_get(&t, ca, name)) < 0) {
            goto out;
        }
        if (validity) t.validity_days = validity;
        if (eku) t.eku = eku;
        if (min_rsa) t.min_rsa_bits = min_rsa;
        if (min_ec) t.min_ec_bits = min_ec;
        if (approval >= 0) t.manual_approval = approval;
        if (hashes) {
            free(t.hashes);
            if (!(t.hashes = strdup(hashes))) { rc = cscert__oom(); goto out; }
        }
        if (domains) {
            free(t.allowed_domains);
            if (!(t.allowed_domains = strdup(domains))) { rc = cscert__oom(); goto out; }
        }
        rc = add ? cscert_ca_template_add(ca, &t, g->actor) : cscert_ca_template_set(ca, &t, g->actor);
        if (rc == CSCERT_OK)
            printf("Template %s %s.\n", t.name, add ? "added" : "updated");
        goto out;
    }
    if (strcmp(sub, "remove") == 0) {
        if ((rc = csca_open(&ca, g)) == CSCERT_OK && (rc = cscert_ca_template_remove(ca, name, g->actor)) == CSCERT_OK)
            printf("Template %s removed.\n", name);
        goto out;
    }
    if (strcmp(sub, "grant") == 0 || strcmp(sub, "revoke-grant") == 0) {
        int grant = sub[0] == 'g';
        if (!group)
            return csca_usage("template", "'template %s' needs --group G", sub);
        if (grant && !enroll)
            return csca_usage("template", "say which permission: --enroll (the only one)");
        if ((rc = csca_open(&ca, g)) < 0)
            goto out;
        rc = grant ? cscert_ca_grant(ca, name, group, g->actor)
                   : cscert_ca_revoke_grant(ca, name, group, g->actor);
        if (rc == CSCERT_OK)
            printf(grant ? "Group %s may enroll from %s.\n" : "Group %s may no longer enroll from %s.\n",
                   group, name);
        goto out;
    }
    return csca_usage("template", "'%s' is not a template subcommand", sub);
out:
    cscert_ca_template_clear(&t);
    json_decref(list);
    cscert_ca_free(ca);
    return rc;
}

static const char account_help[] =
    "usage: csca account add NAME --group G[,G] --password-file F\n"
    "       csca account list [--json]\n"
    "       csca account remove NAME\n"
    "       csca account passwd NAME --password-file F\n"
    "       csca account set NAME --group G[,G]\n\n"
    "Requesters of online enrollment and their groups (RTCUniversalServerAdmins...).\n"
    "The password is read from the first line of F ('-': standard input), never from\n"
    "the command line, and stored only as a salted PBKDF2 hash.\n";

int cmd_account(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, O_HELP }, { "group", required_argument, NULL, O_GROUP },
        { "password-file", required_argument, NULL, O_PWFILE }, { "json", no_argument, NULL, O_JSON },
        { NULL, 0, NULL, 0 }
    };
    const char *sub, *name = NULL, *group = NULL, *pwfile = NULL;
    cscert_ca *ca = NULL;
    char *pw = NULL;
    json_t *list = NULL, *e;
    int c, rc = CSCERT_OK, json = 0;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(account_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CSCA_EXIT_USAGE : 0;
    }
    sub = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_HELP: fputs(account_help, stdout); return 0;
        case O_GROUP: group = optarg; break;
        case O_PWFILE: pwfile = optarg; break;
        case O_JSON: json = 1; break;
        default: return csca_usage("account", "unknown option");
        }
    }
    if (optind < argc)
        name = argv[optind++];
    if (optind < argc)
        return csca_usage("account", "unexpected argument '%s'", argv[optind]);
    if (strcmp(sub, "list") == 0) {
        size_t i;
        char groups[512];
        if ((rc = csca_open(&ca, g)) < 0 || (rc = cscert_ca_account_list(&list, ca)) < 0)
            goto out;
        if (json) {
            csca_json_print(list);
            list = NULL;
            goto out;
        }
        printf("%-24s  %-20s  %s\n", "ACCOUNT", "CREATED", "GROUPS");
        json_array_foreach(list, i, e) {
            csca_join(groups, sizeof(groups), json_object_get(e, "groups"));
            printf("%-24s  %-20s  %s\n", csca_jstr(e, "name"), csca_jstr(e, "created"), groups);
        }
        goto out;
    }
    if (!name)
        return csca_usage("account", "'account %s' needs an account NAME", sub);
    if (strcmp(sub, "add") == 0) {
        if (!group || !pwfile)
            return csca_usage("account", "'account add' needs --group G and --password-file F");
    } else if (strcmp(sub, "passwd") == 0) {
        if (!pwfile)
            return csca_usage("account", "'account passwd' needs --password-file F");
    } else if (strcmp(sub, "set") == 0) {
        if (!group)
            return csca_usage("account", "'account set' needs --group G[,G]");
    } else if (strcmp(sub, "remove") != 0) {
        return csca_usage("account", "'%s' is not an account subcommand", sub);
    }
    if (pwfile && (rc = csca_read_password_file(&pw, pwfile)) < 0)
        goto out;
    if ((rc = csca_open(&ca, g)) < 0)
        goto out;
    if (strcmp(sub, "add") == 0 && (rc = cscert_ca_account_add(ca, name, group, pw, g->actor)) == CSCERT_OK)
        printf("Account %s added (groups: %s).\n", name, group);
    else if (strcmp(sub, "passwd") == 0 && (rc = cscert_ca_account_passwd(ca, name, pw, g->actor)) == CSCERT_OK)
        printf("Password of %s changed.\n", name);
    else if (strcmp(sub, "set") == 0 && (rc = cscert_ca_account_set_groups(ca, name, group, g->actor)) == CSCERT_OK)
        printf("Account %s: groups %s.\n", name, group);
    else if (strcmp(sub, "remove") == 0 && (rc = cscert_ca_account_remove(ca, name, g->actor)) == CSCERT_OK)
        printf("Account %s removed.\n", name);
out:
    csca_secret_free(pw);
    json_decref(list);
    cscert_ca_free(ca);
    return rc;
}

static const char group_help[] =
    "usage: csca group list [--json]\n\n"
    "The groups known to the CA: those of accounts and those granted Enroll on a\n"
    "template, with their members and templates.\n";

static void group_add(json_t *groups, const char *g, const char *field, const char *value)
{
    json_t *o = json_object_get(groups, g);

    if (!o) {
        o = json_pack("{s:[], s:[]}", "members", "enroll");
        json_object_set_new(groups, g, o);
    }
    json_array_append_new(json_object_get(o, field), json_string(value));
}

int cmd_group(const csca_global *g, int argc, char **argv)
{
    static const struct option opts[] = { { "help", no_argument, NULL, O_HELP },
                                          { "json", no_argument, NULL, O_JSON }, { NULL, 0, NULL, 0 } };
    cscert_ca *ca = NULL;
    json_t *accounts = NULL, *templates = NULL, *groups = json_object(), *e, *v, *out_a = NULL;
    const char *k;
    size_t i, j;
    int c, rc, json = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == O_HELP) { fputs(group_help, stdout); json_decref(groups); return 0; }
        if (c == O_JSON) json = 1;
        else { json_decref(groups); return csca_usage("group", "unknown option"); }
    }
    if (optind < argc && strcmp(argv[optind], "list") == 0)
        optind++;
    if (optind < argc) {
        json_decref(groups);
        return csca_usage("group", "unexpected argument '%s'", argv[optind]);
    }
    if ((rc = csca_open(&ca, g)) < 0 || (rc = cscert_ca_account_list(&accounts, ca)) < 0
        || (rc = cscert_ca_template_list(&templates, ca)) < 0)
        goto out;
    json_array_foreach(accounts, i, e)
        json_array_foreach(json_object_get(e, "groups"), j, v)
            group_add(groups, json_string_value(v), "members", csca_jstr(e, "name"));
    json_array_foreach(templates, i, e)
        json_array_foreach(json_object_get(e, "enroll_groups"), j, v)
            group_add(groups, json_string_value(v), "enroll", csca_jstr(e, "name"));
    out_a = json_array();
    json_object_foreach(groups, k, v)
        json_array_append_new(out_a, json_pack("{s:s, s:O, s:O}", "name", k, "members",
                                               json_object_get(v, "members"), "enroll",
                                               json_object_get(v, "enroll")));
    if (json) {
        csca_json_print(out_a);
        out_a = NULL;
        goto out;
    }
    printf("%-28s  %-30s  %s\n", "GROUP", "MEMBERS", "ENROLL ON");
    json_array_foreach(out_a, i, e) {
        char m[512], t[512];
        csca_join(m, sizeof(m), json_object_get(e, "members"));
        csca_join(t, sizeof(t), json_object_get(e, "enroll"));
        printf("%-28s  %-30s  %s\n", csca_jstr(e, "name"), m, t);
    }
out:
    json_decref(out_a);
    json_decref(groups);
    json_decref(accounts);
    json_decref(templates);
    cscert_ca_free(ca);
    return rc;
}
