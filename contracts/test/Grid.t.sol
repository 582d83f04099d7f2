// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {GridWorld} from "./base/GridWorld.sol";
import {MarketWorld} from "./base/MarketWorld.sol";
import {GridManagement} from "../GridManagement.sol";
import {IGridManagement} from "../interfaces/IGridManagement.sol";
import {IEnergyMarket} from "../interfaces/IEnergyMarket.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Roles} from "../libraries/Roles.sol";

contract GridManagementTest is GridWorld {
    function setUp() public {
        _buildGrid();
    }

    function _transfer(uint256 fromNode, uint256 toNode, uint256 energyWh) internal {
        vm.prank(marketOperator);
        grid.requestEnergyTransfer(fromNode, toNode, energyWh);
    }

    function _batch(IGridManagement.TransferRequest memory t) internal returns (uint256 reserved) {
        IGridManagement.TransferRequest[] memory batch = new IGridManagement.TransferRequest[](1);
        batch[0] = t;
        vm.prank(marketOperator);
        reserved = grid.requestEnergyTransfers(_interval(), batch);
    }

    // ------------------------------------------------------------ nodes and zones
    function test_registerNode_idsInOrderWithType() public view {
        _assertEq(grid.nodeCount(), 5, "five nodes");
        _assertEq(grid.nodeIdOf(address(0xB1)), CONSUMER_B, "id of consumer B");
        IGridManagement.GridStatus memory status = grid.getGridStatus(PROSUMER_LATERAL);
        require(status.node == address(0xC1), "account");
        require(status.nodeType == IGridManagement.NodeType.Prosumer, "type");
        _assertEq(status.zoneId, LATERAL, "zone");
        _assertEq(status.meterDeviceId, 105, "meter device linked");
    }

    function test_registerNode_twice_reverts() public {
        vm.prank(gridOperator);
        vm.expectRevert(
            abi.encodeWithSelector(IGridManagement.NodeAlreadyRegistered.selector, address(0xA1), PROSUMER_A)
        );
        grid.registerNode(address(0xA1), IGridManagement.NodeType.Consumer);
    }

    function test_registerNode_zeroAddress_reverts() public {
        vm.prank(gridOperator);
        vm.expectRevert(IGridManagement.InvalidNodeAddress.selector);
        grid.registerNode(address(0), IGridManagement.NodeType.Consumer);
    }

    function test_registerNode_withoutRole_reverts() public {
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, address(0xBAD)));
        grid.registerNode(address(0xD1), IGridManagement.NodeType.Consumer);
    }

    function test_setConnectionCapacity_recordsCapacityOfNode() public {
        vm.expectEmit(true, false, false, true, address(grid));
        emit IGridManagement.ConnectionCapacitySet(PROSUMER_A, 30_000);
        vm.prank(gridOperator);
        grid.setConnectionCapacity(PROSUMER_A, 30_000);
        _assertEq(grid.connectionCapacityW(PROSUMER_A), 30_000, "recorded");
        _assertEq(grid.connectionCapacityW(CONSUMER_B), 0, "other nodes have none");
    }

    function test_setConnectionCapacity_zeroWithdrawsIt() public {
        vm.startPrank(gridOperator);
        grid.setConnectionCapacity(PROSUMER_A, 30_000);
        grid.setConnectionCapacity(PROSUMER_A, 0);
        vm.stopPrank();
        _assertEq(grid.connectionCapacityW(PROSUMER_A), 0, "withdrawn");
    }

    function test_setConnectionCapacity_unknownNode_reverts() public {
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.UnknownNode.selector, uint256(99)));
        grid.setConnectionCapacity(99, 30_000);
    }

    function test_setConnectionCapacity_withoutRole_reverts() public {
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, address(0xBAD)));
        grid.setConnectionCapacity(PROSUMER_A, type(uint32).max);
    }

    function test_connectionCapacityW_unknownNodeIsZero() public view {
        _assertEq(grid.connectionCapacityW(99), 0, "unknown node has no capacity");
    }

    function test_createZone_existing_reverts() public {
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.ZoneAlreadyExists.selector, FEEDER_A));
        grid.createZone(FEEDER_A, SUBSTATION, 1);
    }

    function test_createZone_unknownParentOrZeroId_reverts() public {
        vm.startPrank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.InvalidZone.selector, uint32(9), uint32(8)));
        grid.createZone(9, 8, 1);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.InvalidZone.selector, uint32(0), uint32(1)));
        grid.createZone(0, 1, 1);
        vm.stopPrank();
    }

    function test_createZone_beyondMaxDepth_reverts() public {
        vm.startPrank(gridOperator);
        uint32 parent = LATERAL; // depth 3
        for (uint32 z = 10; z < 15; ++z) {
            grid.createZone(z, parent, 1);
            parent = z;
        }
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.InvalidZone.selector, uint32(15), parent));
        grid.createZone(15, parent, 1);
        vm.stopPrank();
    }

    function test_assignNode_unknownNodeOrZone_reverts() public {
        vm.startPrank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.UnknownNode.selector, uint256(99)));
        grid.assignNode(99, FEEDER_A, 0);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.UnknownZone.selector, uint32(77)));
        grid.assignNode(CONSUMER_A, 77, 0);
        vm.stopPrank();
    }

    function test_assignNode_movesMeasuredLoadToTheNewZone() public {
        vm.startPrank(gridOperator);
        grid.updateLoadBalance(CONSUMER_A, 3_000);
        grid.assignNode(CONSUMER_A, FEEDER_B, 103);
        vm.stopPrank();
        _assertEq(grid.zoneOf(FEEDER_A).loadW, 0, "left feeder A");
        _assertEq(grid.zoneOf(FEEDER_B).loadW, 3_000, "arrived in feeder B");
        _assertEq(grid.zoneOf(SUBSTATION).loadW, 3_000, "substation unchanged");
    }

    function test_setZoneCapacity_unknownZone_reverts() public {
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.UnknownZone.selector, uint32(42)));
        grid.setZoneCapacity(42, 1);
    }

    function test_zoneOf_unknown_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.UnknownZone.selector, uint32(42)));
        grid.zoneOf(42);
    }

    function test_getGridStatus_unknownNode_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.UnknownNode.selector, uint256(42)));
        grid.getGridStatus(42);
    }

    // ------------------------------------------------------------ load balance
    function test_updateLoadBalance_zoneLoadIsTheSubtreeSum() public {
        vm.startPrank(gridOperator);
        grid.updateLoadBalance(PROSUMER_LATERAL, 1_000);
        grid.updateLoadBalance(CONSUMER_A, 2_500);
        grid.updateLoadBalance(CONSUMER_B, 4_000);
        grid.updateLoadBalance(CONSUMER_A, 500);
        vm.stopPrank();
        _assertEq(grid.zoneOf(LATERAL).loadW, 1_000, "lateral");
        _assertEq(grid.zoneOf(FEEDER_A).loadW, 1_500, "feeder A includes its lateral");
        _assertEq(grid.zoneOf(FEEDER_B).loadW, 4_000, "feeder B");
        _assertEq(grid.zoneOf(SUBSTATION).loadW, 5_500, "substation: everything");
        _assertEq(grid.getGridStatus(CONSUMER_A).loadW, 500, "node load");
    }

    function test_updateLoadBalance_outOfRange_reverts() public {
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.LoadOutOfRange.selector, uint256(1) << 64));
        grid.updateLoadBalance(CONSUMER_A, uint256(1) << 64);
    }

    function test_updateLoadBalance_unassignedNode_reverts() public {
        vm.startPrank(gridOperator);
        grid.registerNode(address(0xD1), IGridManagement.NodeType.Storage);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.NodeNotAssigned.selector, uint256(6)));
        grid.updateLoadBalance(6, 1);
        vm.stopPrank();
    }

    function test_updateLoadBalance_unknownNode_reverts() public {
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.UnknownNode.selector, uint256(50)));
        grid.updateLoadBalance(50, 1);
    }

    // ------------------------------------------------------------ transfers
    function test_requestEnergyTransfer_reservesOnEveryZoneOfThePath() public {
        _transfer(PROSUMER_LATERAL, CONSUMER_B, 1_500);
        uint64 interval = _interval();
        _assertEq(grid.reservedWh(LATERAL, interval), 1_500, "lateral");
        _assertEq(grid.reservedWh(FEEDER_A, interval), 1_500, "feeder A");
        _assertEq(grid.reservedWh(FEEDER_B, interval), 1_500, "feeder B");
        _assertEq(grid.reservedWh(SUBSTATION, interval), 0, "busbar, not the transformer");
    }

    function test_requestEnergyTransfer_toTheTransformerUsesIt() public {
        _transfer(PROSUMER_A, TRANSFORMER_NODE, 1_000);
        _assertEq(grid.reservedWh(FEEDER_A, _interval()), 1_000, "feeder");
        _assertEq(grid.reservedWh(SUBSTATION, _interval()), 1_000, "transformer");
    }

    function test_requestEnergyTransfer_withinOneZoneUsesOnlyIt() public {
        _transfer(PROSUMER_A, CONSUMER_A, 700);
        _assertEq(grid.reservedWh(FEEDER_A, _interval()), 700, "feeder");
        _assertEq(grid.reservedWh(SUBSTATION, _interval()), 0, "substation");
        _assertEq(grid.getGridStatus(CONSUMER_A).metrics.transferredWh, 700, "metric");
    }

    function test_requestEnergyTransfer_reservationsAccumulateUpToCapacity() public {
        _transfer(PROSUMER_LATERAL, CONSUMER_A, 1_200);
        _transfer(PROSUMER_LATERAL, CONSUMER_A, 800);
        vm.prank(marketOperator);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGridManagement.ZoneCapacityExceeded.selector, LATERAL, uint256(2_000), uint256(1), uint256(LATERAL_WH)
            )
        );
        grid.requestEnergyTransfer(PROSUMER_LATERAL, CONSUMER_A, 1);
        _assertEq(grid.reservedWh(LATERAL, _interval()), 2_000, "full, nothing more");
    }

    function test_requestEnergyTransfer_nextIntervalStartsEmpty() public {
        _transfer(PROSUMER_LATERAL, CONSUMER_A, 2_000);
        vm.warp(block.timestamp + 900);
        _transfer(PROSUMER_LATERAL, CONSUMER_A, 2_000);
        _assertEq(grid.reservedWh(LATERAL, _interval()), 2_000, "new interval");
    }

    function test_requestEnergyTransfer_zeroSameOrUnknown_reverts() public {
        vm.startPrank(marketOperator);
        vm.expectRevert(IGridManagement.ZeroTransfer.selector);
        grid.requestEnergyTransfer(PROSUMER_A, CONSUMER_A, 0);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.SameNode.selector, PROSUMER_A));
        grid.requestEnergyTransfer(PROSUMER_A, PROSUMER_A, 1);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.UnknownNode.selector, uint256(77)));
        grid.requestEnergyTransfer(PROSUMER_A, 77, 1);
        vm.stopPrank();
    }

    function test_requestEnergyTransfer_withoutRole_reverts() public {
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, gridOperator));
        grid.requestEnergyTransfer(PROSUMER_A, CONSUMER_A, 1);
    }

    function test_requestEnergyTransfer_emergencyAboveHaltsTheFeeder_reverts() public {
        vm.prank(emergency);
        grid.declareEmergency(FEEDER_A);
        vm.prank(marketOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.ZoneInEmergency.selector, FEEDER_A));
        grid.requestEnergyTransfer(PROSUMER_LATERAL, CONSUMER_B, 1);
        _transfer(CONSUMER_B, TRANSFORMER_NODE, 1); // feeder B is not affected
    }

    function test_requestEnergyTransfer_peakCapsWhatANodeThereSends() public {
        vm.prank(gridOperator);
        grid.setPeak(FEEDER_A, true);
        vm.prank(marketOperator);
        vm.expectRevert(
            abi.encodeWithSelector(IGridManagement.PeakNodeCapExceeded.selector, FEEDER_A, uint256(501), uint256(500))
        );
        grid.requestEnergyTransfer(PROSUMER_LATERAL, CONSUMER_B, 501); // the lateral is below feeder A
        _transfer(PROSUMER_A, CONSUMER_B, 500);
        _transfer(CONSUMER_B, CONSUMER_A, 600); // into the peak zone: not capped
        _assertEq(grid.reservedWh(FEEDER_A, _interval()), 1_100, "capped send and uncapped receipt");
    }

    function test_requestEnergyTransfers_misalignedInterval_reverts() public {
        IGridManagement.TransferRequest[] memory batch = new IGridManagement.TransferRequest[](1);
        batch[0] = IGridManagement.TransferRequest(uint64(PROSUMER_A), uint64(CONSUMER_A), 1);
        vm.prank(marketOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.MisalignedInterval.selector, _interval() + 1));
        grid.requestEnergyTransfers(_interval() + 1, batch);
    }

    function test_requestEnergyTransfer_whenPaused_reverts() public {
        vm.prank(emergency);
        grid.pause();
        vm.prank(marketOperator);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        grid.requestEnergyTransfer(PROSUMER_A, CONSUMER_A, 1);
    }

    function test_requestEnergyTransfers_skipsAndCountsRejections() public {
        IGridManagement.TransferRequest[] memory batch = new IGridManagement.TransferRequest[](3);
        batch[0] = IGridManagement.TransferRequest(uint64(PROSUMER_LATERAL), uint64(CONSUMER_A), 1_500);
        batch[1] = IGridManagement.TransferRequest(uint64(PROSUMER_LATERAL), uint64(CONSUMER_B), 1_000); // lateral full
        batch[2] = IGridManagement.TransferRequest(uint64(PROSUMER_A), uint64(CONSUMER_B), 900);
        vm.prank(marketOperator);
        uint256 reserved = grid.requestEnergyTransfers(_interval(), batch);
        _assertEq(reserved, 2, "two reserved");
        _assertEq(grid.reservedWh(LATERAL, _interval()), 1_500, "rejected one left no trace");
        _assertEq(grid.reservedWh(FEEDER_B, _interval()), 900, "third reserved");
        _assertEq(grid.getGridStatus(PROSUMER_LATERAL).metrics.congestionRejections, 1, "counted on the lateral");
    }

    function test_requestEnergyTransfers_unknownAndEmergency_areSkipped() public {
        vm.prank(emergency);
        grid.declareEmergency(FEEDER_B);
        _assertEq(_batch(IGridManagement.TransferRequest(uint64(PROSUMER_A), 99, 10)), 0, "unknown node");
        _assertEq(_batch(IGridManagement.TransferRequest(uint64(PROSUMER_A), uint64(CONSUMER_B), 10)), 0, "emergency");
        _assertEq(
            _batch(IGridManagement.TransferRequest(uint64(PROSUMER_A), uint64(CONSUMER_A), 10)), 1, "elsewhere ok"
        );
        _assertEq(grid.getGridStatus(CONSUMER_B).metrics.congestionRejections, 1, "emergency rejection counted");
    }

    // ------------------------------------------------------------ zone states
    function test_declareEmergency_onlyEmergencyRole_andEndOnlyByAdmin() public {
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, gridOperator));
        grid.declareEmergency(FEEDER_A);
        vm.prank(emergency);
        grid.declareEmergency(FEEDER_A);
        vm.prank(emergency);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, emergency));
        grid.endEmergency(FEEDER_A);
        grid.endEmergency(FEEDER_A); // this contract holds ADMIN, as the multisig does
        require(grid.zoneOf(FEEDER_A).state == IGridManagement.ZoneState.Normal, "back to normal");
    }

    function test_zoneStateChanges_invalid_revert() public {
        vm.prank(gridOperator);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGridManagement.InvalidStateChange.selector,
                FEEDER_A,
                IGridManagement.ZoneState.Normal,
                IGridManagement.ZoneState.Normal
            )
        );
        grid.setPeak(FEEDER_A, false);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGridManagement.InvalidStateChange.selector,
                FEEDER_A,
                IGridManagement.ZoneState.Normal,
                IGridManagement.ZoneState.Normal
            )
        );
        grid.endEmergency(FEEDER_A);
        vm.prank(emergency);
        grid.declareEmergency(FEEDER_A);
        vm.prank(emergency);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGridManagement.InvalidStateChange.selector,
                FEEDER_A,
                IGridManagement.ZoneState.Emergency,
                IGridManagement.ZoneState.Emergency
            )
        );
        grid.declareEmergency(FEEDER_A);
        vm.prank(gridOperator);
        vm.expectRevert(
            abi.encodeWithSelector(
                IGridManagement.InvalidStateChange.selector,
                FEEDER_A,
                IGridManagement.ZoneState.Emergency,
                IGridManagement.ZoneState.Normal
            )
        );
        grid.setPeak(FEEDER_A, false); // leaving emergency needs the multisig
    }

    function test_zoneMetrics_countTimeInEachStateAndLosses() public {
        vm.warp(T0 + 100);
        vm.prank(gridOperator);
        grid.setPeak(FEEDER_A, true);
        vm.warp(T0 + 400);
        vm.prank(emergency);
        grid.declareEmergency(FEEDER_A);
        vm.warp(T0 + 1_000);
        grid.endEmergency(FEEDER_A);
        vm.warp(T0 + 1_050);
        vm.prank(gridOperator);
        grid.reportLosses(FEEDER_A, _interval(), 37);
        IGridManagement.ZoneMetrics memory metrics = grid.zoneMetrics(FEEDER_A);
        _assertEq(metrics.secondsInState[0], 150, "normal: 100 before, 50 after");
        _assertEq(metrics.secondsInState[1], 300, "peak");
        _assertEq(metrics.secondsInState[2], 600, "emergency");
        _assertEq(metrics.lossesWh, 37, "losses");
    }

    function test_reportLosses_unknownZone_reverts() public {
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.UnknownZone.selector, uint32(42)));
        grid.reportLosses(42, 0, 1);
    }

    function _quality(uint32 outside5, uint32 outside10, uint32 interruptions, uint32 interruptionMinutes)
        private
        pure
        returns (IGridManagement.ServiceQuality memory)
    {
        return IGridManagement.ServiceQuality(
            outside5, outside10, interruptions, interruptionMinutes, uint64(interruptionMinutes) * 7
        );
    }

    function test_reportServiceQuality_storesTheDayAndEmits() public {
        uint64 day = uint64(T0 - T0 % 86_400);
        vm.expectEmit(true, true, false, true, address(grid));
        emit IGridManagement.ServiceQualityReported(FEEDER_A, day, 90, 15, 1, 120, 840);
        vm.prank(gridOperator);
        grid.reportServiceQuality(FEEDER_A, day, _quality(90, 15, 1, 120));
        IGridManagement.ServiceQuality memory stored = grid.serviceQuality(FEEDER_A, day);
        _assertEq(stored.busMinutesOutside5Percent, 90, "outside 5 %");
        _assertEq(stored.busMinutesOutside10Percent, 15, "outside 10 %");
        _assertEq(stored.interruptions, 1, "interruptions");
        _assertEq(stored.interruptionMinutes, 120, "minutes");
        _assertEq(stored.customerMinutesInterrupted, 840, "customer-minutes");
        _assertEq(grid.serviceQuality(FEEDER_B, day).busMinutesOutside5Percent, 0, "another zone: none");
        // A second report of the day corrects the first.
        vm.prank(gridOperator);
        grid.reportServiceQuality(FEEDER_A, day, _quality(60, 0, 0, 0));
        _assertEq(grid.serviceQuality(FEEDER_A, day).busMinutesOutside5Percent, 60, "corrected");
        _assertEq(grid.serviceQuality(FEEDER_A, day).interruptions, 0, "corrected");
    }

    function test_reportServiceQuality_misalignedDay_reverts() public {
        uint64 notMidnight = uint64(T0 - T0 % 86_400 + 900);
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.MisalignedDay.selector, notMidnight));
        grid.reportServiceQuality(FEEDER_A, notMidnight, _quality(0, 0, 0, 0));
    }

    function test_reportServiceQuality_impossibleReports_revert() public {
        uint64 day = uint64(T0 - T0 % 86_400);
        IGridManagement.ServiceQuality[3] memory impossible = [
            _quality(0, 0, 1, 1_441), // longer than the day
            _quality(0, 0, 3, 30), // three interruptions of at least 15 minutes in 30 minutes
            _quality(10, 11, 0, 0) // outside 10 % but not outside 5 %
        ];
        for (uint256 i; i < impossible.length; ++i) {
            vm.prank(gridOperator);
            vm.expectRevert(abi.encodeWithSelector(IGridManagement.ImpossibleServiceQuality.selector, FEEDER_A, day));
            grid.reportServiceQuality(FEEDER_A, day, impossible[i]);
        }
    }

    function test_reportServiceQuality_unknownZoneOrCaller_reverts() public {
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IGridManagement.UnknownZone.selector, uint32(42)));
        grid.reportServiceQuality(42, 0, _quality(0, 0, 0, 0));
        vm.prank(marketOperator);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, marketOperator));
        grid.reportServiceQuality(FEEDER_A, 0, _quality(0, 0, 0, 0));
    }

    function testFuzz_reportServiceQuality_keepsEveryPossibleReport(
        uint32 outside5,
        uint32 outside10,
        uint32 interruptions,
        uint32 interruptionMinutes,
        uint16 dayNumber
    ) public {
        interruptionMinutes %= 1_441;
        interruptions %= interruptionMinutes / 15 + 1;
        outside10 = uint32(uint256(outside10) % (uint256(outside5) + 1));
        uint64 day = uint64(dayNumber) * 86_400;
        vm.prank(gridOperator);
        grid.reportServiceQuality(LATERAL, day, _quality(outside5, outside10, interruptions, interruptionMinutes));
        IGridManagement.ServiceQuality memory stored = grid.serviceQuality(LATERAL, day);
        _assertEq(stored.busMinutesOutside5Percent, outside5, "outside 5 %");
        _assertEq(stored.busMinutesOutside10Percent, outside10, "outside 10 %");
        _assertEq(stored.interruptions, interruptions, "interruptions");
        _assertEq(stored.interruptionMinutes, interruptionMinutes, "minutes");
    }

    function test_setPeakParameters_storesEachParameter() public {
        grid.setPeakParameters(1_234, 20_000, 60_000);
        _assertEq(grid.peakNodeCapWh(), 1_234, "cap");
        _assertEq(grid.normalFeePerKWh(), 20_000, "normal fee");
        _assertEq(grid.peakFeeRatePerKWh(), 60_000, "peak fee");
    }

    function test_setPeakParameters_onlyAdmin() public {
        vm.prank(gridOperator);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, gridOperator));
        grid.setPeakParameters(1, 2, 3);
    }

    // ------------------------------------------------------------ grid guard
    function _conditions() internal view returns (bool anyHalted, bool anyPeak) {
        return grid.gridConditions();
    }

    function test_settlementAllowed_haltedByEmergencyAboveOrPause() public {
        (bool anyHalted,) = _conditions();
        require(!anyHalted, "nothing halted");
        require(grid.settlementAllowed(address(0xC1), uint64(PROSUMER_LATERAL), 0), "normal");
        vm.prank(emergency);
        grid.declareEmergency(FEEDER_A);
        (anyHalted,) = _conditions();
        require(anyHalted, "a zone is halted");
        require(!grid.settlementAllowed(address(0xC1), uint64(PROSUMER_LATERAL), 0), "lateral below feeder A");
        require(grid.settlementAllowed(address(0xB1), uint64(CONSUMER_B), 0), "feeder B trades");
        grid.endEmergency(FEEDER_A);
        (anyHalted,) = _conditions();
        require(!anyHalted, "emergency over");
        vm.prank(emergency);
        grid.pause();
        (anyHalted,) = _conditions();
        require(anyHalted, "paused");
        require(!grid.settlementAllowed(address(0xB1), uint64(CONSUMER_B), 0), "paused: nothing settles");
    }

    function test_settlementAllowed_nodeOfAnotherTraderUnknownOrNone_refused() public view {
        require(!grid.settlementAllowed(address(0xB1), uint64(CONSUMER_A), 0), "not B's node");
        require(!grid.settlementAllowed(address(0xB1), 99, 0), "unknown node");
        require(!grid.settlementAllowed(address(0xB1), 0, 0), "no node");
    }

    function test_peakFeePerKWh_inPeakZonesAndForNodesNotTheTraders() public {
        (, bool anyPeak) = _conditions();
        require(!anyPeak, "no peak");
        _assertEq(grid.peakFeePerKWh(address(0xC1), uint64(PROSUMER_LATERAL)), 0, "normal zone: market fee");
        vm.prank(gridOperator);
        grid.setPeak(FEEDER_A, true);
        (, anyPeak) = _conditions();
        require(anyPeak, "a zone in peak");
        _assertEq(grid.peakFeePerKWh(address(0xC1), uint64(PROSUMER_LATERAL)), 60_000, "lateral below a peak feeder");
        _assertEq(grid.peakFeePerKWh(address(0xB1), uint64(CONSUMER_B)), 0, "feeder B is normal");
        _assertEq(grid.peakFeePerKWh(address(0xB1), uint64(CONSUMER_A)), 60_000, "someone else's node");
        vm.prank(gridOperator);
        grid.setPeak(FEEDER_A, false);
        (, anyPeak) = _conditions();
        require(!anyPeak, "peak over");
    }

    // ------------------------------------------------------------ fuzz
    function testFuzz_requestEnergyTransfer_neverBeyondCapacity(uint64[6] memory amounts, uint256 seed) public {
        uint256[5] memory nodes = [TRANSFORMER_NODE, PROSUMER_A, CONSUMER_A, CONSUMER_B, PROSUMER_LATERAL];
        for (uint256 i; i < amounts.length; ++i) {
            uint256 from = nodes[(seed >> (8 * i)) % 5];
            uint256 to = nodes[(seed >> (8 * i + 4)) % 5];
            uint256 amount = 1 + amounts[i] % 5_000;
            vm.prank(marketOperator);
            try grid.requestEnergyTransfer(from, to, amount) {} catch {}
        }
        uint64 interval = _interval();
        require(grid.reservedWh(SUBSTATION, interval) <= TRANSFORMER_WH, "transformer");
        require(grid.reservedWh(FEEDER_A, interval) <= FEEDER_WH, "feeder A");
        require(grid.reservedWh(FEEDER_B, interval) <= FEEDER_WH, "feeder B");
        require(grid.reservedWh(LATERAL, interval) <= LATERAL_WH, "lateral");
    }
}

