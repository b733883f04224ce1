/* test_config.c - the config module: defaults, parsing, every error class and its message,
 * line numbers, --set, cross-key validation, exact write -> load round trips and --help. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "salient/allreduce.h"
#include "salient/config.h"

/* Every key, written out here rather than taken from the module's table, so that a key dropped
 * from the table (or from --help, or from written files) is noticed. */
static const char *all_keys[] = {
    "run.seed", "run.rounds", "run.out", "run.eval_every", "run.threads",
    "data.dataset", "data.path", "data.partition", "data.alpha", "data.shards_per_client",
    "data.clients", "data.train_limit", "data.test_limit", "data.synth_train", "data.synth_test",
    "data.augment", "model.arch",
    "train.algorithm", "train.local_epochs", "train.batch", "train.lr", "train.momentum",
    "train.weight_decay", "train.sample_fraction", "train.lr_decay", "train.clip",
    "train.lr_schedule", "train.lr_step", "train.lr_gamma",
    "sparsity.method", "sparsity.density", "sparsity.scope", "sparsity.source",
    "sparsity.aggregate", "sparsity.saliency_batches", "sparsity.synflow_iters",
    "comm.compress", "comm.topk_density", "comm.allreduce", "comm.cost_alpha", "comm.cost_beta",
    "comm.cost_beta_coll", "comm.cost_gamma", "comm.cost_delta", "topology.graph", "topology.degree", "topology.p",
    "topology.weights", "train.sync_every",
};
#define NALL (sizeof all_keys / sizeof *all_keys)

/* A config zeroed byte for byte before the defaults, so memcmp compares values only. */
static void fresh(sal_config *c) {
    memset(c, 0xAB, sizeof *c); /* defaults must overwrite everything, padding included */
    sal_config_defaults(c);
}

static int same(const sal_config *a, const sal_config *b) { return !memcmp(a, b, sizeof *a); }

/* Write c to a string (caller frees). */
static char *write_str(const sal_config *c, int *rc) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    *rc = sal_config_write(c, f);
    fclose(f);
    return buf;
}

/* Write c and load the text into fresh defaults; 1 if the result equals c exactly. */
static int round_trips(const sal_config *c) {
    int rc;
    char *text = write_str(c, &rc);
    sal_config back;
    fresh(&back);
    sal_err err = {""};
    sal_status st = sal_config_load_string(&back, text, "written.ini", &err);
    int ok = rc == 0 && st == SAL_OK && same(c, &back);
    if (!ok) fprintf(stderr, "round trip failed (rc %d, %s):\n%s\n", rc, err.msg, text);
    free(text);
    return ok;
}

static void test_defaults(void) {
    sal_config c, d;
    fresh(&c);
    CHECK(c.seed == 1);
    CHECK(c.rounds == 3);
    CHECK(!strcmp(c.out, ""));
    CHECK(c.eval_every == 1);
    CHECK(c.threads == 1);
    CHECK(c.dataset == SAL_DATA_FASHION_MNIST);
    CHECK(!strcmp(c.path, ""));
    CHECK(c.partition == SAL_PART_DIRICHLET_BALANCED);
    CHECK(c.alpha == 0.3);
    CHECK(c.shards_per_client == 2);
    CHECK(c.clients == 100);
    CHECK(c.train_limit == 0 && c.test_limit == 0);
    CHECK(c.synth_train == 0 && c.synth_test == 0);
    CHECK(c.arch == SAL_ARCH_LENET5);
    CHECK(c.algorithm == SAL_ALGO_CENTRALIZED);
    CHECK(c.local_epochs == 1);
    CHECK(c.batch == 64);
    CHECK(c.lr == 0.05);
    CHECK(c.momentum == 0.9);
    CHECK(c.weight_decay == 0.0);
    CHECK(c.sample_fraction == 0.1);
    CHECK(c.lr_schedule == SAL_LR_CONSTANT);
    CHECK(c.lr_step == 10);
    CHECK(c.lr_gamma == 0.1);
    CHECK(c.method == SAL_SPARSE_NONE);
    CHECK(c.density == 1.0);
    CHECK(c.scope == SAL_SCOPE_GLOBAL);
    CHECK(c.lr_decay == 1.0 && c.clip == 0.0);
    CHECK(c.source == SAL_SOURCE_CLIENTS && c.aggregate == SAL_AGG_WEIGHTED);
    CHECK(c.saliency_batches == 1 && c.synflow_iters == 100);
    /* Deterministic bytes: two default configs compare equal whatever was there before. */
    memset(&d, 0x00, sizeof d);
    sal_config_defaults(&d);
    CHECK(same(&c, &d));
    sal_err err = {""};
    CHECK_MSG(sal_config_validate(&c, &err) == SAL_OK, "%s", err.msg);
    /* An empty file changes nothing. */
    CHECK(sal_config_load_string(&d, "", "empty.ini", &err) == SAL_OK && same(&c, &d));
}

