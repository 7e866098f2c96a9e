/* Crash-safe file operations for the cache: whatever a reader (this tool, transformers, a
 * second `affect pull`) finds under snapshots/ or refs/ is complete, because everything is
 * written beside its final name first and then renamed into place. */
#define _POSIX_C_SOURCE 200809L
#include "hub/hub_internal.h"
#include "util/error.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* After a rename the new directory entry itself must reach the disk, or a crash could lose
 * the file the rename just published. */
static int fsync_parent(const char *path, affect_error *err) {
    char d[HUB_PATH_MAX];
    int rc = hub_path(d, sizeof d, err, "%s", path);
    if (rc) return rc;
    char *slash = strrchr(d, '/');
    if (!slash) snprintf(d, sizeof d, ".");
    else if (slash == d) d[1] = 0;
    else *slash = 0;
    int fd = open(d, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return affect_fail(err, AFFECT_EIO, "cannot open folder %s: %s", d, strerror(errno));
    /* Some file systems refuse fsync on a directory (EINVAL): nothing more can be done there. */
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
        int e = errno;
        close(fd);
        return affect_fail(err, AFFECT_EIO, "cannot sync folder %s: %s", d, strerror(e));
    }
    close(fd);
    return 0;
}

/* The last step of every download: the bytes are durable before the name appears. */
int hub_commit_fd(int fd, const char *from, const char *to, affect_error *err) {
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return affect_fail(err, AFFECT_EIO, "cannot sync %s: %s", from, strerror(e));
    }
    if (close(fd) != 0) return affect_fail(err, AFFECT_EIO, "cannot close %s: %s", from, strerror(errno));
    if (rename(from, to) != 0)
        return affect_fail(err, AFFECT_EIO, "cannot rename %s to %s: %s", from, to, strerror(errno));
    return fsync_parent(to, err);
}

/* A snapshot entry is replaced in one step, so a concurrent reader sees the old blob or the
 * new one; an identical link is left alone. */
int hub_symlink_atomic(const char *target, const char *linkpath, affect_error *err) {
    char cur[HUB_PATH_MAX];
    ssize_t n = readlink(linkpath, cur, sizeof cur - 1);
    if (n >= 0) {
        cur[n] = 0;
        if (!strcmp(cur, target)) return 0;
    }
    char tmp[HUB_PATH_MAX];
    int rc = hub_path(tmp, sizeof tmp, err, "%s.tmp-%ld", linkpath, (long)getpid());
    if (rc) return rc;
    unlink(tmp);
    if (symlink(target, tmp) != 0)
        return affect_fail(err, AFFECT_EIO, "cannot create symlink %s: %s", tmp, strerror(errno));
    if (rename(tmp, linkpath) != 0) {
        int e = errno;
        unlink(tmp);
        return affect_fail(err, AFFECT_EIO, "cannot rename %s to %s: %s", tmp, linkpath, strerror(e));
    }
    return fsync_parent(linkpath, err);
}
