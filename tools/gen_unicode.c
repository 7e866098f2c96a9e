/*
 * gen_unicode — writes the Unicode tables the core's tokenizers need (general category,
 * canonical combining class, full canonical decompositions, lowercase mappings) as C source,
 * so that src/core/ carries them into WebAssembly without linking a Unicode library.
 *
 * Usage: gen_unicode OUTFILE        (run by the build; see CMakeLists.txt)
 *
 * This is a HOST tool: it reads the facts from utf8proc. Where Hugging Face's Rust
 * tokenizers (the oracle the project must match bit for bit) disagree with utf8proc's
 * Unicode version, the correction lives here, in the patch lists below, each one verified
 * code point by code point against the oracle (tests/test_tokenizer_codepoints.sh).
 *
 * Table shapes (all read by src/core/tokenize/unicode.c):
 *   category, ccc:   two-stage tables, stage1[cp >> SHIFT] selects a deduplicated block of
 *                    2^SHIFT uint8 values in stage2.
 *   decompositions:  sorted (cp, offset, length) triples into one uint32 pool; Hangul
 *                    syllables are left to the algorithm in unicode.c.
 *   lowercase:       sorted (cp, lower) pairs for every code point whose simple lowercase
 *                    differs; the one unconditional multi-code-point mapping (U+0130) is
 *                    handled in unicode.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define NCP 0x110000u

/* Lowercase mappings that Rust's std (the oracle's char::to_lowercase, Unicode 16) has and
 * utf8proc (Unicode 15) lacks, as sorted (cp, lower) pairs: Unicode 16's new case pairs. */
static const uint32_t extra_lower[][2] = {
    {0x1C89, 0x1C8A}, {0xA7CB, 0x264}, {0xA7CC, 0xA7CD}, {0xA7CE, 0xA7CF}, {0xA7D2, 0xA7D3},
    {0xA7D4, 0xA7D5}, {0xA7DA, 0xA7DB}, {0xA7DC, 0x19B}, {0x10D50, 0x10D70}, {0x10D51, 0x10D71},
    {0x10D52, 0x10D72}, {0x10D53, 0x10D73}, {0x10D54, 0x10D74}, {0x10D55, 0x10D75},
    {0x10D56, 0x10D76}, {0x10D57, 0x10D77}, {0x10D58, 0x10D78}, {0x10D59, 0x10D79},
    {0x10D5A, 0x10D7A}, {0x10D5B, 0x10D7B}, {0x10D5C, 0x10D7C}, {0x10D5D, 0x10D7D},
    {0x10D5E, 0x10D7E}, {0x10D5F, 0x10D7F}, {0x10D60, 0x10D80}, {0x10D61, 0x10D81},
    {0x10D62, 0x10D82}, {0x10D63, 0x10D83}, {0x10D64, 0x10D84}, {0x10D65, 0x10D85},
    {0x16EA0, 0x16EBB}, {0x16EA1, 0x16EBC}, {0x16EA2, 0x16EBD}, {0x16EA3, 0x16EBE},
    {0x16EA4, 0x16EBF}, {0x16EA5, 0x16EC0}, {0x16EA6, 0x16EC1}, {0x16EA7, 0x16EC2},
    {0x16EA8, 0x16EC3}, {0x16EA9, 0x16EC4}, {0x16EAA, 0x16EC5}, {0x16EAB, 0x16EC6},
    {0x16EAC, 0x16EC7}, {0x16EAD, 0x16EC8}, {0x16EAE, 0x16EC9}, {0x16EAF, 0x16ECA},
    {0x16EB0, 0x16ECB}, {0x16EB1, 0x16ECC}, {0x16EB2, 0x16ECD}, {0x16EB3, 0x16ECE},
    {0x16EB4, 0x16ECF}, {0x16EB5, 0x16ED0}, {0x16EB6, 0x16ED1}, {0x16EB7, 0x16ED2},
    {0x16EB8, 0x16ED3},
};

/* Canonical decompositions utf8proc has and the oracle's NFD (the Rust crate
 * unicode-normalization-alignments, an older Unicode) lacks; those characters stay whole. */
static const uint32_t no_decomp[] = {0x11938};

static int die(const char *what) {
    fprintf(stderr, "gen_unicode: %s\n", what);
    return 1;
}

/* Writes one two-stage uint8 table with block size 2^shift; returns 0 or -1 on OOM. */
static int emit_two_stage(FILE *f, const char *name, const uint8_t *vals, unsigned shift) {
    unsigned bs = 1u << shift, nblocks = NCP >> shift;
    uint16_t *stage1 = malloc(nblocks * sizeof *stage1);
    uint8_t *stage2 = malloc((size_t)nblocks * bs);
    if (!stage1 || !stage2) { free(stage1); free(stage2); return -1; }
    unsigned nuniq = 0;
    for (unsigned b = 0; b < nblocks; b++) {
        const uint8_t *blk = vals + (size_t)b * bs;
        unsigned j;
        for (j = 0; j < nuniq; j++)
            if (!memcmp(stage2 + (size_t)j * bs, blk, bs)) break;
        if (j == nuniq) { memcpy(stage2 + (size_t)nuniq * bs, blk, bs); nuniq++; }
        stage1[b] = (uint16_t)j;
    }
    fprintf(f, "const unsigned uc_%s_shift = %u;\n", name, shift);
    fprintf(f, "const uint16_t uc_%s_stage1[%u] = {", name, nblocks);
    for (unsigned b = 0; b < nblocks; b++) fprintf(f, "%s%u,", b % 24 ? "" : "\n", stage1[b]);
    fprintf(f, "\n};\nconst uint8_t uc_%s_stage2[%u] = {", name, nuniq * bs);
    for (unsigned k = 0; k < nuniq * bs; k++) fprintf(f, "%s%u,", k % 32 ? "" : "\n", stage2[k]);
    fprintf(f, "\n};\n");
    free(stage1);
    free(stage2);
    return 0;
}