static void test_enum_names(void) {
    CHECK(!strcmp(sal_config_enum_name("model", "arch", SAL_ARCH_LENET5), "lenet5"));
    CHECK(!strcmp(sal_config_enum_name("model", "arch", SAL_ARCH_MLP), "mlp"));
    CHECK(!strcmp(sal_config_enum_name("model", "arch", SAL_ARCH_CNN), "cnn"));
    CHECK(!strcmp(sal_config_enum_name("data", "dataset", SAL_DATA_FASHION_MNIST),
                  "fashion-mnist"));
    CHECK(!strcmp(sal_config_enum_name("data", "dataset", SAL_DATA_MNIST), "mnist"));
    CHECK(!strcmp(sal_config_enum_name("data", "dataset", SAL_DATA_CIFAR10), "cifar10"));
    CHECK(!strcmp(sal_config_enum_name("data", "dataset", SAL_DATA_SYNTHETIC), "synthetic"));
    CHECK(!strcmp(sal_config_enum_name("data", "dataset", SAL_DATA_CIFAR100), "cifar100"));
    CHECK(!strcmp(sal_config_enum_name("data", "dataset", SAL_DATA_SYNTHETIC_CIFAR),
                  "synthetic-cifar"));
    CHECK(!strcmp(sal_config_enum_name("data", "augment", SAL_AUG_AUTO), "auto"));
    CHECK(!strcmp(sal_config_enum_name("data", "augment", SAL_AUG_CROP_FLIP), "crop_flip"));
    CHECK(!strcmp(sal_config_enum_name("data", "partition", SAL_PART_IID), "iid"));
    CHECK(!strcmp(sal_config_enum_name("data", "partition", SAL_PART_DIRICHLET), "dirichlet"));
    CHECK(!strcmp(sal_config_enum_name("data", "partition", SAL_PART_SHARDS), "shards"));
    CHECK(!strcmp(sal_config_enum_name("train", "algorithm", SAL_ALGO_CENTRALIZED),
                  "centralized"));
    CHECK(!strcmp(sal_config_enum_name("train", "lr_schedule", SAL_LR_CONSTANT), "constant"));
    CHECK(!strcmp(sal_config_enum_name("train", "lr_schedule", SAL_LR_STEP), "step"));
    CHECK(!strcmp(sal_config_enum_name("train", "lr_schedule", SAL_LR_COSINE), "cosine"));
    CHECK(!strcmp(sal_config_enum_name("sparsity", "method", SAL_SPARSE_NONE), "none"));
    CHECK(!strcmp(sal_config_enum_name("sparsity", "scope", SAL_SCOPE_GLOBAL), "global"));
    CHECK(!strcmp(sal_config_enum_name("sparsity", "scope", SAL_SCOPE_LAYERWISE), "layerwise"));
    /* No name: a value out of range, a non-enum key, an unknown key. */
    CHECK(!strcmp(sal_config_enum_name("model", "arch", SAL_ARCH_LINEAR), "linear"));
    CHECK(sal_config_enum_name("model", "arch", SAL_ARCH_RESNET50 + 1) == NULL);
    CHECK(sal_config_enum_name("model", "arch", -1) == NULL);
    CHECK(sal_config_enum_name("train", "lr", 0) == NULL);
    CHECK(sal_config_enum_name("model", "nope", 0) == NULL);
    CHECK(sal_config_enum_name(NULL, NULL, 0) == NULL);
}

static void test_good_file(void) {
    /* Comments of both kinds, inline comments, indentation, CRLF, blank lines, a BOM, a
     * repeated section and values with inner spaces and '='. */
    const char *text = "\xEF\xBB\xBF# a job\n"
                       "[run]\n"
                       "seed = 18446744073709551615\n"
                       "  rounds=7\r\n"
                       "out = runs/my run=1 ; inline comment\n"
                       "\n"
                       "[data]\n"
                       "; another comment\n"
                       "dataset = synthetic\n"
                       "path = /data/with spaces/x\n"
                       "partition = shards\n"
                       "alpha = 1e-3\n"
                       "shards_per_client = 3\n"
                       "clients = 4\n"
                       "train_limit = 1000\n"
                       "test_limit = 500\n"
                       "synth_train = 2000\n"
                       "synth_test = 300\n"
                       "[model]\n"
                       "arch = mlp\n"
                       "[train]\n"
                       "local_epochs = 2\n"
                       "batch = 65536\n"
                       "lr = 100\n"
                       "momentum = 0\n"
                       "weight_decay = 1\n"
                       "sample_fraction = 1\n"
                       "lr_schedule = cosine\n"
                       "lr_step = 5\n"
                       "lr_gamma = 0.5\n"
                       "[sparsity]\n"
                       "density = 1\n"
                       "scope = layerwise\n"
                       "[run]\n"
                       "eval_every = 2\n"
                       "threads = 256\n";
    sal_config c;
    fresh(&c);
    sal_err err = {""};
    sal_status st = sal_config_load_string(&c, text, "good.ini", &err);
    CHECK_MSG(st == SAL_OK, "%s", err.msg);
    CHECK(c.seed == UINT64_MAX);
    CHECK(c.rounds == 7);
    CHECK_MSG(!strcmp(c.out, "runs/my run=1"), "'%s'", c.out);
    CHECK(c.eval_every == 2 && c.threads == 256);
    CHECK(c.dataset == SAL_DATA_SYNTHETIC);
    CHECK(!strcmp(c.path, "/data/with spaces/x"));
    CHECK(c.partition == SAL_PART_SHARDS);
    CHECK(c.alpha == 1e-3);
    CHECK(c.shards_per_client == 3 && c.clients == 4);
    CHECK(c.train_limit == 1000 && c.test_limit == 500);
    CHECK(c.synth_train == 2000 && c.synth_test == 300);
    CHECK(c.arch == SAL_ARCH_MLP);
    CHECK(c.local_epochs == 2 && c.batch == 65536);
    CHECK(c.lr == 100 && c.momentum == 0 && c.weight_decay == 1 && c.sample_fraction == 1);
    CHECK(c.lr_schedule == SAL_LR_COSINE && c.lr_step == 5 && c.lr_gamma == 0.5);
    CHECK(c.density == 1 && c.scope == SAL_SCOPE_LAYERWISE);
    CHECK_MSG(sal_config_validate(&c, &err) == SAL_OK, "%s", err.msg);
    CHECK(round_trips(&c));
}

