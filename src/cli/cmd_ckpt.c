/* cmd_ckpt.c - `salient ckpt inspect FILE.h5`: what a checkpoint holds, without MPI;
 * `salient ckpt seal OLD.h5 NEW.h5`: a sealed copy of a checkpoint of an older format. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "salient/ckpt.h"

int sal_cmd_ckpt(int argc, char **argv) {
    if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        printf("usage: salient ckpt inspect FILE.h5\n"
               "       salient ckpt seal OLD.h5 NEW.h5\n\n"
               "inspect prints one 'key: value' per line: the checkpoint's round, algorithm, arch,\n"
               "the run's rank count (ranks) and the ranks that wrote the file (nranks), seed, a\n"
               "summary of its config, every tensor's shape and mask density, the total density,\n"
               "the last test accuracy and the [sparsity] schedule's state (schedule.*: prunes\n"
               "done, the cycle of the next round, the next prune). 'crc32c: ok': the seal, the\n"
               "header and every dataset a resume checks passed their CRC-32C (/model, /mask,\n"
               "/state, /optim, /comm, /schedule, every /ranks row, /metrics; crc32c.checked\n"
               "names those the file has); a failed check exits 2, naming the dataset.\n"
               "docs/checkpoint-format.md describes the file; h5dump -A FILE.h5 shows its\n"
               "attributes.\n\n"
               "seal writes NEW.h5, a copy of OLD.h5 with the seal that salient checks before HDF5\n"
               "reads a checkpoint (format 4 on). For a checkpoint of an older salient, or one\n"
               "you changed with h5py, that you trust: HDF5 is not safe on damaged files.\n");
        return 0;
    }
    int inspect = argc == 2 && !strcmp(argv[0], "inspect");
    int seal = argc == 3 && !strcmp(argv[0], "seal");
    if (!inspect && !seal) {
        fprintf(stderr, "salient ckpt: usage: salient ckpt inspect FILE.h5 | salient ckpt seal "
                        "OLD.h5 NEW.h5 (see --help)\n");
        return 2;
    }
    sal_err err;
    sal_status st = seal ? sal_ckpt_seal_copy(argv[1], argv[2], &err)
                         : sal_ckpt_inspect(argv[1], stdout, &err);
    if (!st && seal) printf("sealed: %s\n", argv[2]);
    if (st) {
        fprintf(stderr, "salient ckpt: %s\n", err.msg);
        return sal_status_exit_code(st);
    }
    return 0;
}
