// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title HolderRecord
/// @notice One storage word per energy holder: compliance and two expiry buckets.
/// @dev Layout (low to high bits):
///        [0]       verified flag
///        [8..23]   jurisdiction code
///        [32..63]  epoch the buckets refer to
///        [64..159] energy (Wh) generated in that epoch            ("current")
///        [160..255] energy (Wh) generated in the epoch before it   ("previous")
///      Energy expires at the end of the epoch after the one it was generated in, so at
///      any time a holder has at most two live buckets. Keeping both in the same word as
///      the compliance flag makes a transfer touch exactly one slot per side.
library HolderRecord {
    uint256 private constant AMOUNT_MASK = (1 << 96) - 1;

    function verified(uint256 rec) internal pure returns (bool) {
        return rec & 1 == 1;
    }

    function jurisdiction(uint256 rec) internal pure returns (uint16) {
        return uint16(rec >> 8);
    }

    function epoch(uint256 rec) internal pure returns (uint256) {
        return uint32(rec >> 32);
    }

    function current(uint256 rec) internal pure returns (uint256) {
        return (rec >> 64) & AMOUNT_MASK;
    }

    function previous(uint256 rec) internal pure returns (uint256) {
        return rec >> 160;
    }

    function withCompliance(uint256 rec, bool isVerified, uint16 code) internal pure returns (uint256) {
        return (rec & ~uint256(0xFFFFFF)) | (uint256(code) << 8) | (isVerified ? 1 : 0);
    }

    /// @dev Builds a record; amounts above 2^96-1 Wh cannot occur (total supply bound), callers check.
    function withBuckets(uint256 rec, uint256 epoch_, uint256 current_, uint256 previous_)
        internal
        pure
        returns (uint256)
    {
        return (rec & 0xFFFFFFFF) | (epoch_ << 32) | (current_ << 64) | (previous_ << 160);
    }

    /// @notice The record moved to epoch `now_`, and the energy that expired on the way.
    function rolled(uint256 rec, uint256 now_) internal pure returns (uint256 updated, uint256 expiredWh) {
        uint256 recEpoch = epoch(rec);
        if (recEpoch == now_) return (rec, 0);
        uint256 cur = current(rec);
        uint256 prev = previous(rec);
        if (recEpoch + 1 == now_) return (withBuckets(rec, now_, 0, cur), prev);
        return (withBuckets(rec, now_, 0, 0), cur + prev);
    }
}
