/* pingpong.c - MPI ping-pong between ranks 0 and 1, for fitting the alpha-beta model's
 * constants on a link (benchmarks/vcluster_scaling.sh, docs/scaling.md "Across nodes").
 *
 *   mpirun -np 2 pingpong [--min BYTES] [--max BYTES] [--factor F] [--reps R] [--warmup W]
 *                         [--gap-us G] [--exchange | --ring | --ring2]
 *
 * For each message size m = min, min x F, ... up to max (and max itself): W untimed round
 * trips, then R timed ones; rank 0 sends m bytes (MPI_Send), rank 1 receives and sends them
 * back. One-way time = round trip / 2. --gap-us G sleeps G microseconds on both ranks between
 * round trips (default 0: back to back), e.g. to let a token-bucket shaper refill as it does
 * between training steps. --exchange: both ranks send m bytes to each other at once
 * (MPI_Sendrecv), so the link carries data in both directions, as a ring allreduce or a gossip
 * step loads it; the time is that of one exchange (not halved). Ranks other than 0 and 1 only
 * join the barriers. --ring: every rank at once sends m bytes to rank + 1 and receives m bytes
 * from rank - 1 (MPI_Sendrecv, ranks mod P), the traffic of one step of a ring allreduce on P
 * nodes: every link busy both ways, and on a machine whose nodes share cores (the virtual
 * cluster) the kernel's work for all P links at once; the time is the slowest rank's. --ring2:
 * the same, but every rank sends m bytes to both rank - 1 and rank + 1 and receives from both
 * (four nonblocking calls, one Waitall): one step of gossip on the ring graph.
 *
 * Output, CSV on stdout (rank 0):
 *   bytes,reps,median_s,min_s,mean_s
 * one-way seconds (--exchange, --ring, --ring2: seconds per exchange): median, least and mean over the R
 * trips. Defaults: --min 8
 * --max 16777216 --factor 4 --reps 20 (at most 2 s of round trips per size beyond the first
 * 3) --warmup 2 --gap-us 0. Errors exit 2. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void sleep_us(long us) {
    if (us <= 0) return;
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static int arg_long(const char *s, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0) return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long mn = 8, mx = 16L << 20, factor = 4, reps = 20, warmup = 2, gap = 0;
    int exchange = 0, ring = 0; /* ring: 1 one neighbour, 2 both */
    for (int i = 1; i < argc; i++) {
        long *dst = NULL;
        if (!strcmp(argv[i], "--exchange") || !strcmp(argv[i], "--ring") ||
            !strcmp(argv[i], "--ring2")) {
            exchange = 1;
            ring = !strcmp(argv[i], "--ring2") ? 2 : !strcmp(argv[i], "--ring");
            continue;
        }
        if (!strcmp(argv[i], "--min")) dst = &mn;
        else if (!strcmp(argv[i], "--max")) dst = &mx;
        else if (!strcmp(argv[i], "--factor")) dst = &factor;
        else if (!strcmp(argv[i], "--reps")) dst = &reps;
        else if (!strcmp(argv[i], "--warmup")) dst = &warmup;
        else if (!strcmp(argv[i], "--gap-us")) dst = &gap;
        if (!dst || i + 1 >= argc || arg_long(argv[i + 1], dst)) {
            if (rank == 0)
                fprintf(stderr, "usage: mpirun -np 2 pingpong [--min B] [--max B] [--factor F] "
                                "[--reps R] [--warmup W] [--gap-us G] [--exchange | --ring | --ring2]\n");
            MPI_Finalize();
            return 2;
        }
        i++;
    }
    if (size < 2 || mn < 1 || mx < mn || factor < 2 || reps < 1 || mx > (1L << 30)) {
        if (rank == 0)
            fprintf(stderr, "pingpong: needs >= 2 ranks, 1 <= --min <= --max <= 1 GiB, "
                            "--factor >= 2, --reps >= 1\n");
        MPI_Finalize();
        return 2;
    }
    char *buf = malloc((size_t)mx), *rbuf = malloc((size_t)mx), *rbuf2 = malloc((size_t)mx);
    double *t = malloc(sizeof(double) * (size_t)reps);
    if (!buf || !rbuf || !rbuf2 || !t) {
        fprintf(stderr, "pingpong: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    memset(buf, 1, (size_t)mx), memset(rbuf, 0, (size_t)mx), memset(rbuf2, 0, (size_t)mx);
    if (rank == 0) printf("bytes,reps,median_s,min_s,mean_s\n");
    for (long m = mn;; m = (m * factor > mx && m < mx) ? mx : m * factor) {
        if (m > mx) break;
        long r = reps;
        MPI_Barrier(MPI_COMM_WORLD);
        for (long i = -warmup; i < r; i++) {
            double t0 = MPI_Wtime();
            if (ring == 2) {
                const int right = (rank + 1) % size, left = (rank + size - 1) % size;
                MPI_Request rq[4];
                MPI_Irecv(rbuf, (int)m, MPI_BYTE, left, 0, MPI_COMM_WORLD, &rq[0]);
                MPI_Irecv(rbuf2, (int)m, MPI_BYTE, right, 0, MPI_COMM_WORLD, &rq[1]);
                MPI_Isend(buf, (int)m, MPI_BYTE, right, 0, MPI_COMM_WORLD, &rq[2]);
                MPI_Isend(buf, (int)m, MPI_BYTE, left, 0, MPI_COMM_WORLD, &rq[3]);
                MPI_Waitall(4, rq, MPI_STATUSES_IGNORE);
            } else if (ring) {
                MPI_Sendrecv(buf, (int)m, MPI_BYTE, (rank + 1) % size, 0, rbuf, (int)m, MPI_BYTE,
                             (rank + size - 1) % size, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            } else if (exchange && rank < 2) {
                MPI_Sendrecv(buf, (int)m, MPI_BYTE, 1 - rank, 0, rbuf, (int)m, MPI_BYTE, 1 - rank,
                             0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            } else if (rank == 0) {
                MPI_Send(buf, (int)m, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
                MPI_Recv(buf, (int)m, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            } else if (rank == 1) {
                MPI_Recv(buf, (int)m, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Send(buf, (int)m, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
            }
            double dt = (MPI_Wtime() - t0) / (exchange ? 1 : 2);
            if (ring) MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (i >= 0) t[i] = dt;
            /* large messages: stop after 3 timed trips once 2 s have gone (rank 0 decides) */
            if (i >= 2) {
                double sum = 0;
                for (long j = 0; j <= i; j++) sum += t[j];
                int stop = rank == 0 && 2 * sum > 2.0;
                MPI_Bcast(&stop, 1, MPI_INT, 0, MPI_COMM_WORLD);
                if (stop) {
                    r = i + 1;
                    break;
                }
            }
            sleep_us(gap);
        }
        if (rank == 0) {
            double mean = 0;
            for (long i = 0; i < r; i++) mean += t[i];
            mean /= (double)r;
            qsort(t, (size_t)r, sizeof(double), cmp_double);
            double med = r % 2 ? t[r / 2] : (t[r / 2 - 1] + t[r / 2]) / 2;
            printf("%ld,%ld,%.9g,%.9g,%.9g\n", m, r, med, t[0], mean);
            fflush(stdout);
        }
        if (m == mx) break;
    }
    free(buf);
    free(rbuf);
    free(rbuf2);
    free(t);
    MPI_Finalize();
    return 0;
}
