// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {MarketWorld} from "./base/MarketWorld.sol";
import {IEnergyMarket} from "../interfaces/IEnergyMarket.sol";
import {IGridGuard} from "../interfaces/IGridGuard.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEnergyToken} from "../interfaces/IEnergyToken.sol";

/// @notice Halts settlement at one grid node; `anyHalted` false says nothing is halted anywhere.
///         `peakFee` non-zero puts every node in peak at that fee.
contract HaltingGuard is IGridGuard {
    uint64 public immutable haltedNode;
    bool public immutable anyHalted;
    uint256 public immutable peakFee;

    constructor(uint64 node, bool halted, uint256 peakFeePerKWh_) {
        haltedNode = node;
        anyHalted = halted;
        peakFee = peakFeePerKWh_;
    }

    function gridConditions() external view returns (bool, bool) {
        return (anyHalted, peakFee != 0);
    }

    function settlementAllowed(address, uint64 gridNodeId, uint64) external view returns (bool) {
        return gridNodeId != haltedNode;
    }

    function peakFeePerKWh(address, uint64) external view returns (uint256) {
        return peakFee;
    }
}

contract MarketTest is MarketWorld {
    IEnergyMarket.Side internal constant SELL = IEnergyMarket.Side.Sell;
    IEnergyMarket.Side internal constant BUY = IEnergyMarket.Side.Buy;

    function setUp() public {
        _buildWorld();
    }

    function _seller(uint256 i) internal view returns (address) {
        return sellers[i];
    }

    function _buyer(uint256 i) internal view returns (address) {
        return buyers[i];
    }

    function _payment(address trader) internal view returns (uint256 units) {
        (units,) = market.accountOf(trader);
    }

    function _energy(address trader) internal view returns (uint256 energyWh) {
        (, energyWh) = market.accountOf(trader);
    }

    /// @dev Every expectRevert test ends by checking that nothing moved.
    function _assertUntouched() internal view {
        _assertEq(_energy(_seller(0)), SELLER_ESCROW_WH, "seller energy untouched");
        _assertEq(_payment(_buyer(0)), BUYER_ESCROW_UNITS, "buyer payment untouched");
        require(!market.isSettled(delivery), "interval not settled");
    }

    // ------------------------------------------------------------ settlement
    function test_settleInterval_uniformPrice_movesEnergyAndPaymentAndFee() public {
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        _assertEq(_energy(_seller(0)), SELLER_ESCROW_WH - 1_000, "seller energy");
        _assertEq(_payment(_seller(0)), 200_000, "seller paid 1 kWh x 0.20");
        _assertEq(_energy(_buyer(0)), 1_000, "buyer energy");
        _assertEq(_payment(_buyer(0)), BUYER_ESCROW_UNITS - 200_000 - 20_000, "buyer paid price + grid fee");
        _assertEq(_payment(dso), 20_000, "dso fee");
        require(market.isSettled(delivery), "settled");
    }

    function test_settleInterval_roundsBuyerUpSellerDown_dustToCollector() public {
        // 333 Wh at 200,001 per kWh: seller floor(66,600.333), buyer ceil(...) + ceil(fee 6,660).
        _settle(_clearing(200_001), _pair(333, 333));
        _assertEq(_payment(_seller(0)), 66_600, "seller floor");
        _assertEq(_payment(_buyer(0)), BUYER_ESCROW_UNITS - 66_601 - 6_660, "buyer ceil");
        _assertEq(_payment(dso), 6_661, "fee plus rounding");
    }

    function test_settleInterval_payAsBid_spreadGoesToCollector() public {
        IEnergyMarket.Clearing memory clearing = _clearing(200_000);
        clearing.pricing = IEnergyMarket.Pricing.PayAsBid;
        _settle(clearing, _pair(1_000, 1_000));
        _assertEq(_payment(_seller(0)), 150_000, "seller gets own limit");
        _assertEq(_payment(_buyer(0)), BUYER_ESCROW_UNITS - 250_000 - 20_000, "buyer pays own limit");
        _assertEq(_payment(dso), 100_000 + 20_000, "spread and fee");
    }

    /// @dev `fills` (sells, then buys) priced for a Nodal clearing: buys at `energyPrice`, the
    ///      sell at `sellPrice`.
    function _nodal(IEnergyMarket.Fill[] memory fills, uint64 energyPrice, uint64 sellPrice)
        internal
        pure
        returns (IEnergyMarket.Fill[] memory)
    {
        for (uint256 i; i < fills.length; ++i) {
            fills[i].pricePerKWh = fills[i].order.side == uint8(BUY) ? energyPrice : sellPrice;
        }
        return fills;
    }

    function _nodalClearing(uint64 energyPrice) internal view returns (IEnergyMarket.Clearing memory clearing) {
        clearing = _clearing(energyPrice);
        clearing.pricing = IEnergyMarket.Pricing.Nodal;
    }

    function test_settleInterval_nodal_sellerEarnsItsNodePrice_rentGoesToCollector() public {
        // The seller's node is behind a congested feeder: it earns 170,000 where buyers pay 200,000.
        _settle(_nodalClearing(200_000), _nodal(_pair(1_000, 1_000), 200_000, 170_000));
        _assertEq(_payment(_seller(0)), 170_000, "seller gets its node price");
        _assertEq(_payment(_buyer(0)), BUYER_ESCROW_UNITS - 200_000 - 20_000, "buyer pays the energy price");
        _assertEq(_payment(dso), 30_000 + 20_000, "congestion rent and fee");
        _assertEq(dollar.balanceOf(address(market)), _sumPayments(), "payment conserved");
    }

    function test_settleInterval_nodal_sellPriceBelowItsLimit_reverts() public {
        IEnergyMarket.Fill[] memory fills = _nodal(_pair(1_000, 1_000), 200_000, 149_999);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyMarket.LimitPriceViolated.selector, 0, uint64(150_000), uint64(149_999))
        );
        _settle(_nodalClearing(200_000), fills);
        _assertUntouched();
    }

    function test_settleInterval_nodal_buyAtAnotherPriceThanTheEnergyPrice_reverts() public {
        IEnergyMarket.Fill[] memory fills = _nodal(_pair(1_000, 1_000), 200_000, 170_000);
        fills[1].pricePerKWh = 180_000;
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.FillPriceInvalid.selector, 1, uint64(180_000)));
        _settle(_nodalClearing(200_000), fills);
        _assertUntouched();
    }

    function test_settleInterval_nodal_sellPriceAboveTheEnergyPrice_reverts() public {
        // Even within the buyer's fee: sellers may not be paid out of the grid fees.
        IEnergyMarket.Fill[] memory fills = _nodal(_pair(1_000, 1_000), 200_000, 200_001);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.FillPriceInvalid.selector, 0, uint64(200_001)));
        _settle(_nodalClearing(200_000), fills);
        _assertUntouched();
    }

    function test_settleInterval_fillPriceUnderUniformOrPayAsBid_reverts() public {
        IEnergyMarket.Clearing memory clearing = _clearing(200_000);
        for (uint256 mode; mode < 2; ++mode) {
            clearing.pricing = IEnergyMarket.Pricing(mode);
            IEnergyMarket.Fill[] memory fills = _pair(1_000, 1_000);
            fills[0].pricePerKWh = 170_000;
            vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.FillPriceInvalid.selector, 0, uint64(170_000)));
            _settle(clearing, fills);
            _assertUntouched();
        }
    }

    /// @dev Whatever node prices within the limits: buyers pay exactly what sellers earn plus the
    ///      rent and the fee, nothing created or lost.
    function testFuzz_settleInterval_nodal_conservesPayment(uint64 sellPrice, uint64 energyPrice) public {
        energyPrice = 150_000 + energyPrice % 100_001; // up to the buyer's limit
        sellPrice = 150_000 + sellPrice % (energyPrice - 150_000 + 1); // from the seller's limit
        uint256 before = _sumPayments();
        _settle(_nodalClearing(energyPrice), _nodal(_pair(1_000, 1_000), energyPrice, sellPrice));
        _assertEq(_payment(_seller(0)), sellPrice, "seller at its node price");
        _assertEq(_payment(dso), uint256(energyPrice) - sellPrice + 20_000, "rent and fee");
        _assertEq(_sumPayments(), before, "payment conserved");
    }

    function test_settleInterval_partialFillsManyTraders_balanceOut() public {
        IEnergyMarket.Fill[] memory sells = new IEnergyMarket.Fill[](2);
        IEnergyMarket.Fill[] memory buys = new IEnergyMarket.Fill[](2);
        sells[0] = _fill(sellerKeys[0], _order(sellerKeys[0], SELL, 1_500, 100_000, 1), 1_500);
        sells[1] = _fill(sellerKeys[1], _order(sellerKeys[1], SELL, 1_500, 180_000, 1), 700);
        buys[0] = _fill(buyerKeys[0], _order(buyerKeys[0], BUY, 1_200, 300_000, 1), 1_200);
        buys[1] = _fill(buyerKeys[1], _order(buyerKeys[1], BUY, 2_000, 190_000, 1), 1_000);
        _settle(_clearing(185_000), _ordered(sells, buys));
        _assertEq(_energy(_buyer(0)) + _energy(_buyer(1)), 2_200, "bought");
        _assertEq(_energy(_seller(0)) + _energy(_seller(1)), 2 * SELLER_ESCROW_WH - 2_200, "sold");
        _assertEq(dollar.balanceOf(address(market)), _sumPayments(), "payment conserved");
        _assertEq(token.balanceOf(address(market)), _sumEnergy(), "energy conserved");
    }

    // ------------------------------------------------------------ rejections
    function test_settleInterval_unknownPairInClearing_reverts() public {
        IEnergyMarket.Clearing memory clearing = _clearing(200_000);
        clearing.pairId = 7;
        IEnergyMarket.Fill[] memory hoisted = _pair(1_000, 1_000);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.UnknownPair.selector, uint16(7)));
        _settle(clearing, hoisted);
        _assertUntouched();
    }

    function test_settleInterval_unknownPairInOrder_reverts() public {
        IEnergyMarket.Order memory order = _order(sellerKeys[0], SELL, 1_000, 150_000, 1);
        order.pairId = 9;
        IEnergyMarket.Fill[] memory hoisted = _one(_fill(sellerKeys[0], order, 1_000));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.UnknownPair.selector, uint16(9)));
        _settle(_clearing(200_000), hoisted);
        _assertUntouched();
    }

    function test_settleInterval_secondSettlementOrReplay_reverts() public {
        IEnergyMarket.Fill[] memory fills = _pair(500, 500);
        _settle(_clearing(200_000), fills);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.IntervalAlreadySettled.selector, delivery));
        _settle(_clearing(200_000), fills);
        _assertEq(_energy(_buyer(0)), 500, "replay moved nothing");
    }

    function test_settleInterval_misalignedInterval_reverts() public {
        IEnergyMarket.Clearing memory clearing = _clearing(200_000);
        clearing.intervalStart = delivery + 1;
        IEnergyMarket.Fill[] memory hoisted = _pair(1_000, 1_000);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.MisalignedInterval.selector, delivery + 1));
        _settle(clearing, hoisted);
        _assertUntouched();
    }

    function test_settleInterval_noFills_reverts() public {
        vm.expectRevert(IEnergyMarket.EmptySettlement.selector);
        _settle(_clearing(200_000), new IEnergyMarket.Fill[](0));
    }

    function test_settleInterval_orderForOtherInterval_reverts() public {
        IEnergyMarket.Order memory order = _order(sellerKeys[0], SELL, 1_000, 150_000, 1);
        order.intervalStart = delivery + 900;
        IEnergyMarket.Fill[] memory hoisted = _one(_fill(sellerKeys[0], order, 1_000));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.OrderForOtherInterval.selector, 0, delivery + 900));
        _settle(_clearing(200_000), hoisted);
        _assertUntouched();
    }

    function test_settleInterval_expiredOrder_reverts() public {
        IEnergyMarket.Order memory order = _order(sellerKeys[0], SELL, 1_000, 150_000, 1);
        order.expiry = uint64(block.timestamp - 1);
        IEnergyMarket.Fill[] memory hoisted = _one(_fill(sellerKeys[0], order, 1_000));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.OrderExpired.selector, 0, order.expiry));
        _settle(_clearing(200_000), hoisted);
        _assertUntouched();
    }

    function test_settleInterval_cancelledNonce_reverts() public {
        _releaseGate(); // cancelled before gate closure
        vm.prank(_buyer(0));
        market.invalidateNonces(0, 1 << 1); // nonce 1
        require(market.isNonceInvalidated(_buyer(0), 1), "invalidated");
        _closeGate();
        IEnergyMarket.Fill[] memory fills = _pair(1_000, 1_000);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.OrderNonceInvalidated.selector, 1, _buyer(0), uint64(1)));
        _settle(_clearing(200_000), fills);
        _assertUntouched();
    }

    function test_settleInterval_otherNonceOfCancellingTrader_stillSettles() public {
        _releaseGate();
        vm.prank(_buyer(0));
        market.invalidateNonces(0, 1 << 5);
        _closeGate();
        _settle(_clearing(200_000), _pair(1_000, 1_000)); // orders use nonce 1
        _assertEq(_energy(_buyer(0)), 1_000, "filled");
    }

    function test_invalidateNonces_positionBeyondUint64Nonces_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.NoncePositionOutOfRange.selector, uint256(1) << 56));
        market.invalidateNonces(uint256(1) << 56, 1);
    }

    function test_settleInterval_forgedSignature_reverts() public {
        IEnergyMarket.Order memory order = _order(sellerKeys[0], SELL, 1_000, 150_000, 1);
        IEnergyMarket.Fill memory forged = _fill(sellerKeys[1], order, 1_000); // signed by someone else
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.InvalidOrderSignature.selector, 0));
        _settle(_clearing(200_000), _one(forged));
        _assertUntouched();
    }

    function test_settleInterval_duplicateOrder_reverts() public {
        IEnergyMarket.Fill memory sell = _fill(sellerKeys[0], _order(sellerKeys[0], SELL, 1_000, 150_000, 1), 400);
        IEnergyMarket.Fill[] memory fills = new IEnergyMarket.Fill[](2);
        fills[0] = sell;
        fills[1] = sell;
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.FillsOutOfOrder.selector, 1));
        _settle(_clearing(200_000), fills);
        _assertUntouched();
    }

    function test_settleInterval_buyBeforeAllSells_revertsUnbalanced() public {
        IEnergyMarket.Fill[] memory ordered = _pair(1_000, 1_000);
        IEnergyMarket.Fill[] memory fills = new IEnergyMarket.Fill[](2);
        (fills[0], fills[1]) = (ordered[1], ordered[0]);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.UnbalancedSettlement.selector, 0, 1_000));
        _settle(_clearing(200_000), fills);
        _assertUntouched();
    }

    function test_settleInterval_sellAfterBuy_reverts() public {
        IEnergyMarket.Fill[] memory fills = new IEnergyMarket.Fill[](3);
        fills[0] = _fill(sellerKeys[0], _order(sellerKeys[0], SELL, 1_000, 150_000, 1), 500);
        fills[1] = _fill(buyerKeys[0], _order(buyerKeys[0], BUY, 1_000, 250_000, 1), 500);
        fills[2] = _fill(sellerKeys[1], _order(sellerKeys[1], SELL, 1_000, 150_000, 1), 500);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.FillsOutOfOrder.selector, 2));
        _settle(_clearing(200_000), fills);
        _assertUntouched();
    }

    function test_settleInterval_invalidSide_reverts() public {
        IEnergyMarket.Order memory order = _order(sellerKeys[0], SELL, 1_000, 150_000, 1);
        order.side = 2;
        IEnergyMarket.Fill[] memory hoisted = _one(_fill(sellerKeys[0], order, 1_000));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.InvalidSide.selector, 0));
        _settle(_clearing(200_000), hoisted);
    }

    function test_settleInterval_fillAboveOrder_reverts() public {
        IEnergyMarket.Fill[] memory hoisted = _pair(1_001, 1_001);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyMarket.InvalidFillAmount.selector, 0, uint64(1_001), uint64(1_000))
        );
        _settle(_clearing(200_000), hoisted);
        _assertUntouched();
    }

    function test_settleInterval_zeroFill_reverts() public {
        IEnergyMarket.Fill[] memory hoisted = _pair(0, 0);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.InvalidFillAmount.selector, 0, uint64(0), uint64(1_000)));
        _settle(_clearing(200_000), hoisted);
    }

    function test_settleInterval_priceAboveBuyLimit_reverts() public {
        IEnergyMarket.Fill[] memory hoisted = _pair(1_000, 1_000);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyMarket.LimitPriceViolated.selector, 1, uint64(250_000), uint64(260_000))
        );
        _settle(_clearing(260_000), hoisted);
        _assertUntouched();
    }

    function test_settleInterval_priceBelowSellLimit_reverts() public {
        IEnergyMarket.Fill[] memory hoisted = _pair(1_000, 1_000);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyMarket.LimitPriceViolated.selector, 0, uint64(150_000), uint64(140_000))
        );
        _settle(_clearing(140_000), hoisted);
        _assertUntouched();
    }

    function test_settleInterval_moreBoughtThanSold_reverts() public {
        IEnergyMarket.Fill[] memory hoisted = _pair(600, 700);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.UnbalancedSettlement.selector, 600, 700));
        _settle(_clearing(200_000), hoisted);
        _assertUntouched();
    }

    function test_settleInterval_moreSoldThanBought_reverts() public {
        IEnergyMarket.Fill[] memory hoisted = _pair(700, 600);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.UnbalancedSettlement.selector, 700, 600));
        _settle(_clearing(200_000), hoisted);
        _assertUntouched();
    }

    function test_settleInterval_buyerEscrowTooSmall_reverts() public {
        IEnergyMarket.Fill memory sell = _fill(sellerKeys[0], _order(sellerKeys[0], SELL, 1_000, 1, 1), 1_000);
        uint64 price = uint64(BUYER_ESCROW_UNITS); // 1 kWh costs the whole escrow, the fee does not fit
        IEnergyMarket.Fill memory buy = _fill(buyerKeys[0], _order(buyerKeys[0], BUY, 1_000, price, 1), 1_000);
        IEnergyMarket.Fill[] memory hoisted = _ordered(_one(sell), _one(buy));
        vm.expectRevert(
            abi.encodeWithSelector(
                IEnergyMarket.InsufficientPayment.selector, _buyer(0), BUYER_ESCROW_UNITS, BUYER_ESCROW_UNITS + 20_000
            )
        );
        _settle(_clearing(price), hoisted);
        _assertUntouched();
    }

    function test_settleInterval_sellerEscrowTooSmall_reverts() public {
        IEnergyMarket.Order memory big = _order(sellerKeys[0], SELL, 5_000, 150_000, 1);
        IEnergyMarket.Fill[] memory hoisted = _one(_fill(sellerKeys[0], big, 3_000));
        vm.expectRevert(
            abi.encodeWithSelector(
                IEnergyMarket.InsufficientEscrowedEnergy.selector, _seller(0), SELLER_ESCROW_WH, uint256(3_000)
            )
        );
        _settle(_clearing(200_000), hoisted);
        _assertUntouched();
    }

    function test_settleInterval_zoneHalted_reverts() public {
        market.setGridGuard(address(new HaltingGuard(1, true, 0)));
        IEnergyMarket.Fill[] memory hoisted = _pair(1_000, 1_000);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.ZoneHalted.selector, 0, uint64(1)));
        _settle(_clearing(200_000), hoisted);
        _assertUntouched();
    }

    function test_settleInterval_guardAllowsOtherNodes() public {
        market.setGridGuard(address(new HaltingGuard(99, true, 0)));
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        require(market.isSettled(delivery), "settled");
    }

    function test_settleInterval_nothingHaltedAnywhere_skipsTheFillChecks() public {
        market.setGridGuard(address(new HaltingGuard(1, false, 0)));
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        require(market.isSettled(delivery), "settled without asking per fill");
    }

    function test_settleInterval_peakZone_buyerPaysThePeakFee() public {
        market.setGridGuard(address(new HaltingGuard(99, false, 60_000)));
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        _assertEq(_payment(_buyer(0)), BUYER_ESCROW_UNITS - 200_000 - 60_000, "buyer paid price + peak fee");
        _assertEq(_payment(dso), 60_000, "dso got the peak fee");
    }

    function test_settleInterval_peakFeeBelowMarketFee_marketFeeApplies() public {
        market.setGridGuard(address(new HaltingGuard(99, false, 5_000)));
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        _assertEq(_payment(dso), 20_000, "the market's own fee");
    }

    function test_settleInterval_notOperator_reverts() public {
        IEnergyMarket.Fill[] memory fills = _pair(1_000, 1_000);
        vm.prank(_buyer(0));
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, _buyer(0)));
        market.settleInterval(_clearing(200_000), fills);
        _assertUntouched();
    }

    function test_settleInterval_whilePaused_reverts() public {
        IEnergyMarket.Fill[] memory fills = _pair(1_000, 1_000);
        vm.prank(emergency);
        market.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        _settle(_clearing(200_000), fills);
        market.unpause(); // ADMIN
        _settle(_clearing(200_000), fills);
        require(market.isSettled(delivery), "settled after unpause");
    }

    // ------------------------------------------------------------ gate closure: hostile traders
    // Between the operator's gate closure and its settlement a trader sees the pending
    // settleInterval; each test below is one way to make it revert, and the interval settles.

    function test_withdrawPayment_afterGateClosure_revertsAndIntervalSettles() public {
        (,, uint64 deadline) = market.pendingGate();
        vm.prank(_buyer(0));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.SettlementPending.selector, delivery, deadline));
        market.withdrawPayment(1);
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        _assertEq(_energy(_buyer(0)), 1_000, "bought");
    }

    function test_withdrawEnergy_afterGateClosure_revertsAndIntervalSettles() public {
        (,, uint64 deadline) = market.pendingGate();
        vm.prank(_seller(0));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.SettlementPending.selector, delivery, deadline));
        market.withdrawEnergy(SELLER_ESCROW_WH - 999); // leaves 999 Wh of the 1,000 it sells
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        _assertEq(_energy(_seller(0)), SELLER_ESCROW_WH - 1_000, "sold");
    }

    function test_invalidateNonces_afterGateClosure_revertsAndIntervalSettles() public {
        (,, uint64 deadline) = market.pendingGate();
        vm.prank(_buyer(0));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.SettlementPending.selector, delivery, deadline));
        market.invalidateNonces(0, 1 << 1); // the nonce of its own order in the interval
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        require(!market.isNonceInvalidated(_buyer(0), 1), "nonce untouched");
    }

    function test_depositThenWithdraw_afterGateClosure_newDepositIsLockedToo() public {
        // Deposits stay open, but what arrives during the window cannot leave before settlement:
        // a re-deposit cannot be used to take out escrow the funding check counted.
        dollar.mint(_buyer(0), 5_000);
        vm.startPrank(_buyer(0));
        dollar.approve(address(market), 5_000);
        market.depositPayment(5_000);
        (,, uint64 deadline) = market.pendingGate();
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.SettlementPending.selector, delivery, deadline));
        market.withdrawPayment(5_000);
        vm.stopPrank();
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        _assertEq(_payment(_buyer(0)), BUYER_ESCROW_UNITS + 5_000 - 220_000, "paid from escrow");
    }

    function test_closeGate_nearEpochEnd_deadlineIsTheEpochEnd_escrowCannotExpireFirst() public {
        // The seller's escrow was generated in the world's first epoch: it expires at the end of
        // the next one. A gate closed 100 s before that ends its window there, so the settlement
        // either lands while the energy is live or not at all (the funds then unlock).
        uint256 epochSeconds = token.epochSeconds();
        uint256 expiresAt = (T0 / epochSeconds + 2) * epochSeconds;
        _releaseGate();
        vm.warp(expiresAt - 100);
        delivery = uint64(expiresAt - 900);
        _closeGate();
        (,, uint64 deadline) = market.pendingGate();
        _assertEq(deadline, expiresAt, "deadline at the epoch end");
        vm.warp(expiresAt - 1);
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        _assertEq(_energy(_buyer(0)), 1_000, "bought before expiry");
    }

    function test_settleInterval_afterDeadline_revertsGateExpired_andEverythingUnlocks() public {
        (,, uint64 deadline) = market.pendingGate();
        IEnergyMarket.Fill[] memory fills = _pair(1_000, 1_000);
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.GateExpired.selector, delivery, deadline));
        _settle(_clearing(200_000), fills);
        _assertUntouched();
        // Nothing is lost: every trader takes out all of its escrow and may cancel.
        vm.prank(_buyer(0));
        market.withdrawPayment(BUYER_ESCROW_UNITS);
        vm.prank(_seller(0));
        market.withdrawEnergy(SELLER_ESCROW_WH);
        vm.prank(_buyer(0));
        market.invalidateNonces(0, 1 << 1);
        _assertEq(dollar.balanceOf(_buyer(0)), BUYER_ESCROW_UNITS, "payment back in the wallet");
        _assertEq(_energy(_seller(0)), 0, "energy back in the wallet");
        (uint64 pending,,) = market.pendingGate();
        _assertEq(pending, 0, "no gate pending");
    }

    function test_settleInterval_pausedThroughTheDeadline_unlocksAfterUnpause() public {
        (,, uint64 deadline) = market.pendingGate();
        vm.prank(emergency);
        market.pause();
        vm.warp(deadline + 1);
        market.unpause();
        vm.prank(_seller(0));
        market.withdrawEnergy(SELLER_ESCROW_WH);
        _assertEq(_energy(_seller(0)), 0, "withdrawn");
    }

    function test_settleInterval_withoutGateClosure_revertsGateNotClosed() public {
        _releaseGate();
        IEnergyMarket.Fill[] memory fills = _pair(1_000, 1_000);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.GateNotClosed.selector, delivery));
        _settle(_clearing(200_000), fills);
        _assertUntouched();
    }

    function test_settleInterval_gateOfAnotherInterval_revertsGateNotClosed() public {
        IEnergyMarket.Fill[] memory fills = _pair(1_000, 1_000);
        delivery += 900; // orders and clearing of the next interval; the gate is this one's
        fills = _pair(1_000, 1_000);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.GateNotClosed.selector, delivery));
        _settle(_clearing(200_000), fills);
    }

    function test_afterSettlement_withdrawAndCancelAreOpenAgain() public {
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        vm.prank(_buyer(0));
        market.withdrawEnergy(1_000);
        vm.prank(_seller(0));
        market.withdrawPayment(200_000);
        vm.prank(_buyer(0));
        market.invalidateNonces(0, 1 << 2);
        _assertEq(token.balanceOf(_buyer(0)), 1_000, "energy delivered to the wallet");
        _assertEq(dollar.balanceOf(_seller(0)), 200_000, "payment in the wallet");
        require(market.isNonceInvalidated(_buyer(0), 2), "cancelled");
    }

    // ------------------------------------------------------------ gate closure: the operator
    function test_closeGate_recordsTheGateAndEmitsGateClosed() public {
        _releaseGate();
        delivery += 900;
        uint64 deadline = uint64(block.timestamp + market.SETTLEMENT_WINDOW_SECONDS());
        vm.expectEmit(true, false, false, true, address(market));
        emit IEnergyMarket.GateClosed(delivery, ORDERS_COMMITMENT, deadline);
        _closeGate();
        (uint64 intervalStart, uint64 closedAt, uint64 pendingDeadline) = market.pendingGate();
        _assertEq(intervalStart, delivery, "interval");
        _assertEq(closedAt, block.timestamp, "closed now");
        _assertEq(pendingDeadline, deadline, "deadline");
    }

    function test_closeGate_whileAnotherIsPending_revertsSettlementPending() public {
        (,, uint64 deadline) = market.pendingGate();
        uint64 pending = delivery;
        delivery += 900;
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.SettlementPending.selector, pending, deadline));
        _closeGate();
    }

    function test_closeGate_rightAfterAnExpiredGate_waitsForTheCooldown() public {
        (,, uint64 deadline) = market.pendingGate();
        vm.warp(deadline);
        delivery += 900;
        uint64 reopensAt = uint64(deadline + market.GATE_COOLDOWN_SECONDS());
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.GateCoolingDown.selector, reopensAt));
        _closeGate();
        vm.warp(reopensAt);
        _closeGate();
        (uint64 pending,,) = market.pendingGate();
        _assertEq(pending, delivery, "next gate closed after the cooldown");
    }

    function test_closeGate_settledInterval_revertsIntervalAlreadySettled() public {
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.IntervalAlreadySettled.selector, delivery));
        _closeGate();
    }

    function test_closeGate_misalignedInterval_reverts() public {
        _releaseGate();
        vm.prank(marketOperator);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.MisalignedInterval.selector, delivery + 1));
        market.closeGate(delivery + 1, ORDERS_COMMITMENT);
    }

    function test_closeGate_byTrader_revertsUnauthorized() public {
        _releaseGate();
        vm.prank(_buyer(0));
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, _buyer(0)));
        market.closeGate(delivery, ORDERS_COMMITMENT);
    }

    function test_closeGate_whilePaused_reverts() public {
        _releaseGate();
        vm.prank(emergency);
        market.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        _closeGate();
    }

    function test_releaseGate_unlocksWithoutSettling() public {
        vm.expectEmit(true, false, false, true, address(market));
        emit IEnergyMarket.GateReleased(delivery);
        _releaseGate();
        vm.prank(_buyer(0));
        market.withdrawPayment(1);
        require(!market.isSettled(delivery), "not settled");
        _closeGate(); // no cooldown after a release
    }

    function test_releaseGate_noPendingGate_revertsGateNotClosed() public {
        _releaseGate();
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.GateNotClosed.selector, delivery));
        _releaseGate();
    }

    function test_releaseGate_expiredGate_revertsGateNotClosed() public {
        (,, uint64 deadline) = market.pendingGate();
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.GateNotClosed.selector, delivery));
        _releaseGate();
    }

    function test_releaseGate_byTrader_revertsUnauthorized() public {
        vm.prank(_seller(0));
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, _seller(0)));
        market.releaseGate(delivery);
    }

    // ------------------------------------------------------------ escrow
    function test_withdrawPayment_returnsDollars() public {
        _releaseGate();
        vm.prank(_buyer(0));
        market.withdrawPayment(1_000);
        _assertEq(dollar.balanceOf(_buyer(0)), 1_000, "wallet");
        _assertEq(_payment(_buyer(0)), BUYER_ESCROW_UNITS - 1_000, "escrow");
    }

    function test_withdrawPayment_moreThanEscrow_reverts() public {
        _releaseGate();
        vm.prank(_buyer(0));
        vm.expectRevert(
            abi.encodeWithSelector(
                IEnergyMarket.InsufficientPayment.selector, _buyer(0), BUYER_ESCROW_UNITS, BUYER_ESCROW_UNITS + 1
            )
        );
        market.withdrawPayment(BUYER_ESCROW_UNITS + 1);
    }

    function test_withdrawEnergy_returnsEnergyToWallet() public {
        _releaseGate();
        uint256 walletBefore = token.balanceOf(_seller(0));
        vm.prank(_seller(0));
        market.withdrawEnergy(500);
        _assertEq(token.balanceOf(_seller(0)), walletBefore + 500, "wallet");
        _assertEq(_energy(_seller(0)), SELLER_ESCROW_WH - 500, "escrow");
    }

    function test_withdrawEnergy_moreThanEscrow_reverts() public {
        _releaseGate();
        vm.prank(_seller(0));
        vm.expectRevert(
            abi.encodeWithSelector(
                IEnergyMarket.InsufficientEscrowedEnergy.selector, _seller(0), SELLER_ESCROW_WH, SELLER_ESCROW_WH + 1
            )
        );
        market.withdrawEnergy(SELLER_ESCROW_WH + 1);
    }

    function test_deposits_zeroAmount_revert() public {
        vm.prank(_buyer(0));
        vm.expectRevert(IEnergyMarket.ZeroAmount.selector);
        market.depositPayment(0);
        vm.prank(_seller(0));
        vm.expectRevert(IEnergyMarket.ZeroAmount.selector);
        market.depositEnergy(0);
        vm.prank(_seller(0));
        vm.expectRevert(IEnergyMarket.ZeroAmount.selector);
        market.withdrawEnergy(0);
        vm.prank(_buyer(0));
        vm.expectRevert(IEnergyMarket.ZeroAmount.selector);
        market.withdrawPayment(0);
    }

    function test_depositPayment_unverifiedParticipant_reverts() public {
        address stranger = address(0x57A);
        dollar.mint(stranger, 1_000);
        vm.prank(stranger);
        dollar.approve(address(market), 1_000);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.ParticipantNotVerified.selector, stranger));
        market.depositPayment(1_000);
    }

    function test_depositEnergy_notMarketRole_tokenRefusesOthers() public {
        vm.prank(_seller(0));
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, _seller(0)));
        token.escrowEnergy(_seller(1), 1);
    }

    function test_escrowedEnergy_expires_andCannotBeSold() public {
        vm.warp(block.timestamp + 2 days);
        _assertEq(_energy(_seller(0)), 0, "expired in escrow");
        _assertEq(token.balanceOf(address(market)), 0, "expired in the token too");
        delivery = uint64(block.timestamp - (block.timestamp % 900) + 900);
        _closeGate(); // the first gate expired long ago
        IEnergyMarket.Fill[] memory hoisted = _pair(1_000, 1_000);
        vm.expectRevert(
            abi.encodeWithSelector(IEnergyMarket.InsufficientEscrowedEnergy.selector, _seller(0), 0, uint256(1_000))
        );
        _settle(_clearing(200_000), hoisted);
    }

    // ------------------------------------------------------------ governance
    function test_setGridFee_zeroCollector_reverts() public {
        vm.expectRevert(IEnergyMarket.InvalidFeeCollector.selector);
        market.setGridFee(address(0), 1);
    }

    function test_setGridFee_notAdmin_reverts() public {
        vm.prank(marketOperator);
        vm.expectRevert(abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, marketOperator));
        market.setGridFee(dso, 1);
    }

    function test_setGridFee_appliesToNextSettlement() public {
        market.setGridFee(address(0xD51), 0);
        _settle(_clearing(200_000), _pair(1_000, 1_000));
        _assertEq(_payment(_buyer(0)), BUYER_ESCROW_UNITS - 200_000, "no fee");
        (address collector, uint256 fee) = market.gridFee();
        require(collector == address(0xD51) && fee == 0, "fee config");
    }

    // ------------------------------------------------------------ fuzz
    function testFuzz_settleInterval_conservesPaymentAndEnergy(uint64 price, uint64 filledWh, uint64 feePerKWh) public {
        price = uint64(150_000 + price % 100_001); // between the two limits
        filledWh = uint64(1 + filledWh % 1_000);
        market.setGridFee(dso, feePerKWh % 1_000_000);
        _settle(_clearing(price), _pair(filledWh, filledWh));
        _assertEq(dollar.balanceOf(address(market)), _sumPayments(), "payment conserved");
        _assertEq(token.balanceOf(address(market)), _sumEnergy(), "energy conserved");
        _assertEq(_energy(_buyer(0)), filledWh, "delivered");
    }

    function testFuzz_settleInterval_fillAboveOrderAlwaysReverts(uint64 excessWh) public {
        uint64 filledWh = uint64(1_001 + excessWh % 1_000_000);
        IEnergyMarket.Fill[] memory fills = _pair(filledWh, filledWh);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.InvalidFillAmount.selector, 0, filledWh, uint64(1_000)));
        _settle(_clearing(200_000), fills);
    }

    function testFuzz_settleInterval_priceOutsideLimitsAlwaysReverts(uint64 price) public {
        bool belowSellLimit = price % 2 == 0;
        price = belowSellLimit ? uint64(price % 150_000) : uint64(250_001 + price % 1_000_000);
        IEnergyMarket.Fill[] memory fills = _pair(1_000, 1_000);
        vm.expectRevert(
            belowSellLimit
                ? abi.encodeWithSelector(IEnergyMarket.LimitPriceViolated.selector, 0, uint64(150_000), price)
                : abi.encodeWithSelector(IEnergyMarket.LimitPriceViolated.selector, 1, uint64(250_000), price)
        );
        _settle(_clearing(price), fills);
    }

    // ------------------------------------------------------------ helpers
    function _sumPayments() internal view returns (uint256 sum) {
        for (uint256 i; i < TRADERS; ++i) {
            sum += _payment(_seller(i)) + _payment(_buyer(i));
        }
        sum += _payment(dso);
    }

    function _sumEnergy() internal view returns (uint256 sum) {
        for (uint256 i; i < TRADERS; ++i) {
            sum += _energy(_seller(i)) + _energy(_buyer(i));
        }
    }
}
