/* predict.h - the time a run will take, before it runs (`salient plan`): the round model of
 * docs/scaling.md section 1 (compute from a measured per-rank throughput, communication by the
 * alpha-beta model, the busiest rank's work as the critical path) fed with the run's own sizes:
 * its partition, its mask's nonzeros, salient's own client sample of every round. */
#ifndef SALIENT_PREDICT_H
#define SALIENT_PREDICT_H

#include <stddef.h>

#include "salient/config.h"
#include "salient/data.h"
#include "salient/status.h"

/* What the model needs besides the config. Times in seconds, sizes in floats or samples. */
typedef struct sal_predict_in {
    int ranks;               /* MPI ranks in all (nodes x tasks per node) */
    int tasks_per_node;      /* ranks sharing one node's link (multiplies beta, scaling.md) */
    double train_rate;       /* training samples/s of one rank (forward, backward, SGD step) */
    double eval_rate;        /* evaluation samples/s of one rank (forward only) */
    double alpha, beta;      /* seconds per message, seconds per byte of the network */
    double delta;            /* seconds per element of a streaming pass (adds, zeroing) */
    double sigma;            /* seconds per element of top-k selection */
    size_t n;                /* trainable parameters */
    size_t ns;               /* state floats (BatchNorm) that travel with the model */
    size_t z;                /* entries the mask keeps (n when dense) */
    int degree;              /* dpsgd: neighbours per rank (the graph's largest degree) */
    const int *client_samples; /* (cfg->clients) samples each client holds */
    int test_samples;        /* the test set the run evaluates on */
} sal_predict_in;

typedef struct sal_prediction {
    double compute_s;   /* the busiest rank's local training in one round */
    double comm_s;      /* the busiest rank's own transfers and reductions in one round */
    double wait_s;      /* waiting for the others in one round: the server's link busy with
                         * other clients (fedavg); 0 where every rank does the same work */
    double eval_s;      /* evaluation per round, averaged over eval_every */
    double round_s;     /* compute + comm + wait + eval */
    double setup_s;     /* round 0: the mask's saliency pass (a forward and backward over
                         * saliency_batches batches per client on its rank) */
    double wall_s;      /* setup + rounds x round */
    double steps;       /* local steps of the busiest rank per round */
    double busiest_clients; /* fedavg: the busiest client rank's sampled clients (mean) */
} sal_prediction;

/* Fill *out for cfg run as `in` says. SAL_ECONFIG with one line where the run cannot be
 * modelled (a rank count the algorithm refuses, a zero rate). Local; no MPI. */
sal_status sal_predict(const sal_config *cfg, const sal_predict_in *in, sal_prediction *out,
                       sal_err *err);

/* Measure one rank's throughput on this machine for cfg's model, batch and data: training steps
 * (gather a batch of random training samples, forward, backward, SGD step) and evaluation
 * batches (forward in eval mode), each timed for about `seconds` after two warm-up steps, on
 * `threads` OpenMP threads. Returns samples/s in *train_rate and *eval_rate. */
sal_status sal_calibrate(const sal_config *cfg, const sal_dataset *train, int threads,
                         double seconds, double *train_rate, double *eval_rate, sal_err *err);

#endif
