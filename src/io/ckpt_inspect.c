/* ckpt_inspect.c - a checkpoint in words (`salient ckpt inspect`): header, a config summary,
 * per-tensor shapes and mask densities, every CRC a resume checks, and the last evaluation.
 * Works from the file alone (the tensor tables are read back from /model and /state, ordered by
 * each dataset's offset attribute), so it needs neither the data set nor the config that wrote
 * it. */
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "h5util.h"
#include "salient/ckpt.h"
#include "salient/config.h"
#include "salient/schedule.h"

typedef struct entry {
    char path[96]; /* "conv1/weight" below /model and /mask */
    int ndim;
    hsize_t dims[8];
    uint64_t offset;
} entry;

typedef struct table {
    entry *e; /* (n) owned, grown as datasets are found */
    int n, cap;
} table;

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
    table *t = data;
    if (info->type != H5O_TYPE_DATASET) return 0;
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        entry *e = realloc(t->e, sizeof *e * (size_t)cap);
        if (!e) return -1; /* stops the visit; the caller reports out of memory */
        t->e = e, t->cap = cap;
    }
    entry *e = &t->e[t->n];
    snprintf(e->path, sizeof e->path, "%s", name);
    hid_t ds = H5Dopen2(obj, name, H5P_DEFAULT);
    if (ds < 0) return 0;
    hid_t sp = H5Dget_space(ds);
    e->ndim = H5Sget_simple_extent_ndims(sp);
    if (e->ndim < 0 || e->ndim > 8) e->ndim = 0;
    else H5Sget_simple_extent_dims(sp, e->dims, NULL);
    H5Sclose(sp);
    e->offset = 0;
    if (sal_h5_attr_int(ds, "offset", H5T_NATIVE_UINT64, &e->offset)) e->offset = 0;
    H5Dclose(ds);
    t->n++;
    return 0;
}

