/* Checkpoint key maps: which Hugging Face tensor name fills which slice of the encoder's
 * parameter arena, for each family.
 *
 *   BERT        [bert.]embeddings.*, encoder.layer.N.attention.self.{query,key,value},
 *               .attention.output.{dense,LayerNorm}, .intermediate.dense, .output.{dense,LayerNorm}
 *   RoBERTa     the same names under [roberta.]
 *   DistilBERT  [distilbert.]embeddings.*, transformer.layer.N.attention.{q_lin,k_lin,v_lin,out_lin},
 *               .sa_layer_norm, .ffn.{lin1,lin2}, .output_layer_norm
 *
 * The family prefix is optional (a bare BertModel saves without it). LayerNorm parameters may
 * be spelled gamma/beta (old BERT checkpoints). Everything else in a file (pooler, MLM heads,
 * TinyBERT's fit_denses, position_ids buffers) is ignored. The same map serves saving: a
 * fine-tuned encoder is written back under these names. */
#ifndef AFFECT_CORE_ARCH_H
#define AFFECT_CORE_ARCH_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"
#include "config.h"
#include "encoder.h"
#include "tensors.h"

typedef struct affect_param_ref {
    char name[96];      /* checkpoint name without the family prefix */
    char alt[96];       /* accepted alternative spelling, or "" */
    float *dst;         /* where its values go in the parameter arena (contiguous) */
    int ndim;           /* 1 or 2 */
    int64_t shape[2];   /* PyTorch shape: (out, in) for linear weights */
} affect_param_ref;

/* "bert.", "distilbert." or "roberta.". */
const char *affect_arch_prefix(affect_family f);

/* Lists every checkpoint tensor the encoder needs, pointing into `p`. *refs is malloc'd. */
int affect_arch_param_refs(const affect_model_config *cfg, const affect_encoder_params *p,
                           affect_param_ref **refs, size_t *n, affect_error *err);

/* Fills `p` from a parsed weights file: detects the prefix, checks each tensor's presence,
 * dtype (a float type) and shape, converts to f32. `source` (the file name) starts every
 * error message, e.g. "model.safetensors: missing tensor 'bert.encoder.layer.3.output.dense.weight'
 * (expected [312, 1200])". */
int affect_arch_load(const affect_model_config *cfg, const affect_encoder_params *p,
                     const affect_tensor_set *ts, const char *source, affect_error *err);

#endif
