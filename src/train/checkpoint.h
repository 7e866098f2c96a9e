/*
 * Checkpoints and the deliverable model folder of the training engine.
 *
 * A checkpoint folder holds
 *   model.safetensors      every trained tensor under its family key name (encoder keys exactly
 *                          as the source family's checkpoint, e.g.
 *                          "roberta.encoder.layer.0.attention.self.query.weight"; heads under
 *                          "heads.*"), loadable by a PyTorch user;
 *   optimizer.safetensors  "<name>.exp_avg", "<name>.exp_avg_sq" (F32) for every tensor, plus one
 *                          I64 tensor "adam_steps" (n_tensors) with each tensor's AdamW step count
 *                          in affect_trainer_tensor() order;
 *   config.json            the encoder config, family key names (affect_config_to_json);
 *   trainer_state.json     {"format":"affect-checkpoint-1","optimizer_step":N,"num_labels":L,
 *                          "family":...,"fingerprint":"<hex hash of every tensor name + shape>",
 *                          "extra":<the caller's JSON object verbatim>}.
 *
 * Atomicity: every file is written into "<dir>.tmp.<pid>" and fsync'd, the folder is fsync'd,
 * then the old "<dir>" is renamed to "<dir>.old", the temporary folder to "<dir>", and the old
 * one removed. A crash or a full disk at any point leaves either the previous checkpoint or the
 * new one complete; affect_checkpoint_load falls back to "<dir>.old" when "<dir>" is missing or
 * incomplete (a crash between the two renames).
 *
 * Fault injection for tests: when the environment variable AFFECT_FAULT_WRITE_AFTER_BYTES=N is
 * set, the writer fails with ENOSPC once N bytes have been written by this process's checkpoint
 * and export writers (counted across files), as a full disk would.
 */
#ifndef AFFECT_TRAIN_CHECKPOINT_H
#define AFFECT_TRAIN_CHECKPOINT_H
#include "affect.h"
#include "model/lexical.h"
#include "train/train_step.h"

/* Saves the trainer's parameters, AdamW state and step into `dir` (created or replaced
 * atomically). `extra_json` (may be NULL) must be a JSON object; it is stored verbatim under
 * "extra" in trainer_state.json (the caller's data position, RNG state, stage, ...). */
int affect_checkpoint_save(const char *dir, const affect_trainer *tr, const char *extra_json,
                           affect_error *err);

/* Loads a checkpoint saved by affect_checkpoint_save into `tr` (which must have been created
 * for the same model: same family, config and labels). Refuses (AFFECT_EFORMAT, one clear
 * line) a checkpoint of another model (fingerprint/shape mismatch: the message names the
 * tensor and both shapes) or a corrupt one (truncated safetensors, bad JSON, missing file).
 * `tr` is left untouched on failure. On success *extra_json (if extra_json is not NULL)
 * receives a malloc'd copy of the caller's JSON object, or NULL if none was saved. */
int affect_checkpoint_load(const char *dir, affect_trainer *tr, char **extra_json,
                           affect_error *err);

/* What the deliverable folder records about the heads. */
typedef struct affect_export_info {
    const char *const *label_names; /* num_labels names, in head order */
    int num_labels;
    int max_length;                 /* the tokenizer truncation length used in training */
    int has_intensity;              /* 1: the intensity head is trained and meaningful */
    float intensity_median;         /* the training median (the intensity bias init) */
    int intensity_prefix;           /* 1: intensity rows were read as "<emotion>: <text>" */
    int pool;                       /* AFFECT_POOL_MEAN (0, the default) or AFFECT_POOL_CLS */
    const affect_lexical *lexical;  /* the lexical model mixed into the emotion logits, or NULL */
} affect_export_info;

/* Writes the deliverable model folder `dir` (atomically, like a checkpoint): config.json,
 * model.safetensors (encoder keys + heads.*), tokenizer.json copied from tokenizer_dir (or,
 * when that folder has only legacy files such as vocab.txt / vocab.json + merges.txt, those
 * files with tokenizer_config.json / special_tokens_map.json when present), and
 * affect_heads.json ({"format":"affect-heads-1","label_names":[...],"pool":"mean"|"cls",
 * "intensity":{"enabled":true,"target_min":0,"target_max":1,"median":m[,"emotion_prefix":true]},
 * "max_length":N[,"lexical":{"features":"tfidf-sublinear-l2","vocab_size":V}]}; with a
 * lexical model, model.safetensors also holds its lexical.* tensors (src/core/model/lexical.h)).
 * `tokenizer_dir` may also be a path to a tokenizer.json file. */
int affect_model_export(const char *dir, const affect_trainer *tr, const char *tokenizer_dir,
                        const affect_export_info *info, affect_error *err);

#endif
