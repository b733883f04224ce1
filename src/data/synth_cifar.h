/* synth_cifar.h - private to src/data: the synthetic-cifar generator (synth_cifar.c). */
#ifndef SALIENT_DATA_SYNTH_CIFAR_H
#define SALIENT_DATA_SYNTH_CIFAR_H

#include "salient/data.h"

/* Generate train (ntrain) and test (ntest) samples from o->seed, set the per-channel mean and
 * std of the generated training set on both, then apply o's limits. On failure the caller
 * frees what was filled. */
sal_status sal_synth_cifar_load(const sal_data_opts *o, int ntrain, int ntest, sal_dataset *train,
                                sal_dataset *test, sal_err *err);

#endif