static int by_offset(const void *a, const void *b) {
    const entry *x = a, *y = b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* The datasets below group (where the file has it) into t, in the order of their offset
 * attributes (salient's flat order). */
static sal_status list_group(hid_t f, const char *path, const char *group, table *t,
                             sal_err *err) {
    if (H5Lexists(f, group, H5P_DEFAULT) <= 0) return SAL_OK;
    hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
    if (g < 0)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s is not a group; the file is "
                        "damaged or foreign", path, group);
    herr_t rc = H5Ovisit(g, H5_INDEX_NAME, H5_ITER_NATIVE, visit, t);
    H5Gclose(g);
    if (rc < 0 && t->n == t->cap)
        return sal_fail(err, SAL_ENOMEM, "checkpoint '%s': out of memory listing %s", path, group);
    if (t->n) qsort(t->e, (size_t)t->n, sizeof *t->e, by_offset);
    return SAL_OK;
}

/* What "crc32c: ok" vouches for in this file: every dataset a resume checks against its
 * CRC-32C (verify), the seal and the header CRC (sal_ckpt_info_read), by the format version
 * that brought each. */
static void checked_line(FILE *out, const sal_ckpt_info *info, int has_state) {
    fprintf(out, "crc32c.checked: seal%s, /mask, /model%s%s%s%s%s%s",
            info->version >= 2 ? ", header" : "", has_state ? ", /state" : "",
            info->has_momentum ? ", /optim/momentum" : "",
            info->has_randk_memory ? ", /comm/randk_client_memory" : "",
            info->has_schedule ? ", /schedule/state" : "",
            info->has_rewind ? ", /schedule/rewind" : "",
            info->has_rewind && has_state && info->version >= 5 ? ", /schedule/rewind_state" : "");
    const int rows = info->has_rank_w || info->has_rank_m || info->has_rank_r || info->has_rank_s;
    fprintf(out, "%s%s%s%s", info->has_rank_w ? ", /ranks/weights" : "",
            info->has_rank_m ? ", /ranks/momentum" : "",
            info->has_rank_r ? ", /ranks/residual" : "", info->has_rank_s ? ", /ranks/state" : "");
    if (rows) fprintf(out, " (%d rows each)", info->nranks);
    fprintf(out, "%s\n", info->version >= 3 ? ", /metrics" : "");
}

/* The value of "key = value" in [section] of INI text, into buf ("?" if absent). */
static const char *ini_value(const char *text, const char *section, const char *key, char *buf,
                             size_t cap) {
    char head[64];
    snprintf(head, sizeof head, "[%s]", section);
    const char *s = strstr(text, head);
    snprintf(buf, cap, "?");
    if (!s) return buf;
    size_t klen = strlen(key);
    for (const char *l = strchr(s, '\n'); l && l[1] && l[1] != '['; l = strchr(l + 1, '\n')) {
        const char *v = l + 1;
        if (!strncmp(v, key, klen) && !strncmp(v + klen, " =", 2)) {
            v += klen + 2;
            while (*v == ' ') v++;
            size_t len = strcspn(v, "\n");
            snprintf(buf, cap, "%.*s", (int)(len < cap ? len : cap - 1), v);
            break;
        }
    }
    return buf;
}

/* The values t's shapes hold, or UINT64_MAX once they pass cap (and where a dimension would
 * overflow an int): the shapes are the file's word, checked before anything is allocated for
 * them. */
static uint64_t numel_upto(const table *t, uint64_t cap) {
    uint64_t total = 0;
    for (int i = 0; i < t->n; i++) {
        uint64_t numel = 1;
        for (int d = 0; d < t->e[i].ndim && numel <= cap; d++)
            numel = t->e[i].dims[d] > INT_MAX ? UINT64_MAX : numel * t->e[i].dims[d];
        total = numel > cap || total + numel > cap ? UINT64_MAX : total + numel;
    }
    return total;
}

/* /model's tensors add up to the header's parameter count; /state's (no header attribute
 * counts them) fit in the file, whose length the seal vouches for. */
static sal_status shapes_fit(const char *path, const table *model, const table *state,
                             const sal_ckpt_info *info, sal_err *err) {
    if (numel_upto(model, info->n) != info->n)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /model's tensors do not add up to "
                        "the header's %llu parameters; the file is damaged or foreign", path,
                        (unsigned long long)info->n);
    struct stat sb;
    if (state->n && (stat(path, &sb) || numel_upto(state, (uint64_t)sb.st_size / 4) == UINT64_MAX))
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /state's tensors hold more floats "
                        "than the file has bytes for; the file is damaged or foreign", path);
    return SAL_OK;
}

/* The views of table t (a group's entries, "fc1/weight" -> "fc1.weight") appended to p: as
 * trainable tensors (group "/model") or as state (group "/state"). */
static sal_status add_views(sal_params *p, const table *t, const char *group, const char *path,
                            sal_err *err) {
    const int state = !strcmp(group, "/state");
    for (int i = 0; i < t->n; i++) {
        const entry *e = &t->e[i];
        char name[sizeof e->path];
        snprintf(name, sizeof name, "%s", e->path);
        char *slash = strchr(name, '/');
        if (slash) *slash = '.';
        int shape[4] = {1, 1, 1, 1};
        for (int d = 0; d < e->ndim && d < 4; d++) shape[d] = (int)e->dims[d];
        if (e->ndim > 4 ||
            (state ? sal_params_add_state(p, name, e->ndim, shape, SAL_INIT_ZERO)
                   : sal_params_add(p, name, e->ndim, shape, 1, e->ndim > 1, SAL_INIT_FANIN)) < 0)
            return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s/%s is not a tensor salient "
                            "writes", path, group, e->path);
    }
    return SAL_OK;
}

/* Every checksummed dataset against its CRC-32C, through the loader a resume reads it with: a
 * tensor table rebuilt from the file's own /model and /state entries, then every rank's rows
 * (/ranks/state included), then IMP's rewind point. sched (3): where /schedule/state goes, when
 * the file has one. */
