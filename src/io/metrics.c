/* metrics.c - metrics.csv and summary.json (see metrics.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "salient/fmt.h"
#include "salient/fsutil.h"
#include "salient/metrics.h"

#define NUM(buf, x) sal_fmt_num((x), (buf), sizeof(buf))
#define DEC(buf, x, d) sal_fmt_dec((x), (d), (buf), sizeof(buf))

sal_status sal_metrics_open(sal_metrics *m, const char *dir, sal_err *err) {
    memset(m, 0, sizeof *m);
    if (snprintf(m->csv_path, sizeof m->csv_path, "%s/metrics.csv", dir) >=
        (int)sizeof m->csv_path)
        return sal_fail(err, SAL_EIO, "output path too long: %s", dir);
    return SAL_OK;
}

void sal_metrics_free(sal_metrics *m) {
    free(m->rows);
    m->rows = NULL;
    m->n = m->cap = 0;
}

/* Training metrics print in the shortest form that reads back bitwise (sal_fmt_num: 0.05, not
 * 0.050000000000000003), so two runs can still be compared exactly from the CSV; timings need
 * no more than microseconds. */
static int fill_csv(FILE *f, const void *ctx) {
    const sal_metrics *m = ctx;
    char a[SAL_NUM_MAX], b[SAL_NUM_MAX];
    fprintf(f, "round,test_acc,test_loss,train_loss,density,bytes_up,bytes_down,comm_s,wait_s,"
               "compute_s,wall_s,lr,samples_per_s,consensus,local_acc_mean,local_acc_min,"
               "client_acc_mean,client_acc_min\n");
    for (int i = 0; i < m->n; i++) {
        const sal_round *r = &m->rows[i];
        fprintf(f, "%d,", r->round);
        if (r->evaluated)
            fprintf(f, "%s,%s,", NUM(a, r->test_acc), NUM(b, r->test_loss));
        else
            fprintf(f, ",,");
        fprintf(f, "%s,%s,", NUM(a, r->train_loss), NUM(b, r->density));
        /* seconds to the microsecond and samples/s to 0.1: measured, the rest is noise */
        char t1[SAL_NUM_MAX], t2[SAL_NUM_MAX], t3[SAL_NUM_MAX], t4[SAL_NUM_MAX];
        fprintf(f, "%" PRIu64 ",%" PRIu64 ",%s,%s,%s,%s,%s,%s,", r->bytes_up, r->bytes_down,
                DEC(t1, r->comm_s, 6), DEC(t2, r->wait_s, 6), DEC(t3, r->compute_s, 6),
                DEC(t4, r->wall_s, 6), NUM(a, r->lr), DEC(b, r->samples_per_s, 1));
        /* empty where they do not apply: no consensus without several models */
        if (r->decentral) fprintf(f, "%s", NUM(a, r->consensus));
        if (r->decentral && r->evaluated)
            fprintf(f, ",%s,%s", NUM(a, r->local_acc_mean), NUM(b, r->local_acc_min));
        else
            fprintf(f, ",,");
        if (r->evaluated && r->clients_evaluated)
            fprintf(f, ",%s,%s\n", NUM(a, r->client_acc_mean), NUM(b, r->client_acc_min));
        else
            fprintf(f, ",,\n");
    }
    return ferror(f);
}

sal_status sal_metrics_restore(sal_metrics *m, const sal_round *row, sal_err *err) {
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 64;
        sal_round *rows = realloc(m->rows, (size_t)cap * sizeof *rows);
        if (!rows) return sal_fail(err, SAL_ENOMEM, "out of memory for metrics");
        m->rows = rows, m->cap = cap;
    }
    m->rows[m->n++] = *row;
    return SAL_OK;
}

sal_status sal_metrics_append(sal_metrics *m, const sal_round *row, sal_err *err) {
    sal_status st = sal_metrics_restore(m, row, err);
    return st ? st : sal_write_atomic(m->csv_path, fill_csv, m, err);
}

typedef struct summary_ctx {
    const sal_metrics *m;
    const char *identity;
    double wall;
} summary_ctx;

