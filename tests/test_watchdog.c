/* test_watchdog.c - the watchdog ends a process stuck in an exchange past the timeout with
 * exit code 124 and one line naming rank, host, operation, round and peer; it leaves alone a
 * process whose exchanges end in time (however long it computes between them). Prints the cost
 * of one enter/leave pair. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "salient/fault.h"
#include "salient/watchdog.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Run body in a child with stderr to a pipe; returns the exit status, message in msg. */
static int child(void (*body)(void), char *msg, size_t cap) {
    int fd[2];
    if (pipe(fd)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 2);
        body();
        _exit(0);
    }
    close(fd[1]);
    size_t k = 0;
    ssize_t r;
    while (k + 1 < cap && (r = read(fd[0], msg + k, cap - 1 - k)) > 0) k += (size_t)r;
    msg[k] = '\0';
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void stuck(void) {
    sal_wd_start(0.3, 5, 8);
    sal_wd_round(7);
    sal_wd_enter("the gradient allreduce", SAL_WD_ALL);
    sleep(5); /* never returns: the watchdog ends the process */
}

static void stuck_p2p(void) {
    sal_wd_start(0.3, 0, 4);
    sal_wd_round(2);
    sal_wd_enter("a sampled client's upload", 3);
    sleep(5);
}

static void stuck_upstream(void) {
    sal_wd_start(0.3, 2, 4);
    sal_wd_round(4);
    sal_wd_enter_ex("the server's next message", 0, SAL_WD_UPSTREAM);
    sleep(5);
}

static void busy_but_fine(void) {
    sal_wd_start(0.3, 1, 2);
    for (int i = 0; i < 5; i++) {
        sal_wd_enter("the gradient allreduce", SAL_WD_ALL);
        usleep(100 * 1000); /* each exchange well inside the timeout */
        sal_wd_leave();
        usleep(300 * 1000); /* computing for longer than the timeout is fine */
    }
}

/* Each exchange nearly reaches the limit and the compute between them (an evaluation) lasts
 * three times it: the clock restarts at every enter, so nothing accumulates across exchanges. */
static void near_limit_then_compute(void) {
    sal_wd_start(0.3, 0, 3);
    for (int i = 0; i < 3; i++) {
        sal_wd_enter("the round's metrics reductions", SAL_WD_ALL);
        usleep(200 * 1000);
        sal_wd_leave();
        usleep(900 * 1000);
    }
}

int main(void) {
    char msg[1024];
    double t0 = now();
    int rc = child(stuck, msg, sizeof msg);
    double took = now() - t0;
    CHECK(rc == 124);
    CHECK_MSG(strstr(msg, "salient: rank 5 on ") && strstr(msg, "the gradient allreduce") &&
                  strstr(msg, "(round 7)") && strstr(msg, "all 8 ranks") &&
                  strstr(msg, "comm_timeout = 0.3 s"),
              "message: %s", msg);
    CHECK(strchr(msg, '\n') == msg + strlen(msg) - 1); /* one line */
    CHECK_MSG(took > 0.3 && took < 2.0, "took %.2f s", took);
    rc = child(stuck_p2p, msg, sizeof msg);
    CHECK(rc == 124 && strstr(msg, "waiting for rank 3") && strstr(msg, "(round 2)"));
    /* a wait on a rank that waits on others: SAL_WD_UPSTREAM_X times the timeout, and the line
     * says so (that rank's own deadline names the peer it misses) */
    t0 = now();
    rc = child(stuck_upstream, msg, sizeof msg);
    took = now() - t0;
    CHECK_MSG(rc == 124 && strstr(msg, "waiting for rank 0") &&
                  strstr(msg, "comm_timeout = 0.3 s, x2 as rank 0 waits on others first"),
              "rc %d: %s", rc, msg);
    CHECK_MSG(took > SAL_WD_UPSTREAM_X * 0.3 && took < 2.5, "upstream took %.2f s", took);
    rc = child(busy_but_fine, msg, sizeof msg);
    CHECK_MSG(rc == 0 && msg[0] == '\0', "rc %d: %s", rc, msg);
    rc = child(near_limit_then_compute, msg, sizeof msg);
    CHECK_MSG(rc == 0 && msg[0] == '\0', "near the limit, then compute: rc %d: %s", rc, msg);

    /* SALIENT_FAULT=slow-eval (the CLI tests' slow evaluation): one rank or every rank */
    sal_err err;
    CHECK(sal_fault_set("slow-eval:all", &err) == SAL_OK &&
          sal_fault_at(SAL_FAULT_SLOW_EVAL) == SAL_FAULT_EVERY_RANK);
    CHECK(sal_fault_set("slow-eval:2", &err) == SAL_OK && sal_fault_at(SAL_FAULT_SLOW_EVAL) == 2);
    CHECK(sal_fault_set("slow-eval:some", &err) == SAL_EINVAL && strstr(err.msg, "'all'"));
    CHECK(sal_fault_set(NULL, &err) == SAL_OK && sal_fault_at(SAL_FAULT_SLOW_EVAL) == -1);

    /* the cost on the hot path, for docs/reliability.md */
    sal_wd_start(600, 0, 1);
    const int N = 10 * 1000 * 1000;
    t0 = now();
    for (int i = 0; i < N; i++) {
        sal_wd_enter("x", 0);
        sal_wd_leave();
    }
    printf("test_watchdog: one enter/leave pair costs %.1f ns\n", (now() - t0) / N * 1e9);
    return sal_test_done("test_watchdog");
}
