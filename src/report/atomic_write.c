/* Publishing a report file so that a browser, a CI artifact upload or a second `affect
 * compare` never sees half of it: write beside the target, sync, rename over it. */
#define _POSIX_C_SOURCE 200809L
#include "report/compare.h"
#include "core/util/error.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The folder holding `path` ("." for a bare name), so the temporary file lands on the same
 * file system and the rename is atomic. */
static int parent_of(const char *path, char *out, size_t outlen, affect_error *err) {
    const char *slash = strrchr(path, '/');
    int n;
    if (!slash) n = snprintf(out, outlen, ".");
    else if (slash == path) n = snprintf(out, outlen, "/");
    else n = snprintf(out, outlen, "%.*s", (int)(slash - path), path);
    if (n < 0 || (size_t)n >= outlen) return affect_fail(err, AFFECT_EARG, "output path is too long: %.64s...", path);
    return 0;
}

int report_write_file_atomic(const char *path, const char *data, size_t len, affect_error *err) {
    char dir[4096], tmp[4200];
    int rc = parent_of(path, dir, sizeof dir, err);
    if (rc) return rc;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return affect_fail(err, AFFECT_EARG, "%s is a folder, not a file", path);
    int n = snprintf(tmp, sizeof tmp, "%s.tmp-%ld-XXXXXX", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) return affect_fail(err, AFFECT_EARG, "output path is too long: %.64s...", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return affect_fail(err, AFFECT_EIO, "cannot create a temporary file beside %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            unlink(tmp);
            return affect_fail(err, AFFECT_EIO, "cannot write %s: %s", tmp, strerror(e));
        }
        off += (size_t)w;
    }
    /* mkstemp makes the file 0600; a report is meant to be shared like any other output */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return affect_fail(err, AFFECT_EIO, "cannot sync %s: %s", tmp, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return affect_fail(err, AFFECT_EIO, "cannot close %s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return affect_fail(err, AFFECT_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        /* some file systems refuse fsync on a folder (EINVAL); the rename has happened anyway */
        if (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS) {
            int e = errno;
            close(dfd);
            return affect_fail(err, AFFECT_EIO, "cannot sync folder %s: %s", dir, strerror(e));
        }
        close(dfd);
    }
    return 0;
}
