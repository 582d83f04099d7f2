// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {InvariantTargets} from "./base/InvariantTargets.sol";
import {CarbonWorld} from "./base/CarbonWorld.sol";
import {CarbonPool} from "../CarbonPool.sol";
import {CarbonCredit} from "../CarbonCredit.sol";
import {ICarbonPool} from "../interfaces/ICarbonPool.sol";
import {ICarbonCredit} from "../interfaces/ICarbonCredit.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";

/// @notice Drives a pool of day-long credits: issuance, deposits (with and without hints),
///         redemptions oldest first, selective redemptions, retirements from the pool, pool token
///         transfers, time and write-offs. Keeps ghost totals and checks each landed call against
///         a model of oldest-first taking; a model mismatch is counted, with its first reason.
contract CarbonPoolHandler is CarbonWorld {
    uint64 internal constant SHORT_LIFETIME = 1 days;
    uint64 internal constant MIN_VALIDITY = 2 hours;
    uint256 internal constant FEE_BPS = 250;
    /// Bounds the certificates so the invariants (which walk all of them) stay quick.
    uint256 internal constant MAX_CERTIFICATES = 45;
    /// The generators and the buyer; the fee collector only receives fees.
    uint256 internal constant ACTORS = 4;
    string internal constant PURPOSE = "Scope 2, FY2026";

    CarbonPool public pool;
    address public feeCollector = address(0xFEE);
    address[ACTORS] internal actors;
    uint256[] internal certificates;

    uint256 public ghostDeposited;
    uint256 public ghostRedeemed;
    uint256 public ghostRetired;
    uint256 public ghostFees;
    /// The retirement log as the handler expects it: records and head of the hash chain.
    uint256 public ghostRetirements;
    uint256 public ghostLogHead;
    uint256 public ghostViolations;
    string public firstViolation;
    mapping(bytes4 action => uint256 landed) public landed;

    constructor() {
        _buildCarbonWorld();
        carbon.setCreditLifetime(SHORT_LIFETIME);
        pool = new CarbonPool(
            "GridLedger Renewable",
            "GLR",
            carbon,
            ICarbonPool.Criteria({
                minVintageStart: 0,
                minRemainingValiditySeconds: MIN_VALIDITY,
                energySourceMask: uint32(1 << uint8(ISmartMeter.EnergySource.Solar))
                    | uint32(1 << uint8(ISmartMeter.EnergySource.Wind)),
                regions: new uint16[](0),
                methodologies: new bytes32[](0)
            }),
            FEE_BPS,
            feeCollector
        );
        actors = [solarProsumer, windGenerator, frenchProsumer, buyer];
        for (uint256 i; i < ACTORS; ++i) {
            vm.prank(actors[i]);
            carbon.setApprovalForAll(address(pool), true);
        }
    }

    // ------------------------------------------------------------ views for the invariants
    function carbonUnderTest() external view returns (CarbonCredit) {
        return carbon;
    }

    function issuedCertificates() external view returns (uint256[] memory) {
        return certificates;
    }

    // ------------------------------------------------------------ actions
    /// @notice One interval of readings, then certificates for a random non-empty set of the
    ///         three renewable meters.
    function issue(uint64[3] memory exportWh, uint8 devices) external {
        _sync();
        if (certificates.length + 3 > MAX_CERTIFICATES) return;
        _readInterval(
            [1_000 + exportWh[0] % 24_000, 1_000 + exportWh[1] % 24_000, 1_000 + exportWh[2] % 24_000, uint64(0)]
        );
        uint256 mask = 1 + devices % 7;
        for (uint256 d; d < 3; ++d) {
            if (mask & (1 << d) == 0) continue;
            (uint256 id,) = _certify(d);
            certificates.push(id);
        }
        ++landed[this.issue.selector];
    }

    /// @notice One to three deposits: each time a holder of live credits of a random certificate
    ///      deposits a random part, one time in three with a random holding as hint (which may
    ///      be before the certificate's place: the pool must then refuse it).
    function deposit(uint256 seed) external {
        _sync();
        uint256 deposits = 1 + seed % 3;
        for (uint256 i; i < deposits; ++i) {
            _depositOne(uint256(keccak256(abi.encode(seed, i))));
        }
    }

    function _depositOne(uint256 seed) internal {
        uint256 count = certificates.length;
        uint256 id;
        address who;
        uint256 live;
        // The first certificate from a random start that some actor holds live credits of.
        for (uint256 c; c < count && live == 0; ++c) {
            id = certificates[(seed % count + c) % count];
            for (uint256 k; k < ACTORS && live == 0; ++k) {
                who = actors[((seed >> 64) % ACTORS + k) % ACTORS];
                live = carbon.liveBalanceOf(who, id);
            }
        }
        if (live == 0) return;
        uint256 amount = 1 + (seed >> 96) % live;
        uint256[] memory held = pool.holdings();
        bool hinted = held.length != 0 && (seed >> 192) % 3 == 0;
        uint256 supplyBefore = pool.totalSupply();
        uint256 heldBefore = pool.heldGrams(id);
        uint256 creditsBefore = carbon.balanceOf(address(pool), id);
        bool ok;
        vm.prank(who);
        if (hinted) {
            try pool.depositWithHint(id, amount, held[(seed >> 200) % held.length]) {
                ok = true;
            } catch {}
        } else {
            try pool.deposit(id, amount) {
                ok = true;
            } catch {}
        }
        if (!ok) return;
        ghostDeposited += amount;
        if (pool.totalSupply() != supplyBefore + amount) _violation("deposit: minted other than the amount");
        if (pool.heldGrams(id) != heldBefore + amount) _violation("deposit: holding");
        if (carbon.balanceOf(address(pool), id) != creditsBefore + amount) _violation("deposit: credits");
        ++landed[hinted ? ICarbonPool.depositWithHint.selector : ICarbonPool.deposit.selector];
    }

    function redeem(uint256 actorSeed, uint256 amount) external {
        _sync();
        address who = _poolHolder(actorSeed);
        if (who == address(0)) return;
        amount = _part(amount, pool.balanceOf(who));
        (uint256[] memory ids, uint256[] memory values, uint256 available) = _expectedTake(amount);
        uint256[] memory before = new uint256[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            before[i] = carbon.balanceOf(who, ids[i]);
        }
        uint256 supplyBefore = pool.totalSupply();
        vm.prank(who);
        try pool.redeem(amount) {
            ghostRedeemed += amount;
            if (available < amount) _violation("redeem: landed without enough live credits");
            if (pool.totalSupply() != supplyBefore - amount) _violation("redeem: burned other than the amount");
            for (uint256 i; i < ids.length; ++i) {
                if (carbon.balanceOf(who, ids[i]) != before[i] + values[i]) _violation("redeem: not oldest first");
            }
            ++landed[this.redeem.selector];
        } catch {
            if (available >= amount) _violation("redeem: refused with enough live credits");
        }
    }

    function redeemSelected(uint256 actorSeed, uint256 holdingSeed, uint256 amount) external {
        _sync();
        address who = _poolHolder(actorSeed);
        uint256[] memory held = pool.holdings();
        if (who == address(0) || held.length == 0) return;
        uint256 id = held[holdingSeed % held.length];
        uint256 balance = pool.balanceOf(who);
        // amount × (1 + fee) ≤ balance, so the fee is always covered.
        uint256 cap = balance * 10_000 / (10_000 + FEE_BPS);
        uint256 heldGrams = pool.heldGrams(id);
        if (heldGrams < cap) cap = heldGrams;
        if (cap == 0) return;
        amount = _part(amount, cap);
        bool expired = carbon.liveBalanceOf(address(pool), id) == 0;
        uint256 supplyBefore = pool.totalSupply();
        uint256 collectorBefore = pool.balanceOf(feeCollector);
        uint256 creditsBefore = carbon.balanceOf(who, id);
        vm.prank(who);
        try pool.redeemSelected(id, amount) {
            ghostRedeemed += amount;
            if (expired) _violation("redeemSelected: expired credits delivered");
            if (pool.totalSupply() != supplyBefore - amount) {
                _violation("redeemSelected: burned other than the amount");
            }
            if (pool.balanceOf(who) != balance - amount - _paidFee(collectorBefore, amount)) {
                _violation("redeemSelected: payer");
            }
            if (carbon.balanceOf(who, id) != creditsBefore + amount) _violation("redeemSelected: credits");
            if (pool.heldGrams(id) != heldGrams - amount) _violation("redeemSelected: holding");
            ++landed[this.redeemSelected.selector];
        } catch {
            if (!expired) _violation("redeemSelected: refused a live holding");
        }
    }

    function retireFromPool(uint256 actorSeed, uint256 amount, uint8 beneficiarySeed) external {
        _sync();
        address who = _poolHolder(actorSeed);
        if (who == address(0)) return;
        amount = _part(amount, pool.balanceOf(who));
        address[3] memory beneficiaries = [beneficiary, buyer, address(0xC0FFEE)];
        address onBehalfOf = beneficiaries[beneficiarySeed % 3];
        (uint256[] memory ids, uint256[] memory values, uint256 available) = _expectedTake(amount);
        uint256 retiredBefore = _sumRetiredGrams();
        uint256 supplyBefore = pool.totalSupply();
        uint256 recordsBefore = carbon.retirementCount();
        vm.prank(who);
        try pool.retireFromPool(amount, onBehalfOf, PURPOSE) returns (uint256[] memory retirementIds) {
            ghostRetired += amount;
            if (available < amount) _violation("retire: landed without enough live credits");
            if (pool.totalSupply() != supplyBefore - amount) _violation("retire: burned other than the amount");
            if (_sumRetiredGrams() != retiredBefore + amount) _violation("retire: retiredGrams");
            if (carbon.retirementCount() != recordsBefore + ids.length) _violation("retire: record count");
            if (retirementIds.length != ids.length) _violation("retire: not oldest first");
            // Replay the expected records into the handler's copy of the retirement log.
            for (uint256 i; i < ids.length; ++i) {
                ICarbonCredit.Retirement memory record =
                    ICarbonCredit.Retirement(address(pool), onBehalfOf, ids[i], values[i], nowSeconds, PURPOSE);
                ++ghostRetirements;
                if (i < retirementIds.length && retirementIds[i] != ghostRetirements) _violation("retire: id");
                ghostLogHead = uint192(uint256(keccak256(abi.encode(ghostLogHead, ghostRetirements, record))));
            }
            (uint256 count, uint256 head) = carbon.retirementLog();
            if (count != ghostRetirements || head != ghostLogHead) _violation("retire: log head");
            ++landed[this.retireFromPool.selector];
        } catch {
            if (available >= amount) _violation("retire: refused with enough live credits");
        }
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        _sync();
        address from = _poolHolder(fromSeed);
        if (from == address(0)) return;
        address to = actors[toSeed % ACTORS];
        amount = 1 + amount % pool.balanceOf(from);
        vm.prank(from);
        pool.transfer(to, amount);
        ++landed[this.transfer.selector];
    }

    /// @notice Two to twelve hours: credits live a day, so holdings expire along a run.
    function warp(uint32 seconds_) external {
        _warp(nowSeconds + 2 hours + seconds_ % 10 hours);
        ++landed[this.warp.selector];
    }

    function writeOffExpired(uint256 holdingSeed) external {
        _sync();
        uint256[] memory held = pool.holdings();
        if (held.length == 0) return;
        uint256 id = held[holdingSeed % held.length];
        bool expired = carbon.liveBalanceOf(address(pool), id) == 0;
        uint256 grams = pool.heldGrams(id);
        uint256 expiredBefore = pool.expiredGrams();
        uint256 supplyBefore = pool.totalSupply();
        try pool.writeOffExpired(id) {
            if (!expired) _violation("writeOff: a live holding");
            if (pool.expiredGrams() != expiredBefore + grams) _violation("writeOff: expired grams");
            if (pool.totalSupply() != supplyBefore) _violation("writeOff: supply changed");
            ++landed[this.writeOffExpired.selector];
        } catch {
            if (expired) _violation("writeOff: refused an expired holding");
        }
    }

    // ------------------------------------------------------------ helpers
    /// @dev The clock is the handler's: re-assert it in case the runner reset the block.
    function _sync() internal {
        vm.warp(nowSeconds);
    }

    /// @dev 1..max from the seed: one call in four up to all of it, the others up to a tenth,
    ///      so holdings pile up as well as drain.
    function _part(uint256 seed, uint256 max) internal pure returns (uint256) {
        uint256 range = seed % 4 == 0 ? max : max / 10 + 1;
        return 1 + (seed >> 2) % range;
    }

    function _poolHolder(uint256 seed) internal view returns (address) {
        for (uint256 k; k < ACTORS; ++k) {
            address who = actors[(seed % ACTORS + k) % ACTORS];
            if (pool.balanceOf(who) != 0) return who;
        }
        return address(0);
    }

    /// @dev Checks the fee (amount × bps / 10,000, rounded up) reached the collector; returns it.
    function _paidFee(uint256 collectorBefore, uint256 amount) internal returns (uint256 fee) {
        uint256 product = amount * FEE_BPS;
        fee = product / 10_000 + (product % 10_000 == 0 ? 0 : 1);
        ghostFees += fee;
        if (pool.balanceOf(feeCollector) != collectorBefore + fee) _violation("redeemSelected: fee");
    }

    /// @dev What oldest-first taking of `amount` gives, as the pool's rules read: walk at most
    ///      MAX_CERTIFICATES_PER_CALL holdings in order, skip expired ones, take from the others.
    function _expectedTake(uint256 amount)
        internal
        view
        returns (uint256[] memory ids, uint256[] memory values, uint256 taken)
    {
        uint256[] memory held = pool.holdings();
        uint256 limit = pool.MAX_CERTIFICATES_PER_CALL();
        ids = new uint256[](limit);
        values = new uint256[](limit);
        uint256 count;
        for (uint256 i; i < held.length && i < limit && taken < amount; ++i) {
            if (carbon.liveBalanceOf(address(pool), held[i]) == 0) continue;
            uint256 grams = pool.heldGrams(held[i]);
            uint256 part = amount - taken < grams ? amount - taken : grams;
            ids[count] = held[i];
            values[count] = part;
            ++count;
            taken += part;
        }
        assembly ("memory-safe") {
            mstore(ids, count)
            mstore(values, count)
        }
    }

    function _sumRetiredGrams() internal view returns (uint256 sum) {
        for (uint256 i; i < certificates.length; ++i) {
            sum += carbon.getEmissionReductions(certificates[i]).retiredGrams;
        }
    }

    function _violation(string memory reason) internal {
        if (ghostViolations++ == 0) firstViolation = reason;
    }
}

