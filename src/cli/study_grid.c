/* study_grid.c - the points of a `salient compare` study: algorithms x --vary values, each
 * point's config, label and directory; an invalid combination is a point to skip, not an error. */
#include <stdio.h>
#include <string.h>

#include "salient/train.h"
#include "study.h"

sal_status sal_study_set_algorithms(sal_study *s, const char *list, sal_err *err) {
    char buf[1024];
    if (strlen(list) >= sizeof buf)
        return sal_fail(err, SAL_ECONFIG, "--algorithms: too long (at most %d names)",
                        SAL_STUDY_MAX_ALGOS);
    snprintf(buf, sizeof buf, "%s", list);
    s->nalgo = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (s->nalgo == SAL_STUDY_MAX_ALGOS)
            return sal_fail(err, SAL_ECONFIG,
                            "--algorithms '%s': give 1 to %d names separated "
                            "by commas",
                            list, SAL_STUDY_MAX_ALGOS);
        sal_study_algo *a = &s->algo[s->nalgo];
        memset(a, 0, sizeof *a);
        a->graph = a->compress = -1;
        if (strlen(tok) >= sizeof a->name) goto unknown;
        snprintf(a->name, sizeof a->name, "%s", tok);
        char *colon = strchr(tok, ':');
        if (colon) *colon = '\0';
        sal_config probe;
        sal_config_defaults(&probe);
        char set[160];
        sal_err e;
        snprintf(set, sizeof set, "train.algorithm=%.120s", tok);
        if (sal_config_set(&probe, set, &e)) goto unknown;
        a->algo = probe.algorithm;
        if (colon && a->algo == SAL_ALGO_DPSGD) {
            snprintf(set, sizeof set, "topology.graph=%.120s", colon + 1);
            if (sal_config_set(&probe, set, &e)) goto unknown;
            a->graph = probe.graph;
        } else if (colon && a->algo == SAL_ALGO_ALLREDUCE) {
            snprintf(set, sizeof set, "comm.compress=%.120s", colon + 1);
            if (sal_config_set(&probe, set, &e)) goto unknown;
            a->compress = probe.compress;
        } else if (colon) {
            goto unknown;
        }
        memcpy(a->dir_name, a->name, sizeof a->name);
        for (char *c = a->dir_name; *c; c++)
            if (*c == ':') *c = '-';
        for (int b = 0; b < s->nalgo; b++)
            if (!strcmp(s->algo[b].dir_name, a->dir_name))
                return sal_fail(err, SAL_ECONFIG,
                                "--algorithms names %s twice; give each algorithm once", a->name);
        s->nalgo++;
        continue;
    unknown:
        return sal_fail(err, SAL_ECONFIG,
                        "--algorithms '%s': unknown algorithm or graph (see salient compare "
                        "--help)",
                        list);
    }
    if (!s->nalgo)
        return sal_fail(err, SAL_ECONFIG,
                        "--algorithms '%s': give 1 to %d names separated by "
                        "commas",
                        list, SAL_STUDY_MAX_ALGOS);
    long points = sal_study_points(s);
    if (points > SAL_STUDY_MAX_POINTS)
        return sal_fail(err, SAL_ECONFIG,
                        "the study has %ld points, more than %d; vary fewer "
                        "keys or values",
                        points, SAL_STUDY_MAX_POINTS);
    return SAL_OK;
}

sal_status sal_study_add_vary(sal_study *s, const char *spec, sal_err *err) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1])
        return sal_fail(err, SAL_ECONFIG,
                        "--vary '%s': give section.key=v1,v2,... (e.g. "
                        "sparsity.density=0.5,0.1)",
                        spec);
    if (s->naxes == SAL_STUDY_MAX_AXES)
        return sal_fail(err, SAL_ECONFIG, "--vary '%s': at most %d --vary options", spec,
                        SAL_STUDY_MAX_AXES);
    sal_study_axis *ax = &s->axis[s->naxes];
    memset(ax, 0, sizeof *ax);
    size_t klen = (size_t)(eq - spec);
    if (klen >= sizeof ax->key)
        return sal_fail(err, SAL_ECONFIG, "--vary '%s': key too long", spec);
    memcpy(ax->key, spec, klen);
    static const char *const fixed[][2] = {
        {"train.algorithm", "--algorithms chooses the algorithms"},
        {"run.seed", "--seeds N runs seeds [run] seed, seed + 1, ..."},
        {"run.out", "--out names the study's directory"},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (!strcmp(ax->key, fixed[i][0]))
            return sal_fail(err, SAL_ECONFIG, "--vary %s: not a study key (%s)", ax->key,
                            fixed[i][1]);
    for (int a = 0; a < s->naxes; a++)
        if (!strcmp(s->axis[a].key, ax->key))
            return sal_fail(err, SAL_ECONFIG,
                            "--vary %s given twice; list all its values in one "
                            "--vary",
                            ax->key);
    const char *v = eq + 1;
    for (;;) {
        const char *end = strchr(v, ',');
        size_t len = end ? (size_t)(end - v) : strlen(v);
        if (!len) return sal_fail(err, SAL_ECONFIG, "--vary '%s': an empty value", spec);
        if (ax->n == SAL_STUDY_MAX_VALUES)
            return sal_fail(err, SAL_ECONFIG, "--vary %s: at most %d values", ax->key,
                            SAL_STUDY_MAX_VALUES);
        if (len >= SAL_STUDY_VAL_MAX)
            return sal_fail(err, SAL_ECONFIG, "--vary %s: value '%.40s...' too long", ax->key, v);
        memcpy(ax->val[ax->n], v, len);
        ax->val[ax->n][len] = '\0';
        for (const char *c = ax->val[ax->n]; *c; c++)
            if (*c == '"' || *c == ' ' || *c == '\t' || (unsigned char)*c < 0x20)
                return sal_fail(err, SAL_ECONFIG,
                                "--vary %s: value '%s' holds a space, quote or "
                                "control character",
                                ax->key, ax->val[ax->n]);
        for (int b = 0; b < ax->n; b++)
            if (!strcmp(ax->val[b], ax->val[ax->n]))
                return sal_fail(err, SAL_ECONFIG, "--vary %s: value %s given twice", ax->key,
                                ax->val[b]);
        /* A typo in a key or value fails now, before hours of other points have run. */
        char set[SAL_STUDY_KEY_MAX + SAL_STUDY_VAL_MAX + 2];
        snprintf(set, sizeof set, "%s=%s", ax->key, ax->val[ax->n]);
        sal_config probe;
        sal_config_defaults(&probe);
        sal_err e;
        if (sal_config_set(&probe, set, &e))
            return sal_fail(err, SAL_ECONFIG, "--vary %s: %s", ax->key, e.msg);
        ax->n++;
        if (!end) break;
        v = end + 1;
    }
    s->naxes++;
    long points = sal_study_points(s);
    if (points > SAL_STUDY_MAX_POINTS) {
        s->naxes--;
        return sal_fail(err, SAL_ECONFIG,
                        "the study has %ld points, more than %d; vary fewer "
                        "keys or values",
                        points, SAL_STUDY_MAX_POINTS);
    }
    return SAL_OK;
}

