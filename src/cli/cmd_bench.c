/* cmd_bench.c - `salient bench allreduce|pack`: micro-benchmarks of the collectives (after the
 * OSU micro-benchmarks: warm up, barrier, repeat, median of the slowest rank; baseline beside). */
#include <errno.h>
#include <limits.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "salient/allreduce.h"
#include "salient/pack.h"
#include "salient/rng.h"

static const char *usage =
    "usage: mpirun -np P salient bench allreduce --n N --density D [--reps R] [--warmup W]\n"
    "                                    [--min-time T] [--seed S] [--alpha A] [--beta B]\n"
    "                                    [--beta-coll C] [--gamma G] [--delta E]\n"
    "                                    [--segment BYTES] [--algos LIST]\n"
    "       salient bench pack --n N [--density D] [--reps R] [--warmup W] [--seed S]\n"
    "       mpirun -np P salient bench gossip --graph NAME --n N ...   (see bench gossip --help)\n\n"
    "allreduce: sums n floats over the P ranks with each algorithm and prints the CSV\n"
    "  algo,ranks,n,density,bytes,median_s\n"
    "with one row per algorithm:\n"
    "  dense       MPI_Allreduce of n floats\n"
    "  ring        salient's pipelined ring (reduce-scatter + allgather) of n floats, segments of\n"
    "              --segment BYTES (default 1048576); dense like `dense`: density does not matter\n"
    "  masked      a mask shared by all ranks (density x n entries): pack, MPI_Allreduce, unpack\n"
    "  masked_idx  the same given the mask as an index list (gather/scatter, no scan of n)\n"
    "  allgather   per-rank sparse sets: MPI_Allgatherv of (index, value) pairs, merge\n"
    "  recdbl      recursive doubling of sparse sets, dense once half full (SparCML)\n"
    "  auto        the cheapest of allgather/recdbl/dense/ring by the alpha-beta cost model\n"
    "              (its dense and ring first scatter the set into n floats)\n"
    "--algos dense,ring,...: only those rows (default: all, in the order above).\n"
    "Each rank's sparse set holds round(density x n) distinct random indices drawn from stream\n"
    "(seed, rank), so sets differ between ranks; values are standard normal.\n"
    "bytes: payload bytes one rank handed to MPI for sending in one call, as the library counts\n"
    "  them (sal_comm_stats.bytes_sent), the maximum over ranks. For dense and masked that is\n"
    "  the buffer given to MPI_Allreduce (4n, 4 x nnz); how MPI moves it is MPI's business.\n"
    "  For ring it is its messages: 2(P-1)/P x 4n (a block's worth less or more when P does not\n"
    "  divide n).\n"
    "median_s: median over R timed calls of the slowest rank's time for one call (MPI_Wtime),\n"
    "  each after MPI_Barrier. W untimed calls of every algorithm first warm every buffer; then\n"
    "  the R repetitions go round the algorithms in turn (rep 1 of each, rep 2 of each, ...,\n"
    "  each round in a new random order), so that a slow spell of the machine or the network,\n"
    "  or the row run just before, weighs on every row alike.\n"
    "--min-time T: more rounds after the R, until the timed calls of all rows add up to T\n"
    "  seconds (at most 100000 rounds), so that a millisecond point gets hundreds of calls\n"
    "  where a second-long one gets R; the median is over every round.\n"
    "rank 0 also prints to stderr auto's choice and the model's predictions, to refit\n"
    "--alpha (s per message), --beta (s per byte of our messages), --beta-coll (s per byte in\n"
    "MPI's collectives; default: --beta's value), --gamma (s per merge step or scatter-add),\n"
    "--delta (s per element of a vectorised pass); formulas in src/comm/costmodel.c,\n"
    "fit: benchmarks/costmodel_fit.py.\n\n"
    "pack: local packing speed, no communication: CSV op,n,density,bytes,median_s,gb_per_s for\n"
    "  memcpy of n floats, mask (sal_pack_masked + sal_unpack_masked) and index (gather +\n"
    "  scatter through the index list); bytes = bytes read + written by one call.\n\n"
    "defaults: --reps 10 --warmup 3 --seed 1 (pack: --density 0.1); errors exit 2.\n";

