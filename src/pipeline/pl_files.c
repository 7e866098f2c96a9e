/* Small file and clock helpers of the pipeline: paths that never truncate, atomic writes
 * (src/native/atomic_file.h: temporary file, fsync, rename, fsync of the folder), timestamps. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "pipeline/pl_internal.h"
#include "util/error.h"
#include "native/atomic_file.h"

int pl_mkdirs(const char *path, affect_error *err) { return affect_mkdirs(path, err); }

int pl_write_atomic(const char *path, const char *data, size_t len, affect_error *err) {
    return affect_file_write_atomic(path, data ? data : "", len, err);
}

int pl_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Every path the pipeline builds goes through here, so a long artifacts_dir is an error
 * naming it rather than a silently cut path that writes somewhere else. */
int pl_path(char *out, size_t len, affect_error *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len)
        return affect_fail(err, AFFECT_EARG, "path too long (%d bytes, limit %zu): %.80s...", n, len - 1, out);
    return 0;
}

/* analysis_metrics.json's timestamp, in the reference's format (Python
 * datetime.now().isoformat() with its microseconds always shown). */
void pl_timestamp(char *out, size_t len) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    time_t t = tv.tv_sec;
    localtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%06ld", base, (long)tv.tv_usec);
}

double pl_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
