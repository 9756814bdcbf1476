/* daemon.h: what `web serve` (web.c) and `csca serve` (ca_serve.c) share
 * (library-private): detaching with a ready pipe, the pid file, the log
 * line, the listening socket, and the SIGPIPE guard web_verify.c's TLS
 * probe writes under. Each server passes its own names and
 * messages, so what it prints stays its own.
 * Uses: error, store (cscert_now_rfc3339), libevent (the main thread's
 * signal and timer events, and the output coalescing of a connection;
 * web.c and ca_serve.c keep their event
 * loops, workers and drain: daemon is a part of those two, the only
 * modules that touch libevent). */
#ifndef CSCERT_DAEMON_H
#define CSCERT_DAEMON_H

#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>

#include <event2/event.h>

/* 512: a log line; longer lines are cut. */
#define CSCERT_DAEMON_LOG_LINE 512

/* What a server's detach messages name. */
struct cscert__daemon_names {
    const char *what;   /* "web serve": the object of its errors */
    const char *ident;  /* "cscert-web": syslog's ident when detached */
    const char *hint;   /* the fix when the child did not start:
                           "see syslog, or run 'cscert web serve --foreground'" */
};

/* The child's part of a detached server: open its own handles (an SQLite
 * handle must not cross a fork), serve, call cscert__daemon_ready(&ready_fd)
 * once it listens. Returns CSCERT_OK or an error with its message set. */
typedef int (*cscert__daemon_child_fn)(void *arg, int ready_fd);

/* Fork. The child detaches (setsid, syslog under names->ident, stdin,
 * stdout and stderr on /dev/null), runs child(arg, ready_fd), logs its
 * error to syslog and _exits 1, or 0. The parent returns once the child
 * is ready: CSCERT_OK, or EIO "WHAT: the server did not start; HINT" when
 * the child exited first; *child_pid (may be NULL) is the child either way.
 * EIO naming what when the pipe or the fork fails. */
int cscert__daemon_detach(long *child_pid, const struct cscert__daemon_names *names,
                          cscert__daemon_child_fn child, void *arg);

/* Tell the parent the server listens: one byte, then *ready_fd is closed
 * and -1. Nothing when it is -1 (foreground). */
void cscert__daemon_ready(int *ready_fd);

/* Write getpid() to HOME/FILE (0600, not through a link). *path is set
 * even when the write fails (a partial file is removed with it) and is
 * the caller's: cscert__daemon_pid_remove. EIO names the path. */
int cscert__daemon_pid_write(char **path, const char *home, const char *file);
/* Unlink path and free it; NULL-safe. */
void cscert__daemon_pid_remove(char *path);

/* One log line of a server: to log(line, ud) when set, else to syslog
 * (LOG_INFO) when detached, else to stderr as "PREFIX: TIME LINE". With
 * one_line, control characters become '?', so that a client's bytes
 * cannot start a forged line. */
struct cscert__daemon_log {
    const char *prefix;                   /* "cscert web", "csca serve" */
    void (*log)(const char *line, void *ud);
    void *ud;
    int detached;
    int one_line;
};
void cscert__daemon_vlog(const struct cscert__daemon_log *l, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* A literal IPv4 or IPv6 address and a port as a socket address.
 * -1 (no message: the caller names the object) when addr is neither. */
int cscert__daemon_sockaddr(struct sockaddr_storage *ss, socklen_t *len, const char *addr, int port);
/* A listening TCP socket on ss: non-blocking, close-on-exec, SO_REUSEADDR,
 * IPv6-only for IPv6, TCP_NODELAY. -1 with errno set (no message) on
 * failure, *fd then -1. */
int cscert__daemon_listen(int *fd, const struct sockaddr_storage *ss, socklen_t len, int backlog);

/* The main thread's events: SIGHUP to hup, SIGTERM and SIGINT to term
 * (its fd argument says which), and timer every *tv. CSCERT_ENOMEM with
 * no message (the caller sets it) when one cannot be made; free them
 * with cscert__daemon_events_free either way. */
struct cscert__daemon_events {
    struct event *hup, *term, *intr, *timer;
};
int cscert__daemon_events_add(struct cscert__daemon_events *ev, struct event_base *base, event_callback_fn hup,
                              event_callback_fn term, event_callback_fn timer, const struct timeval *tv,
                              void *arg);
void cscert__daemon_events_free(struct cscert__daemon_events *ev);

/* evhttp writes a response's headers into the connection's output, then
 * moves the body's chain behind them; bufferevent_openssl calls SSL_write
 * once per chain, so each response would go out as two TLS records in two
 * write(2) calls. This joins the chains as they are added (a copy of at
 * most CSCERT_DAEMON_COALESCE_MAX bytes; the write itself waits for the
 * next EPOLLOUT), so that headers and body leave as one record in one
 * write(2). -1 when the callback cannot be added: then two records. */
/* 16 KiB: the largest TLS record's payload. */
#define CSCERT_DAEMON_COALESCE_MAX 16384
struct bufferevent;
int cscert__daemon_coalesce_output(struct bufferevent *bev);

/* OpenSSL writes to a socket with write(2), not send(MSG_NOSIGNAL): a
 * peer that has reset the connection raises SIGPIPE, which kills the
 * process (`cscert check`, probing a web server that went away). Between
 * block and restore, SIGPIPE is blocked in the calling thread, so such a
 * write fails with EPIPE; restore discards a SIGPIPE raised meanwhile (not
 * one already pending at block) and puts the thread's mask back. */
struct cscert__sigpipe_guard {
    sigset_t old;
    int was_pending;
};
void cscert__sigpipe_block(struct cscert__sigpipe_guard *g);

struct evconnlistener;
/* Out of file descriptors (EMFILE, ENFILE), accept() fails and leaves the
 * connection queued, so a listener would wake at once, again and again:
 * a loop on one core. Guarded, such a connection is taken with a spare
 * descriptor kept for the purpose and closed at once (the client sees
 * its connection closed), and the listener goes on. */
void cscert__daemon_accept_guard(struct evconnlistener *l);
void cscert__sigpipe_restore(struct cscert__sigpipe_guard *g);

/* CLOCK_MONOTONIC in milliseconds. */
long long cscert__daemon_now_ms(void);

#endif
