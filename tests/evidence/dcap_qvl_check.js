// Second opinion: every Intel sample in tests/vectors, and mutated copies of it (one byte
// changed per region), verified by @phala/dcap-qvl's verify(quote, collateral, at) and by
// `gtee evidence verify --json`. Both must agree on accept/reject, and on the TCB status
// when they accept. Run by test_dcap_qvl.sh.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const src = process.env.GTEE_SOURCE_DIR;
const cli = process.env.GTEE_CLI;
const qvl = require(path.join(src, 'npm/node_modules/@phala/dcap-qvl'));
const vectors = require(path.join(src, 'tests/vectors.js')).vectorPath();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gtee-qvl-'));
const files = ['tcb_info.json', 'tcb_info_issuer_chain.pem', 'qe_identity.json', 'qe_identity_issuer_chain.pem',
               'pck_crl.der', 'root_ca_crl.der', 'pck_crl_issuer_chain.pem'];

// The policy under which gtee's verdict is comparable: dcap-qvl accepts every TCB status but
// Revoked and never a debug enclave.
const policyPath = path.join(tmp, 'policy.json');
fs.writeFileSync(policyPath, JSON.stringify({
  accepted_tcb_statuses: ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded',
                          'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
  allow_debug: false,
}));

// The signed value's exact bytes, as the signature covers them.
function signedValue(text, key) {
  const start = text.indexOf('{"' + key + '":') + key.length + 4;
  const end = text.lastIndexOf(',"signature":"');
  return text.slice(start, end);
}

function collateralOf(dir) {
  const rd = (f) => fs.readFileSync(path.join(dir, f));
  const tcb = rd('tcb_info.json').toString('utf8');
  const qe = rd('qe_identity.json').toString('utf8');
  return {
    pck_crl_issuer_chain: rd('pck_crl_issuer_chain.pem').toString('utf8'),
    root_ca_crl: Array.from(rd('root_ca_crl.der')),
    pck_crl: Array.from(rd('pck_crl.der')),
    tcb_info_issuer_chain: rd('tcb_info_issuer_chain.pem').toString('utf8'),
    tcb_info: signedValue(tcb, 'tcbInfo'),
    tcb_info_signature: Array.from(Buffer.from(JSON.parse(tcb).signature, 'hex')),
    qe_identity_issuer_chain: rd('qe_identity_issuer_chain.pem').toString('utf8'),
    qe_identity: signedValue(qe, 'enclaveIdentity'),
    qe_identity_signature: Array.from(Buffer.from(JSON.parse(qe).signature, 'hex')),
    pck_certificate_chain: null,
  };
}

// Region offsets of a DCAP quote (SGX v3 / TDX v4), computed from the layout.
function regions(q) {
  const version = q.readUInt16LE(0);
  const bodyLen = version === 3 ? 384 : 584;
  const r = { header: 30, qe_vendor: 12, body: 48 + 70, report_data: 48 + bodyLen - 64 + 3 };
  let o = 48 + bodyLen + 4;
  r.signature = o + 7; o += 64;
  r.att_key = o + 9; o += 64;
  if (version !== 3) o += 6; // certification data type 6 header
  r.qe_report = o + 200; o += 384;
  r.qe_report_sig = o + 40; o += 64;
  const authLen = q.readUInt16LE(o); o += 2;
  if (authLen) r.qe_auth = o;
  o += authLen + 6;
  r.pem = o;
  return r;
}

// Offsets inside the k-th PEM certificate of text (from byte `from`), in its signature.
function pemCertOffsets(buf, from) {
  const text = buf.toString('latin1');
  const out = [];
  let i = from;
  for (;;) {
    const b = text.indexOf('-----BEGIN CERTIFICATE-----', i);
    if (b < 0) break;
    const start = b + 27;
    const e = text.indexOf('-----END', start);
    let p = start + Math.floor((e - start) * 2 / 3);
    while (text[p] === '\n' || text[p] === '\r') p++;
    out.push(p);
    i = e;
  }
  return out;
}

function flipByte(buf, off) { const b = Buffer.from(buf); b[off] ^= 1; return b; }
function flipChar(buf, off) { const b = Buffer.from(buf); b[off] = b[off] === 0x41 ? 0x42 : 0x41; return b; }
function flipHexAfter(buf, needle, skip) {
  const off = buf.indexOf(needle) + needle.length + skip;
  const b = Buffer.from(buf); b[off] = b[off] === 0x30 ? 0x31 : 0x30; return b;
}

