// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {CarbonWorld, CreditVault} from "./base/CarbonWorld.sol";
import {ReadingBatch} from "./base/ReadingBatch.sol";
import {Cheats} from "./base/Cheats.sol";
import {CarbonCredit} from "../CarbonCredit.sol";
import {ICarbonCredit} from "../interfaces/ICarbonCredit.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";
import {Roles} from "../libraries/Roles.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {IAccessManager} from "@openzeppelin/contracts/access/manager/IAccessManager.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

contract CarbonCreditTest is CarbonWorld {
    uint8 internal constant FLAG_TAMPER = 1;
    string internal constant PURPOSE = "2026 scope 2";

    function setUp() public {
        _buildCarbonWorld();
    }

    // ------------------------------------------------------------ helpers
    /// @dev The interval the next _readAll / _readInterval / _readOne reports.
    function _nextInterval() internal view returns (uint256) {
        return nowSeconds - (nowSeconds % 900);
    }

    /// @dev Moves to the next interval and submits one reading of device `i` alone (flags as
    ///      given); the fixture's register and sequence advance only if the registry accepted it.
    function _readOne(uint256 i, uint64 exportDeltaWh, uint8 flags) internal returns (bool accepted) {
        uint256 intervalStart = _nextInterval();
        _warp(intervalStart + 900 + 10);
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](1);
        batch[0] = ISmartMeter.SignedReading(
            uint64(i + 1),
            nextSequence[i],
            uint64(intervalStart),
            0,
            exportRegisterWh[i] + exportDeltaWh,
            flags,
            FIRMWARE,
            0,
            0
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(DEVICE_KEY + i, registry.readingDigest(batch[0]));
        batch[0].r = r;
        batch[0].vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        vm.prank(gateway);
        accepted = registry.submitReadings(ReadingBatch.packed(batch)) == 1;
        if (accepted) {
            exportRegisterWh[i] += exportDeltaWh;
            ++nextSequence[i];
        }
    }

    function _issue(address to, uint256 amount, bytes memory data) internal returns (uint256 certificateId) {
        vm.prank(verifier);
        carbon.issueCreditsCertificate(to, amount, data);
        certificateId = carbon.certificateCount();
    }

    function _expectIssueRevert(address to, uint256 amount, bytes memory data, bytes memory err) internal {
        vm.prank(verifier);
        vm.expectRevert(err);
        carbon.issueCreditsCertificate(to, amount, data);
    }

    function _grams(uint256 energyWh, uint256 factor) internal pure returns (uint256) {
        return energyWh * factor / 1000;
    }

    function _record(uint256 certificateId) internal view returns (ICarbonCredit.EmissionData memory) {
        return carbon.getEmissionReductions(certificateId);
    }

    function _expiresAt(uint256 certificateId) internal view returns (uint256) {
        return carbon.getEmissionReductions(certificateId).expiresAt;
    }

    function _send(address from, address to, uint256 certificateId, uint256 amount) internal {
        vm.prank(from);
        carbon.safeTransferFrom(from, to, certificateId, amount, "");
    }

    function _retirement(address retiree, address onBehalf, uint256 certificateId, uint256 grams, string memory purpose)
        internal
        view
        returns (ICarbonCredit.Retirement memory)
    {
        return ICarbonCredit.Retirement(retiree, onBehalf, certificateId, grams, nowSeconds, purpose);
    }

    /// @dev The retirement log's step as ICarbonCredit documents it, computed independently.
    function _step(uint256 previousHead, uint256 retirementId, ICarbonCredit.Retirement memory retirement)
        internal
        pure
        returns (uint256)
    {
        return uint192(uint256(keccak256(abi.encode(previousHead, retirementId, retirement))));
    }

    /// @dev The recorded logs of `emitter` whose first topic is `signature`.
    function _logs(Cheats.Log[] memory all, address emitter, bytes32 signature)
        internal
        pure
        returns (Cheats.Log[] memory found)
    {
        uint256 n;
        for (uint256 k; k < all.length; ++k) {
            if (all[k].emitter == emitter && all[k].topics.length != 0 && all[k].topics[0] == signature) ++n;
        }
        found = new Cheats.Log[](n);
        n = 0;
        for (uint256 k; k < all.length; ++k) {
            if (all[k].emitter == emitter && all[k].topics.length != 0 && all[k].topics[0] == signature) {
                found[n++] = all[k];
            }
        }
    }

    // ------------------------------------------------------------ issuance
    function test_issueCreditsCertificate_amountIsEnergyTimesFactorDE() public {
        uint64 first = 10_000;
        uint64 second = 5_001;
        uint256 vintageStart = _nextInterval();
        _readAll(first);
        uint256 lastInterval = _nextInterval();
        _readAll(second);
        uint256 energyWh = uint256(first) + second;
        // 15,001 Wh × 380 g/kWh = 5,700.38 g: the fraction of a gram is not credited.
        uint256 expected = energyWh * FACTOR_DE / 1000;
        require(expected * 1000 < energyWh * FACTOR_DE, "the example must round");

        uint256 id = _issue(solarProsumer, expected, _verification(0, 0, 2, uint64(vintageStart)));

        _assertEq(carbon.balanceOf(solarProsumer, id), expected, "credits minted to the generator");
        _assertEq(_record(id).co2eGrams, expected, "co2e");
        _assertEq(_record(id).energyWh, energyWh, "energy");
        _assertEq(_record(id).vintageEnd, lastInterval + 900, "vintage end");
    }

    function test_issueCreditsCertificate_amountIsEnergyTimesFactorFR() public {
        uint64 delta = 12_345;
        uint256 vintageStart = _nextInterval();
        _readAll(delta);
        uint256 expected = uint256(delta) * FACTOR_FR / 1000; // 691.32 g rounded down
        require(expected * 1000 < uint256(delta) * FACTOR_FR, "the example must round");

        uint256 id = _issue(frenchProsumer, expected, _verification(2, 0, 1, uint64(vintageStart)));

        _assertEq(carbon.balanceOf(frenchProsumer, id), expected, "credits");
        _assertEq(_record(id).region, REGION_FR, "region");
        _assertEq(_record(id).emissionFactorGramsPerKWh, FACTOR_FR, "factor");
    }

    function test_issueCreditsCertificate_recordsTheCertificate() public {
        uint256 vintageStart = _nextInterval();
        _readAll(8_000);
        uint256 lastInterval = _nextInterval();
        _readAll(4_000);
        uint256 energyWh = 12_000;
        uint256 amount = _grams(energyWh, FACTOR_DE);
        bytes memory data = _verification(1, 0, 2, uint64(vintageStart));
        ICarbonCredit.Verification memory v = abi.decode(data, (ICarbonCredit.Verification));

        uint256 id = _issue(windGenerator, amount, data);

        ICarbonCredit.EmissionData memory d = _record(id);
        _assertEq(d.certificateId, id, "id");
        _assertEq(id, 1, "first certificate");
        require(d.generator == windGenerator, "generator");
        _assertEq(d.deviceId, 2, "device");
        _assertEq(d.previousSequence, 0, "previous sequence");
        _assertEq(d.lastSequence, 2, "last sequence");
        _assertEq(d.energySource, uint8(ISmartMeter.EnergySource.Wind), "source");
        _assertEq(d.region, REGION_DE, "region");
        require(d.methodology == METHODOLOGY, "methodology");
        _assertEq(d.vintageStart, vintageStart, "vintage start");
        _assertEq(d.vintageEnd, lastInterval + 900, "vintage end = end of the last lot's interval");
        _assertEq(d.energyWh, energyWh, "energy");
        _assertEq(d.emissionFactorGramsPerKWh, FACTOR_DE, "factor");
        _assertEq(d.co2eGrams, amount, "co2e");
        _assertEq(d.retiredGrams, 0, "retired");
        _assertEq(d.issuedAt, nowSeconds, "issued at");
        _assertEq(d.expiresAt, lastInterval + 900 + LIFETIME, "expiry = vintage end + lifetime");
        require(!d.expiryRecorded, "expiry not recorded");
        require(d.documentHash == v.documentHash, "document hash");
    }

    function test_issueCreditsCertificate_emitsIssuedTermsAndTransfer() public {
        uint256 vintageStart = _nextInterval();
        _readAll(9_000);
        uint256 amount = _grams(9_000, FACTOR_DE);
        bytes memory data = _verification(0, 0, 1, uint64(vintageStart));
        ICarbonCredit.Verification memory v = abi.decode(data, (ICarbonCredit.Verification));
        uint256 vintageEnd = vintageStart + 900;

        vm.expectEmit(true, true, true, true, address(carbon));
        emit ICarbonCredit.CertificateIssued(
            1, solarProsumer, 1, 0, 1, vintageStart, vintageEnd, 9_000, amount, vintageEnd + LIFETIME
        );
        vm.expectEmit(true, true, true, true, address(carbon));
        emit ICarbonCredit.CertificateTerms(
            1, REGION_DE, uint8(ISmartMeter.EnergySource.Solar), FACTOR_DE, METHODOLOGY, v.documentHash, v.documentURI
        );
        vm.expectEmit(true, true, true, true, address(carbon));
        emit IERC1155.TransferSingle(verifier, address(0), solarProsumer, 1, amount);
        _issue(solarProsumer, amount, data);
    }

    function test_issueCreditsCertificate_advancesCertifiedThrough() public {
        _readAll(3_000);
        _readAll(2_000);
        (uint256 sequence, uint256 mintedWh) = carbon.certifiedThrough(1);
        _assertEq(sequence, 0, "nothing certified yet");
        _assertEq(mintedWh, 0, "no energy certified yet");
        _certify(0);
        (sequence, mintedWh) = carbon.certifiedThrough(1);
        _assertEq(sequence, 2, "certified through the last reading");
        _assertEq(mintedWh, 5_000, "energy minted through it");
        (sequence,) = carbon.certifiedThrough(2);
        _assertEq(sequence, 0, "other devices untouched");
    }

    function test_issueCreditsCertificate_secondCertificateCoversOnlyNewEnergy() public {
        _readAll(6_000);
        (uint256 firstId, uint256 firstAmount) = _certify(0);
        uint256 secondVintage = _nextInterval();
        _readAll(2_500);
        _readAll(1_500);
        uint256 newEnergy = 2_500 + 1_500;
        uint256 amount = _grams(newEnergy, FACTOR_DE);

        uint256 secondId = _issue(solarProsumer, amount, _verification(0, 1, 3, uint64(secondVintage)));

        _assertEq(secondId, firstId + 1, "sequential ids");
        ICarbonCredit.EmissionData memory d = _record(secondId);
        _assertEq(d.previousSequence, 1, "continues from the marker");
        _assertEq(d.lastSequence, 3, "last");
        _assertEq(d.energyWh, newEnergy, "only the new energy");
        _assertEq(d.co2eGrams, amount, "credits of the new energy");
        _assertEq(d.vintageStart, secondVintage, "vintage start");
        _assertEq(carbon.balanceOf(solarProsumer, firstId), firstAmount, "first certificate untouched");
        _assertEq(carbon.balanceOf(solarProsumer, secondId), amount, "second certificate's credits");
        (uint256 sequence, uint256 mintedWh) = carbon.certifiedThrough(1);
        _assertEq(sequence, 3, "marker");
        _assertEq(mintedWh, 6_000 + newEnergy, "marker energy: everything certified");
    }

    function test_issueCreditsCertificate_partialRangeThenRest() public {
        uint256 start = _nextInterval();
        _readAll(1_000);
        uint256 second = _nextInterval();
        _readAll(2_000);
        uint256 third = _nextInterval();
        _readAll(4_000);
        uint256 a = _issue(solarProsumer, _grams(3_000, FACTOR_DE), _verification(0, 0, 2, uint64(start)));
        _assertEq(_record(a).vintageEnd, second + 900, "first range ends with reading 2");
        uint256 b = _issue(solarProsumer, _grams(4_000, FACTOR_DE), _verification(0, 2, 3, uint64(third)));
        _assertEq(_record(b).energyWh, 4_000, "the rest");
        _assertEq(_record(a).energyWh + _record(b).energyWh, exportRegisterWh[0], "together: all minted energy");
    }

    function test_issueCreditsCertificate_zeroExportReadingsAreCarriedInTheRange() public {
        uint256 start = _nextInterval();
        _readAll(0);
        _readAll(0);
        _readAll(7_000);
        uint256 id = _issue(solarProsumer, _grams(7_000, FACTOR_DE), _verification(0, 0, 3, uint64(start)));
        _assertEq(_record(id).previousSequence, 0, "from the first reading");
        _assertEq(_record(id).energyWh, 7_000, "energy");
    }

    function test_issueCreditsCertificate_rangeLongerThanHistoryCoversAllMintedEnergy() public {
        uint256 start = _nextInterval();
        uint256 readings = registry.HISTORY_LENGTH() + 4;
        uint256 energyWh;
        for (uint256 k; k < readings; ++k) {
            uint64 delta = uint64(1_000 + 10 * k);
            require(_readOne(0, delta, 0), "reading accepted");
            energyWh += delta;
        }
        uint256 id =
            _issue(solarProsumer, _grams(energyWh, FACTOR_DE), _verification(0, 0, uint64(readings), uint64(start)));
        _assertEq(_record(id).energyWh, energyWh, "all lots since registration");
    }

    // ------------------------------------------------------------ issuance: rejections
    function test_issueCreditsCertificate_withoutVerifierRole_reverts() public {
        _readAll(5_000);
        (bytes memory data, uint256 amount,) = _nextCertification(0);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, solarProsumer));
        carbon.issueCreditsCertificate(solarProsumer, amount, data);
        vm.prank(regulator);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, regulator));
        carbon.issueCreditsCertificate(solarProsumer, amount, data);
        _assertEq(carbon.certificateCount(), 0, "nothing issued");
    }

    function test_issueCreditsCertificate_whenPaused_reverts() public {
        _readAll(5_000);
        (bytes memory data, uint256 amount,) = _nextCertification(0);
        vm.prank(emergency);
        carbon.pause();
        _expectIssueRevert(solarProsumer, amount, data, abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        carbon.unpause();
        _issue(solarProsumer, amount, data);
        _assertEq(carbon.certificateCount(), 1, "issued after unpause");
    }

    function test_unpause_byNonAdmin_reverts() public {
        vm.prank(emergency);
        carbon.pause();
        vm.prank(emergency);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, emergency));
        carbon.unpause();
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, verifier));
        carbon.unpause();
        require(carbon.paused(), "still paused");
    }

    function test_pause_byNonEmergency_reverts() public {
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, verifier));
        carbon.pause();
    }

    function test_issueCreditsCertificate_shortData_reverts() public {
        _readAll(5_000);
        (bytes memory data, uint256 amount,) = _nextCertification(0);
        bytes memory truncated = new bytes(287);
        for (uint256 k; k < truncated.length; ++k) {
            truncated[k] = data[k];
        }
        _expectIssueRevert(
            solarProsumer, amount, truncated, abi.encodeWithSelector(ICarbonCredit.MalformedVerification.selector, 287)
        );
        _expectIssueRevert(
            solarProsumer, amount, "", abi.encodeWithSelector(ICarbonCredit.MalformedVerification.selector, 0)
        );
    }

    function test_issueCreditsCertificate_sameLotsTwice_reverts() public {
        uint256 start = _nextInterval();
        _readAll(5_000);
        _readAll(5_000);
        uint256 amount = _grams(10_000, FACTOR_DE);
        bytes memory data = _verification(0, 0, 2, uint64(start));
        _issue(solarProsumer, amount, data);
        // The same verification again: the lots 1..2 already back certificate 1.
        _expectIssueRevert(
            solarProsumer, amount, data, abi.encodeWithSelector(ICarbonCredit.LotRangeNotNext.selector, 1, 2, 0)
        );
        // A wider range that re-includes them together with new lots.
        _readAll(1_000);
        _expectIssueRevert(
            solarProsumer,
            _grams(11_000, FACTOR_DE),
            _verification(0, 0, 3, uint64(start)),
            abi.encodeWithSelector(ICarbonCredit.LotRangeNotNext.selector, 1, 2, 0)
        );
        _assertEq(carbon.certificateCount(), 1, "no second certificate");
    }

    function test_issueCreditsCertificate_stalePreviousSequence_reverts() public {
        _readAll(5_000);
        _readAll(5_000);
        _certify(0);
        uint256 next = _nextInterval();
        _readAll(3_000);
        // Stale: starts inside the certified range (lot 2 would back two certificates).
        _expectIssueRevert(
            solarProsumer,
            _grams(8_000, FACTOR_DE),
            _verification(0, 1, 3, uint64(next)),
            abi.encodeWithSelector(ICarbonCredit.LotRangeNotNext.selector, 1, 2, 1)
        );
        // Ahead of the marker: would skip lot 3 (never certifiable afterwards).
        _expectIssueRevert(
            solarProsumer,
            _grams(3_000, FACTOR_DE),
            _verification(0, 3, 3, uint64(next)),
            abi.encodeWithSelector(ICarbonCredit.LotRangeNotNext.selector, 1, 2, 3)
        );
    }

    function test_issueCreditsCertificate_emptyRange_reverts() public {
        uint256 start = _nextInterval();
        _readAll(5_000);
        _expectIssueRevert(
            solarProsumer,
            1,
            _verification(0, 0, 0, uint64(start)),
            abi.encodeWithSelector(ICarbonCredit.EmptyLotRange.selector, 1, 0, 0)
        );
        _certify(0);
        _expectIssueRevert(
            solarProsumer,
            1,
            _verification(0, 1, 1, uint64(start)),
            abi.encodeWithSelector(ICarbonCredit.EmptyLotRange.selector, 1, 1, 1)
        );
        _expectIssueRevert(
            solarProsumer,
            1,
            _verification(0, 1, 0, uint64(start)),
            abi.encodeWithSelector(ICarbonCredit.EmptyLotRange.selector, 1, 1, 0)
        );
    }

    function test_issueCreditsCertificate_readingNeverAccepted_reverts() public {
        uint256 start = _nextInterval();
        _readAll(5_000);
        _readAll(5_000);
        // Sequence 5 was never submitted.
        _expectIssueRevert(
            solarProsumer,
            _grams(10_000, FACTOR_DE),
            _verification(0, 0, 5, uint64(start)),
            abi.encodeWithSelector(ISmartMeter.ReadingOutsideHistory.selector, 1, 5)
        );
        // Sequence 3 is skipped by the meter: reading 4 is accepted, 3 never is.
        ++nextSequence[0];
        require(_readOne(0, 1_000, 0), "reading 4 accepted");
        _expectIssueRevert(
            solarProsumer,
            _grams(10_000, FACTOR_DE),
            _verification(0, 0, 3, uint64(start)),
            abi.encodeWithSelector(ISmartMeter.ReadingOutsideHistory.selector, 1, 3)
        );
    }

    function test_issueCreditsCertificate_readingOlderThanHistory_reverts() public {
        uint256 start = _nextInterval();
        uint256 readings = registry.HISTORY_LENGTH() + 1;
        for (uint256 k; k < readings; ++k) {
            require(_readOne(0, 1_000, 0), "reading accepted");
        }
        // Reading 1 has left the 16-entry ring: the registry cannot vouch for it any more.
        _expectIssueRevert(
            solarProsumer,
            _grams(1_000, FACTOR_DE),
            _verification(0, 0, 1, uint64(start)),
            abi.encodeWithSelector(ISmartMeter.ReadingOutsideHistory.selector, 1, 1)
        );
    }

    function test_issueCreditsCertificate_gridMixMeter_reverts() public {
        uint256 start = _nextInterval();
        _readAll(5_000);
        _expectIssueRevert(
            gridMixOwner,
            _grams(5_000, FACTOR_DE),
            _verification(3, 0, 1, uint64(start)),
            abi.encodeWithSelector(
                ICarbonCredit.SourceNotRenewable.selector, 4, uint8(ISmartMeter.EnergySource.GridMix)
            )
        );
    }

    function test_issueCreditsCertificate_quarantinedDevice_reverts() public {
        uint256 start = _nextInterval();
        _readAll(5_000);
        require(!_readOne(0, 1_000, FLAG_TAMPER), "tamper reading refused");
        require(registry.getDevice(1).status == ISmartMeter.DeviceStatus.Quarantined, "quarantined");
        _expectIssueRevert(
            solarProsumer,
            _grams(5_000, FACTOR_DE),
            _verification(0, 0, 1, uint64(start)),
            abi.encodeWithSelector(ICarbonCredit.DeviceQuarantined.selector, 1)
        );
    }

    function test_issueCreditsCertificate_recipientNotGenerator_reverts() public {
        _readAll(5_000);
        (bytes memory solarData, uint256 amount,) = _nextCertification(0);
        _expectIssueRevert(
            buyer,
            amount,
            solarData,
            abi.encodeWithSelector(ICarbonCredit.RecipientNotGenerator.selector, buyer, solarProsumer)
        );
        (bytes memory windData,,) = _nextCertification(1);
        _expectIssueRevert(
            solarProsumer,
            amount,
            windData,
            abi.encodeWithSelector(ICarbonCredit.RecipientNotGenerator.selector, solarProsumer, windGenerator)
        );
    }

    function test_issueCreditsCertificate_generatorUnverified_reverts() public {
        _readAll(5_000);
        (bytes memory data, uint256 amount,) = _nextCertification(0);
        vm.prank(regulator);
        token.setParticipant(solarProsumer, false, REGION_DE);
        _expectIssueRevert(
            solarProsumer,
            amount,
            data,
            abi.encodeWithSelector(ICarbonCredit.GeneratorNotVerified.selector, solarProsumer)
        );
    }

    function test_issueCreditsCertificate_noEnergyInRange_reverts() public {
        uint256 start = _nextInterval();
        _readAll(0);
        _readAll(0);
        _expectIssueRevert(
            solarProsumer,
            0,
            _verification(0, 0, 2, uint64(start)),
            abi.encodeWithSelector(ICarbonCredit.NoEnergyInRange.selector, 1, 2)
        );
        _readAll(4_000);
        _certify(0);
        uint256 next = _nextInterval();
        _readAll(0);
        _expectIssueRevert(
            solarProsumer,
            0,
            _verification(0, 3, 4, uint64(next)),
            abi.encodeWithSelector(ICarbonCredit.NoEnergyInRange.selector, 1, 4)
        );
    }

    function test_issueCreditsCertificate_vintageBeforePreviousEnd_reverts() public {
        _readAll(5_000);
        uint256 firstEnd = _nextInterval(); // reading 1's interval ends when reading 2's starts
        (uint256 id,) = _certify(0);
        _assertEq(_record(id).vintageEnd, firstEnd, "vintage end");
        uint256 next = _nextInterval();
        _readAll(2_000);
        uint256 amount = _grams(2_000, FACTOR_DE);
        _expectIssueRevert(
            solarProsumer,
            amount,
            _verification(0, 1, 2, uint64(firstEnd - 1)),
            abi.encodeWithSelector(ICarbonCredit.InvalidVintage.selector, firstEnd - 1, firstEnd, next)
        );
        // The earliest allowed start is exactly where the previous certificate ended.
        uint256 second = _issue(solarProsumer, amount, _verification(0, 1, 2, uint64(firstEnd)));
        _assertEq(_record(second).vintageStart, firstEnd, "starts at the previous end");
    }

    function test_issueCreditsCertificate_vintageMoreThanAYearBeforeLastLot_reverts() public {
        uint256 only = _nextInterval();
        _readAll(5_000);
        uint256 earliest = only - carbon.MAX_VINTAGE_SECONDS();
        _expectIssueRevert(
            solarProsumer,
            _grams(5_000, FACTOR_DE),
            _verification(0, 0, 1, uint64(earliest - 1)),
            abi.encodeWithSelector(ICarbonCredit.InvalidVintage.selector, earliest - 1, earliest, only)
        );
        uint256 id = _issue(solarProsumer, _grams(5_000, FACTOR_DE), _verification(0, 0, 1, uint64(earliest)));
        _assertEq(_record(id).vintageStart, earliest, "a year before the last lot is the earliest start");
    }

    function test_issueCreditsCertificate_vintageAfterLastLot_reverts() public {
        uint256 only = _nextInterval();
        _readAll(5_000);
        uint256 amount = _grams(5_000, FACTOR_DE);
        _expectIssueRevert(
            solarProsumer,
            amount,
            _verification(0, 0, 1, uint64(only + 1)),
            abi.encodeWithSelector(
                ICarbonCredit.InvalidVintage.selector, only + 1, only - carbon.MAX_VINTAGE_SECONDS(), only
            )
        );
        _certify(0);
        uint256 next = _nextInterval();
        _readAll(1_000);
        _expectIssueRevert(
            solarProsumer,
            _grams(1_000, FACTOR_DE),
            _verification(0, 1, 2, uint64(next + 900)),
            abi.encodeWithSelector(ICarbonCredit.InvalidVintage.selector, next + 900, only + 900, next)
        );
    }

    function test_issueCreditsCertificate_regionFactorNotSet_reverts() public {
        _readAll(5_000);
        (bytes memory data, uint256 amount,) = _nextCertification(0);
        vm.prank(regulator);
        token.setParticipant(solarProsumer, true, 999);
        _expectIssueRevert(
            solarProsumer, amount, data, abi.encodeWithSelector(ICarbonCredit.RegionFactorNotSet.selector, uint16(999))
        );
        (bytes memory frData, uint256 frAmount,) = _nextCertification(2);
        carbon.setEmissionFactor(REGION_FR, 0);
        _expectIssueRevert(
            frenchProsumer,
            frAmount,
            frData,
            abi.encodeWithSelector(ICarbonCredit.RegionFactorNotSet.selector, REGION_FR)
        );
    }

    function test_issueCreditsCertificate_oneGramTooMany_reverts() public {
        _readAll(5_001);
        (bytes memory data, uint256 amount, uint256 energyWh) = _nextCertification(0);
        _assertEq(amount, _grams(energyWh, FACTOR_DE), "backed");
        _expectIssueRevert(
            solarProsumer,
            amount + 1,
            data,
            abi.encodeWithSelector(ICarbonCredit.AmountNotBackedByEnergy.selector, amount + 1, amount)
        );
    }

    function test_issueCreditsCertificate_oneGramTooFew_reverts() public {
        _readAll(5_001);
        (bytes memory data, uint256 amount,) = _nextCertification(0);
        _expectIssueRevert(
            solarProsumer,
            amount - 1,
            data,
            abi.encodeWithSelector(ICarbonCredit.AmountNotBackedByEnergy.selector, amount - 1, amount)
        );
    }

    function test_issueCreditsCertificate_zeroAmount_reverts() public {
        _readAll(5_001);
        (bytes memory data, uint256 amount,) = _nextCertification(0);
        _expectIssueRevert(
            solarProsumer, 0, data, abi.encodeWithSelector(ICarbonCredit.AmountNotBackedByEnergy.selector, 0, amount)
        );
    }

    function test_issueCreditsCertificate_energyWorthLessThanOneGram_reverts() public {
        uint64 tinyWh = 17; // 17 Wh × 56 g/kWh = 0.952 g
        _readAll(tinyWh);
        (bytes memory data, uint256 amount,) = _nextCertification(2);
        _assertEq(amount, 0, "rounds to nothing");
        _expectIssueRevert(
            frenchProsumer, 0, data, abi.encodeWithSelector(ICarbonCredit.AmountNotBackedByEnergy.selector, 0, 0)
        );
        // The lots stay uncertified: the next certificate carries them.
        _readAll(1_000);
        (bytes memory later, uint256 laterAmount, uint256 energyWh) = _nextCertification(2);
        _assertEq(energyWh, tinyWh + 1_000, "tiny energy carried");
        uint256 id = _issue(frenchProsumer, laterAmount, later);
        _assertEq(_record(id).previousSequence, 0, "from the start");
    }

    // ------------------------------------------------------------ administration
    function test_setEmissionFactor_aboveCeiling_reverts() public {
        uint256 ceiling = carbon.MAX_EMISSION_FACTOR_G_PER_KWH();
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.InvalidEmissionFactor.selector, REGION_DE, ceiling + 1));
        carbon.setEmissionFactor(REGION_DE, uint32(ceiling + 1));
        carbon.setEmissionFactor(REGION_DE, uint32(ceiling));
        _assertEq(carbon.emissionFactorOf(REGION_DE), ceiling, "ceiling allowed");
    }

    function test_setEmissionFactor_emitsAndAppliesToNewCertificates() public {
        _readAll(5_000);
        (uint256 before,) = _certify(0);
        vm.expectEmit(true, true, true, true, address(carbon));
        emit ICarbonCredit.EmissionFactorSet(REGION_DE, 400);
        carbon.setEmissionFactor(REGION_DE, 400);
        _readAll(5_000);
        (uint256 afterId, uint256 amount) = _certify(0);
        _assertEq(amount, _grams(5_000, 400), "new factor");
        _assertEq(_record(afterId).emissionFactorGramsPerKWh, 400, "recorded");
        _assertEq(_record(before).emissionFactorGramsPerKWh, FACTOR_DE, "old certificate keeps its factor");
    }

    function test_setEmissionFactor_byNonAdmin_reverts() public {
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, verifier));
        carbon.setEmissionFactor(REGION_DE, 1);
        vm.prank(regulator);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, regulator));
        carbon.setEmissionFactor(REGION_DE, 1);
        _assertEq(carbon.emissionFactorOf(REGION_DE), FACTOR_DE, "unchanged");
    }

    function test_setCreditLifetime_outOfBounds_reverts() public {
        uint256 min = carbon.MIN_CREDIT_LIFETIME_SECONDS();
        uint256 max = carbon.MAX_CREDIT_LIFETIME_SECONDS();
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.InvalidCreditLifetime.selector, min - 1));
        carbon.setCreditLifetime(uint64(min - 1));
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.InvalidCreditLifetime.selector, max + 1));
        carbon.setCreditLifetime(uint64(max + 1));
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.InvalidCreditLifetime.selector, 0));
        carbon.setCreditLifetime(0);
        carbon.setCreditLifetime(uint64(max));
        carbon.setCreditLifetime(uint64(min));
    }

    function test_setCreditLifetime_appliesToNewCertificates() public {
        _readAll(5_000);
        (uint256 first,) = _certify(0);
        uint64 shorter = 10 days;
        carbon.setCreditLifetime(shorter);
        uint256 lastInterval = _nextInterval();
        _readAll(5_000);
        (uint256 second,) = _certify(0);
        _assertEq(_expiresAt(second), lastInterval + 900 + shorter, "new lifetime");
        _assertEq(_expiresAt(first), _record(first).vintageEnd + LIFETIME, "old certificate keeps its expiry");
    }

    function test_setCreditLifetime_byNonAdmin_reverts() public {
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, verifier));
        carbon.setCreditLifetime(2 days);
    }

    function test_constructor_invalidLifetime_reverts() public {
        uint256 min = carbon.MIN_CREDIT_LIFETIME_SECONDS();
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.InvalidCreditLifetime.selector, min - 1));
        new CarbonCredit(address(manager), registry, token, uint64(min - 1), "uri");
    }

    // ------------------------------------------------------------ governance
    function test_grantRole_verifierByNonAdmin_reverts() public {
        address[3] memory outsiders = [verifier, regulator, solarProsumer];
        for (uint256 k; k < outsiders.length; ++k) {
            vm.prank(outsiders[k]);
            vm.expectRevert(
                abi.encodeWithSelector(
                    IAccessManager.AccessManagerUnauthorizedAccount.selector, outsiders[k], Roles.ADMIN
                )
            );
            manager.grantRole(Roles.VERIFIER, buyer, 0);
        }
        (bool isVerifier,) = manager.hasRole(Roles.VERIFIER, buyer);
        require(!isVerifier, "not granted");
        _readAll(5_000);
        (bytes memory data, uint256 amount,) = _nextCertification(0);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, buyer));
        carbon.issueCreditsCertificate(solarProsumer, amount, data);
    }

    function test_grantRole_verifierByAdmin_canIssue() public {
        address secondVerifier = address(0x7E42);
        manager.grantRole(Roles.VERIFIER, secondVerifier, 0);
        _readAll(5_000);
        (bytes memory data, uint256 amount,) = _nextCertification(0);
        vm.prank(secondVerifier);
        carbon.issueCreditsCertificate(solarProsumer, amount, data);
        _assertEq(carbon.balanceOf(solarProsumer, 1), amount, "issued by the new verifier");
        manager.revokeRole(Roles.VERIFIER, secondVerifier);
        _readAll(5_000);
        (data, amount,) = _nextCertification(0);
        vm.prank(secondVerifier);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, secondVerifier));
        carbon.issueCreditsCertificate(solarProsumer, amount, data);
    }

    // ------------------------------------------------------------ registry: minted export and resets
    function test_mintedExportThrough_sumsTheExportDeltas() public {
        _readAll(3_000);
        uint256 second = _nextInterval();
        _readAll(4_500);
        ISmartMeter.MintedExport memory m = registry.mintedExportThrough(2, 2);
        require(m.owner == windGenerator, "owner");
        require(m.source == ISmartMeter.EnergySource.Wind, "source");
        require(m.status == ISmartMeter.DeviceStatus.Active, "status");
        _assertEq(m.intervalStart, second, "interval of the reading");
        _assertEq(m.mintedWh, 7_500, "sum of deltas through reading 2");
        _assertEq(registry.mintedExportThrough(2, 1).mintedWh, 3_000, "through reading 1");
    }

    /// @dev Reading 1 and 2 minted 15,000 Wh; a tamper reading quarantines the meter; inspection
    ///      finds the register 40,000 Wh higher and resets it there; reading 3 adds 3,000 Wh.
    function _quarantineAndReset(uint256 i, uint64 jumpWh) internal returns (uint64 resetSequence) {
        require(!_readOne(i, 7_000, FLAG_TAMPER), "tamper reading refused");
        require(registry.getDevice(i + 1).status == ISmartMeter.DeviceStatus.Quarantined, "quarantined");
        resetSequence = nextSequence[i] - 1;
        exportRegisterWh[i] += jumpWh;
        registry.resetQuarantine(i + 1, 0, exportRegisterWh[i]);
        require(registry.getDevice(i + 1).status == ISmartMeter.DeviceStatus.Active, "active again");
    }

    function test_mintedExportThrough_afterReset_excludesTheRegisterJump() public {
        _readAll(10_000);
        _readAll(5_000);
        uint64 jump = 40_000;
        _quarantineAndReset(0, jump);
        require(_readOne(0, 3_000, 0), "reading 3 accepted");
        _assertEq(registry.getDevice(1).exportWh, 15_000 + jump + 3_000, "register includes the jump");
        _assertEq(registry.mintedExportThrough(1, 3).mintedWh, 15_000 + 3_000, "only what was minted");
        // The reset rewrote reading 2's entry: it can no longer end a certification.
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.ReadingBeforeReset.selector, 1, 2, 2));
        registry.mintedExportThrough(1, 2);
    }

    function test_issueCreditsCertificate_afterReset_certifiesOnlyMintedEnergy() public {
        uint256 start = _nextInterval();
        _readAll(10_000);
        _readAll(5_000);
        uint64 jump = 40_000;
        _quarantineAndReset(0, jump);
        require(_readOne(0, 3_000, 0), "reading 3 accepted");
        uint256 minted = 10_000 + 5_000 + 3_000;
        bytes memory data = _verification(0, 0, 3, uint64(start));
        // Credits for the register including the jump are not backed by minted energy.
        uint256 withJump = _grams(minted + jump, FACTOR_DE);
        _expectIssueRevert(
            solarProsumer,
            withJump,
            data,
            abi.encodeWithSelector(ICarbonCredit.AmountNotBackedByEnergy.selector, withJump, _grams(minted, FACTOR_DE))
        );
        uint256 id = _issue(solarProsumer, _grams(minted, FACTOR_DE), data);
        _assertEq(_record(id).energyWh, minted, "energy without the jump");
        (, uint256 certifiedWh) = carbon.certifiedThrough(1);
        _assertEq(certifiedWh, minted, "marker");
    }

    function test_issueCreditsCertificate_certifiedThenReset_nextCoversOnlyNewEnergy() public {
        _readAll(10_000);
        _certify(0);
        uint64 resetSequence = _quarantineAndReset(0, 25_000);
        _assertEq(resetSequence, 1, "reset at reading 1");
        uint256 next = _nextInterval();
        require(_readOne(0, 2_000, 0), "reading 2 accepted");
        require(_readOne(0, 1_000, 0), "reading 3 accepted");
        uint256 id = _issue(solarProsumer, _grams(3_000, FACTOR_DE), _verification(0, 1, 3, uint64(next)));
        _assertEq(_record(id).energyWh, 3_000, "new energy only");
    }

    function test_mintedExportThrough_readingBeforeReset_reverts() public {
        uint256 start = _nextInterval();
        _readAll(10_000);
        _readAll(5_000);
        uint64 resetSequence = _quarantineAndReset(0, 40_000);
        _assertEq(resetSequence, 2, "reset at reading 2");
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.ReadingBeforeReset.selector, 1, 1, 2));
        registry.mintedExportThrough(1, 1);
        _expectIssueRevert(
            solarProsumer,
            _grams(10_000, FACTOR_DE),
            _verification(0, 0, 1, uint64(start)),
            abi.encodeWithSelector(ISmartMeter.ReadingBeforeReset.selector, 1, 1, 2)
        );
        // Nor through the reset reading itself, whose entry the reset rewrote.
        _expectIssueRevert(
            solarProsumer,
            _grams(15_000, FACTOR_DE),
            _verification(0, 0, 2, uint64(start)),
            abi.encodeWithSelector(ISmartMeter.ReadingBeforeReset.selector, 1, 2, 2)
        );
        // The next reading ends a certificate of everything minted, before and after the reset.
        require(_readOne(0, 3_000, 0), "reading 3 accepted");
        uint256 id = _issue(solarProsumer, _grams(18_000, FACTOR_DE), _verification(0, 0, 3, uint64(start)));
        _assertEq(_record(id).energyWh, 18_000, "energy through the first reading after the reset");
    }

    /// @dev resetQuarantine rewrites the entry of the last accepted reading (its registers and,
    ///      hours later, its interval), so the registry no longer vouches for that reading's figures.
    function test_mintedExportThrough_resetReading_reverts() public {
        _readAll(4_000);
        _warp(nowSeconds + 6 hours);
        _quarantineAndReset(0, 0);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.ReadingBeforeReset.selector, 1, 1, 1));
        registry.mintedExportThrough(1, 1);
        uint256 next = _nextInterval();
        require(_readOne(0, 1_000, 0), "reading 2 accepted");
        ISmartMeter.MintedExport memory m = registry.mintedExportThrough(1, 2);
        _assertEq(m.mintedWh, 5_000, "minted through reading 2");
        _assertEq(m.intervalStart, next, "interval of reading 2");
    }

    /// @dev A certificate cannot end at the reading a reset rewrote (its interval would be the
    ///      reset's); it ends at a later reading, whose interval ends the vintage.
    function test_issueCreditsCertificate_throughResetReading_revertsAndLaterReadingEndsTheVintage() public {
        uint256 readingInterval = _nextInterval();
        _readAll(4_000);
        _warp(nowSeconds + 6 hours);
        _quarantineAndReset(0, 0);
        _expectIssueRevert(
            solarProsumer,
            _grams(4_000, FACTOR_DE),
            _verification(0, 0, 1, uint64(readingInterval)),
            abi.encodeWithSelector(ISmartMeter.ReadingBeforeReset.selector, 1, 1, 1)
        );
        uint256 next = _nextInterval();
        require(_readOne(0, 2_000, 0), "reading 2 accepted");
        uint256 id = _issue(solarProsumer, _grams(6_000, FACTOR_DE), _verification(0, 0, 2, uint64(readingInterval)));
        _assertEq(_record(id).vintageEnd, next + 900, "vintage end = end of lot 2");
        _assertEq(_record(id).expiresAt, next + 900 + LIFETIME, "expiry");
    }

    // ------------------------------------------------------------ retirement
    function test_retireCertificateCredits_burnsAndLogs() public {
        _readAll(10_000);
        (uint256 id, uint256 amount) = _certify(0);
        uint256 first = 1_000;
        uint256 second = 250;

        vm.prank(solarProsumer);
        uint256 r1 = carbon.retireCertificateCredits(id, first, beneficiary, PURPOSE);
        ICarbonCredit.Retirement memory rec1 = _retirement(solarProsumer, beneficiary, id, first, PURPOSE);
        _warp(nowSeconds + 1 hours);
        vm.prank(solarProsumer);
        uint256 r2 = carbon.retireCertificateCredits(id, second, buyer, "other");
        ICarbonCredit.Retirement memory rec2 = _retirement(solarProsumer, buyer, id, second, "other");

        _assertEq(r1, 1, "first retirement id");
        _assertEq(r2, 2, "second retirement id");
        _assertEq(carbon.retirementCount(), 2, "count");
        _assertEq(carbon.balanceOf(solarProsumer, id), amount - first - second, "burned");
        _assertEq(_record(id).retiredGrams, first + second, "retired grams");
        _assertEq(_record(id).co2eGrams, amount, "issued unchanged");
        (uint256 count, uint256 head) = carbon.retirementLog();
        _assertEq(count, 2, "log count");
        _assertEq(head, _step(_step(0, r1, rec1), r2, rec2), "head = chain over both records in order");
    }

    function test_retirementLog_emptyBeforeFirstRetirement() public view {
        (uint256 count, uint256 head) = carbon.retirementLog();
        _assertEq(count, 0, "count");
        _assertEq(head, 0, "head");
        _assertEq(carbon.retirementCount(), 0, "retirementCount");
    }

    function test_retirementLogStep_isTheDocumentedHash() public view {
        ICarbonCredit.Retirement memory rec = _retirement(solarProsumer, beneficiary, 3, 700, PURPOSE);
        uint256 previous = uint256(keccak256("some head")) >> 64;
        _assertEq(carbon.retirementLogStep(previous, 5, rec), _step(previous, 5, rec), "step");
        require(carbon.retirementLogStep(previous, 5, rec) < 2 ** 192, "192 bits");
    }

    /// @dev Replaying an altered record, or the records left out, reordered or with one added,
    ///      does not reach the logged head.
    function test_retirementLog_anyChangedRecordDoesNotReplay() public {
        _readAll(10_000);
        (uint256 id,) = _certify(0);
        vm.prank(solarProsumer);
        uint256 r1 = carbon.retireCertificateCredits(id, 700, beneficiary, PURPOSE);
        vm.prank(solarProsumer);
        uint256 r2 = carbon.retireCertificateCredits(id, 300, buyer, "other");
        ICarbonCredit.Retirement memory rec1 = _retirement(solarProsumer, beneficiary, id, 700, PURPOSE);
        ICarbonCredit.Retirement memory rec2 = _retirement(solarProsumer, buyer, id, 300, "other");
        (, uint256 head) = carbon.retirementLog();
        require(_replay2(r1, rec1, r2, rec2) == head, "the exact records replay");

        ICarbonCredit.Retirement memory changed = _retirement(buyer, beneficiary, id, 700, PURPOSE);
        require(_replay2(r1, changed, r2, rec2) != head, "retiree");
        changed = _retirement(solarProsumer, buyer, id, 700, PURPOSE);
        require(_replay2(r1, changed, r2, rec2) != head, "beneficiary");
        changed = _retirement(solarProsumer, beneficiary, id + 1, 700, PURPOSE);
        require(_replay2(r1, changed, r2, rec2) != head, "certificate");
        changed = _retirement(solarProsumer, beneficiary, id, 701, PURPOSE);
        require(_replay2(r1, changed, r2, rec2) != head, "grams");
        changed = _retirement(solarProsumer, beneficiary, id, 700, PURPOSE);
        changed.retiredAt = nowSeconds - 1;
        require(_replay2(r1, changed, r2, rec2) != head, "time");
        changed = _retirement(solarProsumer, beneficiary, id, 700, "2026 scope 3");
        require(_replay2(r1, changed, r2, rec2) != head, "purpose");
        require(_replay2(r2, rec1, r1, rec2) != head, "retirement ids swapped");
        require(_replay2(r1, rec2, r2, rec1) != head, "records reordered");
        require(carbon.retirementLogStep(0, r2, rec2) != head, "first record left out");
        require(carbon.retirementLogStep(0, r1, rec1) != head, "last record left out");
        require(carbon.retirementLogStep(head, r2 + 1, rec2) != head, "a record added");
    }

    function _replay2(uint256 idA, ICarbonCredit.Retirement memory a, uint256 idB, ICarbonCredit.Retirement memory b)
        internal
        view
        returns (uint256)
    {
        return carbon.retirementLogStep(carbon.retirementLogStep(0, idA, a), idB, b);
    }

    function test_retireCertificateCredits_emitsCreditsRetired() public {
        _readAll(10_000);
        (uint256 id,) = _certify(0);
        _send(solarProsumer, buyer, id, 900);
        // The burn (TransferSingle to the zero address), then the retirement record.
        vm.expectEmit(true, true, true, true, address(carbon));
        emit IERC1155.TransferSingle(buyer, buyer, address(0), id, 400);
        vm.expectEmit(true, true, true, true, address(carbon));
        emit ICarbonCredit.CreditsRetired(1, id, buyer, beneficiary, 400, nowSeconds, PURPOSE);
        vm.prank(buyer);
        carbon.retireCertificateCredits(id, 400, beneficiary, PURPOSE);
    }

    function test_retireCredits_walksCertificatesInOrderReceived() public {
        _readAll(10_000);
        (uint256 solarId,) = _certify(0);
        (uint256 windId,) = _certify(1);
        (uint256 frId,) = _certify(2);
        // The buyer receives the French credits first, then solar, then wind.
        _send(frenchProsumer, buyer, frId, 300);
        _send(solarProsumer, buyer, solarId, 500);
        _send(windGenerator, buyer, windId, 700);
        _assertIds(carbon.queuedCertificates(buyer), _ids(frId, solarId, windId), "queue in order received");

        uint256 fromWind = 100;
        vm.recordLogs();
        vm.prank(buyer);
        carbon.retireCredits(300 + 500 + fromWind);
        Cheats.Log[] memory logs = _logs(vm.getRecordedLogs(), address(carbon), ICarbonCredit.CreditsRetired.selector);

        _assertEq(logs.length, 3, "one retirement per certificate");
        uint256[3] memory certs = [frId, solarId, windId];
        uint256[3] memory grams = [uint256(300), 500, fromWind];
        uint256 head;
        for (uint256 k; k < 3; ++k) {
            _assertEq(uint256(logs[k].topics[1]), k + 1, "retirement id");
            _assertEq(uint256(logs[k].topics[2]), certs[k], "certificate in order received");
            require(address(uint160(uint256(logs[k].topics[3]))) == buyer, "retiree");
            (address onBehalf, uint256 g, uint256 retiredAt, string memory purpose) =
                abi.decode(logs[k].data, (address, uint256, uint256, string));
            require(onBehalf == buyer, "beneficiary = caller");
            _assertEq(g, grams[k], "grams");
            _assertEq(retiredAt, nowSeconds, "time");
            require(bytes(purpose).length == 0, "no purpose");
            head = _step(head, k + 1, ICarbonCredit.Retirement(buyer, onBehalf, certs[k], g, retiredAt, purpose));
        }
        (uint256 count, uint256 logged) = carbon.retirementLog();
        _assertEq(count, 3, "log count");
        _assertEq(logged, head, "the events replay to the logged head");
        _assertEq(carbon.balanceOf(buyer, frId), 0, "french spent");
        _assertEq(carbon.balanceOf(buyer, solarId), 0, "solar spent");
        _assertEq(carbon.balanceOf(buyer, windId), 700 - fromWind, "wind partly");
        _assertEq(_record(windId).retiredGrams, fromWind, "wind retired");
        _assertIds(carbon.queuedCertificates(buyer), _ids(windId), "spent ids dropped");
    }

    function test_retireCredits_skipsExpiredCertificates() public {
        carbon.setCreditLifetime(1 days);
        _readAll(10_000);
        (uint256 shortLived, uint256 shortAmount) = _certify(0);
        carbon.setCreditLifetime(LIFETIME);
        _readAll(10_000);
        (uint256 longLived, uint256 longAmount) = _certify(0);
        _warp(_expiresAt(shortLived));
        vm.prank(solarProsumer);
        carbon.retireCredits(longAmount);
        _assertEq(_record(longLived).retiredGrams, longAmount, "the live certificate retired");
        _assertEq(_record(shortLived).retiredGrams, 0, "the expired one untouched");
        _assertEq(carbon.balanceOf(solarProsumer, shortLived), shortAmount, "expired credits stay held");
        _assertEq(carbon.queuedCertificates(solarProsumer).length, 0, "expired and spent ids dropped");
    }

    function test_retireCredits_zeroAmount_reverts() public {
        _readAll(10_000);
        _certify(0);
        vm.prank(solarProsumer);
        vm.expectRevert(ICarbonCredit.ZeroAmount.selector);
        carbon.retireCredits(0);
    }

    function test_retireCredits_moreThanLive_reverts() public {
        _readAll(10_000);
        (, uint256 a) = _certify(0);
        _readAll(1_000);
        (, uint256 b) = _certify(0);
        vm.prank(solarProsumer);
        vm.expectRevert(
            abi.encodeWithSelector(ICarbonCredit.InsufficientLiveCredits.selector, solarProsumer, a + b, a + b + 1)
        );
        carbon.retireCredits(a + b + 1);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.InsufficientLiveCredits.selector, buyer, 0, 1));
        carbon.retireCredits(1);
    }

    function test_retireCredits_whenPaused_reverts() public {
        _readAll(10_000);
        _certify(0);
        vm.prank(emergency);
        carbon.pause();
        vm.prank(solarProsumer);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        carbon.retireCredits(1);
    }

    function test_retireCertificateCredits_zeroAmount_reverts() public {
        _readAll(10_000);
        (uint256 id,) = _certify(0);
        vm.prank(solarProsumer);
        vm.expectRevert(ICarbonCredit.ZeroAmount.selector);
        carbon.retireCertificateCredits(id, 0, beneficiary, PURPOSE);
    }

    function test_retireCertificateCredits_zeroBeneficiary_reverts() public {
        _readAll(10_000);
        (uint256 id,) = _certify(0);
        vm.prank(solarProsumer);
        vm.expectRevert(ICarbonCredit.InvalidBeneficiary.selector);
        carbon.retireCertificateCredits(id, 1, address(0), PURPOSE);
    }

    function test_retireCertificateCredits_moreThanHeld_reverts() public {
        _readAll(10_000);
        (uint256 id, uint256 amount) = _certify(0);
        vm.prank(solarProsumer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC1155Errors.ERC1155InsufficientBalance.selector, solarProsumer, amount, amount + 1, id
            )
        );
        carbon.retireCertificateCredits(id, amount + 1, beneficiary, PURPOSE);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IERC1155Errors.ERC1155InsufficientBalance.selector, buyer, 0, 1, id));
        carbon.retireCertificateCredits(id, 1, beneficiary, PURPOSE);
    }

    function test_retireCertificateCredits_expired_reverts() public {
        _readAll(10_000);
        (uint256 id,) = _certify(0);
        uint256 expiresAt = _expiresAt(id);
        _warp(expiresAt - 1);
        vm.prank(solarProsumer);
        carbon.retireCertificateCredits(id, 1, beneficiary, PURPOSE);
        _warp(expiresAt);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.CertificateExpired.selector, id, expiresAt));
        carbon.retireCertificateCredits(id, 1, beneficiary, PURPOSE);
    }

    function test_retireCertificateCredits_unknownCertificate_reverts() public {
        _readAll(10_000);
        (uint256 id,) = _certify(0);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.UnknownCertificate.selector, id + 1));
        carbon.retireCertificateCredits(id + 1, 1, beneficiary, PURPOSE);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.UnknownCertificate.selector, 0));
        carbon.retireCertificateCredits(0, 1, beneficiary, PURPOSE);
    }

    function test_retireCertificateCredits_whenPaused_reverts() public {
        _readAll(10_000);
        (uint256 id,) = _certify(0);
        vm.prank(emergency);
        carbon.pause();
        vm.prank(solarProsumer);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        carbon.retireCertificateCredits(id, 1, beneficiary, PURPOSE);
    }

    // ------------------------------------------------------------ transfers
    function test_transferCredits_acrossCertificates_oneTransferBatch() public {
        _readAll(10_000);
        (uint256 first, uint256 a) = _certify(0);
        _readAll(5_000);
        (uint256 second, uint256 b) = _certify(0);
        uint256 fromSecond = 10;
        uint256[] memory values = _ids(a, fromSecond);

        vm.expectEmit(true, true, true, true, address(carbon));
        emit IERC1155.TransferBatch(solarProsumer, solarProsumer, buyer, _ids(first, second), values);
        vm.prank(solarProsumer);
        bool ok = carbon.transferCredits(buyer, a + fromSecond);

        require(ok, "returns true");
        _assertEq(carbon.balanceOf(buyer, first), a, "buyer first");
        _assertEq(carbon.balanceOf(buyer, second), fromSecond, "buyer second");
        _assertEq(carbon.balanceOf(solarProsumer, first), 0, "generator first");
        _assertEq(carbon.balanceOf(solarProsumer, second), b - fromSecond, "generator second");
        _assertIds(carbon.queuedCertificates(solarProsumer), _ids(second), "spent id dropped");
        _assertIds(carbon.queuedCertificates(buyer), _ids(first, second), "buyer queue");
    }

    function test_transferCredits_toSelf_reverts() public {
        _readAll(10_000);
        _certify(0);
        vm.prank(solarProsumer);
        vm.expectRevert(ICarbonCredit.TransferToSelf.selector);
        carbon.transferCredits(solarProsumer, 1);
    }

    function test_transferCredits_zeroAmount_reverts() public {
        _readAll(10_000);
        _certify(0);
        vm.prank(solarProsumer);
        vm.expectRevert(ICarbonCredit.ZeroAmount.selector);
        carbon.transferCredits(buyer, 0);
    }

    function test_transferCredits_moreThanLive_reverts() public {
        _readAll(10_000);
        (, uint256 a) = _certify(0);
        _readAll(1_000);
        (, uint256 b) = _certify(0);
        vm.prank(solarProsumer);
        vm.expectRevert(
            abi.encodeWithSelector(ICarbonCredit.InsufficientLiveCredits.selector, solarProsumer, a + b, a + b + 1)
        );
        carbon.transferCredits(buyer, a + b + 1);
        _assertIds(carbon.queuedCertificates(solarProsumer), _ids(1, 2), "queue unchanged");
    }

    function test_transferCredits_whenPaused_reverts() public {
        _readAll(10_000);
        (uint256 id,) = _certify(0);
        vm.prank(emergency);
        carbon.pause();
        vm.prank(solarProsumer);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        carbon.transferCredits(buyer, 1);
        vm.prank(solarProsumer);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        carbon.safeTransferFrom(solarProsumer, buyer, id, 1, "");
    }

    function test_transferCredits_skipsExpiredCertificates() public {
        carbon.setCreditLifetime(1 days);
        _readAll(10_000);
        (uint256 shortLived, uint256 shortAmount) = _certify(0);
        carbon.setCreditLifetime(LIFETIME);
        _readAll(10_000);
        (uint256 longLived, uint256 longAmount) = _certify(0);
        _warp(_expiresAt(shortLived));

        vm.prank(solarProsumer);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICarbonCredit.InsufficientLiveCredits.selector, solarProsumer, longAmount, longAmount + 1
            )
        );
        carbon.transferCredits(buyer, longAmount + 1);

        vm.prank(solarProsumer);
        carbon.transferCredits(buyer, longAmount);
        _assertEq(carbon.balanceOf(buyer, longLived), longAmount, "live credits moved");
        _assertEq(carbon.balanceOf(buyer, shortLived), 0, "expired credits did not move");
        _assertEq(carbon.balanceOf(solarProsumer, shortLived), shortAmount, "expired credits stay");
        _assertEq(carbon.queuedCertificates(solarProsumer).length, 0, "expired and spent ids dropped");
    }

    function test_safeTransferFrom_expiredCertificate_reverts() public {
        _readAll(10_000);
        (uint256 id,) = _certify(0);
        uint256 expiresAt = _expiresAt(id);
        _warp(expiresAt - 1);
        _send(solarProsumer, buyer, id, 10);
        _warp(expiresAt);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.CertificateExpired.selector, id, expiresAt));
        carbon.safeTransferFrom(solarProsumer, buyer, id, 10, "");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.CertificateExpired.selector, id, expiresAt));
        carbon.safeBatchTransferFrom(buyer, solarProsumer, _ids(id), _ids(10), "");
    }

    function test_liveBalanceOf_zeroFromExpiry() public {
        _readAll(10_000);
        (uint256 id, uint256 amount) = _certify(0);
        uint256 expiresAt = _expiresAt(id);
        _warp(expiresAt - 1);
        _assertEq(carbon.liveBalanceOf(solarProsumer, id), amount, "live until expiry");
        _warp(expiresAt);
        _assertEq(carbon.liveBalanceOf(solarProsumer, id), 0, "nothing live at expiry");
        _assertEq(carbon.balanceOf(solarProsumer, id), amount, "still held");
        _assertEq(carbon.liveBalanceOf(solarProsumer, id + 1), 0, "unknown certificate");
    }

    function test_queuedCertificates_dropsSpentIds() public {
        _readAll(10_000);
        (uint256 first, uint256 a) = _certify(0);
        _readAll(10_000);
        (uint256 second, uint256 b) = _certify(0);
        _readAll(10_000);
        (uint256 third,) = _certify(0);
        _assertIds(carbon.queuedCertificates(solarProsumer), _ids(first, second, third), "all queued");
        vm.prank(solarProsumer);
        carbon.transferCredits(buyer, a + b - 1);
        _assertIds(carbon.queuedCertificates(solarProsumer), _ids(second, third), "first spent");
        vm.prank(solarProsumer);
        carbon.retireCredits(1);
        _assertIds(carbon.queuedCertificates(solarProsumer), _ids(third), "second spent");
    }

    function test_safeTransferFrom_toContractReceiver_receivesWithoutQueue() public {
        CreditVault vault = new CreditVault();
        _readAll(10_000);
        (uint256 first,) = _certify(0);
        _readAll(10_000);
        (uint256 second, uint256 b) = _certify(0);
        _send(solarProsumer, address(vault), first, 100);
        _assertEq(carbon.balanceOf(address(vault), first), 100, "received by id");
        uint256 restOfFirst = carbon.balanceOf(solarProsumer, first);
        vm.prank(solarProsumer);
        carbon.transferCredits(address(vault), restOfFirst + 5);
        _assertEq(carbon.balanceOf(address(vault), first), 100 + restOfFirst, "rest of the first (batch)");
        _assertEq(carbon.balanceOf(address(vault), second), 5, "and from the second (batch)");
        _assertEq(carbon.queuedCertificates(address(vault)).length, 0, "a contract gets no queue");
        // Without a queue the id-less functions find nothing; by id the vault moves its credits.
        vm.prank(address(vault));
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.InsufficientLiveCredits.selector, address(vault), 0, 1));
        carbon.transferCredits(buyer, 1);
        _send(address(vault), buyer, second, 5);
        _assertEq(carbon.balanceOf(buyer, second), 5, "moved by id");
        _assertEq(carbon.balanceOf(solarProsumer, second), b - 5, "generator kept the rest");
    }

    function test_transferCredits_toContractWithoutReceiver_reverts() public {
        _readAll(10_000);
        _certify(0);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(IERC1155Errors.ERC1155InvalidReceiver.selector, address(token)));
        carbon.transferCredits(address(token), 1);
    }

    /// @dev An id that left an account by id (safeTransferFrom, a pool deposit, a full
    ///      retirement by id) stays in its queue; receiving the same id again queues it a second
    ///      time. transferCredits must take that certificate's balance once, not twice.
    function test_transferCredits_idReceivedAgain_transfersAllLiveCredits() public {
        _readAll(10_000);
        (uint256 solarId,) = _certify(0);
        (uint256 windId,) = _certify(1);
        _send(solarProsumer, buyer, solarId, 100);
        _send(buyer, solarProsumer, solarId, 100); // e.g. deposited in a pool
        _send(solarProsumer, buyer, solarId, 100); // and redeemed from it
        _send(windGenerator, buyer, windId, 50);
        uint256 live = carbon.liveBalanceOf(buyer, solarId) + carbon.liveBalanceOf(buyer, windId);
        _assertEq(live, 150, "the buyer holds 150 g live");

        vm.prank(buyer);
        carbon.transferCredits(beneficiary, live);
        _assertEq(carbon.balanceOf(beneficiary, solarId) + carbon.balanceOf(beneficiary, windId), live, "all moved");
    }

    /// @dev The same duplicate queue entry, seen through retireCredits.
    function test_retireCredits_idReceivedAgain_retiresAllLiveCredits() public {
        _readAll(10_000);
        (uint256 solarId,) = _certify(0);
        (uint256 windId,) = _certify(1);
        _send(solarProsumer, buyer, solarId, 100);
        vm.prank(buyer);
        carbon.retireCertificateCredits(solarId, 100, buyer, PURPOSE); // by id: the queue keeps the id
        _send(solarProsumer, buyer, solarId, 100);
        _send(windGenerator, buyer, windId, 50);

        vm.prank(buyer);
        carbon.retireCredits(150);
        _assertEq(_record(solarId).retiredGrams + _record(windId).retiredGrams, 250, "all retired");
    }

    /// @dev The id-less functions walk at most MAX_CERTIFICATES_PER_CALL queue entries and a
    ///      failed call drops nothing, so a queue led by 32 expired certificates needs pruneQueue
    ///      (anyone may call it) before retireCredits reaches the live credits behind them.
    function test_retireCredits_behindMaxExpiredCertificates_stillReachesLiveCredits() public {
        uint256 maxWalk = carbon.MAX_CERTIFICATES_PER_CALL();
        carbon.setCreditLifetime(1 days);
        for (uint256 k; k < maxWalk; ++k) {
            uint256 device = k % 3;
            if (device == 0) _readAll(1_000);
            (uint256 id,) = _certify(device);
            _send(owners[device], buyer, id, 1);
        }
        uint256 lastShortLived = carbon.certificateCount();
        carbon.setCreditLifetime(LIFETIME);
        _readAll(1_000);
        (uint256 live,) = _certify(0);
        _send(solarProsumer, buyer, live, 10);
        _warp(_expiresAt(lastShortLived));
        _assertEq(carbon.liveBalanceOf(buyer, live), 10, "the buyer holds 10 g live");
        _assertEq(carbon.queuedCertificates(buyer).length, maxWalk + 1, "32 expired ids ahead of the live one");

        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.InsufficientLiveCredits.selector, buyer, 0, 1));
        carbon.retireCredits(1);

        _assertEq(carbon.pruneQueue(buyer, maxWalk - 1), maxWalk - 1, "bounded by maxEntries");
        _assertEq(carbon.pruneQueue(buyer, 100), 1, "stops at the first live id");
        _assertEq(carbon.queuedCertificates(buyer).length, 1, "only the live id is left");
        _assertEq(carbon.pruneQueue(buyer, 100), 0, "nothing dead left in front");
        vm.prank(buyer);
        carbon.retireCredits(1);
        _assertEq(_record(live).retiredGrams, 1, "retired from the live certificate");
    }

    // ------------------------------------------------------------ expiry
    function test_recordExpiry_beforeExpiry_reverts() public {
        _readAll(10_000);
        (uint256 id,) = _certify(0);
        uint256 expiresAt = _expiresAt(id);
        _warp(expiresAt - 1);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.CertificateNotExpired.selector, id, expiresAt));
        carbon.recordExpiry(id);
        require(!_record(id).expiryRecorded, "not recorded");
    }

    function test_recordExpiry_afterExpiry_recordsOutstanding() public {
        _readAll(10_000);
        (uint256 id, uint256 amount) = _certify(0);
        uint256 retired = 1_234;
        vm.prank(solarProsumer);
        carbon.retireCertificateCredits(id, retired, beneficiary, PURPOSE);
        uint256 expiresAt = _expiresAt(id);
        _warp(expiresAt);
        vm.expectEmit(true, true, true, true, address(carbon));
        emit ICarbonCredit.CreditsExpired(id, amount - retired, expiresAt);
        vm.prank(buyer); // anyone
        carbon.recordExpiry(id);
        ICarbonCredit.EmissionData memory d = _record(id);
        require(d.expiryRecorded, "recorded");
        _assertEq(d.retiredGrams, retired, "retired unchanged");
        _assertEq(carbon.balanceOf(solarProsumer, id), amount - retired, "balance unchanged");
    }

    function test_recordExpiry_twice_reverts() public {
        _readAll(10_000);
        (uint256 id,) = _certify(0);
        _warp(_expiresAt(id) + 1 days);
        carbon.recordExpiry(id);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.ExpiryAlreadyRecorded.selector, id));
        carbon.recordExpiry(id);
    }

    function test_recordExpiry_unknownCertificate_reverts() public {
        _readAll(10_000);
        (uint256 id,) = _certify(0);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.UnknownCertificate.selector, id + 1));
        carbon.recordExpiry(id + 1);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.UnknownCertificate.selector, id + 1));
        carbon.getEmissionReductions(id + 1);
    }

    // ------------------------------------------------------------ fuzz
    function testFuzz_issueCreditsCertificate_creditsAreFlooredEnergyTimesFactor(uint64[4] memory deltas, uint32 factor)
        public
    {
        factor = uint32(1 + factor % carbon.MAX_EMISSION_FACTOR_G_PER_KWH());
        carbon.setEmissionFactor(REGION_DE, factor);
        uint256 start = _nextInterval();
        uint256 energyWh;
        for (uint256 k; k < 4; ++k) {
            uint64 delta = deltas[k] % 25_001;
            require(_readOne(1, delta, 0), "reading accepted");
            energyWh += delta;
        }
        uint256 backed = energyWh * factor / 1000;
        bytes memory data = _verification(1, 0, 4, uint64(start));
        if (energyWh == 0) {
            _expectIssueRevert(
                windGenerator, 0, data, abi.encodeWithSelector(ICarbonCredit.NoEnergyInRange.selector, 2, 4)
            );
            return;
        }
        if (backed == 0) {
            _expectIssueRevert(
                windGenerator, 0, data, abi.encodeWithSelector(ICarbonCredit.AmountNotBackedByEnergy.selector, 0, 0)
            );
            return;
        }
        _expectIssueRevert(
            windGenerator,
            backed + 1,
            data,
            abi.encodeWithSelector(ICarbonCredit.AmountNotBackedByEnergy.selector, backed + 1, backed)
        );
        uint256 id = _issue(windGenerator, backed, data);
        ICarbonCredit.EmissionData memory d = _record(id);
        _assertEq(d.energyWh, energyWh, "energy");
        _assertEq(d.co2eGrams, backed, "credits");
        require(d.co2eGrams * 1000 <= energyWh * factor, "never above energy x factor");
        require((d.co2eGrams + 1) * 1000 > energyWh * factor, "less than a gram below");
        _assertEq(carbon.balanceOf(windGenerator, id), backed, "balance");
    }

    /// @dev Cutting a range in two never yields more credits than certifying it whole.
    function testFuzz_issueCreditsCertificate_splitRangeNeverExceedsTheWhole(uint64[4] memory deltas, uint8 cut)
        public
    {
        uint256 start = _nextInterval();
        uint256[5] memory intervals;
        uint256[5] memory cumulative;
        for (uint256 k; k < 4; ++k) {
            intervals[k + 1] = _nextInterval();
            uint64 delta = 1_000 + deltas[k] % 24_001;
            require(_readOne(2, delta, 0), "reading accepted");
            cumulative[k + 1] = cumulative[k] + delta;
        }
        uint64 split = uint64(1 + cut % 3);
        uint256 firstGrams = cumulative[split] * FACTOR_FR / 1000;
        uint256 secondGrams = (cumulative[4] - cumulative[split]) * FACTOR_FR / 1000;
        uint256 a = _issue(frenchProsumer, firstGrams, _verification(2, 0, split, uint64(start)));
        uint256 b = _issue(frenchProsumer, secondGrams, _verification(2, split, 4, uint64(intervals[split + 1])));
        _assertEq(_record(a).energyWh + _record(b).energyWh, cumulative[4], "energy adds up");
        require(firstGrams + secondGrams <= cumulative[4] * FACTOR_FR / 1000, "split exceeds the whole");
        _assertEq(
            carbon.balanceOf(frenchProsumer, a) + carbon.balanceOf(frenchProsumer, b),
            firstGrams + secondGrams,
            "minted"
        );
    }

    function testFuzz_retire_randomSplit(uint256 firstSeed, uint256 secondSeed, uint32 energySeed) public {
        _readAll(uint64(5_000 + energySeed % 20_001));
        (uint256 id, uint256 amount) = _certify(0);
        uint256 first = 1 + firstSeed % (amount - 1);
        uint256 second = 1 + secondSeed % (amount - first);
        uint256 rest = amount - first - second;

        vm.prank(solarProsumer);
        uint256 r1 = carbon.retireCertificateCredits(id, first, beneficiary, PURPOSE);
        vm.prank(solarProsumer);
        carbon.retireCredits(second);
        _assertEq(_record(id).retiredGrams, first + second, "retired");
        _assertEq(carbon.balanceOf(solarProsumer, id), rest, "held");
        (uint256 count, uint256 head) = carbon.retirementLog();
        _assertEq(count, 2, "two records");
        _assertEq(
            head,
            _step(
                _step(0, r1, _retirement(solarProsumer, beneficiary, id, first, PURPOSE)),
                r1 + 1,
                _retirement(solarProsumer, solarProsumer, id, second, "")
            ),
            "log head"
        );
        if (rest != 0) {
            vm.prank(solarProsumer);
            carbon.retireCredits(rest);
        }
        _assertEq(_record(id).retiredGrams, amount, "all retired");
        _assertEq(carbon.balanceOf(solarProsumer, id), 0, "nothing left");
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.InsufficientLiveCredits.selector, solarProsumer, 0, 1));
        carbon.retireCredits(1);
    }

    function testFuzz_transferCredits_takesCertificatesInOrder(uint256 amountSeed, uint32 energySeed) public {
        uint256[3] memory ids;
        uint256[3] memory held;
        uint256 total;
        for (uint256 k; k < 3; ++k) {
            _readAll(uint64(1_000 + (uint256(energySeed) >> (8 * k)) % 20_000));
            (ids[k], held[k]) = _certify(0);
            total += held[k];
        }
        uint256 amount = 1 + amountSeed % total;
        vm.prank(solarProsumer);
        carbon.transferCredits(buyer, amount);
        uint256 remaining = amount;
        for (uint256 k; k < 3; ++k) {
            uint256 part = remaining < held[k] ? remaining : held[k];
            remaining -= part;
            _assertEq(carbon.balanceOf(buyer, ids[k]), part, "oldest received first");
            _assertEq(carbon.balanceOf(solarProsumer, ids[k]), held[k] - part, "rest stays");
        }
    }
}

