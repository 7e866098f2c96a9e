/* Splitting a multi-label dataset so every part keeps the label proportions of the whole:
 * iterative stratification (Sechidis, Tsoumakas, Vlahavas, "On the Stratification of
 * Multi-Label Data", ECML PKDD 2011, Algorithm 1), seeded and deterministic.
 *
 * Why: Lemotif is small and its labels very uneven (jealous has a handful of positives); a
 * plain random 15% test split often has none of a rare label, or all of them. The iterative
 * method hands out the rarest label's rows first, each to the part that still needs that
 * label most, so rare labels are spread as evenly as their counts allow.
 *
 * A part can still end up without a positive of some label (a label with 2 positives cannot
 * reach three parts): affect_split_label_counts lets the caller report it; nothing fails.
 */
#ifndef AFFECT_DATA_SPLIT_H
#define AFFECT_DATA_SPLIT_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

/* Assigns each of the n rows of `labels` (n,L) row-major 0/1 (rows with row_mask[i] == 0,
 * if row_mask is given, count as having no label) to one of k parts with the given
 * fractions (k >= 1, each >= 0, summing to ~1). part[i] receives 0..k-1. The same inputs and
 * seed always give the same assignment. */
int affect_split_stratified(const float *labels, const uint8_t *row_mask, size_t n, int L, const double *fractions,
                            int k, uint64_t seed, int32_t *part, affect_error *err);

/* K-fold assignment: stratified with k equal fractions; fold[i] in 0..k-1. */
int affect_split_kfold(const float *labels, const uint8_t *row_mask, size_t n, int L, int k, uint64_t seed,
                       int32_t *fold, affect_error *err);

/* The baseline it is measured against: a seeded shuffle cut at the fractions. */
int affect_split_random(size_t n, const double *fractions, int k, uint64_t seed, int32_t *part, affect_error *err);

/* counts (k,L): positives of each label in each part; rows (k): rows per part. */
void affect_split_label_counts(const float *labels, const uint8_t *row_mask, size_t n, int L, const int32_t *part,
                               int k, size_t *counts, size_t *rows);

/* The row indexes of part p, in row order, into idx (capacity n); returns how many. */
size_t affect_split_rows(const int32_t *part, size_t n, int p, size_t *idx);

#endif
