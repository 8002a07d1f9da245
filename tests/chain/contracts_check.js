// The contracts' rules on a real anvil (tests/chain/test_contracts_anvil.sh starts it):
// deploy, governance, verifiers' quorum, registration with the enclave's consent, Work Proofs
// one by one and in a batch of 32, rewards claimed, then the attacks: a signer that is not a
// registered enclave, a replayed proof, skipped and repeated sequence numbers, a wrong
// previous hash, equivocation (slashed, reporter rewarded), a revoked node that keeps
// submitting, an expired registration (and its renewal), simulated evidence under a policy
// that forbids it, a TCB below the minimum (at registration and raised later; SEV-SNP's
// compared component by component), stale
// evidence, key-release receipts counted once. anvil's dev accounts are the governor, the
// operator, the verifiers and, through eth_signTypedData_v4, the enclaves.
// Usage: node contracts_check.js RPC_URL ARTEFACTS.json [GAS_OUT.json|-] [CONTRACT]
// With CONTRACT, the checks run on that deployment (made by `gtee chain deploy` with
// anvil's first account as governor and the policy below) instead of deploying their own.
'use strict';
const fs = require('fs');
const { Rpc, Contract, deploy } = require('./abi.js');

const [url, artefacts, gasArg, deployed] = process.argv.slice(2);
const gasOut = gasArg === '-' ? undefined : gasArg;
const rpc = new Rpc(url);
const ETH = 10n ** 18n;
let failures = 0;
function check(cond, what) {
  if (!cond) {
    failures++;
    console.error('FAIL: ' + what);
  }
}
async function reverts(p, reason, what) {
  try {
    await p;
    check(false, what + ': succeeded, expected a revert with "' + reason + '"');
  } catch (e) {
    check(String(e.message).includes(reason), what + ': ' + e.message + ' (expected "' + reason + '")');
  }
}

const PROOF_FIELDS = [['enclaveId', 'address'], ['jobId', 'bytes32'], ['jobKind', 'uint8'], ['modelCid', 'bytes32'],
  ['inputCid', 'bytes32'], ['outputCid', 'bytes32'], ['units', 'uint64'], ['receiptHash', 'bytes32'],
  ['startTime', 'uint64'], ['endTime', 'uint64'], ['seq', 'uint64'], ['prevHash', 'bytes32'],
  ['evidenceHash', 'bytes32'], ['gpuEvidenceHash', 'bytes32']];
const ZERO = '0x' + '00'.repeat(32);
const b32 = (n) => '0x' + BigInt(n).toString(16).padStart(64, '0');

async function signTyped(signer, contract, primaryType, fields, message) {
  const typed = {
    types: {
      EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'version', type: 'string' },
        { name: 'chainId', type: 'uint256' }, { name: 'verifyingContract', type: 'address' }],
      [primaryType]: fields.map(([name, type]) => ({ name, type })),
    },
    primaryType,
    domain: { name: 'Glacier Work Proof', version: '1', chainId: Number(BigInt(await rpc.call('eth_chainId', []))),
      verifyingContract: contract.address },
    message,
  };
  const sig = (await rpc.call('eth_signTypedData_v4', [signer, typed])).slice(2);
  return { r: '0x' + sig.slice(0, 64), s: '0x' + sig.slice(64, 128), v: parseInt(sig.slice(128), 16) };
}

