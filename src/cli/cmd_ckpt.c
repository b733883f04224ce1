/* cmd_ckpt.c - `salient ckpt inspect FILE.h5`: what a checkpoint holds, without MPI. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "salient/ckpt.h"

int sal_cmd_ckpt(int argc, char **argv) {
    if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        printf("usage: salient ckpt inspect FILE.h5\n\n"
               "Prints one 'key: value' per line: the checkpoint's round, algorithm, arch, rank\n"
               "count, seed, a summary of its config, every tensor's shape and mask density,\n"
               "the total density and the last test accuracy. docs/checkpoint-format.md\n"
               "describes the file; h5dump -A FILE.h5 shows its attributes.\n");
        return 0;
    }
    if (argc != 2 || strcmp(argv[0], "inspect")) {
        fprintf(stderr, "salient ckpt: usage: salient ckpt inspect FILE.h5 (see --help)\n");
        return 2;
    }
    sal_err err;
    sal_status st = sal_ckpt_inspect(argv[1], stdout, &err);
    if (st) {
        fprintf(stderr, "salient ckpt: %s\n", err.msg);
        return sal_status_exit_code(st);
    }
    return 0;
}
