// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {InvariantTargets} from "./base/InvariantTargets.sol";
import {CarbonWorld} from "./base/CarbonWorld.sol";
import {CarbonExchange} from "../CarbonExchange.sol";
import {CarbonCredit} from "../CarbonCredit.sol";
import {TestStablecoin} from "../local/TestStablecoin.sol";
import {ICarbonExchange} from "../interfaces/ICarbonExchange.sol";
import {ICarbonCredit} from "../interfaces/ICarbonCredit.sol";
import {Roles} from "../libraries/Roles.sol";

/// @notice Drives the exchange with day-long credits: issuance, offers of random parts of random
///         certificates at random prices by whoever holds them (generators and buyers who
///         resell), purchases of random parts of random offers within a random price limit
///         (sometimes more than is left, sometimes below the price), cancels, retirements and
///         time. Each call is checked against a model of the exchange's rules; a landed call
///         that breaks it, or a refused call the model says must land, is counted as a violation.
contract CarbonExchangeHandler is CarbonWorld {
    uint64 internal constant SHORT_LIFETIME = 1 days;
    uint256 internal constant GRAMS_PER_TONNE = 1_000_000;
    /// Bounds what the invariants walk, so a ci run stays quick.
    uint256 internal constant MAX_CERTIFICATES = 30;
    uint256 internal constant MAX_OFFERS = 60;
    /// Three generators and two buyers; anyone holding credits may offer them.
    uint256 internal constant ACTORS = 5;
    /// Every actor starts with this much of the payment token, all of it approved to the exchange.
    uint256 public constant FUNDS = 1e30;
    uint256 internal constant MAX_PRICE = 1e12;

    CarbonExchange public exchange;
    TestStablecoin public dollar;
    address public secondBuyer = address(0xB0B2);
    address[ACTORS] internal actors;
    uint256[] internal certificates;

    /// Payment ghosts: Σ paid as the model prices each landed purchase, and Σ the sellers'
    /// balances rose by (measured on the token).
    uint256 public ghostPaid;
    uint256 public ghostReceived;
    mapping(address actor => uint256) public ghostSpentBy;
    mapping(address actor => uint256) public ghostEarnedBy;
    /// Credits ghosts.
    mapping(uint256 certificateId => uint256) public ghostFrozen;
    mapping(uint256 offerId => uint256) public ghostOffered;
    mapping(uint256 offerId => uint256) public ghostCertificateOf;
    mapping(uint256 offerId => uint256) public ghostBought;
    mapping(uint256 offerId => uint256) public ghostReturned;
    mapping(uint256 offerId => bool) public ghostClosed;
    uint256 public ghostExpiredDeliveries;
    uint256 public ghostOverfills;
    uint256 public ghostViolations;
    string public firstViolation;
    mapping(bytes4 action => uint256 landed) public landed;

    constructor() {
        _buildCarbonWorld();
        carbon.setCreditLifetime(SHORT_LIFETIME);
        dollar = new TestStablecoin(address(this));
        exchange = new CarbonExchange(address(manager), carbon, dollar);
        _role(address(exchange), exchange.pause.selector, Roles.EMERGENCY);
        actors = [solarProsumer, windGenerator, frenchProsumer, buyer, secondBuyer];
        for (uint256 i; i < ACTORS; ++i) {
            dollar.mint(actors[i], FUNDS);
            vm.startPrank(actors[i]);
            dollar.approve(address(exchange), type(uint256).max);
            carbon.setApprovalForAll(address(exchange), true);
            vm.stopPrank();
        }
    }

    // ------------------------------------------------------------ views for the invariants
    function carbonUnderTest() external view returns (CarbonCredit) {
        return carbon;
    }

    function issuedCertificates() external view returns (uint256[] memory) {
        return certificates;
    }

    function actorList() external view returns (address[] memory list) {
        list = new address[](ACTORS);
        for (uint256 i; i < ACTORS; ++i) {
            list[i] = actors[i];
        }
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

    /// @notice One or two offers: each time a holder of some certificate offers a random part
    ///         of its balance (usually live, sometimes expired) at a random price; the model: it
    ///         lands exactly when the credits are live.
    function offer(uint256 seed) external {
        _sync();
        uint256 offers = 1 + seed % 2;
        for (uint256 i; i < offers; ++i) {
            _offerOne(_word(seed, i, 0), _word(seed, i, 1), _word(seed, i, 2));
        }
    }

    function _offerOne(uint256 seed, uint256 grams, uint256 price) internal {
        if (exchange.offerCount() >= MAX_OFFERS) return;
        // One time in eight any holding, which may have expired (refused); else a live one.
        (address seller, uint256 id, uint256 balance) = _holder(seed, seed % 8 != 0);
        if (balance == 0) return;
        grams = _part(grams, balance);
        price = 1 + price % MAX_PRICE;
        bool live = nowSeconds < carbon.certificateExpiry(id);
        uint256 escrowBefore = carbon.balanceOf(address(exchange), id);
        vm.prank(seller);
        try exchange.offer(id, grams, price) returns (uint256 offerId) {
            if (!live) _violation("offer: expired credits accepted");
            if (offerId != exchange.offerCount()) _violation("offer: id");
            ICarbonExchange.Offer memory o = exchange.offerOf(offerId);
            if (o.seller != seller || o.certificateId != id || o.remainingGrams != grams || o.pricePerTonne != price) {
                _violation("offer: record");
            }
            if (carbon.balanceOf(seller, id) != balance - grams) _violation("offer: seller balance");
            if (carbon.balanceOf(address(exchange), id) != escrowBefore + grams) _violation("offer: escrow");
            ghostOffered[offerId] = grams;
            ghostCertificateOf[offerId] = id;
            ++landed[this.offer.selector];
        } catch {
            if (live) _violation("offer: refused live credits");
        }
    }

    /// @notice One to three purchases: each time a buyer other than the seller takes a random
    ///         part of a random offer within a random price limit. The model: it lands exactly when the offer is open, the
    ///         credits are live, the part is within what is left and the price within the limit;
    ///         then the seller gets ⌈grams × price / 10⁶⌉ and the buyer the credits.
    function buy(uint256 seed) external {
        _sync();
        uint256 purchases = 1 + seed % 3;
        for (uint256 i; i < purchases; ++i) {
            _buyOne(_word(seed, i, 0), _word(seed, i, 1), _word(seed, i, 2), _word(seed, i, 3));
        }
    }

    function _buyOne(uint256 offerSeed, uint256 buyerSeed, uint256 grams, uint256 maxPrice) internal {
        uint256 count = exchange.offerCount();
        if (count == 0) return;
        // Usually the first open offer of live credits from a random start; one time in eight
        // the first open offer (its credits may have expired), one time in eight any id from 0
        // to one past the last (closed, unknown or open).
        uint256 offerId;
        ICarbonExchange.Offer memory o;
        if (offerSeed % 8 == 0) {
            offerId = (offerSeed >> 3) % (count + 2);
            o = exchange.offerOf(offerId);
        } else {
            bool liveOnly = offerSeed % 8 != 1;
            for (uint256 k; k < count; ++k) {
                offerId = 1 + ((offerSeed >> 3) % count + k) % count;
                o = exchange.offerOf(offerId);
                if (o.seller == address(0)) continue;
                if (!liveOnly || nowSeconds < carbon.certificateExpiry(o.certificateId)) break;
            }
        }
        bool open = o.seller != address(0);
        address seller = open ? o.seller : actors[0];
        address who = actors[buyerSeed % ACTORS];
        if (who == seller) who = actors[(buyerSeed % ACTORS + 1) % ACTORS];
        // One time in eight a part beyond what is left (refused), else a part of it.
        uint256 remaining = o.remainingGrams;
        grams = grams % 8 == 0 ? remaining + 1 + (grams >> 3) % 100 : _part(grams >> 3, remaining == 0 ? 1 : remaining);
        // One time in six a limit below the price (refused), else at or above it.
        maxPrice = maxPrice % 6 == 0 && o.pricePerTonne > 1
            ? (maxPrice >> 3) % o.pricePerTonne
            : o.pricePerTonne + (maxPrice >> 3) % (MAX_PRICE + 1);
        bool live = open && nowSeconds < carbon.certificateExpiry(o.certificateId);
        bool shouldLand = open && live && grams <= remaining && o.pricePerTonne <= maxPrice;
        uint256 expectedCost = shouldLand ? _ceil(grams * o.pricePerTonne) : 0;

        uint256 buyerMoney = dollar.balanceOf(who);
        uint256 sellerMoney = dollar.balanceOf(seller);
        uint256 buyerCredits = open ? carbon.balanceOf(who, o.certificateId) : 0;
        uint256 escrow = open ? carbon.balanceOf(address(exchange), o.certificateId) : 0;
        vm.prank(who);
        try exchange.buy(offerId, grams, maxPrice) returns (uint256 paid) {
            if (!shouldLand) _violation("buy: landed against the rules");
            if (!live) ++ghostExpiredDeliveries;
            ghostBought[offerId] += grams;
            if (ghostBought[offerId] > ghostOffered[offerId]) ++ghostOverfills;
            if (paid != expectedCost) _violation("buy: cost is not the ceiling");
            // Written without subtraction, so a misbehaving exchange is recorded, not a panic.
            if (dollar.balanceOf(who) + expectedCost != buyerMoney) {
                _violation("buy: buyer charged other than the cost");
            }
            uint256 sellerNow = dollar.balanceOf(seller);
            if (sellerNow < sellerMoney) _violation("buy: seller lost payment");
            uint256 earned = sellerNow < sellerMoney ? 0 : sellerNow - sellerMoney;
            ghostPaid += expectedCost;
            ghostReceived += earned;
            ghostSpentBy[who] += expectedCost;
            ghostEarnedBy[seller] += earned;
            if (carbon.balanceOf(who, o.certificateId) != buyerCredits + grams) _violation("buy: credits delivered");
            if (carbon.balanceOf(address(exchange), o.certificateId) + grams != escrow) _violation("buy: escrow");
            ICarbonExchange.Offer memory after_ = exchange.offerOf(offerId);
            if (grams == remaining) {
                if (after_.seller != address(0)) _violation("buy: last part left the offer open");
                ghostClosed[offerId] = true;
            } else if (after_.remainingGrams + grams != remaining || after_.seller != seller) {
                _violation("buy: remaining");
            }
            ++landed[this.buy.selector];
        } catch {
            if (shouldLand) _violation("buy: refused a valid purchase");
        }
    }

    /// @notice The seller of a random open offer cancels it: live credits come back, expired
    ///         ones stay frozen in the exchange.
    function cancel(uint256 offerSeed) external {
        _sync();
        uint256 count = exchange.offerCount();
        if (count == 0) return;
        uint256 offerId;
        ICarbonExchange.Offer memory o;
        for (uint256 k; k < count && o.seller == address(0); ++k) {
            offerId = 1 + (offerSeed % count + k) % count;
            o = exchange.offerOf(offerId);
        }
        if (o.seller == address(0)) return;
        bool expired = nowSeconds >= carbon.certificateExpiry(o.certificateId);
        uint256 sellerCredits = carbon.balanceOf(o.seller, o.certificateId);
        uint256 escrow = carbon.balanceOf(address(exchange), o.certificateId);
        vm.prank(o.seller);
        try exchange.cancel(offerId) {
            if (exchange.offerOf(offerId).seller != address(0)) _violation("cancel: offer still open");
            ghostClosed[offerId] = true;
            if (expired) {
                ghostFrozen[o.certificateId] += o.remainingGrams;
                if (carbon.balanceOf(o.seller, o.certificateId) != sellerCredits) _violation("cancel: expired moved");
                if (carbon.balanceOf(address(exchange), o.certificateId) != escrow) _violation("cancel: expired left");
            } else {
                ghostReturned[offerId] = o.remainingGrams;
                if (carbon.balanceOf(o.seller, o.certificateId) != sellerCredits + o.remainingGrams) {
                    _violation("cancel: not returned");
                }
                if (carbon.balanceOf(address(exchange), o.certificateId) + o.remainingGrams != escrow) {
                    _violation("cancel: escrow");
                }
            }
            ++landed[this.cancel.selector];
        } catch {
            _violation("cancel: seller refused");
        }
    }

    /// @notice A holder retires a random part of its live credits (the credit supply shrinks
    ///         outside the exchange).
    function retire(uint256 seed, uint256 grams) external {
        _sync();
        (address who, uint256 id, uint256 balance) = _holder(seed, true);
        if (balance == 0) return;
        vm.prank(who);
        carbon.retireCertificateCredits(id, _part(grams, balance), beneficiary, "Scope 2");
        ++landed[this.retire.selector];
    }

    /// @notice Half an hour to six and a half hours: credits live a day, so offers expire along a run.
    function warp(uint32 seconds_) external {
        _warp(nowSeconds + 30 minutes + seconds_ % 6 hours);
        ++landed[this.warp.selector];
    }

    // ------------------------------------------------------------ helpers
    /// @dev The clock is the handler's: re-assert it in case the runner reset the block.
    function _sync() internal {
        vm.warp(nowSeconds);
    }

    function _word(uint256 seed, uint256 i, uint256 k) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, i, k)));
    }

    function _ceil(uint256 exact) internal pure returns (uint256) {
        return exact / GRAMS_PER_TONNE + (exact % GRAMS_PER_TONNE == 0 ? 0 : 1);
    }

    /// @dev 1..max from the seed: one call in four up to all of it, the others up to a tenth.
    function _part(uint256 seed, uint256 max) internal pure returns (uint256) {
        uint256 range = seed % 4 == 0 ? max : max / 10 + 1;
        return 1 + (seed >> 2) % range;
    }

    /// @dev The first (actor, certificate) from a random start with a non-zero balance (of live
    ///      credits only, when `liveOnly`).
    function _holder(uint256 seed, bool liveOnly) internal view returns (address who, uint256 id, uint256 balance) {
        uint256 count = certificates.length;
        for (uint256 c; c < count && balance == 0; ++c) {
            id = certificates[((seed >> 8) % count + c) % count];
            if (liveOnly && nowSeconds >= carbon.certificateExpiry(id)) continue;
            for (uint256 k; k < ACTORS && balance == 0; ++k) {
                who = actors[((seed >> 64) % ACTORS + k) % ACTORS];
                balance = carbon.balanceOf(who, id);
            }
        }
    }

    function _violation(string memory reason) internal {
        if (ghostViolations++ == 0) firstViolation = reason;
    }
}

