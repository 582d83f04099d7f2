// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title ISmartMeter
/// @notice Registry of smart meters: device identity, signed readings, plausibility and tamper
///         checks, recent history. Accepted readings mint (export) and burn (import) energy.
/// @dev The brief's four functions keep their names and argument types; the gateway batch,
///      events, errors and device administration are added.
interface ISmartMeter {
    // ---------------------------------------------------------------- types
    enum DeviceKind {
        Producer,
        Consumer,
        Prosumer,
        Storage
    }

    enum EnergySource {
        Solar,
        Wind,
        Hydro,
        Biomass,
        Geothermal,
        GridMix,
        Storage
    }

    enum DeviceStatus {
        Unregistered,
        Active,
        Maintenance,
        Suspended,
        Quarantined,
        /// Final: no reading is accepted again and the device's keys stay reserved.
        Decommissioned
    }

    /// @notice Why a reading was not accepted. Tamper reasons quarantine the device.
    enum RejectReason {
        None,
        UnknownDevice,
        BadSignature,
        DeviceNotActive,
        OwnerNotVerified,
        StaleSequence,
        MisalignedInterval,
        IntervalNotAfterLast,
        IntervalInFuture,
        IntervalTooOld,
        ValueOutOfRange,
        // --- tamper evidence: the device is quarantined
        TamperFlag,
        FirmwareNotApproved,
        RegisterRollback,
        ImpossibleDelta,
        // --- appended: not tamper evidence, the device stays as it is
        MintRefused // the EnergyToken refused the mint or burn (see MintRefused event)
    }

    /// @notice deviceData of registerDevice, abi-encoded.
    struct DeviceData {
        address owner;
        uint64 gridNodeId;
        DeviceKind kind;
        EnergySource source;
        uint32 ratedPowerW;
        bytes32 firmwareHash;
    }

    /// @notice A reading as the device signs it (EIP-712 type MeterReading) plus its signature.
    /// @dev Registers are cumulative since commissioning; `flags` bit 0 = tamper switch,
    ///      bit 1 = power loss during the interval. `vs` is the EIP-2098 compact s with v's bit.
    struct SignedReading {
        uint64 deviceId;
        uint64 sequence;
        uint64 intervalStart;
        uint64 importWh;
        uint64 exportWh;
        uint8 flags;
        bytes32 firmwareHash;
        bytes32 r;
        bytes32 vs;
    }

    /// @notice One entry of a device's recent history.
    struct Reading {
        uint256 sequence;
        uint256 intervalStart;
        uint256 importWh;
        uint256 exportWh;
        uint256 exportDeltaWh; // export energy minted from the reading (its delta less any expired part)
    }

    /// @notice A device's registration and current state.
    struct Device {
        address signer;
        address owner;
        uint64 gridNodeId;
        DeviceKind kind;
        EnergySource source;
        uint32 ratedPowerW;
        DeviceStatus status;
        bytes32 firmwareHash;
        uint256 lastSequence;
        uint256 lastIntervalStart;
        uint256 importWh;
        uint256 exportWh;
    }

    /// @notice What the registry minted from a device's export register up to one accepted reading:
    ///         the data a carbon verifier needs to certify the device's energy lots up to it.
    struct MintedExport {
        address owner;
        EnergySource source;
        DeviceStatus status;
        uint256 intervalStart; // the reading's interval
        uint256 mintedWh; // export energy minted from registration through this reading
    }