/// @notice The market asks the grid before it settles: no settlement at a node in an emergency zone.
contract GridGuardedMarketTest is MarketWorld {
    GridManagement internal grid;
    address internal gridOperator = address(0x6121D);

    function setUp() public {
        _buildWorld();
        grid = new GridManagement(address(manager));
        _role(address(grid), grid.registerNode.selector, Roles.GRID_OPERATOR);
        _role(address(grid), grid.createZone.selector, Roles.GRID_OPERATOR);
        _role(address(grid), grid.assignNode.selector, Roles.GRID_OPERATOR);
        _role(address(grid), grid.declareEmergency.selector, Roles.EMERGENCY);
        manager.grantRole(Roles.GRID_OPERATOR, gridOperator, 0);
        vm.startPrank(gridOperator);
        grid.createZone(1, 0, 100_000);
        // Node 1 is the first seller's, the orders' gridNodeId.
        grid.registerNode(sellers[0], IGridManagement.NodeType.Prosumer);
        grid.assignNode(1, 1, 1);
        vm.stopPrank();
        market.setGridGuard(address(grid));
    }

    function test_settleInterval_zoneInEmergency_revertsZoneHalted() public {
        vm.prank(emergency);
        grid.declareEmergency(1);
        IEnergyMarket.Fill[] memory fills = _pair(1_000, 1_000);
        vm.prank(marketOperator);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.ZoneHalted.selector, uint256(0), uint64(1)));
        market.settleInterval(_clearing(200_000), fills);
        require(!market.isSettled(delivery), "nothing settled");
    }

    function test_settleInterval_otherTradersNodeDuringEmergency_revertsZoneHalted() public {
        vm.startPrank(gridOperator);
        grid.createZone(2, 0, 100_000);
        grid.registerNode(address(0xFA2), IGridManagement.NodeType.Consumer);
        grid.assignNode(2, 2, 2);
        vm.stopPrank();
        vm.prank(emergency);
        grid.declareEmergency(2);
        // Zone 1 is fine, but the buyer names node 1, which is the seller's, not its own.
        IEnergyMarket.Fill[] memory fills = _pair(1_000, 1_000);
        vm.prank(marketOperator);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.ZoneHalted.selector, uint256(1), uint64(1)));
        market.settleInterval(_clearing(200_000), fills);
    }

    function test_settleInterval_buyerInPeakZone_paysThePeakFee() public {
        vm.startPrank(gridOperator);
        grid.registerNode(buyers[0], IGridManagement.NodeType.Consumer); // node 2
        grid.assignNode(2, 1, 2);
        vm.stopPrank();
        _role(address(grid), grid.setPeak.selector, Roles.GRID_OPERATOR);
        vm.prank(gridOperator);
        grid.setPeak(1, true);
        grid.setPeakParameters(2_500, 20_000, 60_000);
        (uint256 before,) = market.accountOf(buyers[0]);
        // The buyer's order names node 1, the seller's: a node not its own pays the peak fee too.
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        (uint256 afterwards,) = market.accountOf(buyers[0]);
        _assertEq(before - afterwards, 200_000 + 60_000, "price and peak fee");
    }

    /// @dev Two zones; the seller's node sits in one of them, chosen by the fuzzer, and either
    ///      zone may be in emergency: the settlement lands exactly when the seller's zone is not
    ///      halted (the buyer names the seller's node, so it fails whenever anything is halted).
    function testFuzz_settleInterval_neverInAnEmergencyZone(bool sellerInSecondZone, uint8 halt) public {
        vm.startPrank(gridOperator);
        grid.createZone(2, 0, 100_000);
        if (sellerInSecondZone) grid.assignNode(1, 2, 1);
        vm.stopPrank();
        uint32 halted = uint32(halt % 3); // 0: none, else that zone
        if (halted != 0) {
            vm.prank(emergency);
            grid.declareEmergency(halted);
        }
        IEnergyMarket.Fill[] memory fills = _pair(1_000, 1_000);
        vm.prank(marketOperator);
        try market.settleInterval(_clearing(200_000), fills) {
            require(halted == 0, "settled while a zone was in emergency");
        } catch {
            require(halted != 0, "refused although nothing was halted");
        }
        require(market.isSettled(delivery) == (halted == 0), "settled exactly when nothing was halted");
    }

    function test_settleInterval_zoneNormal_settles() public {
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        require(market.isSettled(delivery), "settled");
    }
}