/* One bad input: the status, the message's pieces, and that the config is left untouched. */
typedef struct bad_case {
    const char *text;
    sal_status st;
    const char *want[5];
} bad_case;

static void test_errors(void) {
    static char long_line[5000], long_path[1100];
    memcpy(long_line, "[run]\nout = ", 12);
    memset(long_line + 12, 'x', 4200);
    memcpy(long_path, "[data]\npath = ", 14);
    memset(long_path + 14, 'p', 1024); /* one character too many */
    const bad_case cases[] = {
        {"[train]\nlr = fast\n", SAL_ECONFIG,
         {"run.ini:2: [train] lr = 'fast': not a number; expected a number in (0, 100]",
          "(default 0.05)"}},
        {"[train]\nbatch = 3\nlrr = 0.1\n", SAL_ECONFIG,
         {"run.ini:3: unknown key 'lrr' in [train]; known keys: algorithm, local_epochs, batch, lr",
          "lr_gamma", "did you mean 'lr'?"}},
        {"# c\n[trian]\nlr = 1\n", SAL_ECONFIG,
         {"run.ini:2: unknown section [trian]; known sections: run, data, model, train, sparsity",
          "did you mean [train]?"}},
        /* an empty misspelled section is still caught, on its own line */
        {"[run]\nseed = 2\n[modle]\n[train]\nlr = 0.1\n", SAL_ECONFIG,
         {"run.ini:3: unknown section [modle]"}},
        {"[run]\n\n\n\n[model]\narch = resnet\n", SAL_ECONFIG,
         {"run.ini:6: [model] arch = 'resnet': expected one of mlp|lenet5|cnn"}},
        {"[data]\ndataset = MNIST\n", SAL_ECONFIG,
         {"[data] dataset", "fashion-mnist|mnist|cifar10|synthetic"}},
        {"[data]\npartition = random\n", SAL_ECONFIG, {"iid|dirichlet|shards"}},
        {"[train]\nlr_schedule = linear\n", SAL_ECONFIG, {"constant|step|cosine"}},
        {"[train]\nalgorithm = gossip\n", SAL_ECONFIG, {"expected one of centralized|fedavg"}},
        {"[sparsity]\nmethod = topk\n", SAL_ECONFIG, {"expected one of none"}},
        {"[sparsity]\nscope = local\n", SAL_ECONFIG, {"global|layerwise"}},
        {"[train]\nbatch = 0\n", SAL_ECONFIG,
         {"run.ini:2: [train] batch = '0': out of range; expected an integer in [1, 65536]"}},
        {"[train]\nbatch = 65537\n", SAL_ECONFIG, {"out of range", "[1, 65536]"}},
        {"[run]\nrounds = 3.5\n", SAL_ECONFIG,
         {"[run] rounds = '3.5': not an integer; expected an integer >= 1 (default 3)"}},
        {"[run]\nrounds = 1e3\n", SAL_ECONFIG, {"not an integer"}},
        {"[run]\nrounds = 12abc\n", SAL_ECONFIG, {"not an integer"}},
        {"[run]\nrounds =\n", SAL_ECONFIG, {"rounds = '': not an integer"}},
        {"[run]\nrounds = 0x10\n", SAL_ECONFIG, {"not an integer"}},
        {"[run]\nrounds = 2147483648\n", SAL_ECONFIG, {"rounds", "out of range"}},
        {"[run]\nrounds = 99999999999999999999999\n", SAL_ECONFIG, {"out of range"}},
        {"[run]\nthreads = 257\n", SAL_ECONFIG, {"[run] threads", "[1, 256]"}},
        {"[data]\ntrain_limit = -1\n", SAL_ECONFIG, {"[data] train_limit", ">= 0"}},
        {"[run]\nseed = -1\n", SAL_ECONFIG,
         {"[run] seed = '-1': negative; expected an integer in [0, 18446744073709551615]"}},
        {"[run]\nseed = 18446744073709551616\n", SAL_ECONFIG, {"[run] seed", "out of range"}},
        {"[run]\nseed = 1.0\n", SAL_ECONFIG, {"[run] seed", "not an integer"}},
        {"[train]\nlr = nan\n", SAL_ECONFIG, {"[train] lr = 'nan': not a number"}},
        {"[train]\nlr = inf\n", SAL_ECONFIG, {"[train] lr = 'inf'", "(0, 100]"}},
        {"[train]\nlr = -inf\n", SAL_ECONFIG, {"[train] lr"}},
        {"[train]\nlr = 1e999\n", SAL_ECONFIG, {"out of range"}},
        {"[train]\nlr = 0.1x\n", SAL_ECONFIG, {"not a number"}},
        {"[train]\nlr = 0\n", SAL_ECONFIG, {"out of range; expected a number in (0, 100]"}},
        {"[train]\nlr = 100.00001\n", SAL_ECONFIG, {"out of range"}},
        {"[train]\nmomentum = 1\n", SAL_ECONFIG, {"[train] momentum", "[0, 1)"}},
        {"[train]\nmomentum = -0.1\n", SAL_ECONFIG, {"[0, 1)"}},
        {"[train]\nweight_decay = 1.5\n", SAL_ECONFIG, {"[0, 1]"}},
        {"[train]\nsample_fraction = 0\n", SAL_ECONFIG, {"(0, 1]"}},
        {"[train]\nlr_gamma = 1.01\n", SAL_ECONFIG, {"[train] lr_gamma", "(0, 1]"}},
        {"[sparsity]\ndensity = 0\n", SAL_ECONFIG, {"[sparsity] density", "(0, 1]"}},
        {"[data]\nalpha = 0\n", SAL_ECONFIG,
         {"[data] alpha = '0': out of range; expected a number > 0 (default 0.3)"}},
        {"seed = 3\n", SAL_ECONFIG, {"run.ini:1: key 'seed' is outside any section", "[run]"}},
        {"foo = 3\n", SAL_ECONFIG, {"run.ini:1: key 'foo' is outside any section", "sparsity"}},
        {"[run]\nseed = 3\njust some words\n", SAL_ECONFIG,
         {"run.ini:3: malformed line 'just some words'", "key = value"}},
        {"[run\nseed = 3\n", SAL_ECONFIG, {"run.ini:1: malformed section line '[run'"}},
        {"[run]\nseed = 3\nrounds = 4\nseed = 5\n", SAL_ECONFIG,
         {"run.ini:4: [run] seed is set twice (first on line 2)"}},
        {"[run] seed = 3\n", SAL_ECONFIG, {"run.ini:1: text after [run]: 'seed = 3'"}},
        {"[run]\nlr = 0.1\n", SAL_ECONFIG,
         {"unknown key 'lr' in [run]", "'lr' belongs in [train]"}},
        {"[run]\n= 5\n", SAL_ECONFIG, {"run.ini:2: missing key name"}},
        {long_line, SAL_ECONFIG, {"run.ini:2: line longer than"}},
        {long_path, SAL_ECONFIG,
         {"run.ini:2: [data] path = 'ppp", "too long (1024 characters); expected at most 1023"}},
        {"[run]\nout = a\x01z\n", SAL_ECONFIG, {"[run] out = 'a?z'", "control character"}},
        /* '#' or ';' glued to a value is no comment, and no part of a path either */
        {"[run]\nout = runs/a#b\n", SAL_ECONFIG,
         {"run.ini:2: [run] out = 'runs/a#b': contains '#'; a comment needs a blank before it"}},
        {"[data]\npath = a;b\n", SAL_ECONFIG, {"[data] path = 'a;b': contains ';'"}},
        {"[train]\nlr = 0.1#fast\n", SAL_ECONFIG, {"[train] lr = '0.1#fast': contains '#'"}},
        {"[data]\ndataset = synthetic;x\n", SAL_ECONFIG, {"[data] dataset", "contains ';'"}},
        /* quotes: one matching pair is removed, anything else refused */
        {"[run]\nout = \"runs/x\n", SAL_ECONFIG,
         {"run.ini:2: [run] out = '\"runs/x': the quote \" has no partner at the end"}},
        {"[run]\nout = runs/x'\n", SAL_ECONFIG, {"[run] out", "starts or ends with a quote"}},
        {"[run]\nout = \"'x'\"\n", SAL_ECONFIG, {"[run] out", "starts or ends with a quote"}},
        {"[run]\nout = \"\n", SAL_ECONFIG, {"[run] out", "has no partner"}},
        {"[run]\nout = \" x\"\n", SAL_ECONFIG, {"[run] out", "blanks at the start or end"}},
        {"[train]\nlr = \"0.1'\n", SAL_ECONFIG, {"[train] lr", "has no partner"}},
        /* the first error wins, even after good keys, and the config stays as it was */
        {"[run]\nseed = 9\nrounds = 9\n[train]\nbatch = -3\nlr = x\n", SAL_ECONFIG,
         {"run.ini:5: [train] batch"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sal_config c, before;
        fresh(&c);
        memcpy(&before, &c, sizeof c);
        sal_err err = {""};
        sal_status st = sal_config_load_string(&c, cases[i].text, "run.ini", &err);
        CHECK_MSG(st == cases[i].st, "case %zu: status %d, message: %s", i, (int)st, err.msg);
        CHECK_MSG(same(&c, &before), "case %zu changed the config on error", i);
        CHECK_MSG(strstr(err.msg, "run.ini:") == err.msg, "case %zu: %s", i, err.msg);
        CHECK_MSG(!strchr(err.msg, '\n'), "case %zu: more than one line: %s", i, err.msg);
        for (int j = 0; j < 5 && cases[i].want[j]; j++)
            CHECK_MSG(strstr(err.msg, cases[i].want[j]), "case %zu: want '%s' in: %s", i,
                      cases[i].want[j], err.msg);
    }

    /* Boundaries that must pass. */
    const char *good[] = {
        "[run]\nrounds = 2147483647\n", "[run]\nseed = 0\n", "[run]\nseed = +5\n",
        "[train]\nlr = 100\n", "[train]\nlr = 1e-300\n", "[train]\nmomentum = 0.999999\n",
        "[train]\nweight_decay = 0\n", "[data]\nalpha = 1e300\n", "[data]\npath = \n",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        sal_config c;
        fresh(&c);
        sal_err err = {""};
        CHECK_MSG(sal_config_load_string(&c, good[i], "ok.ini", &err) == SAL_OK, "'%s': %s",
                  good[i], err.msg);
    }
    /* A path of exactly 1023 characters fits. */
    char *p = malloc(1100);
    memcpy(p, "[data]\npath = ", 14);
    memset(p + 14, 'q', 1023);
    p[14 + 1023] = '\0';
    sal_config c;
    fresh(&c);
    sal_err err = {""};
    CHECK_MSG(sal_config_load_string(&c, p, "ok.ini", &err) == SAL_OK, "%s", err.msg);
    CHECK(strlen(c.path) == 1023);
    CHECK(round_trips(&c));
    free(p);
    /* Comments after a value, with '#' as with ';', and quotes around one. */
    const struct {
        const char *text, *out;
        double lr;
    } values[] = {
        {"[run]\nout = runs/x # where it goes\n[train]\nlr = 0.2 ; fast\n", "runs/x", 0.2},
        {"[run]   # the run\nout = runs/x\t# tab\n[train] ; training\nlr = 0.2# x\n", NULL, 0},
        {"[run]\nout = \"runs/a b\"  # quoted\n[train]\nlr = '0.3'\n", "runs/a b", 0.3},
        {"[run]\nout = ''\n[train]\nlr = \"0.3\"\n", "", 0.3},
        {"[run]\nout = \"run's\"\n", "run's", 0.05},
        {"[run]\nout = #\n", "", 0.05},
    };
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        fresh(&c);
        sal_status st = sal_config_load_string(&c, values[i].text, "v.ini", &err);
        if (!values[i].out) { /* "0.2# x": the '#' is glued, so refused */
            CHECK_MSG(st == SAL_ECONFIG && strstr(err.msg, "v.ini:4: [train] lr = '0.2#"),
                      "value case %zu: %s", i, err.msg);
            continue;
        }
        CHECK_MSG(st == SAL_OK, "value case %zu: %s", i, err.msg);
        CHECK_MSG(!strcmp(c.out, values[i].out), "value case %zu: out '%s'", i, c.out);
        CHECK_MSG(c.lr == values[i].lr, "value case %zu: lr %g", i, c.lr);
        CHECK(round_trips(&c));
    }
    /* No name: a placeholder, not a crash. */
    CHECK(sal_config_load_string(&c, "[run]\nx=1\n", NULL, &err) == SAL_ECONFIG);
    CHECK(strstr(err.msg, "unknown key 'x'"));
    /* NULL err is allowed. */
    CHECK(sal_config_load_string(&c, "[run]\nx=1\n", "a.ini", NULL) == SAL_ECONFIG);
}

/* Line numbers count every physical line: comments, blanks, CRLF endings, long lines. */
static void test_line_numbers(void) {
    const char *text = "# header\r\n"
                       "\r\n"
                       "[run]\r\n"
                       "; comment\r\n"
                       "seed = 4\r\n"
                       "   \r\n"
                       "[train]\r\n"
                       "lr = 0.1 ; fine\r\n"
                       "batch = big\r\n";
    sal_config c;
    fresh(&c);
    sal_err err = {""};
    CHECK(sal_config_load_string(&c, text, "crlf.ini", &err) == SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "crlf.ini:9: [train] batch = 'big'"), "%s", err.msg);
    /* A 300-character line (inih's stock limit is 200) must count as one line. */
    char buf[1024];
    char path[301];
    memset(path, 'a', 300);
    path[300] = '\0';
    snprintf(buf, sizeof buf, "[data]\npath = %s\n\n[model]\narch = x\n", path);
    fresh(&c);
    CHECK(sal_config_load_string(&c, buf, "long.ini", &err) == SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "long.ini:5: [model] arch"), "%s", err.msg);
    /* Indented keys are keys, not continuations of the previous value. */
    fresh(&c);
    CHECK_MSG(sal_config_load_string(&c, "[train]\n  lr = 0.2\n  batch = 16\n", "i.ini", &err) ==
                  SAL_OK,
              "%s", err.msg);
    CHECK(c.lr == 0.2 && c.batch == 16);
}

