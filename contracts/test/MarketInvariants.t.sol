// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {MarketWorld} from "./base/MarketWorld.sol";
import {IEnergyMarket} from "../interfaces/IEnergyMarket.sol";

/// @notice Drives settlements (valid and invalid), deposits, withdrawals and cancellations
///         through the market and keeps ghost records of every fill that landed.
contract MarketHandler is MarketWorld {
    mapping(bytes32 orderHash => uint256 filledWh) public ghostFilledWh;
    mapping(bytes32 orderHash => uint256 energyWh) public ghostOrderWh;
    uint256 public ghostOverfills;
    uint256 public ghostLimitViolations;
    uint256 public settlementsLanded;
    uint64 internal nonce;

    constructor() {
        _buildWorld();
    }

    function traders() external view returns (address[4] memory all) {
        (all[0], all[1], all[2], all[3]) = (sellers[0], sellers[1], buyers[0], buyers[1]);
    }

    function feeCollector() external view returns (address) {
        return dso;
    }

    function marketUnderTest() external view returns (IEnergyMarket) {
        return market;
    }

    /// @notice What the market holds in the payment token and in the energy token.
    function marketHoldings() external view returns (uint256 paymentUnits, uint256 energyWh) {
        return (dollar.balanceOf(address(market)), token.balanceOf(address(market)));
    }

    /// @notice A one-seller, one-buyer interval with random amounts and limits. Mostly a valid
    ///         clearing; one call in four breaks the price or the fill, and the contract must
    ///         refuse it.
    function settle(uint256 seed, uint64 sellWh, uint64 buyWh, uint64 price, uint64 fillWh) external {
        uint256 s = seed % 2;
        uint256 b = (seed >> 8) % 2;
        sellWh = 1 + sellWh % 1_500;
        buyWh = 1 + buyWh % 1_500;
        uint64 sellLimit = 100_000 + uint64((seed >> 16) % 100_000);
        uint64 buyLimit = sellLimit + uint64((seed >> 32) % 100_000);
        uint64 smaller = sellWh < buyWh ? sellWh : buyWh;
        if ((seed >> 48) % 4 == 0) {
            price = price % 400_000;
            fillWh = fillWh % 1_600;
        } else {
            price = sellLimit + price % (buyLimit - sellLimit + 1);
            fillWh = 1 + fillWh % smaller;
        }
        ++nonce;
        IEnergyMarket.Order memory sell = _order(sellerKeys[s], IEnergyMarket.Side.Sell, sellWh, sellLimit, nonce);
        IEnergyMarket.Order memory buy = _order(buyerKeys[b], IEnergyMarket.Side.Buy, buyWh, buyLimit, nonce);
        IEnergyMarket.Fill[] memory fills =
            _ordered(_one(_fill(sellerKeys[s], sell, fillWh)), _one(_fill(buyerKeys[b], buy, fillWh)));
        vm.prank(marketOperator);
        try market.settleInterval(_clearing(price), fills) {
            ++settlementsLanded;
            _record(sell, fillWh, price);
            _record(buy, fillWh, price);
        } catch {}
        delivery += 900; // the next call trades the next interval
    }

    function depositEnergy(uint256 seed, uint64 energyWh) external {
        address seller = sellers[seed % 2];
        uint256 wallet = token.balanceOf(seller);
        if (wallet == 0) return;
        vm.prank(seller);
        market.depositEnergy(1 + energyWh % wallet);
    }

    function withdraw(uint256 seed, uint64 amount) external {
        address trader = seed % 2 == 0 ? sellers[(seed >> 1) % 2] : buyers[(seed >> 1) % 2];
        (uint256 payment, uint256 energyWh) = market.accountOf(trader);
        if (payment != 0) {
            vm.prank(trader);
            market.withdrawPayment(1 + amount % payment);
        }
        if (energyWh != 0) {
            vm.prank(trader);
            market.withdrawEnergy(1 + amount % energyWh);
        }
    }

    function cancel(uint256 seed) external {
        vm.prank(buyers[seed % 2]);
        market.invalidateNonces(0, uint256(1) << ((nonce + 1) % 256));
    }

    function _record(IEnergyMarket.Order memory order, uint64 fillWh, uint64 price) internal {
        bytes32 hash = market.orderHash(order);
        ghostFilledWh[hash] += fillWh;
        if (ghostFilledWh[hash] > order.energyWh) ++ghostOverfills;
        bool buy = order.side == uint8(IEnergyMarket.Side.Buy);
        if (buy ? order.limitPricePerKWh < price : order.limitPricePerKWh > price) ++ghostLimitViolations;
    }
}

contract MarketInvariantsTest {
    MarketHandler internal handler;

    function setUp() public {
        handler = new MarketHandler();
    }

    /// @dev Read by forge's invariant runner: only the handler is called.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_paymentInMarketEqualsEscrowAccounts() public view {
        IEnergyMarket market = handler.marketUnderTest();
        address[4] memory all = handler.traders();
        uint256 sum;
        for (uint256 i; i < 4; ++i) {
            (uint256 payment,) = market.accountOf(all[i]);
            sum += payment;
        }
        (uint256 collected,) = market.accountOf(handler.feeCollector());
        (uint256 held,) = handler.marketHoldings();
        require(sum + collected == held, "payment not conserved");
    }

    function invariant_energyInMarketEqualsEscrowAccounts() public view {
        IEnergyMarket market = handler.marketUnderTest();
        address[4] memory all = handler.traders();
        uint256 sum;
        for (uint256 i; i < 4; ++i) {
            (, uint256 energyWh) = market.accountOf(all[i]);
            sum += energyWh;
        }
        (, uint256 held) = handler.marketHoldings();
        require(sum == held, "energy not conserved");
    }

    function invariant_noOrderFilledBeyondItsAmount() public view {
        require(handler.ghostOverfills() == 0, "order overfilled");
    }

    function invariant_noFillViolatesItsLimit() public view {
        require(handler.ghostLimitViolations() == 0, "limit violated");
    }
}
