// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";

/// @title GridAccessManager
/// @notice The one role system of gridledger: OpenZeppelin's AccessManager, unchanged.
///         Its ADMIN role is handed to the GovernanceMultisig by the deploy routine.
contract GridAccessManager is AccessManager {
    /// @param initialAdmin Holds ADMIN while the deploy routine wires roles, then renounces it.
    constructor(address initialAdmin) AccessManager(initialAdmin) {}
}