typedef struct opts {
    const char *what;
    const char *algos; /* comma-separated row names, NULL = all */
    long long n;
    double density;
    sal_cost_params cost; /* auto's constants (allreduce.h) */
    long long reps, warmup, segment;
    double min_time; /* seconds of timed calls to reach before stopping (0: exactly reps) */
    unsigned long long seed;
    int have_n, have_density, have_beta_coll;
} opts;

/* Under mpirun only the first rank speaks, so a bad flag gives one line, not P (args.c does the
 * same before MPI exists). */
static int first_rank(void) {
    static const char *vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return !strcmp(v, "0");
    }
    return 1;
}

/* Prints "salient bench: <message> (see salient bench --help)" once; returns exit code 2. */
static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...) {
    if (first_rank()) {
        char msg[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        fprintf(stderr, "salient bench: %s (see salient bench --help)\n", msg);
    }
    return 2;
}

static int parse_int(const char *flag, const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        return bad("%s '%s' must be an integer in [%lld, %lld]", flag, s, lo, hi);
    }
    *out = v;
    return 0;
}

static int parse_real(const char *flag, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        return bad("%s '%s' must be a number in [%g, %g]", flag, s, lo, hi);
    }
    *out = v;
    return 0;
}

typedef enum { DENSE, RING, MASKED, MASKED_IDX, ALLGATHER, RECDBL, AUTO, NALGO } algo;
static const char *algo_names[NALGO] = {"dense",     "ring",   "masked", "masked_idx",
                                        "allgather", "recdbl", "auto"};

/* Whether row name is in the comma-separated list (NULL: every row is). */
static int listed(const char *list, const char *name) {
    if (!list) return 1;
    const size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        const size_t m = e ? (size_t)(e - p) : strlen(p);
        if (m == len && !strncmp(p, name, m)) return 1;
        p += m + (e != NULL);
    }
    return 0;
}

/* 2 (printed) if the --algos list names something that is not a row, or nothing. */
static int bad_algo_list(const char *list) {
    int any = 0;
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        const int m = e ? (int)(e - p) : (int)strlen(p);
        int ok = 0;
        for (int a = 0; a < NALGO; a++)
            ok |= (int)strlen(algo_names[a]) == m && !strncmp(p, algo_names[a], (size_t)m);
        if (!ok) return bad("--algos: unknown algorithm '%.*s'", m, p);
        any = 1;
        p += m + (e != NULL);
    }
    return any ? 0 : bad("--algos needs at least one algorithm");
}

/* 0 ok, 1 help printed, 2 error printed. */
static int parse(int argc, char **argv, opts *o) {
    sal_coll_opts d;
    sal_coll_opts_default(&d);
    *o = (opts){.reps = 10,
                .segment = (long long)SAL_RING_SEGMENT,
                .warmup = 3,
                .seed = 1,
                .density = 0.1,
                .cost = d.cost};
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (first_rank()) fputs(usage, stdout);
            return 1;
        }
    if (argc < 1) return bad("missing what to measure: allreduce, pack or gossip");
    o->what = argv[0];
    if (strcmp(o->what, "allreduce") && strcmp(o->what, "pack"))
        return bad("unknown benchmark '%s'; expected allreduce, pack or gossip", o->what);
    for (int i = 1; i < argc; i += 2) {
        const char *f = argv[i];
        if (i + 1 >= argc) return bad("%s needs a value", f);
        const char *v = argv[i + 1];
        long long x = 0;
        int rc;
        if (!strcmp(f, "--n")) {
            rc = parse_int(f, v, 1, INT_MAX, &o->n), o->have_n = 1;
        } else if (!strcmp(f, "--density")) {
            rc = parse_real(f, v, 0, 1, &o->density), o->have_density = 1;
        } else if (!strcmp(f, "--reps")) {
            rc = parse_int(f, v, 1, 1000000, &o->reps);
        } else if (!strcmp(f, "--min-time")) {
            rc = parse_real(f, v, 0, 86400, &o->min_time);
        } else if (!strcmp(f, "--warmup")) {
            rc = parse_int(f, v, 0, 1000000, &o->warmup);
        } else if (!strcmp(f, "--seed")) {
            rc = parse_int(f, v, 0, LLONG_MAX, &x), o->seed = (unsigned long long)x;
        } else if (!strcmp(f, "--alpha")) {
            rc = parse_real(f, v, 0, 1, &o->cost.alpha);
        } else if (!strcmp(f, "--beta")) {
            rc = parse_real(f, v, 0, 1, &o->cost.beta);
        } else if (!strcmp(f, "--beta-coll")) {
            rc = parse_real(f, v, 0, 1, &o->cost.beta_coll), o->have_beta_coll = 1;
        } else if (!strcmp(f, "--gamma")) {
            rc = parse_real(f, v, 0, 1, &o->cost.gamma);
        } else if (!strcmp(f, "--delta")) {
            rc = parse_real(f, v, 0, 1, &o->cost.delta);
        } else if (!strcmp(f, "--algos")) {
            o->algos = v, rc = 0;
        } else if (!strcmp(f, "--segment")) {
            rc = parse_int(f, v, 4, INT_MAX, &o->segment);
        } else {
            return bad("unknown option '%s' for bench %s", f, o->what);
        }
        if (rc) return rc;
    }
    if (!o->have_beta_coll) o->cost.beta_coll = o->cost.beta;
    if (o->algos && bad_algo_list(o->algos)) return 2;
    if (!o->have_n) return bad("bench %s needs --n N", o->what);
    if (!strcmp(o->what, "allreduce") && !o->have_density)
        return bad("bench %s needs --density D", o->what);
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, long long m) {
    qsort(t, (size_t)m, sizeof *t, cmp_double);
    return m % 2 ? t[m / 2] : 0.5 * (t[m / 2 - 1] + t[m / 2]);
}