contract CarbonPoolInvariantsTest is InvariantTargets {
    CarbonPoolHandler internal handler;
    CarbonPool internal pool;
    CarbonCredit internal carbon;

    function setUp() public {
        handler = new CarbonPoolHandler();
        _targetActions();
        pool = handler.pool();
        carbon = handler.carbonUnderTest();
    }

    /// @dev Only the handler's actions are called, not its views.
    function _targetActions() internal {
        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = handler.issue.selector;
        selectors[1] = handler.deposit.selector;
        selectors[2] = handler.redeem.selector;
        selectors[3] = handler.redeemSelected.selector;
        selectors[4] = handler.retireFromPool.selector;
        selectors[5] = handler.transfer.selector;
        selectors[6] = handler.warp.selector;
        selectors[7] = handler.writeOffExpired.selector;
        _targetOnly(address(handler), selectors);
    }

    function _heldSum(uint256[] memory held) internal view returns (uint256 sum) {
        for (uint256 i; i < held.length; ++i) {
            sum += pool.heldGrams(held[i]);
        }
    }

    function _contains(uint256[] memory list, uint256 value) internal pure returns (bool) {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == value) return true;
        }
        return false;
    }

    /// (a) Every pool token is backed by a live holding or by written-off expired credits.
    function invariant_supplyIsHeldPlusWrittenOff() public view {
        uint256 supply = pool.totalSupply();
        require(supply == _heldSum(pool.holdings()) + pool.expiredGrams(), "supply != held + expired");
        require(pool.liveGrams() + pool.expiredGrams() == supply, "live + expired != supply");
    }

    /// (b) The pool's books agree with CarbonCredit: each holding is the pool's balance of that
    ///     certificate, and what the pool still has of certificates no longer held is exactly
    ///     the written-off expired credits (they cannot move once expired).
    function invariant_holdingsMatchCreditBalances() public view {
        uint256[] memory held = pool.holdings();
        for (uint256 i; i < held.length; ++i) {
            require(pool.heldGrams(held[i]) == carbon.balanceOf(address(pool), held[i]), "held != credit balance");
        }
        uint256[] memory issued = handler.issuedCertificates();
        uint256 leftBehind;
        for (uint256 i; i < issued.length; ++i) {
            if (_contains(held, issued[i])) continue;
            require(pool.heldGrams(issued[i]) == 0, "held outside the list");
            leftBehind += carbon.balanceOf(address(pool), issued[i]);
        }
        require(leftBehind == pool.expiredGrams(), "credits outside holdings != written off");
    }

    /// (c) holdings() is strictly ordered by (vintage end, id), so without duplicates, and has
    ///     no empty holding.
    function invariant_holdingsSortedAndNonZero() public view {
        uint256[] memory held = pool.holdings();
        uint256 previousEnd;
        uint256 previousId;
        for (uint256 i; i < held.length; ++i) {
            require(pool.heldGrams(held[i]) != 0, "zero holding");
            uint256 end = carbon.getEmissionReductions(held[i]).vintageEnd;
            if (i != 0) {
                require(end > previousEnd || (end == previousEnd && held[i] > previousId), "not in vintage order");
            }
            (previousEnd, previousId) = (end, held[i]);
        }
    }

    /// (d) Fees move pool tokens and burn none: deposited − redeemed − retired == supply.
    function invariant_supplyIsDepositedLessRedeemedAndRetired() public view {
        require(
            handler.ghostDeposited() == handler.ghostRedeemed() + handler.ghostRetired() + pool.totalSupply(),
            "deposited != redeemed + retired + supply"
        );
    }

    /// Fees move pool tokens to the collector, whole: it holds exactly the fees paid.
    function invariant_feesReachTheCollector() public view {
        require(pool.balanceOf(handler.feeCollector()) == handler.ghostFees(), "collector != fees paid");
    }

    /// (e) Credits retired through the pool are recorded in CarbonCredit, gram for gram (the
    ///     handler retires nothing else), and the retirement log's head is the hash chain of
    ///     exactly the records the handler expected (pool as retiree, beneficiary, purpose,
    ///     certificate and grams oldest first, time).
    function invariant_poolRetirementsRecorded() public view {
        uint256[] memory issued = handler.issuedCertificates();
        uint256 retired;
        for (uint256 i; i < issued.length; ++i) {
            retired += carbon.getEmissionReductions(issued[i]).retiredGrams;
        }
        require(retired == handler.ghostRetired(), "retiredGrams != retired from the pool");
        (uint256 count, uint256 head) = carbon.retirementLog();
        require(count == handler.ghostRetirements(), "retirement count");
        require(head == handler.ghostLogHead(), "log head: records differ from the pool's retirements");
    }

    /// Every landed call moved exactly what the model of oldest-first taking predicts.
    function invariant_callsMatchTheModel() public view {
        require(handler.ghostViolations() == 0, handler.firstViolation());
    }
}
