/* rundir.c - claiming an output directory for one run: refuse to overwrite results, one run
 * at a time (see salient/rundir.h). */
#include "salient/rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mpi.h>

#include "salient/fsutil.h"

/* What a run of `salient train` or `salient compare` writes, config.ini aside: config.ini alone
 * is what a run refused after its setup leaves, and is rewritten by the next one. */
static const char *const result_files[] = {"metrics.csv", "summary.json", "ranks.csv", "mask.csv",
                                           "compare.csv", "summary.csv"};

static int nonempty_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    int any = 0;
    while (!any && (e = readdir(d)))
        any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return any;
}

const char *sal_rundir_results(const char *dir) {
    char path[4200];
    for (size_t i = 0; i < sizeof result_files / sizeof *result_files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, result_files[i]);
        if (!access(path, F_OK)) return result_files[i];
    }
    snprintf(path, sizeof path, "%s/ckpt", dir);
    return nonempty_dir(path) ? "ckpt/" : NULL;
}

/* The whole file, for writing: what fcntl locks and F_GETLK ask about. */
static struct flock whole_file(short type) {
    struct flock l;
    memset(&l, 0, sizeof l);
    l.l_type = type;
    l.l_whence = SEEK_SET;
    return l; /* l_start = l_len = 0: every byte, however long the file grows */
}

long sal_rundir_holder(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, SAL_RUNDIR_LOCK);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct flock l = whole_file(F_WRLCK);
    long pid = fcntl(fd, F_GETLK, &l) == 0 && l.l_type != F_UNLCK ? (long)l.l_pid : 0;
    close(fd);
    return pid;
}

sal_status sal_rundir_lock(const char *dir, int *fd, sal_err *err) {
    *fd = -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, SAL_RUNDIR_LOCK);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0)
        return sal_fail(err, SAL_EIO, "cannot create lock file '%s': %s (set --out DIR)", path,
                        strerror(errno));
    struct flock l = whole_file(F_WRLCK);
    if (fcntl(f, F_SETLK, &l) == 0) {
        *fd = f;
        return SAL_OK;
    }
    int e = errno;
    close(f);
    if (e != EACCES && e != EAGAIN)
        return sal_fail(err, SAL_EIO, "cannot lock '%s': %s", path, strerror(e));
    long pid = sal_rundir_holder(dir);
    char who[48] = "another process";
    if (pid > 0) snprintf(who, sizeof who, "process %ld", pid);
    return sal_fail(err, SAL_EIO,
                    "output directory '%s' is in use: %s holds its lock '%s'; wait for that run "
                    "to end, or choose another --out",
                    dir, who, path);
}

static sal_status remove_file(const char *path, sal_err *err) {
    if (unlink(path) && errno != ENOENT)
        return sal_fail(err, SAL_EIO, "--force: cannot remove '%s': %s", path, strerror(errno));
    return SAL_OK;
}

sal_status sal_rundir_clear(const char *dir, sal_err *err) {
    char path[4200 + 256];
    sal_status st = SAL_OK;
    for (size_t i = 0; !st && i < sizeof result_files / sizeof *result_files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, result_files[i]);
        st = remove_file(path, err);
    }
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/ckpt", dir);
    DIR *d = st ? NULL : opendir(ckpt);
    if (!d) return st;
    /* only what sal_ckpt_save writes: round-N.h5, its .round-N.h5.tmp, and latest */
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        int n = 0, r;
        const char *name = e->d_name;
        int ours = !strcmp(name, "latest") ||
                   (sscanf(name, "round-%d.h5%n", &r, &n) == 1 && n > 0 && !name[n]) ||
                   (sscanf(name, ".round-%d.h5.tmp%n", &r, &n) == 1 && n > 0 && !name[n]);
        if (!ours) continue;
        snprintf(path, sizeof path, "%s/%s", ckpt, name);
        st = remove_file(path, err);
    }
    closedir(d);
    return st;
}

sal_status sal_rundir_check_paths(const char *dir, int rounds, int nranks, sal_err *err) {
#ifdef OPEN_MPI
    /* The longest name ckpt_write.c hands to H5Fcreate: DIR/ckpt/.round-NNNNNN.h5.tmp, the
     * round as %06d (wider past 999999); ompio then needs ".locktest." + the rank's digits +
     * the terminator within 256 bytes. */
    int rd = 6, kd = 1;
    for (long r = 1000000; r <= rounds; r *= 10) rd++;
    for (long k = 10; k <= nranks - 1; k *= 10) kd++;
    const size_t name = strlen(dir) + strlen("/ckpt/.round-") + (size_t)rd + strlen(".h5.tmp");
    const size_t room = 256 - strlen(".locktest.") - (size_t)kd - 1;
    if (name > room)
        return sal_fail(err, SAL_ECONFIG,
                        "output directory '%.60s...' is too long for checkpoints: their names "
                        "would be %zu characters, and Open MPI's MPI-IO takes at most %zu; choose "
                        "a shorter --out (a relative one counts from the working directory)",
                        dir, name, room);
#else
    (void)dir, (void)rounds, (void)nranks, (void)err;
#endif
    return SAL_OK;
}
