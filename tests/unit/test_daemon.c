/* test_daemon.c: what web serve and csca serve share: detaching with a
 * ready pipe (and the error when the child never gets ready), the pid
 * file, the log line and its scrubbing, literal addresses and the
 * listening socket, and a response's headers and body joined into one
 * buffer chain (one TLS record, one write). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "../../lib/daemon.h"
#include "cscert/error.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/cscert-daemon-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[96];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void test_pid_file(void **state)
{
    char *path = NULL, buf[32] = "", missing[96];
    struct stat sb;
    FILE *f;

    (void)state;
    assert_int_equal(cscert__daemon_pid_write(&path, dir, "x.pid"), CSCERT_OK);
    assert_non_null(path);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_int_equal(atol(buf), (long)getpid());
    snprintf(missing, sizeof(missing), "%s", path);
    cscert__daemon_pid_remove(path);
    assert_int_equal(stat(missing, &sb), -1); /* removed */
    snprintf(missing, sizeof(missing), "%s/none", dir);
    path = NULL;
    assert_int_equal(cscert__daemon_pid_write(&path, missing, "x.pid"), CSCERT_EIO);
    assert_non_null(strstr(cscert_error_last(), missing));
    cscert__daemon_pid_remove(path);
}

static void capture(const char *line, void *ud)
{
    snprintf(ud, 128, "%s", line);
}

static void log_line(const struct cscert__daemon_log *l, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cscert__daemon_vlog(l, fmt, ap);
    va_end(ap);
}

static void test_log_line(void **state)
{
    char got[128] = "";
    struct cscert__daemon_log l = { .prefix = "t", .log = capture, .ud = got, .one_line = 1 };

    (void)state;
    /* A client's bytes cannot start a forged line. */
    log_line(&l, "enroll from %s", "x\nFORGED\x1b[0m");
    assert_string_equal(got, "enroll from x?FORGED?[0m");
    l.one_line = 0;
    log_line(&l, "reload %d", 2);
    assert_string_equal(got, "reload 2");
}

static void test_sockets(void **state)
{
    struct sockaddr_storage ss, bound;
    socklen_t len, blen = sizeof(bound);
    int fd = -1;

    (void)state;
    assert_int_equal(cscert__daemon_sockaddr(&ss, &len, "127.0.0.1", 443), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 443);
    assert_int_equal(cscert__daemon_sockaddr(&ss, &len, "::1", 4443), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(cscert__daemon_sockaddr(&ss, &len, "localhost", 443), -1);
    assert_int_equal(cscert__daemon_sockaddr(&ss, &len, "127.0.0.1:443", 443), -1);
    /* Port 0: the kernel picks a free one. */
    assert_int_equal(cscert__daemon_sockaddr(&ss, &len, "127.0.0.1", 0), 0);
    assert_int_equal(cscert__daemon_listen(&fd, &ss, len, 16), 0);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&bound, &blen), 0);
    assert_true(ntohs(((struct sockaddr_in *)&bound)->sin_port) > 0);
    close(fd);
}

/* The child of a detached server: its own session, then ready. */
static int child_ready(void *arg, int ready_fd)
{
    char path[96];
    FILE *f;

    (void)arg;
    snprintf(path, sizeof(path), "%s/child", dir);
    if ((f = fopen(path, "w"))) {
        fprintf(f, "%d\n", getsid(0) == getpid());
        fclose(f);
    }
    cscert__daemon_ready(&ready_fd);
    return CSCERT_OK;
}

static int child_fails(void *arg, int ready_fd)
{
    (void)arg, (void)ready_fd;
    return cscert_error_set(CSCERT_EIO, "listener", "address in use", NULL);
}

static void test_detach(void **state)
{
    const struct cscert__daemon_names names = { "test serve", "cscert-test", "run it in the foreground" };
    char path[96], buf[8] = "";
    long pid = 0;
    int status = 0;
    FILE *f;

    (void)state;
    assert_int_equal(cscert__daemon_detach(&pid, &names, child_ready, NULL), CSCERT_OK);
    assert_true(pid > 0);
    assert_int_equal(waitpid((pid_t)pid, &status, 0), (pid_t)pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    snprintf(path, sizeof(path), "%s/child", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "1\n"); /* setsid ran before the server */
    /* A child that exits before it is ready: the parent says so, with the hint. */
    pid = 0;
    assert_int_equal(cscert__daemon_detach(&pid, &names, child_fails, NULL), CSCERT_EIO);
    assert_non_null(strstr(cscert_error_last(), "test serve"));
    assert_non_null(strstr(cscert_error_last(), "the server did not start"));
    assert_non_null(strstr(cscert_error_last(), "run it in the foreground"));
    assert_int_equal(waitpid((pid_t)pid, &status, 0), (pid_t)pid);
    assert_int_equal(WEXITSTATUS(status), 1);
}

/* As evhttp answers: the headers written into the output, then the
 * body's own buffer moved behind them (a second chain). */
static int chains_after_response(int coalesce, size_t body_len)
{
    struct event_base *base = event_base_new();
    struct bufferevent *bev;
    struct evbuffer *body = evbuffer_new();
    char *b = malloc(body_len);
    int sv[2], n;

    assert_non_null(base);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_non_null(bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE));
    if (coalesce)
        assert_int_equal(cscert__daemon_coalesce_output(bev), 0);
    memset(b, 'x', body_len);
    assert_int_equal(evbuffer_add_printf(bufferevent_get_output(bev), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
                                         body_len) > 0, 1);
    assert_int_equal(evbuffer_add(body, b, body_len), 0);
    assert_int_equal(evbuffer_add_buffer(bufferevent_get_output(bev), body), 0);
    /* nothing is written until the loop runs */
    n = evbuffer_peek(bufferevent_get_output(bev), -1, NULL, NULL, 0);
    bufferevent_free(bev);
    evbuffer_free(body);
    close(sv[1]);
    event_base_free(base);
    free(b);
    return n;
}

static void test_coalesce(void **state)
{
    (void)state;
    assert_int_equal(chains_after_response(0, 2000), 2); /* what evhttp does alone */
    assert_int_equal(chains_after_response(1, 2000), 1);
    /* larger than one record: left as it is, not copied */
    assert_true(chains_after_response(1, CSCERT_DAEMON_COALESCE_MAX + 1) > 1);
}

/* A write to a socket whose peer is gone: EPIPE under the guard, where
 * it would otherwise kill this test with SIGPIPE; nothing left pending
 * and the thread's mask as it was after restore. */
static void test_sigpipe_guard(void **state)
{
    struct cscert__sigpipe_guard g;
    sigset_t pending, mask;
    int sv[2];

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    cscert__sigpipe_block(&g);
    errno = 0;
    assert_int_equal(write(sv[0], "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    assert_int_equal(sigpending(&pending), 0);
    assert_int_equal(sigismember(&pending, SIGPIPE), 1);
    cscert__sigpipe_restore(&g);
    assert_int_equal(sigpending(&pending), 0);
    assert_int_equal(sigismember(&pending, SIGPIPE), 0);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &mask), 0);
    assert_int_equal(sigismember(&mask, SIGPIPE), 0);
    close(sv[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pid_file, setup, teardown),
        cmocka_unit_test(test_log_line),
        cmocka_unit_test(test_sockets),
        cmocka_unit_test(test_coalesce),
        cmocka_unit_test(test_sigpipe_guard),
        cmocka_unit_test_setup_teardown(test_detach, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
