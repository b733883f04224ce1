/* ckpt_io.c - checkpoint write and read throughput: sal_ckpt_save of the state a decentralized
 * run holds (rank 0's average model and mask, plus every rank's own weights and momentum as
 * rows of /ranks/weights and /ranks/momentum), and sal_ckpt_load of what each rank reads back
 * on resume (mask, model, its two rows). benchmarks/ckpt.sh runs it beside dd.
 *
 *   mpirun -np P ckpt_io [--n 10000000] [--reps 5] [--dir DIR] [--split] [--drop-caches]
 *                        [--malloc-default]
 *
 * Like salient itself, it keeps freed memory for reuse (sal_memory_retain, memory.h);
 * --malloc-default leaves glibc's own policy, to measure what that saves.
 * --n is the model's parameter count (every rank holds a full row of it, as the API writes);
 * --split gives every rank n/P parameters instead (the file then holds about 2n floats of rows
 * at any P). Writes include the fsync that sal_ckpt_save does. Before every read the file's
 * pages are evicted with posix_fadvise(DONTNEED) (clean after the fsync, so this works without
 * privileges), or with /proc/sys/vm/drop_caches under --drop-caches; the fraction of the file
 * still resident (mincore) is printed, so a read from the page cache does not pass unseen.
 *
 * Output, CSV on stdout (median over reps, wall time from a barrier to the last rank's end;
 * ranks wait for each other asleep, see barrier()):
 *   op,ranks,n,bytes,median_s,GB_per_s
 * write: bytes = the file's size (stat); read: bytes = the file's size; read_delivered: bytes
 * = what all ranks together got (each reads mask + model + its rows, so the model P times);
 * raw_write: rank 0 writes as many bytes to a plain file with 1 MiB write()s and fdatasync (what
 * dd conv=fdatasync does), interleaved with the checkpoint reps so that both see the same disk;
 * a comment gives the median over reps of write/raw_write speed, paired per rep.
 * GB = 1e9 bytes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "salient/ckpt.h"
#include "salient/crc32c.h"
#include "salient/memory.h"
#include "salient/params.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int k) {
    qsort(t, (size_t)k, sizeof *t, cmp_double);
    return k % 2 ? t[k / 2] : 0.5 * (t[k / 2 - 1] + t[k / 2]);
}

/* Fill (first touch + distinct contents, so no page is a shared zero page). */
static void fill(float *x, size_t n, float base) {
    for (size_t i = 0; i < n; i++) x[i] = base + 1e-7f * (float)(i % 100003);
}

/* A ~n-parameter MLP-like table: fc1 [h, 4000] + bias, fc2 [10, h] + bias. */
static int build(sal_params *p, size_t n) {
    memset(p, 0, sizeof *p);
    const int in = 4000;
    int h = (int)((n > 10 ? n - 10 : 1) / (size_t)(in + 11));
    if (h < 1) h = 1;
    int s1[2] = {h, in}, s1b[1] = {h}, s2[2] = {10, h}, s2b[1] = {10};
    sal_params_add(p, "fc1.weight", 2, s1, in, 1, SAL_INIT_FANIN);
    sal_params_add(p, "fc1.bias", 1, s1b, in, 0, SAL_INIT_FANIN);
    sal_params_add(p, "fc2.weight", 2, s2, h, 1, SAL_INIT_FANIN);
    sal_params_add(p, "fc2.bias", 1, s2b, h, 0, SAL_INIT_FANIN);
    if (sal_params_alloc(p)) return -1;
    /* an SSFL-like mask: 10% of the prunable weights kept, biases dense */
    for (int t = 0; t < p->ntensors; t++) {
        const sal_tensor *tt = &p->t[t];
        for (size_t i = 0; i < tt->numel; i++)
            p->mask[tt->offset + i] = !tt->prunable || i % 10 == 0 ? 1.0f : 0.0f;
    }
    p->dense = 0;
    fill(p->w, p->n, 0.5f);
    memset(p->g, 0, p->n * sizeof(float));
    return 0;
}

