// Verifies a DCAP quote with @phala/dcap-qvl (an independent verifier) against collateral
// in the layout of tests/vectors/sgx/sgx-1 and a pinned root certificate (DER).
// Usage: node dcap_qvl_verify.js QUOTE COLLATERAL_DIR ROOT_DER [UNIX_TIME]
// Prints {"status":...,"advisory_ids":[...]} and exits 0, or prints the error and exits 1.
'use strict';
const fs = require('fs');
const path = require('path');

const src = process.env.GTEE_SOURCE_DIR || path.join(__dirname, '..', '..');
const { QuoteVerifier } = require(path.join(src, 'npm', 'node_modules', '@phala', 'dcap-qvl', 'src', 'verify'));

// {"<outer>":<inner>,"signature":"<hex>"}: the inner bytes exactly as in the file.
function signedJson(file, outer) {
    const text = fs.readFileSync(file, 'utf8');
    const prefix = `{"${outer}":`;
    const sigKey = ',"signature":"';
    if (!text.startsWith(prefix)) throw new Error(`${file}: does not start with ${prefix}`);
    const at = text.lastIndexOf(sigKey);
    const sig = text.slice(at + sigKey.length, text.lastIndexOf('"'));
    return { body: text.slice(prefix.length, at), sig };
}

const [quoteFile, dir, rootFile, when] = process.argv.slice(2);
const tcb = signedJson(path.join(dir, 'tcb_info.json'), 'tcbInfo');
const qe = signedJson(path.join(dir, 'qe_identity.json'), 'enclaveIdentity');
const collateral = {
    pck_crl_issuer_chain: fs.readFileSync(path.join(dir, 'pck_crl_issuer_chain.pem'), 'utf8'),
    root_ca_crl: fs.readFileSync(path.join(dir, 'root_ca_crl.der')),
    pck_crl: fs.readFileSync(path.join(dir, 'pck_crl.der')),
    tcb_info_issuer_chain: fs.readFileSync(path.join(dir, 'tcb_info_issuer_chain.pem'), 'utf8'),
    tcb_info: tcb.body,
    tcb_info_signature: tcb.sig,
    qe_identity_issuer_chain: fs.readFileSync(path.join(dir, 'qe_identity_issuer_chain.pem'), 'utf8'),
    qe_identity: qe.body,
    qe_identity_signature: qe.sig,
};
const now = when ? parseInt(when, 10) : Math.floor(Date.now() / 1000);
try {
    const verifier = QuoteVerifier.newWithRootCa(fs.readFileSync(rootFile));
    const r = verifier.verify(new Uint8Array(fs.readFileSync(quoteFile)), collateral, now);
    console.log(JSON.stringify({ status: r.status, advisory_ids: r.advisory_ids }));
} catch (e) {
    let msg = e.message;
    for (let c = e.cause; c; c = c.cause) msg += ` / ${c.message || c}`;
    console.log(JSON.stringify({ error: msg }));
    process.exit(1);
}
