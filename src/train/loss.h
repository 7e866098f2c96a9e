/*
 * Training losses over flat float arrays, each a forward returning the loss (accumulated in
 * double) and a backward that WRITES (not adds) d(loss)/d(input) times the upstream scalar
 * `dloss`. A weighted sum of losses is the caller's job: call each backward with dloss =
 * that loss's weight (the inputs differ, e.g. classifier logits vs regression outputs; if
 * two losses share an input, sum their gradients yourself).
 *
 * Masks are byte arrays, nonzero = "has a target / contributes", NULL = everything
 * contributes. Every mean is over the contributing elements only; when nothing
 * contributes the loss is exactly 0 and the gradient exactly 0 (never NaN).
 *
 * Oracle: tests/test_train_math_torch.py compares every forward and backward with PyTorch
 * (float64 autograd of the torch expressions quoted below).
 */
#ifndef AFFECT_TRAIN_LOSS_H
#define AFFECT_TRAIN_LOSS_H
#include <stddef.h>
#include <stdint.h>

#include "affect.h"

/* ---- multi-label BCE with logits --------------------------------------------------------
 * Per element (x logit, y target in [0,1], w = pos_weight[label]):
 *   l = (1 - y) * x + (1 + (w - 1) * y) * (log1p(exp(-|x|)) + max(-x, 0))
 * which is torch.nn.functional.binary_cross_entropy_with_logits(x, y, pos_weight=w,
 * reduction='none') in its overflow-free form; loss = sum of l over contributing elements /
 * their count. An element (b,l) contributes when row_mask[b] and mask[b*L+l] are nonzero
 * (either may be NULL). pos_weight NULL means all ones. Finite for any finite logit. */
double affect_bce_logits_forward(const float *logits,     /* (B,L) */
                                 const float *targets,    /* (B,L) */
                                 const float *pos_weight, /* (L) or NULL */
                                 const uint8_t *row_mask, /* (B) or NULL */
                                 const uint8_t *mask,     /* (B,L) or NULL */
                                 int B, int L);
/* dlogits (B,L) = dloss * ((1 - y) - (1 + (w - 1) * y) * sigmoid(-x)) / count, 0 where the
 * element does not contribute. */
void affect_bce_logits_backward(float *dlogits, const float *logits, const float *targets,
                                const float *pos_weight, const uint8_t *row_mask,
                                const uint8_t *mask, int B, int L, float dloss);

/* pos_weight (L) = min(neg / pos, cap) per label, counting only rows (N) whose mask allows
 * the element (mask (N,L) or NULL) and treating targets > 0.5 as positive; a label with no
 * positive example gets `cap` (e.g. 50, or 2.0 for a gentler weighting). This is the usual
 * "neg/pos" weighting for torch's pos_weight, clipped so rare labels do not dominate. */
void affect_bce_pos_weight(float *pos_weight, const float *targets, const uint8_t *mask, int N,
                           int L, float cap);

/* ---- regression losses with a row mask --------------------------------------------------
 * pred, target (B,K); rows with row_mask[b] == 0 contribute nothing; the mean is over all
 * K values of the contributing rows, i.e. torch F.l1_loss / F.mse_loss(pred[m], target[m])
 * with reduction 'mean'. The L1 gradient at pred == target is 0 (torch's sign(0)). */
double affect_l1_forward(const float *pred, const float *target, const uint8_t *row_mask, int B,
                         int K);
void affect_l1_backward(float *dpred, const float *pred, const float *target,
                        const uint8_t *row_mask, int B, int K, float dloss);
double affect_mse_forward(const float *pred, const float *target, const uint8_t *row_mask, int B,
                          int K);
void affect_mse_backward(float *dpred, const float *pred, const float *target,
                         const uint8_t *row_mask, int B, int K, float dloss);

/* ---- multi-similarity loss (Wang et al., CVPR 2019) -------------------------------------
 * As pytorch-metric-learning's MultiSimilarityLoss with its default CosineSimilarity
 * distance and no miner, but with the caller's pair masks instead of class labels:
 *   x_i  = f_i / max(||f_i||, 1e-12)                  (F.normalize, part of forward/backward)
 *   S    = x x^T                                      (B,B) cosine similarities
 *   l_i  = 1/alpha * log(1 + sum_{j: pos[i,j]} exp(-alpha (S_ij - base)))
 *        + 1/beta  * log(1 + sum_{j: neg[i,j]} exp( beta (S_ij - base)))
 * (each log(1 + sum exp) computed as a stable logsumexp with a 0 appended, as pml's
 * lmu.logsumexp(add_one=True); an anchor without pairs has l_i = 0). Masks are used exactly
 * as given, diagonal included (affect_ms_pair_masks never sets it).
 * Reduction:
 *   AFFECT_MS_MEAN_ALL:    sum_i l_i / B — pml's default reducer (MeanReducer averages the
 *                          per-anchor losses of all B anchors, those without pairs too).
 *   AFFECT_MS_MEAN_ACTIVE: sum_i l_i / #{i with at least one pos or neg pair} — equal to
 *                          pml with AvgNonZeroReducer (an anchor with a pair has l_i > 0).
 * Both are 0 with zero gradient when no anchor has a pair. (pml also returns 0 when every
 * pair list has <= 1 entry; symmetric masks never produce exactly one pair.) */
typedef enum affect_ms_reduction {
    AFFECT_MS_MEAN_ALL = 0,
    AFFECT_MS_MEAN_ACTIVE = 1
} affect_ms_reduction;

typedef struct affect_ms_params {
    double alpha; /* 2 */
    double beta;  /* 5 (pml's own default is 50) */
    double base;  /* 0.4 (pml's own default is 0.5) */
    affect_ms_reduction reduction;
} affect_ms_params;

/* alpha 2, beta 5, base 0.4, AFFECT_MS_MEAN_ALL. */
affect_ms_params affect_ms_defaults(void);

/* Forward; *loss receives the loss. Returns AFFECT_EARG for bad shapes/params, AFFECT_ENOMEM
 * if its O(B*D + B*B) doubles of scratch cannot be allocated. */
int affect_ms_loss_forward(double *loss, const float *feats, /* (B,D) unnormalised */
                           const uint8_t *pos,               /* (B,B) */
                           const uint8_t *neg,               /* (B,B) */
                           int B, int D, const affect_ms_params *p, affect_error *err);
/* dfeats (B,D) = dloss * d(loss)/d(feats), through the normalisation. */
int affect_ms_loss_backward(float *dfeats, const float *feats, const uint8_t *pos,
                            const uint8_t *neg, int B, int D, const affect_ms_params *p,
                            float dloss, affect_error *err);

/* Pair masks from multi-hot labels (B,L) (> 0.5 = has the label) by label-set Jaccard
 * J = |Li ∩ Lj| / |Li ∪ Lj|, for i != j with both rows valid (row_valid (B) or NULL) and
 * non-empty: pos[i,j] = J > pos_threshold (0.15), neg[i,j] = J == 0 (no shared label).
 * Everything else, the diagonal included, is 0 in both. */
void affect_ms_pair_masks(uint8_t *pos, uint8_t *neg, const float *labels,
                          const uint8_t *row_valid, int B, int L, double pos_threshold);

#endif
