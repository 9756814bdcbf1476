/* assign.h: which certificate serves which use, as Set-, Get- and
 * Remove-CsCertificate do.
 * Owns: the assignment rules: a use must be one this server's role has
 * (R18, ReverseProxy never); the certificate must be in My with its
 * private key, valid now, chain trusted, and carry every name the use
 * requires here (names.h); several uses at once over separate
 * certificates needs --force (spec 5.4); --roll keeps the previous
 * thumbprint and an effective date. Refusals write only the audit log.
 * Uses: error, store, topology, names, certinfo, x509. */
#ifndef CSCERT_ASSIGN_H
#define CSCERT_ASSIGN_H

#include <stddef.h>

#include <jansson.h>

#include "cscert/store.h"

/* 16: uses in one --type list; there are ten uses in all. */
#define CSCERT_ASSIGN_MAX_USES 16

typedef struct cscert_assign_opts {
    const char *types;          /* "Default, webservicesinternal" (any case) */
    const char *thumbprint;     /* any case, spaces, ':' (as copied from Windows) */
    int roll;                   /* --roll: stage with --effective-date */
    const char *effective_date; /* ISO 8601; required with --roll */
    int force;                  /* override the refusals, loudly and audited */
} cscert_assign_opts;

/* Parse a --type list into canonical uses (case-insensitive, duplicates
 * dropped). *out is NULL-terminated; free with cscert_assign_uses_free.
 * EINVAL naming an unknown use and listing the known ones. */
int cscert_assign_parse_uses(char ***out, size_t *n, const char *types);
void cscert_assign_uses_free(char **uses);

/* Why a certificate may not serve a use on this server: each problem one
 * line in *problems (NULL-terminated, caller frees with
 * cscert_assign_uses_free); *fix (may be NULL) the one command that fixes
 * the missing names, or NULL. 0 problems = fit. */
int cscert_assign_problems(char ***problems, size_t *n, char **fix, cscert_store *st,
                           const char *const *uses, size_t n_uses, const char *thumbprint);

/* Assign. Refusals (EPOLICY) name each problem and the fix; with --force
 * each problem is warned as "FORCED: ..." and audited "forced". */
int cscert_assign_set(cscert_store *st, const cscert_assign_opts *o);

/* Unassign each use; ENOTFOUND naming a use that has no certificate
 * (nothing is removed then). One transaction. */
int cscert_assign_remove(cscert_store *st, const char *types);

/* Remove-CsCertificate -Previous: forget each use's previous certificate
 * once its roll has taken effect (the certificate stays in the store; the
 * assignment keeps serving). EPOLICY naming the date while a roll is still
 * staged (the previous one is in force); ENOTFOUND naming a use without a
 * certificate or without a previous one. One transaction, audited. */
int cscert_assign_remove_previous(cscert_store *st, const char *types);

/* The assignments (types NULL: all), as a JSON array of objects with
 * Use, Thumbprint, Subject, Issuer, SerialNumber, NotBefore, NotAfter
 * (RFC 3339 UTC), AlternativeNames (array, all of them), EffectiveDate,
 * PreviousThumbprint (null when none), and InForce: the thumbprint that
 * serves now (PreviousThumbprint while a roll is staged). */
int cscert_assign_get(json_t **out, cscert_store *st, const char *types);

/* ISO 8601 ("2026-12-01", "2026-12-01T10:00", "...Z", "...+02:00") to
 * RFC 3339 UTC; EINVAL naming the input. */
int cscert_assign_parse_date(char out[32], const char *in);

/* Library-internal (lib/assign_names.c): the bridge to topology and
 * names, so that assign and check ask the same questions.
 * use_canon: canonical spelling of a use (EINVAL naming it and the known
 * uses); use_allowed: EPOLICY unless this server's role has the use and
 * it can be assigned (R18; ReverseProxy never); required_names: the
 * names the use needs on this server (CN first, NULL-terminated, free
 * with cscert_certinfo_names_free); required_uses: the uses `check`
 * expects on this server (DESIGN clarifications); fix_command: the
 * `cscert request --new --type ...` line that gets every name, or with
 * renew the `--renew` one (an assigned certificate lacking a name: the
 * renewal keeps the names it has and adds the ones required). */
int cscert__assign_use_canon(const char **canon, const char *in);
int cscert__assign_use_allowed(cscert_store *st, const char *use);
int cscert__assign_required_names(char ***out, size_t *n, cscert_store *st, const char *use);
int cscert__assign_required_uses(char ***out, size_t *n, cscert_store *st);
int cscert__assign_fix_command(char **out, cscert_store *st, const char *const *uses, size_t n, int renew);

#endif
