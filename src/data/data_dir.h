/* Where the datasets are on this machine, and fetching the official files (native only).
 *
 * Search order for the data folder (first that exists wins):
 *   1. the config's data.dir (relative to the current directory), when set: must exist;
 *   2. $AFFECT_DATA, when set: must exist;
 *   3. ./data, when it holds goemotions/, lemotif/ or emoint/;
 *   4. ../shared/data, likewise (the layout of this project's checkout).
 * Inside it: goemotions/{train,dev,test}.tsv + labels.txt, lemotif/lemotif.csv,
 * emoint/<emotion>-ratings-0to1.{train,dev.gold,test.gold}.txt.
 */
#ifndef AFFECT_DATA_DIR_H
#define AFFECT_DATA_DIR_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

/* The data folder by the search order above; AFFECT_ENOTFOUND lists what was tried and how
 * to get the data (`affect data pull`). `configured` may be NULL or "". */
int affect_data_dir_find(const char *configured, char *out, size_t len, affect_error *err);

/* Where `affect data pull` writes when not told: $AFFECT_DATA, else ./data. */
int affect_data_dir_default(char *out, size_t len, affect_error *err);

/* ---- data_pull.c ---------------------------------------------------------------------- */

/* One official file: where it comes from, where it goes (relative to the data folder) and
 * its sha256 (NULL where no authoritative hash is known: the file is then accepted
 * unverified and its hash reported). */
typedef struct affect_data_file {
    const char *dataset;  /* "goemotions", "lemotif", "emoint" */
    const char *dest;     /* "goemotions/train.tsv" */
    const char *url;
    const char *sha256;   /* 64 lowercase hex digits, or NULL */
} affect_data_file;

/* The table of official files (static storage) and its length. */
const affect_data_file *affect_data_files(size_t *n);

enum {
    AFFECT_DATA_PULL_START = 0,    /* a download begins */
    AFFECT_DATA_PULL_DONE = 1,     /* downloaded, verified, in place */
    AFFECT_DATA_PULL_PRESENT = 2,  /* already there with the right sha256: nothing fetched */
    AFFECT_DATA_PULL_UNVERIFIED = 3/* downloaded and in place, but no pinned sha256 to check */
};

typedef struct affect_data_pull_event {
    int event;                     /* AFFECT_DATA_PULL_* */
    const affect_data_file *file;
    const char *url;               /* the URL actually used (after AFFECT_DATA_ENDPOINT) */
    uint64_t bytes;
    const char *sha256;            /* of the file on disk (DONE, PRESENT, UNVERIFIED) */
} affect_data_pull_event;

typedef void (*affect_data_pull_fn)(void *user, const affect_data_pull_event *e);

/* Downloads the official files of the named datasets (NULL = all) into `dir`, each verified
 * against its sha256 before it appears under its final name (temporary file in the same
 * folder, fsync, rename): a failed or mismatched download leaves no file behind. Files
 * already present with the right hash are skipped. AFFECT_DATA_ENDPOINT=http://host:port
 * maps every URL https://HOST/PATH to http://host:port/HOST/PATH (for tests and mirrors).
 * The Hugging Face token is never sent to these hosts.
 * Errors: AFFECT_ENET (transfer), AFFECT_EFORMAT (sha256 mismatch, naming both hashes),
 * AFFECT_EIO, AFFECT_EARG (unknown dataset name). */
int affect_data_pull(const char *dir, const char *const *datasets, int num_datasets, affect_data_pull_fn fn,
                     void *user, affect_error *err);

/* ---- sha256.c ------------------------------------------------------------------------- */

typedef struct affect_sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
} affect_sha256;

void affect_sha256_init(affect_sha256 *s);
void affect_sha256_update(affect_sha256 *s, const void *data, size_t n);
/* Writes 64 lowercase hex digits and a NUL into hex[65]. */
void affect_sha256_hex(affect_sha256 *s, char hex[65]);
/* The sha256 of a whole file, streamed. */
int affect_sha256_file(const char *path, char hex[65], uint64_t *bytes, affect_error *err);

#endif
