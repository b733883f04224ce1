/* study_print.c - the terminal's view of a study: summary.csv's columns a reader compares at a
 * glance (the file keeps every digit and every column). Columns are found by their header
 * names, so the view follows the table when it gains columns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study.h"

enum { V_POINT, V_SEEDS, V_FINAL, V_FINAL_SD, V_BEST, V_CLIENT, V_ROUNDS, V_BYTES_T, V_WALL, NV };
static const char *const v_names[NV] = {"point",
                                        "n_seeds",
                                        "final_acc_mean",
                                        "final_acc_std",
                                        "best_acc_mean",
                                        "client_acc_mean_mean",
                                        "rounds_to_target_mean",
                                        "bytes_to_target_mean",
                                        "wall_s_mean"};

#define MAX_COLS 128

int sal_study_print_summary(const sal_study_out *o, FILE *out) {
    char path[SAL_PATH_MAX + 32], line[8192];
    snprintf(path, sizeof path, "%s/summary.csv", o->dir);
    FILE *in = fopen(path, "r");
    if (!in) return -1;
    int w = 5, col[NV], rc = 0;
    char *f[MAX_COLS];
    if (!fgets(line, sizeof line, in)) rc = -1;
    int nf = rc ? 0 : sal_study_split(line, f, MAX_COLS);
    if (!rc && sal_study_columns(f, nf, v_names, NV, col) >= 0) rc = -1;
    while (!rc && fgets(line, sizeof line, in)) {
        int len = (int)strcspn(line, ",");
        w = len > w ? len : w;
    }
    if (rc) {
        fclose(in);
        return rc;
    }
    rewind(in);
    fprintf(out, "%-*s %5s %17s %9s %10s %8s %10s %8s\n", w, "point", "seeds", "final acc (std)",
            "best acc", "client acc", "rounds>=", "MB to tgt", "wall s");
    for (int ln = 0; fgets(line, sizeof line, in); ln++) {
        if (!ln) continue;
        nf = sal_study_split(line, f, MAX_COLS);
        int short_row = 0;
        for (int c = 0; c < NV; c++) short_row |= col[c] >= nf;
        if (short_row) continue;
        const char *v[NV];
        for (int c = 0; c < NV; c++) v[c] = f[col[c]];
        char acc[40], client[16], mb[24];
        snprintf(acc, sizeof acc, "%.4f", atof(v[V_FINAL]));
        if (v[V_FINAL_SD][0])
            snprintf(acc + strlen(acc), sizeof acc - strlen(acc), " (%.4f)", atof(v[V_FINAL_SD]));
        snprintf(client, sizeof client, "-");
        if (v[V_CLIENT][0]) snprintf(client, sizeof client, "%.4f", atof(v[V_CLIENT]));
        snprintf(mb, sizeof mb, "-");
        if (v[V_BYTES_T][0]) snprintf(mb, sizeof mb, "%.2f", atof(v[V_BYTES_T]) / 1e6);
        fprintf(out, "%-*s %5s %17s %9.4f %10s %8s %10s %8.1f\n", w, v[V_POINT], v[V_SEEDS], acc,
                atof(v[V_BEST]), client, v[V_ROUNDS][0] ? v[V_ROUNDS] : "-", mb, atof(v[V_WALL]));
    }
    fclose(in);
    return 0;
}
