/* fedavg_mask.c - round 0 of FedAvg/SSFL: the mask, fixed for the whole run.
 *
 * SSFL (arXiv 2405.09037, Algorithm 1): every client scores each weight's saliency on its own
 * data at the shared initial weights (SNIP, |dL/dw * w|); the server averages the scores,
 * weighted by the clients' sample counts, and keeps the global top-k. The server receives the
 * scores one client at a time in client-id order and folds each into one double accumulator:
 * memory O(model) and a sum whose order, hence whose bits, cannot depend on the rank count.
 * Data-free methods (random, erk, magnitude, synflow) and the single-site baselines
 * (source = server: client 0's data) are computed on the server alone. Either way the server
 * broadcasts a status and then the mask packed to bits; ranks apply it to their weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algos.h"
#include "fedavg.h"
#include "salient/pack.h"
#include "salient/rng.h"
#include "salient/sparsity.h"
#include "salient/watchdog.h"

static int needs_data(sal_sparsity_method m) {
    return m == SAL_SPARSE_SNIP || m == SAL_SPARSE_GRASP;
}

/* The samples client c scores: the first saliency_batches x batch of its ids in an order drawn
 * from stream (seed, MASK, 1 + c) (id 0 is random pruning's). Returns how many, into f->order. */
static int saliency_ids(fed *f, int c) {
    const sal_config *cfg = f->cfg;
    const int *ids = f->part.index + f->part.offset[c];
    int n = f->part.offset[c + 1] - f->part.offset[c];
    memcpy(f->order, ids, sizeof(int) * (size_t)n);
    sal_rng r;
    sal_rng_seed(&r, cfg->seed, SAL_STREAM_MASK, 1 + (uint64_t)c);
    sal_rng_shuffle_int(&r, f->order, n);
    long long want = (long long)cfg->saliency_batches * cfg->batch;
    return want < n ? (int)want : n;
}

/* Client c's scores, on its batches augmented as its training batches are (the reference
 * scores one batch of its training loader, random crop and flip included). */
static sal_status score_client(fed *f, int c, float *score, sal_err *err) {
    const sal_config *cfg = f->cfg;
    int n = saliency_ids(f, c);
    const sal_augment aug = {sal_augment_resolve(cfg->augment, cfg->dataset), cfg->seed,
                             SAL_AUG_ROUND_SALIENCY, (uint64_t)c, 0};
    if (cfg->method == SAL_SPARSE_SNIP) {
        sal_score_snip(f->model, &f->train, f->order, n, cfg->batch, &aug, f->x, f->y, score);
        return SAL_OK;
    }
    return sal_score_grasp(f->model, &f->train, f->order, n, cfg->batch, &aug, f->x, f->y, score,
                           err);
}

/* Server: the mask from scores (double accumulator) or from a data-free method. */
static sal_status server_mask(fed *f, const double *acc, float *score, float *mask,
                              sal_err *err) {
    const sal_config *cfg = f->cfg;
    const sal_params *p = f->p;
    /* with a [sparsity] schedule the first mask has start_density; its prunes reach density */
    const double density = cfg->schedule == SAL_SCHED_FIXED ? cfg->density : cfg->start_density;
    double *dens = malloc(sizeof(double) * (size_t)p->ntensors);
    if (!dens) return sal_fail(err, SAL_ENOMEM, "out of memory for the mask");
    sal_status st = SAL_OK;
    switch (cfg->method) {
    case SAL_SPARSE_NONE:
        for (size_t i = 0; i < p->n; i++) mask[i] = 1.0f;
        break;
    case SAL_SPARSE_RANDOM:
    case SAL_SPARSE_ERK:
        sal_score_random(p, cfg->seed, score);
        if (cfg->method == SAL_SPARSE_ERK) st = sal_layer_densities_erk(p, density, dens, err);
        else sal_layer_densities_uniform(p, density, dens);
        if (!st) st = sal_mask_topk_layers(p, score, dens, mask, err);
        break;
    case SAL_SPARSE_SYNFLOW:
        st = sal_mask_synflow(f->model, density, cfg->scope, cfg->synflow_iters, mask, err);
        break;
    default: /* magnitude, snip, grasp: top-k of score over the chosen scope */
        if (cfg->method == SAL_SPARSE_MAGNITUDE) sal_score_magnitude(p, score);
        else if (acc)
            for (size_t i = 0; i < p->n; i++) score[i] = (float)acc[i];
        else if ((st = score_client(f, 0, score, err)))
            break;
        if (cfg->scope == SAL_SCOPE_GLOBAL) {
            st = sal_mask_topk_global(p, score, density, mask, err);
        } else {
            sal_layer_densities_uniform(p, density, dens);
            st = sal_mask_topk_layers(p, score, dens, mask, err);
        }
    }
    free(dens);
    return st;
}

