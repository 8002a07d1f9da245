// SPDX-License-Identifier: UNLICENSED
// The one deployed contract (docs/chain.md): the registry, Work Proofs and rewards, and
// key-release receipts at one address, which is the verifyingContract of every proof's
// EIP-712 domain.
pragma solidity ^0.8.24;

import "./WorkProofs.sol";
import "./KeyReleases.sol";

contract Glacier is WorkProofs, KeyReleases {
    constructor(Policy memory p) Registry(p) {}
}
