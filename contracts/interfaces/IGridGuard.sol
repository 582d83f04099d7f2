// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title IGridGuard
/// @notice What the market asks the grid before it settles a fill: may energy be traded at this
///         grid node in this interval? A zone in emergency answers no.
interface IGridGuard {
    /// @notice Whether fills at `gridNodeId` may settle for the interval starting `intervalStart`.
    function settlementAllowed(uint64 gridNodeId, uint64 intervalStart) external view returns (bool);
}
