// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {Cheats} from "./base/Cheats.sol";
import {ReadingBatch} from "./base/ReadingBatch.sol";
import {ReadingRecords} from "../libraries/ReadingRecords.sol";
import {FoundationWorld} from "./Foundation.t.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";
import {IEnergyToken} from "../interfaces/IEnergyToken.sol";
import {IGridManagement} from "../interfaces/IGridManagement.sol";

/// @notice Forge cheatcodes only these tests use.
interface MockCalls {
    function mockCallRevert(address callee, bytes calldata data, bytes calldata revertData) external;
}

/// @notice The reading path under stress (issue 12): energy after gaps attributed to the epochs
///         it was generated in, no single reading reverting a batch, the batch bound, sequence
///         gaps, and the token's mint and burn events.
contract MeterReadingsTest is FoundationWorld {
    /// @notice Printed by forge with -vv (the ds-test convention).
    event log_named_uint(string key, uint256 val);

    // ------------------------------------------------------------ readings: energy attributed to its epochs
    /// @dev The registry's attribution, as a test oracle: the part of `deltaWh` generated before
    ///      `time` if it was generated at a uniform rate over [from, to).
    function _shareBefore(uint256 deltaWh, uint256 from, uint256 to, uint256 time) internal pure returns (uint256) {
        if (time <= from) return 0;
        return deltaWh * ((time < to ? time : to) - from) / (to - from);
    }

    function _dayStart() internal view returns (uint256) {
        return block.timestamp - (block.timestamp % 1 days);
    }

    function test_submitReadings_afterSuspension_splitsEnergyByEpochGenerated() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 1_000, 0));
        vm.prank(meterOperator);
        registry.setDeviceStatus(deviceId, ISmartMeter.DeviceStatus.Suspended);
        vm.warp(_interval(81) + 10); // 20 h later, across midnight
        vm.prank(meterOperator);
        registry.setDeviceStatus(deviceId, ISmartMeter.DeviceStatus.Active);
        uint64 jumpWh = 80_000; // 4 kW for 20 h
        _assertEq(_submit(_signed(DEVICE_KEY, deviceId, 2, _interval(80), 0, 1_000 + jumpWh, 0)), 1, "accepted");
        // The reading covers the end of interval 0 to the end of interval 80.
        uint256 yesterdayWh = _shareBefore(jumpWh, _interval(1), _interval(81), _dayStart());
        require(yesterdayWh > 0 && yesterdayWh < jumpWh, "the gap spans midnight");
        (uint256 currentWh, uint256 previousWh) = token.liveBuckets(prosumerPv);
        _assertEq(previousWh, 1_000 + yesterdayWh, "yesterday's part expires with yesterday's energy");
        _assertEq(currentWh, jumpWh - yesterdayWh, "today's part");
    }

    function test_submitReadings_afterThreeDaysSilence_expiredPartNeitherMintedNorCertifiable() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 1_000, 0));
        vm.warp(_interval(289) + 10);
        uint64 jumpWh = 288_000; // 4 kW for 72 h
        _assertEq(_submit(_signed(DEVICE_KEY, deviceId, 2, _interval(288), 0, 1_000 + jumpWh, 0)), 1, "accepted");
        uint256 expiredWh = _shareBefore(jumpWh, _interval(1), _interval(289), _dayStart() - 1 days);
        require(expiredWh > 0, "part of the gap lies in expired epochs");
        _assertEq(token.balanceOf(prosumerPv), jumpWh - expiredWh, "only the live part is minted");
        _assertEq(
            registry.mintedExportThrough(deviceId, 2).mintedWh, 1_000 + jumpWh - expiredWh, "certifiable = minted"
        );
        _assertEq(registry.getDevice(deviceId).exportWh, 1_000 + jumpWh, "the register is recorded in full");
        // Reading 1's entry predates the unminted record: it can no longer end a certificate.
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.ReadingBeforeReset.selector, deviceId, 1, 1));
        registry.mintedExportThrough(deviceId, 1);
    }

    function test_submitReadings_jumpBeyondCreditedGapQuarantines() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 1_000, 0));
        vm.warp(_interval(8 * 96 + 1) + 10); // 8 days of silence
        uint64 jumpWh = 4_000 * 8 * 24; // 4 kW for 8 days: more than 7 days of credit allow
        _submit(_signed(DEVICE_KEY, deviceId, 2, _interval(8 * 96), 0, 1_000 + jumpWh, 0));
        require(_status() == ISmartMeter.DeviceStatus.Quarantined, "quarantined");
        _assertEq(registry.getDevice(deviceId).exportWh, 1_000, "the jump is not recorded");
    }

    // ------------------------------------------------------------ readings: no single reading reverts a batch
    function _registerSecondDevice() internal returns (uint256) {
        vm.prank(meterOperator);
        registry.registerDevice(vm.addr(0xD2), _deviceData(consumer, 4_000));
        return registry.deviceIdOf(vm.addr(0xD2));
    }

    function test_submitReadings_readingAtWindowEdgeInExpiredEpoch_batchKeepsGoodReadings() public {
        uint256 dayEnd = T0 - (T0 % 1 days) + 1 days;
        // Window edge: interval end + reading window (1 day) = block time, two epochs later.
        uint256 edgeTime = dayEnd + 1 days;
        vm.warp(edgeTime - 1_000);
        uint256 secondId = _registerSecondDevice();
        vm.warp(edgeTime);
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](2);
        batch[0] = _signed(DEVICE_KEY, deviceId, 1, uint64(dayEnd - 900), 0, 500, 0);
        batch[1] = _signed(0xD2, secondId, 1, uint64(edgeTime - 1_800), 0, 700, 0);
        vm.prank(gateway);
        _assertEq(registry.submitReadings(ReadingBatch.packed(batch)), 2, "both accepted");
        _assertEq(token.balanceOf(prosumerPv), 0, "energy of an expired epoch is not minted");
        _assertEq(registry.getDevice(deviceId).exportWh, 500, "its register is recorded");
        _assertEq(token.balanceOf(consumer), 700, "the other reading of the batch is minted");
    }

    function test_submitReadings_mintRefusedSkippedGoodOneKept() public {
        uint256 secondId = _registerSecondDevice();
        vm.warp(_interval(1) + 10);
        bytes memory overflow = abi.encodeWithSelector(bytes4(keccak256("BucketOverflow(uint256)")), 1 << 64);
        MockCalls(address(vm))
            .mockCallRevert(address(token), abi.encodeWithSelector(token.mintEnergy.selector, prosumerPv), overflow);
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](2);
        batch[0] = _signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 10, 0);
        batch[1] = _signed(0xD2, secondId, 1, _interval(0), 0, 20, 0);
        vm.expectEmit(true, false, false, true, address(registry));
        emit ISmartMeter.MintRefused(deviceId, 1, overflow);
        vm.expectEmit(true, false, false, true, address(registry));
        emit ISmartMeter.ReadingRejected(deviceId, 1, ISmartMeter.RejectReason.MintRefused);
        vm.prank(gateway);
        _assertEq(registry.submitReadings(ReadingBatch.packed(batch)), 1, "one accepted");
        _assertEq(registry.getDevice(deviceId).lastSequence, 0, "the refused reading changed nothing");
        _assertEq(token.balanceOf(consumer), 20, "the good reading is minted");
    }

    function test_submitReadings_tokenPausedSkipsReadingsWithoutRevert() public {
        vm.warp(_interval(1) + 10);
        vm.prank(emergency);
        token.pause();
        _assertEq(_submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 10, 0)), 0, "skipped, not reverted");
        _assertEq(registry.getDevice(deviceId).lastSequence, 0, "resubmittable once the token runs");
    }

    function test_submitReadings_recordCarriesEveryFieldAtItsWidth() public {
        uint256 secondId = _registerSecondDevice();
        vm.warp(_interval(1) + 10);
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](2);
        batch[0] = _signed(DEVICE_KEY, deviceId, 1, _interval(0), 7, 10, 0);
        batch[1] = _signed(0xD2, secondId, 1, _interval(0), 0, 20, 0);
        vm.prank(gateway);
        _assertEq(registry.submitReadings(ReadingBatch.packed(batch)), 2, "both decoded and accepted");
        ISmartMeter.Device memory second = registry.getDevice(secondId);
        _assertEq(second.lastSequence, 1, "sequence");
        _assertEq(second.lastIntervalStart, _interval(0), "interval start");
        _assertEq(second.exportWh, 20, "export register");
        _assertEq(registry.getDevice(deviceId).importWh, 7, "import register");
    }

    function test_submitReadings_beyondBatchBoundReverts() public {
        uint256 bound = registry.MAX_BATCH_READINGS();
        vm.prank(gateway);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.BatchTooLarge.selector, bound + 1, bound));
        registry.submitReadings(new bytes((bound + 1) * ReadingRecords.RECORD_BYTES));
    }

    function test_submitReadings_fullBatchOfWorstReadingsFitsTransactionGasCap() public {
        bytes32 newFirmware = keccak256("meter-fw-1.1");
        bytes memory approve = abi.encodeCall(registry.setFirmwareApproval, (newFirmware, true));
        multisig.execute(address(registry), 0, approve, _multisigSignature(address(registry), approve, 2));
        uint256 count = registry.MAX_BATCH_READINGS();
        // Node 7 must carry the world's device and the whole batch's devices at their rated power.
        bytes memory widen = abi.encodeCall(IGridManagement.setConnectionCapacity, (7, uint32((count + 1) * 4_000)));
        address grid = registry.gridManagement();
        multisig.execute(grid, 0, widen, _multisigSignature(grid, widen, 2));
        for (uint256 i; i < count; ++i) {
            address owner = address(uint160(0x10000 + i));
            vm.prank(regulator);
            token.setParticipant(owner, true, 276);
            vm.prank(meterOperator);
            registry.registerDevice(vm.addr(0x5000 + i), _deviceData(owner, 4_000));
        }
        // Each reading: a sequence gap, a new firmware, a gap reaching into an expired epoch
        // (an unminted record), a mint into both live buckets and a burn.
        vm.warp(T0 + 2 days);
        uint64 start = uint64(block.timestamp - (block.timestamp % 900) - 900);
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](count);
        for (uint256 i; i < count; ++i) {
            batch[i] = _signedWith(0x5000 + i, deviceId + 1 + i, 3, start, 20_000, 100_000, 0, newFirmware);
        }
        bytes memory data = abi.encodeCall(registry.submitReadings, (ReadingBatch.packed(batch)));
        uint256 calldataGas;
        for (uint256 k; k < data.length; ++k) {
            calldataGas += data[k] == 0 ? 4 : 16;
        }
        vm.prank(gateway);
        uint256 before = gasleft();
        (bool ok, bytes memory result) = address(registry).call(data);
        uint256 executionGas = before - gasleft();
        require(ok && abi.decode(result, (uint256)) == count, "all accepted");
        emit log_named_uint("worst-case gas per reading (execution)", executionGas / count);
        emit log_named_uint("calldata gas per reading", calldataGas / count);
        require(21_000 + calldataGas + executionGas <= 1 << 24, "over the EIP-7825 transaction gas cap");
    }

    function test_submitReadings_sequenceGapReported() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 10, 0));
        vm.warp(_interval(3) + 10);
        vm.expectEmit(true, false, false, true, address(registry));
        emit ISmartMeter.ReadingSequenceGap(deviceId, 1, 4);
        _assertEq(_submit(_signed(DEVICE_KEY, deviceId, 4, _interval(2), 0, 30, 0)), 1, "accepted");
    }

    function test_submitReadings_consecutiveSequenceReportsNoGap() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 10, 0));
        vm.warp(_interval(2) + 10);
        vm.recordLogs();
        _submit(_signed(DEVICE_KEY, deviceId, 2, _interval(1), 0, 20, 0));
        Cheats.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 k; k < logs.length; ++k) {
            require(logs[k].topics[0] != ISmartMeter.ReadingSequenceGap.selector, "no gap reported");
        }
    }

    // ------------------------------------------------------------ mint and burn events
    function test_submitReadings_emitsEnergyMintedAndConsumptionBurn() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 800, 0));
        vm.warp(_interval(2) + 10);
        vm.expectEmit(true, true, false, true, address(token));
        emit IEnergyToken.EnergyMinted((deviceId << 64) | 2, prosumerPv, _interval(1), 0, 100);
        vm.expectEmit(true, false, false, true, address(token));
        emit IEnergyToken.EnergyBurned(prosumerPv, 300, IEnergyToken.BurnCause.Consumption);
        _submit(_signed(DEVICE_KEY, deviceId, 2, _interval(1), 300, 900, 0));
    }

    function test_burnEnergy_emitsHolderBurn() public {
        vm.warp(_interval(1) + 10);
        _submit(_signed(DEVICE_KEY, deviceId, 1, _interval(0), 0, 800, 0));
        vm.expectEmit(true, false, false, true, address(token));
        emit IEnergyToken.EnergyBurned(prosumerPv, 50, IEnergyToken.BurnCause.Holder);
        vm.prank(prosumerPv);
        token.burnEnergy(50);
    }
}
