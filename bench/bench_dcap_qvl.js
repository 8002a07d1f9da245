// Reference rate (not a test): @phala/dcap-qvl verify(quote, collateral, at) per second on
// the Intel samples, collateral built once. Usage: node bench_dcap_qvl.js SOURCE_DIR SECONDS
'use strict';
const fs = require('fs');
const path = require('path');
const src = process.argv[2];
const secs = Number(process.argv[3] || 3);
const qvl = require(path.join(src, 'npm/node_modules/@phala/dcap-qvl'));
const { vectorPath } = require(path.join(src, 'tests/vectors.js'));

function signedValue(text, key) {
  return text.slice(text.indexOf('{"' + key + '":') + key.length + 4, text.lastIndexOf(',"signature":"'));
}

for (const [rel, atIso] of [['sgx/sgx-1', '2025-07-19T10:01:17Z'], ['tdx/tdx-1', '2025-07-19T10:00:34Z']]) {
  const dir = vectorPath(rel);
  const rd = (f) => fs.readFileSync(path.join(dir, f));
  const tcb = rd('tcb_info.json').toString();
  const qe = rd('qe_identity.json').toString();
  const col = {
    pck_crl_issuer_chain: rd('pck_crl_issuer_chain.pem').toString(),
    root_ca_crl: Array.from(rd('root_ca_crl.der')), pck_crl: Array.from(rd('pck_crl.der')),
    tcb_info_issuer_chain: rd('tcb_info_issuer_chain.pem').toString(), tcb_info: signedValue(tcb, 'tcbInfo'),
    tcb_info_signature: Array.from(Buffer.from(JSON.parse(tcb).signature, 'hex')),
    qe_identity_issuer_chain: rd('qe_identity_issuer_chain.pem').toString(),
    qe_identity: signedValue(qe, 'enclaveIdentity'),
    qe_identity_signature: Array.from(Buffer.from(JSON.parse(qe).signature, 'hex')),
    pck_certificate_chain: null,
  };
  const quote = rd('quote.bin');
  const at = Date.parse(atIso) / 1000;
  let n = 0, status = '';
  // CPU time (user + system) of the process, as `openssl speed` and bench_evidence measure.
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  const t0 = cpu();
  let t = 0;
  do {
    for (let i = 0; i < 10; i++, n++) status = qvl.verify(quote, col, at).status;
    t = cpu() - t0;
  } while (t < secs);
  console.log(`${rel} ${(n / t).toFixed(1)} ${status}`);
}
