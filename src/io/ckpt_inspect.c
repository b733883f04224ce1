/* ckpt_inspect.c - a checkpoint in words (`salient ckpt inspect`): header, a config summary,
 * per-tensor shapes and mask densities, and the last evaluation. Works from the file alone (the
 * tensor table is read back from /model, ordered by each dataset's offset attribute), so it
 * needs neither the data set nor the config that wrote it. */
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

/* The shapes are the file's word: their total must be the header's before anything is
 * allocated for them (and no dimension may overflow an int). */
static sal_status shapes_fit(const char *path, const table *t, const sal_ckpt_info *info,
                             sal_err *err) {
    uint64_t total = 0;
    for (int i = 0; i < t->n; i++) {
        uint64_t numel = 1;
        for (int d = 0; d < t->e[i].ndim && numel <= info->n; d++)
            numel = t->e[i].dims[d] > INT_MAX ? UINT64_MAX : numel * t->e[i].dims[d];
        total = numel > info->n || total + numel > info->n ? UINT64_MAX : total + numel;
    }
    if (total != info->n)
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /model's tensors do not add up to "
                        "the header's %llu parameters; the file is damaged or foreign", path,
                        (unsigned long long)info->n);
    return SAL_OK;
}

/* Every dataset against its CRC32, through the loader: a tensor table rebuilt from the file's
 * own /model entries ("fc1/weight" -> "fc1.weight"), then every rank's rows. sched (3): where
 * /schedule/state goes, when the file has one. */
static sal_status verify(const char *path, const table *t, const sal_ckpt_info *info,
                         int64_t *sched, sal_err *err) {
    sal_params p;
    memset(&p, 0, sizeof p);
    for (int i = 0; i < t->n; i++) {
        const entry *e = &t->e[i];
        char name[sizeof e->path];
        snprintf(name, sizeof name, "%s", e->path);
        char *slash = strchr(name, '/');
        if (slash) *slash = '.';
        int shape[4] = {1, 1, 1, 1};
        for (int d = 0; d < e->ndim && d < 4; d++) shape[d] = (int)e->dims[d];
        if (e->ndim > 4 ||
            sal_params_add(&p, name, e->ndim, shape, 1, e->ndim > 1, SAL_INIT_FANIN) < 0) {
            sal_params_free(&p);
            return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /model/%s is not a tensor salient "
                            "writes", path, e->path);
        }
    }
    if (sal_params_alloc(&p)) return sal_fail(err, SAL_ENOMEM, "out of memory");
    if (p.n != info->n) {
        sal_params_free(&p);
        return sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /model holds %zu values, the header "
                        "says %llu", path, p.n, (unsigned long long)info->n);
    }
    float *a = malloc(sizeof(float) * (p.n ? p.n : 1)), *b = malloc(sizeof(float) * (p.n ? p.n : 1));
    float *c = malloc(sizeof(float) * (p.n ? p.n : 1)), *m = malloc(sizeof(float) * (p.n ? p.n : 1));
    /* Rand-k-Temporal's per-client memory: clients x nnz floats, which the file must hold (its
     * seal vouches for its length) before anything that size is allocated */
    struct stat sb;
    const double mem_bytes = (double)info->randk_clients * (double)info->nnz * 4;
    float *rk = NULL;
    sal_status st = a && b && c && m ? SAL_OK : sal_fail(err, SAL_ENOMEM, "out of memory");
    if (!st && info->has_randk_memory &&
        (info->randk_clients < 1 || stat(path, &sb) || mem_bytes > (double)sb.st_size))
        st = sal_fail(err, SAL_EFORMAT, "checkpoint '%s': /comm/randk_client_memory is not "
                      "[clients, %llu] floats within the file; the file is damaged or foreign",
                      path, (unsigned long long)info->nnz);
    if (!st && info->has_randk_memory &&
        !(rk = malloc((size_t)info->randk_clients * (size_t)(info->nnz ? info->nnz : 1) * 4)))
        st = sal_fail(err, SAL_ENOMEM, "out of memory");
    if (!st) {
        sal_ckpt_dst d = {.p = &p, .model = 1, .momentum = info->has_momentum ? m : NULL,
                          .randk_memory = rk, .randk_clients = info->randk_clients,
                          .sched = info->has_schedule ? sched : NULL,
                          .check_metrics = 1, .sealed = 1}; /* sal_ckpt_inspect checked it */
        st = sal_ckpt_load(path, &d, err);
    }
    for (int r = 0; !st && r < info->nranks && (info->has_rank_w || info->has_rank_m ||
                                                 info->has_rank_r); r++) {
        sal_ckpt_dst d = {.p = &p, .rank = r, .rank_w = info->has_rank_w ? a : NULL,
                          .rank_m = info->has_rank_m ? b : NULL,
                          .rank_r = info->has_rank_r ? c : NULL, .sealed = 1};
        st = sal_ckpt_load(path, &d, err);
    }
    free(a), free(b), free(c), free(m), free(rk);
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
    table t = {.n = 0};
    if (H5Lexists(f, "/model", H5P_DEFAULT) > 0) {
        hid_t g = H5Gopen2(f, "/model", H5P_DEFAULT);
        if (H5Ovisit(g, H5_INDEX_NAME, H5_ITER_NATIVE, visit, &t) < 0 && t.n == t.cap)
            st = sal_fail(err, SAL_ENOMEM, "checkpoint '%s': out of memory listing /model", path);
        H5Gclose(g);
    }
    if (!st) st = shapes_fit(path, &t, &info, err);
    if (t.n) qsort(t.e, (size_t)t.n, sizeof *t.e, by_offset);
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
        st = verify(path, &t, &info, sched, err);
        if (!st) fprintf(out, "crc32c: ok\n");
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
    free(t.e);
    H5Fclose(f);
    sal_ckpt_info_free(&info);
    return st;
}
