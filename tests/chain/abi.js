// A small Solidity ABI codec and JSON-RPC client for the contract tests and the gas benchmark
// (tests/chain/contracts_check.js, bench/chain_gas.js): static and dynamic types, tuples and
// arrays, as the contract ABI (contracts/compile.js) describes them; keccak from js-sha3,
// which the pinned solc brings.
'use strict';
const path = require('path');
const { keccak256 } = require(path.join(__dirname, '..', '..', 'npm', 'node_modules', 'js-sha3'));

const strip = (h) => (h.startsWith('0x') ? h.slice(2) : h);
const pad = (h) => h.padStart(64, '0');
const word = (n) => pad(BigInt.asUintN(256, BigInt(n)).toString(16));

function isDynamic(t) {
  if (t.type === 'string' || t.type === 'bytes' || t.type.endsWith('[]')) return true;
  if (t.type === 'tuple') return t.components.some(isDynamic);
  return false;
}

function elemType(t) {
  return { ...t, type: t.type.slice(0, t.type.lastIndexOf('[')) };
}

function encodeOne(t, v) {
  if (t.type === 'tuple') {
    const vals = Array.isArray(v) ? v : t.components.map((c) => v[c.name]);
    return encode(t.components, vals);
  }
  if (t.type.endsWith('[]')) {
    const e = elemType(t);
    return word(v.length) + encode(v.map(() => e), v);
  }
  if (t.type === 'string' || t.type === 'bytes') {
    const hex = t.type === 'string' ? Buffer.from(v, 'utf8').toString('hex') : strip(v);
    const n = hex.length / 2;
    return word(n) + hex.padEnd(Math.ceil(n / 32) * 64, '0');
  }
  if (t.type === 'bool') return word(v ? 1 : 0);
  if (t.type === 'address') return pad(strip(v).toLowerCase());
  if (t.type.startsWith('bytes')) return strip(v).padEnd(64, '0');
  if (t.type.startsWith('uint') || t.type.startsWith('int')) return word(v);
  throw new Error('abi: type ' + t.type + ' not supported');
}

function encode(types, values) {
  let head = '';
  let tail = '';
  const headLen = types.reduce((n, t) => n + (isDynamic(t) ? 32 : encodeOne(t, zero(t)).length / 2), 0);
  types.forEach((t, i) => {
    const enc = encodeOne(t, values[i]);
    if (isDynamic(t)) {
      head += word(headLen + tail.length / 2);
      tail += enc;
    } else {
      head += enc;
    }
  });
  return head + tail;
}

// A value of a static type's shape, to measure its encoded size.
function zero(t) {
  if (t.type === 'tuple') return t.components.map(zero);
  if (t.type === 'bool') return false;
  if (t.type === 'address' || t.type.startsWith('bytes')) return '0x';
  return 0;
}

function decodeAt(t, hex, at) {
  const w = (o) => hex.slice(2 * o, 2 * o + 64);
  if (t.type === 'tuple') return decodeList(t.components, hex, at);
  if (t.type.endsWith('[]')) {
    const n = Number(BigInt('0x' + w(at)));
    const e = elemType(t);
    return decodeList(Array(n).fill(e), hex, at + 32);
  }
  if (t.type === 'string' || t.type === 'bytes') {
    const n = Number(BigInt('0x' + w(at)));
    const b = hex.slice(2 * (at + 32), 2 * (at + 32 + n));
    return t.type === 'string' ? Buffer.from(b, 'hex').toString('utf8') : '0x' + b;
  }
  if (t.type === 'bool') return BigInt('0x' + w(at)) !== 0n;
  if (t.type === 'address') return '0x' + w(at).slice(24);
  if (t.type.startsWith('bytes')) return '0x' + w(at).slice(0, 2 * Number(t.type.slice(5)));
  return BigInt('0x' + w(at));
}

