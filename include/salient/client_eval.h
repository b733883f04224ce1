/* client_eval.h - the authors' per-client evaluation (SSFL's code, partition_utils.py): the test
 * set is split among the clients, class by class, in proportion to each client's share of that
 * class in the training split, so that every client is tested on its own label distribution.
 * metrics.csv reports the mean and the minimum of the clients' accuracies. */
#ifndef SALIENT_CLIENT_EVAL_H
#define SALIENT_CLIENT_EVAL_H

#include <stdint.h>

#include "salient/data.h"
#include "salient/model.h"
#include "salient/partition.h"
#include "salient/status.h"

/* Client c's test samples are index[offset[c] .. offset[c+1]) of the test set: a partition of
 * it (every test sample belongs to exactly one client). */
typedef struct sal_client_tests {
    int clients;
    int *offset; /* (clients + 1), owned */
    int *index;  /* (test n), owned */
} sal_client_tests;

/* Split test_y (test_n labels in 0..classes-1) for the training partition `part` of train_y:
 * for each class k, its test samples in index order go to the clients in client order,
 * floor(n_k x (client's k count) / (all clients' k count)) each, and the remainder one more to
 * each of the first clients (as the reference does, whether or not they hold class k; a class
 * no client holds is spread evenly). Deterministic; no random draw. */
sal_status sal_client_tests_make(sal_client_tests *t, const sal_partition *part,
                                 const uint8_t *train_y, const uint8_t *test_y, int test_n,
                                 int classes, sal_err *err);
void sal_client_tests_free(sal_client_tests *t); /* accepts a zeroed or freed struct */

/* Over clients [lo, hi) with at least one test sample: the sum and the minimum of their
 * accuracies, from hit (one byte per test sample: 1 where a model classified it right, e.g.
 * from sal_evaluate_hits), and how many such clients there are (*min untouched if none). */
void sal_client_acc(const sal_client_tests *t, const uint8_t *hit, int lo, int hi, double *sum,
                    double *min, int *count);

/* Correct predictions of m (in evaluation mode; the mode is restored) on client c's test
 * samples, in batches of at most `batch` (x, y, idx: the caller's buffers for one batch). */
long sal_client_test_correct(sal_model *m, const sal_dataset *test, const sal_client_tests *t,
                             int c, int batch, float *x, int *y, int *idx);

#endif
