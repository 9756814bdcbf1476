/* web.h: the HTTPS bindings, as IIS's Internal and External Web Sites.
 * Owns: the bindings (site -> address:port, use) and their rules (port
 * range, a literal address, a use this server's role has, one site per
 * address:port); `web serve`, the TLS listeners bound to the assigned
 * certificates (libevent evhttp over OpenSSL bufferevents, reloading a
 * new assignment for new connections without a restart); and `web
 * verify`, which connects to each binding and compares what it serves
 * with the assignment, the store's Root and the site's names.
 * Uses: error, store, topology, names, x509, certinfo, daemon (detach,
 * pid file, log line, listening socket, signal events; lib/daemon.h),
 * OpenSSL, libevent (web is the only cscert module that touches
 * libevent), Jansson.
 *
 * Default bindings: `Internal` (0.0.0.0:443, WebServicesInternal) and
 * `External` (0.0.0.0:4443, WebServicesExternal) are written into the
 * store by the first web call that reads the bindings once the topology
 * says this server is StandardEdition, FrontEnd or Director; the setting
 * "web_bindings_initialized" records that, so a site the administrator
 * removed stays removed. */
#ifndef CSCERT_WEB_H
#define CSCERT_WEB_H

#include <stddef.h>

#include <jansson.h>

#include "cscert/store.h"

/* 63: a site name; IIS's are short ("Lync Server External Web Site"). */
#define CSCERT_WEB_SITE_MAX 63
/* 2 workers: one event loop per core of the reference machine. */
#define CSCERT_WEB_WORKERS_DEFAULT 2
/* 64: workers; handshakes are CPU-bound, more threads than cores only
 * add context switches. */
#define CSCERT_WEB_WORKERS_MAX 64
/* 10 s: how long a connection may stay silent (handshake, headers, or an
 * idle keep-alive) before it is closed, so a stalled client cannot hold
 * a slot for long. */
#define CSCERT_WEB_TIMEOUT_DEFAULT 10
/* 1000 ms: how often `serve` polls the store for a changed assignment;
 * a new certificate reaches new connections within 2 s. */
#define CSCERT_WEB_POLL_MS 1000
/* 5 s: how long SIGTERM waits for connections in flight. */
#define CSCERT_WEB_DRAIN_MS 5000
/* 5 s: `verify`'s connect + handshake budget per binding. */
#define CSCERT_WEB_VERIFY_TIMEOUT_MS 5000

/* The bindings, defaults created first when due (see above); ordered by
 * port, then site. *out is the caller's (free()). */
int cscert_web_bindings(cscert_binding **out, size_t *n, cscert_store *st);

/* Add or change a site. address NULL keeps the site's address (0.0.0.0
 * for a new site); port 0 keeps its port; use NULL keeps its use (both
 * required for a new site). EINVAL names a bad site name, port, address
 * or use; EPOLICY a use this server's role does not have (R18, and never
 * ReverseProxy); EEXISTS another site on that address:port (0.0.0.0 and
 * :: overlap every address of their family). One transaction, audited. */
int cscert_web_binding_set(cscert_store *st, const char *site, const char *address, int port,
                           const char *use);
/* Remove a site; ENOTFOUND naming it. Audited. */
int cscert_web_binding_remove(cscert_store *st, const char *site);

/* ---- serve ---- */

/* One log line, without its newline ("bind External 0.0.0.0:4443"). */
typedef void (*cscert_web_log_fn)(const char *line, void *ud);

typedef struct cscert_web_serve_opts {
    int workers;             /* <= 0: CSCERT_WEB_WORKERS_DEFAULT */
    int timeout_s;           /* <= 0: CSCERT_WEB_TIMEOUT_DEFAULT */
    int foreground;          /* 0: detach (fork, setsid), log to syslog, return in the parent
                                once the child listens, printing nothing */
    cscert_web_log_fn log;   /* NULL: stderr ("cscert web: TIME MSG"), or syslog when detached */
    void *log_ud;
    long *child_pid;         /* detached: the serving process (may be NULL) */
} cscert_web_serve_opts;

/* Serve every binding until SIGTERM or SIGINT (drain, then stop); SIGHUP
 * reloads now. A binding that cannot be bound or has no valid certificate
 * is logged and skipped; the others serve. EIO when no binding could be
 * bound at all. Writes HOME/web.pid while serving. */
int cscert_web_serve(cscert_store *st, const cscert_web_serve_opts *o);

/* Is a `web serve` running on this home (HOME/web.pid names a live
 * process)? 1 yes (pid set), 0 no. */
int cscert_web_running(long *pid, cscert_store *st);

/* ---- verify ---- */

/* One problem of a binding, shaped as check.h's findings so `cscert
 * check` can add them: kind is "binding-unreachable", "binding-no-
 * certificate" (TLS handshake failed: nothing served), "binding-mismatch"
 * (serves another certificate than the assignment), "binding-unassigned",
 * "binding-untrusted-chain", "binding-missing-name", "binding-expired",
 * "binding-no-topology". */
typedef struct cscert_web_problem {
    const char *kind;
    char *message;           /* one line naming the site and the object */
    char *name;              /* binding-missing-name: the name; else NULL */
    char *fix;               /* the command that fixes it, or NULL */
} cscert_web_problem;

typedef struct cscert_web_result {
    cscert_binding binding;
    char sni[254];           /* the name sent as SNI ("" when none) */
    char connect_to[80];     /* "127.0.0.1:4443" */
    int reachable;           /* TCP connected */
    int handshake;           /* TLS handshake done, a certificate read */
    char error[256];         /* why not, when !reachable or !handshake */
    char served[41];         /* "" when nothing was served */
    char assigned[41];       /* "" when the use has no assignment */
    int match;
    int chain_trusted;
    char chain_error[256];
    char **required;         /* the site's names (NULL-terminated; may be NULL) */
    char **missing;          /* those the served certificate lacks (NULL-terminated) */
    size_t n_missing;
    char not_after[32];      /* of the served certificate */
    cscert_web_problem *problems;
    size_t n_problems;
} cscert_web_result;

typedef struct cscert_web_verify_opts {
    int timeout_ms;          /* <= 0: CSCERT_WEB_VERIFY_TIMEOUT_MS */
} cscert_web_verify_opts;

/* Connect to every binding (0.0.0.0 is reached as 127.0.0.1, :: as ::1)
 * with the site's name as SNI (Internal: the internal web services FQDN,
 * External: the external one, another use: its CN), and judge what is
 * served. A binding that cannot be reached is a result with a
 * binding-unreachable problem, not an error: the caller picks the exit.
 * n == 0 when there are no bindings. */
int cscert_web_verify(cscert_web_result **out, size_t *n, cscert_store *st,
                      const cscert_web_verify_opts *o);
void cscert_web_results_free(cscert_web_result *v, size_t n);
/* {"clean": bool, "bindings": [{site, address, port, use, sni, reachable,
 * served, assigned, match, chain_trusted, chain_error, missing_names,
 * problems: [{kind, message, name, fix}]}]} */
json_t *cscert_web_results_json(const cscert_web_result *v, size_t n);

#endif
