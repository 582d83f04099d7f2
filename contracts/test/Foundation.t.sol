// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {Cheats} from "./base/Cheats.sol";
import {ReadingBatch} from "./base/ReadingBatch.sol";
import {GridAccessManager} from "../GridAccessManager.sol";
import {EnergyToken} from "../EnergyToken.sol";
import {SmartMeterRegistry} from "../SmartMeterRegistry.sol";
import {GovernanceMultisig} from "../GovernanceMultisig.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";
import {IEnergyToken} from "../interfaces/IEnergyToken.sol";
import {Roles} from "../libraries/Roles.sol";
import {ReadingRecords} from "../libraries/ReadingRecords.sol";
import {DeviceGrid} from "./base/DeviceGrid.sol";

/// @notice The foundation's deployment (token, registry, multisig, roles, one prosumer's meter)
///         and the helpers its tests share.
abstract contract FoundationWorld {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    GridAccessManager internal manager;
    EnergyToken internal token;
    SmartMeterRegistry internal registry;
    GovernanceMultisig internal multisig;

    uint256 internal constant DEVICE_KEY = 0xD1;
    uint256[3] internal signerKeys = [uint256(0xA1), 0xA2, 0xA3];
    address internal gateway = address(0x6A7E);
    address internal meterOperator = address(0x0BE7);
    address internal regulator = address(0x4E6);
    address internal emergency = address(0xE3E);
    address internal prosumerPv = address(0x9B01);
    address internal consumer = address(0xC0);
    address internal device;
    bytes32 internal constant FIRMWARE = keccak256("meter-fw-1.0");
    uint256 internal constant T0 = 1_750_000_500; // inside an epoch, 500 s after an aligned interval
    uint256 internal deviceId;

    function setUp() public {
        vm.warp(T0);
        manager = new GridAccessManager(address(this));
        token = new EnergyToken(address(manager), 1 days);
        registry = new SmartMeterRegistry(address(manager), token, 1 days);
        bytes[] memory signers = new bytes[](3);
        for (uint256 i; i < 3; ++i) {
            signers[i] = abi.encodePacked(vm.addr(signerKeys[i]));
        }
        multisig = new GovernanceMultisig(signers, 2);

        _role(address(registry), registry.registerDevice.selector, Roles.METER_OPERATOR);
        _role(address(registry), registry.setDeviceStatus.selector, Roles.METER_OPERATOR);
        _role(address(registry), registry.submitReadings.selector, Roles.GATEWAY);
        _role(address(registry), registry.pause.selector, Roles.EMERGENCY);
        _role(address(token), token.setParticipant.selector, Roles.REGULATOR);
        _role(address(token), token.pause.selector, Roles.EMERGENCY);
        manager.grantRole(Roles.METER_OPERATOR, meterOperator, 0);
        manager.grantRole(Roles.GATEWAY, gateway, 0);
        manager.grantRole(Roles.REGULATOR, regulator, 0);
        manager.grantRole(Roles.EMERGENCY, emergency, 0);
        token.setMeterRegistry(registry);
        registry.setFirmwareApproval(FIRMWARE, true);
        DeviceGrid.wire(address(manager), registry, 7, 30_000);
        manager.grantRole(Roles.ADMIN, address(multisig), 0);
        manager.renounceRole(Roles.ADMIN, address(this));

        vm.prank(regulator);
        token.setParticipant(prosumerPv, true, 276);
        vm.prank(regulator);
        token.setParticipant(consumer, true, 276);
        device = vm.addr(DEVICE_KEY);
        vm.prank(meterOperator);
        registry.registerDevice(device, _deviceData(prosumerPv, 4_000));
        deviceId = registry.deviceIdOf(device);
    }

    // ------------------------------------------------------------ helpers
    function _role(address target, bytes4 selector, uint64 role) internal {
        bytes4[] memory selectors = new bytes4[](1);
        selectors[0] = selector;
        manager.setTargetFunctionRole(target, selectors, role);
    }

    function _deviceData(address owner, uint32 ratedPowerW) internal pure returns (bytes memory) {
        return abi.encode(owner, uint64(7), uint8(2), uint8(0), ratedPowerW, FIRMWARE);
    }

    function _interval(uint256 k) internal pure returns (uint64) {
        return uint64(T0 - (T0 % 900) + 900 * k);
    }

    function _signed(uint256 key, uint256 id, uint64 seq, uint64 start, uint64 importWh, uint64 exportWh, uint8 flags)
        internal
        returns (ISmartMeter.SignedReading memory)
    {
        return _signedWith(key, id, seq, start, importWh, exportWh, flags, FIRMWARE);
    }

    function _signedWith(
        uint256 key,
        uint256 id,
        uint64 seq,
        uint64 start,
        uint64 importWh,
        uint64 exportWh,
        uint8 flags,
        bytes32 firmware
    ) internal returns (ISmartMeter.SignedReading memory reading) {
        reading = ISmartMeter.SignedReading(uint64(id), seq, start, importWh, exportWh, flags, firmware, 0, 0);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, registry.readingDigest(reading));
        reading.r = r;
        reading.vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
    }

    function _submit(ISmartMeter.SignedReading memory reading) internal returns (uint256) {
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](1);
        batch[0] = reading;
        vm.prank(gateway);
        return registry.submitReadings(ReadingBatch.packed(batch));
    }

    function _status() internal view returns (ISmartMeter.DeviceStatus) {
        return registry.getDevice(deviceId).status;
    }

    function _assertEq(uint256 a, uint256 b, string memory what) internal pure {
        require(a == b, what);
    }

    function _multisigSignature(address target, bytes memory data, uint256 signerCount)
        internal
        returns (bytes memory)
    {
        bytes32 digest = multisig.operationDigest(target, 0, data, multisig.nextNonce());
        bytes[] memory signers = new bytes[](signerCount);
        bytes[] memory signatures = new bytes[](signerCount);
        for (uint256 i; i < signerCount; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(signerKeys[i], digest);
            signers[i] = abi.encodePacked(vm.addr(signerKeys[i]));
            signatures[i] = abi.encodePacked(r, s, v);
        }
        return abi.encode(signers, signatures);
    }
}

