// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title DeviceRecords
/// @notice Bit layouts of the SmartMeterRegistry's per-device storage words.
/// @dev Hand-packed because a reading must touch as few storage slots as possible
///      (each cold slot costs 2,100 gas to read and 2,900 more to change).
///
///      config word  (read and written per reading):
///        [0..159] signer | [160..191] ratedPowerW | [192..199] status |
///        [200..215] firmwareId | [216..223] history head
///      profile word (read per reading, written at registration):
///        [0..159] owner | [160..223] gridNodeId | [224..231] kind | [232..239] source
///      history entry (one per accepted reading, ring of HISTORY_LENGTH):
///        [0..39] sequence | [40..79] intervalStart | [80..143] importWh |
///        [144..207] exportWh | [208..255] exportDeltaWh
library DeviceRecords {
    // ---- config
    function signer(uint256 config) internal pure returns (address) {
        return address(uint160(config));
    }

    function ratedPowerW(uint256 config) internal pure returns (uint256) {
        return uint32(config >> 160);
    }

    function status(uint256 config) internal pure returns (uint8) {
        return uint8(config >> 192);
    }

    function firmwareId(uint256 config) internal pure returns (uint256) {
        return uint16(config >> 200);
    }

    function head(uint256 config) internal pure returns (uint256) {
        return uint8(config >> 216);
    }

    function packConfig(address signer_, uint256 ratedPowerW_, uint8 status_, uint256 firmwareId_, uint256 head_)
        internal
        pure
        returns (uint256)
    {
        return uint256(uint160(signer_)) | (ratedPowerW_ << 160) | (uint256(status_) << 192) | (firmwareId_ << 200)
            | (head_ << 216);
    }

    function withStatus(uint256 config, uint8 status_) internal pure returns (uint256) {
        return (config & ~(uint256(0xFF) << 192)) | (uint256(status_) << 192);
    }

    function withFirmwareAndHead(uint256 config, uint256 firmwareId_, uint256 head_) internal pure returns (uint256) {
        return (config & ~(uint256(0xFFFFFF) << 200)) | (firmwareId_ << 200) | (head_ << 216);
    }

    function withSigner(uint256 config, address signer_) internal pure returns (uint256) {
        return (config & ~uint256(type(uint160).max)) | uint256(uint160(signer_));
    }

    function withRatedPower(uint256 config, uint256 ratedPowerW_) internal pure returns (uint256) {
        return (config & ~(uint256(type(uint32).max) << 160)) | (ratedPowerW_ << 160);
    }

    // ---- profile
    function owner(uint256 profile) internal pure returns (address) {
        return address(uint160(profile));
    }

    function gridNodeId(uint256 profile) internal pure returns (uint64) {
        return uint64(profile >> 160);
    }

    function kind(uint256 profile) internal pure returns (uint8) {
        return uint8(profile >> 224);
    }

    function source(uint256 profile) internal pure returns (uint8) {
        return uint8(profile >> 232);
    }

    function packProfile(address owner_, uint64 gridNodeId_, uint8 kind_, uint8 source_)
        internal
        pure
        returns (uint256)
    {
        return uint256(uint160(owner_)) | (uint256(gridNodeId_) << 160) | (uint256(kind_) << 224)
            | (uint256(source_) << 232);
    }

    // ---- history entry
    uint256 internal constant MAX_SEQUENCE = (1 << 40) - 1;
    uint256 internal constant MAX_DELTA_WH = (1 << 48) - 1;

    function sequence(uint256 entry) internal pure returns (uint256) {
        return uint40(entry);
    }

    function intervalStart(uint256 entry) internal pure returns (uint256) {
        return uint40(entry >> 40);
    }

    function importWh(uint256 entry) internal pure returns (uint256) {
        return uint64(entry >> 80);
    }

    function exportWh(uint256 entry) internal pure returns (uint256) {
        return uint64(entry >> 144);
    }

    function exportDeltaWh(uint256 entry) internal pure returns (uint256) {
        return entry >> 208;
    }

    function packEntry(
        uint256 sequence_,
        uint256 intervalStart_,
        uint256 importWh_,
        uint256 exportWh_,
        uint256 exportDeltaWh_
    ) internal pure returns (uint256) {
        return sequence_ | (intervalStart_ << 40) | (importWh_ << 80) | (exportWh_ << 144) | (exportDeltaWh_ << 208);
    }
}