static void test_files(void) {
    char dir[] = "/tmp/sal_test_config_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    sal_config c;
    sal_err err = {""};

    /* Missing file: SAL_EIO with the OS's reason. */
    snprintf(path, sizeof path, "%s/missing.ini", dir);
    fresh(&c);
    CHECK(sal_config_load(&c, path, &err) == SAL_EIO);
    CHECK_MSG(strstr(err.msg, "cannot read config file '") && strstr(err.msg, "missing.ini") &&
                  strstr(err.msg, "No such file or directory"),
              "%s", err.msg);
    /* A directory, a FIFO (which would block open() with no writer): said, not "missing". */
    CHECK(sal_config_load(&c, dir, &err) == SAL_EIO);
    CHECK_MSG(strstr(err.msg, "cannot read config file") && strstr(err.msg, "is a directory"),
              "%s", err.msg);
    snprintf(path, sizeof path, "%s/fifo.ini", dir);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(sal_config_load(&c, path, &err) == SAL_EIO);
    CHECK_MSG(strstr(err.msg, "fifo.ini': it is a FIFO (named pipe), not a file"), "%s", err.msg);
    unlink(path);

    /* A file that sets nothing is refused, not run as the default job; the config is kept. */
    const char *empty[] = {"", "\n\n", "# only a comment\n; another\n", "[run]\n[train]\n"};
    snprintf(path, sizeof path, "%s/empty.ini", dir);
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        FILE *e = fopen(path, "w");
        fputs(empty[i], e);
        fclose(e);
        fresh(&c);
        sal_config before = c;
        CHECK_MSG(sal_config_load(&c, path, &err) == SAL_ECONFIG &&
                      strstr(err.msg, "empty.ini' sets no keys"),
                  "empty case %zu: %s", i, err.msg);
        CHECK(same(&c, &before));
    }
    unlink(path);

    /* A real file: messages carry its path. */
    snprintf(path, sizeof path, "%s/run.ini", dir);
    FILE *f = fopen(path, "w");
    fputs("[train]\nbatch = 8\n\n[sparsity]\ndensity = 2\n", f);
    fclose(f);
    fresh(&c);
    CHECK(sal_config_load(&c, path, &err) == SAL_ECONFIG);
    char want[300];
    snprintf(want, sizeof want, "%s:5: [sparsity] density = '2': out of range", path);
    CHECK_MSG(strstr(err.msg, want), "%s", err.msg);
    CHECK(c.batch == 64); /* untouched */

    /* A binary file with a NUL byte. */
    f = fopen(path, "w");
    fwrite("[run]\nseed = 1\n\0\n", 1, 17, f);
    fclose(f);
    CHECK(sal_config_load(&c, path, &err) == SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "NUL byte"), "%s", err.msg);

    /* Write to a file, load it back. */
    fresh(&c);
    CHECK(sal_config_set(&c, "train.lr=0.1", &err) == SAL_OK);
    CHECK(sal_config_set(&c, "data.path=/srv/my data", &err) == SAL_OK);
    f = fopen(path, "w");
    CHECK(sal_config_write(&c, f) == 0);
    fclose(f);
    sal_config back;
    fresh(&back);
    CHECK_MSG(sal_config_load(&back, path, &err) == SAL_OK, "%s", err.msg);
    CHECK(same(&c, &back));
    unlink(path);
    rmdir(dir);

    /* The job configs in the tree load and validate. */
    fresh(&c);
    CHECK_MSG(sal_config_load(&c, sal_test_src("jobs/configs/lenet5-fmnist.ini"), &err) == SAL_OK,
              "%s", err.msg);
    CHECK(c.dataset == SAL_DATA_FASHION_MNIST && c.arch == SAL_ARCH_LENET5);
    CHECK(c.algorithm == SAL_ALGO_CENTRALIZED && c.rounds == 3 && c.batch == 64);
    CHECK(c.lr == 0.05 && c.momentum == 0.9 && c.seed == 1);
    CHECK_MSG(sal_config_validate(&c, &err) == SAL_OK, "%s", err.msg);
    fresh(&c);
    CHECK_MSG(sal_config_load(&c, sal_test_src("jobs/configs/smoke.ini"), &err) == SAL_OK, "%s",
              err.msg);
    CHECK(c.dataset == SAL_DATA_SYNTHETIC && c.synth_train == 512 && c.synth_test == 256);
    CHECK(c.arch == SAL_ARCH_MLP && c.rounds == 2 && c.batch == 32);
    CHECK_MSG(sal_config_validate(&c, &err) == SAL_OK, "%s", err.msg);
}