/* k distinct ascending indices below n, by selection sampling (Knuth's Algorithm S). */
static void draw_indices(sal_rng *r, size_t n, size_t k, uint32_t *idx) {
    size_t m = 0;
    for (size_t i = 0; i < n && m < k; i++)
        if (sal_rng_below(r, n - i) < k - m) idx[m++] = (uint32_t)i;
}

typedef struct bufs {
    size_t n, k, segment;
    float *x, *y, *mask, *val;
    uint32_t *maskidx, *idx;
    sal_sparse_result res;
} bufs;

static sal_status run_once(sal_coll *c, algo a, bufs *b, sal_err *err) {
    static const sal_sparse_algo sp[NALGO] = {
        [ALLGATHER] = SAL_AR_ALLGATHER, [RECDBL] = SAL_AR_RECDBL, [AUTO] = SAL_AR_AUTO};
    switch (a) {
    case DENSE: return sal_allreduce_dense(c, b->x, b->y, b->n, err);
    case RING: return sal_allreduce_ring_seg(c, b->x, b->y, b->n, b->segment, err);
    case MASKED: return sal_allreduce_masked(c, b->x, b->y, b->mask, b->n, err);
    case MASKED_IDX: return sal_allreduce_masked_idx(c, b->x, b->y, b->maskidx, b->k, err);
    default: return sal_allreduce_sparse(c, sp[a], b->idx, b->val, b->k, b->n, &b->res, err);
    }
}