sal_status sal_fed_mask(fed *f, sal_round *row, sal_err *err) {
    const sal_config *cfg = f->cfg;
    sal_params *p = f->p;
    const size_t n = p->n;
    const int C = cfg->clients;
    const int from_clients = needs_data(cfg->method) && cfg->source == SAL_SOURCE_CLIENTS;
    double t0 = sal_now(), compute = 0, *rank_compute = NULL, *rank_comm = NULL;
    sal_status st = SAL_OK;
    float *score = malloc(sizeof(float) * n), *mask = malloc(sizeof(float) * n);
    uint8_t *bits = malloc(sal_bits_bytes(n));
    double *acc = from_clients && f->rank == 0 ? calloc(n, sizeof(double)) : NULL;
    if (f->rank == 0) {
        rank_compute = calloc((size_t)f->size, sizeof(double));
        rank_comm = calloc((size_t)f->size, sizeof(double));
    }
    int oom = !score || !mask || !bits || (from_clients && f->rank == 0 && !acc) ||
              (f->rank == 0 && (!rank_compute || !rank_comm));
    if (oom) st = sal_fail(err, SAL_ENOMEM, "out of memory for the mask of %zu weights", n);

    if (from_clients && f->rank != 0) {
        /* Every client, not only a round's sample, scores its own data on its home rank (all C
         * of them: the blocks are already as even as a spread); uploads go in id order. */
        for (int c = 0; c < C; c++) {
            if (sal_fed_home(c, C, f->size - 1) != f->rank) continue;
            fed_stats s = {0};
            double tc = sal_now();
            /* A client that cannot score sends an empty message; the server fails the run. */
            int bad = oom || score_client(f, c, score, err) != SAL_OK;
            s.compute_s = sal_now() - tc;
            tc = sal_now();
            sal_wd_enter("sending saliency scores to the server", 0);
            MPI_Send(score, bad ? 0 : (int)n, MPI_FLOAT, 0, FED_TAG_SCORES, f->comm);
            sal_wd_leave();
            s.comm_s = sal_now() - tc;
            MPI_Send(&s, 4, MPI_DOUBLE, 0, FED_TAG_STATS, f->comm);
        }
    } else if (from_clients) {
        long long total = 0;
        for (int c = 0; c < C; c++) total += f->part.offset[c + 1] - f->part.offset[c];
        for (int c = 0; c < C; c++) {
            const int home = sal_fed_home(c, C, f->size - 1);
            int got = 0;
            MPI_Status ms;
            sal_wd_enter("a client's saliency scores", home);
            MPI_Recv(oom ? NULL : score, oom ? 0 : (int)n, MPI_FLOAT, home,
                     FED_TAG_SCORES, f->comm, &ms);
            sal_wd_leave();
            MPI_Get_count(&ms, MPI_FLOAT, &got);
            fed_stats s;
            MPI_Recv(&s, 4, MPI_DOUBLE, home, FED_TAG_STATS, f->comm, MPI_STATUS_IGNORE);
            if (oom) continue;
            if ((size_t)got != n) {
                if (!st) st = sal_fail(err, SAL_ENUMERIC, "rank %d could not score client %d "
                                       "(out of memory or non-finite loss at the initial "
                                       "weights)", home, c);
                continue;
            }
            rank_compute[home] += s.compute_s;
            rank_comm[home] += s.comm_s;
            double tc = sal_now();
            /* weighted: n_c / sum n (SSFL's default); mean: 1 / clients */
            double wc = cfg->aggregate == SAL_AGG_WEIGHTED
                            ? (double)(f->part.offset[c + 1] - f->part.offset[c]) / (double)total
                            : 1.0 / C;
            for (size_t i = 0; i < n; i++) acc[i] += wc * score[i];
            compute += sal_now() - tc;
        }
        row->bytes_up = (uint64_t)C * n * sizeof(float);
    }

    int code = st;
    if (f->rank == 0) {
        double tc = sal_now();
        if (!code) code = server_mask(f, acc, score, mask, err);
        if (!code) sal_bits_from_mask(mask, n, bits);
        compute += sal_now() - tc;
    }
    /* Status first, so that a failed mask stops every rank instead of leaving them waiting. */
    double tb = sal_now();
    sal_wd_enter("the mask broadcast", 0);
    MPI_Bcast(&code, 1, MPI_INT, 0, f->comm);
    sal_wd_leave();
    if (code) {
        if (f->rank != 0) err->msg[0] = '\0';
        st = (sal_status)code;
        goto out;
    }
    if (cfg->method == SAL_SPARSE_NONE) { /* dense: nothing to send */
        for (size_t i = 0; i < n; i++) mask[i] = 1.0f;
    } else {
        MPI_Bcast(bits, (int)sal_bits_bytes(n), MPI_UNSIGNED_CHAR, 0, f->comm);
        if (f->rank != 0) sal_bits_to_mask(bits, n, mask);
        row->bytes_down = (uint64_t)(f->size - 1) * sal_bits_bytes(n);
    }
    double bcast = sal_now() - tb;
    memcpy(p->mask, mask, sizeof(float) * n);
    p->dense = cfg->method == SAL_SPARSE_NONE;
    for (size_t i = 0; i < n; i++) p->w[i] *= p->mask[i]; /* pruned weights start and stay 0 */
    f->nnz = sal_params_nnz(p);
    f->msg = f->nnz + p->ns;
    if (f->rank == 0) {
        double cmax = 0, kmax = 0;
        for (int r = 1; r < f->size; r++) {
            cmax = rank_compute[r] > cmax ? rank_compute[r] : cmax;
            kmax = rank_comm[r] > kmax ? rank_comm[r] : kmax;
        }
        row->compute_s = compute + cmax;
        row->comm_s = kmax + bcast;
        row->wall_s = sal_now() - t0;
        double rest = row->wall_s - row->compute_s - row->comm_s;
        row->wait_s = rest > 0 ? rest : 0;
    }
out:
    free(score);
    free(mask);
    free(bits);
    free(acc);
    free(rank_compute);
    free(rank_comm);
    return st;
}

