/* signals.c - see signals.h. */
#include "salient/signals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t pending;
static int stopped;

static void on_signal(int sig) { pending = sig; }

void sal_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
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