static int fill_summary(FILE *f, const void *ctx) {
    const summary_ctx *s = ctx;
    const sal_metrics *m = s->m;
    double best = -1, final_acc = -1, final_loss = -1, comm = 0, wait = 0, compute = 0;
    double client_mean = -1, client_min = -1; /* -1: not evaluated per client (centralized) */
    int best_round = 0;
    uint64_t up = 0, down = 0;
    for (int i = 0; i < m->n; i++) {
        const sal_round *r = &m->rows[i];
        up += r->bytes_up, down += r->bytes_down;
        comm += r->comm_s, wait += r->wait_s, compute += r->compute_s;
        if (r->evaluated) {
            final_acc = r->test_acc, final_loss = r->test_loss;
            if (r->test_acc > best) best = r->test_acc, best_round = r->round;
            if (r->clients_evaluated) client_mean = r->client_acc_mean, client_min = r->client_acc_min;
        }
    }
    /* The mean of the last (up to) 5 evaluations: one evaluation of a non-IID federated run
     * swings by about a point from the next, so comparisons use this. */
    double last5 = 0;
    int k = 0;
    for (int i = m->n - 1; i >= 0 && k < 5; i--)
        if (m->rows[i].evaluated) last5 += m->rows[i].test_acc, k++;
    last5 = k ? last5 / k : -1;
    const sal_round *last = m->n ? &m->rows[m->n - 1] : NULL;
    fprintf(f, "{\n  %s,\n", s->identity);
    fprintf(f, "  \"rounds\": %d,\n", last ? last->round : 0); /* fedavg also has a round 0 */
    char a[SAL_NUM_MAX], b[SAL_NUM_MAX];
    fprintf(f, "  \"final_test_acc\": %s,\n  \"final_test_loss\": %s,\n", NUM(a, final_acc),
            NUM(b, final_loss));
    fprintf(f, "  \"best_test_acc\": %s,\n  \"best_round\": %d,\n", NUM(a, best), best_round);
    fprintf(f, "  \"last5_test_acc\": %s,\n", NUM(a, last5));
    if (client_mean >= 0) /* only where clients were evaluated on their own splits */
        fprintf(f, "  \"final_client_acc_mean\": %s,\n  \"final_client_acc_min\": %s,\n",
                NUM(a, client_mean), NUM(b, client_min));
    fprintf(f, "  \"final_train_loss\": %s,\n", NUM(a, last ? last->train_loss : -1.0));
    fprintf(f, "  \"density\": %s,\n", NUM(a, last ? last->density : 1.0));
    fprintf(f, "  \"bytes_up\": %" PRIu64 ",\n  \"bytes_down\": %" PRIu64 ",\n", up, down);
    fprintf(f, "  \"bytes_total\": %" PRIu64 ",\n", up + down);
    /* seconds to the microsecond (clock resolution, not 17 digits of noise), shortest form */
    char c[SAL_NUM_MAX], w[SAL_NUM_MAX];
    fprintf(f, "  \"comm_s\": %s,\n  \"wait_s\": %s,\n  \"compute_s\": %s,\n", DEC(a, comm, 6),
            DEC(b, wait, 6), DEC(c, compute, 6));
    fprintf(f, "  \"wall_s\": %s\n}\n", DEC(w, s->wall, 6));
    return ferror(f);
}

void sal_round_progress(FILE *f, const sal_round *row, int rounds, double eta_s) {
    if (!f) return;
    char eval[160] = "", cons[48] = "", eta[32] = "-";
    if (row->evaluated) {
        int n = snprintf(eval, sizeof eval, "  test_acc %.4f  test_loss %.4f", row->test_acc,
                         row->test_loss);
        if (row->clients_evaluated && n > 0 && (size_t)n < sizeof eval)
            n += snprintf(eval + n, sizeof eval - (size_t)n, "  client_acc %.4f",
                          row->client_acc_mean);
        if (row->decentral && n > 0 && (size_t)n < sizeof eval)
            snprintf(eval + n, sizeof eval - (size_t)n, "  local %.4f/%.4f", row->local_acc_mean,
                     row->local_acc_min);
    }
    if (row->decentral) snprintf(cons, sizeof cons, "  consensus %.3g", row->consensus);
    if (eta_s >= 0) sal_fmt_duration(eta_s, eta, sizeof eta);
    fprintf(f,
            "round %d/%d  train_loss %.4f%s%s  up %.2f MB  down %.2f MB  %.0f samples/s  %.1f s  "
            "ETA %s\n",
            row->round, rounds, row->train_loss, eval, cons, row->bytes_up / 1e6,
            row->bytes_down / 1e6, row->samples_per_s, row->wall_s, eta);
}