    // ---------------------------------------------------------------- errors
    error InvalidDeviceAddress();
    error DeviceAlreadyRegistered(address device, uint256 deviceId);
    error MalformedDeviceData(uint256 length);
    error InvalidRatedPower();
    error InvalidDeviceKindOrSource();
    /// @notice The registry has no GridManagement yet: rated powers cannot be bounded.
    error GridManagementNotSet();
    /// @notice The GridManagement reference is set once, by the multisig.
    error GridManagementAlreadySet(address grid);
    /// @notice The device's grid node has no connection capacity recorded by the grid operator.
    error NoConnectionCapacity(uint64 gridNodeId);
    /// @notice The rated powers of the node's devices together would exceed its connection capacity.
    error ConnectionCapacityExceeded(uint64 gridNodeId, uint256 nodeRatedPowerW, uint256 capacityW);
    /// @notice A device above the governance threshold needs the multisig's approval of
    ///         exactly this key and rated power (approveLargeDevice).
    error LargeDeviceNotApproved(address device, uint256 ratedPowerW, uint256 thresholdW);
    /// @notice The device is decommissioned: nothing about it can change any more.
    error DeviceIsDecommissioned(uint256 deviceId);
    error OwnerNotVerified(address owner);
    error FirmwareNotApproved(bytes32 firmwareHash);
    error UnknownDevice(uint256 deviceId);
    error NotDeviceKey(address caller, uint256 deviceId);
    error ReadingNotAccepted(uint256 deviceId, RejectReason reason);
    error ReadingOutsideHistory(uint256 deviceId, uint256 readingId);
    error InvalidStatusChange(uint256 deviceId, DeviceStatus from, DeviceStatus to);
    error DeviceNotQuarantined(uint256 deviceId);
    error RegisterBelowLast(uint256 deviceId);
    /// @notice An inspected register above the widest value the device word keeps (`maxWh`).
    error RegisterOutOfRange(uint256 deviceId, uint256 maxWh);
    error InvalidReadingWindow(uint256 maxAgeSeconds, uint256 limitSeconds);
    error EmptyBatch();
    /// @notice A submitReadings batch whose length (bytes) is not a whole number of 128-byte records.
    error MalformedBatch(uint256 length);
    /// @notice A batch longer than MAX_BATCH_READINGS (sized for the EIP-7825 per-transaction gas cap).
    error BatchTooLarge(uint256 count, uint256 maxCount);
    /// @notice The reading is before the device's last record of unminted export: a quarantine
    ///         reset (which rewrote the entry of its last reading; `resetSequence` is that reading)
    ///         or an accepted reading whose energy partly fell in expired epochs (`resetSequence`
    ///         is the reading before it). mintedExportThrough can only answer for later readings.
    error ReadingBeforeReset(uint256 deviceId, uint256 sequence, uint256 resetSequence);

    // ---------------------------------------------------------------- events
    event DeviceRegistered(
        uint256 indexed deviceId,
        address indexed device,
        address indexed owner,
        uint64 gridNodeId,
        DeviceKind kind,
        EnergySource source,
        uint32 ratedPowerW,
        bytes32 firmwareHash
    );
    /// @notice A reading was accepted; `mintedWh` = export delta minted as live energy (the delta
    ///         less the part attributed to expired epochs), `consumedWh` = import delta.
    event ReadingAccepted(
        uint256 indexed deviceId,
        uint256 sequence,
        uint256 intervalStart,
        uint256 importWh,
        uint256 exportWh,
        uint256 mintedWh,
        uint256 consumedWh,
        uint8 flags
    );
    /// @notice A reading was not accepted and changed nothing (unless `reason` quarantined the device).
    event ReadingRejected(uint256 indexed deviceId, uint256 sequence, RejectReason reason);
    /// @notice An accepted reading's sequence skipped `sequence - lastSequence - 1` signed
    ///         readings: lost or withheld between device and registry.
    event ReadingSequenceGap(uint256 indexed deviceId, uint256 lastSequence, uint256 sequence);
    /// @notice Part of an accepted reading's export delta was generated in epochs that have
    ///         already expired: recorded in the register, never minted, never certifiable.
    event ExportExpiredUnminted(uint256 indexed deviceId, uint256 sequence, uint256 energyWh);
    /// @notice The EnergyToken refused a reading's mint or burn; `refusal` is its revert data.
    event MintRefused(uint256 indexed deviceId, uint256 sequence, bytes refusal);
    event DeviceQuarantined(uint256 indexed deviceId, uint256 sequence, RejectReason reason);
    event QuarantineReset(uint256 indexed deviceId, uint256 importWh, uint256 exportWh);
    event DeviceStatusChanged(uint256 indexed deviceId, DeviceStatus from, DeviceStatus to);
    /// @notice Readings accepted from now on mint to `to`.
    event DeviceOwnerChanged(uint256 indexed deviceId, address indexed from, address indexed to);
    /// @notice Only `newKey` signs for the device from now on; `oldKey` stays reserved forever.
    event DeviceKeyRotated(uint256 indexed deviceId, address indexed oldKey, address indexed newKey);
    event DeviceRatedPowerChanged(uint256 indexed deviceId, uint256 fromW, uint256 toW);
    event GridManagementSet(address grid);
    /// @notice Devices rated above `thresholdW` need the multisig's approval.
    event LargeDeviceThresholdSet(uint256 thresholdW);
    /// @notice The multisig approved `device` at `ratedPowerW` (0: approval withdrawn).
    event LargeDeviceApproved(address indexed device, uint256 ratedPowerW);
    event FirmwareApprovalSet(bytes32 indexed firmwareHash, bool approved);
    event DeviceFirmwareUpdated(uint256 indexed deviceId, bytes32 fromHash, bytes32 toHash);
    event ReadingWindowSet(uint256 maxAgeSeconds);