int sal_study_points(const sal_study *s) {
    /* Each factor is <= 32 and the product is checked after every axis, so no overflow. */
    long n = s->nalgo > 0 ? s->nalgo : 1;
    for (int a = 0; a < s->naxes; a++) n *= s->axis[a].n;
    return (int)n;
}

void sal_study_decompose(const sal_study *s, int p, int *algo, int *vi) {
    for (int a = s->naxes - 1; a >= 0; a--) {
        vi[a] = p % s->axis[a].n;
        p /= s->axis[a].n;
    }
    *algo = p;
}

char *sal_study_label(const sal_study *s, int p, char *buf, size_t n) {
    int algo, vi[SAL_STUDY_MAX_AXES];
    sal_study_decompose(s, p, &algo, vi);
    size_t len = (size_t)snprintf(buf, n, "%s", s->algo[algo].name);
    for (int a = 0; a < s->naxes && len < n; a++)
        len +=
            (size_t)snprintf(buf + len, n - len, " %s=%s", s->axis[a].key, s->axis[a].val[vi[a]]);
    return buf;
}

int sal_study_dir(const sal_study *s, int p, char *buf, size_t n) {
    int algo, vi[SAL_STUDY_MAX_AXES];
    sal_study_decompose(s, p, &algo, vi);
    size_t len = (size_t)snprintf(buf, n, "%s", s->algo[algo].dir_name);
    if (len >= n) return -1;
    size_t start = len + 1;
    for (int a = 0; a < s->naxes; a++) {
        len += (size_t)snprintf(buf + len, n - len, "%c%s=%s", a ? ',' : '/', s->axis[a].key,
                                s->axis[a].val[vi[a]]);
        if (len >= n) return -1;
    }
    for (char *c = buf + (s->naxes ? start : len); *c; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                 strchr("._=,+-", *c);
        if (!ok) *c = '_';
    }
    return 0;
}

sal_status sal_study_config(const sal_study *s, int p, const sal_config *base, int nranks,
                            sal_config *out, sal_err *err) {
    int algo, vi[SAL_STUDY_MAX_AXES];
    sal_study_decompose(s, p, &algo, vi);
    const sal_study_algo *al = &s->algo[algo];
    *out = *base;
    out->algorithm = al->algo;
    if (al->graph >= 0) out->graph = (sal_graph_kind)al->graph;
    if (al->compress >= 0) out->compress = (sal_compress)al->compress;
    for (int a = 0; a < s->naxes; a++) {
        char set[SAL_STUDY_KEY_MAX + SAL_STUDY_VAL_MAX + 2];
        snprintf(set, sizeof set, "%s=%s", s->axis[a].key, s->axis[a].val[vi[a]]);
        sal_status st = sal_config_set(out, set, err);
        if (st) return st;
    }
    /* after the --vary values: a varied [comm] compress must not leak into dpsgd's runs */
    if (out->algorithm !=
        (out->compress == SAL_COMPRESS_RANDK ? SAL_ALGO_FEDAVG : SAL_ALGO_ALLREDUCE))
        out->compress = SAL_COMPRESS_NONE; /* randk: fedavg's uploads; the others: allreduce */
    if (out->algorithm != SAL_ALGO_FEDAVG) out->quantize = SAL_QUANT_NONE; /* fedavg's uploads */
    /* allreduce:mask sends the mask's entries; at a dense point the mask is every weight, so
     * it is the dense allreduce (a method=none,snip grid keeps its dense baseline) */
    if (out->compress == SAL_COMPRESS_MASK && out->method == SAL_SPARSE_NONE)
        out->compress = SAL_COMPRESS_NONE;
    sal_status st = sal_config_validate(out, err);
    if (!st && out->algorithm != SAL_ALGO_CENTRALIZED) st = sal_train_check_ranks(out, nranks, err);
    return st ? SAL_ECONFIG : SAL_OK;
}