static void test_set(void) {
    sal_config c;
    fresh(&c);
    sal_err err = {""};
    CHECK(sal_config_set(&c, "train.batch=128", &err) == SAL_OK && c.batch == 128);
    CHECK(sal_config_set(&c, " train . lr = 0.25 ", &err) == SAL_OK && c.lr == 0.25);
    CHECK(sal_config_set(&c, "model.arch=cnn", &err) == SAL_OK && c.arch == SAL_ARCH_CNN);
    CHECK(sal_config_set(&c, "run.out=a=b c", &err) == SAL_OK && !strcmp(c.out, "a=b c"));
    CHECK(sal_config_set(&c, "run.seed=42", &err) == SAL_OK && c.seed == 42);
    CHECK(sal_config_set(&c, "data.path=", &err) == SAL_OK && !strcmp(c.path, ""));
    /* --set after a file overrides it. */
    CHECK(sal_config_load_string(&c, "[train]\nbatch = 8\n", "f.ini", &err) == SAL_OK);
    CHECK(sal_config_set(&c, "train.batch=9", &err) == SAL_OK && c.batch == 9);

    sal_config before;
    memcpy(&before, &c, sizeof c);
    CHECK(sal_config_set(&c, "train.batch=0", &err) == SAL_ECONFIG);
    CHECK_MSG(!strcmp(err.msg, "--set train.batch=0: [train] batch = '0': out of range; expected "
                               "an integer in [1, 65536] (default 64)"),
              "%s", err.msg);
    CHECK(sal_config_set(&c, "train.lr=fast", &err) == SAL_ECONFIG);
    CHECK_MSG(!strcmp(err.msg, "--set train.lr=fast: [train] lr = 'fast': not a number; expected "
                               "a number in (0, 100] (default 0.05)"),
              "%s", err.msg);
    const char *bad[][2] = {
        {"trainbatch=3", "expected section.key=value"},
        {"train.batch", "expected section.key=value"},
        {".batch=3", "expected section.key=value"},
        {"train.=3", "expected section.key=value"},
        {"train.a.b=3", "expected section.key=value"},
        {"", "expected section.key=value"},
        {"trian.batch=3", "--set trian.batch=3: unknown section [trian]"},
        {"train.bach=3", "--set train.bach=3: unknown key 'bach' in [train]"},
        {"run.out=a ;b", "contains ';'"},
        {"run.out=;b", "contains ';'"},
        {"data.path=;", "contains ';'"},
        {"run.out=a#b", "contains '#'; a comment needs a blank before it"},
        {"run.out=#x", "contains '#'"},
        {"run.out=\"x", "the quote \" has no partner"},
        {"run.out=x\"", "starts or ends with a quote"},
        {"run.out=a\nb", "control character"},
        {"model.arch=resnet", "expected one of mlp|lenet5|cnn"},
        {"trainnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn.lr=1",
         "unknown section [trainnnn"},
        {"train.lrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr=1",
         "unknown key 'lrrrr"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_MSG(sal_config_set(&c, bad[i][0], &err) == SAL_ECONFIG, "'%s'", bad[i][0]);
        CHECK_MSG(strstr(err.msg, bad[i][1]), "'%s': want '%s' in: %s", bad[i][0], bad[i][1],
                  err.msg);
        CHECK_MSG(!strchr(err.msg, '\n'), "%s", err.msg);
    }
    CHECK(same(&c, &before));
}

static void test_validate(void) {
    sal_config c;
    sal_err err = {""};

    fresh(&c);
    c.partition = SAL_PART_SHARDS;
    c.clients = 100000;
    c.shards_per_client = 100000;
    CHECK(sal_config_validate(&c, &err) == SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "clients") && strstr(err.msg, "shards_per_client"), "%s", err.msg);

    fresh(&c);
    c.dataset = SAL_DATA_SYNTHETIC;
    c.synth_train = 100;
    c.clients = 101;
    CHECK(sal_config_validate(&c, &err) == SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "[data] clients") && strstr(err.msg, "[data] synth_train"), "%s",
              err.msg);
    c.clients = 100;
    CHECK_MSG(sal_config_validate(&c, &err) == SAL_OK, "%s", err.msg);
    c.partition = SAL_PART_SHARDS;
    c.shards_per_client = 2; /* 200 shards of 100 samples */
    CHECK(sal_config_validate(&c, &err) == SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "shards_per_client") && strstr(err.msg, "synth_train"), "%s",
              err.msg);

    fresh(&c);
    c.train_limit = 10;
    c.clients = 11;
    CHECK(sal_config_validate(&c, &err) == SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "[data] clients") && strstr(err.msg, "[data] train_limit"), "%s",
              err.msg);

    fresh(&c);
    c.density = 0.5;
    CHECK(sal_config_validate(&c, &err) == SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "[sparsity] density") && strstr(err.msg, "[sparsity] method"), "%s",
              err.msg);

    /* Fields set by code are held to the same ranges as files. */
    fresh(&c);
    c.batch = 0;
    CHECK(sal_config_validate(&c, &err) == SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "[train] batch") && strstr(err.msg, "[1, 65536]"), "%s", err.msg);
    fresh(&c);
    c.lr = NAN;
    CHECK(sal_config_validate(&c, &err) == SAL_ECONFIG);
    fresh(&c);
    c.arch = (sal_arch)7;
    CHECK(sal_config_validate(&c, &err) == SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "[model] arch"), "%s", err.msg);
    int rc;
    free(write_str(&c, &rc));
    CHECK(rc == -1); /* nothing valid to write for arch */
    fresh(&c);
    memset(c.out, 'x', sizeof c.out); /* no NUL */
    CHECK(sal_config_validate(&c, &err) == SAL_ECONFIG);
    CHECK_MSG(strstr(err.msg, "[run] out"), "%s", err.msg);
}