contract CarbonExchangeInvariantsTest is InvariantTargets {
    CarbonExchangeHandler internal handler;
    CarbonExchange internal exchange;
    CarbonCredit internal carbon;
    TestStablecoin internal dollar;

    function setUp() public {
        handler = new CarbonExchangeHandler();
        _targetActions();
        exchange = handler.exchange();
        carbon = handler.carbonUnderTest();
        dollar = handler.dollar();
    }

    /// @dev Only the handler's actions are called, not its views.
    function _targetActions() internal {
        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = handler.issue.selector;
        selectors[1] = handler.offer.selector;
        selectors[2] = handler.buy.selector;
        selectors[3] = handler.cancel.selector;
        selectors[4] = handler.retire.selector;
        selectors[5] = handler.warp.selector;
        _targetOnly(address(handler), selectors);
    }

    /// @dev Σ remaining grams of the open offers, per certificate id (index = id).
    function _openGrams() internal view returns (uint256[] memory sums) {
        sums = new uint256[](carbon.certificateCount() + 1);
        uint256 count = exchange.offerCount();
        for (uint256 i = 1; i <= count; ++i) {
            ICarbonExchange.Offer memory o = exchange.offerOf(i);
            if (o.seller != address(0)) sums[o.certificateId] += o.remainingGrams;
        }
    }

    /// (a) The exchange holds, of every certificate, exactly the remaining grams of its open
    ///     offers plus the grams of offers closed after their credits expired (frozen there).
    function invariant_escrowIsOpenOffersPlusFrozen() public view {
        uint256[] memory open = _openGrams();
        uint256[] memory issued = handler.issuedCertificates();
        for (uint256 i; i < issued.length; ++i) {
            uint256 id = issued[i];
            require(
                carbon.balanceOf(address(exchange), id) == open[id] + handler.ghostFrozen(id),
                "escrow != open offers + frozen"
            );
        }
    }

    /// (b) Payment conservation: what buyers paid (model) is what sellers received (measured);
    ///     the exchange never holds payment; every actor's balance is its funds less what it
    ///     spent plus what it earned; no payment was created or destroyed.
    function invariant_paymentConserved() public view {
        require(handler.ghostPaid() == handler.ghostReceived(), "paid != received");
        require(dollar.balanceOf(address(exchange)) == 0, "exchange holds payment");
        address[] memory actors = handler.actorList();
        uint256 funds = handler.FUNDS();
        uint256 sum;
        for (uint256 i; i < actors.length; ++i) {
            uint256 balance = dollar.balanceOf(actors[i]);
            require(
                balance + handler.ghostSpentBy(actors[i]) == funds + handler.ghostEarnedBy(actors[i]),
                "actor balance != funds - spent + earned"
            );
            sum += balance;
        }
        require(sum == funds * actors.length, "payment created or destroyed");
        require(dollar.totalSupply() == sum, "payment outside the actors");
    }

    /// (c) Credits conservation per certificate: Σ holder balances (the exchange included) +
    ///     retired == issued.
    function invariant_creditsConserved() public view {
        uint256[] memory issued = handler.issuedCertificates();
        address[] memory actors = handler.actorList();
        for (uint256 i; i < issued.length; ++i) {
            uint256 id = issued[i];
            uint256 held = carbon.balanceOf(address(exchange), id);
            for (uint256 k; k < actors.length; ++k) {
                held += carbon.balanceOf(actors[k], id);
            }
            (uint256 issuedGrams, uint256 retiredGrams) = _supply(id);
            require(held + retiredGrams == issuedGrams, "held + retired != issued");
        }
    }

    /// (d) No purchase delivered expired credits and no offer was filled beyond its amount;
    ///     every offer's grams are accounted for: an open one has bought + remaining == offered,
    ///     a closed one bought + returned == offered or, closed after expiry, the rest is frozen;
    ///     the frozen grams per certificate are exactly those rests.
    function invariant_noExpiredDeliveryNoOverfill() public view {
        require(handler.ghostExpiredDeliveries() == 0, "expired credits delivered");
        require(handler.ghostOverfills() == 0, "offer filled beyond its amount");
        uint256 count = exchange.offerCount();
        uint256[] memory rests = new uint256[](carbon.certificateCount() + 1);
        for (uint256 i = 1; i <= count; ++i) {
            ICarbonExchange.Offer memory o = exchange.offerOf(i);
            uint256 offered = handler.ghostOffered(i);
            uint256 bought = handler.ghostBought(i);
            uint256 returned = handler.ghostReturned(i);
            require(offered != 0, "offer the handler did not make");
            if (o.seller != address(0)) {
                require(!handler.ghostClosed(i), "closed offer open again");
                require(returned == 0, "open offer returned credits");
                require(bought + o.remainingGrams == offered, "bought + remaining != offered");
            } else {
                require(handler.ghostClosed(i), "offer vanished without a last buy or cancel");
                require(bought + returned <= offered, "more taken than offered");
                if (returned != 0) require(bought + returned == offered, "returned != the rest");
                rests[handler.ghostCertificateOf(i)] += offered - bought - returned;
            }
        }
        uint256[] memory issued = handler.issuedCertificates();
        for (uint256 i; i < issued.length; ++i) {
            require(rests[issued[i]] == handler.ghostFrozen(issued[i]), "frozen != rests of expired offers");
        }
    }

    /// Every landed or refused call matched the model.
    function invariant_callsMatchTheModel() public view {
        require(handler.ghostViolations() == 0, handler.firstViolation());
    }

    function _supply(uint256 id) internal view returns (uint256 issuedGrams, uint256 retiredGrams) {
        ICarbonCredit.EmissionData memory data = carbon.getEmissionReductions(id);
        return (data.co2eGrams, data.retiredGrams);
    }
}
