// The chain-side moves of tests/chain/test_verifiers_slow.sh that no gtee command makes, through
// anvil's unlocked accounts (tests/chain/abi.js): a test enclave (an anvil account, which
// signs its consent with eth_signTypedData_v4 as the contract tests do; its measurement,
// 0xabab..., accepted first by `gtee chain govern`) is registered with a stake and approved
// by two verifiers of its own;
// an enclave's record is printed as JSON; so are the Work Proofs the chain accepted (its
// ProofAccepted events, each with the transaction that carried it). The test enclave's evidence
// URL does not answer, so the verifiers under test wait (fetch tries) while its own verifiers
// decide the round.
// Usage: verifier_fixture.js RPC ARTEFACTS CONTRACT test-enclave ENCLAVE OPERATOR V1 V2 NODE_URL
//        verifier_fixture.js RPC ARTEFACTS CONTRACT enclave ENCLAVE
//        verifier_fixture.js RPC ARTEFACTS CONTRACT proofs ENCLAVE
'use strict';
const fs = require('fs');
const { Rpc, Contract, decode, keccak256 } = require('./abi.js');

const [url, artefacts, address, cmd, ...args] = process.argv.slice(2);
const rpc = new Rpc(url);
const ETH = 10n ** 18n;

async function consent(g, id, operator, evidenceHash) {
  const typed = {
    types: {
      EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'version', type: 'string' },
        { name: 'chainId', type: 'uint256' }, { name: 'verifyingContract', type: 'address' }],
      Consent: [{ name: 'enclaveId', type: 'address' }, { name: 'operator', type: 'address' },
        { name: 'evidenceHash', type: 'bytes32' }],
    },
    primaryType: 'Consent',
    domain: { name: 'Glacier Work Proof', version: '1', chainId: Number(BigInt(await rpc.call('eth_chainId', []))),
      verifyingContract: g.address },
    message: { enclaveId: id, operator, evidenceHash },
  };
  const sig = (await rpc.call('eth_signTypedData_v4', [id, typed])).slice(2);
  return { r: '0x' + sig.slice(0, 64), s: '0x' + sig.slice(64, 128), v: parseInt(sig.slice(128), 16) };
}

async function main() {
  const art = JSON.parse(fs.readFileSync(artefacts, 'utf8')).contracts.Glacier;
  const g = new Contract(rpc, art.abi, address);
  if (cmd === 'test-enclave') {
    const [id, op, v1, v2, nodeUrl] = args;
    const M = '0x' + 'ab'.repeat(32);
    const EH = '0x' + 'e1'.repeat(32);
    const block = await rpc.call('eth_getBlockByNumber', ['latest', false]);
    const r = { enclaveId: id, teeType: 1, measurement: M, tcb: 0, evidenceHash: EH,
      evidenceTime: Number(BigInt(block.timestamp)) - 1, evidenceUrl: 'http://127.0.0.1:1/evidence', nodeUrl,
      enclaveSig: await consent(g, id, op, EH) };
    await g.send(op, 'register', [r], ETH);
    for (const v of [v1, v2]) {
      await g.send(v, 'joinVerifiers', [], ETH);
      await g.send(v, 'vote', [id, 1, true]);
    }
    if (!(await g.call('isActive', [id]))) throw new Error('the test enclave is not active');
  } else if (cmd === 'enclave') {
    const e = await g.call('enclave', [args[0]]);
    console.log(JSON.stringify({ operator: e.operator, status: Number(e.status), slashed: e.slashed,
      stake: e.stake.toString(), lastSeq: Number(e.lastSeq), round: Number(e.round),
      approvedRound: Number(e.approvedRound), expires: Number(e.expires), evidenceTime: Number(e.evidenceTime),
      evidenceHash: e.evidenceHash, active: await g.call('isActive', [args[0]]) }));
  } else if (cmd === 'proofs') {
    // every ProofAccepted of the enclave since block 0: seq, units and the carrying transaction
    const topic = '0x' + keccak256('ProofAccepted(address,uint64,bytes32,bytes32,uint8,uint64,address)');
    const logs = await rpc.call('eth_getLogs', [{ address, fromBlock: '0x0', toBlock: 'latest',
      topics: [topic, '0x' + args[0].slice(2).toLowerCase().padStart(64, '0')] }]);
    console.log(JSON.stringify(logs.map((l) => {
      const [hash, jobId, jobKind, units, operator] =
        decode(['bytes32', 'bytes32', 'uint8', 'uint64', 'address'].map((type) => ({ type })), l.data);
      return { seq: Number(BigInt(l.topics[2])), tx: l.transactionHash, block: Number(BigInt(l.blockNumber)),
        hash, jobId, jobKind: Number(jobKind), units: Number(units), operator };
    })));
  } else {
    throw new Error('unknown command ' + cmd);
  }
}

main().catch((e) => { console.error('verifier_fixture: ' + e.message); process.exit(1); });
