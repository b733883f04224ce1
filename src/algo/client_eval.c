/* client_eval.c - per-client test splits and their accuracy (client_eval.h). The split follows
 * the authors' partition_test_data_proportional (riohib/SSFL, data_preprocessing/
 * partition_utils.py): per class, proportional to the clients' training counts, floors first,
 * the remainder to the lowest client ids. */
#include <stdlib.h>
#include <string.h>

#include "salient/client_eval.h"

void sal_client_tests_free(sal_client_tests *t) {
    free(t->offset);
    free(t->index);
    memset(t, 0, sizeof *t);
}

sal_status sal_client_tests_make(sal_client_tests *t, const sal_partition *part,
                                 const uint8_t *train_y, const uint8_t *test_y, int test_n,
                                 int classes, sal_err *err) {
    const int C = part->clients;
    memset(t, 0, sizeof *t);
    long *train_cnt = calloc((size_t)C * classes, sizeof *train_cnt); /* [c][k] */
    long *take = calloc((size_t)C * classes, sizeof *take);
    int *fill = calloc((size_t)C + 1, sizeof *fill);
    t->offset = calloc((size_t)C + 1, sizeof *t->offset);
    t->index = malloc(sizeof *t->index * (size_t)(test_n > 0 ? test_n : 1));
    if (!train_cnt || !take || !fill || !t->offset || !t->index) {
        free(train_cnt), free(take), free(fill);
        sal_client_tests_free(t);
        return sal_fail(err, SAL_ENOMEM, "out of memory splitting the test set over %d clients", C);
    }
    t->clients = C;
    for (int c = 0; c < C; c++)
        for (int i = part->offset[c]; i < part->offset[c + 1]; i++)
            train_cnt[(size_t)c * classes + train_y[part->index[i]]]++;
    for (int k = 0; k < classes; k++) {
        long nk = 0, total = 0, given = 0;
        for (int i = 0; i < test_n; i++) nk += test_y[i] == k;
        for (int c = 0; c < C; c++) total += train_cnt[(size_t)c * classes + k];
        for (int c = 0; c < C; c++) {
            /* floor(nk x share) in integers: no rounding that depends on the platform */
            long q = total ? nk * train_cnt[(size_t)c * classes + k] / total : nk / C;
            take[(size_t)c * classes + k] = q, given += q;
        }
        for (int c = 0; given < nk; c = (c + 1) % C) take[(size_t)c * classes + k]++, given++;
    }
    for (int c = 0; c < C; c++) {
        long n = 0;
        for (int k = 0; k < classes; k++) n += take[(size_t)c * classes + k];
        t->offset[c + 1] = t->offset[c] + (int)n;
    }
    /* hand out each class's test samples in index order, client after client */
    for (int k = 0; k < classes; k++) {
        int c = 0;
        long left = C ? take[k] : 0;
        for (int i = 0; i < test_n && c < C; i++) {
            if (test_y[i] != k) continue;
            while (c < C && left == 0)
                if (++c < C) left = take[(size_t)c * classes + k];
            if (c == C) break;
            t->index[t->offset[c] + fill[c]++] = i, left--;
        }
    }
    free(train_cnt), free(take), free(fill);
    return SAL_OK;
}

long sal_client_test_correct(sal_model *m, const sal_dataset *test, const sal_client_tests *t,
                             int c, int batch, float *x, int *y, int *idx) {
    const int *ids = t->index + t->offset[c], n = t->offset[c + 1] - t->offset[c];
    const int was_training = sal_model_training(m);
    long correct = 0;
    sal_model_set_training(m, 0);
    for (int s = 0; s < n; s += batch) {
        int b = n - s < batch ? n - s : batch, right = 0;
        memcpy(idx, ids + s, sizeof *idx * (size_t)b);
        sal_dataset_batch(test, idx, b, x, y);
        sal_model_forward(m, x, y, b, &right);
        correct += right;
    }
    sal_model_set_training(m, was_training);
    return correct;
}

void sal_client_acc(const sal_client_tests *t, const uint8_t *hit, int lo, int hi, double *sum,
                    double *min, int *count) {
    *sum = 0, *count = 0;
    for (int c = lo; c < hi; c++) {
        const int n = t->offset[c + 1] - t->offset[c];
        if (n == 0) continue; /* a client with no test sample has no accuracy */
        long right = 0;
        for (int i = t->offset[c]; i < t->offset[c + 1]; i++) right += hit[t->index[i]];
        const double acc = (double)right / n;
        *sum += acc;
        if (*count == 0 || acc < *min) *min = acc;
        ++*count;
    }
}
