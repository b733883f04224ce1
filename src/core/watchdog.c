/* watchdog.c - see watchdog.h. */
#include "salient/watchdog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The exchange in progress: written by the training thread, read by the watchdog. seq is odd
 * while inside an exchange; the watchdog reads seq, the fields, and seq again, and trusts the
 * fields only if seq did not move (a seqlock without any lock on the hot path). */
static struct {
    _Atomic unsigned long seq;
    _Atomic(const char *) op;
    _Atomic int round, peer;
    _Atomic double since, limit;
} cur;

static double timeout;
static int my_rank, my_size, cur_round;
/* What sal_wd_enter does: nothing (0), the watchdog's bookkeeping, the sequence hash, or both.
 * One flag, so that with both off an exchange costs one predictable branch. */
enum { WD_RUNNING = 1, WD_HASHING = 2 };
static int active;
static sal_wd_seq seq; /* this rank's exchanges since the last sal_wd_seq_take */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void sal_wd_round(int round) { cur_round = round; }

/* FNV-1a 64 (Fowler, Noll, Vo): the call's index, then the op's bytes. Ops are string
 * literals, so two ranks running the same code hash the same text. */
void sal_wd_seq_fold(sal_wd_seq *s, const char *op) {
    uint64_t h = s->hash ? s->hash : 0xcbf29ce484222325ull;
    const uint64_t prime = 0x100000001b3ull;
    uint32_t i = (uint32_t)s->count;
    for (int k = 0; k < 4; k++, i >>= 8) h = (h ^ (i & 0xffu)) * prime;
    for (const unsigned char *c = (const unsigned char *)op; *c; c++) h = (h ^ *c) * prime;
    s->hash = h;
    if (s->count < SAL_WD_FIRST) s->first[s->count] = op;
    s->count++;
}

void sal_wd_seq_take(sal_wd_seq *out) {
    *out = seq;
    memset(&seq, 0, sizeof seq);
}

void sal_wd_check_collectives(int on) {
    active = on ? active | WD_HASHING : active & ~WD_HASHING;
    memset(&seq, 0, sizeof seq);
}

static void enter(const char *op, int peer, double limit) {
    atomic_store_explicit(&cur.op, op, memory_order_relaxed);
    atomic_store_explicit(&cur.limit, limit, memory_order_relaxed);
    atomic_store_explicit(&cur.round, cur_round, memory_order_relaxed);
    atomic_store_explicit(&cur.peer, peer, memory_order_relaxed);
    atomic_store_explicit(&cur.since, now(), memory_order_relaxed);
    atomic_fetch_add_explicit(&cur.seq, 1, memory_order_release); /* now odd: inside */
}

void sal_wd_enter_ex(const char *op, int peer, unsigned flags) {
    if (!active) return;
    if ((active & WD_HASHING) && !(flags & SAL_WD_UNHASHED)) sal_wd_seq_fold(&seq, op);
    if (active & WD_RUNNING)
        enter(op, peer, flags & SAL_WD_UPSTREAM ? SAL_WD_UPSTREAM_X * timeout : timeout);
}

void sal_wd_enter(const char *op, int peer) { sal_wd_enter_ex(op, peer, 0); }

void sal_wd_leave(void) {
    if (!(active & WD_RUNNING)) return;
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
        double limit = atomic_load_explicit(&cur.limit, memory_order_relaxed);
        if (atomic_load_explicit(&cur.seq, memory_order_acquire) != s) continue;
        double waited = t - (grace_from > since ? grace_from : since);
        if (waited < limit) continue;
        char who[64];
        if (peer == SAL_WD_ALL)
            snprintf(who, sizeof who, "all %d ranks (a rank that never arrived)", my_size);
        else
            snprintf(who, sizeof who, "rank %d", peer);
        char why[96];
        int n = snprintf(why, sizeof why, "[run] comm_timeout = %g s", timeout);
        if (limit > timeout)
            snprintf(why + n, sizeof why - (size_t)n, ", x%g as rank %d waits on others first",
                     limit / timeout, peer);
        fprintf(stderr,
                "salient: rank %d on %s: no progress for %.0f s in %s (round %d), waiting for "
                "%s; aborting the job (%s; resume with --resume latest)\n",
                my_rank, host, waited, op ? op : "an exchange", round, who, why);
        fflush(stderr);
        _exit(124); /* the launcher sees a rank die and ends the job */
    }
    return NULL;
}

int sal_wd_start(double timeout_s, int rank, int nranks) {
    if (timeout_s <= 0 || (active & WD_RUNNING)) return 0;
    timeout = timeout_s;
    my_rank = rank, my_size = nranks;
    pthread_t th;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &a, watch, NULL);
    pthread_attr_destroy(&a);
    if (rc) return -1;
    active |= WD_RUNNING;
    return 0;
}