static sal_status verify(const char *path, const table *t, const table *s,
                         const sal_ckpt_info *info, int64_t *sched, sal_err *err) {
    sal_params p;
    memset(&p, 0, sizeof p);
    sal_status st = add_views(&p, t, "/model", path, err);
    if (!st) st = add_views(&p, s, "/state", path, err);
    if (st) {
        sal_params_free(&p);
        return st;
    }
    if (sal_params_alloc(&p)) return sal_fail(err, SAL_ENOMEM, "out of memory");
    if (p.n != info->n) {
        sal_params_free(&p);
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /model holds %zu values, the header "
                        "says %llu", path, p.n, (unsigned long long)info->n);
    }
    const size_t n = p.n ? p.n : 1, ns = p.ns ? p.ns : 1;
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
    float *c = malloc(sizeof(float) * n), *m = malloc(sizeof(float) * n);
    float *rs = malloc(sizeof(float) * ns), *rw = malloc(sizeof(float) * (n + ns));
    /* Rand-k-Temporal's per-client memory: clients x nnz floats, which the file must hold (its
     * seal vouches for its length) before anything that size is allocated */
    struct stat sb;
    const double mem_bytes = (double)info->randk_clients * (double)info->nnz * 4;
    float *rk = NULL;
    st = a && b && c && m && rs && rw ? SAL_OK : sal_fail(err, SAL_ENOMEM, "out of memory");
    if (!st && info->has_randk_memory &&
        (info->randk_clients < 1 || stat(path, &sb) || mem_bytes > (double)sb.st_size))
        st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /comm/randk_client_memory is not "
                      "[clients, %llu] floats within the file; the file is damaged or foreign",
                      path, (unsigned long long)info->nnz);
    if (!st && info->has_randk_memory &&
        !(rk = malloc((size_t)info->randk_clients * (size_t)(info->nnz ? info->nnz : 1) * 4)))
        st = sal_fail(err, SAL_ENOMEM, "out of memory");
    if (!st) { /* /mask, /model, /state, /optim, /comm, /schedule/state, /metrics */
        sal_ckpt_dst d = {.p = &p, .model = 1, .momentum = info->has_momentum ? m : NULL,
                          .randk_memory = rk, .randk_clients = info->randk_clients,
                          .sched = info->has_schedule ? sched : NULL,
                          .check_metrics = 1, .sealed = 1}; /* sal_ckpt_inspect checked it */
        st = sal_ckpt_load(path, &d, err);
    }
    for (int r = 0; !st && r < info->nranks && (info->has_rank_w || info->has_rank_m ||
                                                 info->has_rank_r || info->has_rank_s); r++) {
        sal_ckpt_dst d = {.p = &p, .rank = r, .rank_w = info->has_rank_w ? a : NULL,
                          .rank_m = info->has_rank_m ? b : NULL,
                          .rank_r = info->has_rank_r ? c : NULL,
                          .rank_s = info->has_rank_s ? rs : NULL, .sealed = 1};
        st = sal_ckpt_load(path, &d, err);
    }
    if (!st && info->has_rewind) {
        /* A file of format 4 holds the weights' rewind point alone (no /schedule/rewind_state),
         * which a resume of a BatchNorm model refuses as too old, not as damaged: its weights
         * are checked here without the state. */
        sal_params q = p;
        if (info->version < 5) q.nstate = 0, q.ns = 0;
        sal_ckpt_dst d = {.p = &q, .rewind = rw, .sealed = 1};
        st = sal_ckpt_load(path, &d, err);
    }
    free(a), free(b), free(c), free(m), free(rs), free(rw), free(rk);
    sal_params_free(&p);
    return st;
}

/* [sparsity] schedule's state in words: /schedule/state as stored (v: prunes done, prunable
 * weights kept, prunable weights; checked against its CRC), then what the config the file
 * carries says follows: the cycle the next round is in, the next prune and the final density.
 * The timing is schedule.h's, the functions a run derives it with. A config that no longer
 * parses (a key since removed) leaves the stored lines alone. */
