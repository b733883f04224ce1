/* config.c - the run configuration: one table of keys drives defaults, INI parsing (libinih),
 * --set overrides, range checks, the resolved config.ini and --help; see salient/config.h. */
#include "salient/config.h"
#include "salient/fmt.h"
#include "salient/quant.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ini.h>

/* ------------------------------------------------------------------------------------------ */
/* The key table                                                                              */
/* ------------------------------------------------------------------------------------------ */

typedef enum key_type { KEY_INT, KEY_U64, KEY_DOUBLE, KEY_STRING, KEY_ENUM } key_type;

typedef struct key_def {
    const char *section;
    const char *key;
    key_type type;
    size_t offset;            /* of the field in sal_config */
    size_t size;              /* of the field; for strings the capacity including the NUL */
    const char *def;          /* default as text, parsed by the same code as a file's value */
    double lo, hi;            /* numeric range (hi = INT_MAX or INFINITY when open-ended) */
    bool lo_open, hi_open;    /* exclusive bounds, e.g. lr in (0, 100] */
    const char *const *names; /* enum: NULL-terminated; names[i] is enum value i */
    const char *help;         /* one line: what the key does, and its unit */
} key_def;

/* Compile-time checks that a table entry's type matches its field: a mismatch makes an array
 * size negative, so a field changed in config.h without the table breaks the build. */
#define FIELD(f) (((sal_config *)0)->f)
#define ZERO_UNLESS(cond) (0 * sizeof(char[(cond) ? 1 : -1]))
#define IS(f, T) _Generic(FIELD(f), T: 1, default: 0)
#define AT(f, ok) offsetof(sal_config, f) + ZERO_UNLESS(ok), sizeof FIELD(f)

#define INT(s, k, f, def, lo, hi, help) \
    {s, k, KEY_INT, AT(f, IS(f, int)), def, lo, hi, false, false, NULL, help}
#define U64(s, k, f, def, help) \
    {s, k, KEY_U64, AT(f, IS(f, uint64_t)), def, 0, 0, false, false, NULL, help}
#define DBL(s, k, f, def, lo_open, lo, hi, hi_open, help) \
    {s, k, KEY_DOUBLE, AT(f, IS(f, double)), def, lo, hi, lo_open, hi_open, NULL, help}
#define STR(s, k, f, def, help) \
    {s, k, KEY_STRING, AT(f, IS(f, char *) && sizeof FIELD(f) == SAL_PATH_MAX), def, 0, 0, \
     false, false, NULL, help}
/* Enum fields are read and written as int: check the exact enum type and that it is int-sized. */
#define ENUM(s, k, f, T, def, help, ...) \
    {s, k, KEY_ENUM, AT(f, IS(f, T) && sizeof FIELD(f) == sizeof(int)), def, 0, 0, false, false, \
     (const char *const[]){__VA_ARGS__, NULL}, help}

/* Enum names are listed in the order of the C enum; these pin that order. */
_Static_assert(SAL_DATA_FASHION_MNIST == 0 && SAL_DATA_MNIST == 1 && SAL_DATA_CIFAR10 == 2 &&
                   SAL_DATA_SYNTHETIC == 3 && SAL_DATA_CIFAR100 == 4 &&
                   SAL_DATA_SYNTHETIC_CIFAR == 5,
               "[data] dataset names follow sal_dataset_kind");
_Static_assert(SAL_AUG_AUTO == 0 && SAL_AUG_NONE == 1 && SAL_AUG_CROP_FLIP == 2,
               "[data] augment names follow sal_augment_kind");
_Static_assert(SAL_PART_IID == 0 && SAL_PART_DIRICHLET == 1 && SAL_PART_SHARDS == 2 &&
                   SAL_PART_DIRICHLET_BALANCED == 3,
               "[data] partition names follow sal_partition_kind");
_Static_assert(SAL_ARCH_MLP == 0 && SAL_ARCH_LENET5 == 1 && SAL_ARCH_CNN == 2 &&
                   SAL_ARCH_LINEAR == 3 && SAL_ARCH_RESNET20 == 4 && SAL_ARCH_RESNET18 == 5 &&
                   SAL_ARCH_RESNET50 == 6,
               "[model] arch names follow sal_arch");
_Static_assert(SAL_NORM_GROUP == 0 && SAL_NORM_BATCH == 1 && SAL_NORM_NONE == 2,
               "[model] norm names follow sal_norm");
_Static_assert(SAL_INIT_KAIMING == 0 && SAL_INIT_RISOTTO == 1,
               "[model] init names follow sal_init_scheme");
_Static_assert(SAL_ALGO_CENTRALIZED == 0 && SAL_ALGO_FEDAVG == 1 && SAL_ALGO_ALLREDUCE == 2 &&
                   SAL_ALGO_LOCALSGD == 3 && SAL_ALGO_DPSGD == 4,
               "[train] algorithm names follow sal_algorithm");
_Static_assert(SAL_LR_CONSTANT == 0 && SAL_LR_STEP == 1 && SAL_LR_COSINE == 2,
               "[train] lr_schedule names follow sal_lr_schedule");
_Static_assert(SAL_SPARSE_NONE == 0 && SAL_SPARSE_RANDOM == 1 && SAL_SPARSE_ERK == 2 &&
                   SAL_SPARSE_MAGNITUDE == 3 && SAL_SPARSE_SNIP == 4 && SAL_SPARSE_GRASP == 5 &&
                   SAL_SPARSE_SYNFLOW == 6,
               "[sparsity] method names follow sal_sparsity_method");
_Static_assert(SAL_COMPRESS_NONE == 0 && SAL_COMPRESS_MASK == 1 && SAL_COMPRESS_TOPK == 2 &&
                   SAL_COMPRESS_RANDK == 3,
               "[comm] compress names follow sal_compress");
_Static_assert(SAL_RANDK_DEC_PLAIN == 0 && SAL_RANDK_DEC_SPATIAL == 1 &&
                   SAL_RANDK_DEC_TEMPORAL == 2,
               "[comm] randk_decoder names follow sal_randk_dec");
_Static_assert(SAL_QUANT_NONE == 0 && SAL_QUANT_QSGD == 1 && SAL_QUANT_ADAQUANT == 2,
               "[comm] quantize names follow sal_quantize");
_Static_assert(SAL_DENSE_MPI == 0 && SAL_DENSE_RING == 1,
               "[comm] allreduce names follow sal_dense_impl");
_Static_assert(SAL_GRAPH_RING == 0 && SAL_GRAPH_TORUS == 1 && SAL_GRAPH_EXP == 2 &&
                   SAL_GRAPH_ONEPEER_EXP == 3 && SAL_GRAPH_HYPERCUBE == 4 &&
                   SAL_GRAPH_COMPLETE == 5 && SAL_GRAPH_STAR == 6 && SAL_GRAPH_REGULAR == 7 &&
                   SAL_GRAPH_ERDOS_RENYI == 8,
               "[topology] graph names follow sal_graph_kind");
_Static_assert(SAL_WEIGHTS_MH == 0 && SAL_WEIGHTS_UNIFORM == 1,
               "[topology] weights names follow sal_weights_kind");
_Static_assert(SAL_AGG_WEIGHTED == 0 && SAL_AGG_MEAN == 1,
               "[sparsity] aggregate names follow sal_score_aggregate");
_Static_assert(SAL_SOURCE_CLIENTS == 0 && SAL_SOURCE_SERVER == 1,
               "[sparsity] source names follow sal_score_source");
_Static_assert(SAL_SCOPE_GLOBAL == 0 && SAL_SCOPE_LAYERWISE == 1,
               "[sparsity] scope names follow sal_sparsity_scope");
_Static_assert(SAL_SCHED_FIXED == 0 && SAL_SCHED_IMP == 1 && SAL_SCHED_LRR == 2 &&
                   SAL_SCHED_SCULPT == 3,
               "[sparsity] schedule names follow sal_sched_kind");
