// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {CarbonWorld} from "./base/CarbonWorld.sol";
import {ICarbonCredit} from "../interfaces/ICarbonCredit.sol";

/// @notice Raw storage cheatcodes (kept here, not in base/Cheats.sol, which every test imports).
interface StorageCheats {
    function load(address target, bytes32 slot) external view returns (bytes32);
    function store(address target, bytes32 slot, bytes32 value) external;
}

StorageCheats constant slots = StorageCheats(address(uint160(uint256(keccak256("hevm cheat code")))));

/// @notice A certificate names its methodology by a number kept once per distinct methodology;
///         every certificate still reports its own.
contract CarbonMethodologyTest is CarbonWorld {
    bytes32 internal constant SMALL_SCALE = "AMS-I.D";

    function setUp() public {
        _buildCarbonWorld();
        _readAll(10_000);
    }

    /// @dev Issues device `deviceIndex`'s next certificate under `methodology`.
    function _certifyUnder(uint256 deviceIndex, bytes32 methodology) internal returns (uint256 certificateId) {
        (bytes memory data, uint256 amount,) = _nextCertification(deviceIndex);
        ICarbonCredit.Verification memory verification = abi.decode(data, (ICarbonCredit.Verification));
        verification.methodology = methodology;
        vm.prank(verifier);
        carbon.issueCreditsCertificate(owners[deviceIndex], amount, abi.encode(verification));
        certificateId = carbon.certificateCount();
    }

    function test_certificates_eachReportTheirOwnMethodology_repeatedOnesIncluded() public {
        uint256 large = _certifyUnder(0, METHODOLOGY);
        uint256 small = _certifyUnder(1, SMALL_SCALE);
        _readAll(5_000);
        uint256 largeAgain = _certifyUnder(0, METHODOLOGY);
        uint256 smallAgain = _certifyUnder(1, SMALL_SCALE);
        require(carbon.getEmissionReductions(large).methodology == METHODOLOGY, "first large-scale");
        require(carbon.getEmissionReductions(small).methodology == SMALL_SCALE, "first small-scale");
        require(carbon.getEmissionReductions(largeAgain).methodology == METHODOLOGY, "second large-scale");
        require(carbon.getEmissionReductions(smallAgain).methodology == SMALL_SCALE, "second small-scale");
    }

    function test_issue_newMethodologyBeyondTheLast_revertsTooManyMethodologies_knownOneStillIssues() public {
        _certifyUnder(0, METHODOLOGY);
        bytes32 counters = _lifetimeSlot();
        // The methodology count sits above the credit lifetime (bits 64..79).
        bytes32 word = slots.load(address(carbon), counters);
        slots.store(address(carbon), counters, bytes32(uint256(word) | (uint256(type(uint16).max) << 64)));

        (bytes memory data, uint256 amount,) = _nextCertification(1);
        ICarbonCredit.Verification memory verification = abi.decode(data, (ICarbonCredit.Verification));
        verification.methodology = SMALL_SCALE;
        vm.prank(verifier);
        vm.expectRevert(ICarbonCredit.TooManyMethodologies.selector);
        carbon.issueCreditsCertificate(owners[1], amount, abi.encode(verification));
        _assertEq(carbon.certificateCount(), 1, "nothing issued");

        uint256 issued = _certifyUnder(1, METHODOLOGY);
        require(carbon.getEmissionReductions(issued).methodology == METHODOLOGY, "a known methodology still issues");
    }

    /// @dev The slot holding the credit lifetime (low 64 bits) and, after one certificate, a
    ///      methodology count of 1 (the next 16).
    function _lifetimeSlot() internal view returns (bytes32) {
        uint256 expected = uint256(LIFETIME) | (1 << 64);
        for (uint256 slot; slot < 32; ++slot) {
            uint256 word = uint256(slots.load(address(carbon), bytes32(slot)));
            if (uint80(word) == expected) return bytes32(slot);
        }
        revert("lifetime slot not found");
    }
}
