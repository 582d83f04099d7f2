// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// A device's hot-path word, keyed by its signing key: everything a reading checks and changes.
///   [0..39] deviceId | [40..43] status | [44..59] firmwareId | [60..91] ratedPowerW |
///   [92..123] sequence | [124..155] intervalIndex (intervalStart / 900) |
///   [156..203] importWh | [204..251] exportWh | [252..255] history head
/// The last accepted reading's registers and interval live here, so a reading reads and writes
/// this one word and writes its history entry: no other device slot is read (docs/gas.md).
type DeviceState is uint256;

/// A device's description, keyed by device id; read per reading for the owner, written rarely.
///   [0..159] owner | [160..223] gridNodeId | [224..231] kind | [232..239] source
type DeviceProfile is uint256;

/// One accepted reading in a device's history ring, keyed by device id and ring index.
///   [0..39] sequence | [40..79] intervalStart | [80..143] importWh | [144..207] exportWh |
///   [208..255] exportDeltaWh (the part minted as live energy)
type HistoryEntry is uint256;

using DeviceStateLibrary for DeviceState global;
using DeviceProfileLibrary for DeviceProfile global;
using HistoryEntryLibrary for HistoryEntry global;

/// @title DeviceStateLibrary
/// @notice Accessors of DeviceState. Hand-packed because each cold storage slot a reading
///         touches costs 2,100 gas to read and 2,900 more to change.
library DeviceStateLibrary {
    /// Readings cover aligned intervals of this length; the word keeps their index.
    uint256 internal constant INTERVAL_SECONDS = 900;
    /// Widest values the word keeps: a reading beyond them is refused as out of range.
    uint256 internal constant MAX_SEQUENCE = type(uint32).max;
    uint256 internal constant MAX_REGISTER_WH = type(uint48).max;

    uint256 private constant STATUS_SHIFT = 40;
    uint256 private constant FIRMWARE_SHIFT = 44;
    uint256 private constant RATED_SHIFT = 60;
    uint256 private constant SEQUENCE_SHIFT = 92;
    uint256 private constant INTERVAL_SHIFT = 124;
    uint256 private constant IMPORT_SHIFT = 156;
    uint256 private constant EXPORT_SHIFT = 204;
    uint256 private constant HEAD_SHIFT = 252;
    /// Every field a reading changes: firmware id, sequence, interval, registers, head.
    uint256 private constant READING_FIELDS = (uint256(0xFFFF) << FIRMWARE_SHIFT) | (~uint256(0) << SEQUENCE_SHIFT);
    uint256 private constant REGISTER_FIELDS = (~uint256(0) << INTERVAL_SHIFT) & ~(uint256(0xF) << HEAD_SHIFT);

    function deviceId(DeviceState state) internal pure returns (uint256) {
        return uint40(DeviceState.unwrap(state));
    }

    function status(DeviceState state) internal pure returns (uint8) {
        return uint8((DeviceState.unwrap(state) >> STATUS_SHIFT) & 0xF);
    }

    function firmwareId(DeviceState state) internal pure returns (uint256) {
        return uint16(DeviceState.unwrap(state) >> FIRMWARE_SHIFT);
    }

    function ratedPowerW(DeviceState state) internal pure returns (uint256) {
        return uint32(DeviceState.unwrap(state) >> RATED_SHIFT);
    }

    function sequence(DeviceState state) internal pure returns (uint256) {
        return uint32(DeviceState.unwrap(state) >> SEQUENCE_SHIFT);
    }

    function intervalStart(DeviceState state) internal pure returns (uint256) {
        return uint256(uint32(DeviceState.unwrap(state) >> INTERVAL_SHIFT)) * INTERVAL_SECONDS;
    }

    function importWh(DeviceState state) internal pure returns (uint256) {
        return uint48(DeviceState.unwrap(state) >> IMPORT_SHIFT);
    }

    function exportWh(DeviceState state) internal pure returns (uint256) {
        return uint48(DeviceState.unwrap(state) >> EXPORT_SHIFT);
    }

    function head(DeviceState state) internal pure returns (uint256) {
        return DeviceState.unwrap(state) >> HEAD_SHIFT;
    }

    /// @notice A newly registered device: no reading yet, registers at zero, `baselineStart`
    ///         (aligned) as the interval before its first reading, history head at 0.
    function registered(
        uint256 deviceId_,
        uint8 status_,
        uint256 firmwareId_,
        uint256 ratedPowerW_,
        uint256 baselineStart
    ) internal pure returns (DeviceState) {
        return DeviceState.wrap(
            deviceId_ | (uint256(status_) << STATUS_SHIFT) | (firmwareId_ << FIRMWARE_SHIFT)
                | (ratedPowerW_ << RATED_SHIFT) | ((baselineStart / INTERVAL_SECONDS) << INTERVAL_SHIFT)
        );
    }

    function withStatus(DeviceState state, uint8 status_) internal pure returns (DeviceState) {
        uint256 word = DeviceState.unwrap(state) & ~(uint256(0xF) << STATUS_SHIFT);
        return DeviceState.wrap(word | (uint256(status_) << STATUS_SHIFT));
    }

    function withRatedPower(DeviceState state, uint256 ratedPowerW_) internal pure returns (DeviceState) {
        uint256 word = DeviceState.unwrap(state) & ~(uint256(type(uint32).max) << RATED_SHIFT);
        return DeviceState.wrap(word | (ratedPowerW_ << RATED_SHIFT));
    }

    /// @notice The word after an accepted reading, written to history entry `head_`.
    function withReading(
        DeviceState state,
        uint256 firmwareId_,
        uint256 sequence_,
        uint256 intervalStart_,
        uint256 importWh_,
        uint256 exportWh_,
        uint256 head_
    ) internal pure returns (DeviceState) {
        return DeviceState.wrap(
            (DeviceState.unwrap(state) & ~READING_FIELDS) | (firmwareId_ << FIRMWARE_SHIFT)
                | (sequence_ << SEQUENCE_SHIFT) | ((intervalStart_ / INTERVAL_SECONDS) << INTERVAL_SHIFT)
                | (importWh_ << IMPORT_SHIFT) | (exportWh_ << EXPORT_SHIFT) | (head_ << HEAD_SHIFT)
        );
    }

    /// @notice The word with inspected registers as the new baseline (a quarantine reset).
    function withRegisters(DeviceState state, uint256 intervalStart_, uint256 importWh_, uint256 exportWh_)
        internal
        pure
        returns (DeviceState)
    {
        return DeviceState.wrap(
            (DeviceState.unwrap(state) & ~REGISTER_FIELDS) | ((intervalStart_ / INTERVAL_SECONDS) << INTERVAL_SHIFT)
                | (importWh_ << IMPORT_SHIFT) | (exportWh_ << EXPORT_SHIFT)
        );
    }
}

