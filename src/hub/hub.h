/* The Hugging Face hub, as a user of `transformers` already has it on disk: the cache layout
 * (models--ORG--NAME/{blobs,refs,snapshots}) and downloads into it (libcurl). Native only.
 *
 * Layout of one cached repository (the same one huggingface_hub writes, so both tools share
 * it):
 *   <root>/models--ORG--NAME/blobs/<etag>              the file's bytes
 *   <root>/models--ORG--NAME/blobs/<etag>.incomplete   a partial download (resumed, never read)
 *   <root>/models--ORG--NAME/refs/<revision>           the commit hash the revision pointed at
 *   <root>/models--ORG--NAME/snapshots/<commit>/<file> -> ../../blobs/<etag> (relative symlink)
 * A file appears in snapshots/ only once its blob is complete (fsync'd, then renamed). */
#ifndef AFFECT_HUB_H
#define AFFECT_HUB_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

/* MODEL as a user writes it: an existing folder is taken as is; otherwise ORG/NAME (or NAME)
 * is looked up in the cache ($HF_HUB_CACHE, else $HF_HOME/hub, else
 * ~/.cache/huggingface/hub) at refs/main (or the only snapshot). Not found: AFFECT_ENOTFOUND
 * with a message naming the id and `affect pull ID`. */
int affect_hub_resolve(const char *spec, char *dir, size_t dirlen, affect_error *err);

/* The cache root as described above. */
int affect_hub_cache_root(char *out, size_t len, affect_error *err);

/* 1 if `id` is a hub repository id affect accepts (NAME or ORG/NAME; letters, digits, '-',
 * '_', '.'; no "--" or ".."; no leading/trailing '-' or '.'; each part at most 96 bytes), so
 * it is safe to use in a path and a URL unescaped. */
int affect_hub_valid_id(const char *id);

/* The repository's folder in the cache: <root>/models--ORG--NAME. */
int affect_hub_repo_dir(const char *id, char *out, size_t len, affect_error *err);

/* ---- pull ---------------------------------------------------------------------------- */

enum {
    AFFECT_HUB_FILE_START = 0,  /* a download begins (done = bytes already on disk) */
    AFFECT_HUB_FILE_BYTES = 1,  /* more bytes arrived */
    AFFECT_HUB_FILE_DONE = 2,   /* downloaded and linked into the snapshot */
    AFFECT_HUB_FILE_CACHED = 3, /* the blob was already in the cache: nothing downloaded */
    AFFECT_HUB_FILE_ABSENT = 4, /* an optional file the repository does not have (404) */
    AFFECT_HUB_FILE_RETRY = 5   /* the connection broke; resuming from `done` */
};

typedef struct affect_hub_progress {
    int event;             /* AFFECT_HUB_FILE_* */
    const char *filename;  /* e.g. "model.safetensors" */
    uint64_t done;         /* bytes of the file on disk so far */
    uint64_t total;        /* the file's size; 0 when the server did not say */
    uint64_t session;      /* bytes received by this call (excludes a resumed prefix) */
    double seconds;        /* since this file's download began */
} affect_hub_progress;

/* Called from inside affect_hub_pull (same thread). Library code never prints: the caller
 * decides what to show. */
typedef void (*affect_hub_progress_fn)(void *user, const affect_hub_progress *p);

typedef struct affect_hub_pull_opts {
    const char *revision;             /* branch, tag, commit or "refs/pr/N"; NULL = "main" */
    affect_hub_progress_fn progress;  /* may be NULL */
    void *user;
} affect_hub_pull_opts;

/* Downloads what affect needs to run the model `id` into the cache: config.json (required),
 * the weights (model.safetensors, else a sharded model.safetensors.index.json and its
 * shards, else pytorch_model.bin) and the tokenizer files the repository has. Honours
 * HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (else the token file written by
 * `huggingface-cli login`) and HF_HUB_OFFLINE (then nothing is fetched: success only when
 * the snapshot already holds config.json and weights). Interrupted downloads are resumed from
 * blobs/<etag>.incomplete, within this call (a few attempts) and by the next call. On success
 * writes the snapshot folder into `dir`.
 * Errors: AFFECT_ENOTFOUND (repository, revision or config.json absent, or offline and not
 * cached), AFFECT_ENET (transfer failed), AFFECT_EIO (cache not writable), AFFECT_EARG (bad
 * id or revision). */
int affect_hub_pull(const char *id, const affect_hub_pull_opts *opts, char *dir, size_t dirlen,
                    affect_error *err);

#endif
