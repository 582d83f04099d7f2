// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {Cheats} from "./base/Cheats.sol";
import {CarbonWorld} from "./base/CarbonWorld.sol";
import {CarbonExchange} from "../CarbonExchange.sol";
import {CarbonPool} from "../CarbonPool.sol";
import {TestStablecoin} from "../local/TestStablecoin.sol";
import {ICarbonExchange} from "../interfaces/ICarbonExchange.sol";
import {ICarbonCredit} from "../interfaces/ICarbonCredit.sol";
import {ICarbonPool} from "../interfaces/ICarbonPool.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";
import {Roles} from "../libraries/Roles.sol";
import {FeeOnTransferToken} from "./mocks/FeeOnTransferToken.sol";
import {HookToken, ITokenHooks} from "./mocks/HookToken.sol";
import {HostileActor} from "./mocks/HostileActor.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @notice `vm.etch`, to give a fixture's generator the attacker's code.
interface EtchCheats is Cheats {
    function etch(address target, bytes calldata code) external;
}

/// @notice The carbon exchange, the carbon pool and the credit contract against hostile payment
///         tokens and hostile holders.
///
///         External calls each contract makes, and what covers each:
///         CarbonExchange
///         - buy: `paymentToken.balanceOf(seller)` (twice, view); `paymentToken.transferFrom`
///           (buyer's tokensToSend, seller's tokensReceived): fee tests, re-entry from both hooks;
///           `credits.safeTransferFrom` to the buyer (its onERC1155Received): re-entry, refusal,
///           wrong selector.
///         - offer: `credits.safeTransferFrom` from the seller to the exchange: the only receiver
///           hook is the exchange's own, so no seller code runs (test below).
///         - cancel: `credits.certificateExpiry` (view); `credits.safeTransferFrom` to the seller
///           (onERC1155Received): re-entry.
///         CarbonPool
///         - deposit / depositWithHint: `credits.getEmissionReductions`, `certificateExpiry`
///           (views); `credits.safeTransferFrom` to the pool itself: no depositor code runs.
///         - redeem: `credits.liveBalanceOf` (view); `credits.safeBatchTransferFrom` to the
///           redeemer (onERC1155BatchReceived): re-entry into every pool function, wrong selector.
///         - redeemSelected: `credits.liveBalanceOf` (view); `credits.safeTransferFrom` to the
///           redeemer (onERC1155Received): re-entry, refusal.
///         - retireFromPool: `credits.retireCertificateCredits` (a burn: no receiver hook).
///         - writeOffExpired: `credits.liveBalanceOf` (view only).
///         CarbonCredit
///         - issueCreditsCertificate: `meterRegistry.mintedExportThrough`,
///           `energyToken.isVerified` / `jurisdictionOf` (the system's own views); the mint's
///           onERC1155Received on a generator contract: re-entry, refusal, wrong selector.
///         - transferCredits / safeBatchTransferFrom: onERC1155BatchReceived on the recipient:
///           re-entry, wrong selector; safeTransferFrom: onERC1155Received (as in buy and cancel).
///         - retireCredits / retireCertificateCredits: burns, no hook (test below).
contract HostileCarbonTest is CarbonWorld {
    EtchCheats internal constant cheats = EtchCheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// 10 kWh per reading: 3,800 g per interval for each German meter.
    uint64 internal constant READING_WH = 10_000;
    uint256 internal constant GRAMS = 3_800;
    /// 25 dollars (6 decimals) per tonne: 3,800 g cost 95,000 units.
    uint256 internal constant PRICE = 25_000_000;
    uint256 internal constant COST = 95_000;
    uint256 internal constant FEE_BPS = 100;
    uint32 internal constant SOLAR_OR_WIND =
        (uint32(1) << uint8(ISmartMeter.EnergySource.Solar)) | (uint32(1) << uint8(ISmartMeter.EnergySource.Wind));

    address internal tokenFeeCollector = address(0xFEE5);
    address internal poolFeeCollector = address(0xFEE);
    TestStablecoin internal dollar;
    CarbonExchange internal exchange;
    CarbonPool internal pool;
    HostileActor internal attacker;
    /// Certificate 1 (solar prosumer) and 2 (wind generator), GRAMS each.
    uint256 internal solarId;
    uint256 internal windId;

    function setUp() public {
        _buildCarbonWorld();
        dollar = new TestStablecoin(address(this));
        exchange = new CarbonExchange(address(manager), carbon, dollar);
        pool = new CarbonPool(
            "GridLedger Renewable",
            "GLR",
            carbon,
            _criteria(0, SOLAR_OR_WIND, new uint16[](0)),
            FEE_BPS,
            poolFeeCollector
        );
        attacker = new HostileActor();
        _readAll(READING_WH);
        (solarId,) = _certify(0);
        (windId,) = _certify(1);
        _approveCredits(address(attacker), address(exchange));
        _approveCredits(address(attacker), address(pool));
        _approveCredits(solarProsumer, address(exchange));
    }

    // ------------------------------------------------------------ helpers
    function _approveCredits(address holder, address operator) internal {
        vm.prank(holder);
        carbon.setApprovalForAll(operator, true);
    }

    function _giveAttacker(address from, uint256 id, uint256 grams) internal {
        vm.prank(from);
        carbon.safeTransferFrom(from, address(attacker), id, grams, "");
    }

    function _as(address target, bytes memory data) internal returns (bytes memory) {
        return attacker.execute(target, data);
    }

    function _assertRefusedBy(bytes4 selector, uint256 expectedReentries) internal view {
        _assertEq(attacker.reentries(), expectedReentries, "hook fired");
        require(!attacker.reentrySucceeded(), "re-entry succeeded");
        require(attacker.reentryError() == selector, "re-entry refused for another reason");
    }

    /// @dev An exchange paying in `payment`, the solar prosumer's GRAMS on offer, the buyer funded.
    function _exchangeWithOffer(IERC20 payment) internal returns (CarbonExchange target, uint256 offerId) {
        target = new CarbonExchange(address(manager), carbon, payment);
        _approveCredits(solarProsumer, address(target));
        vm.prank(solarProsumer);
        offerId = target.offer(solarId, GRAMS, PRICE);
        vm.prank(buyer);
        payment.approve(address(target), type(uint256).max);
    }

    /// @dev The attacker as a seller in a hook-token exchange: two offers of GRAMS / 2 each.
    function _hookExchangeWithAttackerOffers()
        internal
        returns (CarbonExchange target, HookToken hookDollar, uint256 firstOffer, uint256 secondOffer)
    {
        hookDollar = new HookToken();
        target = new CarbonExchange(address(manager), carbon, IERC20(address(hookDollar)));
        _giveAttacker(solarProsumer, solarId, GRAMS);
        _approveCredits(address(attacker), address(target));
        _as(address(hookDollar), abi.encodeCall(HookToken.registerHook, (ITokenHooks(address(attacker)))));
        firstOffer = abi.decode(
            _as(address(target), abi.encodeCall(ICarbonExchange.offer, (solarId, GRAMS / 2, PRICE))), (uint256)
        );
        secondOffer = abi.decode(
            _as(address(target), abi.encodeCall(ICarbonExchange.offer, (solarId, GRAMS / 2, PRICE))), (uint256)
        );
        hookDollar.mint(buyer, 10 * COST);
        vm.prank(buyer);
        hookDollar.approve(address(target), type(uint256).max);
    }

    /// @dev The exchange functions a hook may try to re-enter.
    function _exchangeCalls(uint256 offerId) internal view returns (bytes[3] memory) {
        return [
            abi.encodeCall(ICarbonExchange.buy, (offerId, 1, PRICE)),
            abi.encodeCall(ICarbonExchange.cancel, (offerId)),
            abi.encodeCall(ICarbonExchange.offer, (solarId, 1, PRICE))
        ];
    }

    /// @dev The pool's books equal its credits and supply; and every gram the attacker pooled is
    ///      in its wallet, retired, or behind pool tokens (its own or the fee collector's).
    function _assertPoolBooksExact(uint256 pooledGrams) internal view {
        uint256[2] memory ids = [solarId, windId];
        uint256 held;
        uint256 accounted = pool.balanceOf(address(attacker)) + pool.balanceOf(poolFeeCollector);
        for (uint256 i; i < ids.length; ++i) {
            _assertEq(carbon.balanceOf(address(pool), ids[i]), pool.heldGrams(ids[i]), "pool credits = books");
            held += pool.heldGrams(ids[i]);
            accounted += carbon.balanceOf(address(attacker), ids[i]) + carbon.getEmissionReductions(ids[i]).retiredGrams;
        }
        _assertEq(pool.totalSupply(), held + pool.expiredGrams(), "supply = held + expired");
        _assertEq(accounted, pooledGrams, "attacker's grams");
    }

    /// @dev The attacker pools both certificates: 2 × GRAMS pool tokens.
    function _attackerPoolsBoth() internal {
        _giveAttacker(solarProsumer, solarId, GRAMS);
        _giveAttacker(windGenerator, windId, GRAMS);
        _as(address(pool), abi.encodeCall(ICarbonPool.deposit, (solarId, GRAMS)));
        _as(address(pool), abi.encodeCall(ICarbonPool.deposit, (windId, GRAMS)));
    }

    /// @dev Every pool function a redeemer's hook may re-enter (with credits it just received).
    function _poolCalls() internal view returns (bytes[4] memory) {
        return [
            abi.encodeCall(ICarbonPool.redeem, (100)),
            abi.encodeCall(ICarbonPool.redeemSelected, (windId, 100)),
            abi.encodeCall(ICarbonPool.deposit, (solarId, 10)),
            abi.encodeCall(ICarbonPool.retireFromPool, (100, address(attacker), "re-entered"))
        ];
    }

    // ------------------------------------------------------------ exchange: fee tokens
    function test_buy_feeOnTransferPaymentToken_revertsPaymentAmountMismatch() public {
        FeeOnTransferToken feeDollar = new FeeOnTransferToken(FEE_BPS, false, tokenFeeCollector);
        (CarbonExchange feeExchange, uint256 offerId) = _exchangeWithOffer(IERC20(address(feeDollar)));
        feeDollar.mint(buyer, COST);

        // The seller would get 94,050 for credits offered at 95,000.
        vm.expectRevert(
            abi.encodeWithSelector(
                ICarbonExchange.PaymentAmountMismatch.selector, offerId, COST, COST - COST * FEE_BPS / 10_000
            )
        );
        vm.prank(buyer);
        feeExchange.buy(offerId, GRAMS, PRICE);
        _assertEq(feeExchange.offerOf(offerId).remainingGrams, GRAMS, "offer untouched");
    }

    function test_buy_feeChargedToBuyer_sellerPaidInFull() public {
        FeeOnTransferToken feeDollar = new FeeOnTransferToken(FEE_BPS, true, tokenFeeCollector);
        (CarbonExchange feeExchange, uint256 offerId) = _exchangeWithOffer(IERC20(address(feeDollar)));
        feeDollar.mint(buyer, 2 * COST);

        vm.prank(buyer);
        feeExchange.buy(offerId, GRAMS, PRICE);
        _assertEq(feeDollar.balanceOf(solarProsumer), COST, "seller paid");
        _assertEq(feeDollar.balanceOf(buyer), COST - COST * FEE_BPS / 10_000, "buyer paid price and fee");
        _assertEq(carbon.balanceOf(buyer, solarId), GRAMS, "credits delivered");
    }

    // ------------------------------------------------------------ exchange: hooks and hostile holders
    function test_buy_sellerPaymentHookReentersExchange_refused() public {
        (CarbonExchange target, HookToken hookDollar, uint256 firstOffer, uint256 secondOffer) =
            _hookExchangeWithAttackerOffers();
        bytes[3] memory calls = _exchangeCalls(secondOffer);
        for (uint256 i; i < calls.length; ++i) {
            attacker.arm(address(target), calls[i]);
            vm.prank(buyer);
            target.buy(firstOffer, 100, PRICE);
            _assertRefusedBy(ReentrancyGuard.ReentrancyGuardReentrantCall.selector, i + 1);
        }
        _assertEq(target.offerOf(firstOffer).remainingGrams, GRAMS / 2 - 300, "first offer");
        _assertEq(target.offerOf(secondOffer).remainingGrams, GRAMS / 2, "second offer");
        _assertEq(carbon.balanceOf(address(target), solarId), GRAMS - 300, "exchange holds its offers");
        _assertEq(hookDollar.balanceOf(address(attacker)), 3 * target.costOf(100, PRICE), "seller paid");
        _assertEq(carbon.balanceOf(buyer, solarId), 300, "buyer's credits");
    }

    function test_buy_buyerPaymentHookReentersExchange_refused() public {
        HookToken hookDollar = new HookToken();
        (CarbonExchange target, uint256 offerId) = _exchangeWithOffer(IERC20(address(hookDollar)));
        _as(address(hookDollar), abi.encodeCall(HookToken.registerHook, (ITokenHooks(address(attacker)))));
        _as(address(hookDollar), abi.encodeCall(IERC20.approve, (address(target), type(uint256).max)));
        hookDollar.mint(address(attacker), COST);

        attacker.arm(address(target), abi.encodeCall(ICarbonExchange.buy, (offerId, GRAMS / 2, PRICE)));
        _as(address(target), abi.encodeCall(ICarbonExchange.buy, (offerId, GRAMS / 2, PRICE)));
        _assertRefusedBy(ReentrancyGuard.ReentrancyGuardReentrantCall.selector, 1);
        _assertEq(target.offerOf(offerId).remainingGrams, GRAMS / 2, "offer");
        _assertEq(carbon.balanceOf(address(attacker), solarId), GRAMS / 2, "attacker's credits");
        _assertEq(hookDollar.balanceOf(solarProsumer), COST / 2, "seller paid once");
    }

    function test_buy_buyerCreditHookReentersExchange_refused() public {
        uint256 offerId = _offerOnMainExchange();
        _fundAttacker(COST);
        bytes[3] memory calls = _exchangeCalls(offerId);
        for (uint256 i; i < calls.length; ++i) {
            attacker.arm(address(exchange), calls[i]);
            _as(address(exchange), abi.encodeCall(ICarbonExchange.buy, (offerId, 100, PRICE)));
            _assertRefusedBy(ReentrancyGuard.ReentrancyGuardReentrantCall.selector, i + 1);
        }
        _assertEq(exchange.offerOf(offerId).remainingGrams, GRAMS - 300, "offer");
        _assertEq(carbon.balanceOf(address(exchange), solarId), GRAMS - 300, "exchange holds its offer");
        _assertEq(carbon.balanceOf(address(attacker), solarId), 300, "attacker's credits");
        _assertEq(dollar.balanceOf(solarProsumer), 3 * exchange.costOf(100, PRICE), "seller paid");
    }

    function test_cancel_sellerCreditHookReentersCancel_refusedAndReturnedOnce() public {
        _giveAttacker(solarProsumer, solarId, GRAMS);
        uint256 first = abi.decode(
            _as(address(exchange), abi.encodeCall(ICarbonExchange.offer, (solarId, 1_000, PRICE))), (uint256)
        );
        uint256 second = abi.decode(
            _as(address(exchange), abi.encodeCall(ICarbonExchange.offer, (solarId, 1_000, PRICE))), (uint256)
        );

        attacker.arm(address(exchange), abi.encodeCall(ICarbonExchange.cancel, (second)));
        _as(address(exchange), abi.encodeCall(ICarbonExchange.cancel, (first)));
        _assertRefusedBy(ReentrancyGuard.ReentrancyGuardReentrantCall.selector, 1);
        _assertEq(carbon.balanceOf(address(attacker), solarId), GRAMS - 1_000, "attacker's credits");
        _assertEq(carbon.balanceOf(address(exchange), solarId), 1_000, "exchange holds the open offer");
        _assertEq(exchange.offerOf(second).remainingGrams, 1_000, "second offer open");
    }

    function test_offer_sellerGetsNoCallback() public {
        _giveAttacker(solarProsumer, solarId, GRAMS);
        attacker.arm(address(exchange), abi.encodeCall(ICarbonExchange.cancel, (1)));
        _as(address(exchange), abi.encodeCall(ICarbonExchange.offer, (solarId, GRAMS, PRICE)));
        _assertEq(attacker.reentries(), 0, "seller code ran during offer");
        _assertEq(carbon.balanceOf(address(exchange), solarId), GRAMS, "offered credits held");
    }

    function test_buy_buyerReturnsWrongSelector_revertsERC1155InvalidReceiver() public {
        uint256 offerId = _offerOnMainExchange();
        _fundAttacker(COST);
        attacker.setMode(HostileActor.ReceiverMode.WrongSelector);

        vm.expectRevert(abi.encodeWithSelector(IERC1155Errors.ERC1155InvalidReceiver.selector, address(attacker)));
        _as(address(exchange), abi.encodeCall(ICarbonExchange.buy, (offerId, GRAMS, PRICE)));
        _assertEq(exchange.offerOf(offerId).remainingGrams, GRAMS, "offer untouched");
        _assertEq(dollar.balanceOf(address(attacker)), COST, "nothing paid");
    }

    function test_buy_buyerRefusesCredits_revertsReceiverRefused() public {
        uint256 offerId = _offerOnMainExchange();
        _fundAttacker(COST);
        attacker.setMode(HostileActor.ReceiverMode.Revert);

        vm.expectRevert(HostileActor.ReceiverRefused.selector);
        _as(address(exchange), abi.encodeCall(ICarbonExchange.buy, (offerId, GRAMS, PRICE)));
        _assertEq(exchange.offerOf(offerId).remainingGrams, GRAMS, "offer untouched");
    }

    function _offerOnMainExchange() internal returns (uint256 offerId) {
        vm.prank(solarProsumer);
        offerId = exchange.offer(solarId, GRAMS, PRICE);
    }

    function _fundAttacker(uint256 units) internal {
        dollar.mint(address(attacker), units);
        _as(address(dollar), abi.encodeCall(IERC20.approve, (address(exchange), type(uint256).max)));
    }

    // ------------------------------------------------------------ pool
    function test_redeem_redeemerBatchHookReentersPool_booksExact() public {
        _attackerPoolsBoth();
        bytes[4] memory calls = _poolCalls();
        for (uint256 i; i < calls.length; ++i) {
            attacker.arm(address(pool), calls[i]);
            _as(address(pool), abi.encodeCall(ICarbonPool.redeem, (500)));
            _assertEq(attacker.reentries(), i + 1, "hook fired");
            _assertPoolBooksExact(2 * GRAMS);
        }
    }

    function test_redeemSelected_redeemerHookReentersPool_booksExact() public {
        _attackerPoolsBoth();
        bytes[4] memory calls = _poolCalls();
        for (uint256 i; i < calls.length; ++i) {
            attacker.arm(address(pool), calls[i]);
            _as(address(pool), abi.encodeCall(ICarbonPool.redeemSelected, (solarId, 500)));
            _assertEq(attacker.reentries(), i + 1, "hook fired");
            _assertPoolBooksExact(2 * GRAMS);
        }
    }

    function test_deposit_depositorGetsNoCallback() public {
        _giveAttacker(solarProsumer, solarId, GRAMS);
        attacker.arm(address(pool), abi.encodeCall(ICarbonPool.redeem, (1)));
        _as(address(pool), abi.encodeCall(ICarbonPool.deposit, (solarId, GRAMS)));
        _assertEq(attacker.reentries(), 0, "depositor code ran during deposit");
        _assertEq(pool.balanceOf(address(attacker)), GRAMS, "pool tokens");
    }

    function test_retireFromPool_retirerGetsNoCallback() public {
        _attackerPoolsBoth();
        attacker.arm(address(pool), abi.encodeCall(ICarbonPool.redeem, (1)));
        _as(address(pool), abi.encodeCall(ICarbonPool.retireFromPool, (GRAMS + 1, address(attacker), "scope 2")));
        _assertEq(attacker.reentries(), 0, "retirer code ran during retirement");
        _assertPoolBooksExact(2 * GRAMS);
    }

    function test_redeem_redeemerReturnsWrongSelector_revertsAndKeepsBooks() public {
        _attackerPoolsBoth();
        attacker.setMode(HostileActor.ReceiverMode.WrongSelector);

        vm.expectRevert(abi.encodeWithSelector(IERC1155Errors.ERC1155InvalidReceiver.selector, address(attacker)));
        _as(address(pool), abi.encodeCall(ICarbonPool.redeem, (GRAMS + 1)));
        _assertEq(pool.balanceOf(address(attacker)), 2 * GRAMS, "pool tokens kept");
        _assertPoolBooksExact(2 * GRAMS);
    }

    function test_redeemSelected_redeemerRefuses_revertsAndKeepsBooks() public {
        _attackerPoolsBoth();
        attacker.setMode(HostileActor.ReceiverMode.Revert);

        vm.expectRevert(HostileActor.ReceiverRefused.selector);
        _as(address(pool), abi.encodeCall(ICarbonPool.redeemSelected, (windId, GRAMS)));
        _assertEq(pool.heldGrams(windId), GRAMS, "wind credits still pooled");
        _assertPoolBooksExact(2 * GRAMS);
    }

    // ------------------------------------------------------------ credit contract
    /// @dev The solar prosumer becomes the attacker contract (and, for the worst case, a VERIFIER
    ///      too), so that issuance's mint calls back into it.
    function _solarProsumerTurnsHostile() internal returns (HostileActor hostile) {
        cheats.etch(solarProsumer, address(attacker).code);
        hostile = HostileActor(solarProsumer);
    }

    function test_issueCreditsCertificate_generatorHookReissues_revertsLotRangeNotNext() public {
        HostileActor hostile = _solarProsumerTurnsHostile();
        manager.grantRole(Roles.VERIFIER, solarProsumer, 0);
        _readAll(READING_WH);
        (bytes memory data, uint256 amount,) = _nextCertification(0);
        bytes memory issue = abi.encodeCall(ICarbonCredit.issueCreditsCertificate, (solarProsumer, amount, data));

        hostile.arm(address(carbon), issue);
        hostile.execute(address(carbon), issue);
        require(!hostile.reentrySucceeded(), "lots certified twice");
        require(hostile.reentryError() == ICarbonCredit.LotRangeNotNext.selector, "re-issue refused for another reason");
        _assertEq(carbon.certificateCount(), 3, "certificates");
        _assertEq(carbon.balanceOf(solarProsumer, 3), amount, "credits minted once");
    }

    function test_issueCreditsCertificate_generatorRefuses_revertsAndCertifiesNothing() public {
        HostileActor hostile = _solarProsumerTurnsHostile();
        hostile.setMode(HostileActor.ReceiverMode.Revert);
        _readAll(READING_WH);
        (bytes memory data, uint256 amount,) = _nextCertification(0);
        (uint256 sequenceBefore,) = carbon.certifiedThrough(1);

        vm.expectRevert(HostileActor.ReceiverRefused.selector);
        vm.prank(verifier);
        carbon.issueCreditsCertificate(solarProsumer, amount, data);
        (uint256 sequenceAfter,) = carbon.certifiedThrough(1);
        _assertEq(sequenceAfter, sequenceBefore, "certified through");
        _assertEq(carbon.certificateCount(), 2, "certificates");
    }

    function test_issueCreditsCertificate_generatorReturnsWrongSelector_revertsERC1155InvalidReceiver() public {
        HostileActor hostile = _solarProsumerTurnsHostile();
        hostile.setMode(HostileActor.ReceiverMode.WrongSelector);
        _readAll(READING_WH);
        (bytes memory data, uint256 amount,) = _nextCertification(0);

        vm.expectRevert(abi.encodeWithSelector(IERC1155Errors.ERC1155InvalidReceiver.selector, solarProsumer));
        vm.prank(verifier);
        carbon.issueCreditsCertificate(solarProsumer, amount, data);
    }

    function test_transferCredits_recipientHookPrunesSendersQueue_senderKeepsTheRest() public {
        attacker.arm(address(carbon), abi.encodeCall(ICarbonCredit.pruneQueue, (windGenerator, 32)));
        vm.prank(windGenerator);
        carbon.transferCredits(address(attacker), 1_000);
        require(attacker.reentrySucceeded(), "pruning is open to anyone");

        // The sender's queue still reaches its remaining credits.
        vm.prank(windGenerator);
        carbon.retireCredits(GRAMS - 1_000);
        _assertEq(carbon.balanceOf(windGenerator, windId), 0, "sender's credits");
        _assertEq(carbon.balanceOf(address(attacker), windId), 1_000, "recipient's credits");
        _assertEq(carbon.getEmissionReductions(windId).retiredGrams, GRAMS - 1_000, "retired");
    }

    function test_transferCredits_recipientHookSpendsCreditsAgain_refused() public {
        // A contract has no receipt queue, so the id-less transfer finds nothing to spend.
        attacker.arm(address(carbon), abi.encodeCall(ICarbonCredit.transferCredits, (buyer, 1)));
        vm.prank(windGenerator);
        carbon.transferCredits(address(attacker), 1_000);
        _assertRefusedBy(ICarbonCredit.InsufficientLiveCredits.selector, 1);
        _assertEq(carbon.balanceOf(address(attacker), windId), 1_000, "recipient's credits");
        _assertEq(carbon.balanceOf(windGenerator, windId), GRAMS - 1_000, "sender's credits");
    }

    function test_transferCredits_recipientReturnsWrongSelector_revertsERC1155InvalidReceiver() public {
        attacker.setMode(HostileActor.ReceiverMode.WrongSelector);

        vm.expectRevert(abi.encodeWithSelector(IERC1155Errors.ERC1155InvalidReceiver.selector, address(attacker)));
        vm.prank(windGenerator);
        carbon.transferCredits(address(attacker), 1_000);
        _assertEq(carbon.balanceOf(windGenerator, windId), GRAMS, "sender's credits");
    }

    function test_retireCertificateCredits_retirerGetsNoCallback() public {
        _giveAttacker(solarProsumer, solarId, GRAMS);
        attacker.arm(address(carbon), abi.encodeCall(ICarbonCredit.retireCertificateCredits, (solarId, 1, buyer, "")));
        _as(
            address(carbon),
            abi.encodeCall(ICarbonCredit.retireCertificateCredits, (solarId, GRAMS / 2, beneficiary, ""))
        );
        _assertEq(attacker.reentries(), 0, "retirer code ran during retirement");
        _assertEq(carbon.balanceOf(address(attacker), solarId), GRAMS / 2, "credits left");
    }
}