/* A barrier that waits asleep: under oversubscription (4 ranks on 2 cores) ranks spinning in
 * MPI_Barrier would steal the cores of the ranks still reading or of rank 0's raw write.
 * Costs at most ~0.1 ms of timing granularity. */
static void barrier(void) {
    MPI_Request rq;
    int done = 0;
    MPI_Ibarrier(MPI_COMM_WORLD, &rq);
    MPI_Test(&rq, &done, MPI_STATUS_IGNORE);
    while (!done) {
        nanosleep(&(struct timespec){0, 100000}, NULL);
        MPI_Test(&rq, &done, MPI_STATUS_IGNORE);
    }
}

/* rank 0: bytes to a new file with 1 MiB writes of a warm buffer, fdatasync'ed; seconds. */
static double raw_write(const char *path, long long bytes, const char *buf) {
    double t0 = MPI_Wtime();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    for (long long left = bytes; left > 0;) {
        size_t k = left > (1 << 20) ? (1 << 20) : (size_t)left;
        ssize_t w = write(fd, buf, k);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        left -= w;
    }
    if (fdatasync(fd)) {
        close(fd);
        return -1;
    }
    close(fd);
    double t = MPI_Wtime() - t0;
    unlink(path);
    return t;
}

/* Evict path's pages; returns the fraction still resident afterwards (-1 if unknown). */
static double evict(const char *path, int drop_caches) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    if (drop_caches) {
        sync();
        FILE *f = fopen("/proc/sys/vm/drop_caches", "w");
        if (!f || fputs("3\n", f) < 0 || fclose(f)) {
            fprintf(stderr, "ckpt_io: cannot write /proc/sys/vm/drop_caches; using fadvise\n");
            drop_caches = 0;
        }
    }
    if (!drop_caches) {
        fdatasync(fd);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    }
    struct stat sb;
    double frac = -1;
    if (!fstat(fd, &sb) && sb.st_size > 0) {
        void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
        long pg = sysconf(_SC_PAGESIZE);
        size_t np = ((size_t)sb.st_size + (size_t)pg - 1) / (size_t)pg, res = 0;
        unsigned char *v = malloc(np);
        if (m != MAP_FAILED && v && !mincore(m, (size_t)sb.st_size, v)) {
            for (size_t i = 0; i < np; i++) res += v[i] & 1;
            frac = (double)res / (double)np;
        }
        free(v);
        if (m != MAP_FAILED) munmap(m, (size_t)sb.st_size);
    }
    close(fd);
    return frac;
}