static int bench_allreduce(const opts *o, int rank, int P) {
    const size_t n = (size_t)o->n, k = (size_t)((double)n * o->density + 0.5);
    bufs b = {.n = n, .k = k, .segment = (size_t)o->segment};
    b.x = malloc(n * sizeof(float)), b.y = malloc(n * sizeof(float));
    b.mask = calloc(n, sizeof(float)), b.val = malloc((k + 1) * sizeof(float));
    b.maskidx = malloc((k + 1) * sizeof(uint32_t)), b.idx = malloc((k + 1) * sizeof(uint32_t));
    /* Room for every round --min-time may add; the rounds run stay in `rounds`. */
    const long long cap = o->min_time > 0 && o->reps < 100000 ? 100000 : o->reps;
    double *t = malloc((size_t)NALGO * (size_t)cap * sizeof(double));
    sal_err err = {{0}};
    sal_status st = SAL_OK;
    if (!b.x || !b.y || !b.mask || !b.val || !b.maskidx || !b.idx || !t)
        st = sal_fail(&err, SAL_ENOMEM, "out of memory for n = %zu", n);
    sal_coll *c = NULL;
    sal_coll_opts co;
    sal_coll_opts_default(&co);
    co.cost = o->cost;
    if (!st) st = sal_coll_create(MPI_COMM_WORLD, &co, &c, &err);
    int code = st, any;
    MPI_Allreduce(&code, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (!any) {
        /* Every buffer is written here, so no timed call pays for first touches of our data. */
        sal_rng r;
        sal_rng_seed(&r, o->seed, SAL_STREAM_SYNTH, 1 + (uint64_t)rank);
        for (size_t i = 0; i < n; i++) b.x[i] = (float)sal_rng_normal(&r), b.y[i] = 0.0f;
        draw_indices(&r, n, k, b.idx);
        for (size_t j = 0; j < k; j++) b.val[j] = (float)sal_rng_normal(&r);
        sal_rng_seed(&r, o->seed, SAL_STREAM_MASK, 0); /* the same mask on every rank */
        draw_indices(&r, n, k, b.maskidx);
        for (size_t j = 0; j < k; j++) b.mask[b.maskidx[j]] = 1.0f;
        if (rank == 0) printf("algo,ranks,n,density,bytes,median_s\n");
    }
    /* Warm-up of every row first, then the timed repetitions round-robin over the rows. */
    int rows[NALGO], nrows = 0;
    for (int a = 0; a < NALGO; a++)
        if (listed(o->algos, algo_names[a])) rows[nrows++] = a;
    for (int i = 0; i < nrows && !any; i++) {
        for (long long w = 0; w < o->warmup && !st; w++) st = run_once(c, (algo)rows[i], &b, &err);
        code = st;
        MPI_Allreduce(&code, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    }
    unsigned long long mine[NALGO] = {0};
    sal_sparse_algo chose = SAL_AR_AUTO;
    /* The timed seconds are the MPI_MAX of every call, the same number on every rank, so all
     * ranks take the same decision to go on without another message. */
    long long rounds = 0;
    double timed = 0;
    for (long long rep = 0; rep < cap && !any && (rep < o->reps || timed < o->min_time); rep++) {
        /* Each repetition takes the rows in a fresh random order, the same on every rank (the
         * shuffle stream of --seed), so that no row always follows the same one: what ran just
         * before an exchange changes its time (docs/performance.md: 0.57 against 0.665 ms for
         * the same recdbl call after two different rows). */
        int order[NALGO];
        sal_rng r;
        sal_rng_seed(&r, o->seed, SAL_STREAM_SHUFFLE, 1000000 + (uint64_t)rep);
        for (int j = 0; j < nrows; j++) order[j] = j;
        for (int j = nrows - 1; j > 0; j--) {
            const int m = (int)sal_rng_below(&r, (uint64_t)j + 1), x = order[j];
            order[j] = order[m], order[m] = x;
        }
        for (int j = 0; j < nrows && !st; j++) {
            const int i = order[j];
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            st = run_once(c, (algo)rows[i], &b, &err);
            double dt = MPI_Wtime() - t0;
            double *slot = &t[(size_t)i * (size_t)cap + (size_t)rep];
            MPI_Allreduce(&dt, slot, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            timed += *slot;
            mine[i] = sal_coll_last(c)->bytes_sent;
            if (rows[i] == AUTO) chose = b.res.algo;
        }
        code = st;
        MPI_Allreduce(&code, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        rounds = rep + 1;
    }
    if (rank == 0 && !any && o->min_time > 0)
        fprintf(stderr, "salient bench: %lld rounds, %.3g s of timed calls\n", rounds, timed);
    for (int i = 0; i < nrows && !any; i++) {
        const int a = rows[i];
        unsigned long long most = 0;
        MPI_Reduce(&mine[i], &most, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, 0, MPI_COMM_WORLD);
        if (rank == 0) {
            printf("%s,%d,%zu,%g,%llu,%.9g\n", algo_names[a], P, n, o->density, most,
                   median(t + (size_t)i * (size_t)cap, rounds));
            fflush(stdout);
        }
        if (a == AUTO && rank == 0) {
            unsigned long long K = (unsigned long long)k * (unsigned long long)P;
            sal_cost_estimate e;
            sal_cost_sparse(&co.cost, co.dense_switch, P, n, K, &e);
            fprintf(stderr,
                    "salient bench: auto chose %s; model (s): dense %.3g allgather %.3g recdbl "
                    "%.3g ring %.3g (alpha %g beta %g beta_coll %g gamma %g delta %g)\n",
                    sal_sparse_algo_name(chose), e.dense, e.allgather, e.recdbl, e.ring,
                    co.cost.alpha, co.cost.beta, co.cost.beta_coll, co.cost.gamma, co.cost.delta);
        }
    }
    /* Errors are agreed collectively (the collectives return the same status everywhere); the
     * failing rank prints its own message, rank 0 the agreed one. */
    if (st && err.msg[0]) fprintf(stderr, "salient bench: rank %d: %s\n", rank, err.msg);
    sal_coll_free(c);
    free(b.x), free(b.y), free(b.mask), free(b.val), free(b.maskidx), free(b.idx), free(t);
    return any ? (st ? sal_status_exit_code(st) : 1) : 0;
}

static int bench_pack(const opts *o, int rank) {
    const size_t n = (size_t)o->n, k = (size_t)((double)n * o->density + 0.5);
    float *w = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    float *mask = calloc(n, sizeof(float)), *packed = malloc((k + 1) * sizeof(float));
    uint32_t *idx = malloc((k + 1) * sizeof(uint32_t));
    double *t = malloc((size_t)o->reps * sizeof(double));
    if (!w || !y || !mask || !packed || !idx || !t) {
        fprintf(stderr, "salient bench: out of memory for n = %zu\n", n);
        return 1;
    }
    sal_rng r;
    sal_rng_seed(&r, o->seed, SAL_STREAM_MASK, 0);
    draw_indices(&r, n, k, idx);
    for (size_t j = 0; j < k; j++) mask[idx[j]] = 1.0f, packed[j] = 0.0f;
    for (size_t i = 0; i < n; i++) w[i] = (float)sal_rng_normal(&r), y[i] = 0.0f;
    const char *ops[3] = {"memcpy", "mask", "index"};
    /* bytes read + written: memcpy 4n + 4n; mask: pack reads w and mask (8n) and writes 4k,
     * unpack reads mask and packed (4n + 4k) and writes 4n; index: 3 x 4k each way. */
    const double bytes[3] = {8.0 * n, 16.0 * n + 8.0 * k, 24.0 * k};
    if (rank == 0) printf("op,n,density,bytes,median_s,gb_per_s\n");
    for (int op = 0; op < 3; op++) {
        for (long long rep = -o->warmup; rep < o->reps; rep++) {
            double t0 = MPI_Wtime();
            if (op == 0) {
                memcpy(y, w, n * sizeof(float));
            } else if (op == 1) {
                sal_pack_masked(w, mask, n, packed);
                sal_unpack_masked(packed, mask, n, y);
            } else {
                for (size_t j = 0; j < k; j++) packed[j] = w[idx[j]];
                for (size_t j = 0; j < k; j++) y[idx[j]] = packed[j];
            }
            if (rep >= 0) t[rep] = MPI_Wtime() - t0;
        }
        double med = median(t, o->reps);
        if (rank == 0)
            printf("%s,%zu,%g,%.0f,%.9g,%.3f\n", ops[op], n, o->density, bytes[op], med,
                   med > 0 ? bytes[op] / med / 1e9 : 0.0);
    }
    volatile float sink = y[n / 2]; /* keep the copies observable */
    (void)sink;
    free(w), free(y), free(mask), free(packed), free(idx), free(t);
    return 0;
}

int sal_cmd_bench(int argc, char **argv) {
    if (argc > 0 && !strcmp(argv[0], "gossip"))
        return sal_cli_exit_together(sal_bench_gossip(argc - 1, argv + 1));
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : sal_cli_exit_together(rc);
    rc = sal_cli_mpi_init("bench", NULL, NULL);
    if (rc) return rc;
    int rank, P;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    rc = !strcmp(o.what, "pack") ? bench_pack(&o, rank) : bench_allreduce(&o, rank, P);
    MPI_Finalize();
    return rc;
}
