// SPDX-License-Identifier: UNLICENSED
// The registry of enclaves (docs/chain.md "Registry"): an operator registers an Enclave ID
// with its TEE type, measurement, TCB, evidence (hash, time, where to fetch it), node URL and
// a stake, with the enclave's own signature consenting to that operator; staked verifiers
// approve or reject each registration round and a quorum decides; a registration lasts one
// epoch and is renewed with fresh evidence; governance keeps the accepted measurements, the
// minimum TCB per TEE type, the evidence freshness window and the stakes; revocation.
pragma solidity ^0.8.24;

import "./Eip712.sol";

abstract contract Registry is Eip712 {
    // TEE types: the values of include/gtee/tee_kind.h
    uint8 internal constant TEE_SIM = 1;
    uint8 internal constant TEE_SNP = 4;

    enum Status { None, Pending, Active, Rejected, Revoked }

    struct Enclave {
        address operator;
        uint8 teeType;
        Status status;
        bool slashed;
        uint32 tcb;
        uint64 expires;       // the approved registration's end (unix seconds)
        uint32 round;         // bumped by every registration and renewal
        uint32 approvedRound; // the last round a quorum approved
        uint16 approvals;
        uint16 rejections;
        uint64 lastSeq;       // the last accepted Work Proof's sequence number and hash
        bytes32 lastHash;
        bytes32 measurement;
        bytes32 evidenceHash;
        uint64 evidenceTime;
        uint64 closedAt;      // when it was rejected or revoked
        uint256 stake;
        string evidenceUrl;
        string nodeUrl;
    }

    /// What an operator submits to register or renew.
    struct Registration {
        address enclaveId;
        uint8 teeType;
        bytes32 measurement;
        uint32 tcb;            // Intel: the TCB evaluation data number; AMD: the reported TCB packed (tcbMeets)
        bytes32 evidenceHash;
        uint64 evidenceTime;   // when the evidence (and its collateral) was produced
        string evidenceUrl;
        string nodeUrl;
        Sig enclaveSig;        // the Enclave key over Consent(enclaveId, operator, evidenceHash)
    }

    struct Policy {
        uint64 freshness;       // evidence must be at most this old at (re)registration
        uint64 epoch;           // how long an approved registration lasts
        uint16 quorum;          // verifier votes that decide a round
        bool allowSimulated;    // accept TEE type sim (never on a public chain)
        uint256 minStake;
        uint256 minVerifierStake;
        uint256 rewardPerUnit;  // wei paid per claimed reward unit
    }

    bytes32 internal constant CONSENT_TYPEHASH =
        keccak256("Consent(address enclaveId,address operator,bytes32 evidenceHash)");

    address public governor;
    Policy public policy;
    mapping(bytes32 => bool) public acceptedMeasurement;
    mapping(uint8 => uint32) public minTcb;
    mapping(address => Enclave) internal enclaves;
    mapping(address => mapping(uint32 => mapping(address => bool))) internal voted;
    mapping(address => uint256) public verifierStake;

    event PolicySet(Policy policy);
    event MeasurementSet(bytes32 indexed measurement, bool accepted);
    event MinTcbSet(uint8 indexed teeType, uint32 minTcb);
    event GovernorChanged(address indexed governor);
    event VerifierJoined(address indexed verifier, uint256 stake);
    event VerifierLeft(address indexed verifier, uint256 stake);
    event Registered(address indexed enclaveId, address indexed operator, uint32 round, uint8 teeType,
                     bytes32 measurement, uint32 tcb, bytes32 evidenceHash, uint64 evidenceTime,
                     string evidenceUrl, string nodeUrl);
    event Voted(address indexed enclaveId, address indexed verifier, uint32 round, bool approve);
    event Activated(address indexed enclaveId, uint32 round, uint64 expires);
    event Rejected(address indexed enclaveId, uint32 round);
    event Revoked(address indexed enclaveId, address by);
    event StakeWithdrawn(address indexed enclaveId, address indexed operator, uint256 amount);

    /// The block this contract was deployed in: where a reader of its events starts, instead
    /// of the chain's first block (on a public chain, millions of blocks before it).
    uint64 public immutable deployedAt;

    modifier onlyGovernor() {
        require(msg.sender == governor, "governance: not the governor");
        _;
    }

    constructor(Policy memory p) {
        deployedAt = uint64(block.number);
        governor = msg.sender;
        policy = p;
        emit GovernorChanged(msg.sender);
        emit PolicySet(p);
    }

    // ---- governance ----
    function setPolicy(Policy calldata p) external onlyGovernor {
        require(p.quorum >= 1, "governance: quorum must be at least 1");
        policy = p;
        emit PolicySet(p);
    }

    function setMeasurement(bytes32 m, bool accepted) external onlyGovernor {
        acceptedMeasurement[m] = accepted;
        emit MeasurementSet(m, accepted);
    }

    function setMinTcb(uint8 teeType, uint32 tcb) external onlyGovernor {
        minTcb[teeType] = tcb;
        emit MinTcbSet(teeType, tcb);
    }

    function setGovernor(address g) external onlyGovernor {
        require(g != address(0), "governance: zero governor");
        governor = g;
        emit GovernorChanged(g);
    }

    // ---- verifiers ----
    function joinVerifiers() external payable {
        require(verifierStake[msg.sender] + msg.value >= policy.minVerifierStake && msg.value > 0,
                "verifier: stake below the minimum");
        verifierStake[msg.sender] += msg.value;
        emit VerifierJoined(msg.sender, verifierStake[msg.sender]);
    }

    function leaveVerifiers() external {
        uint256 s = verifierStake[msg.sender];
        require(s > 0, "verifier: not a verifier");
        verifierStake[msg.sender] = 0;
        emit VerifierLeft(msg.sender, s);
        (bool ok,) = msg.sender.call{value: s}("");
        require(ok, "verifier: stake transfer failed");
    }

    // ---- registration ----
    function checkEvidence(Registration calldata r) internal view {
        require(r.teeType >= TEE_SIM && r.teeType <= TEE_SNP, "registration: unknown TEE type");
        require(r.teeType != TEE_SIM || policy.allowSimulated, "registration: simulated TEE not allowed by policy");
        require(acceptedMeasurement[r.measurement], "registration: measurement not accepted");
        require(tcbMeets(r.teeType, r.tcb, minTcb[r.teeType]), "registration: TCB below the minimum");
        require(r.evidenceTime <= block.timestamp, "registration: evidence from the future");
        require(block.timestamp - r.evidenceTime <= policy.freshness, "registration: evidence older than the freshness window");
        bytes32 consent = typedDigest(keccak256(abi.encode(CONSENT_TYPEHASH, r.enclaveId, msg.sender, r.evidenceHash)));
        require(recover(consent, r.enclaveSig) == r.enclaveId, "registration: the enclave did not sign this operator's consent");
    }

    function record(Enclave storage e, Registration calldata r) private {
        e.teeType = r.teeType;
        e.measurement = r.measurement;
        e.tcb = r.tcb;
        e.evidenceHash = r.evidenceHash;
        e.evidenceTime = r.evidenceTime;
        e.evidenceUrl = r.evidenceUrl;
        e.nodeUrl = r.nodeUrl;
        e.round += 1;
        e.approvals = 0;
        e.rejections = 0;
        emit Registered(r.enclaveId, msg.sender, e.round, r.teeType, r.measurement, r.tcb, r.evidenceHash,
                        r.evidenceTime, r.evidenceUrl, r.nodeUrl);
    }

    /// A new registration (or one again after a rejection, by the same operator).
    function register(Registration calldata r) external payable {
        Enclave storage e = enclaves[r.enclaveId];
        require(e.status == Status.None || (e.status == Status.Rejected && e.operator == msg.sender),
                "registration: enclave already registered");
        checkEvidence(r);
        e.stake += msg.value;
        require(e.stake >= policy.minStake, "registration: stake below the minimum");
        e.operator = msg.sender;
        e.status = Status.Pending;
        record(e, r);
    }

    /// Fresh evidence for the next epoch; the enclave stays active until its current
    /// registration expires, and a quorum approving the new round extends it.
    function renew(Registration calldata r) external {
        Enclave storage e = enclaves[r.enclaveId];
        require(e.operator == msg.sender, "registration: not the enclave's operator");
        require(e.status == Status.Active || e.status == Status.Pending, "registration: not active or pending");
        checkEvidence(r);
        record(e, r);
    }

    function vote(address enclaveId, uint32 round, bool approve) external {
        Enclave storage e = enclaves[enclaveId];
        require(verifierStake[msg.sender] >= policy.minVerifierStake && verifierStake[msg.sender] > 0,
                "vote: not a staked verifier");
        require(e.status == Status.Pending || e.status == Status.Active, "vote: nothing to vote on");
        require(round == e.round && round > e.approvedRound, "vote: not the open round");
        require(!voted[enclaveId][round][msg.sender], "vote: already voted this round");
        voted[enclaveId][round][msg.sender] = true;
        emit Voted(enclaveId, msg.sender, round, approve);
        if (approve) {
            if (++e.approvals >= policy.quorum) {
                e.status = Status.Active;
                e.approvedRound = round;
                e.expires = uint64(block.timestamp) + policy.epoch;
                emit Activated(enclaveId, round, e.expires);
            }
        } else if (++e.rejections >= policy.quorum) {
            e.status = Status.Rejected;
            e.closedAt = uint64(block.timestamp);
            emit Rejected(enclaveId, round);
        }
    }

    /// The governor or the operator ends a registration for good.
    function revoke(address enclaveId) external {
        Enclave storage e = enclaves[enclaveId];
        require(msg.sender == governor || msg.sender == e.operator, "revoke: not the governor or the operator");
        require(e.status != Status.None && e.status != Status.Revoked, "revoke: not registered");
        e.status = Status.Revoked;
        e.closedAt = uint64(block.timestamp);
        emit Revoked(enclaveId, msg.sender);
    }

    /// The stake of a rejected or revoked (not slashed) enclave goes back to its operator, one
    /// epoch after it closed: time for anyone to report an equivocation it signed before.
    function withdrawStake(address enclaveId) external {
        Enclave storage e = enclaves[enclaveId];
        require(e.operator == msg.sender, "stake: not the enclave's operator");
        require(e.status == Status.Rejected || e.status == Status.Revoked, "stake: enclave still registered");
        require(block.timestamp >= e.closedAt + policy.epoch, "stake: locked for one epoch after closing");
        uint256 s = e.stake;
        e.stake = 0;
        emit StakeWithdrawn(enclaveId, msg.sender, s);
        (bool ok,) = msg.sender.call{value: s}("");
        require(ok, "stake: transfer failed");
    }

    // ---- reading ----
    /// Whether the enclave may earn now: approved, not expired, its measurement still
    /// accepted, its TCB not below today's minimum, simulation allowed if simulated.
    function isActive(address enclaveId) public view returns (bool) {
        Enclave storage e = enclaves[enclaveId];
        // tcbMeets written out: the Intel types' path costs one comparison more than a plain >=
        return e.status == Status.Active && block.timestamp < e.expires && acceptedMeasurement[e.measurement] &&
               (e.teeType == TEE_SNP ? snpMeets(e.tcb, minTcb[TEE_SNP]) : e.tcb >= minTcb[e.teeType]) &&
               (e.teeType != TEE_SIM || policy.allowSimulated);
    }

    /// The TCB rule (docs/chain.md "The TCB rule"): an Intel figure (the TCB evaluation data
    /// number, the simulated TEE's alike) orders as a number; an SEV-SNP figure packs four SVNs
    /// (bootloader << 24 | tee << 16 | snp << 8 | microcode) that AMD orders only component by
    /// component, so each byte must meet the minimum's. Pure: no storage read is added.
    function tcbMeets(uint8 teeType, uint32 tcb, uint32 min) internal pure returns (bool) {
        return teeType == TEE_SNP ? snpMeets(tcb, min) : tcb >= min;
    }

    function snpMeets(uint32 tcb, uint32 min) internal pure returns (bool) {
        return uint8(tcb >> 24) >= uint8(min >> 24) && uint8(tcb >> 16) >= uint8(min >> 16) &&
               uint8(tcb >> 8) >= uint8(min >> 8) && uint8(tcb) >= uint8(min);
    }

    function enclave(address enclaveId) external view returns (Enclave memory) {
        return enclaves[enclaveId];
    }
}
