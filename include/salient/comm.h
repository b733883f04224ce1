/* comm.h - what every communication routine in src/comm/ shares: the byte and time accounting
 * that training metrics report. The library counts payload bytes itself, per call and
 * cumulatively, so that "bytes moved" means what went through MPI, not what a caller assumed. */
#ifndef SALIENT_COMM_H
#define SALIENT_COMM_H

#include <stdint.h>

typedef struct sal_comm_stats {
    uint64_t bytes_sent; /* payload bytes this rank handed to MPI for sending */
    uint64_t bytes_recv; /* payload bytes this rank received */
    uint64_t calls;      /* collective or gossip calls */
    double seconds;      /* wall time inside them */
} sal_comm_stats;

/* Add one call's counts (last) into a running total (total); either may be the same. */
static inline void sal_comm_stats_add(sal_comm_stats *total, const sal_comm_stats *last) {
    total->bytes_sent += last->bytes_sent;
    total->bytes_recv += last->bytes_recv;
    total->calls += last->calls;
    total->seconds += last->seconds;
}

#endif
