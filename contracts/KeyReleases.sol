// SPDX-License-Identifier: UNLICENSED
// Key-release receipts (docs/chain.md "Key releases"): a node records which enclave received
// which blob's key under which grant, with the enclave's signature over the receipt so that
// an operator cannot invent uses; each receipt counts once, and a model provider reads the
// uses of its blob.
pragma solidity ^0.8.24;

import "./Registry.sol";

abstract contract KeyReleases is Registry {
    struct KeyRelease {
        address enclaveId;
        bytes32 blobCid;   // the content id of the blob whose key was released
        bytes32 grantId;   // the grant under which it was
        uint64 time;
    }

    bytes32 internal constant KEYRELEASE_TYPEHASH =
        keccak256("KeyRelease(address enclaveId,bytes32 blobCid,bytes32 grantId,uint64 time)");

    mapping(bytes32 => uint256) public blobUses;
    mapping(bytes32 => bool) public receiptRecorded;

    event KeyReleased(address indexed enclaveId, bytes32 indexed blobCid, bytes32 indexed grantId, uint64 time,
                      uint256 uses);

    function recordKeyRelease(KeyRelease calldata k, Sig calldata sig) external {
        bytes32 h = typedDigest(keccak256(abi.encode(KEYRELEASE_TYPEHASH, k)));
        require(recover(h, sig) == k.enclaveId, "key release: not signed by the enclave");
        require(enclaves[k.enclaveId].operator == msg.sender, "key release: not the enclave's operator");
        require(isActive(k.enclaveId), "key release: enclave not active");
        require(!receiptRecorded[h], "key release: receipt already recorded");
        receiptRecorded[h] = true;
        uint256 uses = ++blobUses[k.blobCid];
        emit KeyReleased(k.enclaveId, k.blobCid, k.grantId, k.time, uses);
    }
}
