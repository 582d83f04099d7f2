// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {MarketWorld} from "./base/MarketWorld.sol";
import {ReadingBatch} from "./base/ReadingBatch.sol";
import {IEnergyMarket} from "../interfaces/IEnergyMarket.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";

/// @notice Plays the market's life: meters generate, time moves across intervals and epochs (so
///         escrowed energy expires), TRADERS sellers and buyers deposit, withdraw and cancel, the
///         operator closes gates and settles what its funding check admitted, hostile traders
///         try to take away what a pending settlement relies on, gates run past their deadline,
///         settled intervals are replayed. Every call whose outcome is known is checked: an
///         unexpected success or an unexpected failure is counted, never swallowed.
contract MarketHandler is MarketWorld {
    // ---------------------------------------------------------------- ghosts
    /// Energy the meters minted, with the time it expires (the end of the epoch after its bucket's).
    uint256[] internal mintedWh;
    uint256[] internal mintedExpiresAt;
    uint256 public ghostMintedWh;
    /// A settlement the funding check admitted that did not land (last revert kept for debugging).
    uint256 public ghostFailedSettlements;
    bytes public lastUnexpectedRevert;
    /// A withdrawal or cancellation that got through while a gate was pending.
    uint256 public ghostLockBreaches;
    /// A withdrawal, cancellation, deposit or gate closure refused although it should pass.
    uint256 public ghostWrongRefusals;
    /// A settlement that landed although it should not (broken clearing, expired gate, replay).
    uint256 public ghostBadSettlements;
    uint256 public settlementsLanded;
    uint256 public gatesExpired;
    uint256 public frontRunsRefused;
    uint64[] internal settledIntervals;

    // ---------------------------------------------------------------- the pending gate
    bool internal gatePending;
    uint64 internal gateDeadline;
    uint256 internal cooldownUntil;
    uint64 internal nextDelivery;
    uint64 internal price;
    IEnergyMarket.Pricing internal pricing;
    IEnergyMarket.Fill[] internal pendingFills;
    uint64 internal lastNonce;

    // ---------------------------------------------------------------- meters
    uint64[TRADERS] internal sequence;
    uint64[TRADERS] internal lastReadingInterval;
    uint256[TRADERS] internal registerWh;

    /// The handler's clock: every action starts at it, so time only moves through `warp`
    /// whatever block time the fuzzer's call environment carries.
    uint256 internal clock;

    modifier timed() {
        vm.warp(clock);
        _;
    }

    /// @dev Three-hour epochs: a run of 50 calls then carries energy through one-epoch rolls
    ///      (current to previous, previous to expired) and multi-epoch jumps, not just a day's part.
    function _epochSeconds() internal pure override returns (uint256) {
        return 3 hours;
    }

    constructor() {
        _buildWorld();
        _releaseGate(); // the handler closes its own gates
        uint64 aligned = uint64(T0 - (T0 % 900));
        for (uint256 i; i < TRADERS; ++i) {
            (sequence[i], lastReadingInterval[i], registerWh[i]) = (1, aligned, SELLER_ESCROW_WH);
        }
        _recordMint(TRADERS * SELLER_ESCROW_WH, token.expiryOf(aligned));
        nextDelivery = delivery;
        clock = block.timestamp;
    }

    // ---------------------------------------------------------------- views for the invariants
    function marketUnderTest() external view returns (IEnergyMarket) {
        return market;
    }

    /// @notice (At the handler's clock.) Σ escrowed payment of every account (traders and the fee collector) and what the
    ///         market holds in the payment token.
    function paymentBooks() external timed returns (uint256 accountsUnits, uint256 heldUnits) {
        for (uint256 i; i < TRADERS; ++i) {
            accountsUnits += _paymentOf(sellers[i]) + _paymentOf(buyers[i]);
        }
        accountsUnits += _paymentOf(dso);
        heldUnits = dollar.balanceOf(address(market));
    }

    /// @notice Σ live escrowed energy of the accounts, the market's live energy balance, the
    ///         traders' live wallets and the energy the ghost says has expired.
    function energyBooks()
        external
        timed
        returns (uint256 escrowedWh, uint256 marketHeldWh, uint256 walletsWh, uint256 expiredWh)
    {
        for (uint256 i; i < TRADERS; ++i) {
            escrowedWh += _energyOf(sellers[i]) + _energyOf(buyers[i]);
            walletsWh += token.balanceOf(sellers[i]) + token.balanceOf(buyers[i]);
        }
        marketHeldWh = token.balanceOf(address(market));
        for (uint256 i; i < mintedWh.length; ++i) {
            if (mintedExpiresAt[i] <= block.timestamp) expiredWh += mintedWh[i];
        }
    }

    function settledCount() external view returns (uint256) {
        return settledIntervals.length;
    }

    function settledAt(uint256 i) external view returns (uint64) {
        return settledIntervals[i];
    }

    // ---------------------------------------------------------------- actions: time and meters
    /// @notice Time moves: mostly within a settlement window, often across intervals and epochs,
    ///         sometimes most of a day (several epochs: escrowed energy then expires).
    function warp(uint256 seed) external timed {
        uint256 kind = seed % 10;
        uint256 step = kind < 5 ? seed % 400 : kind < 9 ? 900 + seed % 3 hours : seed % 1 days;
        clock += 1 + step;
        vm.warp(clock);
    }

    /// @notice Seller `seed`'s meter reports the interval that just ended; the minted energy is
    ///         the seller's wallet growth, recorded with its expiry.
    function generate(uint256 seed, uint16 energyWh) external timed {
        uint256 i = seed % TRADERS;
        uint64 interval = uint64(block.timestamp - (block.timestamp % 900)) - 900;
        uint256 epochSeconds = token.epochSeconds();
        // Only a reading of the current epoch, so that its energy expires with the epoch's.
        if (interval <= lastReadingInterval[i] || interval / epochSeconds != block.timestamp / epochSeconds) return;
        registerWh[i] += 1 + energyWh % 2_000;
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](1);
        batch[0] = _signedReading(i, ++sequence[i], interval, registerWh[i]);
        lastReadingInterval[i] = interval;
        (uint256 currentBefore, uint256 previousBefore) = token.liveBuckets(sellers[i]);
        vm.prank(gateway);
        registry.submitReadings(ReadingBatch.packed(batch));
        // After a gap the registry spreads the export over the time since the last reading:
        // the previous epoch's part expires an epoch sooner, an expired epoch's is never minted.
        (uint256 currentAfter, uint256 previousAfter) = token.liveBuckets(sellers[i]);
        uint256 nowEpoch = block.timestamp / epochSeconds;
        _recordMint(currentAfter - currentBefore, (nowEpoch + 2) * epochSeconds);
        _recordMint(previousAfter - previousBefore, (nowEpoch + 1) * epochSeconds);
    }

    // ---------------------------------------------------------------- actions: traders
    /// @notice A seller escrows energy from its wallet or a buyer escrows fresh dollars; deposits
    ///         are open at all times, a pending gate included.
    function deposit(uint256 seed, uint64 amount) external timed {
        uint256 i = (seed >> 1) % TRADERS;
        if (seed % 2 == 0) {
            uint256 wallet = token.balanceOf(sellers[i]);
            if (wallet == 0) return;
            vm.prank(sellers[i]);
            try market.depositEnergy(1 + amount % wallet) {}
            catch (bytes memory err) {
                _wrongRefusal(err);
            }
        } else {
            uint256 units = 1 + amount % 10_000_000;
            dollar.mint(buyers[i], units);
            vm.startPrank(buyers[i]);
            dollar.approve(address(market), units);
            try market.depositPayment(units) {}
            catch (bytes memory err) {
                _wrongRefusal(err);
            }
            vm.stopPrank();
        }
    }

    /// @notice A trader takes escrow out: refused while a gate is pending, else it must pass.
    function withdraw(uint256 seed, uint64 amount) external timed {
        address trader = _trader(seed);
        (uint256 payment, uint256 energyWh) = market.accountOf(trader);
        bool payments = (seed >> 8) % 2 == 0;
        uint256 available = payments ? payment : energyWh;
        if (available == 0 && !_gateLocks()) return;
        uint256 take = 1 + amount % (available == 0 ? 1 : available);
        vm.prank(trader);
        (bool ok, bytes memory err) = address(market)
            .call(
                payments
                    ? abi.encodeCall(IEnergyMarket.withdrawPayment, (take))
                    : abi.encodeCall(IEnergyMarket.withdrawEnergy, (take))
            );
        _checkLocked(ok, err);
    }

    /// @notice A trader cancels a nonce (one of a pending order, or a future one).
    function cancel(uint256 seed) external timed {
        address trader = _trader(seed);
        uint64 nonce = lastNonce + uint64(seed >> 16) % 3;
        vm.prank(trader);
        (bool ok, bytes memory err) = address(market)
            .call(abi.encodeCall(IEnergyMarket.invalidateNonces, (nonce >> 8, uint256(1) << (nonce & 0xFF))));
        _checkLocked(ok, err);
    }

    /// @notice A hostile trader of the pending interval front-runs its settlement: takes out
    ///         1 Wh or 1 unit, cancels its order, or re-deposits and withdraws the deposit.
    function frontRun(uint256 seed) external timed {
        if (!_gateLocks() || pendingFills.length == 0) return;
        IEnergyMarket.Order memory order = pendingFills[seed % pendingFills.length].order;
        address trader = order.trader;
        uint256 kind = (seed >> 8) % 4;
        bytes memory attempt;
        if (kind == 0) {
            attempt = abi.encodeCall(IEnergyMarket.withdrawEnergy, (1));
        } else if (kind == 1) {
            attempt = abi.encodeCall(IEnergyMarket.withdrawPayment, (1));
        } else if (kind == 2) {
            attempt =
                abi.encodeCall(IEnergyMarket.invalidateNonces, (order.nonce >> 8, uint256(1) << (order.nonce & 0xFF)));
        } else {
            dollar.mint(trader, 1_000);
            vm.startPrank(trader);
            dollar.approve(address(market), 1_000);
            try market.depositPayment(1_000) {}
            catch (bytes memory err) {
                _wrongRefusal(err);
            }
            vm.stopPrank();
            attempt = abi.encodeCall(IEnergyMarket.withdrawPayment, (1_000));
        }
        vm.prank(trader);
        (bool ok, bytes memory err) = address(market).call(attempt);
        _checkLocked(ok, err);
        if (!ok) ++frontRunsRefused;
    }

    // ---------------------------------------------------------------- actions: the operator
    /// @notice Gate closure of the next interval: orders of a random subset of traders, then the
    ///         operator's funding check (after the gate closed, as MarketOperator does), then the
    ///         clearing it will settle.
    function closeGate(uint256 seed) external timed {
        uint64 interval = uint64(block.timestamp - (block.timestamp % 900)) + 900;
        if (interval < nextDelivery) interval = nextDelivery;
        vm.prank(marketOperator);
        (bool ok, bytes memory err) =
            address(market).call(abi.encodeCall(IEnergyMarket.closeGate, (interval, keccak256(abi.encode(seed)))));
        bool shouldPass = !_gateLocks() && block.timestamp >= cooldownUntil;
        if (ok != shouldPass) {
            if (ok) ++ghostLockBreaches;
            else _wrongRefusal(err);
        }
        if (!ok) return;
        delivery = interval;
        nextDelivery = interval + 900;
        gatePending = true;
        (,, gateDeadline) = market.pendingGate();
        pricing = IEnergyMarket.Pricing(seed % 3);
        price = uint64(190_000 + (seed >> 8) % 20_001);
        delete pendingFills;
        _admitAndClear(seed);
    }

    /// @notice The operator settles the pending gate (first trying a broken clearing one time in
    ///         four); past the deadline the settlement must be refused and the gate counts as
    ///         expired; a gate without trades is released.
    function settle(uint256 seed) external timed {
        if (!gatePending) return;
        IEnergyMarket.Fill[] memory fills = pendingFills;
        IEnergyMarket.Clearing memory clearing =
            IEnergyMarket.Clearing(PAIR, delivery, pricing, price, keccak256("book"));
        if (block.timestamp >= gateDeadline) {
            if (fills.length != 0 && _trySettle(clearing, fills)) ++ghostBadSettlements;
            _expire();
            return;
        }
        if (fills.length == 0) {
            vm.prank(marketOperator);
            try market.releaseGate(delivery) {}
            catch (bytes memory err) {
                _wrongRefusal(err);
            }
            gatePending = false;
            return;
        }
        if (seed % 4 == 0) {
            // Above every buy limit; a fresh struct, since memory structs are assigned by reference.
            IEnergyMarket.Clearing memory broken =
                IEnergyMarket.Clearing(PAIR, delivery, pricing, 301_000, keccak256("book"));
            if (_trySettle(broken, fills)) ++ghostBadSettlements;
        }
        vm.prank(marketOperator);
        try market.settleInterval(clearing, fills) {
            ++settlementsLanded;
            settledIntervals.push(delivery);
        } catch (bytes memory err) {
            ++ghostFailedSettlements;
            lastUnexpectedRevert = err;
        }
        gatePending = false;
    }

    /// @notice The operator (or a bug) tries to close the gate of a settled interval again.
    function replay(uint256 seed) external timed {
        if (settledIntervals.length == 0 || _gateLocks() || block.timestamp < cooldownUntil) return;
        uint64 interval = settledIntervals[seed % settledIntervals.length];
        vm.prank(marketOperator);
        try market.closeGate(interval, bytes32(0)) {
            ++ghostBadSettlements;
            vm.prank(marketOperator);
            market.releaseGate(interval);
        } catch {}
    }

    // ---------------------------------------------------------------- internals
    function _admitAndClear(uint256 seed) internal {
        IEnergyMarket.Fill[] memory sells = new IEnergyMarket.Fill[](TRADERS);
        IEnergyMarket.Fill[] memory buys = new IEnergyMarket.Fill[](TRADERS);
        uint256 soldWh;
        uint256 boughtWh;
        uint256 nSells;
        uint256 nBuys;
        for (uint256 i; i < TRADERS; ++i) {
            uint256 s = uint256(keccak256(abi.encode(seed, i)));
            if (s % 4 != 0) {
                IEnergyMarket.Order memory sell = _order(
                    sellerKeys[i],
                    IEnergyMarket.Side.Sell,
                    uint64(1 + (s >> 8) % 1_500),
                    uint64(100_000 + (s >> 24) % 90_000),
                    ++lastNonce
                );
                if (_fundedSell(sell)) {
                    sells[nSells++] = _fill(sellerKeys[i], sell, sell.energyWh);
                    soldWh += sell.energyWh;
                }
            }
            if ((s >> 2) % 4 != 0) {
                IEnergyMarket.Order memory buy = _order(
                    buyerKeys[i],
                    IEnergyMarket.Side.Buy,
                    uint64(1 + (s >> 40) % 1_500),
                    uint64(211_000 + (s >> 56) % 89_000),
                    ++lastNonce
                );
                if (_fundedBuy(buy)) {
                    buys[nBuys++] = _fill(buyerKeys[i], buy, buy.energyWh);
                    boughtWh += buy.energyWh;
                }
            }
        }
        // Fill the smaller side whole and the larger one in order up to the same volume.
        uint256 volumeWh = soldWh < boughtWh ? soldWh : boughtWh;
        IEnergyMarket.Fill[] memory sold = _upTo(sells, nSells, volumeWh);
        IEnergyMarket.Fill[] memory bought = _upTo(buys, nBuys, volumeWh);
        IEnergyMarket.Fill[] memory fills = _ordered(sold, bought);
        for (uint256 i; i < fills.length; ++i) {
            if (pricing == IEnergyMarket.Pricing.Nodal) {
                // Buys at the energy price, each sell at a node price between its limit and it.
                uint64 limit = fills[i].order.limitPricePerKWh;
                fills[i].pricePerKWh = fills[i].order.side == uint8(IEnergyMarket.Side.Buy)
                    ? price
                    : limit + uint64(uint256(keccak256(abi.encode(seed, i))) % (price - limit + 1));
            }
            pendingFills.push(fills[i]);
        }
    }

    function _fundedSell(IEnergyMarket.Order memory order) internal view returns (bool) {
        return !market.isNonceInvalidated(order.trader, order.nonce) && _energyOf(order.trader) >= order.energyWh;
    }

    function _fundedBuy(IEnergyMarket.Order memory order) internal view returns (bool) {
        uint256 need =
            (order.energyWh * order.limitPricePerKWh + 999) / 1000 + (order.energyWh * FEE_PER_KWH + 999) / 1000;
        return !market.isNonceInvalidated(order.trader, order.nonce) && _paymentOf(order.trader) >= need;
    }

    /// @dev The first fills of `fills[0..n)` up to `volumeWh`, the last one partly.
    function _upTo(IEnergyMarket.Fill[] memory fills, uint256 n, uint256 volumeWh)
        internal
        pure
        returns (IEnergyMarket.Fill[] memory chosen)
    {
        uint256 count;
        uint256 left = volumeWh;
        for (; count < n && left != 0; ++count) {
            uint64 take = fills[count].order.energyWh < left ? fills[count].order.energyWh : uint64(left);
            fills[count].filledWh = take;
            left -= take;
        }
        chosen = new IEnergyMarket.Fill[](count);
        for (uint256 i; i < count; ++i) {
            chosen[i] = fills[i];
        }
    }

    function _trySettle(IEnergyMarket.Clearing memory clearing, IEnergyMarket.Fill[] memory fills)
        internal
        returns (bool landed)
    {
        vm.prank(marketOperator);
        try market.settleInterval(clearing, fills) {
            settledIntervals.push(clearing.intervalStart);
            return true;
        } catch {
            return false;
        }
    }

    function _expire() internal {
        gatePending = false;
        ++gatesExpired;
        cooldownUntil = gateDeadline + market.GATE_COOLDOWN_SECONDS();
    }

    /// @dev Whether the gate the handler closed still locks escrow and nonces.
    function _gateLocks() internal returns (bool) {
        if (gatePending && block.timestamp >= gateDeadline) _expire();
        return gatePending;
    }

    /// @dev A withdrawal or cancellation: refused with SettlementPending exactly while locked.
    function _checkLocked(bool ok, bytes memory err) internal {
        if (_gateLocks()) {
            if (ok) ++ghostLockBreaches;
            else if (bytes4(err) != IEnergyMarket.SettlementPending.selector) _wrongRefusal(err);
        } else if (!ok) {
            _wrongRefusal(err);
        }
    }

    function _wrongRefusal(bytes memory err) internal {
        ++ghostWrongRefusals;
        lastUnexpectedRevert = err;
    }

    function _recordMint(uint256 energyWh, uint256 expiresAt) internal {
        if (energyWh == 0) return;
        ghostMintedWh += energyWh;
        mintedWh.push(energyWh);
        mintedExpiresAt.push(expiresAt);
    }

    function _trader(uint256 seed) internal view returns (address) {
        uint256 i = (seed >> 1) % TRADERS;
        return seed % 2 == 0 ? sellers[i] : buyers[i];
    }

    function _paymentOf(address trader) internal view returns (uint256 units) {
        (units,) = market.accountOf(trader);
    }

    function _energyOf(address trader) internal view returns (uint256 energyWh) {
        (, energyWh) = market.accountOf(trader);
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

    function invariant_paymentInMarketEqualsEscrowAccounts() public {
        (uint256 accounts, uint256 held) = handler.paymentBooks();
        require(accounts == held, "payment not conserved");
    }

    function invariant_energyInMarketEqualsLiveEscrow() public {
        (uint256 escrowed, uint256 marketHeld,,) = handler.energyBooks();
        require(escrowed == marketHeld, "escrowed energy not conserved");
    }

    /// @dev Nothing in this world burns: minted = held + escrowed + expired.
    function invariant_energyMintedIsHeldEscrowedOrExpired() public {
        (, uint256 marketHeld, uint256 wallets, uint256 expired) = handler.energyBooks();
        require(handler.ghostMintedWh() == wallets + marketHeld + expired, "minted energy unaccounted");
    }

    function invariant_admittedSettlementsLand() public view {
        if (handler.ghostFailedSettlements() != 0) _bubble(handler.lastUnexpectedRevert());
    }

    /// @dev Fails with the unexpected revert itself, so the report names its error.
    function _bubble(bytes memory err) internal pure {
        if (err.length == 0) revert("unexpected revert without data");
        assembly ("memory-safe") {
            revert(add(err, 32), mload(err))
        }
    }

    function invariant_pendingGateLocksEscrowAndNonces() public view {
        require(handler.ghostLockBreaches() == 0, "escrow or a nonce moved under a pending gate");
    }

    function invariant_openPathsAreNeverRefused() public view {
        if (handler.ghostWrongRefusals() != 0) _bubble(handler.lastUnexpectedRevert());
    }

    function invariant_intervalsSettleOnceAndOnlyValidly() public view {
        require(handler.ghostBadSettlements() == 0, "a broken, expired or repeated settlement landed");
        IEnergyMarket market = handler.marketUnderTest();
        for (uint256 i; i < handler.settledCount(); ++i) {
            require(market.isSettled(handler.settledAt(i)), "a settled interval reads unsettled");
        }
    }
}

/// @notice The handler's own paths work: a scripted life in which the interval settles, a
///         front-runner is refused and an expired gate unlocks (the invariant campaign would
///         prove nothing if its settlements never landed).
contract MarketHandlerTest {
    function test_handler_gateClosure_frontRunRefused_intervalSettles() public {
        MarketHandler handler = new MarketHandler();
        handler.closeGate(6208);
        handler.frontRun(0);
        handler.frontRun(1 << 8);
        handler.frontRun(2 << 8);
        handler.settle(1);
        require(handler.settlementsLanded() == 1, "settled");
        require(handler.frontRunsRefused() == 3, "front-runs refused");
        require(
            handler.ghostWrongRefusals() + handler.ghostFailedSettlements() + handler.ghostLockBreaches() == 0, "clean"
        );
    }

    function test_handler_gatePastDeadline_expiresAndUnlocks() public {
        MarketHandler handler = new MarketHandler();
        handler.closeGate(7);
        handler.warp(9 + 10 * 60_000); // a step of more than 900 s
        handler.settle(1);
        handler.withdraw(0, 1);
        require(handler.gatesExpired() == 1, "expired");
        require(handler.ghostWrongRefusals() + handler.ghostBadSettlements() == 0, "clean");
    }
}
