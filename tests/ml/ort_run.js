#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (onnxruntime-node, the reference the ML engine is
// compared with) on one .npy input and writes its first output as a float32 .npy.
//
// usage: node tests/ml/ort_run.js MODEL.onnx INPUT.npy OUTPUT.npy [--threads N] [--repeat N]
//                                  [--expect REF.npy [--rtol R] [--atol A]]
//   --threads N  intra-op threads (default 1); inter-op is 1, execution sequential
//   --repeat N   also time N more runs after one warm-up run and print JSON on stdout:
//                {"runs":N,"best_ms":..,"median_ms":..,"rss_peak_kib":..}
//   --expect REF compare the output with REF (same shape; every element within
//                atol + rtol * |ref|, defaults rtol 1e-4, atol 1e-5); exit 1 if not, and
//                print the largest errors on stderr either way
// onnxruntime-node is loaded from $GTEE_SOURCE_DIR/npm/node_modules.
'use strict';
const fs = require('fs');
const path = require('path');

function die(msg) {
  process.stderr.write('ort_run: ' + msg + '\n');
  process.exit(2);
}

// .npy (numpy/lib/format.py): magic, version, header length, dict, data (C order).
const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array], '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array], '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.readUInt8(0) !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY')
    die(file + ': not a .npy file');
  const major = buf.readUInt8(6);
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shape || !/'fortran_order':\s*False/.test(header)) die(file + ': unsupported .npy header ' + header);
  const t = NPY_TYPES[descr[1]];
  if (!t) die(file + ': unsupported dtype ' + descr[1]);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const off = start + hlen;
  const bytes = buf.subarray(off, off + count * t[1].BYTES_PER_ELEMENT);
  if (bytes.length !== count * t[1].BYTES_PER_ELEMENT) die(file + ': data truncated');
  const data = new t[1](count);
  Buffer.from(data.buffer).set(bytes);
  return { type: t[0], data, dims };
}

function writeNpyF32(file, data, dims) {
  let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims.join(', ') + (dims.length === 1 ? ',' : '') + '), }';
  let hlen = dict.length + 1;
  hlen += (64 - ((10 + hlen) % 64)) % 64;
  const head = Buffer.alloc(10 + hlen, 0x20);
  head.writeUInt8(0x93, 0);
  head.write('NUMPY', 1, 'latin1');
  head.writeUInt8(1, 6);
  head.writeUInt8(0, 7);
  head.writeUInt16LE(hlen, 8);
  head.write(dict, 10, 'latin1');
  head.writeUInt8(0x0a, 10 + hlen - 1);
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data, Number);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(f32.buffer, f32.byteOffset, f32.byteLength)]));
}

// Elementwise |got - ref| <= atol + rtol * |ref| (numpy.allclose's rule).
function compare(y, ref, rtol, atol, name) {
  const dims = y.dims.map(Number);
  if (dims.join(',') !== ref.dims.join(',')) {
    process.stderr.write('ort_run: output shape ' + dims + ' differs from ' + name + ' shape ' + ref.dims + '\n');
    return false;
  }
  let maxAbs = 0, maxRel = 0, bad = 0, worst = -1;
  for (let i = 0; i < ref.data.length; i++) {
    const r = Number(ref.data[i]), d = Math.abs(Number(y.data[i]) - r);
    if (!(d <= atol + rtol * Math.abs(r))) { bad++; if (worst < 0) worst = i; }
    maxAbs = Math.max(maxAbs, d);
    if (Math.abs(r) > atol) maxRel = Math.max(maxRel, d / Math.abs(r));
  }
  process.stderr.write('ort_run: vs ' + path.basename(name) + ': max abs err ' + maxAbs.toExponential(2) + ', max rel err ' +
    maxRel.toExponential(2) + ', ' + bad + ' of ' + ref.data.length + ' outside rtol ' + rtol + ' atol ' + atol +
    (bad ? ' (first at index ' + worst + ')' : '') + '\n');
  return bad === 0 && !Number.isNaN(maxAbs);
}

async function main() {
  const args = process.argv.slice(2);
  const pos = [];
  let threads = 1;
  let repeat = 0;
  let expect = null;
  let rtol = 1e-4;
  let atol = 1e-5;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--threads') threads = parseInt(args[++i], 10);
    else if (args[i] === '--repeat') repeat = parseInt(args[++i], 10);
    else if (args[i] === '--expect') expect = args[++i];
    else if (args[i] === '--rtol') rtol = parseFloat(args[++i]);
    else if (args[i] === '--atol') atol = parseFloat(args[++i]);
    else pos.push(args[i]);
  }
  if (pos.length !== 3 || !(threads >= 1) || !(repeat >= 0))
    die('usage: ort_run.js MODEL.onnx INPUT.npy OUTPUT.npy [--threads N] [--repeat N]');
  const root = process.env.GTEE_SOURCE_DIR || path.join(__dirname, '..', '..');
  const ort = require(path.join(root, 'npm', 'node_modules', 'onnxruntime-node'));
  const session = await ort.InferenceSession.create(pos[0], {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const x = readNpy(pos[1]);
  const feeds = { [session.inputNames[0]]: new ort.Tensor(x.type, x.data, x.dims) };
  let out = await session.run(feeds);
  const times = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = process.hrtime.bigint();
    out = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const y = out[session.outputNames[0]];
  writeNpyF32(pos[2], y.data, y.dims.map(Number));
  if (expect && !compare(y, readNpy(expect), rtol, atol, expect)) process.exitCode = 1;
  if (repeat) {
    times.sort((a, b) => a - b);
    const usage = process.resourceUsage();
    process.stdout.write(JSON.stringify({
      runs: repeat, threads, best_ms: times[0], median_ms: times[Math.floor(times.length / 2)],
      rss_peak_kib: usage.maxRSS,
    }) + '\n');
  }
}

main().catch((e) => die(e && e.message ? e.message : String(e)));