int main(int argc, char **argv) {
    int retain = 1;
    for (int i = 1; i < argc; i++) retain &= strcmp(argv[i], "--malloc-default") != 0;
    if (retain) sal_memory_retain(); /* as salient's main does, before MPI starts */
    MPI_Init(&argc, &argv);
    int rank, P;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    size_t n_model = 10000000;
    int reps = 5, split = 0, drop = 0;
    const char *dir = "/tmp/ckpt_io";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n_model = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--split"))
            split = 1;
        else if (!strcmp(argv[i], "--drop-caches"))
            drop = 1;
        else if (!strcmp(argv[i], "--malloc-default"))
            ; /* taken above */
        else {
            if (!rank)
                fprintf(stderr, "usage: ckpt_io [--n N] [--reps R] [--dir DIR] [--split] "
                                "[--drop-caches] [--malloc-default]\n");
            MPI_Finalize();
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    sal_params p;
    size_t want = split ? n_model / (size_t)P : n_model;
    int bad = build(&p, want) != 0;
    const size_t n = bad ? 0 : p.n;
    float *avg = malloc(n * sizeof(float)), *rw = malloc(n * sizeof(float)),
          *rm = malloc(n * sizeof(float));
    bad |= !avg || !rw || !rm;
    MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (bad) {
        if (!rank) fprintf(stderr, "ckpt_io: out of memory for %zu parameters\n", want);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    fill(avg, n, 0.25f);
    fill(rw, n, 0.5f + 0.01f * (float)rank);
    fill(rm, n, 0.001f * (float)(rank + 1));

    /* diagnostic: CRC-32C speed (every dataset is checksummed on write and on read) */
    if (!rank) {
        double t0 = MPI_Wtime();
        volatile uint32_t c = sal_crc32c(0, rw, n * sizeof(float));
        (void)c;
        printf("# crc32c: %.2f GB/s on %zu bytes\n",
               (double)(n * sizeof(float)) / (MPI_Wtime() - t0) / 1e9, n * sizeof(float));
    }

    const char *cfg = "[run]\nseed = 1\n[model]\narch = mlp\n[train]\nalgorithm = dpsgd\n";
    sal_ckpt_state s = {.round = 0,
                        .step = 0,
                        .algorithm = "dpsgd",
                        .arch = "mlp",
                        .seed = 1,
                        .config_text = cfg,
                        .p = &p,
                        .model = avg,
                        .rank_w = rw,
                        .rank_m = rm};
    char path[4096];
    sal_err err;
    double *tw = malloc(sizeof(double) * (size_t)reps), *tr = malloc(sizeof(double) * (size_t)reps),
           *traw = malloc(sizeof(double) * (size_t)reps),
           *ratio = malloc(sizeof(double) * (size_t)reps),
           *tseal = malloc(sizeof(double) * (size_t)reps),
           *tver = malloc(sizeof(double) * (size_t)reps);
    char rawpath[4096];
    snprintf(rawpath, sizeof rawpath, "%s/raw.tmp", dir);
    long long fbytes = 0;
    double resident_max = 0;

    /* rep 0 is an untimed warm-up (HDF5 and MPI-IO set-up, the writer's first-touch costs) */
    for (int r = 0; r <= reps; r++) {
        if (!rank) {
            char old[4096];
            snprintf(old, sizeof old, "%s/round-%06d.h5", dir, r - 1);
            unlink(old); /* outside the timing; then let the file system settle */
            int dfd = open(dir, O_RDONLY | O_DIRECTORY);
            if (dfd >= 0) syncfs(dfd), close(dfd);
        }
        s.round = r;
        barrier();
        double t0 = MPI_Wtime();
        sal_status st = sal_ckpt_save(MPI_COMM_WORLD, dir, 1000, &s, path, sizeof path, &err);
        barrier();
        double t = MPI_Wtime() - t0;
        if (st) {
            if (!rank) fprintf(stderr, "ckpt_io: %s\n", err.msg);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (r) tw[r - 1] = t;

        /* The publication checks inside that save, timed again by themselves on the file it
         * published (its pages still cached, as they are inside the save): rank 0's seal check
         * (sal_ckpt_seal computed the same CRC over the same bytes before it) and the read-back
         * against the CRCs that every rank makes of its part, rank 0 reading the most. */
        if (!rank) {
            double t1 = MPI_Wtime();
            st = sal_ckpt_seal_check(path, &err);
            double t2 = MPI_Wtime();
            if (!st) st = sal_ckpt_verify(path, &s, rank, P, &err);
            if (st) {
                fprintf(stderr, "ckpt_io: %s\n", err.msg);
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            if (r) tseal[r - 1] = t2 - t1, tver[r - 1] = MPI_Wtime() - t2;
        }

        /* read it back: what a resumed decentralized run reads on each rank */
        if (!rank) {
            struct stat sb;
            if (!stat(path, &sb)) fbytes = (long long)sb.st_size;
            double f = evict(path, drop);
            if (r && f > resident_max) resident_max = f;
            if (r && f < 0) resident_max = -1;
        }
        barrier();
        sal_ckpt_dst d = {.p = &p, .model = 1, .rank = rank, .rank_w = rw, .rank_m = rm};
        t0 = MPI_Wtime();
        st = sal_ckpt_load(path, &d, &err);
        barrier();
        t = MPI_Wtime() - t0;
        if (st) {
            fprintf(stderr, "ckpt_io: rank %d: %s\n", rank, err.msg);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (r) tr[r - 1] = t;

        /* the same bytes written plainly, right after, on the same disk */
        if (!rank) {
            int dfd = open(dir, O_RDONLY | O_DIRECTORY);
            if (dfd >= 0) syncfs(dfd), close(dfd);
            t = raw_write(rawpath, fbytes, (const char *)avg);
            if (t < 0) {
                fprintf(stderr, "ckpt_io: cannot write %s\n", rawpath);
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            if (r) traw[r - 1] = t, ratio[r - 1] = t / tw[r - 1];
        }
        barrier();
    }
    if (!rank) {
        char old[4096];
        snprintf(old, sizeof old, "%s/round-%06d.h5", dir, reps);
        unlink(old);
        snprintf(old, sizeof old, "%s/latest", dir);
        unlink(old);
        double mw = median(tw, reps), mr = median(tr, reps), mraw = median(traw, reps),
               mratio = median(ratio, reps);
        /* what rank 0 computes inside a save besides I/O: the uint8 mask (a fresh buffer) and
         * the CRC-32C of model, mask and its two rows (on a thread beside the writes) */
        double tc[3];
        for (int k = 0; k < 3; k++) {
            double t0 = MPI_Wtime();
            unsigned char *m8 = malloc(n);
            for (size_t i = 0; i < n; i++) m8[i] = p.mask[i] != 0.0f;
            volatile uint32_t c = sal_crc32c(0, m8, n);
            c = sal_crc32c(c, avg, n * 4);
            c = sal_crc32c(c, rw, n * 4);
            c = sal_crc32c(c, rm, n * 4);
            (void)c;
            free(m8);
            tc[k] = MPI_Wtime() - t0;
        }
        /* per rank: uint8 mask + float model + two float rows */
        long long delivered = (long long)P * (long long)(n + 3 * n * sizeof(float));
        printf("# %d ranks, %zu parameters per row%s, %d reps after 1 warm-up; reads after "
               "evicting the file (%s): at most %.1f%% of its pages still resident; freed "
               "memory %s\n",
               P, n, split ? " (--split: n/P)" : "", reps,
               drop ? "drop_caches" : "posix_fadvise DONTNEED", 100 * resident_max,
               retain ? "kept for reuse (as salient)" : "as glibc's default (--malloc-default)");
        printf("# rank 0's compute inside a save (mask to uint8 in a new buffer, CRC-32C of %zu "
               "bytes, overlapped with the writes): %.4f s, %.0f%% of the median write\n",
               13 * n, median(tc, 3), 100 * median(tc, 3) / mw);
        /* the seal costs its CRC pass twice (sealing, then the check): 2x the check's time */
        double ms = median(tseal, reps), mv = median(tver, reps);
        printf("# publication checks inside a save, rank 0, file in the page cache: seal check "
               "%.4f s (sealing reads the same bytes: ~2x that in all, %.1f%% of the median "
               "write), read-back verify %.4f s (%.1f%%)\n",
               ms, 100 * 2 * ms / mw, mv, 100 * mv / mw);
        printf("# write / raw_write speed, paired per rep: median %.1f%%\n", 100 * mratio);
        printf("op,ranks,n,bytes,median_s,GB_per_s\n");
        printf("write%s,%d,%zu,%lld,%.4f,%.3f\n", split ? "_split" : "", P, n, fbytes, mw,
               (double)fbytes / mw / 1e9);
        printf("raw_write,%d,%zu,%lld,%.4f,%.3f\n", P, n, fbytes, mraw,
               (double)fbytes / mraw / 1e9);
        printf("read%s,%d,%zu,%lld,%.4f,%.3f\n", split ? "_split" : "", P, n, fbytes, mr,
               (double)fbytes / mr / 1e9);
        printf("read_delivered%s,%d,%zu,%lld,%.4f,%.3f\n", split ? "_split" : "", P, n, delivered,
               mr, (double)delivered / mr / 1e9);
    }
    free(tw), free(tr), free(traw), free(ratio), free(tseal), free(tver);
    free(avg), free(rw), free(rm);
    sal_params_free(&p);
    MPI_Finalize();
    return 0;
}
