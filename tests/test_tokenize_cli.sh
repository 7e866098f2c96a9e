#!/bin/bash
# `affect tokenize`: JSON lines with ids and tokens (expected ids are Hugging Face
# tokenizers' for bert-base-uncased), texts from arguments or stdin, --max-length, and
# one-line errors with exit code 2 for bad usage or a missing model.
set -uo pipefail
: "${AFFECT_BIN:?}" "${AFFECT_SHARED:?}"
M="$AFFECT_SHARED/models/bert-base-uncased"
fail=0
expect() { # expect NAME WANT GOT
    if [ "$2" != "$3" ]; then echo "FAIL $1"; echo "  want: $2"; echo "  got:  $3"; fail=1; fi
}
got=$("$AFFECT_BIN" tokenize "$M" "Hello, World!" 2>&1)
expect args '{"ids":[101,7592,1010,2088,999,102],"tokens":["[CLS]","hello",",","world","!","[SEP]"]}' "$got"
got=$(printf 'I love it [MASK]\r\n\nquote " back\\\n' | "$AFFECT_BIN" tokenize "$M" 2>&1)
expect stdin '{"ids":[101,1045,2293,2009,103,102],"tokens":["[CLS]","i","love","it","[MASK]","[SEP]"]}
{"ids":[101,102],"tokens":["[CLS]","[SEP]"]}
{"ids":[101,14686,1000,2067,1032,102],"tokens":["[CLS]","quote","\"","back","\\","[SEP]"]}' "$got"
got=$("$AFFECT_BIN" tokenize "$M" "one two three four" --max-length 4 2>&1)
expect max-length '{"ids":[101,2028,2048,102],"tokens":["[CLS]","one","two","[SEP]"]}' "$got"
for bad in "--max-length 0 x" "--max-length 1 x" "--frobnicate x"; do
    out=$("$AFFECT_BIN" tokenize "$M" $bad 2>&1 >/dev/null); rc=$?
    expect "exit code for '$bad'" 2 "$rc"
    expect "one error line for '$bad'" 1 "$(printf '%s\n' "$out" | grep -c .)"
done
out=$("$AFFECT_BIN" tokenize /nonexistent-affect-model x 2>&1 >/dev/null); rc=$?
expect "missing model exit code" 2 "$rc"
expect "missing model one line" 1 "$(printf '%s\n' "$out" | grep -c .)"
[ $fail = 0 ] && echo ok
exit $fail
