// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {SolicitedCreditsHolder} from "../libraries/SolicitedCreditsHolder.sol";
import {CarbonWorld} from "./base/CarbonWorld.sol";
import {CarbonExchange} from "../CarbonExchange.sol";
import {TestStablecoin} from "../local/TestStablecoin.sol";
import {ICarbonExchange} from "../interfaces/ICarbonExchange.sol";
import {ICarbonCredit} from "../interfaces/ICarbonCredit.sol";
import {Roles} from "../libraries/Roles.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IERC20Errors, IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @notice CarbonExchange: posted offers of one certificate's credits at a fixed price per tonne,
///         partial purchases paid to the seller in the payment token, cancel (including offers
///         whose credits expired), pause, and refusal of credits that do not arrive through offer.
contract CarbonExchangeTest is CarbonWorld {
    uint256 internal constant GRAMS_PER_TONNE = 1_000_000;
    /// 10 kWh per reading: 3,800 g per interval for the German meters, 560 g for the French one.
    uint64 internal constant READING_WH = 10_000;
    /// 25 dollars (6 decimals) per tonne.
    uint256 internal constant PRICE = 25_000_000;

    CarbonExchange internal exchange;
    TestStablecoin internal dollar;
    address internal secondBuyer = address(0xB0B2);
    address internal operator = address(0x0BE4);

    function setUp() public {
        _buildCarbonWorld();
        dollar = new TestStablecoin(address(this));
        exchange = new CarbonExchange(address(manager), carbon, dollar);
        // As deployed: EMERGENCY pauses, unpause stays ADMIN (this contract = the multisig).
        _role(address(exchange), exchange.pause.selector, Roles.EMERGENCY);
        address[4] memory sellers = [solarProsumer, windGenerator, frenchProsumer, buyer];
        for (uint256 i; i < sellers.length; ++i) {
            vm.prank(sellers[i]);
            carbon.setApprovalForAll(address(exchange), true);
        }
    }

    // ------------------------------------------------------------ helpers
    /// @dev One interval of readings, then the certificate of device `deviceIndex`.
    function _issue(uint256 deviceIndex) internal returns (uint256 id, uint256 grams) {
        _readAll(READING_WH);
        (id, grams) = _certify(deviceIndex);
    }

    function _offer(address seller, uint256 id, uint256 grams, uint256 price) internal returns (uint256 offerId) {
        vm.prank(seller);
        offerId = exchange.offer(id, grams, price);
    }

    /// @dev Mints `units` to `who` and lets the exchange spend all of them.
    function _fund(address who, uint256 units) internal {
        dollar.mint(who, units);
        vm.prank(who);
        dollar.approve(address(exchange), units);
    }

    function _buy(address who, uint256 offerId, uint256 grams, uint256 maxPrice) internal returns (uint256 paid) {
        vm.prank(who);
        paid = exchange.buy(offerId, grams, maxPrice);
    }

    /// @dev ⌈grams × price / 1,000,000⌉ written as floor plus one when there is a remainder.
    function _ceilCost(uint256 grams, uint256 price) internal pure returns (uint256) {
        uint256 product = grams * price;
        return product / GRAMS_PER_TONNE + (product % GRAMS_PER_TONNE == 0 ? 0 : 1);
    }

    function _assertOffer(uint256 offerId, address seller, uint256 id, uint256 remaining, uint256 price) internal view {
        ICarbonExchange.Offer memory o = exchange.offerOf(offerId);
        require(o.seller == seller, "offer seller");
        _assertEq(o.certificateId, id, "offer certificate");
        _assertEq(o.remainingGrams, remaining, "offer remaining");
        _assertEq(o.pricePerTonne, price, "offer price");
    }

    function _assertNoOffer(uint256 offerId) internal view {
        _assertOffer(offerId, address(0), 0, 0, 0);
    }

    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        return min + x % (max - min + 1);
    }

    function _pause() internal {
        vm.prank(emergency);
        exchange.pause();
    }

    // ------------------------------------------------------------ construction
    function test_constructor_wiresCreditsPaymentTokenAndAuthority() public view {
        require(address(exchange.credits()) == address(carbon), "credits");
        require(address(exchange.paymentToken()) == address(dollar), "payment token");
        require(exchange.authority() == address(manager), "authority");
        _assertEq(exchange.GRAMS_PER_TONNE(), GRAMS_PER_TONNE, "grams per tonne");
        _assertEq(exchange.offerCount(), 0, "no offers");
        require(!exchange.paused(), "not paused");
        _assertNoOffer(1);
    }

    function test_supportsInterface_erc1155Receiver() public view {
        require(exchange.supportsInterface(type(IERC1155Receiver).interfaceId), "ERC-1155 receiver");
        require(exchange.supportsInterface(type(IERC165).interfaceId), "ERC-165");
        require(!exchange.supportsInterface(0xdeadbeef), "not anything");
    }

    // ------------------------------------------------------------ offer
    function test_offer_escrowsCreditsAndRecordsOffer() public {
        (uint256 id, uint256 issued) = _issue(0);
        uint256 grams = issued / 3;

        vm.expectEmit(true, true, true, true, address(exchange));
        emit ICarbonExchange.Offered(1, solarProsumer, id, grams, PRICE);
        uint256 offerId = _offer(solarProsumer, id, grams, PRICE);

        _assertEq(offerId, 1, "first offer id");
        _assertEq(exchange.offerCount(), 1, "count");
        _assertOffer(offerId, solarProsumer, id, grams, PRICE);
        _assertEq(carbon.balanceOf(address(exchange), id), grams, "escrowed");
        _assertEq(carbon.balanceOf(solarProsumer, id), issued - grams, "rest stays with the seller");
    }

    function test_offer_idsCountUpAndOffersStayApart() public {
        (uint256 id, uint256 issued) = _issue(0);
        uint256 first = _offer(solarProsumer, id, 100, PRICE);
        uint256 second = _offer(solarProsumer, id, 200, 2 * PRICE);
        _assertEq(first, 1, "first");
        _assertEq(second, 2, "second");
        _assertEq(exchange.offerCount(), 2, "count");
        _assertOffer(first, solarProsumer, id, 100, PRICE);
        _assertOffer(second, solarProsumer, id, 200, 2 * PRICE);
        _assertEq(carbon.balanceOf(address(exchange), id), 300, "both escrowed");
        _assertEq(carbon.balanceOf(solarProsumer, id), issued - 300, "seller");
    }

    function test_offer_wholeHolding_succeeds() public {
        (uint256 id, uint256 issued) = _issue(1);
        uint256 offerId = _offer(windGenerator, id, issued, PRICE);
        _assertOffer(offerId, windGenerator, id, issued, PRICE);
        _assertEq(carbon.balanceOf(windGenerator, id), 0, "all offered");
        _assertEq(carbon.balanceOf(address(exchange), id), issued, "all escrowed");
    }

    function test_offer_zeroGrams_revertsZeroAmount() public {
        (uint256 id,) = _issue(0);
        vm.prank(solarProsumer);
        vm.expectRevert(ICarbonExchange.ZeroAmount.selector);
        exchange.offer(id, 0, PRICE);
    }

    function test_offer_zeroPrice_revertsZeroPrice() public {
        (uint256 id,) = _issue(0);
        vm.prank(solarProsumer);
        vm.expectRevert(ICarbonExchange.ZeroPrice.selector);
        exchange.offer(id, 100, 0);
    }

    function test_offer_certificateIdAboveUint64_revertsCertificateIdTooLarge() public {
        _issue(0);
        uint256 tooLarge = uint256(type(uint64).max) + 1;
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.CertificateIdTooLarge.selector, tooLarge));
        exchange.offer(tooLarge, 100, PRICE);
    }

    function test_offer_unknownCertificate_revertsInCarbonCredit() public {
        _issue(0);
        uint256 unknown = carbon.certificateCount() + 1;
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.UnknownCertificate.selector, unknown));
        exchange.offer(unknown, 100, PRICE);
        _assertEq(exchange.offerCount(), 0, "nothing recorded");
    }

    function test_offer_priceAboveUint128_revertsSafeCastOverflow() public {
        (uint256 id,) = _issue(0);
        uint256 price = uint256(type(uint128).max) + 1;
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, uint8(128), price));
        exchange.offer(id, 100, price);
    }

    function test_offer_maxUint128Price_accepted() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 100, type(uint128).max);
        _assertOffer(offerId, solarProsumer, id, 100, type(uint128).max);
    }

    function test_offer_gramsAboveUint96_revertsSafeCastOverflow() public {
        (uint256 id,) = _issue(0);
        uint256 grams = uint256(type(uint96).max) + 1;
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, uint8(96), grams));
        exchange.offer(id, grams, PRICE);
    }

    function test_offer_withoutApproval_revertsMissingApprovalForAll() public {
        (uint256 id,) = _issue(0);
        vm.prank(solarProsumer);
        carbon.setApprovalForAll(address(exchange), false);
        vm.prank(solarProsumer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC1155Errors.ERC1155MissingApprovalForAll.selector, address(exchange), solarProsumer
            )
        );
        exchange.offer(id, 100, PRICE);
    }

    function test_offer_moreThanHeld_revertsInsufficientBalance() public {
        (uint256 id, uint256 issued) = _issue(0);
        vm.prank(solarProsumer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC1155Errors.ERC1155InsufficientBalance.selector, solarProsumer, issued, issued + 1, id
            )
        );
        exchange.offer(id, issued + 1, PRICE);
    }

    function test_offer_ofCertificateHeldByAnother_revertsInsufficientBalance() public {
        (uint256 id,) = _issue(0);
        // windGenerator holds none of the solar certificate.
        vm.prank(windGenerator);
        vm.expectRevert(
            abi.encodeWithSelector(IERC1155Errors.ERC1155InsufficientBalance.selector, windGenerator, 0, 1, id)
        );
        exchange.offer(id, 1, PRICE);
    }

    function test_offer_expiredCredits_revertsCertificateExpired() public {
        (uint256 id,) = _issue(0);
        uint256 expiresAt = carbon.certificateExpiry(id);
        _warp(expiresAt);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.CertificateExpired.selector, id, expiresAt));
        exchange.offer(id, 100, PRICE);
    }

    function test_offer_oneSecondBeforeExpiry_succeeds() public {
        (uint256 id,) = _issue(0);
        _warp(carbon.certificateExpiry(id) - 1);
        uint256 offerId = _offer(solarProsumer, id, 100, PRICE);
        _assertOffer(offerId, solarProsumer, id, 100, PRICE);
    }

    function test_offer_whilePaused_revertsEnforcedPause() public {
        (uint256 id,) = _issue(0);
        _pause();
        vm.prank(solarProsumer);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        exchange.offer(id, 100, PRICE);
    }

    function test_offer_byBuyerOfCredits_resells() public {
        (uint256 id, uint256 issued) = _issue(0);
        uint256 first = _offer(solarProsumer, id, issued, PRICE);
        _fund(buyer, _ceilCost(issued, PRICE));
        _buy(buyer, first, issued, PRICE);
        // The buyer offers the credits it bought, at a higher price.
        uint256 resale = _offer(buyer, id, issued / 2, 2 * PRICE);
        _assertOffer(resale, buyer, id, issued / 2, 2 * PRICE);
        _assertEq(carbon.balanceOf(buyer, id), issued - issued / 2, "buyer keeps the rest");
        _assertEq(carbon.balanceOf(address(exchange), id), issued / 2, "resale escrowed");
    }

    // ------------------------------------------------------------ buy
    function test_buy_wholeOffer_paysSellerDeliversCreditsAndDeletesOffer() public {
        (uint256 id, uint256 issued) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, issued, PRICE);
        uint256 cost = _ceilCost(issued, PRICE);
        _fund(buyer, cost + 7);

        vm.expectEmit(true, true, true, true, address(exchange));
        emit ICarbonExchange.Bought(offerId, buyer, solarProsumer, id, issued, cost);
        uint256 paid = _buy(buyer, offerId, issued, PRICE);

        _assertEq(paid, cost, "returned payment");
        _assertEq(dollar.balanceOf(solarProsumer), cost, "seller paid");
        _assertEq(dollar.balanceOf(buyer), 7, "buyer paid exactly the cost");
        _assertEq(dollar.balanceOf(address(exchange)), 0, "exchange holds no payment");
        _assertEq(carbon.balanceOf(buyer, id), issued, "credits delivered");
        _assertEq(carbon.balanceOf(address(exchange), id), 0, "escrow emptied");
        _assertNoOffer(offerId);
        _assertEq(exchange.offerCount(), 1, "count unchanged");
    }

    function test_buy_partial_leavesRestOpen() public {
        (uint256 id, uint256 issued) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, issued, PRICE);
        uint256 part = issued / 4;
        _fund(buyer, _ceilCost(part, PRICE));

        uint256 paid = _buy(buyer, offerId, part, PRICE);

        _assertEq(paid, _ceilCost(part, PRICE), "paid");
        _assertEq(dollar.balanceOf(solarProsumer), paid, "seller");
        _assertEq(carbon.balanceOf(buyer, id), part, "delivered");
        _assertEq(carbon.balanceOf(address(exchange), id), issued - part, "rest escrowed");
        _assertOffer(offerId, solarProsumer, id, issued - part, PRICE);
    }

    function test_buy_lastPart_deletesOffer() public {
        (uint256 id, uint256 issued) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, issued, PRICE);
        uint256 part = issued / 3;
        uint256 expected = _ceilCost(part, PRICE) + _ceilCost(issued - part, PRICE);
        _fund(buyer, _ceilCost(part, PRICE));
        _fund(secondBuyer, _ceilCost(issued - part, PRICE));

        _buy(buyer, offerId, part, PRICE);
        _buy(secondBuyer, offerId, issued - part, PRICE);

        _assertNoOffer(offerId);
        _assertEq(carbon.balanceOf(buyer, id), part, "first buyer");
        _assertEq(carbon.balanceOf(secondBuyer, id), issued - part, "second buyer");
        _assertEq(carbon.balanceOf(address(exchange), id), 0, "escrow empty");
        _assertEq(dollar.balanceOf(solarProsumer), expected, "seller paid for both");
        _assertEq(dollar.balanceOf(buyer) + dollar.balanceOf(secondBuyer), 0, "buyers spent exactly their costs");
    }

    function test_buy_roundsPaymentUp() public {
        (uint256 id,) = _issue(0);
        // 1 g at 1 unit per tonne is worth a millionth of a unit: it costs 1.
        uint256 tiny = _offer(solarProsumer, id, 10, 1);
        // 3 g at 500,000 per tonne is 1.5 units: it costs 2.
        uint256 half = _offer(solarProsumer, id, 10, 500_000);
        // 4 g at 500,000 per tonne is exactly 2 units.
        uint256 exact = _offer(solarProsumer, id, 10, 500_000);
        _fund(buyer, 5);

        _assertEq(_buy(buyer, tiny, 1, 1), 1, "a millionth rounds up to 1");
        _assertEq(_buy(buyer, half, 3, 500_000), 2, "1.5 rounds up to 2");
        _assertEq(_buy(buyer, exact, 4, 500_000), 2, "exact stays 2");
        _assertEq(dollar.balanceOf(solarProsumer), 5, "seller");
        _assertEq(dollar.balanceOf(buyer), 0, "buyer");
    }

    function test_buy_atExactMaxPrice_succeeds() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        _fund(buyer, _ceilCost(1_000, PRICE));
        _assertEq(_buy(buyer, offerId, 1_000, PRICE), _ceilCost(1_000, PRICE), "paid at the limit");
    }

    function test_buy_belowMaxPrice_paysOfferPrice() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        _fund(buyer, _ceilCost(1_000, 10 * PRICE));
        _assertEq(_buy(buyer, offerId, 1_000, 10 * PRICE), _ceilCost(1_000, PRICE), "offer price, not the limit");
        _assertEq(dollar.balanceOf(buyer), _ceilCost(1_000, 10 * PRICE) - _ceilCost(1_000, PRICE), "change kept");
    }

    function test_buy_priceAboveLimit_revertsPriceAboveLimit() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        _fund(buyer, _ceilCost(1_000, PRICE));
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.PriceAboveLimit.selector, offerId, PRICE, PRICE - 1));
        exchange.buy(offerId, 1_000, PRICE - 1);
    }

    function test_buy_zeroGrams_revertsZeroAmount() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        vm.prank(buyer);
        vm.expectRevert(ICarbonExchange.ZeroAmount.selector);
        exchange.buy(offerId, 0, PRICE);
    }

    function test_buy_unknownOffer_revertsUnknownOffer() public {
        (uint256 id,) = _issue(0);
        _offer(solarProsumer, id, 1_000, PRICE);
        uint256[3] memory unknown = [uint256(0), 2, type(uint256).max];
        for (uint256 i; i < unknown.length; ++i) {
            vm.prank(buyer);
            vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.UnknownOffer.selector, unknown[i]));
            exchange.buy(unknown[i], 1, PRICE);
        }
    }

    function test_buy_fullyTakenOffer_revertsUnknownOffer() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        _fund(buyer, 2 * _ceilCost(1_000, PRICE));
        _buy(buyer, offerId, 1_000, PRICE);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.UnknownOffer.selector, offerId));
        exchange.buy(offerId, 1, PRICE);
    }

    function test_buy_moreThanRemaining_revertsInsufficientOffer() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        _fund(buyer, _ceilCost(2_000, PRICE));
        _buy(buyer, offerId, 400, PRICE);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.InsufficientOffer.selector, offerId, 600, 601));
        exchange.buy(offerId, 601, PRICE);
    }

    function test_buy_withoutAllowance_revertsERC20InsufficientAllowance() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        uint256 cost = _ceilCost(1_000, PRICE);
        dollar.mint(buyer, cost);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(exchange), 0, cost)
        );
        exchange.buy(offerId, 1_000, PRICE);

        // An allowance one unit short is refused too.
        vm.prank(buyer);
        dollar.approve(address(exchange), cost - 1);
        vm.prank(buyer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(exchange), cost - 1, cost)
        );
        exchange.buy(offerId, 1_000, PRICE);
        _assertOffer(offerId, solarProsumer, id, 1_000, PRICE);
    }

    function test_buy_withoutFunds_revertsERC20InsufficientBalance() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        uint256 cost = _ceilCost(1_000, PRICE);
        _fund(buyer, cost - 1);
        vm.prank(buyer);
        dollar.approve(address(exchange), type(uint256).max);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, buyer, cost - 1, cost));
        exchange.buy(offerId, 1_000, PRICE);
        _assertOffer(offerId, solarProsumer, id, 1_000, PRICE);
        _assertEq(carbon.balanceOf(address(exchange), id), 1_000, "still escrowed");
    }

    function test_buy_afterExpiry_revertsCertificateExpired() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        _fund(buyer, _ceilCost(1_000, PRICE));
        uint256 expiresAt = carbon.certificateExpiry(id);
        _warp(expiresAt);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonCredit.CertificateExpired.selector, id, expiresAt));
        exchange.buy(offerId, 1_000, PRICE);
        // Nothing moved: the offer stays open until its seller closes it.
        _assertOffer(offerId, solarProsumer, id, 1_000, PRICE);
        _assertEq(dollar.balanceOf(buyer), _ceilCost(1_000, PRICE), "buyer kept the payment");
        _assertEq(dollar.balanceOf(solarProsumer), 0, "seller got nothing");
    }

    function test_buy_oneSecondBeforeExpiry_succeeds() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        _fund(buyer, _ceilCost(1_000, PRICE));
        _warp(carbon.certificateExpiry(id) - 1);
        _buy(buyer, offerId, 1_000, PRICE);
        _assertEq(carbon.balanceOf(buyer, id), 1_000, "delivered");
    }

    function test_buy_whilePaused_revertsEnforcedPause() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        _fund(buyer, _ceilCost(1_000, PRICE));
        _pause();
        vm.prank(buyer);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        exchange.buy(offerId, 1_000, PRICE);
    }

    function test_buy_ownOffer_revertsSelfTrade() public {
        (uint256 id, uint256 issued) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        _fund(solarProsumer, _ceilCost(1_000, PRICE));
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.SelfTrade.selector, offerId));
        exchange.buy(offerId, 1_000, PRICE);
        _assertEq(carbon.balanceOf(solarProsumer, id), issued - 1_000, "credits still offered");
        _assertEq(exchange.offerOf(offerId).remainingGrams, 1_000, "offer untouched");
    }

    // ------------------------------------------------------------ two sellers, one certificate
    function test_offer_twoSellersOfOneCertificate_offersStaySeparate() public {
        (uint256 id, uint256 issued) = _issue(0);
        uint256 given = issued / 2;
        vm.prank(solarProsumer);
        carbon.safeTransferFrom(solarProsumer, windGenerator, id, given, "");

        uint256 solarOffer = _offer(solarProsumer, id, 1_000, PRICE);
        uint256 windOffer = _offer(windGenerator, id, 1_500, 3 * PRICE);
        _assertEq(carbon.balanceOf(address(exchange), id), 2_500, "both escrowed in one balance");

        // A buy of the wind offer pays the wind generator at its price and leaves the solar offer alone.
        uint256 cost = _ceilCost(700, 3 * PRICE);
        _fund(buyer, cost);
        vm.expectEmit(true, true, true, true, address(exchange));
        emit ICarbonExchange.Bought(windOffer, buyer, windGenerator, id, 700, cost);
        _buy(buyer, windOffer, 700, 3 * PRICE);

        _assertEq(dollar.balanceOf(windGenerator), cost, "wind generator paid");
        _assertEq(dollar.balanceOf(solarProsumer), 0, "solar prosumer not paid");
        _assertOffer(solarOffer, solarProsumer, id, 1_000, PRICE);
        _assertOffer(windOffer, windGenerator, id, 800, 3 * PRICE);

        // Cancelling the solar offer returns only its own credits.
        vm.prank(solarProsumer);
        exchange.cancel(solarOffer);
        _assertEq(carbon.balanceOf(solarProsumer, id), issued - given, "solar got its 1,000 back");
        _assertEq(carbon.balanceOf(windGenerator, id), given - 1_500, "wind unchanged");
        _assertEq(carbon.balanceOf(address(exchange), id), 800, "wind remainder escrowed");
        _assertOffer(windOffer, windGenerator, id, 800, 3 * PRICE);

        // The solar prosumer cannot take the wind generator's offer back.
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.NotSeller.selector, solarProsumer, windGenerator));
        exchange.cancel(windOffer);
    }

    // ------------------------------------------------------------ cancel
    function test_cancel_afterPartialBuy_returnsRemainingCredits() public {
        (uint256 id, uint256 issued) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 2_000, PRICE);
        _fund(buyer, _ceilCost(500, PRICE));
        _buy(buyer, offerId, 500, PRICE);

        vm.expectEmit(true, false, false, true, address(exchange));
        emit ICarbonExchange.Cancelled(offerId, 1_500, false);
        vm.prank(solarProsumer);
        exchange.cancel(offerId);

        _assertNoOffer(offerId);
        _assertEq(carbon.balanceOf(solarProsumer, id), issued - 500, "remaining returned");
        _assertEq(carbon.balanceOf(address(exchange), id), 0, "escrow empty");
        _assertEq(carbon.balanceOf(buyer, id), 500, "buyer keeps its part");
    }

    function test_cancel_untouchedOffer_returnsAll() public {
        (uint256 id, uint256 issued) = _issue(2);
        uint256 offerId = _offer(frenchProsumer, id, issued, PRICE);
        vm.prank(frenchProsumer);
        exchange.cancel(offerId);
        _assertEq(carbon.balanceOf(frenchProsumer, id), issued, "all back");
        _assertEq(carbon.balanceOf(address(exchange), id), 0, "escrow empty");
        _assertNoOffer(offerId);
    }

    function test_cancel_twice_revertsUnknownOffer() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        vm.prank(solarProsumer);
        exchange.cancel(offerId);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.UnknownOffer.selector, offerId));
        exchange.cancel(offerId);
        // Nor can a cancelled offer be bought.
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.UnknownOffer.selector, offerId));
        exchange.buy(offerId, 1, PRICE);
    }

    function test_cancel_byNonSeller_revertsNotSeller() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        address[3] memory others = [buyer, windGenerator, address(this)];
        for (uint256 i; i < others.length; ++i) {
            vm.prank(others[i]);
            vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.NotSeller.selector, others[i], solarProsumer));
            exchange.cancel(offerId);
        }
        _assertOffer(offerId, solarProsumer, id, 1_000, PRICE);
    }

    function test_cancel_unknownOffer_revertsUnknownOffer() public {
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.UnknownOffer.selector, uint256(1)));
        exchange.cancel(1);
    }

    function test_cancel_fullyTakenOffer_revertsUnknownOffer() public {
        (uint256 id,) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        _fund(buyer, _ceilCost(1_000, PRICE));
        _buy(buyer, offerId, 1_000, PRICE);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.UnknownOffer.selector, offerId));
        exchange.cancel(offerId);
    }

    function test_cancel_expiredCredits_closesOfferAndFreezesCredits() public {
        (uint256 id, uint256 issued) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 2_000, PRICE);
        _fund(buyer, _ceilCost(500, PRICE));
        _buy(buyer, offerId, 500, PRICE);
        _warp(carbon.certificateExpiry(id));

        vm.expectEmit(true, false, false, true, address(exchange));
        emit ICarbonExchange.Cancelled(offerId, 0, true);
        vm.prank(solarProsumer);
        exchange.cancel(offerId);

        _assertNoOffer(offerId);
        _assertEq(carbon.balanceOf(solarProsumer, id), issued - 2_000, "nothing returned");
        _assertEq(carbon.balanceOf(address(exchange), id), 1_500, "the remainder stays in the exchange");
        _assertEq(carbon.liveBalanceOf(address(exchange), id), 0, "frozen");
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.UnknownOffer.selector, offerId));
        exchange.cancel(offerId);
    }

    function test_cancel_oneSecondBeforeExpiry_returnsCredits() public {
        (uint256 id, uint256 issued) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 2_000, PRICE);
        _warp(carbon.certificateExpiry(id) - 1);
        vm.expectEmit(true, false, false, true, address(exchange));
        emit ICarbonExchange.Cancelled(offerId, 2_000, false);
        vm.prank(solarProsumer);
        exchange.cancel(offerId);
        _assertEq(carbon.balanceOf(solarProsumer, id), issued, "returned");
    }

    function test_cancel_whilePaused_stillReturnsCredits() public {
        (uint256 id, uint256 issued) = _issue(0);
        uint256 offerId = _offer(solarProsumer, id, 2_000, PRICE);
        _pause();
        vm.prank(solarProsumer);
        exchange.cancel(offerId);
        _assertEq(carbon.balanceOf(solarProsumer, id), issued, "returned while paused");
        _assertNoOffer(offerId);
    }

    // ------------------------------------------------------------ pause
    function test_pause_byEmergency_unpauseByAdmin_resumesTrading() public {
        (uint256 id,) = _issue(0);
        _pause();
        require(exchange.paused(), "paused");
        exchange.unpause();
        require(!exchange.paused(), "resumed");
        uint256 offerId = _offer(solarProsumer, id, 1_000, PRICE);
        _fund(buyer, _ceilCost(1_000, PRICE));
        _buy(buyer, offerId, 1_000, PRICE);
        _assertEq(carbon.balanceOf(buyer, id), 1_000, "trading again");
    }

    function test_pause_byNonEmergency_revertsAccessManagedUnauthorized() public {
        // Neither a trader nor the ADMIN multisig holds EMERGENCY.
        address[3] memory callers = [buyer, solarProsumer, address(this)];
        for (uint256 i; i < callers.length; ++i) {
            vm.prank(callers[i]);
            vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, callers[i]));
            exchange.pause();
        }
        require(!exchange.paused(), "not paused");
    }

    function test_unpause_byNonAdmin_revertsAccessManagedUnauthorized() public {
        _pause();
        address[2] memory callers = [emergency, buyer];
        for (uint256 i; i < callers.length; ++i) {
            vm.prank(callers[i]);
            vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, callers[i]));
            exchange.unpause();
        }
        require(exchange.paused(), "still paused");
    }

    // ------------------------------------------------------------ credits only through offer
    function test_safeTransferFrom_toExchange_revertsUnsolicitedCredits() public {
        (uint256 id,) = _issue(0);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(SolicitedCreditsHolder.UnsolicitedCredits.selector, solarProsumer));
        carbon.safeTransferFrom(solarProsumer, address(exchange), id, 100, "");
    }

    function test_safeTransferFrom_toExchangeByApprovedOperator_revertsUnsolicitedCredits() public {
        (uint256 id,) = _issue(0);
        vm.prank(solarProsumer);
        carbon.setApprovalForAll(operator, true);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(SolicitedCreditsHolder.UnsolicitedCredits.selector, operator));
        carbon.safeTransferFrom(solarProsumer, address(exchange), id, 100, "");
    }

    function test_safeBatchTransferFrom_toExchange_revertsUnsolicitedCredits() public {
        (uint256 id,) = _issue(0);
        uint256[] memory values = new uint256[](1);
        values[0] = 100;
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(SolicitedCreditsHolder.UnsolicitedCredits.selector, solarProsumer));
        carbon.safeBatchTransferFrom(solarProsumer, address(exchange), _ids(id), values, "");
    }

    function test_transferCredits_toExchange_revertsUnsolicitedCredits() public {
        _issue(0);
        vm.prank(solarProsumer);
        vm.expectRevert(abi.encodeWithSelector(SolicitedCreditsHolder.UnsolicitedCredits.selector, solarProsumer));
        carbon.transferCredits(address(exchange), 100);
    }

    function test_onERC1155Received_directCall_revertsUnsolicitedCredits() public {
        vm.expectRevert(abi.encodeWithSelector(SolicitedCreditsHolder.UnsolicitedCredits.selector, address(this)));
        exchange.onERC1155Received(address(this), solarProsumer, 1, 1, "");
        vm.expectRevert(abi.encodeWithSelector(SolicitedCreditsHolder.UnsolicitedCredits.selector, address(exchange)));
        exchange.onERC1155BatchReceived(address(exchange), solarProsumer, _ids(1), _ids(1), "");
    }

    // ------------------------------------------------------------ costOf
    function test_costOf_examples() public view {
        _assertEq(exchange.costOf(1_000_000, PRICE), PRICE, "a tonne costs the price");
        _assertEq(exchange.costOf(500_000, 3), 2, "1.5 rounds up");
        _assertEq(exchange.costOf(1, 1), 1, "a millionth rounds up");
        _assertEq(exchange.costOf(0, PRICE), 0, "nothing costs nothing");
        _assertEq(exchange.costOf(2_000_000, 7), 14, "exact");
        // Full-width: no overflow in grams × price.
        _assertEq(exchange.costOf(type(uint256).max, GRAMS_PER_TONNE), type(uint256).max, "512-bit product");
    }

    // ------------------------------------------------------------ fuzz
    function testFuzz_costOf_isCeilingOfExactValue(uint96 grams, uint128 price) public view {
        uint256 cost = exchange.costOf(grams, price);
        uint256 exact = uint256(grams) * price; // in millionths of a unit; fits in 224 bits
        _assertEq(cost, _ceilCost(grams, price), "ceil");
        require(cost * GRAMS_PER_TONNE >= exact, "never less than the exact value");
        require(cost == 0 || (cost - 1) * GRAMS_PER_TONNE < exact, "less than one unit above it");
    }

    function testFuzz_buy_paysCeilingAndDeliversCredits(uint256 offered, uint256 grams, uint256 price) public {
        _readAll(25_000);
        _readAll(25_000);
        (uint256 id, uint256 issued) = _certify(0);
        offered = _bound(offered, 1, issued);
        grams = _bound(grams, 1, offered);
        price = _bound(price, 1, type(uint128).max);
        uint256 offerId = _offer(solarProsumer, id, offered, price);
        uint256 expected = _ceilCost(grams, price);
        // Exactly the expected cost is minted and approved: the buy must take all of it.
        _fund(buyer, expected);

        uint256 paid = _buy(buyer, offerId, grams, price);

        _assertEq(paid, expected, "returned");
        require(paid * GRAMS_PER_TONNE >= grams * price, "never less than the exact value");
        _assertEq(dollar.balanceOf(solarProsumer), expected, "seller received");
        _assertEq(dollar.balanceOf(buyer), 0, "buyer paid");
        _assertEq(dollar.allowance(buyer, address(exchange)), 0, "allowance used");
        _assertEq(dollar.balanceOf(address(exchange)), 0, "exchange holds no payment");
        _assertEq(carbon.balanceOf(buyer, id), grams, "delivered");
        _assertEq(carbon.balanceOf(address(exchange), id), offered - grams, "rest escrowed");
        if (grams == offered) _assertNoOffer(offerId);
        else _assertOffer(offerId, solarProsumer, id, offered - grams, price);
    }

    function testFuzz_buy_randomPartsSumToOffer(uint256 seed, uint256 price) public {
        _readAll(25_000);
        (uint256 id, uint256 issued) = _certify(1);
        price = _bound(price, 1, 1e15);
        uint256 offerId = _offer(windGenerator, id, issued, price);
        address[2] memory buyers = [buyer, secondBuyer];
        _fund(buyer, type(uint128).max);
        _fund(secondBuyer, type(uint128).max);

        uint256 remaining = issued;
        uint256 bought;
        uint256 paidTotal;
        uint256[2] memory got;
        for (uint256 step; remaining != 0; ++step) {
            uint256 r = uint256(keccak256(abi.encode(seed, step)));
            // Usually a small part, sometimes all that is left, at the latest on the eighth step.
            uint256 part =
                step >= 7 || r % 5 == 0 ? remaining : 1 + (r >> 8) % (remaining < 3 ? remaining : remaining / 3);
            uint256 who = (r >> 128) % 2;
            uint256 paid = _buy(buyers[who], offerId, part, price);
            _assertEq(paid, _ceilCost(part, price), "each part costs its ceiling");
            remaining -= part;
            bought += part;
            paidTotal += paid;
            got[who] += part;
            if (remaining != 0) _assertOffer(offerId, windGenerator, id, remaining, price);
        }

        _assertEq(bought, issued, "the parts sum to the offer");
        _assertNoOffer(offerId);
        _assertEq(carbon.balanceOf(buyer, id), got[0], "first buyer");
        _assertEq(carbon.balanceOf(secondBuyer, id), got[1], "second buyer");
        _assertEq(carbon.balanceOf(address(exchange), id), 0, "escrow empty");
        _assertEq(dollar.balanceOf(windGenerator), paidTotal, "seller got every payment");
        _assertEq(
            2 * uint256(type(uint128).max) - dollar.balanceOf(buyer) - dollar.balanceOf(secondBuyer),
            paidTotal,
            "buyers paid exactly that"
        );
        // Rounding each part up never pays less than the whole at once.
        require(paidTotal >= _ceilCost(issued, price), "parts cost at least the whole");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(ICarbonExchange.UnknownOffer.selector, offerId));
        exchange.buy(offerId, 1, price);
    }
}
