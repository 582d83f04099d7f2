// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ISmartMeter} from "../interfaces/ISmartMeter.sol";

/// @title ReadingRecords
/// @notice The calldata layout of a submitReadings batch: readings back to back, each
///         RECORD_BYTES long.
/// @dev A record is four words:
///        word 0, from the most significant bit: deviceId (40 bits) | sequence (40) |
///                intervalStart (40) | importWh (64) | exportWh (64) | flags (8)
///        word 1: firmwareHash | word 2: r | word 3: vs (EIP-2098 compact signature)
///      The ABI encoding of a SignedReading[] spends nine words a reading, mostly zero padding,
///      and its decoder must be guarded against fields wider than their types. Here sequence
///      and intervalStart are exactly as wide as the registry keeps them and deviceId has room
///      for 2^40 - 1 devices numbered from 1, so every whole record decodes, in 128 bytes
///      instead of 288 (docs/gas.md). Written by hand because the ABI has no packed array type
///      to decode it with.
library ReadingRecords {
    uint256 internal constant RECORD_BYTES = 128;

    /// @notice Number of records in `batch`; reverts MalformedBatch when its length is not a
    ///         whole number of them.
    function count(bytes calldata batch) internal pure returns (uint256) {
        if (batch.length % RECORD_BYTES != 0) revert ISmartMeter.MalformedBatch(batch.length);
        return batch.length / RECORD_BYTES;
    }

    /// @notice The `index`th reading of `batch`; the caller keeps index < count(batch).
    function readingAt(bytes calldata batch, uint256 index)
        internal
        pure
        returns (ISmartMeter.SignedReading memory reading)
    {
        uint256 fields;
        bytes32 firmwareHash;
        bytes32 r;
        bytes32 vs;
        assembly ("memory-safe") {
            let p := add(batch.offset, mul(index, RECORD_BYTES))
            fields := calldataload(p)
            firmwareHash := calldataload(add(p, 32))
            r := calldataload(add(p, 64))
            vs := calldataload(add(p, 96))
        }
        reading.deviceId = uint64(fields >> 216);
        reading.sequence = uint64(uint40(fields >> 176));
        reading.intervalStart = uint64(uint40(fields >> 136));
        reading.importWh = uint64(fields >> 72);
        reading.exportWh = uint64(fields >> 8);
        reading.flags = uint8(fields);
        reading.firmwareHash = firmwareHash;
        reading.r = r;
        reading.vs = vs;
    }
}