function runQvl(quote, dir, at) {
  try {
    const r = qvl.verify(quote, collateralOf(dir), at);
    return { accepted: true, status: r.status, advisories: r.advisory_ids };
  } catch (e) {
    return { accepted: false, why: e.message };
  }
}

function runGtee(quotePath, dir, at) {
  const r = spawnSync(cli, ['evidence', 'verify', quotePath, '--collateral', dir, '--policy', policyPath,
                            '--at', String(at), '--json'], { encoding: 'utf8' });
  let v = null;
  try { v = JSON.parse(r.stdout); } catch (e) { /* malformed evidence may still print JSON */ }
  return { code: r.status, accepted: r.status === 0, status: v && v.claims ? v.claims.tcb_status : null,
           advisories: v && v.claims ? v.claims.advisory_ids : null,
           why: v ? v.reasons.map((x) => x.code).join(',') : r.stderr.trim() };
}

let checked = 0, failed = 0;

function compare(name, sampleDir, quote, changes, at, expect) {
  const dir = path.join(tmp, name.replace(/[^a-z0-9]+/gi, '_'));
  fs.mkdirSync(dir, { recursive: true });
  for (const f of files) fs.copyFileSync(path.join(sampleDir, f), path.join(dir, f));
  for (const [f, bytes] of Object.entries(changes)) fs.writeFileSync(path.join(dir, f), bytes);
  const qp = path.join(dir, 'quote.bin');
  fs.writeFileSync(qp, quote);
  const a = runQvl(quote, dir, at);
  const g = runGtee(qp, dir, at);
  checked++;
  let ok = a.accepted === g.accepted;
  if (ok && a.accepted) ok = a.status === g.status;
  if (ok && expect) ok = expect.accepted === g.accepted && (!expect.accepted || expect.status === g.status);
  if (ok && g.code !== 0 && g.code !== 7 && g.code !== 5) ok = false;
  if (!ok) {
    failed++;
    console.log(`FAIL ${name}: dcap-qvl ${JSON.stringify(a)} gtee ${JSON.stringify(g)}`);
  } else {
    console.log(`ok   ${name}: ${g.accepted ? 'accepted ' + g.status : 'rejected (' + g.why + ' | ' + a.why + ')'}`);
  }
}

for (const kind of ['sgx', 'tdx']) {
  for (const sample of fs.readdirSync(path.join(vectors, kind)).sort()) {
    const dir = path.join(vectors, kind, sample);
    const exp = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
    const at = Math.floor(Date.parse(exp.verify_at) / 1000);
    const quote = fs.readFileSync(path.join(dir, 'quote.bin'));
    const name = `${kind}/${sample}`;
    compare(name, dir, quote, {}, at, { accepted: true, status: exp.tcb_status });
    const r = regions(quote);
    for (const [region, off] of Object.entries(r)) {
      if (region === 'pem') continue;
      compare(`${name} ${region} flipped`, dir, flipByte(quote, off), {}, at, { accepted: false });
    }
    pemCertOffsets(quote, r.pem).forEach((off, k) => {
      compare(`${name} PCK chain certificate ${k + 1} changed`, dir, flipChar(quote, off), {}, at,
              { accepted: false });
    });
    for (const [file, key] of [['tcb_info.json', 'tcbEvaluationDataNumber'], ['qe_identity.json', 'isvprodid']]) {
      const text = fs.readFileSync(path.join(dir, file));
      compare(`${name} ${file} signature changed`, dir, quote, { [file]: flipHexAfter(text, '"signature":"', 20) },
              at, { accepted: false });
      compare(`${name} ${file} body changed`, dir, quote, { [file]: flipHexAfter(text, `"${key}":`, 0) }, at,
              { accepted: false });
    }
    for (const file of ['tcb_info_issuer_chain.pem', 'qe_identity_issuer_chain.pem']) {
      const text = fs.readFileSync(path.join(dir, file));
      pemCertOffsets(text, 0).forEach((off, k) => {
        compare(`${name} ${file} certificate ${k + 1} changed`, dir, quote, { [file]: flipChar(text, off) }, at,
                { accepted: false });
      });
    }
    // a month past the collateral's nextUpdate both call it expired
    compare(`${name} a month later`, dir, quote, {}, at + 31 * 86400, { accepted: false });
  }
}

fs.rmSync(tmp, { recursive: true, force: true });
console.log(`${checked} cases, ${failed} disagreements`);
process.exit(failed || checked === 0 ? 1 : 0);
