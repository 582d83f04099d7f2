// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ReadingBatch} from "./base/ReadingBatch.sol";
import {ReadingRecords} from "../libraries/ReadingRecords.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";

/// @notice Exposes the library's calldata decoding to the tests.
contract RecordReader {
    /// @notice The `index`th reading of `batch`, decoded as the registry decodes it.
    function read(bytes calldata batch, uint256 index) external pure returns (ISmartMeter.SignedReading memory) {
        require(index < ReadingRecords.count(batch), "index beyond the batch");
        return ReadingRecords.readingAt(batch, index);
    }

    /// @notice The number of records in `batch`.
    function count(bytes calldata batch) external pure returns (uint256) {
        return ReadingRecords.count(batch);
    }
}

/// @notice A submitReadings record holds every field at its full width, next to its neighbours'
///         extremes, and a batch is only whole records.
contract ReadingRecordsTest {
    RecordReader internal reader = new RecordReader();

    function _reading(
        uint40 deviceId,
        uint40 sequence,
        uint40 intervalStart,
        uint64 importWh,
        uint64 exportWh,
        uint8 flags,
        bytes32 tail
    ) internal pure returns (ISmartMeter.SignedReading memory reading) {
        reading.deviceId = deviceId;
        reading.sequence = sequence;
        reading.intervalStart = intervalStart;
        reading.importWh = importWh;
        reading.exportWh = exportWh;
        reading.flags = flags;
        reading.firmwareHash = keccak256(abi.encode(tail, "firmware"));
        reading.r = keccak256(abi.encode(tail, "r"));
        reading.vs = keccak256(abi.encode(tail, "vs"));
    }

    function _assertSame(ISmartMeter.SignedReading memory got, ISmartMeter.SignedReading memory want) internal pure {
        require(got.deviceId == want.deviceId, "deviceId");
        require(got.sequence == want.sequence, "sequence");
        require(got.intervalStart == want.intervalStart, "intervalStart");
        require(got.importWh == want.importWh, "importWh");
        require(got.exportWh == want.exportWh, "exportWh");
        require(got.flags == want.flags, "flags");
        require(got.firmwareHash == want.firmwareHash, "firmwareHash");
        require(got.r == want.r, "r");
        require(got.vs == want.vs, "vs");
    }

    function testFuzz_readingAt_decodesEveryFieldOfEveryRecordAtFullWidth(
        uint40 deviceId,
        uint40 sequence,
        uint40 intervalStart,
        uint64 importWh,
        uint64 exportWh,
        uint8 flags,
        bytes32 tail
    ) public view {
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](3);
        batch[0] = _reading(deviceId, sequence, intervalStart, importWh, exportWh, flags, tail);
        // Neighbours with every bit of every field set, then none: a field read too wide or
        // shifted by a bit picks up its neighbour's bits.
        batch[1] = _reading(
            type(uint40).max,
            type(uint40).max,
            type(uint40).max,
            type(uint64).max,
            type(uint64).max,
            type(uint8).max,
            ~tail
        );
        batch[2] = _reading(0, 0, 0, 0, 0, 0, tail);
        bytes memory packed = ReadingBatch.packed(batch);
        require(reader.count(packed) == 3, "three records");
        for (uint256 i; i < 3; ++i) {
            _assertSame(reader.read(packed, i), batch[i]);
        }
    }

    function test_readingAt_eachFieldsTopAndBottomBitLandInThatFieldOnly() public view {
        // 2^(width-1) | 1 in each field in turn, the others zero.
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](6);
        batch[0] = _reading(uint40(1 << 39) | 1, 0, 0, 0, 0, 0, 0);
        batch[1] = _reading(0, uint40(1 << 39) | 1, 0, 0, 0, 0, 0);
        batch[2] = _reading(0, 0, uint40(1 << 39) | 1, 0, 0, 0, 0);
        batch[3] = _reading(0, 0, 0, uint64(1 << 63) | 1, 0, 0, 0);
        batch[4] = _reading(0, 0, 0, 0, uint64(1 << 63) | 1, 0, 0);
        batch[5] = _reading(0, 0, 0, 0, 0, uint8(1 << 7) | 1, 0);
        bytes memory packed = ReadingBatch.packed(batch);
        for (uint256 i; i < 6; ++i) {
            _assertSame(reader.read(packed, i), batch[i]);
        }
    }

    function testFuzz_count_partialRecordRevertsMalformedBatch(uint16 lengthBytes) public {
        uint256 length = lengthBytes;
        bytes memory batch = new bytes(length);
        (bool ok, bytes memory returned) = address(reader).call(abi.encodeCall(RecordReader.count, (batch)));
        if (length % ReadingRecords.RECORD_BYTES == 0) {
            require(ok && abi.decode(returned, (uint256)) == length / ReadingRecords.RECORD_BYTES, "whole records");
        } else {
            require(!ok, "a partial record must revert");
            require(
                keccak256(returned) == keccak256(abi.encodeWithSelector(ISmartMeter.MalformedBatch.selector, length)),
                "with MalformedBatch(length)"
            );
        }
    }
}
