/* watchdog.c - see watchdog.h. */
#include "salient/watchdog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* The exchange in progress: written by the training thread, read by the watchdog. seq is odd
 * while inside an exchange; the watchdog reads seq, the fields, and seq again, and trusts the
 * fields only if seq did not move (a seqlock without any lock on the hot path). */
static struct {
    _Atomic unsigned long seq;
    _Atomic(const char *) op;
    _Atomic int round, peer;
    _Atomic double since;
} cur;

static double timeout;
static int my_rank, my_size, running, cur_round;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void sal_wd_round(int round) { cur_round = round; }

void sal_wd_enter(const char *op, int peer) {
    if (!running) return;
    atomic_store_explicit(&cur.op, op, memory_order_relaxed);
    atomic_store_explicit(&cur.round, cur_round, memory_order_relaxed);
    atomic_store_explicit(&cur.peer, peer, memory_order_relaxed);
    atomic_store_explicit(&cur.since, now(), memory_order_relaxed);
    atomic_fetch_add_explicit(&cur.seq, 1, memory_order_release); /* now odd: inside */
}

void sal_wd_leave(void) {
    if (!running) return;
    atomic_fetch_add_explicit(&cur.seq, 1, memory_order_release); /* even: outside */
}

static void *watch(void *arg) {
    (void)arg;
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    double last_wake = now(), grace_from = 0;
    for (;;) {
        usleep(100 * 1000);
        double t = now();
        /* Woken a second late: this process itself was stopped (SIGSTOP, a debugger) or
         * starved of CPU. Its peers waited for it, not it for them: restart the count. */
        if (t - last_wake > 1.0) grace_from = t;
        last_wake = t;
        unsigned long s = atomic_load_explicit(&cur.seq, memory_order_acquire);
        if (!(s & 1)) continue;
        double since = atomic_load_explicit(&cur.since, memory_order_relaxed);
        const char *op = atomic_load_explicit(&cur.op, memory_order_relaxed);
        int round = atomic_load_explicit(&cur.round, memory_order_relaxed);
        int peer = atomic_load_explicit(&cur.peer, memory_order_relaxed);
        if (atomic_load_explicit(&cur.seq, memory_order_acquire) != s) continue;
        double waited = t - (grace_from > since ? grace_from : since);
        if (waited < timeout) continue;
        char who[64];
        if (peer == SAL_WD_ALL)
            snprintf(who, sizeof who, "all %d ranks (a rank that never arrived)", my_size);
        else
            snprintf(who, sizeof who, "rank %d", peer);
        fprintf(stderr,
                "salient: rank %d on %s: no progress for %.0f s in %s (round %d), waiting for "
                "%s; aborting the job ([run] comm_timeout = %g s; resume with --resume latest)\n",
                my_rank, host, waited, op ? op : "an exchange", round, who, timeout);
        fflush(stderr);
        _exit(124); /* the launcher sees a rank die and ends the job */
    }
    return NULL;
}

int sal_wd_start(double timeout_s, int rank, int nranks) {
    if (timeout_s <= 0 || running) return 0;
    timeout = timeout_s;
    my_rank = rank, my_size = nranks;
    pthread_t th;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &a, watch, NULL);
    pthread_attr_destroy(&a);
    if (rc) return -1;
    running = 1;
    return 0;
}