/* Picks the block size that gives the smallest table (stage1 + stage2 bytes). */
static unsigned best_shift(const uint8_t *vals) {
    unsigned best = 8;
    size_t best_size = (size_t)-1;
    for (unsigned shift = 5; shift <= 9; shift++) {
        unsigned bs = 1u << shift, nblocks = NCP >> shift, nuniq = 0;
        /* count unique blocks (quadratic but small enough: a few hundred unique blocks) */
        unsigned *uniq = malloc(nblocks * sizeof *uniq);
        if (!uniq) return 8;
        for (unsigned b = 0; b < nblocks; b++) {
            unsigned j;
            for (j = 0; j < nuniq; j++)
                if (!memcmp(vals + (size_t)uniq[j] * bs, vals + (size_t)b * bs, bs)) break;
            if (j == nuniq) uniq[nuniq++] = b;
        }
        free(uniq);
        size_t size = (size_t)nblocks * 2 + (size_t)nuniq * bs;
        if (size < best_size) { best_size = size; best = shift; }
    }
    return best;
}

static int is_hangul_syllable(uint32_t cp) { return cp >= 0xAC00 && cp < 0xAC00 + 11172; }

int main(int argc, char **argv) {
    if (argc != 2) return die("usage: gen_unicode OUTFILE");
    uint8_t *cat = malloc(NCP), *ccc = malloc(NCP);
    if (!cat || !ccc) return die("out of memory");
    for (uint32_t cp = 0; cp < NCP; cp++) {
        const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
        cat[cp] = (uint8_t)p->category;
        ccc[cp] = (uint8_t)p->combining_class;
    }
    FILE *f = fopen(argv[1], "w");
    if (!f) return die("cannot open output file");
    fprintf(f, "/* Generated by tools/gen_unicode.c from utf8proc %s (Unicode %s). Do not edit. */\n",
            utf8proc_version(), utf8proc_unicode_version());
    fprintf(f, "#include <stdint.h>\n#include <stddef.h>\n\n");
    if (emit_two_stage(f, "category", cat, best_shift(cat)) ||
        emit_two_stage(f, "ccc", ccc, best_shift(ccc)))
        return die("out of memory");

    /* canonical decompositions, fully recursive (utf8proc applies them recursively) */
    fprintf(f, "\nconst uint32_t uc_decomp_pool[] = {");
    uint32_t *dcp = malloc(4096 * sizeof *dcp), *doff = malloc(4096 * sizeof *doff);
    uint8_t *dlen = malloc(4096);
    if (!dcp || !doff || !dlen) return die("out of memory");
    size_t nd = 0, pool = 0;
    for (uint32_t cp = 0; cp < NCP; cp++) {
        if (is_hangul_syllable(cp) || (cp >= 0xD800 && cp <= 0xDFFF)) continue;
        int skip = 0;
        for (size_t k = 0; k < sizeof no_decomp / sizeof no_decomp[0]; k++) skip |= no_decomp[k] == cp;
        if (skip) continue;
        utf8proc_int32_t buf[8];
        int last = 0;
        utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cp, buf, 8,
                                                     UTF8PROC_DECOMPOSE, &last);
        if (n < 1 || n > 8) return die("unexpected decomposition length");
        if (n == 1 && (uint32_t)buf[0] == cp) continue;
        if (nd == 4096) return die("too many decompositions");
        dcp[nd] = cp;
        doff[nd] = (uint32_t)pool;
        dlen[nd] = (uint8_t)n;
        nd++;
        for (utf8proc_ssize_t k = 0; k < n; k++, pool++)
            fprintf(f, "%s0x%X,", pool % 12 ? "" : "\n", (unsigned)buf[k]);
    }
    fprintf(f, "\n};\nconst size_t uc_decomp_count = %zu;\n", nd);
    fprintf(f, "/* (code point, pool offset << 3 | length) */\nconst uint32_t uc_decomp_index[][2] = {");
    for (size_t k = 0; k < nd; k++)
        fprintf(f, "%s{0x%X,%u},", k % 6 ? "" : "\n", (unsigned)dcp[k], (unsigned)(doff[k] << 3 | dlen[k]));
    fprintf(f, "\n};\n");

    /* simple lowercase mappings, merged with the oracle's newer ones */
    fprintf(f, "\nconst uint32_t uc_lower_map[][2] = {");
    size_t nl = 0, nx = 0, nextra = sizeof extra_lower / sizeof extra_lower[0];
    for (uint32_t cp = 0; cp < NCP; cp++) {
        uint32_t lo = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
        while (nx < nextra && extra_lower[nx][0] < cp) nx++;
        if (nx < nextra && extra_lower[nx][0] == cp) lo = extra_lower[nx][1];
        if (lo == cp) continue;
        fprintf(f, "%s{0x%X,0x%X},", nl % 6 ? "" : "\n", (unsigned)cp, (unsigned)lo);
        nl++;
    }
    fprintf(f, "\n};\nconst size_t uc_lower_count = %zu;\n", nl);
    free(cat); free(ccc); free(dcp); free(doff); free(dlen);
    if (fclose(f)) return die("write failed");
    return 0;
}
