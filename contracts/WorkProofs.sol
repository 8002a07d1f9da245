// SPDX-License-Identifier: UNLICENSED
// Work Proofs and rewards (docs/chain.md "Proofs and rewards"): proofs submitted one by one
// or in batches; for each, the signer recovered from the EIP-712 digest (docs/proofs.md)
// must be the Enclave ID, the enclave active, the sequence number one past its last and the
// previous hash its last proof's; the units of work are credited to the operator, who
// claims them. Two different proofs signed with one sequence number by one enclave, brought
// by anyone, slash its operator's stake and reward the reporter.
pragma solidity ^0.8.24;

import "./Registry.sol";

abstract contract WorkProofs is Registry {
    /// The fields of src/proof/eip712.c's WorkProof, in its order (all static, so
    /// abi.encode(WORKPROOF_TYPEHASH, p) is EIP-712's encodeData).
    struct WorkProof {
        address enclaveId;
        bytes32 jobId;
        uint8 jobKind;
        bytes32 modelCid;
        bytes32 inputCid;
        bytes32 outputCid;
        uint64 units;
        bytes32 receiptHash;
        uint64 startTime;
        uint64 endTime;
        uint64 seq;
        bytes32 prevHash;
        bytes32 evidenceHash;
        bytes32 gpuEvidenceHash;
    }

    struct SignedProof {
        WorkProof proof;
        Sig sig;
    }

    bytes32 internal constant WORKPROOF_TYPEHASH = keccak256(
        "WorkProof(address enclaveId,bytes32 jobId,uint8 jobKind,bytes32 modelCid,bytes32 inputCid,"
        "bytes32 outputCid,uint64 units,bytes32 receiptHash,uint64 startTime,uint64 endTime,uint64 seq,"
        "bytes32 prevHash,bytes32 evidenceHash,bytes32 gpuEvidenceHash)");

    mapping(address => uint256) public rewardUnits; // operator => units credited, not yet claimed
    uint256 public rewardPool;                      // wei set aside for claims

    event ProofAccepted(address indexed enclaveId, uint64 indexed seq, bytes32 hash, bytes32 jobId, uint8 jobKind,
                        uint64 units, address operator);
    event RewardsFunded(address indexed from, uint256 amount);
    event RewardsClaimed(address indexed operator, uint256 units, uint256 amount);
    event Slashed(address indexed enclaveId, address indexed operator, address indexed reporter, uint64 seq,
                  uint256 toReporter, uint256 toPool);

    /// The proof's EIP-712 digest: its hash in the enclave's chain.
    function proofHash(WorkProof calldata p) public view returns (bytes32) {
        return typedDigest(keccak256(abi.encode(WORKPROOF_TYPEHASH, p)));
    }

    /// The enclave's last accepted proof: the sealed counter an enclave checks at start.
    function lastProof(address enclaveId) external view returns (uint64 seq, bytes32 hash) {
        Enclave storage e = enclaves[enclaveId];
        return (e.lastSeq, e.lastHash);
    }

    function accept(SignedProof calldata sp) private returns (address operator, uint64 units) {
        WorkProof calldata p = sp.proof;
        bytes32 h = proofHash(p);
        require(recover(h, sp.sig) == p.enclaveId, "proof: not signed by its Enclave ID");
        require(isActive(p.enclaveId), "proof: enclave not active");
        Enclave storage e = enclaves[p.enclaveId];
        require(p.seq == e.lastSeq + 1, "proof: seq is not one past the enclave's last");
        require(p.prevHash == e.lastHash, "proof: prevHash is not the enclave's last proof");
        require(p.endTime >= p.startTime, "proof: endTime before startTime");
        e.lastSeq = p.seq;
        e.lastHash = h;
        operator = e.operator;
        units = p.units;
        emit ProofAccepted(p.enclaveId, p.seq, h, p.jobId, p.jobKind, p.units, operator);
    }

    function submitProof(SignedProof calldata sp) external {
        (address op, uint64 units) = accept(sp);
        rewardUnits[op] += units;
    }

    /// A batch, in order; all or nothing. Credits are summed per run of one operator.
    function submitProofs(SignedProof[] calldata sps) external {
        address pending;
        uint256 sum;
        for (uint256 i = 0; i < sps.length; i++) {
            (address op, uint64 units) = accept(sps[i]);
            if (op != pending) {
                if (sum != 0)
                    rewardUnits[pending] += sum;
                pending = op;
                sum = 0;
            }
            sum += units;
        }
        if (sum != 0)
            rewardUnits[pending] += sum;
    }

    function fundRewards() external payable {
        rewardPool += msg.value;
        emit RewardsFunded(msg.sender, msg.value);
    }

    function claimRewards() external {
        uint256 units = rewardUnits[msg.sender];
        require(units > 0, "rewards: nothing to claim");
        uint256 amount = units * policy.rewardPerUnit;
        require(amount <= rewardPool, "rewards: the reward pool cannot pay this claim");
        rewardUnits[msg.sender] = 0;
        rewardPool -= amount;
        emit RewardsClaimed(msg.sender, units, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "rewards: transfer failed");
    }

    /// Two different proofs, one enclave, one sequence number: the operator's stake is
    /// slashed, half to the reporter and half to the reward pool, and the enclave revoked.
    function reportEquivocation(SignedProof calldata a, SignedProof calldata b) external {
        address id = a.proof.enclaveId;
        require(b.proof.enclaveId == id && a.proof.seq == b.proof.seq, "equivocation: not one enclave and one seq");
        bytes32 ha = proofHash(a.proof);
        bytes32 hb = proofHash(b.proof);
        require(ha != hb, "equivocation: the same proof twice");
        require(recover(ha, a.sig) == id && recover(hb, b.sig) == id, "equivocation: not both signed by the enclave");
        Enclave storage e = enclaves[id];
        require(e.status != Status.None, "equivocation: enclave not registered");
        require(!e.slashed, "equivocation: already slashed");
        e.slashed = true;
        if (e.status != Status.Revoked) {
            e.status = Status.Revoked;
            e.closedAt = uint64(block.timestamp);
            emit Revoked(id, msg.sender);
        }
        uint256 s = e.stake;
        uint256 toReporter = s / 2;
        e.stake = 0;
        rewardPool += s - toReporter;
        emit Slashed(id, e.operator, msg.sender, a.proof.seq, toReporter, s - toReporter);
        (bool ok,) = msg.sender.call{value: toReporter}("");
        require(ok, "equivocation: reporter transfer failed");
    }
}
