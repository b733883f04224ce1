/* main.c - the salient command line: dispatches to the subcommands in cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "salient/memory.h"

#ifndef SALIENT_VERSION /* CMake passes project(VERSION), which the modulefile is named after */
#define SALIENT_VERSION "unknown"
#endif

int main(int argc, char **argv) {
    if (argc < 2) {
        sal_cli_print_usage(stderr);
        return 2;
    }
    sal_memory_retain(); /* before MPI and the threads start */
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        sal_cli_print_usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("salient %s\n", SALIENT_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "train")) return sal_cmd_train(argc - 2, argv + 2);
    if (!strcmp(cmd, "data")) return sal_cmd_data(argc - 2, argv + 2);
    if (!strcmp(cmd, "topo")) return sal_cmd_topo(argc - 2, argv + 2);
    if (!strcmp(cmd, "bench")) return sal_cmd_bench(argc - 2, argv + 2);
    if (!strcmp(cmd, "compare")) return sal_cmd_compare(argc - 2, argv + 2);
    if (!strcmp(cmd, "ckpt")) return sal_cmd_ckpt(argc - 2, argv + 2);
    if (!strcmp(cmd, "plan")) return sal_cmd_plan(argc - 2, argv + 2);
    fprintf(stderr, "salient: unknown command '%s' (commands: train, compare, data, plan, topo, bench, ckpt, help)\n", cmd);
    return 2;
}
