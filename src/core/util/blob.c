#define _POSIX_C_SOURCE 200809L
#include "blob.h"
#include "error.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__unix__) && !defined(__EMSCRIPTEN__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define AFFECT_HAVE_MMAP 1
#endif

/* Reads the file with stdio; used for small files and where mmap does not exist. */
int affect_read_file(const char *path, char **data, size_t *len, affect_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return affect_fail(err, errno == ENOENT ? AFFECT_ENOTFOUND : AFFECT_EIO,
                               "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) { fclose(f); return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", path); }
    for (;;) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap) {
            if (ferror(f)) {
                free(buf); fclose(f);
                return affect_fail(err, AFFECT_EIO, "%s: read error", path);
            }
            break;
        }
        if (cap > ((size_t)-1) / 4) { free(buf); fclose(f); return affect_fail(err, AFFECT_ENOMEM, "%s: too large", path); }
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) { free(buf); fclose(f); return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", path); }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    buf[n] = 0;
    *data = buf;
    *len = n;
    return AFFECT_OK;
}

/* Weights files are hundreds of MB: map them so loading costs no copy and pages are shared
 * between processes. A directory or an empty file is an error, not a zero-length map. */
int affect_blob_open(affect_blob *b, const char *path, affect_error *err) {
    memset(b, 0, sizeof *b);
#ifdef AFFECT_HAVE_MMAP
    int fd = open(path, O_RDONLY);
    if (fd < 0) return affect_fail(err, errno == ENOENT ? AFFECT_ENOTFOUND : AFFECT_EIO,
                                   "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return affect_fail(err, AFFECT_EIO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return affect_fail(err, AFFECT_EFORMAT, "%s: empty file", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return affect_fail(err, AFFECT_EIO, "%s: mmap: %s", path, strerror(errno));
    b->data = p;
    b->len = (size_t)st.st_size;
    b->mapped = 1;
    return AFFECT_OK;
#else
    char *d; size_t n;
    int rc = affect_read_file(path, &d, &n, err);
    if (rc) return rc;
    b->data = (const uint8_t *)d;
    b->len = n;
    return AFFECT_OK;
#endif
}

void affect_blob_from_malloc(affect_blob *b, void *data, size_t len) {
    b->data = data;
    b->len = len;
    b->mapped = 0;
}

void affect_blob_close(affect_blob *b) {
    if (!b || !b->data) return;
#ifdef AFFECT_HAVE_MMAP
    if (b->mapped) munmap((void *)b->data, b->len);
    else free((void *)b->data);
#else
    free((void *)b->data);
#endif
    b->data = NULL;
    b->len = 0;
}

int affect_file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    return 1;
}
