// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title HolderRecord
/// @notice The compliance part of an energy holder's storage word; the energy itself is kept
///         in the same word by EpochBuckets (bits 96..255).
/// @dev Layout of the low bits: [0] verified flag | [8..23] jurisdiction code.
///      Compliance and both expiry buckets in one word make a transfer touch exactly one slot
///      per side.
library HolderRecord {
    function verified(uint256 rec) internal pure returns (bool) {
        return rec & 1 == 1;
    }

    function jurisdiction(uint256 rec) internal pure returns (uint16) {
        return uint16(rec >> 8);
    }

    function withCompliance(uint256 rec, bool isVerified, uint16 code) internal pure returns (uint256) {
        return (rec & ~uint256(0xFFFFFF)) | (uint256(code) << 8) | (isVerified ? 1 : 0);
    }
}