contract FoundationTest is FoundationWorld {
    // ------------------------------------------------------------ readings
    function test_submitReadings_mintsExportDeltaToOwner() public {
        vm.warp(_interval(1) + 10);
        _assertEq(_submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 800, 0)), 1, "accepted");
        _assertEq(token.balanceOf(prosumerPv), 800, "minted");
        _assertEq(token.totalSupply(), 800, "supply");
        require(registry.validateReading(deviceId, 1), "in history");
    }

    function test_submitReadings_burnsValidatedConsumption() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 800, 0));
        vm.warp(_interval(2) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 2, _interval(1), 300, 900, 0));
        _assertEq(token.balanceOf(prosumerPv), 800 + 100 - 300, "net of consumption");
        _assertEq(token.totalSupply(), 600, "supply follows burn");
    }

    function test_submitReadings_badSignatureSkippedGoodOneKept() public {
        vm.prank(meterOperator);
        registry.registerDevice(vm.addr(0xD2), _deviceData(consumer, 4_000));
        vm.warp(_interval(1) + 10);
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](2);
        batch[0] = _signed(0xBAD, deviceId, 1, _interval(0), 0, 500, 0); // wrong key
        batch[1] = _signed(0xD2, 2, 1, _interval(0), 0, 400, 0);
        vm.prank(gateway);
        _assertEq(registry.submitReadings(ReadingBatch.packed(batch)), 1, "one accepted");
        _assertEq(token.balanceOf(prosumerPv), 0, "forged reading minted nothing");
        _assertEq(token.balanceOf(consumer), 400, "good reading kept");
        require(_status() == ISmartMeter.DeviceStatus.Active, "bad signature is no tamper evidence");
    }

    function test_submitReadings_replayRejectedWithoutQuarantine() public {
        vm.warp(_interval(1) + 10);
        ISmartMeter.SignedReading memory reading = _signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 500, 0);
        _submit(reading);
        _assertEq(_submit(reading), 0, "replay not accepted");
        _assertEq(token.balanceOf(prosumerPv), 500, "minted once");
        require(_status() == ISmartMeter.DeviceStatus.Active, "replay does not quarantine");
    }

    function test_submitReadings_tamperFlagQuarantines() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 500, 1));
        require(_status() == ISmartMeter.DeviceStatus.Quarantined, "quarantined");
        _assertEq(token.balanceOf(prosumerPv), 0, "nothing minted");
        vm.warp(_interval(2) + 10);
        _assertEq(_submit(_signed(DEVICE_KEY, deviceId, 2, _interval(1), 0, 600, 0)), 0, "quarantined mints nothing");
    }

    function test_submitReadings_registerRollbackQuarantines() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 500, 0));
        vm.warp(_interval(2) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 2, _interval(1), 0, 400, 0));
        require(_status() == ISmartMeter.DeviceStatus.Quarantined, "quarantined");
        _assertEq(token.balanceOf(prosumerPv), 500, "rollback minted nothing");
    }

    function test_submitReadings_impossibleDeltaQuarantines() public {
        vm.warp(_interval(1) + 10);
        // 4 kW for 15 minutes is 1,000 Wh; 5 % tolerance allows 1,051 Wh.
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 1_100, 0));
        require(_status() == ISmartMeter.DeviceStatus.Quarantined, "quarantined");
    }

    function test_submitReadings_deltaAtToleranceAccepted() public {
        vm.warp(_interval(1) + 10);
        _assertEq(_submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 1_051, 0)), 1, "within tolerance");
    }

    function test_submitReadings_futureIntervalRejected() public {
        _assertEq(_submit(_signed(DEVICE_KEY, deviceId, 1, _interval(1), 0, 10, 0)), 0, "future");
        require(_status() == ISmartMeter.DeviceStatus.Active, "not tamper");
    }

    function test_submitReadings_byNonGatewayReverts() public {
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](1);
        batch[0] = _signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 10, 0);
        vm.prank(consumer);
        vm.expectRevert(abi.encodeWithSignature("AccessManagedUnauthorized(address)", consumer));
        registry.submitReadings(ReadingBatch.packed(batch));
    }

    function test_submitReading_byDeviceKeyMints() public {
        vm.warp(_interval(1) + 10);
        vm.prank(device);
        registry.submitReading(deviceId, 700);
        _assertEq(token.balanceOf(prosumerPv), 700, "minted");
    }

    function test_submitReading_byOtherKeyReverts() public {
        vm.prank(consumer);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.NotDeviceKey.selector, consumer, deviceId));
        registry.submitReading(deviceId, 700);
    }

    function test_registerDevice_unverifiedOwnerReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.OwnerNotVerified.selector, address(0x1234)));
        registry.registerDevice(address(0x5678), _deviceData(address(0x1234), 1_000));
    }

    // ------------------------------------------------------------ token
    function test_transferEnergy_movesBetweenVerified() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 800, 0));
        vm.prank(prosumerPv);
        token.transferEnergy(consumer, 300);
        _assertEq(token.balanceOf(consumer), 300, "received");
        _assertEq(token.balanceOf(prosumerPv), 500, "sent");
    }

    function test_transferEnergy_toUnverifiedReverts() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 800, 0));
        vm.prank(prosumerPv);
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.ParticipantNotVerified.selector, address(0x777)));
        token.transferEnergy(address(0x777), 1);
    }

    function test_transferEnergy_expiredEnergyCannotMove() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 800, 0));
        vm.warp(token.expiryOf(_interval(0)));
        _assertEq(token.balanceOf(prosumerPv), 0, "expired");
        _assertEq(token.totalSupply(), 0, "supply expired");
        vm.prank(prosumerPv);
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.InsufficientLiveEnergy.selector, prosumerPv, 0, 1));
        token.transferEnergy(consumer, 1);
    }

    function test_transferEnergy_whilePausedReverts() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 800, 0));
        vm.prank(emergency);
        token.pause();
        vm.prank(prosumerPv);
        vm.expectRevert(abi.encodeWithSignature("EnforcedPause()"));
        token.transferEnergy(consumer, 1);
    }

    function test_mintEnergy_byOthersReverts() public {
        vm.prank(prosumerPv);
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.NotMeterRegistry.selector, prosumerPv));
        token.mintEnergy(prosumerPv, 1, abi.encode(uint256(1), uint256(_interval(0)), uint256(0)));
    }

    function testFuzz_transferEnergy_conservesSupply(uint64 exportWh, uint64 sendWh) public {
        exportWh = uint64(1 + (exportWh % 1_051));
        sendWh = uint64(sendWh % (exportWh + 1));
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, exportWh, 0));
        vm.prank(prosumerPv);
        token.transferEnergy(consumer, sendWh);
        _assertEq(token.balanceOf(prosumerPv) + token.balanceOf(consumer), token.totalSupply(), "conserved");
        _assertEq(token.totalSupply(), exportWh, "supply = minted");
    }

    // ------------------------------------------------------------ governance
    function test_execute_belowThresholdReverts() public {
        bytes memory data = abi.encodeCall(registry.setFirmwareApproval, (keccak256("fw-2"), true));
        bytes memory signature = _multisigSignature(address(registry), data, 1);
        vm.expectRevert(abi.encodeWithSelector(GovernanceMultisig.MultisigInvalidSignatures.selector, 0));
        multisig.execute(address(registry), 0, data, signature);
        require(!registry.isFirmwareApproved(keccak256("fw-2")), "not approved");
    }

    function test_execute_atThresholdApprovesFirmware() public {
        bytes memory data = abi.encodeCall(registry.setFirmwareApproval, (keccak256("fw-2"), true));
        multisig.execute(address(registry), 0, data, _multisigSignature(address(registry), data, 2));
        require(registry.isFirmwareApproved(keccak256("fw-2")), "approved");
    }

    function test_resetQuarantine_onlyThroughMultisig() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 500, 1));
        vm.prank(meterOperator);
        vm.expectRevert(abi.encodeWithSignature("AccessManagedUnauthorized(address)", meterOperator));
        registry.resetQuarantine(deviceId, 0, 0);
        bytes memory data = abi.encodeCall(registry.resetQuarantine, (deviceId, 0, 500));
        multisig.execute(address(registry), 0, data, _multisigSignature(address(registry), data, 2));
        require(_status() == ISmartMeter.DeviceStatus.Active, "active again");
    }

    // ------------------------------------------------------------ more rejection paths
    function _rejectedWithoutQuarantine(ISmartMeter.SignedReading memory reading) internal {
        _assertEq(_submit(reading), 0, "rejected");
        require(_status() == ISmartMeter.DeviceStatus.Active, "no quarantine");
        _assertEq(token.totalSupply(), 0, "nothing minted");
    }

    function test_submitReadings_tooOldIntervalRejected() public {
        vm.warp(_interval(0) + 900 + 1 days + 1);
        _rejectedWithoutQuarantine(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 10, 0));
    }

    function test_submitReadings_misalignedIntervalRejected() public {
        vm.warp(_interval(2));
        _rejectedWithoutQuarantine(_signed(DEVICE_KEY, deviceId, 1, _interval(0) + 1, 0, 10, 0));
    }

    function test_submitReadings_partialRecordRevertsMalformedBatch() public {
        vm.warp(_interval(1) + 10);
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](1);
        batch[0] = _signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 10, 0);
        bytes memory records = bytes.concat(ReadingBatch.packed(batch), hex"00");
        vm.prank(gateway);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.MalformedBatch.selector, records.length));
        registry.submitReadings(records);
        _assertEq(registry.getDevice(deviceId).lastSequence, 0, "nothing of the batch applied");
    }

    function test_submitReadings_unknownDeviceRejected() public {
        vm.warp(_interval(1) + 10);
        _assertEq(_submit(_signed(DEVICE_KEY, 99, 1, _interval(0), 0, 10, 0)), 0, "unknown");
    }

    function test_submitReadings_deviceInMaintenanceRejected() public {
        vm.prank(meterOperator);
        registry.setDeviceStatus(deviceId, ISmartMeter.DeviceStatus.Maintenance);
        vm.warp(_interval(1) + 10);
        _assertEq(_submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 10, 0)), 0, "maintenance");
        require(_status() == ISmartMeter.DeviceStatus.Maintenance, "still in maintenance");
    }

    function test_submitReadings_sameIntervalTwiceRejected() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 10, 0));
        _assertEq(_submit(_signed(DEVICE_KEY, deviceId, 2, _interval(0), 0, 20, 0)), 0, "same interval");
        _assertEq(token.totalSupply(), 10, "minted once");
    }

    function test_submitReadings_unapprovedFirmwareQuarantines() public {
        vm.warp(_interval(1) + 10);
        ISmartMeter.SignedReading memory reading =
            ISmartMeter.SignedReading(uint64(deviceId), 1, _interval(0), 0, 10, 0, keccak256("rogue-fw"), 0, 0);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(DEVICE_KEY, registry.readingDigest(reading));
        reading.r = r;
        reading.vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        _submit(reading);
        require(_status() == ISmartMeter.DeviceStatus.Quarantined, "quarantined");
    }

    function test_submitReadings_unverifiedOwnerSkippedAndResubmittable() public {
        vm.warp(_interval(1) + 10);
        vm.prank(regulator);
        token.setParticipant(prosumerPv, false, 276);
        ISmartMeter.SignedReading memory reading = _signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 10, 0);
        _assertEq(_submit(reading), 0, "skipped");
        vm.prank(regulator);
        token.setParticipant(prosumerPv, true, 276);
        _assertEq(_submit(reading), 1, "accepted on resubmission");
    }

    function test_submitReadings_emptyBatchReverts() public {
        vm.prank(gateway);
        vm.expectRevert(ISmartMeter.EmptyBatch.selector);
        registry.submitReadings("");
    }

    function test_submitReadings_whilePausedReverts() public {
        vm.prank(emergency);
        registry.pause();
        vm.prank(gateway);
        vm.expectRevert(abi.encodeWithSignature("EnforcedPause()"));
        registry.submitReadings(new bytes(ReadingRecords.RECORD_BYTES));
    }

    function test_setDeviceStatus_cannotLiftQuarantine() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 10, 1));
        vm.prank(meterOperator);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISmartMeter.InvalidStatusChange.selector,
                deviceId,
                ISmartMeter.DeviceStatus.Quarantined,
                ISmartMeter.DeviceStatus.Active
            )
        );
        registry.setDeviceStatus(deviceId, ISmartMeter.DeviceStatus.Active);
    }

    function test_registerDevice_twiceReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.DeviceAlreadyRegistered.selector, device, deviceId));
        registry.registerDevice(device, _deviceData(prosumerPv, 1_000));
    }

    function test_registerDevice_malformedDataReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.MalformedDeviceData.selector, 3));
        registry.registerDevice(address(0x5678), hex"010203");
    }

    function test_registerDevice_zeroRatedPowerReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(ISmartMeter.InvalidRatedPower.selector);
        registry.registerDevice(address(0x5678), _deviceData(prosumerPv, 0));
    }

    function test_setReadingWindow_beyondEpochReverts() public {
        bytes memory data = abi.encodeCall(registry.setReadingWindow, (uint32(2 days)));
        bytes memory signature = _multisigSignature(address(registry), data, 2);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.InvalidReadingWindow.selector, 2 days, 1 days));
        multisig.execute(address(registry), 0, data, signature);
    }

    function test_getDeviceHistory_oldestFirstAndBounded() public {
        for (uint256 k; k < 20; ++k) {
            vm.warp(_interval(k + 1) + 10);
            _submit(_signed(DEVICE_KEY, deviceId, uint64(k + 1), _interval(k), 0, uint64(10 * (k + 1)), 0));
        }
        ISmartMeter.Reading[] memory history = registry.getDeviceHistory(deviceId);
        _assertEq(history.length, 16, "ring length");
        _assertEq(history[0].sequence, 5, "oldest kept");
        _assertEq(history[15].sequence, 20, "newest");
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.ReadingOutsideHistory.selector, deviceId, 4));
        registry.validateReading(deviceId, 4);
    }

    /// @dev A lookup first tries the slot as many places behind the head as the reading is
    ///      old; after a sequence gap that slot holds another reading and the ring is walked.
    function test_validateReading_acrossSequenceGapFindsEveryKeptReading() public {
        uint64[6] memory sequences = [uint64(1), 2, 3, 10, 11, 12];
        for (uint256 k; k < sequences.length; ++k) {
            vm.warp(_interval(k + 1) + 10);
            _submit(_signed(DEVICE_KEY, deviceId, sequences[k], _interval(k), 0, uint64(10 * (k + 1)), 0));
        }
        for (uint256 k; k < sequences.length; ++k) {
            require(registry.validateReading(deviceId, sequences[k]), "kept reading found");
            ISmartMeter.MintedExport memory minted = registry.mintedExportThrough(deviceId, sequences[k]);
            _assertEq(minted.intervalStart, _interval(k), "its own entry");
            _assertEq(minted.mintedWh, 10 * (k + 1), "its own register");
        }
        for (uint64 missing = 4; missing < 10; ++missing) {
            require(!registry.validateReading(deviceId, missing), "never accepted");
        }
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.ReadingOutsideHistory.selector, deviceId, 13));
        registry.mintedExportThrough(deviceId, 13);
    }

    function test_getEnergySource_returnsLotData() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 800, 0));
        IEnergyToken.SourceData memory source = token.getEnergySource((deviceId << 64) | 1);
        _assertEq(source.energyWh, 800, "amount");
        require(source.generator == prosumerPv, "generator");
        _assertEq(source.expiresAt, token.expiryOf(_interval(0)), "expiry");
    }

    function test_transferEnergyBatch_paysEveryRecipient() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 800, 0));
        address[] memory recipients = new address[](2);
        recipients[0] = consumer;
        recipients[1] = consumer;
        uint256[] memory amounts = new uint256[](2);
        amounts[0] = 100;
        amounts[1] = 50;
        vm.prank(prosumerPv);
        token.transferEnergyBatch(recipients, amounts);
        _assertEq(token.balanceOf(consumer), 150, "received");
        _assertEq(token.balanceOf(prosumerPv), 650, "sent");
    }

    function test_transferEnergyBatch_lengthMismatchReverts() public {
        vm.prank(prosumerPv);
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.BatchLengthMismatch.selector, 1, 0));
        token.transferEnergyBatch(new address[](1), new uint256[](0));
    }

    function test_burnEnergy_moreThanHeldReverts() public {
        vm.prank(prosumerPv);
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.InsufficientLiveEnergy.selector, prosumerPv, 0, 1));
        token.burnEnergy(1);
    }

    function test_burnEnergy_reducesSupply() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 800, 0));
        vm.prank(prosumerPv);
        token.burnEnergy(300);
        _assertEq(token.totalSupply(), 500, "supply");
    }

    // ------------------------------------------------------------ remaining custom errors
    function test_constructor_epochShorterThanAnHourReverts() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.InvalidEpochLength.selector, 60));
        new EnergyToken(address(manager), 60);
    }

    function test_setMeterRegistry_secondTimeReverts() public {
        bytes memory data = abi.encodeCall(token.setMeterRegistry, (registry));
        bytes memory signature = _multisigSignature(address(token), data, 2);
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.MeterRegistryAlreadySet.selector, address(registry)));
        multisig.execute(address(token), 0, data, signature);
    }

    function test_mintEnergy_malformedSourceDataReverts() public {
        vm.prank(address(registry));
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.MalformedSourceData.selector, 2));
        token.mintEnergy(prosumerPv, 1, hex"0102");
    }

    function test_mintEnergy_previousPartAboveLotReverts() public {
        vm.prank(address(registry));
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.InvalidEpochSplit.selector, 1, 2, 1));
        token.mintEnergy(prosumerPv, 1, abi.encode(uint256(1), uint256(_interval(0)), uint256(0), uint256(2)));
    }

    function test_mintEnergy_previousPartInFirstEpochReverts() public {
        vm.warp(3 hours);
        vm.prank(address(registry));
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.InvalidEpochSplit.selector, 1, 1, 1));
        token.mintEnergy(prosumerPv, 1, abi.encode(uint256(1), uint256(0), uint256(0), uint256(1)));
    }

    function test_mintEnergy_toUnverifiedReverts() public {
        vm.prank(address(registry));
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.ParticipantNotVerified.selector, address(0x777)));
        token.mintEnergy(address(0x777), 1, abi.encode(uint256(1), uint256(_interval(0)), uint256(0), uint256(0)));
    }

    function test_burnEnergy_zeroReverts() public {
        vm.prank(prosumerPv);
        vm.expectRevert(IEnergyToken.ZeroAmount.selector);
        token.burnEnergy(0);
    }

    function test_registerDevice_zeroAddressReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(ISmartMeter.InvalidDeviceAddress.selector);
        registry.registerDevice(address(0), _deviceData(prosumerPv, 1_000));
    }

    function test_registerDevice_unknownKindReverts() public {
        vm.prank(meterOperator);
        vm.expectRevert(ISmartMeter.InvalidDeviceKindOrSource.selector);
        registry.registerDevice(
            address(0x5678), abi.encode(prosumerPv, uint64(7), uint8(9), uint8(0), uint32(1_000), FIRMWARE)
        );
    }

    function test_registerDevice_unapprovedFirmwareReverts() public {
        bytes32 rogue = keccak256("rogue-fw");
        vm.prank(meterOperator);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.FirmwareNotApproved.selector, rogue));
        registry.registerDevice(
            address(0x5678), abi.encode(prosumerPv, uint64(7), uint8(2), uint8(0), uint32(1_000), rogue)
        );
    }

    function test_getDevice_unknownReverts() public {
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.UnknownDevice.selector, 99));
        registry.getDevice(99);
    }

    function test_resetQuarantine_activeDeviceReverts() public {
        bytes memory data = abi.encodeCall(registry.resetQuarantine, (deviceId, 0, 0));
        bytes memory signature = _multisigSignature(address(registry), data, 2);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.DeviceNotQuarantined.selector, deviceId));
        multisig.execute(address(registry), 0, data, signature);
    }

    function test_resetQuarantine_registersBelowLastReverts() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 500, 0));
        vm.warp(_interval(2) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 2, _interval(1), 0, 600, 1));
        bytes memory data = abi.encodeCall(registry.resetQuarantine, (deviceId, 0, 400));
        bytes memory signature = _multisigSignature(address(registry), data, 2);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.RegisterBelowLast.selector, deviceId));
        multisig.execute(address(registry), 0, data, signature);
    }

    function test_resetQuarantine_registerWiderThanDeviceWordReverts() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 500, 1));
        uint64 tooWide = uint64(1) << 48;
        bytes memory data = abi.encodeCall(registry.resetQuarantine, (deviceId, 0, tooWide));
        bytes memory signature = _multisigSignature(address(registry), data, 2);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.RegisterOutOfRange.selector, deviceId, tooWide - 1));
        multisig.execute(address(registry), 0, data, signature);
    }

    /// @dev The device word keeps a sequence in 32 bits and registers in 48: wider values are out
    ///      of range (skipped, resubmittable in range), not tamper evidence.
    function test_submitReadings_valueWiderThanDeviceWordRejectedWithoutQuarantine() public {
        vm.warp(_interval(1) + 10);
        ISmartMeter.SignedReading[] memory wide = new ISmartMeter.SignedReading[](3);
        wide[0] = _signed(DEVICE_KEY, deviceId, uint64(1) << 32, _interval(0), 0, 10, 0);
        wide[1] = _signed(DEVICE_KEY, deviceId, 1, _interval(0), uint64(1) << 48, 10, 0);
        wide[2] = _signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, uint64(1) << 48, 0);
        for (uint256 i; i < wide.length; ++i) {
            vm.expectEmit(true, false, false, true, address(registry));
            emit ISmartMeter.ReadingRejected(deviceId, wide[i].sequence, ISmartMeter.RejectReason.ValueOutOfRange);
            _assertEq(_submit(wide[i]), 0, "out of range");
        }
        require(_status() == ISmartMeter.DeviceStatus.Active, "not quarantined");
        _assertEq(registry.getDevice(deviceId).lastSequence, 0, "nothing recorded");
        _assertEq(_submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 10, 0)), 1, "in range accepted");
    }

    /// @dev The widest values the device word keeps survive a quarantine reset and a reading
    ///      exactly, beside the fields they are packed with.
    function test_submitReadings_widestValuesOfDeviceWordKept() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 500, 1));
        uint64 widest = type(uint48).max;
        bytes memory data = abi.encodeCall(registry.resetQuarantine, (deviceId, widest, widest));
        multisig.execute(address(registry), 0, data, _multisigSignature(address(registry), data, 2));
        vm.warp(_interval(2) + 10);
        uint64 seq = type(uint32).max;
        _assertEq(_submit(_signed(DEVICE_KEY, deviceId, seq, _interval(1), widest, widest, 0)), 1, "accepted");
        ISmartMeter.Device memory kept = registry.getDevice(deviceId);
        _assertEq(kept.lastSequence, seq, "sequence at 32 bits");
        _assertEq(kept.lastIntervalStart, _interval(1), "interval");
        _assertEq(kept.importWh, widest, "import at 48 bits");
        _assertEq(kept.exportWh, widest, "export at 48 bits");
        _assertEq(uint256(kept.ratedPowerW), 4_000, "rated power untouched");
        require(kept.status == ISmartMeter.DeviceStatus.Active, "status untouched");
        require(kept.signer == device && kept.firmwareHash == FIRMWARE, "key and firmware untouched");
    }

    function test_submitReading_staleRevertsWithReason() public {
        // Registration interval is the current one: a report now would cover a past interval.
        vm.prank(device);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISmartMeter.ReadingNotAccepted.selector, deviceId, ISmartMeter.RejectReason.IntervalNotAfterLast
            )
        );
        registry.submitReading(deviceId, 10);
    }

    function test_addSigners_directCallReverts() public {
        vm.expectRevert(abi.encodeWithSelector(GovernanceMultisig.MultisigOnlySelf.selector, address(this)));
        multisig.addSigners(new bytes[](0));
    }
}