_Static_assert(SAL_PLACE_BALANCED == 0 && SAL_PLACE_BLOCK == 1,
               "[run] placement names follow sal_placement");
_Static_assert(SAL_FLAG_FALSE == 0 && SAL_FLAG_TRUE == 1, "false|true keys follow sal_flag");

/* Every key, in the order of sections and keys in written files and --help. */
static const key_def keys[] = {
    U64("run", "seed", seed, "1",
        "seeds every random stream: weight init, partition, shuffling, client sampling"),
    INT("run", "rounds", rounds, "3", 1, INT_MAX,
        "training rounds; for algorithm=centralized one round is one epoch over the training set"),
    STR("run", "out", out, "",
        "output directory for metrics, checkpoints, config.ini; empty = runs/<config name>"),
    INT("run", "eval_every", eval_every, "1", 1, INT_MAX,
        "evaluate on the test set every N rounds (and after the last round)"),
    INT("run", "threads", threads, "1", 1, 256,
        "cores one rank's training uses (OpenMP); results are bitwise the same for any count"),
    DBL("run", "comm_timeout", comm_timeout, "600", false, 0, INFINITY, false,
        "seconds an exchange may wait before the job aborts naming rank, op, peer; 0 = off"),
    ENUM("run", "check_collectives", check_collectives, sal_flag, "false",
         "debug: ranks compare a hash of their exchanges every round; a mismatch stops the run",
         "false", "true"),
    ENUM("run", "placement", placement, sal_placement, "balanced",
         "fedavg: balanced = deal each round's sampled clients evenly over client ranks; "
         "block = home",
         "balanced", "block"),

    ENUM("data", "dataset", dataset, sal_dataset_kind, "fashion-mnist",
         "data set; synthetic (1x28x28) and synthetic-cifar (3x32x32) are generated from the seed",
         "fashion-mnist", "mnist", "cifar10", "synthetic", "cifar100", "synthetic-cifar"),
    STR("data", "path", path, "",
        "directory holding the data set's files; empty = the data set's default directory"),
    ENUM("data", "partition", partition, sal_partition_kind, "dirichlet_balanced",
         "split across clients: uniform; Dir(alpha) labels; label shards; Dir(alpha) labels, "
         "equal sizes",
         "iid", "dirichlet", "shards", "dirichlet_balanced"),
    DBL("data", "alpha", alpha, "0.3", true, 0, INFINITY, false,
        "Dirichlet concentration for the dirichlet partitions; smaller = more skewed labels"),
    INT("data", "shards_per_client", shards_per_client, "2", 1, INT_MAX,
        "label-sorted shards each client gets for partition=shards"),
    INT("data", "clients", clients, "100", 1, INT_MAX,
        "number of clients the training set is split across (federated algorithms)"),
    INT("data", "train_limit", train_limit, "0", 0, INT_MAX,
        "use only the first N training samples; 0 = all"),
    INT("data", "test_limit", test_limit, "0", 0, INT_MAX,
        "use only the first N test samples; 0 = all"),
    INT("data", "synth_train", synth_train, "0", 0, INT_MAX,
        "synthetic data sets: training samples; 0 = 6000 (synthetic-cifar: 50000)"),
    INT("data", "synth_test", synth_test, "0", 0, INT_MAX,
        "synthetic data sets: test samples; 0 = 1000 (synthetic-cifar: 10000)"),
    ENUM("data", "augment", augment, sal_augment_kind, "auto",
         "augment training batches: crop_flip = pad 4 px, random crop, mirror; auto = crop_flip "
         "on CIFAR",
         "auto", "none", "crop_flip"),

    ENUM("model", "arch", arch, sal_arch, "lenet5",
         "network architecture; the resnets are SSFL's CIFAR ResNets (docs/architecture.md)",
         "mlp", "lenet5", "cnn", "linear", "resnet20", "resnet18", "resnet50"),
    ENUM("model", "norm", norm, sal_norm, "group",
         "resnets' norm: group = GroupNorm(min(32, C)) as SSFL's code; batch = BatchNorm2d; "
         "none",
         "group", "batch", "none"),
    ENUM("model", "init", init, sal_init_scheme, "kaiming",
         "kaiming = PyTorch's default; risotto = dynamical isometry, resnet20/18 (exact: norm "
         "none)",
         "kaiming", "risotto"),

    ENUM("train", "algorithm", algorithm, sal_algorithm, "centralized",
         "centralized: 1 rank; fedavg: rank 0 serves; allreduce, localsgd, dpsgd: every rank works",
         "centralized", "fedavg", "allreduce", "localsgd", "dpsgd"),
    INT("train", "local_epochs", local_epochs, "1", 1, INT_MAX,
        "epochs each client trains locally per round (federated algorithms)"),
    INT("train", "batch", batch, "64", 1, 65536, "minibatch size in samples, per client"),
    DBL("train", "lr", lr, "0.05", true, 0, 100, false,
        "learning rate of SGD, per step, before the schedule"),
    DBL("train", "momentum", momentum, "0.9", false, 0, 1, true,
        "SGD momentum coefficient; 0 = plain SGD"),
    DBL("train", "weight_decay", weight_decay, "0", false, 0, 1, false,
        "L2 weight decay coefficient added to the gradient at each step"),
    DBL("train", "sample_fraction", sample_fraction, "0.1", true, 0, 1, false,
        "fraction of clients sampled each round (federated algorithms)"),
    DBL("train", "lr_decay", lr_decay, "1", true, 0, 1, false,
        "learning rate multiplied by lr_decay^round (on top of lr_schedule); 1 = no decay"),
    DBL("train", "clip", clip, "0", false, 0, INFINITY, false,
        "clip each step's gradient to this L2 norm over all parameters; 0 = no clipping"),
    INT("train", "sync_every", sync_every, "8", 1, INT_MAX,
        "localsgd: local SGD steps between two averagings of the ranks' models"),
    ENUM("train", "lr_schedule", lr_schedule, sal_lr_schedule, "constant",
         "lr over rounds: constant, step (x lr_gamma every lr_step rounds), cosine decay to 0",
         "constant", "step", "cosine"),
    INT("train", "lr_step", lr_step, "10", 1, INT_MAX,
        "lr_schedule=step: rounds between two decays of the learning rate"),
    DBL("train", "lr_gamma", lr_gamma, "0.1", true, 0, 1, false,
        "lr_schedule=step: factor the learning rate is multiplied by at each decay"),

    ENUM("sparsity", "method", method, sal_sparsity_method, "none",
         "mask fixed before round 1; snip with source=clients is SSFL; none = dense",
         "none", "random", "erk", "magnitude", "snip", "grasp", "synflow"),
    DBL("sparsity", "density", density, "1", true, 0, 1, false,
        "fraction of prunable weights (conv/linear weights) kept, trained and sent"),
    ENUM("sparsity", "scope", scope, sal_sparsity_scope, "global",
         "where the kept entries are chosen: over all parameters, or per layer", "global",
         "layerwise"),
    ENUM("sparsity", "source", source, sal_score_source, "clients",
         "snip/grasp: scores from every client's data, aggregated (SSFL), or client 0's alone",
         "clients", "server"),
    ENUM("sparsity", "aggregate", aggregate, sal_score_aggregate, "weighted",
         "source=clients: average client scores weighted by sample count, or plain mean",
         "weighted", "mean"),
    INT("sparsity", "saliency_batches", saliency_batches, "1", 1, INT_MAX,
        "snip/grasp: minibatches of [train] batch samples each client scores on"),
    INT("sparsity", "synflow_iters", synflow_iters, "100", 1, 100000,
        "synflow: prune-and-rescore iterations (exponential density schedule)"),
    ENUM("sparsity", "schedule", schedule, sal_sched_kind, "fixed",
         "one mask, or prune by magnitude in cycles: imp (rewind), lrr, sculpt (user guide)",
         "fixed", "imp", "lrr", "sculpt"),
    INT("sparsity", "cycles", cycles, "1", 1, 1000,
        "schedule: training cycles that end in a prune (sculpt: cycles, then one prune)"),
    INT("sparsity", "cycle_rounds", cycle_rounds, "1", 1, INT_MAX,
        "schedule: rounds of a cycle (imp after a rewind: cycle_rounds - rewind_round)"),
    INT("sparsity", "rewind_round", rewind_round, "0", 0, INT_MAX,
        "imp: rounds trained before the weights that every later cycle restarts from"),
    DBL("sparsity", "start_density", start_density, "1", true, 0, 1, false,
        "schedule: density of the first mask ([sparsity] method's; 1 = dense), pruned to density"),

    ENUM("comm", "compress", compress, sal_compress, "none",
         "allreduce: dense gradient, masked entries, top-k; fedavg: randk (k random update entries)",
         "none", "mask", "topk", "randk"),
    DBL("comm", "topk_density", topk_density, "0.01", true, 0, 1, false,
        "compress=topk: fraction of gradient entries each rank sends per step (error feedback)"),
    DBL("comm", "randk_density", randk_density, "0.1", true, 0, 1, false,
        "compress=randk: fraction of the update's (masked) entries each fedavg client sends"),
    ENUM("comm", "randk_decoder", randk_decoder, sal_randk_dec, "plain",
         "compress=randk: server's mean: Rand-k, -Spatial, -Temporal "
         "(temporal: clients x nnz floats)",
         "plain", "spatial", "temporal"),
    ENUM("comm", "quantize", quantize, sal_quantize, "none",
         "fedavg uploads: floats, QSGD at quantize_levels, or AdaQuantFL (s grows as loss falls)",
         "none", "qsgd", "adaquant"),
    INT("comm", "quantize_levels", quantize_levels, "16", 1, SAL_QSGD_MAX_LEVELS,
        "quantize: QSGD's levels s per sign (adaquant: the first rounds' s, grown from there)"),
    INT("comm", "quantize_bucket", quantize_bucket, "512", 0, INT_MAX,
        "quantize: entries sharing one norm (QSGD's bucket); 0 = the whole upload"),
    ENUM("comm", "allreduce", dense_impl, sal_dense_impl, "mpi",
         "allreduce/localsgd dense sums: MPI_Allreduce, or salient's own ring (faster over TCP)",
         "mpi", "ring"),
    /* The defaults are sal_coll_opts_default's (test_config checks that they agree). */
    DBL("comm", "cost_alpha", cost_alpha, "2e-06", false, 0, 1, false,
        "compress=topk: auto's seconds per message (benchmarks/costmodel_fit.py fits all five)"),
    DBL("comm", "cost_beta", cost_beta, "2e-10", false, 0, 1, false,
        "compress=topk: auto's seconds per byte of salient's own messages (ring, recdbl)"),
    DBL("comm", "cost_beta_coll", cost_beta_coll, "2e-10", false, 0, 1, false,
        "compress=topk: auto's seconds per byte inside MPI's collectives"),
    DBL("comm", "cost_gamma", cost_gamma, "2e-09", false, 0, 1, false,
        "compress=topk: auto's seconds per merge step or scatter-add"),
    DBL("comm", "cost_delta", cost_delta, "2.5e-10", false, 0, 1, false,
        "compress=topk: auto's seconds per element of a streaming pass"),

    ENUM("topology", "graph", graph, sal_graph_kind, "ring",
         "dpsgd: gossip graph over the ranks (see salient topo --help)", "ring", "torus",
         "exponential", "onepeer-exponential", "hypercube", "complete", "star",
         "random-regular", "erdos-renyi"),
    INT("topology", "degree", degree, "3", 1, INT_MAX, "graph=random-regular: every node's degree"),
    DBL("topology", "p", p, "0.5", false, 0, 1, false, "graph=erdos-renyi: edge probability"),
    ENUM("topology", "weights", weights, sal_weights_kind, "mh",
         "mixing weights: Metropolis-Hastings, or uniform 1/(max degree + 1)", "mh", "uniform"),

    INT("checkpoint", "every", ckpt_every, "10", 0, INT_MAX,
        "write OUT/ckpt/round-N.h5 every N rounds; 0 = only after the last round and on "
        "SIGTERM/SIGUSR1"),
    INT("checkpoint", "keep", ckpt_keep, "3", 1, INT_MAX,
        "checkpoints kept in OUT/ckpt; older ones are removed once a newer one is complete"),
};

