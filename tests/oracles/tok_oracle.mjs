// Tokenizer oracle for tests/test_tokenizer_oracle.py (never shipped).
//
// Reads a job (JSON) naming a texts file and some tokenizers, and writes, for each tokenizer,
// one line of space-separated ids per text from two independent implementations:
//   <out>/<name>.rust.txt        Hugging Face's Rust `tokenizers` (npm `tokenizers`, native)
//   <out>/<name>.rust.t<N>.txt   the same with truncation to N ids (Tokenizer.setTruncation)
//   <out>/<name>.tjs.txt         transformers.js (@huggingface/transformers), local files only
// Texts file: repeated [u32 little-endian byte length][bytes]. Bytes are decoded with the
// WHATWG UTF-8 decoder (U+FFFD per maximal subpart), the contract affect's C library follows.
//
// Usage: node tok_oracle.mjs JOB.json
//   JOB = {"texts": PATH, "out": DIR,
//          "models": [{"name": N, "tokenizer_json": PATH, "tjs_root": DIR, "tjs_id": ID,
//                      "truncate": [128, ...]}]}
// tjs_root/tjs_id must hold tokenizer.json + tokenizer_config.json (transformers.js needs both).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Tokenizer } = require('tokenizers');

function readTexts(file) {
    const buf = fs.readFileSync(file);
    const dec = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
    const texts = [];
    let off = 0;
    while (off < buf.length) {
        if (off + 4 > buf.length) throw new Error(`${file}: truncated length at byte ${off}`);
        const n = buf.readUInt32LE(off);
        off += 4;
        if (off + n > buf.length) throw new Error(`${file}: text at byte ${off} overruns the file`);
        texts.push(dec.decode(buf.subarray(off, off + n)));
        off += n;
    }
    return texts;
}

function writeIds(file, rows) {
    fs.writeFileSync(file, rows.map((r) => Array.from(r).join(' ')).join('\n') + '\n');
}

// The Rust tokenizer, batched (it parallelises internally). Chunked to bound memory.
async function rustEncode(tok, texts) {
    const rows = [];
    const CHUNK = 4096;
    for (let i = 0; i < texts.length; i += CHUNK) {
        const encs = await tok.encodeBatch(texts.slice(i, i + CHUNK), { addSpecialTokens: true });
        for (const e of encs) rows.push(e.getIds());
    }
    return rows;
}

async function main() {
    const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
    const texts = readTexts(job.texts);
    fs.mkdirSync(job.out, { recursive: true });

    // transformers.js: strictly offline (no remote models, no cache writes).
    const tjs = await import('@huggingface/transformers');
    tjs.env.allowRemoteModels = false;
    tjs.env.allowLocalModels = true;
    tjs.env.useFSCache = false;
    tjs.env.useBrowserCache = false;

    const timings = {};
    const rustCache = new Map(); // tokenizer.json bytes -> ids (distilbert shares bert's file)
    for (const m of job.models) {
        const t0 = Date.now();
        const bytes = fs.readFileSync(m.tokenizer_json, 'utf8');
        let rows = rustCache.get(bytes);
        const tok = Tokenizer.fromString(bytes);
        if (!rows) {
            rows = await rustEncode(tok, texts);
            rustCache.set(bytes, rows);
        }
        writeIds(path.join(job.out, `${m.name}.rust.txt`), rows);
        for (const n of m.truncate || []) {
            tok.setTruncation(n);
            writeIds(path.join(job.out, `${m.name}.rust.t${n}.txt`), await rustEncode(tok, texts));
            tok.disableTruncation();
        }
        const t1 = Date.now();

        tjs.env.localModelPath = m.tjs_root;
        const jt = await tjs.AutoTokenizer.from_pretrained(m.tjs_id, { local_files_only: true });
        const jrows = texts.map((s) => jt.encode(s, { add_special_tokens: true }));
        writeIds(path.join(job.out, `${m.name}.tjs.txt`), jrows);
        timings[m.name] = { rust_s: (t1 - t0) / 1000, tjs_s: (Date.now() - t1) / 1000 };
    }
    process.stdout.write(JSON.stringify({ texts: texts.length, timings }) + '\n');
}

main().catch((e) => {
    process.stderr.write(`tok_oracle: ${e.stack || e}\n`);
    process.exit(1);
});