function decodeList(types, hex, base) {
  const out = [];
  let at = base;
  for (const t of types) {
    if (isDynamic(t)) {
      const off = Number(BigInt('0x' + hex.slice(2 * at, 2 * at + 64)));
      out.push(decodeAt(t, hex, base + off));
      at += 32;
    } else {
      out.push(decodeAt(t, hex, at));
      at += encodeOne(t, zero(t)).length / 2;
    }
  }
  types.forEach((t, i) => { if (t.name) out[t.name] = out[i]; });
  return out;
}

function decode(types, hex) {
  return decodeList(types, strip(hex), 0);
}

function signature(f) {
  const ty = (t) => (t.type.startsWith('tuple') ? '(' + t.components.map(ty).join(',') + ')' + t.type.slice(5) : t.type);
  return f.name + '(' + f.inputs.map(ty).join(',') + ')';
}

class Rpc {
  constructor(url) { this.url = url; this.id = 0; }
  async call(method, params) {
    const r = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++this.id, method, params }), signal: AbortSignal.timeout(20000) });
    const j = await r.json();
    if (j.error) {
      const e = new Error(method + ': ' + j.error.message);
      e.rpc = j.error;
      throw e;
    }
    return j.result;
  }
}

// One deployed contract: call(name, args) for views, send(from, name, args, value) for
// transactions (anvil's unlocked accounts); send returns the receipt with decoded events.
class Contract {
  constructor(rpc, abi, address) {
    this.rpc = rpc;
    this.abi = abi;
    this.address = address;
    this.events = {};
    for (const e of abi.filter((x) => x.type === 'event'))
      this.events['0x' + keccak256(signature(e))] = e;
  }
  fn(name) {
    const f = this.abi.find((x) => x.type === 'function' && x.name === name);
    if (!f) throw new Error('abi: no function ' + name);
    return f;
  }
  data(name, args) {
    const f = this.fn(name);
    return '0x' + keccak256(signature(f)).slice(0, 8) + encode(f.inputs, args);
  }
  async call(name, args = []) {
    const f = this.fn(name);
    const r = await this.rpc.call('eth_call', [{ to: this.address, data: this.data(name, args) }, 'latest']);
    const out = decode(f.outputs, r);
    return f.outputs.length === 1 ? out[0] : out;
  }
  async send(from, name, args = [], value = 0n) {
    const tx = { from, to: this.address, data: this.data(name, args), value: '0x' + BigInt(value).toString(16) };
    // the estimate runs the call first: a revert fails here, with its reason
    tx.gas = await this.rpc.call('eth_estimateGas', [tx]);
    const rc = await receipt(this.rpc, await this.rpc.call('eth_sendTransaction', [tx]));
    if (rc.status !== '0x1') throw new Error(name + ': transaction failed');
    rc.decoded = rc.logs.filter((l) => this.events[l.topics[0]]).map((l) => {
      const e = this.events[l.topics[0]];
      const data = decode(e.inputs.filter((i) => !i.indexed), l.data);
      return { name: e.name, data, topics: l.topics };
    });
    return rc;
  }
}

// The receipt of transaction h, waited for (bounded: 20 s).
async function receipt(rpc, h) {
  for (let i = 0; i < 400; i++) {
    const rc = await rpc.call('eth_getTransactionReceipt', [h]);
    if (rc) return rc;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no receipt for ' + h + ' after 20 s');
}

async function deploy(rpc, from, artefact, args) {
  const ctor = artefact.abi.find((x) => x.type === 'constructor');
  const data = artefact.bytecode + (ctor ? encode(ctor.inputs, args) : '');
  const rc = await receipt(rpc, await rpc.call('eth_sendTransaction', [{ from, data }]));
  if (rc.status !== '0x1') throw new Error('deploy failed');
  return new Contract(rpc, artefact.abi, rc.contractAddress);
}

module.exports = { encode, decode, keccak256, Rpc, Contract, deploy };
