// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {Cheats} from "./base/Cheats.sol";
import {SolicitedCreditsHolder} from "../libraries/SolicitedCreditsHolder.sol";
import {CarbonWorld} from "./base/CarbonWorld.sol";
import {CarbonPool} from "../CarbonPool.sol";
import {ICarbonPool} from "../interfaces/ICarbonPool.sol";
import {ICarbonCredit} from "../interfaces/ICarbonCredit.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IERC20Errors, IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @notice Cheatcodes these tests need beyond the shared ones (same address as `vm`).
interface PoolCheats is Cheats {
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
}

/// @notice CarbonPool: deposits (criteria, vintage order, hints), redemption oldest first,
///         selective redemption against a fee, retirement from the pool, expiry write-offs.
contract CarbonPoolTest is CarbonWorld {
    PoolCheats internal constant cheats = PoolCheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint32 internal constant SOLAR = uint32(1) << uint8(ISmartMeter.EnergySource.Solar);
    uint32 internal constant WIND = uint32(1) << uint8(ISmartMeter.EnergySource.Wind);
    /// The fixture's _criteria asks for 30 days of remaining validity at deposit.
    uint64 internal constant MIN_VALIDITY = 30 days;
    uint256 internal constant FEE_BPS = 100;
    uint64 internal constant READING_WH = 10_000;
    string internal constant PURPOSE = "Scope 2, FY2026";

    address internal feeCollector = address(0xFEE);
    CarbonPool internal pool;

    function setUp() public {
        _buildCarbonWorld();
        pool = _pool(_criteria(0, SOLAR | WIND, new uint16[](0)), FEE_BPS);
        _approveAll(pool);
    }

    // ------------------------------------------------------------ helpers
    function _pool(ICarbonPool.Criteria memory criteria, uint256 feeBps) internal returns (CarbonPool) {
        return new CarbonPool("GridLedger Renewable", "GLR", carbon, criteria, feeBps, feeCollector);
    }

    function _approveAll(CarbonPool target) internal {
        address[4] memory holders = [solarProsumer, windGenerator, frenchProsumer, buyer];
        for (uint256 i; i < holders.length; ++i) {
            vm.prank(holders[i]);
            carbon.setApprovalForAll(address(target), true);
        }
    }

    function _put(address depositor, uint256 certificateId, uint256 amount) internal {
        vm.prank(depositor);
        pool.deposit(certificateId, amount);
    }

    function _vintageEnd(uint256 certificateId) internal view returns (uint256) {
        return carbon.getEmissionReductions(certificateId).vintageEnd;
    }

    function _expiresAt(uint256 certificateId) internal view returns (uint256) {
        return carbon.getEmissionReductions(certificateId).expiresAt;
    }

    function _retiredGrams(uint256 certificateId) internal view returns (uint256) {
        return carbon.getEmissionReductions(certificateId).retiredGrams;
    }

    /// @dev Three certificates of increasing vintage end: A solar DE (interval 1), B wind DE
    ///      (intervals 1-2), C solar FR (intervals 1-3); deposited whole in the order C, A, B.
    function _threeVintages() internal returns (uint256[3] memory ids, uint256[3] memory amounts) {
        _readAll(READING_WH);
        (ids[0], amounts[0]) = _certify(0);
        _readAll(READING_WH);
        (ids[1], amounts[1]) = _certify(1);
        _readAll(READING_WH);
        (ids[2], amounts[2]) = _certify(2);
        require(_vintageEnd(ids[0]) < _vintageEnd(ids[1]) && _vintageEnd(ids[1]) < _vintageEnd(ids[2]), "vintages");
        _put(frenchProsumer, ids[2], amounts[2]);
        _put(solarProsumer, ids[0], amounts[0]);
        _put(windGenerator, ids[1], amounts[1]);
    }

    /// @dev Every depositor's pool tokens go to `to`; returns what `to` then holds.
    function _collect(address to) internal returns (uint256 total) {
        address[3] memory from = [solarProsumer, windGenerator, frenchProsumer];
        for (uint256 i; i < from.length; ++i) {
            uint256 balance = pool.balanceOf(from[i]);
            if (balance == 0) continue;
            vm.prank(from[i]);
            pool.transfer(to, balance);
        }
        total = pool.balanceOf(to);
    }

    /// @dev `count` new certificates, each of a later (vintage end, id) than everything issued
    ///      before, deposited whole by their generators; ids in issue (= vintage) order.
    function _depositNewer(uint256 count) internal returns (uint256[] memory ids, uint256[] memory amounts) {
        ids = new uint256[](count);
        amounts = new uint256[](count);
        uint256 made;
        while (made < count) {
            _readAll(1_000);
            for (uint256 device; device < 3 && made < count; ++device) {
                (ids[made], amounts[made]) = _certify(device);
                _put(owners[device], ids[made], amounts[made]);
                ++made;
            }
        }
    }

    function _assertHoldings(uint256[] memory expected) internal view {
        _assertIds(pool.holdings(), expected, "holding");
    }

    /// @dev amount × bps / 10,000 rounded up, computed as floor plus one when there is a remainder.
    function _ceilFee(uint256 amount, uint256 bps) internal pure returns (uint256) {
        uint256 product = amount * bps;
        return product / 10_000 + (product % 10_000 == 0 ? 0 : 1);
    }

    /// @dev The retirement log's next head, as ICarbonCredit documents it: the low 192 bits of
    ///      keccak256(abi.encode(previousHead, retirementId, retirement)).
    function _logStep(uint256 head, uint256 retirementId, ICarbonCredit.Retirement memory record)
        internal
        pure
        returns (uint256)
    {
        return uint192(uint256(keccak256(abi.encode(head, retirementId, record))));
    }

    function _assertSupplySplit() internal view {
        uint256[] memory held = pool.holdings();
        uint256 sum;
        for (uint256 i; i < held.length; ++i) {
            sum += pool.heldGrams(held[i]);
        }
        _assertEq(pool.liveGrams() + pool.expiredGrams(), pool.totalSupply(), "live + expired = supply");
        _assertEq(sum + pool.expiredGrams(), pool.totalSupply(), "held + written off = supply");
    }

    // ------------------------------------------------------------ construction
    function test_constructor_recordsCriteriaAndFee() public {
        uint16[] memory regions = new uint16[](1);
        regions[0] = REGION_DE;
        bytes32[] memory methodologies = new bytes32[](1);
        methodologies[0] = METHODOLOGY;
        ICarbonPool.Criteria memory criteria = ICarbonPool.Criteria({
            minVintageStart: uint64(T0),
            minRemainingValiditySeconds: MIN_VALIDITY,
            energySourceMask: SOLAR,
            regions: regions,
            methodologies: methodologies
        });
        CarbonPool p = _pool(criteria, 250);
        _assertEq(p.decimals(), 6, "grams with 6 decimals");
        _assertEq(p.selectiveRedeemFeeBps(), 250, "fee");
        require(p.feeCollector() == feeCollector, "fee collector");
        require(address(p.credits()) == address(carbon), "credits");
        _assertEq(p.minVintageStart(), T0, "min vintage");
        _assertEq(p.minRemainingValiditySeconds(), MIN_VALIDITY, "min validity");
        _assertEq(p.energySourceMask(), SOLAR, "mask");
        require(!p.anyRegion() && p.regionAccepted(REGION_DE) && !p.regionAccepted(REGION_FR), "regions");
        require(!p.anyMethodology() && p.methodologyAccepted(METHODOLOGY), "methodologies");
        require(pool.anyRegion() && pool.anyMethodology(), "empty lists accept anything");
        _assertEq(p.totalSupply(), 0, "empty");
        _assertEq(p.holdings().length, 0, "no holdings");
    }

    function test_constructor_feeAboveMax_revertsInvalidFee() public {
        uint256 tooHigh = pool.MAX_FEE_BPS() + 1;
        ICarbonPool.Criteria memory criteria = _criteria(0, SOLAR, new uint16[](0));
        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.InvalidFee.selector, tooHigh));
        new CarbonPool("X", "X", carbon, criteria, tooHigh, feeCollector);
    }

    function test_constructor_maxFee_accepted() public {
        uint256 maxFee = pool.MAX_FEE_BPS();
        CarbonPool p = _pool(_criteria(0, SOLAR, new uint16[](0)), maxFee);
        _assertEq(p.selectiveRedeemFeeBps(), maxFee, "max fee");
    }

    function test_constructor_zeroFeeCollector_revertsInvalidFeeCollector() public {
        ICarbonPool.Criteria memory criteria = _criteria(0, SOLAR, new uint16[](0));
        vm.expectRevert(ICarbonPool.InvalidFeeCollector.selector);
        new CarbonPool("X", "X", carbon, criteria, FEE_BPS, address(0));
    }

    // ------------------------------------------------------------ deposit
    function test_deposit_mintsPoolTokensOneToOne() public {
        _readAll(READING_WH);
        (uint256 id, uint256 issued) = _certify(0);
        uint256 part = issued / 4;
        cheats.expectEmit(true, true, true, true, address(pool));
        emit IERC20.Transfer(address(0), solarProsumer, part);
        cheats.expectEmit(true, true, false, true, address(pool));
        emit ICarbonPool.Deposited(solarProsumer, id, part);
        _put(solarProsumer, id, part);

        _assertEq(pool.balanceOf(solarProsumer), part, "pool tokens minted 1:1");
        _assertEq(pool.totalSupply(), part, "supply");
        _assertEq(carbon.balanceOf(address(pool), id), part, "credits moved to the pool");
        _assertEq(carbon.balanceOf(solarProsumer, id), issued - part, "credits left with the generator");
        _assertEq(pool.heldGrams(id), part, "held");
        _assertEq(pool.liveGrams(), part, "live");
        _assertHoldings(_ids(id));

        // A second deposit of the same certificate tops up its holding.
        _put(solarProsumer, id, issued - part);
        _assertEq(pool.heldGrams(id), issued, "topped up");
        _assertEq(pool.balanceOf(solarProsumer), issued, "pool tokens for both");
        _assertEq(carbon.balanceOf(address(pool), id), issued, "all credits in the pool");
        _assertHoldings(_ids(id));
    }

    function test_deposit_outOfOrder_holdingsOldestVintageFirst() public {
        _readAll(READING_WH);
        (uint256 oldest,) = _certify(0);
        _readAll(READING_WH);
        (uint256 tieLowId,) = _certify(1); // wind, same vintage end as the next one
        (uint256 tieHighId,) = _certify(0);
        _readAll(READING_WH);
        (uint256 newest,) = _certify(2);
        require(_vintageEnd(oldest) < _vintageEnd(tieLowId), "older vintage");
        require(_vintageEnd(tieLowId) == _vintageEnd(tieHighId) && tieLowId < tieHighId, "tie broken by id");
        require(_vintageEnd(tieHighId) < _vintageEnd(newest), "newer vintage");

        _put(frenchProsumer, newest, 100);
        _put(solarProsumer, tieHighId, 100);
        _put(solarProsumer, oldest, 100);
        _put(windGenerator, tieLowId, 100);

        uint256[] memory expected = new uint256[](4);
        (expected[0], expected[1], expected[2], expected[3]) = (oldest, tieLowId, tieHighId, newest);
        _assertHoldings(expected);
        _assertEq(pool.totalSupply(), 400, "four deposits of 100");
    }

    function test_deposit_exactlyMaxInsertionStepsBack_succeeds() public {
        _readAll(1_000);
        (uint256 old, uint256 amount) = _certify(0);
        uint256 steps = pool.MAX_INSERTION_STEPS();
        _depositNewer(steps);
        _put(solarProsumer, old, amount);
        uint256[] memory held = pool.holdings();
        _assertEq(held.length, steps + 1, "all held");
        _assertEq(held[0], old, "walked back to the front");
    }

    function test_deposit_placeBeyondMaxInsertionSteps_revertsInsertionTooFarBack() public {
        _readAll(1_000);
        (uint256 old,) = _certify(0);
        _depositNewer(pool.MAX_INSERTION_STEPS() + 1);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.InsertionTooFarBack.selector, old));
        pool.deposit(old, 1);
    }

    function test_depositWithHint_placeBeyondMaxInsertionSteps_succeeds() public {
        _readAll(1_000);
        (uint256 old, uint256 amount) = _certify(0);
        uint256 newerCount = pool.MAX_INSERTION_STEPS() + 1;
        (uint256[] memory newer,) = _depositNewer(newerCount);
        uint256 supplyBefore = pool.totalSupply();

        cheats.expectEmit(true, true, false, true, address(pool));
        emit ICarbonPool.Deposited(solarProsumer, old, amount);
        vm.prank(solarProsumer);
        pool.depositWithHint(old, amount, newer[0]);

        uint256[] memory held = pool.holdings();
        _assertEq(held.length, newerCount + 1, "all held");
        _assertEq(held[0], old, "oldest first");
        for (uint256 i; i < newerCount; ++i) {
            _assertEq(held[i + 1], newer[i], "newer ones follow in order");
        }
        _assertEq(pool.totalSupply(), supplyBefore + amount, "minted");
        _assertEq(pool.heldGrams(old), amount, "held");
    }

    function test_depositWithHint_hintNotInPool_revertsBadInsertionHint() public {
        _readAll(READING_WH);
        (uint256 a,) = _certify(0);
        (uint256 b,) = _certify(1);
        _put(solarProsumer, a, 100);
        uint256 unknown = carbon.certificateCount() + 1;
        uint256[3] memory hints = [uint256(0), b, unknown];
        for (uint256 i; i < hints.length; ++i) {
            vm.prank(windGenerator);
            vm.expectRevert(abi.encodeWithSelector(ICarbonPool.BadInsertionHint.selector, b, hints[i]));
            pool.depositWithHint(b, 100, hints[i]);
        }
    }

    function test_depositWithHint_hintOfASpentHolding_revertsBadInsertionHint() public {
        _readAll(READING_WH);
        (uint256 a,) = _certify(0);
        (uint256 b,) = _certify(1);
        _put(solarProsumer, a, 100);
        vm.prank(solarProsumer);
        pool.redeem(100); // a leaves the pool
        vm.prank(windGenerator);
        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.BadInsertionHint.selector, b, a));
        pool.depositWithHint(b, 100, a);
    }

    function test_depositWithHint_hintBeforeThePlace_revertsBadInsertionHint() public {
        uint256[3] memory ids;
        for (uint256 i; i < 3; ++i) {
            _readAll(READING_WH);
            (ids[i],) = _certify(0);
        }
        _put(solarProsumer, ids[0], 100);
        _put(solarProsumer, ids[2], 100);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.BadInsertionHint.selector, ids[1], ids[0]));
        pool.depositWithHint(ids[1], 100, ids[0]);

        // A hint at or after the place is what the function is for.
        vm.prank(solarProsumer);
        pool.depositWithHint(ids[1], 100, ids[2]);
        _assertHoldings(_ids(ids[0], ids[1], ids[2]));
    }

    function test_depositWithHint_zeroAmount_revertsZeroAmount() public {
        _readAll(READING_WH);
        (uint256 a,) = _certify(0);
        _put(solarProsumer, a, 100);
        vm.prank(solarProsumer);
        vm.expectRevert(ICarbonPool.ZeroAmount.selector);
        pool.depositWithHint(a, 0, a);
    }

    // ------------------------------------------------------------ deposit: criteria and rejections
    function test_deposit_vintageBeforeMinimum_revertsVintageTooOld() public {
        _readAll(READING_WH);
        (uint256 id,) = _certify(0);
        uint256 vintageStart = carbon.getEmissionReductions(id).vintageStart;
        CarbonPool strict = _pool(_criteria(uint64(vintageStart + 1), SOLAR, new uint16[](0)), FEE_BPS);
        _approveAll(strict);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.VintageTooOld.selector, id, vintageStart, vintageStart + 1));
        strict.deposit(id, 100);

        // A vintage starting exactly at the minimum is accepted.
        CarbonPool edge = _pool(_criteria(uint64(vintageStart), SOLAR, new uint16[](0)), FEE_BPS);
        _approveAll(edge);
        vm.prank(solarProsumer);
        edge.deposit(id, 100);
        _assertEq(edge.heldGrams(id), 100, "accepted at the minimum");
    }

    function test_deposit_windIntoSolarOnlyPool_revertsEnergySourceNotAccepted() public {
        _readAll(READING_WH);
        (uint256 solarId,) = _certify(0);
        (uint256 windId,) = _certify(1);
        CarbonPool solarOnly = _pool(_criteria(0, SOLAR, new uint16[](0)), FEE_BPS);
        _approveAll(solarOnly);
        vm.prank(windGenerator);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICarbonPool.EnergySourceNotAccepted.selector, windId, uint8(ISmartMeter.EnergySource.Wind)
            )
        );
        solarOnly.deposit(windId, 100);

        vm.prank(solarProsumer);
        solarOnly.deposit(solarId, 100);
        _assertEq(solarOnly.heldGrams(solarId), 100, "solar accepted");
    }

    function test_deposit_frenchIntoGermanPool_revertsRegionNotAccepted() public {
        _readAll(READING_WH);
        (uint256 germanId,) = _certify(0);
        (uint256 frenchId,) = _certify(2);
        uint16[] memory regions = new uint16[](1);
        regions[0] = REGION_DE;
        CarbonPool german = _pool(_criteria(0, SOLAR | WIND, regions), FEE_BPS);
        _approveAll(german);
        vm.prank(frenchProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.RegionNotAccepted.selector, frenchId, REGION_FR));
        german.deposit(frenchId, 10);

        vm.prank(solarProsumer);
        german.deposit(germanId, 10);
        _assertEq(german.heldGrams(germanId), 10, "DE accepted");
    }

    function test_deposit_methodologyNotListed_revertsMethodologyNotAccepted() public {
        _readAll(READING_WH);
        (uint256 id,) = _certify(0);
        ICarbonPool.Criteria memory criteria = _criteria(0, SOLAR, new uint16[](0));
        criteria.methodologies = new bytes32[](1);
        criteria.methodologies[0] = "VM0042";
        CarbonPool other = _pool(criteria, FEE_BPS);
        _approveAll(other);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.MethodologyNotAccepted.selector, id, METHODOLOGY));
        other.deposit(id, 10);

        criteria.methodologies = new bytes32[](2);
        (criteria.methodologies[0], criteria.methodologies[1]) = ("VM0042", METHODOLOGY);
        CarbonPool listed = _pool(criteria, FEE_BPS);
        _approveAll(listed);
        vm.prank(solarProsumer);
        listed.deposit(id, 10);
        _assertEq(listed.heldGrams(id), 10, "listed methodology accepted");
    }

    function test_deposit_expiringWithinMinValidity_revertsValidityTooShort() public {
        _readAll(READING_WH);
        (uint256 id,) = _certify(0);
        uint256 expiresAt = _expiresAt(id);
        _warp(expiresAt - MIN_VALIDITY);
        vm.prank(solarProsumer);
        vm.expectRevert(
            abi.encodeWithSelector(ICarbonPool.ValidityTooShort.selector, id, expiresAt, nowSeconds + MIN_VALIDITY)
        );
        pool.deposit(id, 100);
    }

    function test_deposit_validOneSecondLongerThanMinValidity_accepted() public {
        _readAll(READING_WH);
        (uint256 id,) = _certify(0);
        _warp(_expiresAt(id) - MIN_VALIDITY - 1);
        _put(solarProsumer, id, 100);
        _assertEq(pool.heldGrams(id), 100, "accepted");
    }

    function test_deposit_shortCreditLifetime_revertsValidityTooShort() public {
        uint64 lifetime = 20 days; // shorter than the pool's 30 days of remaining validity
        carbon.setCreditLifetime(lifetime);
        _readAll(READING_WH);
        (uint256 id,) = _certify(0);
        uint256 expiresAt = _expiresAt(id);
        _assertEq(expiresAt, _vintageEnd(id) + lifetime, "short lifetime");
        vm.prank(solarProsumer);
        vm.expectRevert(
            abi.encodeWithSelector(ICarbonPool.ValidityTooShort.selector, id, expiresAt, nowSeconds + MIN_VALIDITY)
        );
        pool.deposit(id, 100);
    }

    /// @dev Criteria.minRemainingValiditySeconds: "at deposit, the credits must stay valid this
    ///      long". A certificate already in the pool must meet it on every deposit, or credits
    ///      days from expiry are pooled (and soon written off, diluting every pool token).
    function test_deposit_topUpWithinMinValidity_revertsValidityTooShort() public {
        _readAll(READING_WH);
        (uint256 id,) = _certify(0);
        _put(solarProsumer, id, 100); // first deposit: a year of validity left
        uint256 expiresAt = _expiresAt(id);
        _warp(expiresAt - 1 days); // one day left, the pool asks for 30
        vm.prank(solarProsumer);
        vm.expectRevert(
            abi.encodeWithSelector(ICarbonPool.ValidityTooShort.selector, id, expiresAt, nowSeconds + MIN_VALIDITY)
        );
        pool.deposit(id, 100);
    }

    function test_deposit_zeroAmount_revertsZeroAmount() public {
        _readAll(READING_WH);
        (uint256 id,) = _certify(0);
        vm.prank(solarProsumer);
        vm.expectRevert(ICarbonPool.ZeroAmount.selector);
        pool.deposit(id, 0);
    }

    function test_deposit_unknownCertificate_revertsUnknownCertificate() public {
        _readAll(READING_WH);
        _certify(0);
        uint256 unknown = carbon.certificateCount() + 1;
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.UnknownCertificate.selector, unknown));
        pool.deposit(unknown, 1);
        // Id 0 is the end marker of the holdings list: it is no certificate either.
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.UnknownCertificate.selector, uint256(0)));
        pool.deposit(0, 1);
    }

    function test_deposit_idBeyondUint48_revertsCertificateIdTooLarge() public {
        uint256 tooLarge = uint256(type(uint48).max) + 1;
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.CertificateIdTooLarge.selector, tooLarge));
        pool.deposit(tooLarge, 1);
    }

    function test_deposit_withoutApproval_revertsERC1155MissingApprovalForAll() public {
        _readAll(READING_WH);
        (uint256 id,) = _certify(0);
        vm.prank(solarProsumer);
        carbon.setApprovalForAll(address(pool), false);
        vm.prank(solarProsumer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC1155Errors.ERC1155MissingApprovalForAll.selector, address(pool), solarProsumer)
        );
        pool.deposit(id, 100);
        _assertEq(pool.totalSupply(), 0, "nothing minted");
    }

    function test_deposit_moreThanOwned_revertsERC1155InsufficientBalance() public {
        _readAll(READING_WH);
        (uint256 id, uint256 amount) = _certify(0);
        vm.prank(solarProsumer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC1155Errors.ERC1155InsufficientBalance.selector, solarProsumer, amount, amount + 1, id
            )
        );
        pool.deposit(id, amount + 1);
        _assertEq(pool.holdings().length, 0, "not linked");
    }

    function test_onERC1155Received_plainTransfer_revertsUnsolicitedCredits() public {
        _readAll(READING_WH);
        (uint256 id,) = _certify(0);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(SolicitedCreditsHolder.UnsolicitedCredits.selector, solarProsumer));
        carbon.safeTransferFrom(solarProsumer, address(pool), id, 100, "");
    }

    function test_onERC1155BatchReceived_batchTransfer_revertsUnsolicitedCredits() public {
        _readAll(READING_WH);
        (uint256 id,) = _certify(0);
        uint256[] memory ids = _ids(id);
        uint256[] memory values = _ids(100);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(SolicitedCreditsHolder.UnsolicitedCredits.selector, solarProsumer));
        carbon.safeBatchTransferFrom(solarProsumer, address(pool), ids, values, "");
        // transferCredits sends one batch as well.
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(SolicitedCreditsHolder.UnsolicitedCredits.selector, solarProsumer));
        carbon.transferCredits(address(pool), 100);
        _assertEq(carbon.balanceOf(address(pool), id), 0, "nothing arrived");
    }

    // ------------------------------------------------------------ redeem
    function test_redeem_oldestVintageFirstAcrossCertificates() public {
        (uint256[3] memory ids, uint256[3] memory amounts) = _threeVintages();
        uint256 total = _collect(buyer);
        uint256 partOfB = amounts[1] / 2;
        uint256 amount = amounts[0] + partOfB;

        cheats.expectEmit(true, true, true, true, address(pool));
        emit IERC20.Transfer(buyer, address(0), amount);
        cheats.expectEmit(true, true, false, true, address(pool));
        emit ICarbonPool.Redeemed(buyer, ids[0], amounts[0], 0);
        cheats.expectEmit(true, true, false, true, address(pool));
        emit ICarbonPool.Redeemed(buyer, ids[1], partOfB, 0);
        vm.prank(buyer);
        pool.redeem(amount);

        _assertEq(pool.balanceOf(buyer), total - amount, "pool tokens burned");
        _assertEq(pool.totalSupply(), total - amount, "supply");
        _assertEq(carbon.balanceOf(buyer, ids[0]), amounts[0], "all of the oldest");
        _assertEq(carbon.balanceOf(buyer, ids[1]), partOfB, "part of the next");
        _assertEq(carbon.balanceOf(buyer, ids[2]), 0, "none of the newest");
        _assertEq(pool.heldGrams(ids[0]), 0, "oldest spent");
        _assertEq(pool.heldGrams(ids[1]), amounts[1] - partOfB, "partial holding");
        _assertEq(pool.heldGrams(ids[2]), amounts[2], "newest untouched");
        _assertEq(carbon.balanceOf(address(pool), ids[1]), amounts[1] - partOfB, "pool credits of B");
        _assertHoldings(_ids(ids[1], ids[2]));
        _assertSupplySplit();
    }

    function test_redeem_withinOldestHolding_leavesItFirst() public {
        (uint256[3] memory ids, uint256[3] memory amounts) = _threeVintages();
        vm.prank(frenchProsumer); // holds pool tokens for C, receives credits of A
        pool.redeem(1);
        _assertEq(carbon.balanceOf(frenchProsumer, ids[0]), 1, "one gram of the oldest");
        _assertEq(pool.heldGrams(ids[0]), amounts[0] - 1, "oldest reduced");
        _assertHoldings(_ids(ids[0], ids[1], ids[2]));
    }

    function test_redeem_moreThanBalance_revertsERC20InsufficientBalance() public {
        _threeVintages();
        uint256 total = _collect(buyer);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, buyer, total, total + 1));
        pool.redeem(total + 1);
        vm.prank(beneficiary);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, beneficiary, 0, 1));
        pool.redeem(1);
    }

    function test_redeem_zeroAmount_revertsZeroAmount() public {
        _threeVintages();
        vm.prank(solarProsumer);
        vm.expectRevert(ICarbonPool.ZeroAmount.selector);
        pool.redeem(0);
    }

    function test_redeem_beyondWalkLimit_revertsInsufficientPoolCredits() public {
        uint256 limit = pool.MAX_CERTIFICATES_PER_CALL();
        (, uint256[] memory amounts) = _depositNewer(limit + 1);
        uint256 total = _collect(buyer);
        uint256 reachable;
        for (uint256 i; i < limit; ++i) {
            reachable += amounts[i];
        }
        _assertEq(total, reachable + amounts[limit], "supply");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.InsufficientPoolCredits.selector, reachable, total));
        pool.redeem(total);

        vm.prank(buyer);
        pool.redeem(reachable);
        _assertEq(pool.totalSupply(), amounts[limit], "the newest left");
        _assertEq(pool.holdings().length, 1, "one holding left");
    }

    function test_redeem_expiredOldest_writtenOffAndNextTaken() public {
        (uint256[3] memory ids, uint256[3] memory amounts) = _threeVintages();
        uint256 total = _collect(buyer);
        uint256 expiresA = _expiresAt(ids[0]);
        require(expiresA < _expiresAt(ids[1]), "A expires first");
        _warp(expiresA);
        uint256 amount = amounts[1] + 1;

        cheats.expectEmit(true, false, false, true, address(pool));
        emit ICarbonPool.ExpiredWrittenOff(ids[0], amounts[0]);
        cheats.expectEmit(true, true, false, true, address(pool));
        emit ICarbonPool.Redeemed(buyer, ids[1], amounts[1], 0);
        cheats.expectEmit(true, true, false, true, address(pool));
        emit ICarbonPool.Redeemed(buyer, ids[2], 1, 0);
        vm.prank(buyer);
        pool.redeem(amount);

        _assertEq(carbon.balanceOf(buyer, ids[0]), 0, "no expired credits delivered");
        _assertEq(carbon.balanceOf(buyer, ids[1]), amounts[1], "next certificate");
        _assertEq(carbon.balanceOf(buyer, ids[2]), 1, "and the one after");
        _assertEq(pool.expiredGrams(), amounts[0], "written off");
        _assertEq(pool.heldGrams(ids[0]), 0, "expired holding gone");
        _assertEq(carbon.balanceOf(address(pool), ids[0]), amounts[0], "expired credits stay with the pool");
        _assertEq(pool.totalSupply(), total - amount, "only the redeemed amount burned");
        _assertEq(pool.liveGrams(), amounts[2] - 1, "live");
        _assertHoldings(_ids(ids[2]));
        _assertSupplySplit();
    }

    function test_redeem_expiredLeavesTooFewLiveCredits_revertsInsufficientPoolCredits() public {
        (uint256[3] memory ids, uint256[3] memory amounts) = _threeVintages();
        uint256 total = _collect(buyer);
        _warp(_expiresAt(ids[0]));
        uint256 live = amounts[1] + amounts[2];
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.InsufficientPoolCredits.selector, live, total));
        pool.redeem(total);
        // The write-off met on the way is undone with the call.
        _assertEq(pool.expiredGrams(), 0, "nothing written off");
        _assertHoldings(_ids(ids[0], ids[1], ids[2]));

        vm.prank(buyer);
        pool.redeem(live);
        _assertEq(pool.totalSupply(), amounts[0], "tokens backed by expired credits remain");
        _assertEq(pool.expiredGrams(), amounts[0], "written off");
        _assertEq(pool.liveGrams(), 0, "no live credits");
        _assertEq(pool.holdings().length, 0, "no holdings");
        _assertSupplySplit();
    }

    // ------------------------------------------------------------ redeemSelected
    function test_redeemSelected_paysRoundedUpFeeAndDeliversThatCertificate() public {
        (uint256[3] memory ids, uint256[3] memory amounts) = _threeVintages();
        uint256 total = _collect(buyer);
        uint256 amount = 150;
        require(amount * FEE_BPS % 10_000 != 0, "the fee has a fraction to round");
        uint256 fee = _ceilFee(amount, FEE_BPS);

        cheats.expectEmit(true, true, true, true, address(pool));
        emit IERC20.Transfer(buyer, address(0), amount);
        cheats.expectEmit(true, true, true, true, address(pool));
        emit IERC20.Transfer(buyer, feeCollector, fee);
        cheats.expectEmit(true, true, false, true, address(pool));
        emit ICarbonPool.Redeemed(buyer, ids[1], amount, fee);
        vm.prank(buyer);
        pool.redeemSelected(ids[1], amount);

        _assertEq(pool.balanceOf(buyer), total - amount - fee, "amount burned, fee paid");
        _assertEq(pool.balanceOf(feeCollector), fee, "fee in pool tokens");
        _assertEq(pool.totalSupply(), total - amount, "only the amount burned");
        _assertEq(carbon.balanceOf(buyer, ids[1]), amount, "credits of the chosen certificate");
        _assertEq(carbon.balanceOf(buyer, ids[0]), 0, "not the oldest");
        _assertEq(pool.heldGrams(ids[1]), amounts[1] - amount, "chosen holding reduced");
        _assertEq(pool.heldGrams(ids[0]), amounts[0], "others untouched");
        _assertEq(pool.heldGrams(ids[2]), amounts[2], "others untouched");
        _assertHoldings(_ids(ids[0], ids[1], ids[2]));
        _assertSupplySplit();
    }

    function test_redeemSelected_wholeHolding_unlinksIt() public {
        (uint256[3] memory ids, uint256[3] memory amounts) = _threeVintages();
        _collect(buyer);
        vm.prank(buyer);
        pool.redeemSelected(ids[1], amounts[1]);
        _assertHoldings(_ids(ids[0], ids[2]));
        _assertEq(pool.heldGrams(ids[1]), 0, "spent");
        _assertEq(pool.balanceOf(feeCollector), _ceilFee(amounts[1], FEE_BPS), "fee");
    }

    function test_redeemSelected_zeroFeePool_transfersNoFee() public {
        pool = _pool(_criteria(0, SOLAR | WIND, new uint16[](0)), 0);
        _approveAll(pool);
        (uint256[3] memory ids,) = _threeVintages();
        uint256 total = _collect(buyer);
        vm.prank(buyer);
        pool.redeemSelected(ids[2], 100);
        _assertEq(pool.balanceOf(buyer), total - 100, "only the amount");
        _assertEq(pool.balanceOf(feeCollector), 0, "no fee");
    }

    function test_redeemSelected_feeNotCovered_revertsERC20InsufficientBalance() public {
        (uint256[3] memory ids,) = _threeVintages();
        uint256 held = pool.balanceOf(windGenerator); // exactly the amount, nothing for the fee
        uint256 fee = _ceilFee(held, FEE_BPS);
        vm.prank(windGenerator);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, windGenerator, 0, fee));
        pool.redeemSelected(ids[1], held);
    }

    function test_redeemSelected_moreThanHeld_revertsInsufficientCertificateCredits() public {
        (uint256[3] memory ids, uint256[3] memory amounts) = _threeVintages();
        _collect(buyer);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICarbonPool.InsufficientCertificateCredits.selector, ids[0], amounts[0], amounts[0] + 1
            )
        );
        pool.redeemSelected(ids[0], amounts[0] + 1);
    }

    function test_redeemSelected_certificateNotInPool_revertsInsufficientCertificateCredits() public {
        _threeVintages();
        _readAll(READING_WH);
        (uint256 outside,) = _certify(0);
        _collect(buyer);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.InsufficientCertificateCredits.selector, outside, 0, 1));
        pool.redeemSelected(outside, 1);
    }

    function test_redeemSelected_expiredCertificate_revertsInsufficientCertificateCredits() public {
        (uint256[3] memory ids, uint256[3] memory amounts) = _threeVintages();
        _collect(buyer);
        _warp(_expiresAt(ids[0]));
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(ICarbonPool.InsufficientCertificateCredits.selector, ids[0], amounts[0], 1)
        );
        pool.redeemSelected(ids[0], 1);
    }

    function test_redeemSelected_zeroAmount_revertsZeroAmount() public {
        (uint256[3] memory ids,) = _threeVintages();
        vm.prank(solarProsumer);
        vm.expectRevert(ICarbonPool.ZeroAmount.selector);
        pool.redeemSelected(ids[0], 0);
    }

    function testFuzz_redeemSelected_feeIsBpsOfAmountRoundedUp(uint256 amount, uint256 bps) public {
        bps = bps % (pool.MAX_FEE_BPS() + 1);
        pool = _pool(_criteria(0, SOLAR | WIND, new uint16[](0)), bps);
        _approveAll(pool);
        _readAll(25_000);
        (uint256 id, uint256 issued) = _certify(0);
        _put(solarProsumer, id, issued);
        // Keep amount + fee within the depositor's pool tokens: amount × (1 + 10 %) ≤ issued.
        amount = 1 + amount % (issued * 10 / 11);
        vm.prank(solarProsumer);
        pool.redeemSelected(id, amount);
        uint256 fee = pool.balanceOf(feeCollector);
        require(fee * 10_000 >= amount * bps, "fee at least amount x bps");
        require(fee == 0 || (fee - 1) * 10_000 < amount * bps, "rounded up by less than one gram");
        _assertEq(pool.balanceOf(solarProsumer), issued - amount - fee, "payer");
        _assertEq(pool.totalSupply(), issued - amount, "supply");
        _assertEq(carbon.balanceOf(solarProsumer, id), amount, "credits");
    }

    // ------------------------------------------------------------ retireFromPool
    function test_retireFromPool_retiresOldestFirstWithRecords() public {
        (uint256[3] memory ids, uint256[3] memory amounts) = _threeVintages();
        uint256 total = _collect(buyer);
        uint256 amount = amounts[0] + 1;
        (uint256 countBefore, uint256 headBefore) = carbon.retirementLog();
        uint256 firstRetirement = countBefore + 1;

        cheats.expectEmit(true, true, true, true, address(carbon));
        emit ICarbonCredit.CreditsRetired(
            firstRetirement, ids[0], address(pool), beneficiary, amounts[0], nowSeconds, PURPOSE
        );
        cheats.expectEmit(true, true, true, true, address(pool));
        emit ICarbonPool.RetiredFromPool(buyer, ids[0], firstRetirement, amounts[0]);
        cheats.expectEmit(true, true, true, true, address(pool));
        emit ICarbonPool.RetiredFromPool(buyer, ids[1], firstRetirement + 1, 1);
        vm.prank(buyer);
        uint256[] memory retirementIds = pool.retireFromPool(amount, beneficiary, PURPOSE);

        _assertEq(retirementIds.length, 2, "two certificates");
        _assertEq(retirementIds[0], firstRetirement, "first id");
        _assertEq(retirementIds[1], firstRetirement + 1, "second id");

        // The log's head commits to both records, in order: the pool as retiree, the
        // beneficiary and purpose given, the grams of each certificate, the time.
        ICarbonCredit.Retirement memory first =
            ICarbonCredit.Retirement(address(pool), beneficiary, ids[0], amounts[0], nowSeconds, PURPOSE);
        ICarbonCredit.Retirement memory second =
            ICarbonCredit.Retirement(address(pool), beneficiary, ids[1], 1, nowSeconds, PURPOSE);
        (uint256 countAfter, uint256 headAfter) = carbon.retirementLog();
        _assertEq(countAfter, countBefore + 2, "two records");
        _assertEq(carbon.retirementCount(), countAfter, "count");
        uint256 afterFirst = _logStep(headBefore, firstRetirement, first);
        _assertEq(headAfter, _logStep(afterFirst, firstRetirement + 1, second), "log head");
        // Records naming anyone else give another head.
        first.beneficiary = buyer;
        require(
            _logStep(_logStep(headBefore, firstRetirement, first), firstRetirement + 1, second) != headAfter,
            "other beneficiary"
        );
        second.retiree = buyer;
        require(_logStep(afterFirst, firstRetirement + 1, second) != headAfter, "other retiree");

        _assertEq(_retiredGrams(ids[0]), amounts[0], "retired grams of A");
        _assertEq(_retiredGrams(ids[1]), 1, "retired grams of B");
        _assertEq(_retiredGrams(ids[2]), 0, "C untouched");
        _assertEq(carbon.balanceOf(address(pool), ids[0]), 0, "A burned");
        _assertEq(carbon.balanceOf(address(pool), ids[1]), amounts[1] - 1, "B burned in part");
        _assertEq(pool.balanceOf(buyer), total - amount, "pool tokens burned");
        _assertEq(pool.totalSupply(), total - amount, "supply");
        _assertHoldings(_ids(ids[1], ids[2]));
        _assertSupplySplit();
    }

    function test_retireFromPool_expiredOldest_writtenOffAndNextRetired() public {
        (uint256[3] memory ids, uint256[3] memory amounts) = _threeVintages();
        _collect(buyer);
        _warp(_expiresAt(ids[0]));
        (, uint256 headBefore) = carbon.retirementLog();
        cheats.expectEmit(true, false, false, true, address(pool));
        emit ICarbonPool.ExpiredWrittenOff(ids[0], amounts[0]);
        vm.prank(buyer);
        uint256[] memory retirementIds = pool.retireFromPool(10, beneficiary, PURPOSE);
        _assertEq(retirementIds.length, 1, "one certificate");
        (, uint256 headAfter) = carbon.retirementLog();
        ICarbonCredit.Retirement memory record =
            ICarbonCredit.Retirement(address(pool), beneficiary, ids[1], 10, nowSeconds, PURPOSE);
        _assertEq(headAfter, _logStep(headBefore, retirementIds[0], record), "retired from the next live one");
        _assertEq(_retiredGrams(ids[0]), 0, "expired credits not retired");
        _assertEq(_retiredGrams(ids[1]), 10, "next certificate");
        _assertEq(pool.expiredGrams(), amounts[0], "written off");
        _assertSupplySplit();
    }

    function test_retireFromPool_moreThanBalance_revertsERC20InsufficientBalance() public {
        _threeVintages();
        uint256 held = pool.balanceOf(solarProsumer);
        vm.prank(solarProsumer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, solarProsumer, held, held + 1)
        );
        pool.retireFromPool(held + 1, beneficiary, PURPOSE);
    }

    function test_retireFromPool_zeroBeneficiary_revertsInvalidBeneficiary() public {
        _threeVintages();
        vm.prank(solarProsumer);
        vm.expectRevert(ICarbonCredit.InvalidBeneficiary.selector);
        pool.retireFromPool(1, address(0), PURPOSE);
    }

    function test_retireFromPool_zeroAmount_revertsZeroAmount() public {
        _threeVintages();
        vm.prank(solarProsumer);
        vm.expectRevert(ICarbonPool.ZeroAmount.selector);
        pool.retireFromPool(0, beneficiary, PURPOSE);
    }

    // ------------------------------------------------------------ the credits' emergency pause
    /// The pool has no pause of its own: it stands still while the credits are paused.
    function test_creditsPaused_poolTokensAndWriteOffRevertEnforcedPause_untilUnpaused() public {
        (uint256[3] memory ids,) = _threeVintages();
        _warp(_expiresAt(ids[0]));
        vm.prank(emergency);
        carbon.pause();

        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(solarProsumer);
        pool.transfer(buyer, 1);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        pool.writeOffExpired(ids[0]);

        carbon.unpause(); // ADMIN: this test contract
        vm.prank(solarProsumer);
        pool.transfer(buyer, 1);
        pool.writeOffExpired(ids[0]);
        _assertEq(pool.balanceOf(buyer), 1, "pool tokens move again");
        _assertEq(pool.heldGrams(ids[0]), 0, "written off after the pause");
    }

    // ------------------------------------------------------------ expiry
    function test_writeOffExpired_expiredHolding_movesToExpiredGrams() public {
        (uint256[3] memory ids, uint256[3] memory amounts) = _threeVintages();
        uint256 total = pool.totalSupply();
        _warp(_expiresAt(ids[0]));
        cheats.expectEmit(true, false, false, true, address(pool));
        emit ICarbonPool.ExpiredWrittenOff(ids[0], amounts[0]);
        vm.prank(buyer); // anyone
        pool.writeOffExpired(ids[0]);

        _assertEq(pool.expiredGrams(), amounts[0], "expired grams");
        _assertEq(pool.liveGrams(), amounts[1] + amounts[2], "live grams");
        _assertEq(pool.totalSupply(), total, "pool tokens stay in circulation");
        _assertEq(pool.heldGrams(ids[0]), 0, "holding gone");
        _assertEq(carbon.balanceOf(address(pool), ids[0]), amounts[0], "expired credits cannot leave");
        _assertHoldings(_ids(ids[1], ids[2]));
        _assertSupplySplit();

        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.NotExpired.selector, ids[0]));
        pool.writeOffExpired(ids[0]); // not twice
    }

    function test_writeOffExpired_liveHolding_revertsNotExpired() public {
        (uint256[3] memory ids,) = _threeVintages();
        _warp(_expiresAt(ids[0]) - 1); // the last second of validity
        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.NotExpired.selector, ids[0]));
        pool.writeOffExpired(ids[0]);
        _warp(nowSeconds + 1);
        pool.writeOffExpired(ids[0]);
        _assertEq(pool.heldGrams(ids[0]), 0, "written off at expiresAt");
    }

    function test_writeOffExpired_notHeld_revertsNotExpired() public {
        (uint256[3] memory ids,) = _threeVintages();
        _readAll(READING_WH);
        (uint256 outside,) = _certify(0);
        _warp(_expiresAt(outside));
        pool.writeOffExpired(ids[0]); // held and expired: fine
        vm.expectRevert(abi.encodeWithSelector(ICarbonPool.NotExpired.selector, outside));
        pool.writeOffExpired(outside); // expired but never in the pool
    }

    function test_expiry_shortLifetimeOldestWrittenOffNextRedeemed() public {
        carbon.setCreditLifetime(1 days);
        pool = _pool(
            ICarbonPool.Criteria({
                minVintageStart: 0,
                minRemainingValiditySeconds: 1 hours,
                energySourceMask: SOLAR | WIND,
                regions: new uint16[](0),
                methodologies: new bytes32[](0)
            }),
            FEE_BPS
        );
        _approveAll(pool);
        _readAll(READING_WH);
        (uint256 early, uint256 earlyAmount) = _certify(0);
        _warp(nowSeconds + 12 hours);
        _readAll(READING_WH);
        (uint256 late, uint256 lateAmount) = _certify(1);
        _put(windGenerator, late, lateAmount);
        _put(solarProsumer, early, earlyAmount);
        _assertHoldings(_ids(early, late));

        _warp(_expiresAt(early));
        _assertEq(pool.liveGrams(), earlyAmount + lateAmount, "live until written off");
        vm.prank(solarProsumer);
        pool.redeem(earlyAmount); // as many tokens as the expired certificate backed
        _assertEq(carbon.balanceOf(solarProsumer, late), earlyAmount, "taken from the live one");
        _assertEq(pool.expiredGrams(), earlyAmount, "expired written off");
        _assertEq(pool.liveGrams(), lateAmount - earlyAmount, "live left");
        _assertSupplySplit();
    }

    // ------------------------------------------------------------ fuzz: conservation
    struct Model {
        uint256[] ids; // in vintage order once sorted
        uint256[] issued;
        uint256[] deposited;
        uint256[] left; // still in the pool
        address[] owner;
        uint256 count;
    }

    /// @dev Up to nine certificates of three devices over three intervals, deposited in random
    ///      parts in a random order, then up to three random redemptions by one holder: the
    ///      holdings come out in vintage order, redemptions take oldest first, nothing is lost.
    function testFuzz_depositAndRedeem_conservesTotals(
        uint64[3][3] memory exportWh,
        uint8[3] memory devicesToCertify,
        uint256 depositSeed,
        uint256[3] memory redeemAmounts
    ) public {
        Model memory m;
        m.ids = new uint256[](9);
        m.issued = new uint256[](9);
        m.deposited = new uint256[](9);
        m.left = new uint256[](9);
        m.owner = new address[](9);
        for (uint256 round; round < 3; ++round) {
            uint64[DEVICES] memory deltas;
            for (uint256 d; d < 3; ++d) {
                deltas[d] = 1_000 + exportWh[round][d] % 24_000;
            }
            _readInterval(deltas);
            uint256 mask = 1 + devicesToCertify[round] % 7; // at least one device
            for (uint256 d; d < 3; ++d) {
                if (mask & (1 << d) == 0) continue;
                (m.ids[m.count], m.issued[m.count]) = _certify(d);
                m.owner[m.count] = owners[d];
                ++m.count;
            }
        }

        // Deposit in a random order (Fisher-Yates on the seed), a random part of each.
        uint256[] memory order = new uint256[](m.count);
        for (uint256 i; i < m.count; ++i) {
            order[i] = i;
        }
        for (uint256 i = m.count; i > 1; --i) {
            uint256 j = uint256(keccak256(abi.encode(depositSeed, i))) % i;
            (order[i - 1], order[j]) = (order[j], order[i - 1]);
        }
        uint256 totalDeposited;
        for (uint256 k; k < m.count; ++k) {
            uint256 i = order[k];
            m.deposited[i] = 1 + uint256(keccak256(abi.encode(depositSeed, "part", i))) % m.issued[i];
            m.left[i] = m.deposited[i];
            _put(m.owner[i], m.ids[i], m.deposited[i]);
            totalDeposited += m.deposited[i];
        }

        // Expected order: insertion sort by (vintage end, id), read from CarbonCredit.
        _sortByVintage(m);
        _assertHoldings(_prefix(m.ids, m.count));

        _collect(buyer);
        uint256 totalRedeemed;
        for (uint256 r; r < 3; ++r) {
            uint256 remaining = totalDeposited - totalRedeemed;
            if (remaining == 0) break;
            uint256 amount = 1 + redeemAmounts[r] % remaining;
            vm.prank(buyer);
            pool.redeem(amount);
            totalRedeemed += amount;
            for (uint256 i; i < m.count && amount != 0; ++i) {
                uint256 part = amount < m.left[i] ? amount : m.left[i];
                m.left[i] -= part;
                amount -= part;
            }
        }

        _assertEq(pool.totalSupply(), totalDeposited - totalRedeemed, "supply = deposited - redeemed");
        _assertEq(pool.balanceOf(buyer), totalDeposited - totalRedeemed, "holder");
        _assertEq(pool.expiredGrams(), 0, "nothing expired");
        uint256 heldSum;
        for (uint256 i; i < m.count; ++i) {
            uint256 id = m.ids[i];
            _assertEq(pool.heldGrams(id), m.left[i], "held: oldest redeemed first");
            _assertEq(carbon.balanceOf(address(pool), id), m.left[i], "pool credits");
            _assertEq(carbon.balanceOf(buyer, id), m.deposited[i] - m.left[i], "redeemed credits");
            _assertEq(
                carbon.balanceOf(m.owner[i], id) + carbon.balanceOf(address(pool), id) + carbon.balanceOf(buyer, id),
                m.issued[i],
                "credits conserved"
            );
            heldSum += m.left[i];
        }
        _assertEq(heldSum, pool.totalSupply(), "held = supply");
        _assertSupplySplit();
    }

    function _sortByVintage(Model memory m) internal view {
        uint256[] memory ends = new uint256[](m.count);
        for (uint256 i; i < m.count; ++i) {
            ends[i] = _vintageEnd(m.ids[i]);
        }
        for (uint256 i = 1; i < m.count; ++i) {
            for (uint256 j = i; j > 0; --j) {
                bool before = ends[j] < ends[j - 1] || (ends[j] == ends[j - 1] && m.ids[j] < m.ids[j - 1]);
                if (!before) break;
                (ends[j], ends[j - 1]) = (ends[j - 1], ends[j]);
                (m.ids[j], m.ids[j - 1]) = (m.ids[j - 1], m.ids[j]);
                (m.issued[j], m.issued[j - 1]) = (m.issued[j - 1], m.issued[j]);
                (m.deposited[j], m.deposited[j - 1]) = (m.deposited[j - 1], m.deposited[j]);
                (m.left[j], m.left[j - 1]) = (m.left[j - 1], m.left[j]);
                (m.owner[j], m.owner[j - 1]) = (m.owner[j - 1], m.owner[j]);
            }
        }
    }

    function _prefix(uint256[] memory values, uint256 count) internal pure returns (uint256[] memory out) {
        out = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            out[i] = values[i];
        }
    }
}
