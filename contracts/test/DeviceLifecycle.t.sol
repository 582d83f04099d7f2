// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {Cheats} from "./base/Cheats.sol";
import {ReadingBatch} from "./base/ReadingBatch.sol";
import {GridAccessManager} from "../GridAccessManager.sol";
import {EnergyToken} from "../EnergyToken.sol";
import {SmartMeterRegistry} from "../SmartMeterRegistry.sol";
import {GridManagement} from "../GridManagement.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";
import {IGridManagement} from "../interfaces/IGridManagement.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Roles} from "../libraries/Roles.sol";

/// @notice Bounded minting power (rated power within the node's connection capacity, the multisig
///         above the size threshold) and the device lifecycle: owner, key, rated power, decommissioning.
contract DeviceLifecycleTest {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    GridAccessManager internal manager;
    EnergyToken internal token;
    SmartMeterRegistry internal registry;
    GridManagement internal grid;

    bytes32 internal constant FIRMWARE = keccak256("meter-fw-1.0");
    uint256 internal constant T0 = 1_750_000_500;
    uint256 internal constant METER_KEY = 0xD1;
    uint256 internal constant NEW_METER_KEY = 0xD2;
    uint256 internal constant OTHER_METER_KEY = 0xD3;
    uint32 internal constant HOUSE_CAPACITY_W = 30_000;
    uint32 internal constant FARM_CAPACITY_W = 2_000_000;
    uint32 internal constant PV_RATED_W = 4_000;

    address internal governance = address(0x6047);
    address internal meterOperator = address(0x0BE7);
    address internal gridOperator = address(0x6121D);
    address internal gateway = address(0x6A7E);
    address internal regulator = address(0x4E6);
    address internal emergency = address(0xE3E);
    address internal attacker = address(0xBAD);
    address internal prosumer = address(0x9B01);
    address internal buyer = address(0x9B02);
    address internal unverified = address(0x9B03);

    uint64 internal house; // node of the prosumer's household connection
    uint64 internal farm; // node of a solar farm's medium-voltage connection
    uint64 internal bareNode; // registered, no capacity recorded
    uint256 internal deviceId;

    function setUp() public {
        vm.warp(T0);
        manager = new GridAccessManager(address(this));
        token = new EnergyToken(address(manager), 1 days);
        registry = new SmartMeterRegistry(address(manager), token, 1 days);
        grid = new GridManagement(address(manager));

        bytes4[] memory meterFns = new bytes4[](6);
        meterFns[0] = registry.registerDevice.selector;
        meterFns[1] = registry.setDeviceStatus.selector;
        meterFns[2] = registry.transferDevice.selector;
        meterFns[3] = registry.rotateDeviceKey.selector;
        meterFns[4] = registry.setRatedPower.selector;
        meterFns[5] = registry.decommissionDevice.selector;
        manager.setTargetFunctionRole(address(registry), meterFns, Roles.METER_OPERATOR);
        _role(address(registry), registry.submitReadings.selector, Roles.GATEWAY);
        _role(address(registry), registry.pause.selector, Roles.EMERGENCY);
        _role(address(token), token.setParticipant.selector, Roles.REGULATOR);
        bytes4[] memory gridFns = new bytes4[](2);
        gridFns[0] = grid.registerNode.selector;
        gridFns[1] = grid.setConnectionCapacity.selector;
        manager.setTargetFunctionRole(address(grid), gridFns, Roles.GRID_OPERATOR);
        manager.grantRole(Roles.METER_OPERATOR, meterOperator, 0);
        manager.grantRole(Roles.GRID_OPERATOR, gridOperator, 0);
        manager.grantRole(Roles.GATEWAY, gateway, 0);
        manager.grantRole(Roles.REGULATOR, regulator, 0);
        manager.grantRole(Roles.EMERGENCY, emergency, 0);
        token.setMeterRegistry(registry);
        registry.setFirmwareApproval(FIRMWARE, true);
        registry.setGridManagement(address(grid));
        manager.grantRole(Roles.ADMIN, governance, 0);
        manager.renounceRole(Roles.ADMIN, address(this));

        vm.startPrank(regulator);
        token.setParticipant(prosumer, true, 276);
        token.setParticipant(buyer, true, 276);
        vm.stopPrank();
        vm.startPrank(gridOperator);
        grid.registerNode(prosumer, IGridManagement.NodeType.Prosumer);
        grid.registerNode(address(0xFA2), IGridManagement.NodeType.Producer);
        grid.registerNode(address(0xB4E), IGridManagement.NodeType.Consumer);
        house = 1;
        farm = 2;
        bareNode = 3;
        grid.setConnectionCapacity(house, HOUSE_CAPACITY_W);
        grid.setConnectionCapacity(farm, FARM_CAPACITY_W);
        vm.stopPrank();

        vm.prank(meterOperator);
        registry.registerDevice(vm.addr(METER_KEY), _data(prosumer, house, PV_RATED_W));
        deviceId = registry.deviceIdOf(vm.addr(METER_KEY));
    }

    // ------------------------------------------------------------ helpers
    function _role(address target, bytes4 selector, uint64 role) internal {
        bytes4[] memory selectors = new bytes4[](1);
        selectors[0] = selector;
        manager.setTargetFunctionRole(target, selectors, role);
    }

    function _data(address owner, uint64 gridNodeId, uint32 ratedPowerW) internal pure returns (bytes memory) {
        return abi.encode(owner, gridNodeId, uint8(2), uint8(0), ratedPowerW, FIRMWARE);
    }

    function _interval(uint256 k) internal pure returns (uint64) {
        return uint64(T0 - (T0 % 900) + 900 * k);
    }

    /// @dev The device's k-th reading (k from 1) with cumulative export `exportWh`, signed by `key`,
    ///      submitted by the gateway just after its interval ended; returns the accepted count.
    function _read(uint256 key, uint256 id, uint64 k, uint64 exportWh) internal returns (uint256) {
        ISmartMeter.SignedReading memory reading =
            ISmartMeter.SignedReading(uint64(id), k, _interval(k - 1), 0, exportWh, 0, FIRMWARE, 0, 0);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, registry.readingDigest(reading));
        reading.r = r;
        reading.vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](1);
        batch[0] = reading;
        vm.warp(_interval(k) + 10);
        vm.prank(gateway);
        return registry.submitReadings(ReadingBatch.packed(batch));
    }

    function _status() internal view returns (ISmartMeter.DeviceStatus) {
        return registry.getDevice(deviceId).status;
    }

    function _assertEq(uint256 a, uint256 b, string memory what) internal pure {
        require(a == b, what);
    }

    function _unauthorized(address caller) internal {
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, caller));
    }

    // ------------------------------------------------------------ registration bounds
    /// @dev The review's attack: a 2^32 − 1 W meter at a household connection. Registered, its
    ///      first 15-minute reading minted 1,127,428,915 Wh (1.1 GWh) under the plausibility bound.
    function test_registerDevice_maxRatedPowerAtHouseholdReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISmartMeter.ConnectionCapacityExceeded.selector,
                house,
                uint256(PV_RATED_W) + type(uint32).max,
                uint256(HOUSE_CAPACITY_W)
            )
        );
        registry.registerDevice(vm.addr(OTHER_METER_KEY), _data(prosumer, house, type(uint32).max));
    }

    function test_registerDevice_aboveNodeCapacityReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISmartMeter.ConnectionCapacityExceeded.selector,
                farm,
                uint256(FARM_CAPACITY_W) + 1,
                uint256(FARM_CAPACITY_W)
            )
        );
        registry.registerDevice(vm.addr(OTHER_METER_KEY), _data(prosumer, farm, FARM_CAPACITY_W + 1));
    }

    function test_registerDevice_devicesOfNodeTogetherBoundedByCapacity() public {
        uint32 restW = HOUSE_CAPACITY_W - PV_RATED_W;
        vm.prank(meterOperator);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISmartMeter.ConnectionCapacityExceeded.selector,
                house,
                uint256(HOUSE_CAPACITY_W) + 1,
                uint256(HOUSE_CAPACITY_W)
            )
        );
        registry.registerDevice(vm.addr(OTHER_METER_KEY), _data(prosumer, house, restW + 1));
        vm.prank(meterOperator);
        registry.registerDevice(vm.addr(OTHER_METER_KEY), _data(prosumer, house, restW));
        _assertEq(registry.nodeRatedPowerW(house), HOUSE_CAPACITY_W, "node full");
    }

    function test_registerDevice_nodeWithoutCapacityReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.NoConnectionCapacity.selector, bareNode));
        registry.registerDevice(vm.addr(OTHER_METER_KEY), _data(prosumer, bareNode, 1_000));
    }

    function test_registerDevice_unknownNodeReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.NoConnectionCapacity.selector, uint64(99)));
        registry.registerDevice(vm.addr(OTHER_METER_KEY), _data(prosumer, 99, 1_000));
    }

    function test_registerDevice_withoutGridManagementReverts() public {
        SmartMeterRegistry unwired = new SmartMeterRegistry(address(manager), token, 1 days);
        vm.startPrank(governance);
        unwired.setFirmwareApproval(FIRMWARE, true);
        vm.expectRevert(ISmartMeter.GridManagementNotSet.selector);
        unwired.registerDevice(vm.addr(OTHER_METER_KEY), _data(prosumer, house, 1_000));
        vm.stopPrank();
    }

    function test_registerDevice_aboveThresholdWithoutApprovalReverts() public {
        uint32 ratedW = 500_000;
        vm.prank(meterOperator);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISmartMeter.LargeDeviceNotApproved.selector, vm.addr(OTHER_METER_KEY), uint256(ratedW), uint256(100_000)
            )
        );
        registry.registerDevice(vm.addr(OTHER_METER_KEY), _data(prosumer, farm, ratedW));
    }

    function test_registerDevice_aboveThresholdUsesUpTheApproval() public {
        address farmMeter = vm.addr(OTHER_METER_KEY);
        vm.expectEmit(true, false, false, true, address(registry));
        emit ISmartMeter.LargeDeviceApproved(farmMeter, 500_000);
        vm.prank(governance);
        registry.approveLargeDevice(farmMeter, 500_000);
        vm.prank(meterOperator);
        registry.registerDevice(farmMeter, _data(prosumer, farm, 500_000));
        _assertEq(registry.getDevice(registry.deviceIdOf(farmMeter)).ratedPowerW, 500_000, "registered");
        _assertEq(registry.largeDeviceApproval(farmMeter), 0, "approval used up");
    }

    function test_registerDevice_approvalOfAnotherPowerReverts() public {
        address farmMeter = vm.addr(OTHER_METER_KEY);
        vm.prank(governance);
        registry.approveLargeDevice(farmMeter, 400_000);
        vm.prank(meterOperator);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISmartMeter.LargeDeviceNotApproved.selector, farmMeter, uint256(500_000), uint256(100_000)
            )
        );
        registry.registerDevice(farmMeter, _data(prosumer, farm, 500_000));
    }

    function test_registerDevice_withdrawnApprovalReverts() public {
        address farmMeter = vm.addr(OTHER_METER_KEY);
        vm.startPrank(governance);
        registry.approveLargeDevice(farmMeter, 500_000);
        registry.approveLargeDevice(farmMeter, 0);
        vm.stopPrank();
        vm.prank(meterOperator);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISmartMeter.LargeDeviceNotApproved.selector, farmMeter, uint256(500_000), uint256(100_000)
            )
        );
        registry.registerDevice(farmMeter, _data(prosumer, farm, 500_000));
    }

    function test_setLargeDeviceThreshold_lowerThresholdNeedsMultisigForSmallerDevices() public {
        vm.expectEmit(false, false, false, true, address(registry));
        emit ISmartMeter.LargeDeviceThresholdSet(10_000);
        vm.prank(governance);
        registry.setLargeDeviceThreshold(10_000);
        _assertEq(registry.largeDeviceThresholdW(), 10_000, "threshold");
        vm.prank(meterOperator);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISmartMeter.LargeDeviceNotApproved.selector, vm.addr(OTHER_METER_KEY), uint256(20_000), uint256(10_000)
            )
        );
        registry.registerDevice(vm.addr(OTHER_METER_KEY), _data(prosumer, house, 20_000));
    }

    function test_governanceFunctions_byMeterOperatorRevert() public {
        vm.startPrank(meterOperator);
        _unauthorized(meterOperator);
        registry.approveLargeDevice(vm.addr(OTHER_METER_KEY), 500_000);
        _unauthorized(meterOperator);
        registry.setLargeDeviceThreshold(type(uint32).max);
        _unauthorized(meterOperator);
        registry.setGridManagement(attacker);
        vm.stopPrank();
    }

    function test_setGridManagement_secondTimeReverts() public {
        vm.prank(governance);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.GridManagementAlreadySet.selector, address(grid)));
        registry.setGridManagement(attacker);
        require(registry.gridManagement() == address(grid), "unchanged");
    }

    function test_setGridManagement_zeroAddressReverts() public {
        SmartMeterRegistry unwired = new SmartMeterRegistry(address(manager), token, 1 days);
        vm.prank(governance);
        vm.expectRevert(ISmartMeter.GridManagementNotSet.selector);
        unwired.setGridManagement(address(0));
    }

    // ------------------------------------------------------------ owner
    function test_transferDevice_newOwnerGetsLaterReadings() public {
        _read(METER_KEY, deviceId, 1, 800);
        vm.expectEmit(true, true, true, false, address(registry));
        emit ISmartMeter.DeviceOwnerChanged(deviceId, prosumer, buyer);
        vm.prank(meterOperator);
        registry.transferDevice(deviceId, buyer);
        _assertEq(_read(METER_KEY, deviceId, 2, 1_000), 1, "accepted");
        _assertEq(token.balanceOf(prosumer), 800, "old owner keeps what was minted before");
        _assertEq(token.balanceOf(buyer), 200, "new owner gets the mint");
        require(registry.getDevice(deviceId).owner == buyer, "owner");
    }

    function test_transferDevice_unverifiedOwnerReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.OwnerNotVerified.selector, unverified));
        registry.transferDevice(deviceId, unverified);
    }

    function test_transferDevice_byAttackerReverts() public {
        vm.prank(attacker);
        _unauthorized(attacker);
        registry.transferDevice(deviceId, attacker);
    }

    function test_transferDevice_unknownDeviceReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.UnknownDevice.selector, uint256(9)));
        registry.transferDevice(9, buyer);
    }

    // ------------------------------------------------------------ key
    function test_rotateDeviceKey_newKeySignsOldKeyRejected() public {
        address oldKey = vm.addr(METER_KEY);
        address newKey = vm.addr(NEW_METER_KEY);
        _read(METER_KEY, deviceId, 1, 800);
        vm.expectEmit(true, true, true, false, address(registry));
        emit ISmartMeter.DeviceKeyRotated(deviceId, oldKey, newKey);
        vm.prank(meterOperator);
        registry.rotateDeviceKey(deviceId, newKey);
        _assertEq(_read(METER_KEY, deviceId, 2, 900), 0, "old key's reading rejected");
        _assertEq(_read(NEW_METER_KEY, deviceId, 2, 1_000), 1, "new key's reading accepted");
        _assertEq(token.balanceOf(prosumer), 1_000, "minted from the new key only");
        _assertEq(registry.deviceIdOf(newKey), deviceId, "new key signs for the device");
        _assertEq(registry.deviceIdOf(oldKey), 0, "old key signs for nothing");
        vm.prank(oldKey);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.NotDeviceKey.selector, oldKey, deviceId));
        registry.submitReading(deviceId, 1_100);
    }

    function test_rotateDeviceKey_oldKeyCannotBeRegisteredAgain() public {
        address oldKey = vm.addr(METER_KEY);
        vm.startPrank(meterOperator);
        registry.rotateDeviceKey(deviceId, vm.addr(NEW_METER_KEY));
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.DeviceAlreadyRegistered.selector, oldKey, deviceId));
        registry.registerDevice(oldKey, _data(prosumer, house, 1_000));
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.DeviceAlreadyRegistered.selector, oldKey, deviceId));
        registry.rotateDeviceKey(deviceId, oldKey);
        vm.stopPrank();
    }

    function test_rotateDeviceKey_keyOfAnotherDeviceReverts() public {
        address otherKey = vm.addr(OTHER_METER_KEY);
        vm.startPrank(meterOperator);
        registry.registerDevice(otherKey, _data(buyer, house, 1_000));
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.DeviceAlreadyRegistered.selector, otherKey, deviceId + 1));
        registry.rotateDeviceKey(deviceId, otherKey);
        vm.stopPrank();
    }

    function test_rotateDeviceKey_zeroKeyReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(ISmartMeter.InvalidDeviceAddress.selector);
        registry.rotateDeviceKey(deviceId, address(0));
    }

    function test_rotateDeviceKey_byAttackerReverts() public {
        vm.prank(attacker);
        _unauthorized(attacker);
        registry.rotateDeviceKey(deviceId, attacker);
    }

    // ------------------------------------------------------------ rated power
    function test_setRatedPower_raiseWidensPlausibilityBound() public {
        // 4 kW allows 1,051 Wh in 15 minutes; 8 kW allows 2,101 Wh.
        vm.expectEmit(true, false, false, true, address(registry));
        emit ISmartMeter.DeviceRatedPowerChanged(deviceId, PV_RATED_W, 8_000);
        vm.prank(meterOperator);
        registry.setRatedPower(deviceId, 8_000);
        _assertEq(_read(METER_KEY, deviceId, 1, 2_000), 1, "accepted under the new bound");
        _assertEq(registry.nodeRatedPowerW(house), 8_000, "node follows");
    }

    function test_setRatedPower_cutNarrowsPlausibilityBound() public {
        vm.prank(meterOperator);
        registry.setRatedPower(deviceId, 2_000);
        _assertEq(_read(METER_KEY, deviceId, 1, 800), 0, "800 Wh is above 2 kW for 15 minutes");
        require(_status() == ISmartMeter.DeviceStatus.Quarantined, "impossible delta quarantines");
    }

    function test_setRatedPower_aboveNodeCapacityReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISmartMeter.ConnectionCapacityExceeded.selector,
                house,
                uint256(type(uint32).max),
                uint256(HOUSE_CAPACITY_W)
            )
        );
        registry.setRatedPower(deviceId, type(uint32).max);
    }

    function test_setRatedPower_aboveThresholdWithoutApprovalReverts() public {
        vm.startPrank(meterOperator);
        registry.registerDevice(vm.addr(OTHER_METER_KEY), _data(prosumer, farm, 100_000));
        uint256 farmDevice = registry.deviceIdOf(vm.addr(OTHER_METER_KEY));
        vm.expectRevert(
            abi.encodeWithSelector(
                ISmartMeter.LargeDeviceNotApproved.selector,
                vm.addr(OTHER_METER_KEY),
                uint256(100_001),
                uint256(100_000)
            )
        );
        registry.setRatedPower(farmDevice, 100_001);
        vm.stopPrank();
    }

    function test_setRatedPower_aboveThresholdWithApprovalSucceeds() public {
        address farmMeter = vm.addr(OTHER_METER_KEY);
        vm.prank(meterOperator);
        registry.registerDevice(farmMeter, _data(prosumer, farm, 100_000));
        vm.prank(governance);
        registry.approveLargeDevice(farmMeter, 1_500_000);
        uint256 farmDevice = registry.deviceIdOf(farmMeter);
        vm.prank(meterOperator);
        registry.setRatedPower(farmDevice, 1_500_000);
        _assertEq(registry.getDevice(farmDevice).ratedPowerW, 1_500_000, "raised");
    }

    function test_setRatedPower_cutAllowedAfterCapacityWithdrawn() public {
        vm.prank(gridOperator);
        grid.setConnectionCapacity(house, 0);
        vm.prank(meterOperator);
        registry.setRatedPower(deviceId, 1_000);
        _assertEq(registry.nodeRatedPowerW(house), 1_000, "cut");
        vm.prank(meterOperator);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.NoConnectionCapacity.selector, house));
        registry.setRatedPower(deviceId, 2_000);
    }

    function test_setRatedPower_zeroReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(ISmartMeter.InvalidRatedPower.selector);
        registry.setRatedPower(deviceId, 0);
    }

    function test_setRatedPower_byAttackerReverts() public {
        vm.prank(attacker);
        _unauthorized(attacker);
        registry.setRatedPower(deviceId, 1);
    }

    // ------------------------------------------------------------ decommissioning
    function test_decommissionDevice_readingsRejected() public {
        vm.expectEmit(true, false, false, true, address(registry));
        emit ISmartMeter.DeviceStatusChanged(
            deviceId, ISmartMeter.DeviceStatus.Active, ISmartMeter.DeviceStatus.Decommissioned
        );
        vm.prank(meterOperator);
        registry.decommissionDevice(deviceId);
        _assertEq(_read(METER_KEY, deviceId, 1, 800), 0, "rejected");
        _assertEq(token.balanceOf(prosumer), 0, "nothing minted");
        require(_status() == ISmartMeter.DeviceStatus.Decommissioned, "status");
    }

    function test_decommissionDevice_isFinal() public {
        vm.startPrank(meterOperator);
        registry.decommissionDevice(deviceId);
        bytes memory decommissioned = abi.encodeWithSelector(ISmartMeter.DeviceIsDecommissioned.selector, deviceId);
        vm.expectRevert(decommissioned);
        registry.decommissionDevice(deviceId);
        vm.expectRevert(decommissioned);
        registry.transferDevice(deviceId, buyer);
        vm.expectRevert(decommissioned);
        registry.rotateDeviceKey(deviceId, vm.addr(NEW_METER_KEY));
        vm.expectRevert(decommissioned);
        registry.setRatedPower(deviceId, 1_000);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISmartMeter.InvalidStatusChange.selector,
                deviceId,
                ISmartMeter.DeviceStatus.Decommissioned,
                ISmartMeter.DeviceStatus.Active
            )
        );
        registry.setDeviceStatus(deviceId, ISmartMeter.DeviceStatus.Active);
        vm.stopPrank();
        vm.prank(governance);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.DeviceNotQuarantined.selector, deviceId));
        registry.resetQuarantine(deviceId, 0, 0);
    }

    function test_decommissionDevice_keyStaysReservedCapacityFreed() public {
        vm.startPrank(meterOperator);
        registry.decommissionDevice(deviceId);
        _assertEq(registry.nodeRatedPowerW(house), 0, "capacity freed");
        vm.expectRevert(
            abi.encodeWithSelector(ISmartMeter.DeviceAlreadyRegistered.selector, vm.addr(METER_KEY), deviceId)
        );
        registry.registerDevice(vm.addr(METER_KEY), _data(prosumer, house, PV_RATED_W));
        registry.registerDevice(vm.addr(NEW_METER_KEY), _data(prosumer, house, HOUSE_CAPACITY_W));
        vm.stopPrank();
    }

    function test_decommissionDevice_quarantinedDevice() public {
        _read(METER_KEY, deviceId, 1, 5_000); // above the 4 kW bound: quarantined
        require(_status() == ISmartMeter.DeviceStatus.Quarantined, "quarantined first");
        vm.prank(meterOperator);
        registry.decommissionDevice(deviceId);
        require(_status() == ISmartMeter.DeviceStatus.Decommissioned, "decommissioned");
    }

    function test_setDeviceStatus_toDecommissionedReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISmartMeter.InvalidStatusChange.selector,
                deviceId,
                ISmartMeter.DeviceStatus.Active,
                ISmartMeter.DeviceStatus.Decommissioned
            )
        );
        registry.setDeviceStatus(deviceId, ISmartMeter.DeviceStatus.Decommissioned);
    }

    function test_decommissionDevice_byAttackerReverts() public {
        vm.prank(attacker);
        _unauthorized(attacker);
        registry.decommissionDevice(deviceId);
    }

    // ------------------------------------------------------------ pause
    function test_lifecycleChanges_whilePausedRevertButDecommissioningWorks() public {
        vm.prank(emergency);
        registry.pause();
        vm.startPrank(meterOperator);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        registry.transferDevice(deviceId, buyer);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        registry.rotateDeviceKey(deviceId, vm.addr(NEW_METER_KEY));
        vm.expectRevert(Pausable.EnforcedPause.selector);
        registry.setRatedPower(deviceId, 1_000);
        registry.decommissionDevice(deviceId);
        vm.stopPrank();
        require(_status() == ISmartMeter.DeviceStatus.Decommissioned, "taking power away is not paused");
    }
}
