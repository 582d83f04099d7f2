// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title IGridGuard
/// @notice What the market asks the grid before it settles: may energy be traded at this grid
///         node in this interval? A zone in emergency answers no.
/// @dev The market asks `anySettlementHalted` once per settlement and checks fill by fill only
///      while it is true, so normal operation costs one call per settlement, not one per fill.
interface IGridGuard {
    /// @notice Whether some settlement may be halted now (a zone in emergency, or the grid paused).
    function anySettlementHalted() external view returns (bool);

    /// @notice Whether `trader`'s fill at `gridNodeId` may settle for the interval starting
    ///         `intervalStart`: the node must be the trader's and its zone not halted.
    function settlementAllowed(address trader, uint64 gridNodeId, uint64 intervalStart) external view returns (bool);
}
