// ONNX Runtime side of bench/bench_ml_infer.sh: the same model and raw input, warm-up and
// timed runs with the given intra-op thread count; prints "best_ms median_ms peak_rss_kb".
// Usage: node bench_ml_ort.js ROOT MODEL.onnx INPUT.bin SHAPE.json THREADS RUNS
'use strict';
const fs = require('fs');
const [root, model, input, shapeFile, threads, runs] = process.argv.slice(2);
const ort = require(require('path').resolve(root, 'npm/node_modules/onnxruntime-node'));

async function main() {
  const meta = JSON.parse(fs.readFileSync(shapeFile, 'utf8'));
  const raw = fs.readFileSync(input);
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  const int64 = meta.dtype === 'int64';
  const data = int64 ? new BigInt64Array(buf) : new Float32Array(buf);
  const n = Number(threads);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: n, interOpNumThreads: 1 });
  const feeds = {};
  feeds[session.inputNames[0]] = new ort.Tensor(int64 ? 'int64' : 'float32', data, meta.input);
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const t = [];
  for (let i = 0; i < Number(runs); i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  console.log(t[0].toFixed(4) + ' ' + t[Math.floor(t.length / 2)].toFixed(4) + ' ' + process.resourceUsage().maxRSS);
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