sal_status sal_metrics_write_summary(const sal_metrics *m, const char *dir,
                                     const char *identity_json, double total_wall_s,
                                     sal_err *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    summary_ctx ctx = {m, identity_json, total_wall_s};
    return sal_write_atomic(path, fill_summary, &ctx, err);
}

/* ------------------------------------------------------------------------------------------ */
/* ranks.csv                                                                                  */
/* ------------------------------------------------------------------------------------------ */

#define RANKS_HEADER "round,rank,host,compute_s,comm_s,wait_s,bytes\n"

sal_status sal_ranks_open(sal_ranks_csv *r, const char *dir, sal_err *err) {
    memset(r, 0, sizeof *r);
    r->keep = -1;
    if (snprintf(r->path, sizeof r->path, "%s/ranks.csv", dir) >= (int)sizeof r->path)
        return sal_fail(err, SAL_EIO, "output path too long: %s", dir);
    return SAL_OK;
}

void sal_ranks_resume(sal_ranks_csv *r, int round) { r->keep = round; }

void sal_ranks_close(sal_ranks_csv *r) {
    if (r->f) fclose(r->f);
    r->f = NULL;
}

void sal_rank_host(char *host) {
    char buf[256] = "";
    if (gethostname(buf, sizeof buf - 1) || !buf[0]) strcpy(buf, "?");
    buf[sizeof buf - 1] = '\0';
    snprintf(host, SAL_HOST_MAX, "%s", buf);
    for (char *c = host; *c; c++) /* a host name has no commas; keep the CSV parseable anyway */
        if (*c == ',' || *c == '\n') *c = '_';
}

/* The new file: the header, then (resume) the old file's complete rows of rounds <= keep. */
static int fill_ranks(FILE *f, const void *ctx) {
    const sal_ranks_csv *r = ctx;
    fputs(RANKS_HEADER, f);
    FILE *old = r->keep >= 0 ? fopen(r->path, "r") : NULL;
    if (old) {
        char line[512];
        int first = 1;
        while (fgets(line, sizeof line, old)) {
            size_t len = strlen(line);
            int whole = len > 0 && line[len - 1] == '\n';
            int round;
            if (!first && whole && sscanf(line, "%d,", &round) == 1 && round <= r->keep)
                fputs(line, f);
            first = 0;
            /* a line longer than the buffer is not ours: skip the rest of it */
            while (!whole && fgets(line, sizeof line, old)) {
                len = strlen(line);
                whole = len > 0 && line[len - 1] == '\n';
            }
        }
        fclose(old);
    }
    return ferror(f);
}

sal_status sal_ranks_append(sal_ranks_csv *r, const sal_rank_row *rows, int n, sal_err *err) {
    if (!r->f) {
        sal_status st = sal_write_atomic(r->path, fill_ranks, r, err);
        if (st) return st;
        if (!(r->f = fopen(r->path, "a")))
            return sal_fail(err, SAL_EIO, "cannot append to '%s'", r->path);
        setvbuf(r->f, NULL, _IOFBF, 1 << 16); /* a round of up to ~800 ranks in one write */
    }
    for (int i = 0; i < n; i++) {
        const sal_rank_row *w = &rows[i];
        char host[SAL_HOST_MAX];
        memcpy(host, w->host, sizeof host);
        host[sizeof host - 1] = '\0';
        char t1[SAL_NUM_MAX], t2[SAL_NUM_MAX], t3[SAL_NUM_MAX];
        fprintf(r->f, "%d,%d,%s,%s,%s,%s,%" PRIu64 "\n", (int)w->round, (int)w->rank, host,
                DEC(t1, w->compute_s, 6), DEC(t2, w->comm_s, 6), DEC(t3, w->wait_s, 6), w->bytes);
    }
    /* the round's rows leave in one write (the stream's buffer holds them): complete rows */
    if (fflush(r->f) || ferror(r->f)) return sal_fail(err, SAL_EIO, "cannot write '%s'", r->path);
    return SAL_OK;
}