static void test_round_trip(void) {
    sal_config c;
    sal_err err = {""};
    fresh(&c);
    CHECK(round_trips(&c));
    /* Awkward doubles, extremes, spaces in paths, every enum non-default. */
    const char *sets[] = {
        "train.lr=0.1", "train.weight_decay=1e-5", "train.momentum=0.30000000000000004",
        "data.alpha=4.9406564584124654e-324", "train.sample_fraction=0.3333333333333333",
        "sparsity.density=1e-300", "train.lr_gamma=0.7", "run.seed=18446744073709551615",
        "run.rounds=2147483647", "data.path=/data/fashion mnist/v1", "run.out=runs/a b=c:d",
        "data.dataset=cifar10", "data.partition=dirichlet", "model.arch=mlp",
        "train.lr_schedule=step", "sparsity.scope=layerwise", "train.momentum=-0",
    };
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
        CHECK_MSG(sal_config_set(&c, sets[i], &err) == SAL_OK, "%s: %s", sets[i], err.msg);
    CHECK(signbit(c.momentum));
    CHECK(round_trips(&c));

    /* The file starts with its comment, and writing is idempotent. */
    int rc;
    char *a = write_str(&c, &rc);
    CHECK(rc == 0 && !strncmp(a, "# written by salient; every key resolved\n", 41));
    CHECK(strstr(a, "\n[train]\n") && strstr(a, "\nlr = 0.1\n"));
    CHECK(strstr(a, "\nweight_decay = 1e-05\n"));
    CHECK(strstr(a, "\nsample_fraction = 0.3333333333333333\n"));
    sal_config back;
    fresh(&back);
    CHECK(sal_config_load_string(&back, a, "a.ini", &err) == SAL_OK);
    char *b = write_str(&back, &rc);
    CHECK(!strcmp(a, b));
    free(a);
    free(b);

    /* Every key appears in the written file. */
    a = write_str(&c, &rc);
    for (size_t i = 0; i < NALL; i++) {
        const char *dot = strchr(all_keys[i], '.');
        char line[64];
        snprintf(line, sizeof line, "\n%s = ", dot + 1);
        CHECK_MSG(strstr(a, line), "%s missing from the written file", all_keys[i]);
    }
    free(a);

    /* Many doubles, including ones needing all 17 digits. */
    srand(12345);
    int bad = 0;
    for (int i = 0; i < 2000; i++) {
        fresh(&c);
        double u = ((double)rand() + 1.0) / ((double)RAND_MAX + 1.0); /* (0, 1] */
        c.density = u;
        c.lr = u * 100.0;
        c.alpha = ldexp(u, rand() % 2000 - 1000);
        c.momentum = nextafter(1.0, 0.0) * u;
        c.method = SAL_SPARSE_NONE; /* validate would object to density < 1; write does not */
        if (!round_trips(&c)) bad++;
    }
    CHECK_MSG(bad == 0, "%d of 2000 random configs did not round-trip", bad);
    fresh(&c);
    c.alpha = DBL_MAX;
    c.lr = DBL_MIN;
    c.density = DBL_TRUE_MIN;
    CHECK(round_trips(&c));
}