static void schedule_lines(FILE *out, const sal_ckpt_info *info, const int64_t v[3]) {
    sal_config c;
    sal_config_defaults(&c);
    sal_err e;
    sal_sched s;
    const int known = !sal_config_load_string(&c, info->config_text, "the checkpoint's config",
                                              &e) &&
                      c.schedule != SAL_SCHED_FIXED &&
                      !sal_sched_init(&s, c.schedule, c.cycles, c.cycle_rounds, c.rewind_round,
                                      c.rounds, (size_t)v[2], c.start_density, c.density, &e);
    const double prunable = v[2] > 0 ? (double)v[2] : 1.0;
    fprintf(out, "schedule: %s\n",
            known ? sal_config_enum_name("sparsity", "schedule", c.schedule) : "?");
    if (known) fprintf(out, "schedule.prunes_done: %lld of %d\n", (long long)v[0],
                       sal_sched_prunes(&s));
    else fprintf(out, "schedule.prunes_done: %lld\n", (long long)v[0]);
    fprintf(out, "schedule.kept: %lld of %lld prunable weights (density %.6f)\n", (long long)v[1],
            (long long)v[2], (double)v[1] / prunable);
    if (!known) return;
    const int done = info->round;
    if (done >= c.rounds) {
        fprintf(out, "schedule.cycle: none (all %d rounds done)\n", c.rounds);
    } else {
        sal_sched_pos pos;
        sal_sched_where(&s, done, &pos);
        /* phases 0..C-1 are the cycles, phase C the training after the last one */
        fprintf(out, "schedule.cycle: %d of %d, rounds %d-%d%s\n", pos.phase + 1, s.cycles + 1,
                pos.start + 1, pos.start + pos.len,
                pos.phase == s.cycles ? " (the final phase, after the last cycle)" : "");
    }
    int next = 0, k = 0;
    for (int d = done + 1; d <= c.rounds && !k; d++)
        if ((k = sal_sched_prune_after(&s, d))) next = d;
    if (k) {
        const size_t kept = sal_sched_kept(&s, k);
        fprintf(out, "schedule.next_prune: after round %d, prune %d of %d to %zu prunable weights "
                "(density %.6f)\n", next, k, sal_sched_prunes(&s), kept, (double)kept / prunable);
    } else {
        fprintf(out, "schedule.next_prune: none\n");
    }
    fprintf(out, "schedule.target_density: %.6f (%zu prunable weights after the last prune)\n",
            (double)s.final_kept / prunable, s.final_kept);
    if (c.schedule == SAL_SCHED_IMP)
        fprintf(out, "schedule.rewind_round: %d\n", c.rewind_round);
}

