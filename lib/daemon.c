/* daemon.c: the process plumbing `web serve` and `csca serve` share (see
 * daemon.h). Every message names the server's own object and fix, which
 * the caller passes: the two servers print what they printed before. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "cscert/error.h"
#include "cscert/store.h"
#include "daemon.h"

int cscert__daemon_detach(long *child_pid, const struct cscert__daemon_names *names,
                          cscert__daemon_child_fn child, void *arg)
{
    int pfd[2], rc, devnull;
    pid_t pid;
    char c;

    /* The child says when it listens; the parent returns then. */
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return cscert_error_setf(CSCERT_EIO, names->what, NULL, "pipe: %s", strerror(errno));
    fflush(NULL);
    if ((pid = fork()) < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return cscert_error_setf(CSCERT_EIO, names->what, NULL, "fork: %s", strerror(errno));
    }
    if (pid > 0) {
        close(pfd[1]);
        rc = read(pfd[0], &c, 1) == 1 ? CSCERT_OK
                                       : cscert_error_set(CSCERT_EIO, names->what, "the server did not start",
                                                          names->hint);
        close(pfd[0]);
        if (child_pid)
            *child_pid = pid;
        return rc;
    }
    close(pfd[0]);
    setsid();
    openlog(names->ident, LOG_PID, LOG_DAEMON);
    if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        if (devnull > 2)
            close(devnull);
    }
    rc = child(arg, pfd[1]);
    if (rc < 0)
        syslog(LOG_ERR, "%s", cscert_error_last());
    _exit(rc < 0 ? 1 : 0);
}

void cscert__daemon_ready(int *ready_fd)
{
    if (*ready_fd < 0)
        return;
    (void)!write(*ready_fd, "R", 1);
    close(*ready_fd);
    *ready_fd = -1;
}

int cscert__daemon_pid_write(char **path, const char *home, const char *file)
{
    size_t plen = strlen(home) + 1 + strlen(file) + 1;
    char buf[32];
    int fd, len;

    if (!(*path = malloc(plen)))
        return cscert__oom();
    snprintf(*path, plen, "%s/%s", home, file);
    if ((fd = open(*path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
        return cscert_error_setf(CSCERT_EIO, *path, "check the home's permissions", "cannot write: %s",
                                 strerror(errno));
    len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (write(fd, buf, (size_t)len) != len) {
        close(fd);
        return cscert_error_setf(CSCERT_EIO, *path, NULL, "cannot write: %s", strerror(errno));
    }
    close(fd);
    return CSCERT_OK;
}

void cscert__daemon_pid_remove(char *path)
{
    if (!path)
        return;
    unlink(path);
    free(path);
}

void cscert__daemon_vlog(const struct cscert__daemon_log *l, const char *fmt, va_list ap)
{
    char line[CSCERT_DAEMON_LOG_LINE], now[32];

    vsnprintf(line, sizeof(line), fmt, ap);
    for (char *p = line; l->one_line && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (l->log) {
        l->log(line, l->ud);
    } else if (l->detached) {
        syslog(LOG_INFO, "%s", line);
    } else {
        cscert_now_rfc3339(now);
        fprintf(stderr, "%s: %s %s\n", l->prefix, now, line); /* one write per line (stdio's lock) */
    }
}

int cscert__daemon_sockaddr(struct sockaddr_storage *ss, socklen_t *len, const char *addr, int port)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((unsigned short)port);
        *len = sizeof(*s4);
        return 0;
    }
    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)port);
        *len = sizeof(*s6);
        return 0;
    }
    return -1;
}

int cscert__daemon_listen(int *out, const struct sockaddr_storage *ss, socklen_t len, int backlog)
{
    int fd, one = 1, e;

    *out = -1;
    if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)); /* :: is not 0.0.0.0 */
    /* Accepted sockets inherit it: a response's TLS records go out at
     * once instead of waiting for the client's delayed ACK (Nagle). */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, backlog) < 0) {
        e = errno; /* the caller's message names it; close must not change it */
        close(fd);
        errno = e;
        return -1;
    }
    *out = fd;
    return 0;
}