async function main() {
  const art = JSON.parse(fs.readFileSync(artefacts, 'utf8')).contracts.Glacier;
  const acc = await rpc.call('eth_accounts', []);
  const [gov, op, v1, v2, v3, enc, enc2, enc3, reporter, stranger] = acc;
  const policy = { freshness: 3600, epoch: 86400, quorum: 2, allowSimulated: false, minStake: ETH,
    minVerifierStake: ETH / 2n, rewardPerUnit: 10n ** 9n };
  const g = deployed ? new Contract(rpc, art.abi, deployed) : await deploy(rpc, gov, art, [policy]);
  const pol = await g.call('policy');
  check(pol[0] === 3600n && pol[1] === 86400n && pol[2] === 2n && pol[3] === false && pol[4] === ETH &&
        pol[5] === ETH / 2n && pol[6] === 10n ** 9n, 'the deployment has the policy of these checks');
  check((await g.call('governor')).toLowerCase() === gov.toLowerCase(), 'the governor is the first account');
  // deployedAt: the block whose state first holds the contract's code (where event readers start)
  const at = await g.call('deployedAt');
  const code = async (b) => rpc.call('eth_getCode', [g.address, '0x' + b.toString(16)]);
  check(at > 0n && (await code(at)) !== '0x' && (await code(at - 1n)) === '0x',
    'deployedAt (' + at + ') is the block the contract was deployed in');
  const gas = {};
  const M = b32(0xaaaa);
  const SGX = 2;
  const now = async () => Number(BigInt((await rpc.call('eth_getBlockByNumber', ['latest', false])).timestamp));

  // governance
  await reverts(g.send(op, 'setMeasurement', [M, true]), 'not the governor', 'governance by a stranger');
  await g.send(gov, 'setMeasurement', [M, true]);
  await g.send(gov, 'setMinTcb', [SGX, 5]);
  // verifiers stake
  await reverts(g.send(v1, 'joinVerifiers', [], ETH / 4n), 'stake below the minimum', 'an understaked verifier');
  for (const v of [v1, v2, v3]) await g.send(v, 'joinVerifiers', [], ETH / 2n);

  const registration = async (id, operator, over = {}) => {
    const r = { enclaveId: id, teeType: SGX, measurement: M, tcb: 7, evidenceHash: b32(0xe1), evidenceTime: (await now()) - 10,
      evidenceUrl: 'https://node.example/evidence', nodeUrl: 'https://node.example', ...over };
    r.enclaveSig = await signTyped(over.consentBy || id, g, 'Consent',
      [['enclaveId', 'address'], ['operator', 'address'], ['evidenceHash', 'bytes32']],
      { enclaveId: id, operator: over.consentFor || operator, evidenceHash: r.evidenceHash });
    return r;
  };
  // registration attacks
  await reverts(g.send(op, 'register', [await registration(enc, op, { teeType: 1 })], ETH),
    'simulated TEE not allowed', 'simulated evidence under a policy that forbids it');
  await reverts(g.send(op, 'register', [await registration(enc, op, { tcb: 4 })], ETH),
    'TCB below the minimum', 'a TCB below the minimum');
  await reverts(g.send(op, 'register', [await registration(enc, op, { measurement: b32(0xbbbb) })], ETH),
    'measurement not accepted', 'an unaccepted measurement');
  await reverts(g.send(op, 'register', [await registration(enc, op, { evidenceTime: (await now()) - 7200 })], ETH),
    'older than the freshness window', 'stale evidence');
  await reverts(g.send(op, 'register', [await registration(enc, op, { consentFor: stranger })], ETH),
    'did not sign this operator', 'an enclave consent for another operator');
  await reverts(g.send(op, 'register', [await registration(enc, op)], ETH / 2n), 'stake below the minimum',
    'an understaked registration');
  let rc = await g.send(op, 'register', [await registration(enc, op)], ETH);
  gas.register = Number(BigInt(rc.gasUsed));
  check(rc.decoded.some((e) => e.name === 'Registered'), 'Registered event');
  await reverts(g.send(stranger, 'register', [await registration(enc, stranger)], ETH), 'already registered',
    'registering a taken Enclave ID');
  check(!(await g.call('isActive', [enc])), 'pending is not active');

  // a proof of enc, seq, prev; signed by signer (default the enclave itself)
  const proof = async (id, seq, prev, units, signer = id) => {
    const p = { enclaveId: id, jobId: b32(1000 + seq), jobKind: 1, modelCid: b32(2), inputCid: b32(3), outputCid: b32(4),
      units, receiptHash: ZERO, startTime: 1780000000, endTime: 1780000010, seq, prevHash: prev,
      evidenceHash: b32(0xe1), gpuEvidenceHash: ZERO };
    return { proof: p, sig: await signTyped(signer, g, 'WorkProof', PROOF_FIELDS, p) };
  };
  const p1 = await proof(enc, 1, ZERO, 100);
  await reverts(g.send(op, 'submitProof', [p1]), 'enclave not active', 'a proof before approval');

  // verifiers' quorum
  await reverts(g.send(stranger, 'vote', [enc, 1, true]), 'not a staked verifier', 'a vote by a non-verifier');
  await g.send(v1, 'vote', [enc, 1, true]);
  await reverts(g.send(v1, 'vote', [enc, 1, true]), 'already voted', 'a second vote');
  check(!(await g.call('isActive', [enc])), 'one vote of a quorum of two does not activate');
  rc = await g.send(v2, 'vote', [enc, 1, true]);
  check(rc.decoded.some((e) => e.name === 'Activated'), 'Activated event');
  check(await g.call('isActive', [enc]), 'a quorum activates');

  // proofs
  const h1 = await g.call('proofHash', [p1.proof]);
  rc = await g.send(stranger, 'submitProof', [p1]);
  gas.proof_alone = Number(BigInt(rc.gasUsed));
  const ev = rc.decoded.find((e) => e.name === 'ProofAccepted');
  check(ev && ev.data[0] === h1, 'ProofAccepted carries the proof hash');
  await reverts(g.send(op, 'submitProof', [p1]), 'seq is not one past', 'a replayed proof');
  await reverts(g.send(op, 'submitProof', [await proof(enc, 3, h1, 1)]), 'seq is not one past', 'a skipped seq');
  await reverts(g.send(op, 'submitProof', [await proof(enc, 2, b32(5), 1)]), 'prevHash', 'a wrong prevHash');
  await reverts(g.send(op, 'submitProof', [await proof(enc, 2, h1, 1, stranger)]), 'not signed by its Enclave ID',
    'a proof signed by another key');
  await reverts(g.send(op, 'submitProof', [await proof(stranger, 1, ZERO, 1)]), 'enclave not active',
    'a proof by a key that is not a registered enclave');
  const badS = await proof(enc, 2, h1, 1);
  badS.sig.s = '0x' + (0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n - BigInt(badS.sig.s)).toString(16).padStart(64, '0');
  badS.sig.v = badS.sig.v === 27 ? 28 : 27;
  await reverts(g.send(op, 'submitProof', [badS]), 's above n/2', 'a non-canonical signature');

  // a batch of 32
  const batch = [];
  let prev = h1;
  for (let s = 2; s <= 33; s++) {
    const sp = await proof(enc, s, prev, 10);
    prev = await g.call('proofHash', [sp.proof]);
    batch.push(sp);
  }
  rc = await g.send(stranger, 'submitProofs', [batch]);
  gas.batch_of_32 = Number(BigInt(rc.gasUsed));
  gas.per_proof_in_batch = Math.round(gas.batch_of_32 / 32);
  check(rc.decoded.filter((e) => e.name === 'ProofAccepted').length === 32, '32 ProofAccepted events');
  const [lastSeq, lastHash] = await g.call('lastProof', [enc]);
  check(lastSeq === 33n && lastHash === prev, 'lastProof is seq 33 and its hash');
  await reverts(g.send(op, 'submitProofs', [[batch[31], await proof(enc, 34, prev, 1)]]), 'seq is not one past',
    'a batch repeating the last proof (all or nothing)');
  check((await g.call('lastProof', [enc]))[0] === 33n, 'a failed batch changes nothing');

  // rewards
  check((await g.call('rewardUnits', [op])) === 100n + 32n * 10n, 'units credited to the operator');
  await reverts(g.send(op, 'claimRewards'), 'cannot pay this claim', 'a claim on an empty pool');
  await g.send(gov, 'fundRewards', [], ETH);
  const before = BigInt(await rpc.call('eth_getBalance', [op, 'latest']));
  rc = await g.send(op, 'claimRewards');
  const after = BigInt(await rpc.call('eth_getBalance', [op, 'latest']));
  const fee = BigInt(rc.gasUsed) * BigInt(rc.effectiveGasPrice);
  check(after - before + fee === 420n * 10n ** 9n, 'the claim pays units x rewardPerUnit');
  await reverts(g.send(op, 'claimRewards'), 'nothing to claim', 'a second claim');

  // key-release receipts
  const kr = { enclaveId: enc, blobCid: b32(0xb10b), grantId: b32(0x6a), time: 1780000000 };
  const krSig = await signTyped(enc, g, 'KeyRelease', [['enclaveId', 'address'], ['blobCid', 'bytes32'],
    ['grantId', 'bytes32'], ['time', 'uint64']], kr);
  await reverts(g.send(stranger, 'recordKeyRelease', [kr, krSig]), "not the enclave's operator", 'a receipt by a stranger');
  await g.send(op, 'recordKeyRelease', [kr, krSig]);
  await reverts(g.send(op, 'recordKeyRelease', [kr, krSig]), 'already recorded', 'a receipt recorded twice');
  await reverts(g.send(op, 'recordKeyRelease', [{ ...kr, grantId: b32(0x6b) }, krSig]), 'not signed by the enclave',
    'an invented receipt');
  check((await g.call('blobUses', [kr.blobCid])) === 1n, 'the blob was used once');

  // equivocation
  const a = batch[31];
  const b = await proof(enc, 33, batch[30] ? await g.call('proofHash', [batch[30].proof]) : h1, 11);
  await reverts(g.send(reporter, 'reportEquivocation', [a, a]), 'the same proof twice', 'one proof twice is no equivocation');
  const rb = BigInt(await rpc.call('eth_getBalance', [reporter, 'latest']));
  rc = await g.send(reporter, 'reportEquivocation', [a, b]);
  const ra = BigInt(await rpc.call('eth_getBalance', [reporter, 'latest']));
  check(ra - rb + BigInt(rc.gasUsed) * BigInt(rc.effectiveGasPrice) === ETH / 2n, 'the reporter gets half the stake');
  check(rc.decoded.some((e) => e.name === 'Slashed'), 'Slashed event');
  check(!(await g.call('isActive', [enc])), 'a slashed enclave is not active');
  await reverts(g.send(op, 'submitProof', [await proof(enc, 34, prev, 1)]), 'enclave not active', 'a slashed node submitting');
  await reverts(g.send(reporter, 'reportEquivocation', [a, b]), 'already slashed', 'slashing twice');

  // a second enclave: TCB raised later, expiry and renewal, revocation
  await g.send(op, 'register', [await registration(enc2, op)], ETH);
  await g.send(v1, 'vote', [enc2, 1, true]);
  await g.send(v3, 'vote', [enc2, 1, true]);
  const q1 = await proof(enc2, 1, ZERO, 5);
  await g.send(op, 'submitProof', [q1]);
  const qh1 = await g.call('proofHash', [q1.proof]);
  await g.send(gov, 'setMinTcb', [SGX, 8]);
  check(!(await g.call('isActive', [enc2])), 'a TCB below the raised minimum stops earning');
  await reverts(g.send(op, 'submitProof', [await proof(enc2, 2, qh1, 5)]), 'enclave not active', 'a TCB below the minimum');
  await g.send(gov, 'setMinTcb', [SGX, 5]);
  await rpc.call('evm_increaseTime', [86401]);
  await rpc.call('evm_mine', []);
  check(!(await g.call('isActive', [enc2])), 'an expired registration is not active');
  await reverts(g.send(op, 'submitProof', [await proof(enc2, 2, qh1, 5)]), 'enclave not active', 'an expired registration');
  rc = await g.send(op, 'renew', [await registration(enc2, op, { evidenceHash: b32(0xe2) })]);
  await g.send(v2, 'vote', [enc2, 2, true]);
  await g.send(v3, 'vote', [enc2, 2, true]);
  check(await g.call('isActive', [enc2]), 'renewed with fresh evidence and approved');
  await g.send(op, 'submitProof', [await proof(enc2, 2, qh1, 5)]);
  await g.send(gov, 'revoke', [enc2]);
  await reverts(g.send(op, 'submitProof', [await proof(enc2, 3, ZERO, 5)]), 'enclave not active', 'a revoked node submitting');
  await reverts(g.send(op, 'withdrawStake', [enc2]), 'locked for one epoch', 'stake withdrawn at once after revocation');
  await rpc.call('evm_increaseTime', [86401]);
  await rpc.call('evm_mine', []);
  await g.send(op, 'withdrawStake', [enc2]);

  // a rejected registration
  await g.send(op, 'register', [await registration(enc3, op)], ETH);
  await g.send(v1, 'vote', [enc3, 1, false]);
  rc = await g.send(v2, 'vote', [enc3, 1, false]);
  check(rc.decoded.some((e) => e.name === 'Rejected'), 'a quorum of rejections');
  check(!(await g.call('isActive', [enc3])), 'a rejected enclave is not active');

  // SEV-SNP: the four SVNs of a packed TCB compared one by one (docs/chain.md, "The TCB rule"),
  // never as one number: a higher bootloader does not make up for a lower microcode (the rejected
  // enclave registered again by its operator, as an SEV-SNP one)
  const SNP = 4;
  const snpTcb = (bl, tee, snp, uc) => ((bl << 24) | (tee << 16) | (snp << 8) | uc) >>> 0;
  const MIN = snpTcb(2, 0, 5, 0x44);
  await g.send(gov, 'setMinTcb', [SNP, MIN]);
  for (const [t, what] of [[snpTcb(3, 0, 5, 0x10), 'microcode'], [snpTcb(2, 1, 4, 0), 'snp'],
    [snpTcb(1, 9, 9, 0xff), 'bootloader']])
    await reverts(g.send(op, 'register', [await registration(enc3, op, { teeType: SNP, tcb: t })], ETH),
      'TCB below the minimum', 'SNP: a TCB lower in ' + what + ' at registration, whatever the other SVNs (the first two higher as numbers)');
  await g.send(op, 'register', [await registration(enc3, op, { teeType: SNP, tcb: snpTcb(2, 1, 5, 0x44) })], ETH);
  await g.send(v1, 'vote', [enc3, 2, true]);
  await g.send(v3, 'vote', [enc3, 2, true]);
  check(await g.call('isActive', [enc3]), 'SNP: an enclave meeting the minimum in every SVN is active');
  await g.send(gov, 'setMinTcb', [SNP, snpTcb(2, 0, 6, 0)]);
  check(!(await g.call('isActive', [enc3])),
    'SNP: a minimum raised in one SVN stops an enclave below it there, though its number is higher');
  await g.send(gov, 'setMinTcb', [SNP, MIN]);
  check(await g.call('isActive', [enc3]), 'SNP: active again under the old minimum');
  await g.send(gov, 'revoke', [enc3]);

  // left active for the command-line tests (tests/chain/test_chain_anvil.sh): the
  // reporter's account as an enclave of the operator
  await g.send(op, 'register', [await registration(reporter, op)], ETH);
  await g.send(v1, 'vote', [reporter, 1, true]);
  await g.send(v3, 'vote', [reporter, 1, true]);
  check(await g.call('isActive', [reporter]), 'the enclave left active');

  if (gasOut) fs.writeFileSync(gasOut, JSON.stringify(gas, null, 1));
  console.log('gas: ' + JSON.stringify(gas));
  if (failures) {
    console.error(failures + ' contract check(s) failed');
    process.exit(1);
  }
  console.log('contracts: all checks passed');
}

main().catch((e) => {
  console.error('FAIL: ' + (e.stack || e));
  process.exit(1);
});
