// Runs an ONNX model with ONNX Runtime (onnxruntime-node) on a raw input (not .npy) and writes the
// first output as raw little-endian float32: the reference side of test_ml_ort.
// Usage: node ort_run_raw.js MODEL.onnx INPUT.bin SHAPE.json OUT.bin
'use strict';
const fs = require('fs');
const ort = require(require('path').resolve(process.env.GTEE_SOURCE_DIR, 'npm/node_modules/onnxruntime-node'));

async function main() {
  const [model, input, shapeFile, out] = process.argv.slice(2);
  const meta = JSON.parse(fs.readFileSync(shapeFile, 'utf8'));
  const raw = fs.readFileSync(input);
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  const data = meta.dtype === 'int64' ? new BigInt64Array(buf) : new Float32Array(buf);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const feeds = {};
  feeds[session.inputNames[0]] = new ort.Tensor(meta.dtype === 'int64' ? 'int64' : 'float32', data, meta.input);
  const result = await session.run(feeds);
  const y = result[session.outputNames[0]];
  fs.writeFileSync(out, Buffer.from(new Float32Array(y.data).buffer));
  console.log(JSON.stringify({ output: y.dims }));
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
