/* names.h: the subject and SANs each certificate use must carry.
 * Owns: the use vocabulary (Lync's -Type) and the R-numbered naming rules
 * R1-R18 of spec/lync-certificates.md.
 * Uses: error, topology. Not store, OpenSSL or the network: offline and
 * online requests, `set`, `check` and `web verify` compute the same names. */
#ifndef CSCERT_NAMES_H
#define CSCERT_NAMES_H

#include <stddef.h>

#include "cscert/topology.h"

/* Uses, as bits of a mask, in canonical order. */
enum {
    CSCERT_USE_DEFAULT = 1u << 0,
    CSCERT_USE_WEB_INTERNAL = 1u << 1,
    CSCERT_USE_WEB_EXTERNAL = 1u << 2,
    CSCERT_USE_OAUTH = 1u << 3,
    CSCERT_USE_ACCESS_EDGE = 1u << 4,
    CSCERT_USE_DATA_EDGE = 1u << 5,
    CSCERT_USE_AV_AUTH = 1u << 6,
    CSCERT_USE_EDGE_INTERNAL = 1u << 7,
    CSCERT_USE_XMPP = 1u << 8,
    CSCERT_USE_REVERSE_PROXY = 1u << 9,
};
#define CSCERT_USE_COUNT 10

/* "Default", "WebServicesInternal", ...; NULL past the last. */
const char *cscert_use_name(unsigned bit);
/* One use, any case, into its bit; EINVAL names it and lists the valid ones. */
int cscert_use_parse(unsigned *bit, const char *name);
/* A comma-separated list, any case, spaces allowed, duplicates counted
 * once; EINVAL names an unknown use and lists the valid ones. */
int cscert_uses_parse(unsigned *mask, const char *list);
/* Canonical "Default,WebServicesInternal". */
void cscert_uses_format(char *buf, size_t n, unsigned mask);

/* R18: the uses a role has; the uses `check` requires of a pool's server. */
unsigned cscert_role_uses(cscert_role r);
unsigned cscert_pool_required_uses(const cscert_pool *p);
/* R10-R12: uses whose key is always exportable. */
int cscert_uses_key_exportable(unsigned mask);
/* R10-R12 and R17: the key must be exportable for these uses, or because
 * the request is made for target_fqdn, another computer than the
 * published identity (either may be NULL). */
int cscert_names_key_exportable(unsigned mask, const char *target_fqdn, const char *published_fqdn);
/* R12: the smallest RSA key a use accepts (0: no rule). */
int cscert_uses_min_rsa_bits(unsigned mask);

typedef struct cscert_name_entry {
    char name[254];
    const char *rule; /* "R2", "R6", "--domain-name", ... */
} cscert_name_entry;

/* v[0] is the subject CN; every entry, v[0] included, is a SAN (R1). */
typedef struct cscert_names {
    cscert_name_entry *v;
    size_t n;
} cscert_names;

/* The names a request for these uses carries on computer_fqdn's server
 * (NULL: none given, refused). all_sip_domain: R2/R6/R10's flag.
 * domain_names: "a,b" extra SANs (validated, wildcard allowed), or NULL.
 * A use outside the server's role is refused (R18). */
int cscert_names_compute(cscert_names *out, const cscert_topology *t, const char *computer_fqdn,
                         unsigned uses, int all_sip_domain, const char *domain_names);
void cscert_names_clear(cscert_names *n);
/* Comma-separated, CN first (caller frees). */
char *cscert_names_join(const cscert_names *n);

#endif