    // ---------------------------------------------------------------- brief interface
    /// @notice METER_OPERATOR: register a device key with abi-encoded DeviceData.
    function registerDevice(address device, bytes memory deviceData) external;

    /// @notice The device's own key reports its cumulative export register (Wh) for the
    ///         interval that just ended; import register and firmware stay as last reported.
    function submitReading(uint256 deviceId, uint256 reading) external;

    /// @notice Whether reading `readingId` (its sequence number) of `deviceId` was accepted;
    ///         reverts for readings older than the on-chain history (use the indexer).
    function validateReading(uint256 deviceId, uint256 readingId) external view returns (bool);

    /// @notice The device's recent accepted readings, oldest first (bounded ring).
    function getDeviceHistory(uint256 deviceId) external view returns (Reading[] memory);

    // ---------------------------------------------------------------- additions
    /// @notice GATEWAY: submit at most MAX_BATCH_READINGS device-signed readings, packed as
    ///         ReadingRecords lays them out (128 bytes each). Bad ones are skipped and reported by
    ///         ReadingRejected, whatever the cause; tampering ones quarantine their device.
    ///         Returns accepted count.
    function submitReadings(bytes calldata readings) external returns (uint256 accepted);

    /// @notice METER_OPERATOR: move a device between Active, Maintenance and Suspended.
    function setDeviceStatus(uint256 deviceId, DeviceStatus status) external;

    /// @notice METER_OPERATOR: hand a device to a new (verified) owner; later readings mint to it.
    function transferDevice(uint256 deviceId, address newOwner) external;

    /// @notice METER_OPERATOR: replace the device's signing key with an unused one; the old key
    ///         can never sign for any device again.
    function rotateDeviceKey(uint256 deviceId, address newKey) external;

    /// @notice METER_OPERATOR: change the device's rated power; an increase is bounded as a
    ///         registration is (node connection capacity, multisig above the threshold).
    function setRatedPower(uint256 deviceId, uint32 ratedPowerW) external;

    /// @notice METER_OPERATOR: retire a device for good; its rated power leaves its node.
    function decommissionDevice(uint256 deviceId) external;

    /// @notice Governance, once: the GridManagement whose node capacities bound rated powers.
    function setGridManagement(address grid) external;

    /// @notice Governance: rated power (W) above which a device needs the multisig's approval.
    function setLargeDeviceThreshold(uint32 thresholdW) external;

    /// @notice Governance: approve registering (or raising) the device of key `device` at
    ///         exactly `ratedPowerW` above the threshold; used up once; 0 withdraws it.
    function approveLargeDevice(address device, uint32 ratedPowerW) external;

    /// @notice Governance: lift a quarantine after inspection, with the meter's inspected registers.
    function resetQuarantine(uint256 deviceId, uint64 importWh, uint64 exportWh) external;

    /// @notice Governance: approve or revoke a firmware image hash.
    function setFirmwareApproval(bytes32 firmwareHash, bool approved) external;

    /// @notice Governance: how old (seconds) a reading's interval may be when it arrives.
    function setReadingWindow(uint32 maxAgeSeconds) external;

    function getDevice(uint256 deviceId) external view returns (Device memory);
    function deviceIdOf(address device) external view returns (uint256);
    function deviceCount() external view returns (uint256);
    function isFirmwareApproved(bytes32 firmwareHash) external view returns (bool);
    function readingDigest(SignedReading calldata reading) external view returns (bytes32);
    function lotSource(uint256 lotId)
        external
        view
        returns (uint256 deviceId, address owner, uint8 source, uint256 intervalStart, uint256 energyWh);

    /// @notice Export energy minted for `deviceId` from its registration through its accepted
    ///         reading `sequence`, i.e. the sum of the lots (deviceId << 64 | s) for s ≤ sequence.
    ///         The reading must still be in the on-chain history and come after the device's last
    ///         record of unminted export (a quarantine reset's register jump, or energy of an
    ///         accepted reading that fell in expired epochs; see ReadingBeforeReset).
    function mintedExportThrough(uint256 deviceId, uint256 sequence) external view returns (MintedExport memory);
}
