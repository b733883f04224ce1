/* signals.c - see signals.h. */
#include "salient/signals.h"

#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t pending;
static int stopped;
static struct timespec first_at; /* written by the handler only, before `pending` is set */

/* Async-signal-safe only: clock_gettime, write and _exit are. */
static void on_signal(int sig) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!pending) {
        first_at = now;
        pending = sig;
        return;
    }
    double since = (double)(now.tv_sec - first_at.tv_sec) + (now.tv_nsec - first_at.tv_nsec) / 1e9;
    if (since < SAL_SIGNAL_AGAIN_S) return; /* a copy of the first one */
    static const char msg[] = "salient: a second stop signal: the first was not acted on "
                              "(blocked?); exiting now, without a checkpoint\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    _exit(128 + sig);
}

void sal_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask); /* one handler at a time: first_at and pending stay coherent */
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGUSR1);
    sa.sa_flags = SA_RESTART; /* a blocking read or MPI call goes on; the loop checks later */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

int sal_signal_pending(void) { return pending; }

const char *sal_signal_name(int sig) {
    return sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : "a signal";
}

void sal_signal_set_stopped(void) { stopped = 1; }
int sal_signal_stopped(void) { return stopped; }