static void test_help(void) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    sal_config_print_help(f);
    fclose(f);
    for (size_t i = 0; i < NALL; i++) {
        char want[64];
        const char *dot = strchr(all_keys[i], '.');
        snprintf(want, sizeof want, "[%.*s] %s ", (int)(dot - all_keys[i]), all_keys[i], dot + 1);
        CHECK_MSG(strstr(buf, want), "help lacks '%s'", want);
    }
    CHECK(strstr(buf, "default 0.05"));
    CHECK(strstr(buf, "range (0, 100]"));
    CHECK(strstr(buf, "mlp|lenet5|cnn"));
    CHECK(strstr(buf, "one epoch"));
    /* Readable in 100 columns. */
    int longest = 0, len = 0;
    for (const char *p = buf; *p; p++) {
        if (*p == '\n') len = 0;
        else if (++len > longest) longest = len;
    }
    CHECK_MSG(longest <= 100, "help line of %d columns", longest);
    free(buf);
}

/* Values at the edge of what a written file can carry (the fuzzer's territory; add what it
 * finds here). Each must round-trip; the ones that cannot are refused in test_set. */
static void test_round_trip_edges(void) {
    const char *ok[] = {
        "run.out=[x]", "run.out=a:b", "run.out=x =y", "run.out=\"q\"", "run.out=it's",
        "run.out=\xc2\xa0x\xc2\xa0", "run.out=  padded  ", "data.alpha=1e-320",
        "data.alpha=0x1p-3", "train.lr=+1", "run.seed=+0", "model.arch= cnn ",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        sal_config c;
        fresh(&c);
        sal_err err = {""};
        CHECK_MSG(sal_config_set(&c, ok[i], &err) == SAL_OK, "'%s': %s", ok[i], err.msg);
        CHECK_MSG(round_trips(&c), "'%s'", ok[i]);
    }
    sal_config c;
    fresh(&c);
    sal_err err = {""};
    CHECK(sal_config_set(&c, "run.out=  padded  ", &err) == SAL_OK && !strcmp(c.out, "padded"));
    CHECK(sal_config_set(&c, "data.alpha=0x1p-3", &err) == SAL_OK && c.alpha == 0.125);
    CHECK(sal_config_set(&c, "run.out=\"q\"", &err) == SAL_OK && !strcmp(c.out, "q"));
    /* Code may fill a field with what no file could carry: validate refuses it. */
    snprintf(c.out, sizeof c.out, "runs/a #b");
    CHECK(sal_config_validate(&c, &err) == SAL_ECONFIG && strstr(err.msg, "[run] out"));
    snprintf(c.out, sizeof c.out, "\"q\"");
    CHECK(sal_config_validate(&c, &err) == SAL_ECONFIG && strstr(err.msg, "quote"));
}

/* [comm] cost_* default to the collectives' own defaults, so that a config that does not set
 * them leaves auto as `salient bench` and the library have it. */
static void test_cost_defaults(void) {
    sal_config c;
    sal_config_defaults(&c);
    sal_coll_opts o;
    sal_coll_opts_default(&o);
    CHECK(c.cost_alpha == o.cost.alpha && c.cost_beta == o.cost.beta &&
          c.cost_beta_coll == o.cost.beta_coll && c.cost_gamma == o.cost.gamma &&
          c.cost_delta == o.cost.delta);
}

int main(void) {
    test_defaults();
    test_cost_defaults();
    test_enum_names();
    test_good_file();
    test_errors();
    test_line_numbers();
    test_files();
    test_set();
    test_validate();
    test_round_trip();
    test_help();
    test_round_trip_edges();
    return sal_test_done("test_config");
}
