// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title EpochBuckets
/// @notice Expiring energy kept in the high 160 bits of a storage word, leaving the low 96 bits
///         to the word's owner (the token keeps compliance there, the market a payment balance).
/// @dev Layout of the high bits:
///        [96..127]  epoch the buckets refer to
///        [128..191] energy (Wh) generated in that epoch              ("current")
///        [192..255] energy (Wh) generated in the epoch before it     ("previous")
///      Energy expires at the end of the epoch after the one it was generated in, so at most two
///      buckets are live at any time. 64-bit buckets hold 1.8e19 Wh, far above any holder's
///      energy; a bucket that would exceed them reverts instead of wrapping.
///      Written by hand: no library keeps epoch-expiring balances packed with other data.
library EpochBuckets {
    uint256 private constant LOW_MASK = (1 << 96) - 1;
    uint256 internal constant MAX_BUCKET_WH = type(uint64).max;

    /// @notice A bucket would exceed 64 bits.
    error BucketOverflow(uint256 energyWh);

    function epoch(uint256 word) internal pure returns (uint256) {
        return uint32(word >> 96);
    }

    function current(uint256 word) internal pure returns (uint256) {
        return uint64(word >> 128);
    }

    function previous(uint256 word) internal pure returns (uint256) {
        return word >> 192;
    }

    /// @notice Unexpired energy, assuming the word was rolled to the present epoch.
    function live(uint256 word) internal pure returns (uint256) {
        return current(word) + previous(word);
    }

    /// @notice The low 96 bits, which the word's owner uses.
    function low(uint256 word) internal pure returns (uint256) {
        return word & LOW_MASK;
    }

    function withLow(uint256 word, uint256 low_) internal pure returns (uint256) {
        return (word & ~LOW_MASK) | low_;
    }

    function withBuckets(uint256 word, uint256 epoch_, uint256 current_, uint256 previous_)
        internal
        pure
        returns (uint256)
    {
        if (current_ > MAX_BUCKET_WH) revert BucketOverflow(current_);
        if (previous_ > MAX_BUCKET_WH) revert BucketOverflow(previous_);
        return (word & LOW_MASK) | (epoch_ << 96) | (current_ << 128) | (previous_ << 192);
    }

    /// @notice The word moved to epoch `now_`, and the energy that expired on the way.
    function rolled(uint256 word, uint256 now_) internal pure returns (uint256 updated, uint256 expiredWh) {
        uint256 wordEpoch = epoch(word);
        if (wordEpoch == now_) return (word, 0);
        uint256 cur = current(word);
        uint256 prev = previous(word);
        if (wordEpoch + 1 == now_) return (withBuckets(word, now_, 0, cur), prev);
        return (withBuckets(word, now_, 0, 0), cur + prev);
    }

    /// @notice Splits `amountWh` (≤ live) into the part taken from the previous bucket
    ///         (oldest first) and the part taken from the current one.
    function oldestFirst(uint256 word, uint256 amountWh)
        internal
        pure
        returns (uint256 previousPartWh, uint256 currentPartWh)
    {
        uint256 prev = previous(word);
        previousPartWh = amountWh < prev ? amountWh : prev;
        currentPartWh = amountWh - previousPartWh;
    }

    /// @notice Removes the given parts (caller checked they are available).
    function without(uint256 word, uint256 previousPartWh, uint256 currentPartWh) internal pure returns (uint256) {
        return withBuckets(word, epoch(word), current(word) - currentPartWh, previous(word) - previousPartWh);
    }

    /// @notice Adds the given parts.
    function plus(uint256 word, uint256 previousPartWh, uint256 currentPartWh) internal pure returns (uint256) {
        return withBuckets(word, epoch(word), current(word) + currentPartWh, previous(word) + previousPartWh);
    }
}
