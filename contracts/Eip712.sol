// SPDX-License-Identifier: UNLICENSED
// EIP-712 typed-data hashing and signature recovery for the records enclaves sign: the
// domain separator of this deployment and a canonical-signature ecrecover (EIP-2: low s,
// v 27 or 28). The type strings match src/proof/eip712.c and docs/proofs.md.
pragma solidity ^0.8.24;

abstract contract Eip712 {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant NAME_HASH = keccak256("Glacier Work Proof");
    bytes32 internal constant VERSION_HASH = keccak256("1");
    // secp256k1's group order n / 2
    uint256 internal constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    uint256 private immutable cachedChainId;
    bytes32 private immutable cachedSeparator;

    struct Sig {
        bytes32 r;
        bytes32 s;
        uint8 v;
    }

    constructor() {
        cachedChainId = block.chainid;
        cachedSeparator = separator();
    }

    function separator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    /// The domain separator; recomputed if the chain id changed (a fork) since deployment.
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == cachedChainId ? cachedSeparator : separator();
    }

    function typedDigest(bytes32 structHash) internal view returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    /// The signer of digest, or a revert naming why the signature is unacceptable.
    function recover(bytes32 digest, Sig calldata sig) internal pure returns (address signer) {
        require(sig.v == 27 || sig.v == 28, "signature: v is not 27 or 28");
        require(uint256(sig.s) <= HALF_N, "signature: s above n/2");
        signer = ecrecover(digest, sig.v, sig.r, sig.s);
        require(signer != address(0), "signature: does not recover");
    }
}
