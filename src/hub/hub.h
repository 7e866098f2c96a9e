/* The Hugging Face hub, as a user of `transformers` already has it on disk: the cache layout
 * (models--ORG--NAME/{blobs,refs,snapshots}) and downloads into it (libcurl). Native only. */
#ifndef AFFECT_HUB_H
#define AFFECT_HUB_H
#include <stddef.h>
#include "affect.h"

/* MODEL as a user writes it: an existing folder is taken as is; otherwise ORG/NAME (or NAME)
 * is looked up in the cache ($HF_HUB_CACHE, else $HF_HOME/hub, else
 * ~/.cache/huggingface/hub) at refs/main (or the only snapshot). Not found: AFFECT_ENOTFOUND
 * with a message naming the id and `affect pull ID`. */
int affect_hub_resolve(const char *spec, char *dir, size_t dirlen, affect_error *err);

/* The cache root as described above. */
int affect_hub_cache_root(char *out, size_t len, affect_error *err);

#endif