int sal_fed_mask_update(fed *f, sal_round *row, uint64_t *rank_bytes, int *stop_code) {
    sal_params *p = f->p;
    const size_t n = p->n, nb = sal_bits_bytes(n);
    /* the bits travel through f->packed (msg floats, at least n / 8 bytes): nothing to
     * allocate between rounds, so nothing to fail on one rank alone */
    uint8_t *bits = (uint8_t *)f->packed;
    if (f->rank == 0) {
        sal_bits_from_mask(p->mask, n, bits);
        for (int r = 1; r < f->size; r++) {
            sal_wd_enter_ex("sending the pruned mask to a client rank", r, SAL_WD_UNHASHED);
            MPI_Send(bits, (int)nb, MPI_UNSIGNED_CHAR, r, FED_TAG_MASK, f->comm);
            sal_wd_leave();
        }
        const uint64_t bytes = (uint64_t)(f->size - 1) * nb; /* as round 0's broadcast */
        row->bytes_down += bytes;
        *rank_bytes += bytes;
    } else {
        MPI_Status ms;
        sal_wd_enter_ex("the pruned mask from the server", 0, SAL_WD_UPSTREAM | SAL_WD_UNHASHED);
        MPI_Probe(0, MPI_ANY_TAG, f->comm, &ms); /* a server that failed sends its stop */
        if (ms.MPI_TAG == FED_TAG_STOP)
            MPI_Recv(stop_code, 1, MPI_INT, 0, FED_TAG_STOP, f->comm, MPI_STATUS_IGNORE);
        else
            MPI_Recv(bits, (int)nb, MPI_UNSIGNED_CHAR, 0, FED_TAG_MASK, f->comm,
                     MPI_STATUS_IGNORE);
        sal_wd_leave();
        if (ms.MPI_TAG == FED_TAG_STOP) return 0;
        sal_bits_to_mask(bits, n, p->mask);
        p->dense = 0;
        for (size_t i = 0; i < n; i++) p->w[i] *= p->mask[i];
    }
    f->nnz = sal_params_nnz(p);
    f->msg = f->nnz + p->ns;
    if (f->rank == 0) sal_fed_pack(f); /* the next round sends the pruned (rewound) model */
    return 1;
}
