// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {GridWorld} from "./base/GridWorld.sol";
import {GridManagement} from "../GridManagement.sol";
import {IGridManagement} from "../interfaces/IGridManagement.sol";

/// @notice Drives transfers (single and batched), loads, peaks, emergencies, capacity changes and
///         time through the grid, and records every transfer that landed in a halted zone.
contract GridHandler is GridWorld {
    uint256 public ghostReservedWhileHalted;
    uint256 public ghostOverCapacity;
    uint256[6] public ghostNodeLoadW;

    constructor() {
        _buildGrid();
    }

    function gridUnderTest() external view returns (GridManagement) {
        return grid;
    }

    function transfer(uint256 seed, uint64 amount) external {
        (uint256 from, uint256 to) = _nodes(seed);
        uint256[5] memory before = _reservations();
        vm.prank(marketOperator);
        try grid.requestEnergyTransfer(from, to, 1 + amount % 3_000) {} catch {}
        _checkGrowth(before);
    }

    function transferBatch(uint256 seed, uint64 a, uint64 b) external {
        IGridManagement.TransferRequest[] memory batch = new IGridManagement.TransferRequest[](2);
        (uint256 f0, uint256 t0) = _nodes(seed);
        (uint256 f1, uint256 t1) = _nodes(seed >> 16);
        batch[0] = IGridManagement.TransferRequest(uint64(f0), uint64(t0), a % 3_000);
        batch[1] = IGridManagement.TransferRequest(uint64(f1), uint64(t1), b % 3_000);
        uint256[5] memory before = _reservations();
        vm.prank(marketOperator);
        grid.requestEnergyTransfers(_interval(), batch);
        _checkGrowth(before);
    }

    function _reservations() internal view returns (uint256[5] memory reserved) {
        for (uint32 zone = 1; zone <= 4; ++zone) {
            reserved[zone] = grid.reservedWh(zone, _interval());
        }
    }

    /// @dev Every zone whose reservation grew must be within its capacity and not halted.
    function _checkGrowth(uint256[5] memory before) internal {
        for (uint32 zone = 1; zone <= 4; ++zone) {
            uint256 reserved = grid.reservedWh(zone, _interval());
            if (reserved == before[zone]) continue;
            if (reserved > grid.zoneOf(zone).capacityWh) ++ghostOverCapacity;
            if (_haltedNow(zone)) ++ghostReservedWhileHalted;
        }
    }

    function load(uint256 seed, uint64 watts) external {
        uint256 node = 1 + seed % 5;
        vm.prank(gridOperator);
        grid.updateLoadBalance(node, watts % 1e9);
        ghostNodeLoadW[node] = watts % 1e9;
    }

    function peak(uint256 seed, bool on) external {
        vm.prank(gridOperator);
        try grid.setPeak(uint32(1 + seed % 4), on) {} catch {}
    }

    function emergencyOn(uint256 seed) external {
        vm.prank(emergency);
        try grid.declareEmergency(uint32(1 + seed % 4)) {} catch {}
    }

    function emergencyOff(uint256 seed) external {
        try grid.endEmergency(uint32(1 + seed % 4)) {} catch {}
    }

    function capacity(uint256 seed, uint64 capacityWh) external {
        vm.prank(gridOperator);
        grid.setZoneCapacity(uint32(1 + seed % 4), capacityWh % 12_000);
    }

    function tick(uint16 seconds_) external {
        vm.warp(block.timestamp + 1 + seconds_ % 1_200);
    }

    function _nodes(uint256 seed) internal pure returns (uint256 from, uint256 to) {
        from = 1 + seed % 5;
        to = 1 + (seed >> 8) % 5;
    }

    function _haltedNow(uint32 zoneId) internal view returns (bool) {
        for (uint32 z = zoneId; z != 0; z = grid.zoneOf(z).parentZoneId) {
            if (grid.zoneOf(z).state == IGridManagement.ZoneState.Emergency) return true;
        }
        return false;
    }
}

contract GridInvariantsTest {
    GridHandler internal handler;

    function setUp() public {
        handler = new GridHandler();
    }

    /// @dev Read by forge's invariant runner: only the handler is called.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev Capacity can be lowered below what an interval already holds (the grid changed);
    ///      what counts is that no reservation ever takes a zone beyond its capacity of the moment.
    function invariant_reservationsNeverExceedCapacity() public view {
        require(handler.ghostOverCapacity() == 0, "over capacity");
    }

    function invariant_noReservationInAHaltedZone() public view {
        require(handler.ghostReservedWhileHalted() == 0, "reserved while halted");
    }

    function invariant_zoneLoadIsTheSumOfItsSubtree() public view {
        GridManagement grid = handler.gridUnderTest();
        uint256 lateral = handler.ghostNodeLoadW(5);
        uint256 feederA = handler.ghostNodeLoadW(2) + handler.ghostNodeLoadW(3) + lateral;
        uint256 feederB = handler.ghostNodeLoadW(4);
        require(grid.zoneOf(4).loadW == lateral, "lateral load");
        require(grid.zoneOf(2).loadW == feederA, "feeder A load");
        require(grid.zoneOf(3).loadW == feederB, "feeder B load");
        require(grid.zoneOf(1).loadW == handler.ghostNodeLoadW(1) + feederA + feederB, "substation load");
    }
}