#define NKEYS (sizeof keys / sizeof *keys)

/* Files larger than this are not config files; refusing them keeps a wrong path cheap. */
#define CONFIG_MAX_BYTES (1 << 20)
/* Longest INI line we accept: room for a SAL_PATH_MAX string and its key, with margin so that a
 * too-long string gets the precise "at most 1023 characters" message rather than this limit. */
#define CONFIG_MAX_LINE 4096
/* Values echoed in messages are cut here so that a message stays one readable line. */
#define SHOW_MAX 80

/* ------------------------------------------------------------------------------------------ */
/* Small helpers: bounded string building, lookups, messages                                  */
/* ------------------------------------------------------------------------------------------ */

/* Append-only text in a caller's fixed buffer; truncates (never overflows) when full. */
typedef struct strbuf {
    char *s;
    size_t cap, len;
} strbuf;

static strbuf sb_init(char *buf, size_t cap) {
    buf[0] = '\0';
    return (strbuf){buf, cap, 0};
}

__attribute__((format(printf, 2, 3))) static void sb_printf(strbuf *b, const char *fmt, ...) {
    if (b->len + 1 >= b->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    b->len = (size_t)k < b->cap - b->len ? b->len + (size_t)k : b->cap - 1;
}

/* A value as shown in a message: control characters replaced, cut to SHOW_MAX characters. */
static const char *show(const char *v, char *buf, size_t cap) {
    size_t i = 0;
    for (; v[i] && i < SHOW_MAX && i + 4 < cap; i++)
        buf[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];
    if (v[i] && i + 4 <= cap) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

static void *field_of(sal_config *c, const key_def *k) { return (char *)c + k->offset; }
static const void *cfield_of(const sal_config *c, const key_def *k) {
    return (const char *)c + k->offset;
}

static bool section_exists(const char *section) {
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].section, section)) return true;
    return false;
}

static const key_def *find_key(const char *section, const char *key) {
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].section, section) && !strcmp(keys[i].key, key)) return &keys[i];
    return NULL;
}

static size_t enum_count(const key_def *k) {
    size_t n = 0;
    while (k->names[n]) n++;
    return n;
}

/* "run, data, model, train, sparsity": each section once, in table order. */
static void list_sections(strbuf *b) {
    for (size_t i = 0; i < NKEYS; i++)
        if (i == 0 || strcmp(keys[i].section, keys[i - 1].section))
            sb_printf(b, "%s%s", i ? ", " : "", keys[i].section);
}

static void list_keys(strbuf *b, const char *section) {
    bool first = true;
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].section, section)) {
            sb_printf(b, "%s%s", first ? "" : ", ", keys[i].key);
            first = false;
        }
}

/* Optimal-string-alignment distance (Levenshtein plus transpositions), enough to suggest 'lr'
 * for 'lrr' or [train] for [trian]. Long strings are not worth comparing. */
