/* topology.h: the published topology of the deployment.
 * Owns: the JSON document of DESIGN.md (Jansson), its validation (every
 * error names the JSON path), R7, publishing it into the store and reading
 * it back, and the server's identity (computer FQDN).
 * Uses: error, store (settings "topology", "computer_fqdn"), Jansson. */
#ifndef CSCERT_TOPOLOGY_H
#define CSCERT_TOPOLOGY_H

#include <stddef.h>

#include "cscert/store.h"

typedef enum {
    CSCERT_ROLE_STANDARD_EDITION = 1,
    CSCERT_ROLE_FRONT_END,
    CSCERT_ROLE_DIRECTOR,
    CSCERT_ROLE_EDGE,
    CSCERT_ROLE_MEDIATION
} cscert_role;

const char *cscert_role_name(cscert_role r);

typedef struct cscert_pool {
    char *fqdn;
    cscert_role role;
    char **servers;
    size_t n_servers;
    char *web_internal, *web_external;            /* SE, FE, Director */
    char *edge_access, *edge_webconf, *edge_av;   /* Edge */
    char **xmpp_domains;                          /* Edge, optional */
    size_t n_xmpp;
    char *site;
} cscert_pool;

/* name: FQDN\Instance (host lower-cased); url: https://, required;
 * address: optional IPv4/IPv6 the URL's host is reached at (no DNS). */
typedef struct cscert_topology_ca {
    char *name, *url, *address;
} cscert_topology_ca;

/* Read-only after parsing; lower-case FQDNs; the first SIP domain is the
 * default one. */
typedef struct cscert_topology {
    char **sip_domains;
    size_t n_sip;
    char **meet;
    size_t n_meet;
    char *dialin, *admin, *office_web_apps;
    char **auto_sign_in;
    size_t n_auto;
    cscert_topology_ca *cas;
    size_t n_cas;
    cscert_pool *pools;
    size_t n_pools;
} cscert_topology;

/* Parse and validate; source names the file in messages. Every refusal
 * is EINVAL with "SOURCE: WHY at JSON.PATH; FIX" (@unittest test_topology). */
int cscert_topology_parse(cscert_topology **out, const char *text, size_t len, const char *source);
/* The same from a file (EIO when it cannot be read). */
int cscert_topology_load_file(cscert_topology **out, const char *path);
void cscert_topology_free(cscert_topology *t);
/* The normalized document (lower-case FQDNs, canonical roles). */
int cscert_topology_to_json(char **out, const cscert_topology *t);
/* The pool of a server FQDN (any case), or NULL. */
const cscert_pool *cscert_topology_find_server(const cscert_topology *t, const char *fqdn);
/* A registered CA by its name FQDN\Instance (any case), or NULL. */
const cscert_topology_ca *cscert_topology_find_ca(const cscert_topology *t, const char *name);

/* Validate text and store it with the computer FQDN (given, else the one
 * saved, else the host's), in one transaction; a refusal changes nothing. */
int cscert_topology_publish(cscert_store *st, const char *text, size_t len, const char *source,
                            const char *computer_fqdn);
int cscert_topology_publish_file(cscert_store *st, const char *path, const char *computer_fqdn);
/* The published topology and this server's FQDN (caller frees both;
 * computer_fqdn may be NULL). ENOTFOUND when nothing is published. */
int cscert_topology_load_published(cscert_topology **out, char **computer_fqdn, cscert_store *st);

/* RFC 1123 host name, <= 253 characters, not an IP address (no all-digit
 * top-level label); allow_wildcard permits a leftmost "*." label (SANs
 * from --domain-name only: never in a topology, never a CN). Lower-cases
 * into out (254 bytes). */
int cscert_fqdn_check(char out[254], const char *in, int allow_wildcard, const char *what);

#endif
