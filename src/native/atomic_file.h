/*
 * Crash-safe file and folder writes for everything training leaves on disk (checkpoints, the
 * exported model folder, run-folder artifacts). The promise: a reader — a resumed run, a
 * PyTorch user, a second process — finds the previous complete version or the new complete
 * version, never a torn one, even if the process dies or the disk fills mid-write.
 *
 *   single file   affect_file_write_atomic: temp file beside it, write, fsync, rename, fsync
 *                 of the folder.
 *   whole folder  affect_dir_stage_begin makes "<dir>.tmp.<pid>"; files are written into it
 *                 with affect_file_write_new / affect_wfile_*; affect_dir_publish fsyncs it,
 *                 renames "<dir>" to "<dir>.old", the staged folder to "<dir>", and removes
 *                 the old one. A crash between the two renames leaves only "<dir>.old",
 *                 which readers treat as the current version (affect_dir_resolve).
 *
 * Fault injection (tests): AFFECT_FAULT_WRITE_AFTER_BYTES=N makes every write through this
 * file fail with ENOSPC once N bytes in total have been written by the process, as a full
 * disk would.
 */
#ifndef AFFECT_NATIVE_ATOMIC_FILE_H
#define AFFECT_NATIVE_ATOMIC_FILE_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

#define AFFECT_PATH_CAP 4096

/* A file being written: the descriptor, its path (for messages) and bytes written. */
typedef struct affect_wfile {
    int fd;
    char path[AFFECT_PATH_CAP];
    uint64_t written;
} affect_wfile;

/* Creates (truncating) `path` for writing. */
int affect_wfile_open(affect_wfile *f, const char *path, affect_error *err);
/* Writes all `len` bytes (retrying short writes and EINTR); ENOSPC and friends are
 * AFFECT_EIO naming the file. */
int affect_wfile_write(affect_wfile *f, const void *data, size_t len, affect_error *err);
/* fsync + close; closes in every case. */
int affect_wfile_close(affect_wfile *f, affect_error *err);
/* Closes without syncing and removes the file (error paths). */
void affect_wfile_abort(affect_wfile *f);

/* Writes a whole file in place (create, write, fsync, close): for files inside a staged
 * folder, where the folder rename provides the atomicity. */
int affect_file_write_new(const char *path, const void *data, size_t len, affect_error *err);
/* Replaces `path` atomically (temp file in the same folder, fsync, rename, fsync folder). */
int affect_file_write_atomic(const char *path, const void *data, size_t len, affect_error *err);

/* mkdir -p (0755); existing folders are fine. */
int affect_mkdirs(const char *path, affect_error *err);
/* fsync of a folder, so entries created or renamed in it are durable. */
int affect_fsync_dir(const char *path, affect_error *err);
/* rm -r of a folder holding plain files and folders; a missing one is fine. */
int affect_remove_tree(const char *path, affect_error *err);

/* Starts a staged folder for `dir`: creates the parent folders, clears a leftover staging
 * folder of this pid, creates "<dir>.tmp.<pid>" and writes its path to staged. */
int affect_dir_stage_begin(const char *dir, char *staged, size_t cap, affect_error *err);
/* Publishes the staged folder as `dir` (see the top of this file). On failure before the
 * swap the staged folder is removed and `dir` is untouched. */
int affect_dir_publish(const char *staged, const char *dir, affect_error *err);
/* Which folder holds the current version of `dir`: `dir` itself when it has every file of
 * `markers` (NULL-terminated: the files every complete version has), else "<dir>.old" when
 * that has them all (a publish interrupted between its renames), else `dir`. Writes the
 * chosen path to out. */
int affect_dir_resolve(const char *dir, const char *const *markers, char *out, size_t cap,
                       affect_error *err);

#endif