int cscert__daemon_events_add(struct cscert__daemon_events *ev, struct event_base *base, event_callback_fn hup,
                              event_callback_fn term, event_callback_fn timer, const struct timeval *tv,
                              void *arg)
{
    memset(ev, 0, sizeof(*ev));
    if (!(ev->hup = evsignal_new(base, SIGHUP, hup, arg)) || !(ev->term = evsignal_new(base, SIGTERM, term, arg))
        || !(ev->intr = evsignal_new(base, SIGINT, term, arg))
        || !(ev->timer = event_new(base, -1, EV_PERSIST, timer, arg)) || event_add(ev->hup, NULL) < 0
        || event_add(ev->term, NULL) < 0 || event_add(ev->intr, NULL) < 0 || event_add(ev->timer, tv) < 0)
        return CSCERT_ENOMEM;
    return CSCERT_OK;
}

void cscert__daemon_events_free(struct cscert__daemon_events *ev)
{
    if (ev->hup)
        event_free(ev->hup);
    if (ev->term)
        event_free(ev->term);
    if (ev->intr)
        event_free(ev->intr);
    if (ev->timer)
        event_free(ev->timer);
    memset(ev, 0, sizeof(*ev));
}

void cscert__sigpipe_block(struct cscert__sigpipe_guard *g)
{
    sigset_t pipe_only, pending;

    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &g->old);
    g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

void cscert__sigpipe_restore(struct cscert__sigpipe_guard *g)
{
    sigset_t pipe_only, pending;
    struct timespec now = { 0, 0 };

    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    /* Ours: take it while it is blocked, so it is never delivered. */
    if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1)
        while (sigtimedwait(&pipe_only, NULL, &now) < 0 && errno == EINTR)
            ;
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

long long cscert__daemon_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void coalesce_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)arg;
    if (info->n_added == 0 || evbuffer_get_length(buf) > CSCERT_DAEMON_COALESCE_MAX)
        return;
    if (evbuffer_peek(buf, -1, NULL, NULL, 0) > 1) /* chains the data spans */
        evbuffer_pullup(buf, -1);
}

int cscert__daemon_coalesce_output(struct bufferevent *bev)
{
    return evbuffer_add_cb(bufferevent_get_output(bev), coalesce_cb, NULL) ? 0 : -1;
}

/* ---- accept when out of descriptors ---- */

static pthread_mutex_t spare_mu = PTHREAD_MUTEX_INITIALIZER;
static int spare_fd = -1;

static void accept_error_cb(struct evconnlistener *l, void *ctx)
{
    /* 10 ms: how long a worker waits when the spare could not serve
     * (another thread took the freed descriptor first): the loop is then
     * bounded at 100 wake-ups a second, not one core. */
    static const struct timespec pause = { 0, 10 * 1000 * 1000 };
    int fd = -1, have;

    /* Any accept() failure libevent does not retry itself lands here
     * (errno is not reliable by now): EMFILE and ENFILE above all, but
     * also ENOBUFS or ENOMEM, which would spin the same way. */
    (void)ctx;
    pthread_mutex_lock(&spare_mu);
    if (spare_fd >= 0) {
        close(spare_fd);
        spare_fd = -1;
        if ((fd = accept(evconnlistener_get_fd(l), NULL, NULL)) >= 0)
            close(fd);
    }
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    have = spare_fd >= 0;
    pthread_mutex_unlock(&spare_mu);
    if (fd < 0 || !have)
        nanosleep(&pause, NULL);
}

void cscert__daemon_accept_guard(struct evconnlistener *l)
{
    pthread_mutex_lock(&spare_mu);
    if (spare_fd < 0)
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pthread_mutex_unlock(&spare_mu);
    evconnlistener_set_error_cb(l, accept_error_cb);
}
