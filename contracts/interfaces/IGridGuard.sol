// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title IGridGuard
/// @notice What the market asks the grid before it settles: may energy be traded at this grid
///         node in this interval (a zone in emergency answers no), and what grid fee applies
///         there (a zone in peak charges the peak fee).
/// @dev The market asks `gridConditions` once per settlement and asks fill by fill only while
///      some zone is halted or in peak, so normal operation costs one call per settlement.
interface IGridGuard {
    /// @notice Whether some settlement may be halted now (a zone in emergency, or the grid
    ///         paused) and whether some zone is in peak.
    function gridConditions() external view returns (bool anyHalted, bool anyPeak);

    /// @notice Whether `trader`'s fill at `gridNodeId` may settle for the interval starting
    ///         `intervalStart`: the node must be the trader's and its zone not halted. Zone states
    ///         are those of now; `intervalStart` lets a guard keep halts per interval.
    function settlementAllowed(address trader, uint64 gridNodeId, uint64 intervalStart) external view returns (bool);

    /// @notice The peak grid fee per kWh for energy `trader` buys at `gridNodeId` if its zone is in
    ///         peak, or if the node is not the trader's; 0 otherwise (the market's own fee applies).
    function peakFeePerKWh(address trader, uint64 gridNodeId) external view returns (uint256);
}
