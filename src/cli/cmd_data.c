/* cmd_data.c - `salient data CONFIG.ini`: the data set and its split across clients, so a user
 * can see how non-IID a partition is before spending a run on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "salient/partition.h"
#include "salient/train.h"

int sal_cmd_data(int argc, char **argv) {
    sal_config cfg;
    sal_cli_args args;
    int rc = sal_cli_load(argc, argv, "data", &cfg, &args);
    if (rc) return rc;
    if (args.help) {
        printf("usage: salient data CONFIG.ini [--set section.key=value]...\n\n"
               "Prints the data set's shape and, for [data] partition and clients, each\n"
               "client's sample count and label histogram. Keys:\n\n");
        sal_config_print_help(stdout);
        return 0;
    }
    sal_dataset train = {0}, test = {0};
    sal_partition part = {0};
    sal_err err;
    sal_status st = sal_load_data(&cfg, &train, &test, &err);
    if (!st) {
        sal_partition_opts po = {cfg.partition, cfg.clients, cfg.alpha, cfg.shards_per_client,
                                 cfg.seed};
        st = sal_partition_make(&part, train.y, train.n, train.classes, &po, &err);
    }
    if (st) {
        fprintf(stderr, "salient data: %s\n", err.msg);
        sal_dataset_free(&train);
        sal_dataset_free(&test);
        return sal_status_exit_code(st);
    }
    printf("dataset: %s\ntrain: %d samples\ntest: %d samples\nshape: %dx%dx%d\nclasses: %d\n",
           sal_config_enum_name("data", "dataset", cfg.dataset), train.n, test.n, train.c,
           train.h, train.w, train.classes);
    printf("partition: %s\nclients: %d\n", sal_config_enum_name("data", "partition", cfg.partition),
           cfg.clients);
    if (cfg.partition == SAL_PART_DIRICHLET || cfg.partition == SAL_PART_DIRICHLET_BALANCED)
        printf("alpha: %g\n", cfg.alpha);
    if (cfg.partition == SAL_PART_SHARDS) printf("shards_per_client: %d\n", cfg.shards_per_client);
    printf("\n%-7s %8s  label histogram", "client", "samples");
    for (int k = 0; k < train.classes; k++) printf(k ? " %5d" : "  %5d", k);
    printf("\n");
    int *hist = calloc((size_t)train.classes, sizeof(int));
    for (int c = 0; hist && c < part.clients; c++) {
        memset(hist, 0, sizeof(int) * train.classes);
        for (int i = part.offset[c]; i < part.offset[c + 1]; i++) hist[train.y[part.index[i]]]++;
        printf("%-7d %8d  %15s", c, part.offset[c + 1] - part.offset[c], "");
        for (int k = 0; k < train.classes; k++) printf(k ? " %5d" : "  %5d", hist[k]);
        printf("\n");
    }
    free(hist);
    sal_partition_free(&part);
    sal_dataset_free(&train);
    sal_dataset_free(&test);
    return 0;
}