sal_status sal_ckpt_inspect(const char *path, FILE *out, sal_err *err) {
    sal_ckpt_info info;
    sal_status st = sal_ckpt_info_read(path, &info, err);
    if (st) return st;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        sal_ckpt_info_free(&info);
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s' cannot be opened", path);
    }
    fprintf(out, "file: %s\nformat_version: %d\nround: %d\nalgorithm: %s\narch: %s\n", path,
            info.version, info.round, info.algorithm, info.arch);
    /* ranks: the run's; nranks: those that wrote the file (fedavg's server alone) */
    if (info.world_size > 0) fprintf(out, "ranks: %d\n", info.world_size);
    else fprintf(out, "ranks: unknown (written before format 5)\n");
    fprintf(out, "nranks: %d (ranks that wrote the file)\nstep: %lld\nseed: %llu\n", info.nranks,
            (long long)info.step, (unsigned long long)info.seed);
    static const char *summary[][2] = {
        {"data", "dataset"},   {"data", "partition"},  {"data", "alpha"},
        {"data", "clients"},   {"train", "batch"},     {"train", "lr"},
        {"train", "momentum"}, {"sparsity", "method"}, {"sparsity", "density"},
        {"comm", "compress"},  {"topology", "graph"},  {"run", "rounds"}};
    for (size_t i = 0; i < sizeof summary / sizeof *summary; i++) {
        char v[128];
        fprintf(out, "config.%s.%s: %s\n", summary[i][0], summary[i][1],
                ini_value(info.config_text, summary[i][0], summary[i][1], v, sizeof v));
    }
    table t = {.n = 0}, s = {.n = 0}; /* /model's tensors, /state's */
    st = list_group(f, path, "/model", &t, err);
    if (!st) st = list_group(f, path, "/state", &s, err);
    if (!st) st = shapes_fit(path, &t, &s, &info, err);
    uint64_t kept_all = 0, total = 0, kept_prunable = 0, total_prunable = 0;
    for (int i = 0; i < t.n && !st; i++) {
        const entry *e = &t.e[i];
        size_t numel = 1;
        char shape[96] = "";
        for (int d = 0; d < e->ndim; d++) {
            numel *= e->dims[d];
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%llu", d ? "x" : "",
                     (unsigned long long)e->dims[d]);
        }
        char mpath[128];
        snprintf(mpath, sizeof mpath, "/mask/%s", e->path);
        uint8_t *m = malloc(numel ? numel : 1);
        hid_t ds = H5Lexists(f, "/mask", H5P_DEFAULT) > 0 && H5Lexists(f, mpath, H5P_DEFAULT) > 0
                       ? H5Dopen2(f, mpath, H5P_DEFAULT)
                       : -1;
        /* the mask's size is the file's word, not /model's: check it before reading */
        hid_t msp = ds >= 0 ? H5Dget_space(ds) : -1;
        int fits = msp >= 0 && H5Sget_simple_extent_npoints(msp) == (hssize_t)numel;
        if (msp >= 0) H5Sclose(msp);
        if (!m || ds < 0 || !fits ||
            H5Dread(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, m) < 0)
            st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s': %s is missing, unreadable or not of "
                          "/model's shape", path, mpath);
        if (ds >= 0) H5Dclose(ds);
        uint64_t kept = 0;
        for (size_t j = 0; !st && j < numel; j++) kept += m[j] != 0;
        free(m);
        if (st) break;
        /* weights (more than one dimension) are what pruning chooses among */
        if (e->ndim > 1) kept_prunable += kept, total_prunable += numel;
        kept_all += kept, total += numel;
        fprintf(out, "tensor %s: shape %s, kept %llu of %zu, density %.4f\n", e->path, shape,
                (unsigned long long)kept, numel, numel ? (double)kept / (double)numel : 0.0);
    }
    if (!st) {
        fprintf(out, "parameters: %llu\nnnz: %llu\ndensity: %.6f\nweight_density: %.6f\n",
                (unsigned long long)total, (unsigned long long)kept_all,
                total ? (double)kept_all / (double)total : 0.0,
                total_prunable ? (double)kept_prunable / (double)total_prunable : 0.0);
        int64_t sched[3] = {0, 0, 0};
        st = verify(path, &t, &s, &info, sched, err);
        if (!st) fprintf(out, "crc32c: ok\n");
        if (!st) checked_line(out, &info, s.n > 0);
        if (!st && info.has_schedule) schedule_lines(out, &info, sched);
        else if (!st) fprintf(out, "schedule: fixed\n"); /* no /schedule: one mask all along */
        fprintf(out, "metrics_rows: %d\n", info.nrows);
        if (info.nrows > 0) {
            hid_t ds = H5Dopen2(f, "/metrics", H5P_DEFAULT);
            sal_round *rows = calloc((size_t)info.nrows, sizeof *rows);
            hid_t mt = sal_h5_round_type(0);
            if (rows && ds >= 0 && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0)
                for (int i = info.nrows - 1; i >= 0; i--)
                    if (rows[i].evaluated) {
                        fprintf(out, "last_eval_round: %d\ntest_acc: %.4f\n", rows[i].round,
                                rows[i].test_acc);
                        break;
                    }
            H5Tclose(mt);
            if (ds >= 0) H5Dclose(ds);
            free(rows);
        }
    }
    free(t.e), free(s.e);
    H5Fclose(f);
    sal_ckpt_info_free(&info);
    return st;
}