static int edit_distance(const char *a, const char *b) {
    enum { MAXN = 40 };
    size_t n = strlen(a), m = strlen(b);
    if (n > MAXN || m > MAXN) return INT_MAX;
    int d[MAXN + 1][MAXN + 1];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

/* Close enough to be a typo: one edit for short names, two for longer ones. */
static bool is_typo_of(const char *typed, const char *name) {
    int d = edit_distance(typed, name);
    return d <= (strlen(name) <= 3 ? 1 : 2);
}

/* Where a problem is, for the front of a message: "run.ini:4" or "--set train.lr=x". */
static const char *where_line(char *buf, size_t cap, const char *name, int line) {
    snprintf(buf, cap, "%s:%d", name, line);
    return buf;
}

static sal_status unknown_section(sal_err *err, const char *where, const char *section) {
    char list[256], hint[128], shown[SHOW_MAX + 4];
    strbuf l = sb_init(list, sizeof list), h = sb_init(hint, sizeof hint);
    list_sections(&l);
    for (size_t i = 0; i < NKEYS; i++)
        if ((i == 0 || strcmp(keys[i].section, keys[i - 1].section)) &&
            is_typo_of(section, keys[i].section)) {
            sb_printf(&h, "; did you mean [%s]?", keys[i].section);
            break;
        }
    return sal_fail(err, SAL_ECONFIG, "%s: unknown section [%s]; known sections: %s%s", where,
                    show(section, shown, sizeof shown), list, hint);
}

static sal_status unknown_key(sal_err *err, const char *where, const char *section,
                              const char *key) {
    char list[256], hint[128], shown[SHOW_MAX + 4];
    strbuf l = sb_init(list, sizeof list), h = sb_init(hint, sizeof hint);
    list_keys(&l, section);
    /* The most common slip is the right key under the wrong section: say where it lives. */
    for (size_t i = 0; i < NKEYS && !h.len; i++)
        if (!strcmp(keys[i].key, key))
            sb_printf(&h, "; '%s' belongs in [%s]", key, keys[i].section);
    for (size_t i = 0; i < NKEYS && !h.len; i++) /* keys are lower case: LR -> lr */
        if (!strcmp(keys[i].section, section) && !strcasecmp(key, keys[i].key))
            sb_printf(&h, "; did you mean '%s'?", keys[i].key);
    for (size_t i = 0; i < NKEYS && !h.len; i++)
        if (!strcmp(keys[i].section, section) && is_typo_of(key, keys[i].key))
            sb_printf(&h, "; did you mean '%s'?", keys[i].key);
    return sal_fail(err, SAL_ECONFIG, "%s: unknown key '%s' in [%s]; known keys: %s%s", where,
                    show(key, shown, sizeof shown), section, list, hint);
}

/* ------------------------------------------------------------------------------------------ */
/* Values: range text, parsing, formatting                                                    */
/* ------------------------------------------------------------------------------------------ */

/* The allowed values in short form, as --help shows them: "[1, 65536]", "> 0", "a|b|c". */
static void range_text(const key_def *k, strbuf *b) {
    switch (k->type) {
    case KEY_INT:
        if (k->hi >= INT_MAX) sb_printf(b, ">= %d", (int)k->lo);
        else sb_printf(b, "[%d, %d]", (int)k->lo, (int)k->hi);
        break;
    case KEY_U64: sb_printf(b, "[0, %" PRIu64 "]", UINT64_MAX); break;
    case KEY_DOUBLE:
        if (isinf(k->hi)) sb_printf(b, "%s %g", k->lo_open ? ">" : ">=", k->lo);
        else
            sb_printf(b, "%c%g, %g%c", k->lo_open ? '(' : '[', k->lo, k->hi,
                      k->hi_open ? ')' : ']');
        break;
    case KEY_STRING: sb_printf(b, "at most %zu characters", k->size - 1); break;
    case KEY_ENUM:
        for (size_t i = 0; k->names[i]; i++) sb_printf(b, "%s%s", i ? "|" : "", k->names[i]);
        break;
    }
}

/* The tail of a value error: "expected a number in (0, 100] (default 0.05)". */
static void expected_text(const key_def *k, strbuf *b) {
    char r[160];
    strbuf rb = sb_init(r, sizeof r);
    range_text(k, &rb);
    switch (k->type) {
    case KEY_INT:
    case KEY_U64: sb_printf(b, "expected an integer %s%s", r[0] == '[' ? "in " : "", r); break;
    case KEY_DOUBLE:
        sb_printf(b, "expected a number %s%s", r[0] == '(' || r[0] == '[' ? "in " : "", r);
        break;
    case KEY_STRING: sb_printf(b, "expected text of %s", r); break;
    case KEY_ENUM: sb_printf(b, "expected one of %s", r); break;
    }
    if (k->type == KEY_INT || k->type == KEY_U64 || k->type == KEY_DOUBLE)
        sb_printf(b, " (default %s)", k->def);
}

/* A parsed value before it is stored, so that a bad value leaves the field untouched. */
typedef union parsed {
    int i;
    uint64_t u;
    double d;
} parsed;

/* Parse text as a value of k. On failure write the problem ("not a number; expected ...") into
 * why and return false. Text arrives stripped of surrounding blanks (by inih or by --set). */
static bool parse_value(const key_def *k, const char *text, parsed *v, strbuf *why) {
    char *end = NULL;
    const char *problem = NULL;
    /* A file's comment starts at a '#' or ';' after a blank (inih strips it); one glued to a
     * value is a slip ("0.1#fast") or a path that config.ini could not carry back (a later
     * edit adding a blank would cut it silently). Either way it is refused, never kept. */
    const char *hash = strpbrk(text, "#;");
    if (hash) {
        sb_printf(why,
                  "contains '%c'; a comment needs a blank before it (key = value  # note), and "
                  "a value cannot hold '#' or ';'",
                  *hash);
        return false;
    }
    switch (k->type) {
    case KEY_INT: {
        /* Reject what strtol would skip or stop at: blanks, "3.5", "1e3", "12abc". */
        if (isspace((unsigned char)text[0])) {
            problem = "not an integer";
            break;
        }
        errno = 0;
        long x = strtol(text, &end, 10);
        if (end == text || *end) problem = "not an integer";
        else if (errno == ERANGE || x < INT_MIN || x > INT_MAX || x < k->lo || x > k->hi)
            problem = "out of range";
        else v->i = (int)x;
        break;
    }
    case KEY_U64: {
        /* strtoull would accept "-1" and wrap it to 2^64-1. */
        if (!isdigit((unsigned char)text[0]) && text[0] != '+') {
            problem = text[0] == '-' ? "negative" : "not an integer";
            break;
        }
        errno = 0;
        unsigned long long x = strtoull(text, &end, 10);
        if (end == text || *end) problem = "not an integer";
        else if (errno == ERANGE) problem = "out of range";
        else v->u = (uint64_t)x;
        break;
    }
    case KEY_DOUBLE: {
        /* strtod follows LC_NUMERIC; salient never calls setlocale, so '.' is the separator.
         * Overflow gives inf (rejected below); underflow gives 0 or a subnormal, which the
         * range decides on, so that every value we accept is written back and re-read alike. */
        if (isspace((unsigned char)text[0])) {
            problem = "not a number";
            break;
        }
        double x = strtod(text, &end);
        if (end == text || *end) problem = "not a number";
        else if (isnan(x)) problem = "not a number";
        else if (isinf(x)) problem = "out of range";
        else if ((k->lo_open ? x <= k->lo : x < k->lo) || (k->hi_open ? x >= k->hi : x > k->hi))
            problem = "out of range";
        else v->d = x;
        break;
    }
    case KEY_STRING: {
        /* What a written file could not carry back: inih strips blanks at either end and ends
         * the line at a newline, '#' and ';' are refused above, and one pair of quotes around a
         * value is removed when a file or --set is read. Refusing those here keeps write ->
         * load exact. */
        size_t n = strlen(text);
        if (n > k->size - 1) {
            sb_printf(why, "too long (%zu characters); expected at most %zu", n, k->size - 1);
            return false;
        }
        for (size_t i = 0; i < n && !problem; i++) {
            unsigned char ch = (unsigned char)text[i];
            if (ch < 0x20 || ch == 0x7f) problem = "contains a control character";
        }
        if (!problem && n && (text[0] == ' ' || text[n - 1] == ' '))
            problem = "has blanks at the start or end";
        if (!problem && n && (strchr("\"'", text[0]) || strchr("\"'", text[n - 1])))
            problem = "starts or ends with a quote; values need no quotes (one pair around the "
                      "whole value is removed)";
        if (problem) {
            sb_printf(why, "%s", problem);
            return false;
        }
        return true;
    }
    case KEY_ENUM:
        for (int i = 0; k->names[i]; i++)
            if (!strcmp(text, k->names[i])) {
                v->i = i;
                return true;
            }
        expected_text(k, why);
        return false;
    }
    if (problem) {
        sb_printf(why, "%s; ", problem);
        expected_text(k, why);
        return false;
    }
    return true;
}

static void store_value(sal_config *c, const key_def *k, const char *text, const parsed *v) {
    void *f = field_of(c, k);
    switch (k->type) {
    case KEY_INT:
    case KEY_ENUM: memcpy(f, &v->i, sizeof v->i); break;
    case KEY_U64: memcpy(f, &v->u, sizeof v->u); break;
    case KEY_DOUBLE: memcpy(f, &v->d, sizeof v->d); break;
    case KEY_STRING:
        /* Zero the tail too: two configs with equal values are then equal byte for byte. */
        memset(f, 0, k->size);
        memcpy(f, text, strlen(text));
        break;
    }
}

/* Parse and store one value; on failure fill err with "WHERE: [sec] key = 'text': why". */
static sal_status apply_value(sal_config *c, const key_def *k, const char *text,
                              const char *where, sal_err *err) {
    char why[384], shown[SHOW_MAX + 4];
    strbuf w = sb_init(why, sizeof why);
    parsed v = {0};
    if (!parse_value(k, text, &v, &w))
        return sal_fail(err, SAL_ECONFIG, "%s: [%s] %s = '%s': %s", where, k->section, k->key,
                        show(text, shown, sizeof shown), why);
    store_value(c, k, text, &v);
    return SAL_OK;
}

/* The shortest decimal text that reads back as exactly x (at most 17 digits suffice). */
/* A value as a file or --set gives it: one pair of matching quotes around the whole value is
 * removed (out = "runs/a b" is the path runs/a b, as most INI readers and shells have it), an
 * unmatched one refused; the rest goes to apply_value. */
static sal_status apply_text(sal_config *c, const key_def *k, const char *text, const char *where,
                             sal_err *err) {
    size_t n = strlen(text);
    if (n == 0 || !strchr("\"'", text[0])) return apply_value(c, k, text, where, err);
    if (n < 2 || text[n - 1] != text[0]) {
        char shown[SHOW_MAX + 4];
        return sal_fail(err, SAL_ECONFIG,
                        "%s: [%s] %s = '%s': the quote %c has no partner at the end; remove it "
                        "(values need no quotes)",
                        where, k->section, k->key, show(text, shown, sizeof shown), text[0]);
    }
    char inner[CONFIG_MAX_LINE];
    snprintf(inner, sizeof inner, "%.*s", (int)(n - 2), text + 1);
    return apply_value(c, k, inner, where, err);
}

/* The field's value as the text a file holds; false if the field holds no valid value (an
 * enum out of range or a string without its NUL), which only code, not a file, can cause. */
static bool format_value(const sal_config *c, const key_def *k, char *buf, size_t cap) {
    const void *f = cfield_of(c, k);
    int i;
    uint64_t u;
    double d;
    switch (k->type) {
    case KEY_INT:
        memcpy(&i, f, sizeof i);
        snprintf(buf, cap, "%d", i);
        return true;
    case KEY_U64:
        memcpy(&u, f, sizeof u);
        snprintf(buf, cap, "%" PRIu64, u);
        return true;
    case KEY_DOUBLE:
        memcpy(&d, f, sizeof d);
        sal_fmt_num(d, buf, cap);
        return true;
    case KEY_STRING: {
        const char *s = f;
        size_t n = strnlen(s, k->size);
        if (n == k->size || n >= cap) return false;
        memcpy(buf, s, n + 1);
        return true;
    }
    case KEY_ENUM:
        memcpy(&i, f, sizeof i);
        if (i < 0 || (size_t)i >= enum_count(k)) {
            snprintf(buf, cap, "%d", i);
            return false;
        }
        snprintf(buf, cap, "%s", k->names[i]);
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------------------------------ */
/* Public API                                                                                 */
/* ------------------------------------------------------------------------------------------ */

void sal_config_defaults(sal_config *c) {
    /* Zero first so that padding and string tails are deterministic (memcmp-comparable). */
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NKEYS; i++) {
        sal_status st = apply_value(c, &keys[i], keys[i].def, "default", NULL);
        assert(st == SAL_OK && "a default in the key table is outside its own range");
        (void)st;
    }
}

const char *sal_config_enum_name(const char *section, const char *key, int value) {
    /* NULL for a key that is not an enum or a value with no name; callers pass validated
     * configs, so NULL here is a programming error they can assert on. */
    const key_def *k = section && key ? find_key(section, key) : NULL;
    if (!k || k->type != KEY_ENUM || value < 0 || (size_t)value >= enum_count(k)) return NULL;
    return k->names[value];
}

/* --- INI parsing --- */

typedef struct parse_ctx {
    const char *name;      /* file name, for messages */
    const char *p;         /* the reader's position in the text */
    int line;              /* lines handed to inih so far: equals inih's line number */
    int err_line;          /* line of the first error we found; 0 = none */
    sal_status st;
    sal_err *err;
    int seen[NKEYS];       /* line where each key was set; 0 = not in this file */
    int nkeys;             /* keys set */
    sal_config work;       /* the caller's config is only replaced when the whole text is good */
} parse_ctx;

static int record(parse_ctx *x, sal_status st) {
    x->err_line = x->line;
    x->st = st;
    return 0; /* inih: handler failed */
}

/* Check a "[section]" line as soon as it is read: inih only reports sections to the handler
 * with their first key, which would let an empty misspelled section pass and put the message on
 * the wrong line. Mirrors inih's rules: leading blanks skipped, ']' ends the name unless a ';'
 * or '#' after a blank (an inline comment) comes first, in which case inih reports the syntax. */
static void check_section_line(parse_ctx *x, const char *line) {
    const char *s = line;
    if (x->line == 1 && !strncmp(s, "\xEF\xBB\xBF", 3)) s += 3; /* UTF-8 byte order mark */
    while (isspace((unsigned char)*s)) s++;
    if (*s != '[') return;
    const char *name = ++s;
    bool was_space = false;
    while (*s && *s != ']' && !(was_space && (*s == ';' || *s == '#'))) {
        was_space = isspace((unsigned char)*s);
        s++;
    }
    if (*s != ']') return; /* inih reports it as a malformed line */
    char section[128], where[320];
    size_t n = (size_t)(s - name);
    snprintf(section, sizeof section, "%.*s", (int)(n < 127 ? n : 127), name);
    where_line(where, sizeof where, x->name, x->line);
    if (!section_exists(section)) {
        record(x, unknown_section(x->err, where, section));
        return;
    }
    /* "[run] seed = 3" on one line: inih would drop the key silently. */
    for (s++; isspace((unsigned char)*s); s++) {}
    if (*s && *s != ';' && *s != '#') {
        char rest[CONFIG_MAX_LINE], shown[SHOW_MAX + 4];
        size_t rn = strlen(s);
        while (rn && isspace((unsigned char)s[rn - 1])) rn--;
        snprintf(rest, sizeof rest, "%.*s", (int)rn, s);
        record(x, sal_fail(x->err, SAL_ECONFIG,
                           "%s: text after [%s]: '%s'; put each key = value on its own line",
                           where, section, show(rest, shown, sizeof shown)));
    }
}

/* ini_reader over the text: one physical line per call, so that our count matches inih's. It
 * ends the parse (returns NULL) after the first error, and refuses lines inih would split. */
static char *read_line(char *buf, int num, void *stream) {
    parse_ctx *x = stream;
    if (x->err_line || !*x->p) return NULL;
    const char *nl = strchr(x->p, '\n');
    size_t len = nl ? (size_t)(nl - x->p) + 1 : strlen(x->p);
    x->line++;
    if (num < 2 || len > (size_t)num - 1) {
        char where[320];
        record(x, sal_fail(x->err, SAL_ECONFIG, "%s: line longer than %d characters",
                           where_line(where, sizeof where, x->name, x->line), num - 2));
        return NULL;
    }
    memcpy(buf, x->p, len);
    buf[len] = '\0';
    x->p += len;
    check_section_line(x, buf);
    return x->err_line ? NULL : buf;
}

static int on_key(void *user, const char *section, const char *name, const char *value) {
    parse_ctx *x = user;
    if (x->err_line) return 0;
    char where[320], shown[SHOW_MAX + 4];
    where_line(where, sizeof where, x->name, x->line);
    if (!value) value = "";
    if (!*name)
        return record(x, sal_fail(x->err, SAL_ECONFIG, "%s: missing key name before '='", where));
    if (!*section) {
        const key_def *k = NULL;
        for (size_t i = 0; i < NKEYS && !k; i++)
            if (!strcmp(keys[i].key, name)) k = &keys[i];
        char list[256];
        strbuf l = sb_init(list, sizeof list);
        list_sections(&l);
        if (k)
            return record(x, sal_fail(x->err, SAL_ECONFIG,
                                      "%s: key '%s' is outside any section; put it under [%s]",
                                      where, name, k->section));
        return record(x, sal_fail(x->err, SAL_ECONFIG,
                                  "%s: key '%s' is outside any section; known sections: %s",
                                  where, show(name, shown, sizeof shown), list));
    }
    if (!section_exists(section)) return record(x, unknown_section(x->err, where, section));
    const key_def *k = find_key(section, name);
    if (!k) return record(x, unknown_key(x->err, where, section, name));
    /* A key given twice in one file is refused rather than "last wins": in a hand-edited file
     * the repeat is nearly always a slip whose winner nobody sees; --set is for overrides. */
    size_t idx = (size_t)(k - keys);
    if (x->seen[idx])
        return record(x, sal_fail(x->err, SAL_ECONFIG,
                                  "%s: [%s] %s is set twice (first on line %d); keep one, or "
                                  "override with --set %s.%s=...",
                                  where, section, name, x->seen[idx], section, name));
    x->seen[idx] = x->line;
    sal_status st = apply_text(&x->work, k, value, where, x->err);
    if (st == SAL_OK) x->nkeys++;
    return st == SAL_OK ? 1 : record(x, st);
}

/* Debian's libinih is built with INI_RUNTIME_OPTIONS; its defaults do not suit us: lines of 200
 * characters (a path may be 1023) are split silently, an indented line continues the previous
 * value, and parsing goes on after an error. We set our options around each parse and restore
 * them. Not thread-safe: configs are loaded once, by main, before any thread starts. */
typedef struct ini_options {
    int max_line;
    bool multiline, stop_on_first_error, inline_comments;
    char *inline_prefixes;
} ini_options;

static ini_options ini_options_swap(ini_options o) {
    ini_options old = {ini_max_line, ini_allow_multiline, ini_stop_on_first_error,
                       ini_allow_inline_comments, ini_inline_comment_prefixes};
    ini_max_line = o.max_line;
    ini_allow_multiline = o.multiline;
    ini_stop_on_first_error = o.stop_on_first_error;
    ini_allow_inline_comments = o.inline_comments;
    ini_inline_comment_prefixes = o.inline_prefixes;
    return old;
}

/* Debian builds inih with inline comments on but only ';' as their prefix, so "lr = 0.1 # fast"
 * would give the value "0.1 # fast" (and a path would keep the comment). A line may begin with
 * either; after a value, a blank then '#' or ';' starts a comment too. */
static char inline_prefixes[] = ";#";

/* The text of line n (1-based) for a message, cut and made printable. */
static const char *line_text(const char *text, int n, char *buf, size_t cap) {
    for (int i = 1; i < n && text; i++) {
        text = strchr(text, '\n');
        if (text) text++;
    }
    if (!text) text = "";
    while (*text == ' ' || *text == '\t') text++;
    char tmp[SHOW_MAX + 1];
    size_t len = strcspn(text, "\r\n");
    snprintf(tmp, sizeof tmp, "%.*s", (int)(len < SHOW_MAX ? len : SHOW_MAX), text);
    show(tmp, buf, cap);
    if (len > SHOW_MAX && strlen(buf) + 4 <= cap) strcat(buf, "...");
    return buf;
}

/* sal_config_load_string, also counting the keys the text set into *nkeys. */
static sal_status load_text(sal_config *c, const char *text, const char *name, int *nkeys,
                            sal_err *err) {
    *nkeys = 0;
    if (!c || !text) return sal_fail(err, SAL_EINVAL, "sal_config_load_string: NULL argument");
    if (!name) name = "<string>";
    parse_ctx *x = calloc(1, sizeof *x);
    if (!x) return sal_fail(err, SAL_ENOMEM, "%s: out of memory", name);
    x->name = name;
    x->p = text;
    x->err = err;
    memcpy(&x->work, c, sizeof *c);

    ini_options old =
        ini_options_swap((ini_options){CONFIG_MAX_LINE, false, true, true, inline_prefixes});
    int ret = ini_parse_stream(read_line, x, on_key, x);
    ini_options_swap(old);

    sal_status st = SAL_OK;
    if (ret < 0) {
        st = sal_fail(err, SAL_ENOMEM, "%s: out of memory while parsing", name);
    } else if (ret > 0 && (!x->err_line || ret < x->err_line)) {
        /* inih's own complaint: a line that is no section, key = value or comment. */
        char shown[SHOW_MAX + 8];
        line_text(text, ret, shown, sizeof shown);
        st = sal_fail(err, SAL_ECONFIG,
                      shown[0] == '['
                          ? "%s:%d: malformed section line '%s'; expected [section]"
                          : "%s:%d: malformed line '%s'; expected key = value, [section] or a "
                            "# comment",
                      name, ret, shown);
    } else if (x->err_line) {
        st = x->st;
    } else {
        memcpy(c, &x->work, sizeof *c);
        *nkeys = x->nkeys;
    }
    free(x);
    return st;
}

sal_status sal_config_load_string(sal_config *c, const char *text, const char *name,
                                  sal_err *err) {
    int nkeys;
    return load_text(c, text, name, &nkeys, err);
}

/* Why `path` is no config file to read, in words, or NULL when it may be one. A FIFO would block
 * open() until a writer comes, and under mpirun only one rank could read it. */
static const char *not_a_file(const char *path, char *buf, size_t cap) {
    struct stat sb;
    if (stat(path, &sb)) return NULL; /* fopen says why (missing, permission) */
    if (S_ISDIR(sb.st_mode)) return "it is a directory; give the path of a .ini file";
    const char *what = S_ISFIFO(sb.st_mode)   ? "a FIFO (named pipe)"
                       : S_ISSOCK(sb.st_mode) ? "a socket"
                                              : NULL;
    if (!what) return NULL; /* a file, or a device such as /dev/zero that the size limit stops */
    snprintf(buf, cap,
             "it is %s, not a file; every MPI rank reads the config, so write it to a file", what);
    return buf;
}

sal_status sal_config_load(sal_config *c, const char *path, sal_err *err) {
    if (!c || !path) return sal_fail(err, SAL_EINVAL, "sal_config_load: NULL argument");
    char what[160];
    const char *why = not_a_file(path, what, sizeof what);
    if (why) return sal_fail(err, SAL_EIO, "cannot read config file '%s': %s", path, why);
    FILE *f = fopen(path, "rb");
    if (!f && errno == EACCES)
        return sal_fail(err, SAL_EIO,
                        "cannot read config file '%s': permission denied (it exists; give the "
                        "user running salient read access)",
                        path);
    if (!f)
        return sal_fail(err, SAL_EIO, "cannot read config file '%s': %s", path, strerror(errno));
    /* Read in chunks rather than trusting the file size: the path may be a pipe. */
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    sal_status st = SAL_OK;
    while (buf) {
        if (n == cap) {
            if (cap > CONFIG_MAX_BYTES) break;
            char *grown = realloc(buf, 2 * cap + 1);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int read_errno = ferror(f) ? errno : 0;
    bool failed = ferror(f) != 0;
    fclose(f);
    if (!buf) return sal_fail(err, SAL_ENOMEM, "cannot read config file '%s': out of memory", path);
    if (failed)
        st = sal_fail(err, SAL_EIO, "cannot read config file '%s': %s", path,
                      strerror(read_errno ? read_errno : EIO));
    else if (n > CONFIG_MAX_BYTES)
        st = sal_fail(err, SAL_ECONFIG, "config file '%s' is larger than %d bytes; not a config?",
                      path, CONFIG_MAX_BYTES);
    else if (memchr(buf, '\0', n))
        st = sal_fail(err, SAL_ECONFIG, "config file '%s' contains a NUL byte; not a text file?",
                      path);
    int nkeys = 0;
    if (st == SAL_OK) {
        buf[n] = '\0';
        st = load_text(c, buf, path, &nkeys, err);
    }
    free(buf);
    /* An empty file (a failed copy, a truncated upload, the wrong name) would otherwise run the
     * default job in silence; c is unchanged, as with every other refusal. */
    if (st == SAL_OK && nkeys == 0)
        st = sal_fail(err, SAL_ECONFIG,
                      "config file '%s' sets no keys (it is empty or holds only comments and "
                      "section lines); set at least one (e.g. [run] seed = 1 for the defaults)",
                      path);
    return st;
}

static void trim(const char **s, const char **e) {
    while (*s < *e && isspace((unsigned char)**s)) (*s)++;
    while (*e > *s && isspace((unsigned char)(*e)[-1])) (*e)--;
}

sal_status sal_config_set(sal_config *c, const char *assignment, sal_err *err) {
    if (!c || !assignment) return sal_fail(err, SAL_EINVAL, "sal_config_set: NULL argument");
    char where[320], shown[SHOW_MAX + 4];
    snprintf(where, sizeof where, "--set %s", show(assignment, shown, sizeof shown));
    /* section.key=value; blanks around each part are dropped as in a file, the value keeps
     * inner blanks and further '=' signs. */
    const char *eq = strchr(assignment, '=');
    const char *dot = eq ? memchr(assignment, '.', (size_t)(eq - assignment)) : NULL;
    if (!eq || !dot)
        return sal_fail(err, SAL_ECONFIG,
                        "--set '%s': expected section.key=value, e.g. --set train.lr=0.1",
                        show(assignment, shown, sizeof shown));
    const char *s0 = assignment, *s1 = dot, *k0 = dot + 1, *k1 = eq, *v0 = eq + 1;
    const char *v1 = v0 + strlen(v0);
    trim(&s0, &s1);
    trim(&k0, &k1);
    trim(&v0, &v1);
    size_t sn = (size_t)(s1 - s0), kn = (size_t)(k1 - k0), vn = (size_t)(v1 - v0);
    if (!sn || !kn || memchr(k0, '.', kn))
        return sal_fail(err, SAL_ECONFIG,
                        "--set '%s': expected section.key=value, e.g. --set train.lr=0.1",
                        show(assignment, shown, sizeof shown));
    /* Names longer than the buffers are cut; no real name is that long, so they stay unknown. */
    char section[64], key[64], val[CONFIG_MAX_LINE];
    snprintf(section, sizeof section, "%.*s", (int)(sn < sizeof section ? sn : sizeof section), s0);
    snprintf(key, sizeof key, "%.*s", (int)(kn < sizeof key ? kn : sizeof key), k0);
    if (vn >= sizeof val)
        return sal_fail(err, SAL_ECONFIG, "%s: value longer than %zu characters", where,
                        sizeof val - 1);
    memcpy(val, v0, vn);
    val[vn] = '\0';
    if (!section_exists(section)) return unknown_section(err, where, section);
    const key_def *k = find_key(section, key);
    if (!k) return unknown_key(err, where, section, key);
    return apply_text(c, k, val, where, err);
}

/* [sparsity] schedule's keys: where they apply, and their cycles against [run] rounds. */
static sal_status check_schedule(const sal_config *c, sal_err *err) {
    const char *name = sal_config_enum_name("sparsity", "schedule", c->schedule);
    if (c->schedule == SAL_SCHED_FIXED) {
        if (c->cycles != 1 || c->cycle_rounds != 1 || c->rewind_round != 0 ||
            c->start_density != 1.0)
            return sal_fail(err, SAL_ECONFIG, "config: [sparsity] cycles, cycle_rounds, "
                            "rewind_round and start_density apply to schedule = imp, lrr or "
                            "sculpt; with schedule = fixed leave them at their defaults");
        return SAL_OK;
    }
    if (c->algorithm != SAL_ALGO_CENTRALIZED && c->algorithm != SAL_ALGO_FEDAVG)
        return sal_fail(err, SAL_ECONFIG, "config: [sparsity] schedule = %s runs with [train] "
                        "algorithm = centralized or fedavg, not %s; set schedule = fixed", name,
                        sal_config_enum_name("train", "algorithm", c->algorithm));
    if (c->rewind_round != 0 && c->schedule != SAL_SCHED_IMP)
        return sal_fail(err, SAL_ECONFIG, "config: [sparsity] rewind_round applies to schedule = "
                        "imp (lrr and sculpt keep the trained weights); set rewind_round = 0");
    if (c->method == SAL_SPARSE_NONE && c->start_density != 1.0)
        return sal_fail(err, SAL_ECONFIG, "config: [sparsity] start_density < 1 needs a [sparsity] "
                        "method for the first mask; set one (e.g. method = random) or "
                        "start_density = 1 (start dense)");
    if (c->method != SAL_SPARSE_NONE && c->start_density == 1.0)
        return sal_fail(err, SAL_ECONFIG, "config: [sparsity] method = %s makes the first mask "
                        "at start_density, which is 1 (dense); set start_density below 1 or "
                        "method = none", sal_config_enum_name("sparsity", "method", c->method));
    sal_sched s; /* the cycles against the rounds; the counts need the model, not known here */
    return sal_sched_init(&s, c->schedule, c->cycles, c->cycle_rounds, c->rewind_round,
                          c->rounds, 1, c->start_density, c->density, err);
}

sal_status sal_config_validate(const sal_config *c, sal_err *err) {
    if (!c) return sal_fail(err, SAL_EINVAL, "sal_config_validate: NULL argument");
    /* Each field against its own range first: code (not only files) fills configs. Writing the
     * value as text and parsing it back reuses the one definition of "valid". */
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        char text[SAL_PATH_MAX + 32];
        if (!format_value(c, k, text, sizeof text))
            return sal_fail(err, SAL_ECONFIG, "config: [%s] %s holds no valid value (%s)",
                            k->section, k->key,
                            k->type == KEY_STRING ? "unterminated text" : text);
        sal_config scratch;
        sal_status st = apply_value(&scratch, k, text, "config", err);
        if (st != SAL_OK) return st;
    }

    /* Cross-key checks. The training-set size is known here only when it is set by a limit or
     * by the synthetic generator; the partitioner checks the rest against the loaded data. */
    long long n_train = -1;
    const char *n_from = "";
    if (sal_data_synth_default(c->dataset, 0) > 0) { /* a synthetic set */
        n_train = c->synth_train ? c->synth_train : sal_data_synth_default(c->dataset, 0);
        n_from = "[data] synth_train";
    }
    if (c->train_limit > 0 && (n_train < 0 || c->train_limit < n_train)) {
        n_train = c->train_limit;
        n_from = "[data] train_limit";
    }
    if (c->partition == SAL_PART_SHARDS) {
        long long shards = (long long)c->clients * c->shards_per_client;
        if (shards > INT_MAX)
            return sal_fail(err, SAL_ECONFIG,
                            "config: [data] clients * shards_per_client = %lld shards; at most %d",
                            shards, INT_MAX);
        if (n_train >= 0 && shards > n_train)
            return sal_fail(err, SAL_ECONFIG,
                            "config: [data] clients * shards_per_client = %lld shards, more than "
                            "the %lld training samples (%s); lower one of them",
                            shards, n_train, n_from);
    }
    if (n_train >= 0 && c->clients > n_train)
        return sal_fail(err, SAL_ECONFIG,
                        "config: [data] clients = %d, more than the %lld training samples (%s); "
                        "every client needs at least one",
                        c->clients, n_train, n_from);
    if (c->init == SAL_INIT_RISOTTO && c->arch != SAL_ARCH_RESNET20 &&
        c->arch != SAL_ARCH_RESNET18)
        return sal_fail(err, SAL_ECONFIG,
                        "config: [model] init = risotto is defined for the BasicBlock ResNets "
                        "(arch = resnet20 or resnet18), not arch = %s; set init = kaiming",
                        sal_config_enum_name("model", "arch", c->arch));
    if (c->algorithm == SAL_ALGO_CENTRALIZED && c->method != SAL_SPARSE_NONE)
        return sal_fail(err, SAL_ECONFIG,
                        "config: [sparsity] method = %s needs a distributed [train] algorithm "
                        "(centralized training is dense); set method = none or algorithm = fedavg",
                        sal_config_enum_name("sparsity", "method", c->method));
    if (c->compress == SAL_COMPRESS_MASK && c->method == SAL_SPARSE_NONE)
        return sal_fail(err, SAL_ECONFIG,
                        "config: [comm] compress = mask needs a [sparsity] method (the mask); set "
                        "one, e.g. method = snip, or compress = none");
    if (c->compress == SAL_COMPRESS_RANDK && c->algorithm != SAL_ALGO_FEDAVG)
        return sal_fail(err, SAL_ECONFIG,
                        "config: [comm] compress = randk applies to [train] algorithm = fedavg "
                        "(the clients' uploads); set compress = none or algorithm = fedavg");
    if (c->compress == SAL_COMPRESS_RANDK && c->quantize != SAL_QUANT_NONE)
        return sal_fail(err, SAL_ECONFIG,
                        "config: [comm] compress = randk and quantize = %s both encode fedavg's "
                        "uploads; choose one (set quantize = none or compress = none)",
                        sal_config_enum_name("comm", "quantize", c->quantize));
    if (c->compress != SAL_COMPRESS_NONE && c->compress != SAL_COMPRESS_RANDK &&
        c->algorithm != SAL_ALGO_ALLREDUCE)
        return sal_fail(err, SAL_ECONFIG,
                        "config: [comm] compress = %s applies to [train] algorithm = allreduce "
                        "(the others send the masked model when [sparsity] has a mask); set "
                        "compress = none",
                        sal_config_enum_name("comm", "compress", c->compress));
    if (c->quantize != SAL_QUANT_NONE && c->algorithm != SAL_ALGO_FEDAVG)
        return sal_fail(err, SAL_ECONFIG,
                        "config: [comm] quantize = %s applies to [train] algorithm = fedavg "
                        "(the clients' uploads); set quantize = none or algorithm = fedavg",
                        sal_config_enum_name("comm", "quantize", c->quantize));
    sal_status sst = check_schedule(c, err);
    if (sst) return sst;
    if (c->method == SAL_SPARSE_NONE && c->density != 1.0 && c->schedule == SAL_SCHED_FIXED) {
        char d[32];
        sal_fmt_num(c->density, d, sizeof d);
        return sal_fail(err, SAL_ECONFIG,
                        "config: [sparsity] density = %s has no effect with [sparsity] method = "
                        "none (dense); set density = 1 or choose a method",
                        d);
    }
    return SAL_OK;
}

int sal_config_diff(const sal_config *a, const sal_config *b, const char *const *skip,
                    char *msg, size_t cap) {
    int ndiff = 0;
    if (cap) msg[0] = '\0';
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        char name[64], va[SAL_PATH_MAX + 32], vb[SAL_PATH_MAX + 32];
        snprintf(name, sizeof name, "%s.%s", k->section, k->key);
        bool skipped = false;
        for (const char *const *s = skip; s && *s && !skipped; s++) skipped = !strcmp(*s, name);
        if (skipped) continue;
        bool oka = format_value(a, k, va, sizeof va), okb = format_value(b, k, vb, sizeof vb);
        if (oka == okb && !strcmp(va, vb)) continue;
        if (ndiff++ == 0 && cap) {
            char sa[SHOW_MAX + 8], sb[SHOW_MAX + 8];
            snprintf(msg, cap, "[%s] %s = %s, not %s", k->section, k->key,
                     show(va, sa, sizeof sa), show(vb, sb, sizeof sb));
        }
    }
    return ndiff;
}

int sal_config_write(const sal_config *c, FILE *f) {
    /* Returns 0, or -1 if a field holds no valid value or the stream failed. */
    if (!c || !f) return -1;
    int rc = 0;
    fprintf(f, "# written by salient; every key resolved\n");
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        if (i == 0 || strcmp(k->section, keys[i - 1].section))
            fprintf(f, "%s[%s]\n", i ? "\n" : "", k->section);
        char text[SAL_PATH_MAX + 32];
        if (!format_value(c, k, text, sizeof text)) {
            rc = -1;
            continue;
        }
        fprintf(f, "%s =%s%s\n", k->key, text[0] ? " " : "", text); /* no trailing blank */
    }
    if (fflush(f) != 0 || ferror(f)) rc = -1;
    return rc;
}

void sal_config_print_help(FILE *f) {
    static const char *type_names[] = {"int", "uint64", "double", "string", "enum"};
    fprintf(f, "Config keys: put them under [section] in an INI file, or override one with\n"
               "--set section.key=value. Columns: key, type, default, allowed values.\n");
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        char head[64], def[40], range[160];
        snprintf(head, sizeof head, "[%s] %s", k->section, k->key);
        snprintf(def, sizeof def, "default %s", k->def[0] ? k->def : "\"\"");
        strbuf r = sb_init(range, sizeof range);
        if (k->type == KEY_INT || k->type == KEY_U64 || k->type == KEY_DOUBLE)
            sb_printf(&r, "range ");
        range_text(k, &r);
        if (i == 0 || strcmp(k->section, keys[i - 1].section)) fputc('\n', f);
        /* Lines stay within 100 columns: a long default and value list split over two. */
        int width = fprintf(f, "  %-24s  %-6s  %-21s", head, type_names[k->type], def);
        if (width + 2 + (int)strlen(range) > 100)
            fprintf(f, "\n      %s\n      %s\n", range, k->help);
        else
            fprintf(f, "  %s\n      %s\n", range, k->help);
    }
}
