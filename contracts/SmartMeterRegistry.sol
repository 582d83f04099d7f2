// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ISmartMeter} from "./interfaces/ISmartMeter.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {
    DeviceState,
    DeviceStateLibrary,
    DeviceProfile,
    DeviceProfileLibrary,
    HistoryEntry,
    HistoryEntryLibrary
} from "./libraries/DeviceRecords.sol";
import {ReadingRecords} from "./libraries/ReadingRecords.sol";

/// @title SmartMeterRegistry
/// @notice Smart meter identities and their signed readings. A reading that a registered,
///         active device signed and that passes the plausibility checks mints its export delta
///         as energy to the device owner, attributed to the epochs it was generated in (the
///         part in expired epochs is recorded, never minted), and burns its import delta from
///         the owner's energy. A reading that proves tampering mints nothing and quarantines
///         the device.
/// @dev Batch policy: skip and report. In submitReadings each bad reading is skipped with a
///      ReadingRejected event and changes nothing (a tampering one quarantines its device),
///      whatever the cause, the token's refusals included; the good ones in the same batch are
///      accepted. Nothing is lost: a skipped reading can
///      be resubmitted once its cause is gone, and the registers are cumulative, so a later
///      accepted reading carries any energy of readings that were never accepted.
contract SmartMeterRegistry is ISmartMeter, AccessManaged, Pausable, EIP712 {
    using ReadingRecords for bytes;

    // ---------------------------------------------------------------- constants
    /// @notice Readings cover aligned 15-minute intervals.
    uint256 public constant INTERVAL_SECONDS = DeviceStateLibrary.INTERVAL_SECONDS;
    /// @notice Accepted readings kept on-chain per device; older ones come from events.
    uint256 public constant HISTORY_LENGTH = 16;
    /// @notice Tolerance for clocks: an interval may end this much after the block time.
    uint256 public constant MAX_CLOCK_SKEW_SECONDS = 60;
    /// @notice A register may grow by at most rated power × elapsed time × (1 + 5 %) + 1 Wh:
    ///         5 % covers meter accuracy class and inverter overshoot, 1 Wh register rounding.
    uint256 public constant DELTA_TOLERANCE_BPS = 500;
    uint256 public constant DELTA_TOLERANCE_WH = 1;
    /// @notice The plausibility bound credits at most this much of the time a reading covers.
    ///         Beyond a week of silence the register jump is no longer checkable against rated
    ///         power (rated × gap grows without limit): such a jump above rated × 7 days is
    ///         treated as tamper evidence and needs an inspection (quarantine, reset). The cap
    ///         also keeps any delta below 2^48 Wh, the width of a history entry's delta field.
    uint256 public constant MAX_CREDITED_GAP_SECONDS = 7 days;
    /// @notice Most readings per submitReadings. The worst accepted reading measured about
    ///         100,000 gas (all-cold device and owner, fresh ring slot, an expired part recorded,
    ///         a firmware change, a burn and a sequence gap), so 128 readings stay under the
    ///         EIP-7825 per-transaction cap of 2^24 gas with the calldata (docs/gas.md).
    uint256 public constant MAX_BATCH_READINGS = 128;
    /// @notice Reading flag bits.
    uint8 public constant FLAG_TAMPER = 1;
    uint8 public constant FLAG_POWER_LOSS = 2;

    bytes32 public constant READING_TYPEHASH = keccak256(
        "MeterReading(uint64 deviceId,uint64 sequence,uint64 intervalStart,uint64 importWh,uint64 exportWh,uint8 flags,bytes32 firmwareHash)"
    );

    uint256 private constant FIRMWARE_APPROVED = 1 << 16;

    /// @notice Devices above this rated power need the multisig until it sets another threshold:
    ///         100 kW is where a connection stops being a household or small business one (in
    ///         Germany PV above 100 kW must be direct-marketed, EEG 2023 §21).
    uint32 public constant DEFAULT_LARGE_DEVICE_THRESHOLD_W = 100_000;

    // ---------------------------------------------------------------- storage
    IEnergyToken public immutable energyToken;
    /// The token's expiry epoch (immutable there), to attribute readings' energy to epochs.
    uint256 private immutable _epochSeconds;

    uint64 private _deviceCount;
    uint32 private _maxReadingAgeSeconds;
    uint16 private _firmwareCount;

    /// The hot-path word of each live key (a rotated-out key has none).
    mapping(address signer => DeviceState) private _stateOf;
    mapping(uint256 deviceId => address signer) private _signerOf;
    mapping(uint256 deviceId => DeviceProfile) private _profile;
    /// Written at registration in full (pre-warmed), so no reading writes a fresh slot.
    mapping(uint256 deviceId => HistoryEntry[HISTORY_LENGTH] entries) private _history;
    /// Every key ever registered or rotated in, to its device: a key is never reused.
    mapping(address device => uint256 deviceId) private _deviceIdOf;
    /// firmware hash => id (low 16 bits) | approved flag (bit 16)
    mapping(bytes32 firmwareHash => uint256 info) private _firmware;
    mapping(uint256 firmwareId => bytes32 firmwareHash) private _firmwareHashOf;
    /// Export register energy never minted (quarantine reset jumps, low 192 bits) and the reading
    /// sequence of the last reset (high 64 bits). Written only by resetQuarantine, so readings
    /// pay nothing for it.
    mapping(uint256 deviceId => uint256 word) private _unmintedExport;

    /// Device lifecycle: the grid whose node capacities bound rated powers (set once), the
    /// multisig's size threshold, its pending approvals and the rated power placed at each node.
    IGridManagement private _grid;
    uint32 private _largeDeviceThresholdW = DEFAULT_LARGE_DEVICE_THRESHOLD_W;
    mapping(address device => uint256 ratedPowerW) private _largeDeviceApproval;
    mapping(uint64 gridNodeId => uint256 ratedPowerW) private _nodeRatedPowerW;

    /// @param authority The AccessManager of the system.
    /// @param token The energy token this registry mints.
    /// @param maxReadingAgeSeconds_ How old a reading's interval may be when it arrives.
    constructor(address authority, IEnergyToken token, uint32 maxReadingAgeSeconds_)
        AccessManaged(authority)
        EIP712("GridLedger SmartMeterRegistry", "1")
    {
        energyToken = token;
        _epochSeconds = token.epochSeconds();
        _setReadingWindow(maxReadingAgeSeconds_);
    }

    // ---------------------------------------------------------------- device administration
    /// @inheritdoc ISmartMeter
    function registerDevice(address device, bytes memory deviceData) external restricted whenNotPaused {
        if (device == address(0)) revert InvalidDeviceAddress();
        if (_deviceIdOf[device] != 0) revert DeviceAlreadyRegistered(device, _deviceIdOf[device]);
        if (deviceData.length != 192) revert MalformedDeviceData(deviceData.length);
        (address owner, uint64 gridNodeId, uint8 kind, uint8 source, uint32 ratedPowerW, bytes32 firmwareHash) =
            abi.decode(deviceData, (address, uint64, uint8, uint8, uint32, bytes32));
        if (ratedPowerW == 0) revert InvalidRatedPower();
        if (kind > uint8(type(DeviceKind).max) || source > uint8(type(EnergySource).max)) {
            revert InvalidDeviceKindOrSource();
        }
        if (!energyToken.isVerified(owner)) revert OwnerNotVerified(owner);
        uint256 firmware = _firmware[firmwareHash];
        if (firmware & FIRMWARE_APPROVED == 0) revert FirmwareNotApproved(firmwareHash);
        _placeRatedPower(device, gridNodeId, 0, ratedPowerW);

        uint256 deviceId = ++_deviceCount;
        _deviceIdOf[device] = deviceId;
        _signerOf[deviceId] = device;
        // Baseline: registers at zero, accounting starts with the interval of registration.
        uint256 baselineStart = _alignedNow() - INTERVAL_SECONDS;
        _stateOf[device] = DeviceStateLibrary.registered(
            deviceId, uint8(DeviceStatus.Active), uint16(firmware), ratedPowerW, baselineStart
        );
        _profile[deviceId] = DeviceProfileLibrary.pack(owner, gridNodeId, kind, source);
        // Every ring slot gets the baseline (sequence 0: not a reading), so that the first
        // readings overwrite a nonzero slot (5,000 gas) instead of filling a fresh one (22,100).
        HistoryEntry baseline = HistoryEntryLibrary.pack(0, baselineStart, 0, 0, 0);
        for (uint256 i; i < HISTORY_LENGTH; ++i) {
            _history[deviceId][i] = baseline;
        }
        emit DeviceRegistered(
            deviceId, device, owner, gridNodeId, DeviceKind(kind), EnergySource(source), ratedPowerW, firmwareHash
        );
    }

    /// @inheritdoc ISmartMeter
    function setDeviceStatus(uint256 deviceId, DeviceStatus status) external restricted {
        (address signer, DeviceState state) = _existingState(deviceId);
        DeviceStatus from = DeviceStatus(state.status());
        // Quarantine has its own way in and out; decommissioning its own way in and none out.
        if (
            from == DeviceStatus.Quarantined || from == status || status == DeviceStatus.Quarantined
                || status == DeviceStatus.Unregistered || from == DeviceStatus.Decommissioned
                || status == DeviceStatus.Decommissioned
        ) revert InvalidStatusChange(deviceId, from, status);
        _stateOf[signer] = state.withStatus(uint8(status));
        emit DeviceStatusChanged(deviceId, from, status);
    }

    /// @inheritdoc ISmartMeter
    function transferDevice(uint256 deviceId, address newOwner) external restricted whenNotPaused {
        _liveState(deviceId);
        if (!energyToken.isVerified(newOwner)) revert OwnerNotVerified(newOwner);
        DeviceProfile profile = _profile[deviceId];
        _profile[deviceId] = profile.withOwner(newOwner);
        emit DeviceOwnerChanged(deviceId, profile.owner(), newOwner);
    }

    /// @inheritdoc ISmartMeter
    /// @dev The old key stays mapped to the device, so no registration or rotation can take it
    ///      again, and it no longer matches the signer: its readings are rejected as BadSignature.
    function rotateDeviceKey(uint256 deviceId, address newKey) external restricted whenNotPaused {
        (address oldKey, DeviceState state) = _liveState(deviceId);
        if (newKey == address(0)) revert InvalidDeviceAddress();
        uint256 holder = _deviceIdOf[newKey];
        if (holder != 0) revert DeviceAlreadyRegistered(newKey, holder);
        _deviceIdOf[newKey] = deviceId;
        _signerOf[deviceId] = newKey;
        _stateOf[newKey] = state;
        _stateOf[oldKey] = DeviceState.wrap(0);
        emit DeviceKeyRotated(deviceId, oldKey, newKey);
    }

    /// @inheritdoc ISmartMeter
    function setRatedPower(uint256 deviceId, uint32 ratedPowerW) external restricted whenNotPaused {
        (address signer, DeviceState state) = _liveState(deviceId);
        if (ratedPowerW == 0) revert InvalidRatedPower();
        uint256 fromW = state.ratedPowerW();
        _placeRatedPower(signer, _profile[deviceId].gridNodeId(), fromW, ratedPowerW);
        _stateOf[signer] = state.withRatedPower(ratedPowerW);
        emit DeviceRatedPowerChanged(deviceId, fromW, ratedPowerW);
    }

    /// @inheritdoc ISmartMeter
    /// @dev Allowed while paused: it only takes minting power away.
    function decommissionDevice(uint256 deviceId) external restricted {
        (address signer, DeviceState state) = _liveState(deviceId);
        _nodeRatedPowerW[_profile[deviceId].gridNodeId()] -= state.ratedPowerW();
        _stateOf[signer] = state.withStatus(uint8(DeviceStatus.Decommissioned));
        emit DeviceStatusChanged(deviceId, DeviceStatus(state.status()), DeviceStatus.Decommissioned);
    }

    /// @inheritdoc ISmartMeter
    function setGridManagement(address grid) external restricted {
        if (grid == address(0)) revert GridManagementNotSet();
        if (address(_grid) != address(0)) revert GridManagementAlreadySet(address(_grid));
        _grid = IGridManagement(grid);
        emit GridManagementSet(grid);
    }

    /// @inheritdoc ISmartMeter
    function setLargeDeviceThreshold(uint32 thresholdW) external restricted {
        _largeDeviceThresholdW = thresholdW;
        emit LargeDeviceThresholdSet(thresholdW);
    }

    /// @inheritdoc ISmartMeter
    function approveLargeDevice(address device, uint32 ratedPowerW) external restricted {
        _largeDeviceApproval[device] = ratedPowerW;
        emit LargeDeviceApproved(device, ratedPowerW);
    }

    /// @inheritdoc ISmartMeter
    function resetQuarantine(uint256 deviceId, uint64 importWh, uint64 exportWh) external restricted {
        (address signer, DeviceState state) = _existingState(deviceId);
        if (DeviceStatus(state.status()) != DeviceStatus.Quarantined) revert DeviceNotQuarantined(deviceId);
        // Energy between the last accepted registers and the inspected ones is never minted.
        if (importWh < state.importWh() || exportWh < state.exportWh()) revert RegisterBelowLast(deviceId);
        if (importWh > DeviceStateLibrary.MAX_REGISTER_WH || exportWh > DeviceStateLibrary.MAX_REGISTER_WH) {
            revert RegisterOutOfRange(deviceId, DeviceStateLibrary.MAX_REGISTER_WH);
        }
        uint256 baselineStart = _alignedNow() - INTERVAL_SECONDS;
        if (baselineStart < state.intervalStart()) baselineStart = state.intervalStart();
        uint256 head = state.head();
        HistoryEntry last = _history[deviceId][head];
        _history[deviceId][head] =
            HistoryEntryLibrary.pack(last.sequence(), baselineStart, importWh, exportWh, last.exportDeltaWh());
        _stateOf[signer] = state.withRegisters(baselineStart, importWh, exportWh).withStatus(uint8(DeviceStatus.Active));
        uint256 unmintedWh = uint192(_unmintedExport[deviceId]) + (exportWh - state.exportWh());
        _unmintedExport[deviceId] = unmintedWh | (state.sequence() << 192);
        emit QuarantineReset(deviceId, importWh, exportWh);
        emit DeviceStatusChanged(deviceId, DeviceStatus.Quarantined, DeviceStatus.Active);
    }

    /// @inheritdoc ISmartMeter
    function setFirmwareApproval(bytes32 firmwareHash, bool approved) external restricted {
        if (firmwareHash == bytes32(0)) revert FirmwareNotApproved(firmwareHash);
        uint256 info = _firmware[firmwareHash];
        uint256 id = uint16(info);
        if (id == 0) {
            id = ++_firmwareCount;
            _firmwareHashOf[id] = firmwareHash;
        }
        _firmware[firmwareHash] = id | (approved ? FIRMWARE_APPROVED : 0);
        emit FirmwareApprovalSet(firmwareHash, approved);
    }

    /// @inheritdoc ISmartMeter
    function setReadingWindow(uint32 maxAgeSeconds) external restricted {
        _setReadingWindow(maxAgeSeconds);
    }

    /// @dev Moves a device's rated power at `gridNodeId` from `fromW` to `toW`. A rise must fit the
    ///      node's connection capacity together with the node's other devices (so more devices
    ///      on one node add no minting power) and, above the threshold, use up the multisig's
    ///      approval of exactly (device, toW); a reduction is always allowed.
    function _placeRatedPower(address device, uint64 gridNodeId, uint256 fromW, uint256 toW) private {
        uint256 nodeW = _nodeRatedPowerW[gridNodeId] - fromW + toW;
        if (toW > fromW) {
            IGridManagement grid = _grid;
            if (address(grid) == address(0)) revert GridManagementNotSet();
            uint256 capacityW = grid.connectionCapacityW(gridNodeId);
            if (capacityW == 0) revert NoConnectionCapacity(gridNodeId);
            if (nodeW > capacityW) revert ConnectionCapacityExceeded(gridNodeId, nodeW, capacityW);
            uint256 thresholdW = _largeDeviceThresholdW;
            if (toW > thresholdW) {
                if (_largeDeviceApproval[device] != toW) revert LargeDeviceNotApproved(device, toW, thresholdW);
                delete _largeDeviceApproval[device];
            }
        }
        _nodeRatedPowerW[gridNodeId] = nodeW;
    }

    /// @notice EMERGENCY: stop registrations and readings.
    function pause() external restricted {
        _pause();
    }

    /// @notice ADMIN (multisig): resume registrations and readings.
    function unpause() external restricted {
        _unpause();
    }

    // ---------------------------------------------------------------- readings
    /// @inheritdoc ISmartMeter
    function submitReadings(bytes calldata readings) external restricted whenNotPaused returns (uint256 accepted) {
        uint256 count = readings.count();
        if (count == 0) revert EmptyBatch();
        if (count > MAX_BATCH_READINGS) revert BatchTooLarge(count, MAX_BATCH_READINGS);
        uint256 maxAge = _maxReadingAgeSeconds;
        for (uint256 i; i < count; ++i) {
            SignedReading memory reading = readings.readingAt(i);
            (address recovered, ECDSA.RecoverError err,) =
                ECDSA.tryRecover(readingDigestOf(reading), reading.r, reading.vs);
            // A signature that recovers no key finds no device word, like a foreign key's.
            if (err != ECDSA.RecoverError.NoError) recovered = address(0);
            if (_processReading(reading, recovered, maxAge) == RejectReason.None) ++accepted;
        }
    }

    /// @inheritdoc ISmartMeter
    function submitReading(uint256 deviceId, uint256 reading) external whenNotPaused {
        if (!_isRegistered(deviceId)) revert UnknownDevice(deviceId);
        DeviceState state = _stateOf[msg.sender];
        if (state.deviceId() != deviceId) revert NotDeviceKey(msg.sender, deviceId);
        if (reading > DeviceStateLibrary.MAX_REGISTER_WH) {
            revert ReadingNotAccepted(deviceId, RejectReason.ValueOutOfRange);
        }
        SignedReading memory signed = SignedReading({
            deviceId: uint64(deviceId),
            sequence: uint64(state.sequence() + 1),
            intervalStart: uint64(_alignedNow() - INTERVAL_SECONDS),
            importWh: uint64(state.importWh()),
            exportWh: uint64(reading),
            flags: 0,
            firmwareHash: _firmwareHashOf[state.firmwareId()],
            r: bytes32(0),
            vs: bytes32(0)
        });
        // The caller is the device key: the transaction's signature is the reading's.
        RejectReason reason = _processReading(signed, msg.sender, _maxReadingAgeSeconds);
        // A tampering reading is answered by quarantine, which must persist: no revert then.
        if (reason != RejectReason.None && !_isTamperEvidence(reason)) revert ReadingNotAccepted(deviceId, reason);
    }

    /// @dev Checks and applies one reading that `signer` signed; returns why it was rejected,
    ///      or None. Never reverts on account of the reading (skip and report). The device word
    ///      is keyed by the signing key, so a reading signed by any other key finds no word of
    ///      its device: that is the signature check.
    function _processReading(SignedReading memory reading, address signer, uint256 maxAge)
        private
        returns (RejectReason)
    {
        uint256 deviceId = reading.deviceId;
        DeviceState state = _stateOf[signer];
        if (state.deviceId() != deviceId || deviceId == 0) {
            return _reject(reading, _isRegistered(deviceId) ? RejectReason.BadSignature : RejectReason.UnknownDevice);
        }
        if (state.status() != uint8(DeviceStatus.Active)) return _reject(reading, RejectReason.DeviceNotActive);

        RejectReason reason = _checkOrderAndTime(reading, state, maxAge);
        if (reason != RejectReason.None) return _reject(reading, reason);

        uint256 firmware = _firmware[reading.firmwareHash];
        reason = _checkTamper(reading, state, firmware);
        if (reason != RejectReason.None) {
            _stateOf[signer] = state.withStatus(uint8(DeviceStatus.Quarantined));
            emit DeviceQuarantined(deviceId, reading.sequence, reason);
            emit DeviceStatusChanged(deviceId, DeviceStatus.Active, DeviceStatus.Quarantined);
            return _reject(reading, reason);
        }
        return _commitReading(reading, signer, state, _profile[deviceId].owner(), uint16(firmware));
    }

    /// @dev Replay, ordering and clock checks: failing them is not evidence of tampering.
    function _checkOrderAndTime(SignedReading memory reading, DeviceState last, uint256 maxAge)
        private
        view
        returns (RejectReason)
    {
        if (reading.sequence <= last.sequence()) return RejectReason.StaleSequence;
        if (
            reading.sequence > DeviceStateLibrary.MAX_SEQUENCE || reading.importWh > DeviceStateLibrary.MAX_REGISTER_WH
                || reading.exportWh > DeviceStateLibrary.MAX_REGISTER_WH
        ) return RejectReason.ValueOutOfRange;
        uint256 start = reading.intervalStart;
        if (start % INTERVAL_SECONDS != 0) return RejectReason.MisalignedInterval;
        if (start <= last.intervalStart()) return RejectReason.IntervalNotAfterLast;
        if (start + INTERVAL_SECONDS > block.timestamp + MAX_CLOCK_SKEW_SECONDS) return RejectReason.IntervalInFuture;
        if (start + INTERVAL_SECONDS + maxAge < block.timestamp) return RejectReason.IntervalTooOld;
        return RejectReason.None;
    }

    /// @dev Evidence a correctly signed reading can give that the meter is tampered with. The
    ///      bound credits the time the reading covers (end of the last accepted interval to the
    ///      end of this one), capped at MAX_CREDITED_GAP_SECONDS.
    function _checkTamper(SignedReading memory reading, DeviceState last, uint256 firmware)
        private
        pure
        returns (RejectReason)
    {
        uint256 ratedPowerW = last.ratedPowerW();
        if (reading.flags & FLAG_TAMPER != 0) return RejectReason.TamperFlag;
        if (firmware & FIRMWARE_APPROVED == 0) return RejectReason.FirmwareNotApproved;
        if (reading.importWh < last.importWh() || reading.exportWh < last.exportWh()) {
            return RejectReason.RegisterRollback;
        }
        uint256 coveredSeconds = reading.intervalStart - last.intervalStart();
        if (coveredSeconds > MAX_CREDITED_GAP_SECONDS) coveredSeconds = MAX_CREDITED_GAP_SECONDS;
        uint256 maxDeltaWh =
            ratedPowerW * coveredSeconds * (10_000 + DELTA_TOLERANCE_BPS) / (3600 * 10_000) + DELTA_TOLERANCE_WH;
        if (reading.exportWh - last.exportWh() > maxDeltaWh || reading.importWh - last.importWh() > maxDeltaWh) {
            return RejectReason.ImpossibleDelta;
        }
        return RejectReason.None;
    }

    /// @dev Mints first, so that a refused mint leaves the device untouched (the token is the
    ///      immutable, trusted EnergyToken); then records the reading.
    function _commitReading(
        SignedReading memory reading,
        address signer,
        DeviceState last,
        address owner,
        uint256 firmwareId
    ) private returns (RejectReason) {
        uint256 importDelta = reading.importWh - last.importWh();
        (uint256 expiredWh, uint256 previousWh, uint256 currentWh) =
            _attributeExport(reading.exportWh - last.exportWh(), last.intervalStart(), reading.intervalStart);
        uint256 mintedWh = previousWh + currentWh;
        RejectReason refusal = _mintReading(reading, owner, mintedWh, importDelta, previousWh);
        if (refusal != RejectReason.None) return refusal;
        _recordReading(reading, signer, last, firmwareId, mintedWh);
        if (expiredWh != 0) _recordExpiredExport(reading.deviceId, reading.sequence, expiredWh);
        _emitAccepted(reading, mintedWh, importDelta);
        return RejectReason.None;
    }

    /// @dev Mints the reading's live export to the owner and burns its import from the owner's
    ///      energy; the token's refusal becomes the reading's rejection.
    function _mintReading(
        SignedReading memory reading,
        address owner,
        uint256 mintedWh,
        uint256 importDelta,
        uint256 previousWh
    ) private returns (RejectReason) {
        uint256 lotId = (uint256(reading.deviceId) << 64) | reading.sequence;
        // Called even with nothing to mint: the token checks that the owner is still verified.
        try energyToken.mintEnergy(
            owner, mintedWh, abi.encode(lotId, reading.intervalStart, importDelta, previousWh)
        ) {}
        catch (bytes memory refusal) {
            if (bytes4(refusal) == IEnergyToken.ParticipantNotVerified.selector) {
                return _reject(reading, RejectReason.OwnerNotVerified);
            }
            emit MintRefused(reading.deviceId, reading.sequence, refusal);
            return _reject(reading, RejectReason.MintRefused);
        }
        return RejectReason.None;
    }

    /// @dev Writes the reading into the next history entry and the device word.
    function _recordReading(
        SignedReading memory reading,
        address signer,
        DeviceState last,
        uint256 firmwareId,
        uint256 mintedWh
    ) private {
        uint256 deviceId = reading.deviceId;
        uint256 head = (last.head() + 1) % HISTORY_LENGTH;
        _history[deviceId][head] = HistoryEntryLibrary.pack(
            reading.sequence, reading.intervalStart, reading.importWh, reading.exportWh, mintedWh
        );
        if (firmwareId != last.firmwareId()) {
            emit DeviceFirmwareUpdated(deviceId, _firmwareHashOf[last.firmwareId()], reading.firmwareHash);
        }
        _stateOf[signer] = last.withReading(
            firmwareId, reading.sequence, reading.intervalStart, reading.importWh, reading.exportWh, head
        );
        uint256 lastSequence = last.sequence();
        if (reading.sequence > lastSequence + 1) emit ReadingSequenceGap(deviceId, lastSequence, reading.sequence);
    }

    /// @dev Attributes an export delta pro rata to the time the reading covers, from the end of
    ///      the last accepted interval to the end of this one, and splits it by the token's
    ///      epochs at the block time: expired (before the previous epoch), previous, current.
    ///      A meter reports only cumulative registers, so a uniform rate over the gap is the
    ///      only attribution it supports; the live part is at most rated power × live time.
    function _attributeExport(uint256 deltaWh, uint256 lastStart, uint256 start)
        private
        view
        returns (uint256 expiredWh, uint256 previousWh, uint256 currentWh)
    {
        uint256 epochSeconds = _epochSeconds;
        uint256 currentFrom = block.timestamp - (block.timestamp % epochSeconds);
        uint256 coveredFrom = lastStart + INTERVAL_SECONDS;
        // The usual case: consecutive readings within the current epoch.
        if (deltaWh == 0 || coveredFrom >= currentFrom) return (0, 0, deltaWh);
        uint256 coveredSeconds = start - lastStart;
        // currentFrom > coveredFrom ≥ 0 here, so currentFrom ≥ one epoch.
        uint256 throughPreviousWh = deltaWh * _coveredBefore(coveredFrom, coveredSeconds, currentFrom) / coveredSeconds;
        expiredWh = deltaWh * _coveredBefore(coveredFrom, coveredSeconds, currentFrom - epochSeconds) / coveredSeconds;
        previousWh = throughPreviousWh - expiredWh;
        currentWh = deltaWh - throughPreviousWh;
    }

    /// @dev Seconds of [from, from + length) before `time`.
    function _coveredBefore(uint256 from, uint256 length, uint256 time) private pure returns (uint256) {
        if (time <= from) return 0;
        return time - from < length ? time - from : length;
    }

    /// @dev Counts export that fell in expired epochs as unminted, so that mintedExportThrough
    ///      (and the carbon certification through it) excludes it. The reading's own entry holds
    ///      the register including that energy, so it answers; earlier entries no longer do.
    function _recordExpiredExport(uint256 deviceId, uint256 sequence, uint256 expiredWh) private {
        uint256 unmintedWh = uint192(_unmintedExport[deviceId]) + expiredWh;
        _unmintedExport[deviceId] = unmintedWh | ((sequence - 1) << 192);
        emit ExportExpiredUnminted(deviceId, sequence, expiredWh);
    }

    function _isTamperEvidence(RejectReason reason) private pure returns (bool) {
        return reason >= RejectReason.TamperFlag && reason <= RejectReason.ImpossibleDelta;
    }

    function _emitAccepted(SignedReading memory reading, uint256 exportDelta, uint256 importDelta) private {
        emit ReadingAccepted(
            reading.deviceId,
            reading.sequence,
            reading.intervalStart,
            reading.importWh,
            reading.exportWh,
            exportDelta,
            importDelta,
            reading.flags
        );
    }

    function _reject(SignedReading memory reading, RejectReason reason) private returns (RejectReason) {
        emit ReadingRejected(reading.deviceId, reading.sequence, reason);
        return reason;
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc ISmartMeter
    function validateReading(uint256 deviceId, uint256 readingId) external view returns (bool) {
        (, DeviceState state) = _existingState(deviceId);
        (bool found,) = _findInHistory(deviceId, state, readingId);
        return found;
    }

    /// @inheritdoc ISmartMeter
    function getDeviceHistory(uint256 deviceId) external view returns (Reading[] memory history) {
        (, DeviceState state) = _existingState(deviceId);
        uint256 head = state.head();
        uint256 filled;
        for (uint256 i; i < HISTORY_LENGTH; ++i) {
            if (_history[deviceId][i].sequence() != 0) ++filled;
        }
        history = new Reading[](filled);
        // Walk from the oldest kept entry to the head, skipping the registration baseline.
        uint256 n;
        for (uint256 step = 1; step <= HISTORY_LENGTH; ++step) {
            HistoryEntry entry = _history[deviceId][(head + step) % HISTORY_LENGTH];
            if (entry.sequence() == 0) continue;
            history[n++] = Reading({
                sequence: entry.sequence(),
                intervalStart: entry.intervalStart(),
                importWh: entry.importWh(),
                exportWh: entry.exportWh(),
                exportDeltaWh: entry.exportDeltaWh()
            });
        }
    }

    /// @inheritdoc ISmartMeter
    function lotSource(uint256 lotId)
        external
        view
        returns (uint256 deviceId, address owner, uint8 source, uint256 intervalStart, uint256 energyWh)
    {
        deviceId = lotId >> 64;
        (, DeviceState state) = _existingState(deviceId);
        (bool found, HistoryEntry entry) = _findInHistory(deviceId, state, uint64(lotId));
        if (!found || entry.exportDeltaWh() == 0) revert ReadingOutsideHistory(deviceId, uint64(lotId));
        DeviceProfile profile = _profile[deviceId];
        return (deviceId, profile.owner(), profile.source(), entry.intervalStart(), entry.exportDeltaWh());
    }

    /// @inheritdoc ISmartMeter
    function mintedExportThrough(uint256 deviceId, uint256 sequence) external view returns (MintedExport memory) {
        (, DeviceState state) = _existingState(deviceId);
        (bool found, HistoryEntry entry) = _findInHistory(deviceId, state, sequence);
        if (!found) revert ReadingOutsideHistory(deviceId, sequence);
        uint256 unminted = _unmintedExport[deviceId];
        uint256 resetSequence = unminted >> 192;
        // The reset rewrote its reading's entry (registers and interval), so that reading's own
        // figures are no longer what was minted: only later readings can end a certification.
        if (sequence <= resetSequence) revert ReadingBeforeReset(deviceId, sequence, resetSequence);
        DeviceProfile profile = _profile[deviceId];
        return MintedExport({
            owner: profile.owner(),
            source: EnergySource(profile.source()),
            status: DeviceStatus(state.status()),
            intervalStart: entry.intervalStart(),
            mintedWh: entry.exportWh() - uint192(unminted)
        });
    }

    /// @inheritdoc ISmartMeter
    function getDevice(uint256 deviceId) external view returns (Device memory device) {
        (address signer, DeviceState state) = _existingState(deviceId);
        DeviceProfile profile = _profile[deviceId];
        device = Device({
            signer: signer,
            owner: profile.owner(),
            gridNodeId: profile.gridNodeId(),
            kind: DeviceKind(profile.kind()),
            source: EnergySource(profile.source()),
            ratedPowerW: uint32(state.ratedPowerW()),
            status: DeviceStatus(state.status()),
            firmwareHash: _firmwareHashOf[state.firmwareId()],
            lastSequence: state.sequence(),
            lastIntervalStart: state.intervalStart(),
            importWh: state.importWh(),
            exportWh: state.exportWh()
        });
    }

    /// @inheritdoc ISmartMeter
    /// @dev 0 for a rotated-out key too: it is reserved but signs for nothing.
    function deviceIdOf(address device) external view returns (uint256 deviceId) {
        deviceId = _deviceIdOf[device];
        if (deviceId != 0 && _signerOf[deviceId] != device) return 0;
    }

    /// @notice The GridManagement whose node capacities bound rated powers (0 until set).
    function gridManagement() external view returns (address) {
        return address(_grid);
    }

    /// @notice Rated power (W) above which a device needs the multisig's approval.
    function largeDeviceThresholdW() external view returns (uint256) {
        return _largeDeviceThresholdW;
    }

    /// @notice The rated power (W) the multisig approved for key `device`, not yet used (0: none).
    function largeDeviceApproval(address device) external view returns (uint256) {
        return _largeDeviceApproval[device];
    }

    /// @notice Summed rated power (W) of the live devices at a grid node.
    function nodeRatedPowerW(uint64 gridNodeId) external view returns (uint256) {
        return _nodeRatedPowerW[gridNodeId];
    }

    /// @inheritdoc ISmartMeter
    function deviceCount() external view returns (uint256) {
        return _deviceCount;
    }

    /// @inheritdoc ISmartMeter
    function isFirmwareApproved(bytes32 firmwareHash) external view returns (bool) {
        return _firmware[firmwareHash] & FIRMWARE_APPROVED != 0;
    }

    /// @notice Maximum age (seconds after its interval ended) at which a reading is accepted.
    function maxReadingAgeSeconds() external view returns (uint256) {
        return _maxReadingAgeSeconds;
    }

    /// @inheritdoc ISmartMeter
    function readingDigest(SignedReading calldata reading) external view returns (bytes32) {
        return readingDigestOf(reading);
    }

    /// @notice The EIP-712 digest a device signs for `reading`.
    function readingDigestOf(SignedReading memory reading) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    READING_TYPEHASH,
                    reading.deviceId,
                    reading.sequence,
                    reading.intervalStart,
                    reading.importWh,
                    reading.exportWh,
                    reading.flags,
                    reading.firmwareHash
                )
            )
        );
    }

    // ---------------------------------------------------------------- internals
    /// @dev Device ids are numbered from 1 without gaps.
    function _isRegistered(uint256 deviceId) private view returns (bool) {
        return deviceId != 0 && deviceId <= _deviceCount;
    }

    function _existingState(uint256 deviceId) private view returns (address signer, DeviceState state) {
        signer = _signerOf[deviceId];
        if (signer == address(0)) revert UnknownDevice(deviceId);
        state = _stateOf[signer];
    }

    function _liveState(uint256 deviceId) private view returns (address signer, DeviceState state) {
        (signer, state) = _existingState(deviceId);
        if (state.status() == uint8(DeviceStatus.Decommissioned)) revert DeviceIsDecommissioned(deviceId);
    }

    function _findInHistory(uint256 deviceId, DeviceState state, uint256 sequence)
        private
        view
        returns (bool found, HistoryEntry entry)
    {
        uint256 head = state.head();
        // Readings fill the ring in order, so without a sequence gap since `sequence` it sits as
        // many slots behind the head as it is readings old: one read instead of the walk. The
        // entry's own sequence confirms the guess (each sequence is in the ring at most once).
        uint256 lastSequence = state.sequence();
        if (sequence != 0 && sequence <= lastSequence && lastSequence - sequence < HISTORY_LENGTH) {
            entry = _history[deviceId][(head + HISTORY_LENGTH - (lastSequence - sequence)) % HISTORY_LENGTH];
            if (entry.sequence() == sequence) return (true, entry);
        }
        uint256 oldest = type(uint256).max;
        for (uint256 i; i < HISTORY_LENGTH; ++i) {
            HistoryEntry candidate = _history[deviceId][i];
            uint256 seq = candidate.sequence();
            // Sequence 0 is the registration baseline in slots not yet written by a reading.
            if (seq == 0 && i != head) continue;
            if (seq == sequence && sequence != 0) return (true, candidate);
            if (seq < oldest) oldest = seq;
        }
        // Older than every kept entry: only the indexer can answer.
        if (sequence < oldest || sequence == 0) revert ReadingOutsideHistory(deviceId, sequence);
        return (false, HistoryEntry.wrap(0));
    }

    function _setReadingWindow(uint32 maxAgeSeconds) private {
        // Energy must still be live when minted: a reading may be at most one epoch old.
        uint256 limit = energyToken.epochSeconds();
        if (maxAgeSeconds < INTERVAL_SECONDS || maxAgeSeconds > limit) {
            revert InvalidReadingWindow(maxAgeSeconds, limit);
        }
        _maxReadingAgeSeconds = maxAgeSeconds;
        emit ReadingWindowSet(maxAgeSeconds);
    }

    function _alignedNow() private view returns (uint256) {
        return block.timestamp - (block.timestamp % INTERVAL_SECONDS);
    }
}
