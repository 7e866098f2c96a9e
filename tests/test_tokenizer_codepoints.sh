#!/bin/bash
# Exhaustive check of the tokenizer front-end's character classes against Hugging Face
# tokenizers (Rust, via npm): for all 1,112,064 Unicode scalar values, clean_text's
# drop/space/keep decision, CJK padding, strip-accents' mark set, punctuation, whitespace,
# char::to_lowercase and NFD must agree exactly.
set -euo pipefail
: "${AFFECT_SRC:?}" "${AFFECT_TOOLS:?}" "${AFFECT_TEST_TMP:?}"
mkdir -p "$AFFECT_TEST_TMP"
oracle="$AFFECT_TEST_TMP/unicode_oracle.txt"
mine="$AFFECT_TEST_TMP/unicode_affect.txt"
(cd "$AFFECT_SRC/tests/oracles" && node tokenizer_unicode_oracle.cjs "$oracle")
"$AFFECT_TOOLS/tok_unicode_dump" > "$mine"
lines=$(wc -l < "$oracle")
if [ "$lines" -ne 1112064 ]; then echo "FAIL: oracle printed $lines lines, expected 1112064"; exit 1; fi
if ! diff -q "$oracle" "$mine" >/dev/null; then
    echo "FAIL: per-code-point behaviour differs from Hugging Face tokenizers (oracle < > affect):"
    diff "$oracle" "$mine" | head -40
    exit 1
fi
echo "ok: $lines code points agree"
