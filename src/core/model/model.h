/* What an affect_model holds, for the parts of the library that work on its insides
 * (training, heads, bundles). Users see only the opaque handle in affect.h. */
#ifndef AFFECT_CORE_MODEL_H
#define AFFECT_CORE_MODEL_H
#include <stddef.h>
#include "affect.h"
#include "config.h"
#include "encoder.h"
#include "heads_infer.h"

struct affect_model {
    affect_model_config cfg;
    affect_encoder_params params;            /* pointers into param_arena */
    size_t param_sizes[AFFECT_ENC_NPARAMS];
    float *param_arena;                      /* all encoder weights, f32 */
    size_t n_params;                         /* floats in param_arena */
    affect_tokenizer *tok;
    affect_encoder_acts acts;                /* inference activations, grown on demand */
    affect_encoder_packed packed;            /* inference copy of the linear weights (gemm.h);
                                                re-pack after changing params */
    affect_heads_model *heads;               /* trained heads (affect_heads.json), or NULL
                                                for a bare encoder */
};

/* Longest token sequence (special tokens included) the model can embed. */
int affect_model_max_length(const affect_model *m);
const affect_model_config *affect_model_config_of(const affect_model *m);
/* The trained heads and their metadata (pool, max_length), or NULL for a bare encoder. */
const affect_heads_model *affect_model_heads(const affect_model *m);
/* Trainable parameters: the encoder's plus the heads' (what a report calls the model size). */
size_t affect_model_param_count(const affect_model *m);

#endif
