#!/usr/bin/env python3
"""Has anvil sign Work Proofs with eth_signTypedData_v4, as an independent implementation of
the proof's EIP-712 hashing (docs/proofs.md): anvil computes the typed-data digest itself
from the JSON types below and signs it with the key of the unlocked dev account named as the
proof's enclave_id. Reads proofs (one object or an array; any "signature" is ignored) and
writes them signed. Usage: anvil_sign.py RPC_URL IN.json OUT.json"""
import json
import sys
import urllib.request

KINDS = {"inference": 1, "training": 2, "app": 3}
FIELDS = [("enclaveId", "address", "enclave_id"), ("jobId", "bytes32", "job_id"),
          ("jobKind", "uint8", "job_kind"), ("modelCid", "bytes32", "model_cid"),
          ("inputCid", "bytes32", "input_cid"), ("outputCid", "bytes32", "output_cid"),
          ("units", "uint64", "units"), ("receiptHash", "bytes32", "receipt_hash"),
          ("startTime", "uint64", "start_time"), ("endTime", "uint64", "end_time"),
          ("seq", "uint64", "seq"), ("prevHash", "bytes32", "prev_hash"),
          ("evidenceHash", "bytes32", "evidence_hash"),
          ("gpuEvidenceHash", "bytes32", "gpu_evidence_hash")]


def rpc(url, method, params):
    req = urllib.request.Request(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                                                  "params": params}).encode(),
                                 {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        ans = json.load(r)
    if "error" in ans:
        sys.exit(f"anvil_sign: {method}: {ans['error']}")
    return ans["result"]


def sign(url, p):
    msg = {}
    for name, _, key in FIELDS:
        v = p[key]
        msg[name] = KINDS[v] if key == "job_kind" else v
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"},
                             {"name": "verifyingContract", "type": "address"}],
            "WorkProof": [{"name": n, "type": t} for n, t, _ in FIELDS],
        },
        "primaryType": "WorkProof",
        "domain": {"name": "Glacier Work Proof", "version": "1", "chainId": p["domain"]["chain_id"],
                   "verifyingContract": p["domain"]["contract"]},
        "message": msg,
    }
    p["signature"] = rpc(url, "eth_signTypedData_v4", [p["enclave_id"], typed])
    return p


def main():
    url, src, dst = sys.argv[1:4]
    data = json.load(open(src))
    out = [sign(url, p) for p in data] if isinstance(data, list) else sign(url, data)
    json.dump(out, open(dst, "w"), indent=2)


main()
