// onnxruntime-node's side of the forward-pass benchmark (never shipped).
//
//   node bench/ort_peer.mjs MODEL.onnx
//
// Answers the bench_forward protocol on stdin/stdout, one JSON line per command:
//   run IDS B T THREADS WARM REPS -> {"ts":[ms per timed rep],"check":[..]}
// The model is the ONNX export of the same weights by bench/torch_peer.py. Sessions use
// onnxruntime's best CPU settings: intraOpNumThreads = THREADS, interOpNumThreads 1,
// graphOptimizationLevel 'all', sequential execution, the default memory arena; one
// session per thread count, created on first use and kept.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'tests', 'oracles', 'package.json'));
const ort = require('onnxruntime-node');

const modelPath = process.argv[2];
if (!modelPath) {
  process.stderr.write('usage: node bench/ort_peer.mjs MODEL.onnx\n');
  process.exit(2);
}

const sessions = new Map();
async function session(threads) {
  if (!sessions.has(threads)) {
    sessions.set(threads, await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      enableCpuMemArena: true,
    }));
  }
  return sessions.get(threads);
}

async function run(path, B, T, threads, warm, reps) {
  const raw = readFileSync(path);
  const ids32 = new Int32Array(raw.buffer, raw.byteOffset, B * T);
  const ids = BigInt64Array.from(ids32, (x) => BigInt(x));
  const mask = new BigInt64Array(B * T).fill(1n);
  const feeds = {
    input_ids: new ort.Tensor('int64', ids, [B, T]),
    attention_mask: new ort.Tensor('int64', mask, [B, T]),
  };
  const s = await session(threads);
  for (let r = 0; r < warm; r++) await s.run(feeds);
  const ts = [];
  let out;
  for (let r = 0; r < Math.max(reps, 1); r++) {
    const t0 = performance.now();
    out = await s.run(feeds);
    ts.push(performance.now() - t0);
  }
  const h = out.last_hidden_state.data;
  let mabs = 0;
  for (let i = 0; i < h.length; i++) mabs += Math.abs(h[i]);
  return { ts, check: [mabs / h.length, h[0], h[1], h[2], h[3]] };
}

const ready = { ready: 1, ort: ort.env?.versions?.common ?? 'unknown', core: 'MLAS (onnxruntime, own kernels)' };
process.stdout.write(JSON.stringify(ready) + '\n');
const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  const p = line.trim().split(/\s+/);
  if (p[0] === 'quit' || p[0] === '') break;
  if (p[0] !== 'run' || p.length !== 7) {
    process.stderr.write(`ort_peer: unknown command: ${line}\n`);
    process.exit(2);
  }
  const n = p.slice(2).map(Number);
  process.stdout.write(JSON.stringify(await run(p[1], n[0], n[1], n[2], n[3], n[4])) + '\n');
}
process.exit(0);
