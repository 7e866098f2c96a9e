/* Compiler settings for the training step's vector loops (train_kernels.c, attention_train.c,
 * linear_train.c), included first in each: -O3 for the file (the Release -O2 leaves loops
 * with a remainder scalar), and TRAIN_CLONES, which makes GCC build AVX-512, AVX2 and generic
 * copies of a function and pick one at load time. Results are the same in every copy: the
 * loops keep each sum's order, and FMA contraction is off under -std=c11. Other compilers get
 * the plain code. */
#ifndef AFFECT_TRAIN_TRAIN_SIMD_H
#define AFFECT_TRAIN_TRAIN_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__)) && \
    !defined(__SANITIZE_ADDRESS__)
#pragma GCC optimize("O3")
#define TRAIN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TRAIN_CLONES
#endif

#endif
