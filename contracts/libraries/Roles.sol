// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title Roles
/// @notice The role ids every gridledger contract is governed by, in one AccessManager.
/// @dev ADMIN (id 0, OpenZeppelin's ADMIN_ROLE) is held only by the governance multisig,
///      so every operation restricted to it needs M-of-N approval.
library Roles {
    uint64 internal constant ADMIN = 0;
    uint64 internal constant METER_OPERATOR = 1;
    uint64 internal constant GATEWAY = 2;
    uint64 internal constant GRID_OPERATOR = 3;
    uint64 internal constant MARKET_OPERATOR = 4;
    uint64 internal constant VERIFIER = 5;
    uint64 internal constant REGULATOR = 6;
    uint64 internal constant EMERGENCY = 7;
    /// Contracts that hold energy in escrow for traders (the EnergyMarket).
    uint64 internal constant MARKET_ESCROW = 8;
}