/// @title DeviceProfileLibrary
/// @notice Accessors of DeviceProfile.
library DeviceProfileLibrary {
    function owner(DeviceProfile profile) internal pure returns (address) {
        return address(uint160(DeviceProfile.unwrap(profile)));
    }

    function gridNodeId(DeviceProfile profile) internal pure returns (uint64) {
        return uint64(DeviceProfile.unwrap(profile) >> 160);
    }

    function kind(DeviceProfile profile) internal pure returns (uint8) {
        return uint8(DeviceProfile.unwrap(profile) >> 224);
    }

    function source(DeviceProfile profile) internal pure returns (uint8) {
        return uint8(DeviceProfile.unwrap(profile) >> 232);
    }

    function pack(address owner_, uint64 gridNodeId_, uint8 kind_, uint8 source_)
        internal
        pure
        returns (DeviceProfile)
    {
        return DeviceProfile.wrap(
            uint256(uint160(owner_)) | (uint256(gridNodeId_) << 160) | (uint256(kind_) << 224)
                | (uint256(source_) << 232)
        );
    }

    function withOwner(DeviceProfile profile, address owner_) internal pure returns (DeviceProfile) {
        uint256 word = DeviceProfile.unwrap(profile) & ~uint256(type(uint160).max);
        return DeviceProfile.wrap(word | uint256(uint160(owner_)));
    }
}

/// @title HistoryEntryLibrary
/// @notice Accessors of HistoryEntry.
library HistoryEntryLibrary {
    function sequence(HistoryEntry entry) internal pure returns (uint256) {
        return uint40(HistoryEntry.unwrap(entry));
    }

    function intervalStart(HistoryEntry entry) internal pure returns (uint256) {
        return uint40(HistoryEntry.unwrap(entry) >> 40);
    }

    function importWh(HistoryEntry entry) internal pure returns (uint256) {
        return uint64(HistoryEntry.unwrap(entry) >> 80);
    }

    function exportWh(HistoryEntry entry) internal pure returns (uint256) {
        return uint64(HistoryEntry.unwrap(entry) >> 144);
    }

    function exportDeltaWh(HistoryEntry entry) internal pure returns (uint256) {
        return HistoryEntry.unwrap(entry) >> 208;
    }

    function pack(
        uint256 sequence_,
        uint256 intervalStart_,
        uint256 importWh_,
        uint256 exportWh_,
        uint256 exportDeltaWh_
    ) internal pure returns (HistoryEntry) {
        return HistoryEntry.wrap(
            sequence_ | (intervalStart_ << 40) | (importWh_ << 80) | (exportWh_ << 144) | (exportDeltaWh_ << 208)
        );
    }
}
