// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ISmartMeter} from "../../interfaces/ISmartMeter.sol";

/// @notice Packs signed readings into a submitReadings batch, as ReadingRecords lays it out.
///         SafeCast: a field too wide for its record field fails the test instead of wrapping.
library ReadingBatch {
    function packed(ISmartMeter.SignedReading[] memory readings) internal pure returns (bytes memory batch) {
        for (uint256 i; i < readings.length; ++i) {
            batch = bytes.concat(batch, record(readings[i]));
        }
    }

    function record(ISmartMeter.SignedReading memory reading) internal pure returns (bytes memory) {
        return abi.encodePacked(
            SafeCast.toUint40(reading.deviceId),
            SafeCast.toUint40(reading.sequence),
            SafeCast.toUint40(reading.intervalStart),
            reading.importWh,
            reading.exportWh,
            reading.flags,
            reading.firmwareHash,
            reading.r,
            reading.vs
        );
    }
}
