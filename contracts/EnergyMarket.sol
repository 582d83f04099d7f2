// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IEnergyMarket} from "./interfaces/IEnergyMarket.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {IGridGuard} from "./interfaces/IGridGuard.sol";
import {EpochBuckets} from "./libraries/EpochBuckets.sol";

/// @title EnergyMarket
/// @notice Energy / payment-token market cleared per 15-minute interval by an off-chain engine
///         and verified here fill by fill: signature, nonce, expiry, amount, limit price, balance
///         of energy bought and sold, one settlement per interval. Energy and payment move for
///         all fills or for none (delivery versus payment).
/// @dev Funding model: escrowed internal balances (docs/market.md). Each trader has one storage
///      word here: payment balance in the low 96 bits and escrowed energy in the high bits, in
///      the same epoch buckets as the EnergyToken so that expiry is enforced while escrowed.
///      A settlement therefore touches one word per fill and makes no token calls.
contract EnergyMarket is IEnergyMarket, AccessManaged, Pausable, ReentrancyGuardTransient, EIP712 {
    using EpochBuckets for uint256;
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- constants
    uint256 public constant INTERVAL_SECONDS = 900;
    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(address trader,uint8 side,uint16 pairId,uint64 intervalStart,uint64 energyWh,uint64 limitPricePerKWh,uint64 gridNodeId,uint64 expiry,uint64 nonce)"
    );
    /// Low 96 bits of an account word: payment balance (bits 0..94) and the flag (bit 95) that
    /// the trader has invalidated nonces, so that only such traders' fills read the bitmap.
    uint256 private constant MAX_PAYMENT_UNITS = (1 << 95) - 1;
    uint256 private constant INVALIDATED_NONCES_FLAG = 1 << 95;
    /// @notice Longest time between gate closure and settlement; escrow and nonces stay locked
    ///         for at most this long (less when the energy epoch ends sooner, see closeGate).
    uint256 public constant SETTLEMENT_WINDOW_SECONDS = 300;
    /// @notice After a gate expires unsettled, the next gate waits this long, so that every
    ///         trader gets a real chance to withdraw before funds can be locked again.
    uint256 public constant GATE_COOLDOWN_SECONDS = 300;

    // ---------------------------------------------------------------- storage
    /// @notice The trading pair this market clears (orders name it).
    uint16 public immutable PAIR_ID;
    IEnergyToken public immutable energyToken;
    IERC20 public immutable paymentToken;
    uint256 private immutable EPOCH_SECONDS;

    /// collector address (low 160 bits) | grid fee per kWh (bits 160..223)
    uint256 private _feeConfig;
    IGridGuard public gridGuard;

    mapping(address trader => uint256 word) private _accounts;
    /// (trader << 96 | nonce >> 8) => invalidated bits; one flat mapping saves a hash per fill
    mapping(uint256 traderAndWord => uint256 bits) private _invalidNonces;
    mapping(uint256 wordPosition => uint256 bits) private _settledIntervals;
    /// The pending gate: intervalStart (bits 0..63) | closedAt (64..127) | deadline (128..191).
    /// Zero once settled or released; an expired gate stays until the next closeGate (cooldown).
    /// One word so that the lock check of a withdrawal or cancellation is a single read.
    uint256 private _gate;

    /// @dev Running sums of one settlement, kept in memory to keep the loop's stack small.
    struct Totals {
        uint256 soldWh;
        uint256 boughtWh;
        uint256 poolPreviousWh;
        uint256 poolCurrentWh;
        uint256 paidUnits;
        uint256 receivedUnits;
        uint256 nowEpoch;
        uint256 feePerKWh;
        /// The grid guard while some zone is in peak (buyers there pay the peak fee), else zero.
        IGridGuard peakGuard;
        bytes32 lastHash;
        bool buying;
        bytes32[] orderHashes;
        address[] traders;
        uint256[] fills;
    }

    /// @param authority The AccessManager of the system.
    /// @param pairId The id orders use for this pair.
    /// @param token The energy token traded.
    /// @param payment The payment token: a plain ERC-20; a fee-taking one is credited what arrives (docs/market.md).
    /// @param feeCollector The DSO that collects grid fees.
    /// @param gridFeePerKWh Grid fee in payment base units per kWh bought.
    constructor(
        address authority,
        uint16 pairId,
        IEnergyToken token,
        IERC20 payment,
        address feeCollector,
        uint64 gridFeePerKWh
    ) AccessManaged(authority) EIP712("GridLedger EnergyMarket", "1") {
        PAIR_ID = pairId;
        energyToken = token;
        paymentToken = payment;
        EPOCH_SECONDS = token.epochSeconds();
        _setGridFee(feeCollector, gridFeePerKWh);
    }

    // ---------------------------------------------------------------- administration
    /// @inheritdoc IEnergyMarket
    function setGridFee(address collector, uint64 feePerKWh) external restricted {
        _setGridFee(collector, feePerKWh);
    }

    /// @inheritdoc IEnergyMarket
    function setGridGuard(address guard) external restricted {
        gridGuard = IGridGuard(guard);
        emit GridGuardSet(guard);
    }

    /// @notice EMERGENCY: stop gate closures, settlements, deposits and withdrawals (cancelling
    ///         stays open outside a pending gate).
    function pause() external restricted {
        _pause();
    }

    /// @notice ADMIN (multisig): resume.
    function unpause() external restricted {
        _unpause();
    }

    // ---------------------------------------------------------------- escrow
    /// @inheritdoc IEnergyMarket
    function depositPayment(uint256 units) external nonReentrant whenNotPaused {
        _depositPayment(units);
    }

    /// @inheritdoc IEnergyMarket
    /// @dev A refused permit is not final: the allowance may stand already (the same permit
    ///      submitted by someone else first, or an approve), so only a missing allowance reverts.
    function depositPaymentWithPermit(uint256 units, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        whenNotPaused
    {
        try IERC20Permit(address(paymentToken)).permit(msg.sender, address(this), units, deadline, v, r, s) {}
        catch {
            if (paymentToken.allowance(msg.sender, address(this)) < units) {
                revert PaymentPermitRefused(msg.sender, units);
            }
        }
        _depositPayment(units);
    }

    /// @dev Credits what arrived, measured on the market's own balance, not `units`: a token that
    ///      keeps a fee in transit (USDT has the switch) then still works, and the credited
    ///      balances never add up to more than the market holds. `PaymentDeposited` carries the
    ///      credited amount.
    function _depositPayment(uint256 units) private {
        if (units == 0) revert ZeroAmount();
        if (!energyToken.isVerified(msg.sender)) revert ParticipantNotVerified(msg.sender);
        uint256 heldBefore = paymentToken.balanceOf(address(this));
        paymentToken.safeTransferFrom(msg.sender, address(this), units);
        uint256 heldAfter = paymentToken.balanceOf(address(this));
        if (heldAfter <= heldBefore) revert PaymentTransferMismatch(units, 0);
        uint256 receivedUnits = heldAfter - heldBefore;
        // Read after the call: a token hook may have changed the word (invalidateNonces sets its flag).
        uint256 word = _accounts[msg.sender];
        _accounts[msg.sender] = _withPayment(msg.sender, word, _payment(word) + receivedUnits);
        emit PaymentDeposited(msg.sender, receivedUnits);
    }

    /// @inheritdoc IEnergyMarket
    /// @dev A fee the recipient bears is the trader's loss; a fee the token takes from the sender
    ///      on top would come out of other traders' funds, so such a transfer is refused.
    function withdrawPayment(uint256 units) external nonReentrant whenNotPaused {
        if (units == 0) revert ZeroAmount();
        _requireNoPendingGate();
        uint256 word = _accounts[msg.sender];
        if (units > _payment(word)) revert InsufficientPayment(msg.sender, _payment(word), units);
        _accounts[msg.sender] = _withPayment(msg.sender, word, _payment(word) - units);
        uint256 heldBefore = paymentToken.balanceOf(address(this));
        paymentToken.safeTransfer(msg.sender, units);
        uint256 heldAfter = paymentToken.balanceOf(address(this));
        if (heldAfter + units < heldBefore) revert PaymentTransferMismatch(units, heldBefore - heldAfter);
        emit PaymentWithdrawn(msg.sender, units);
    }

    /// @inheritdoc IEnergyMarket
    function depositEnergy(uint256 energyWh) external nonReentrant whenNotPaused {
        if (energyWh == 0) revert ZeroAmount();
        (uint256 previousPart, uint256 currentPart) = energyToken.escrowEnergy(msg.sender, energyWh);
        _accounts[msg.sender] = _rolledAccount(msg.sender, _currentEpoch()).plus(previousPart, currentPart);
        emit EnergyDeposited(msg.sender, energyWh);
    }

    /// @inheritdoc IEnergyMarket
    function withdrawEnergy(uint256 energyWh) external nonReentrant whenNotPaused {
        if (energyWh == 0) revert ZeroAmount();
        _requireNoPendingGate();
        uint256 word = _rolledAccount(msg.sender, _currentEpoch());
        if (energyWh > word.live()) revert InsufficientEscrowedEnergy(msg.sender, word.live(), energyWh);
        (uint256 previousPart, uint256 currentPart) = word.oldestFirst(energyWh);
        _accounts[msg.sender] = word.without(previousPart, currentPart);
        energyToken.releaseEnergy(msg.sender, previousPart, currentPart);
        emit EnergyWithdrawn(msg.sender, energyWh);
    }

    /// @inheritdoc IEnergyMarket
    function invalidateNonces(uint256 wordPosition, uint256 mask) external {
        if (wordPosition > type(uint56).max) revert NoncePositionOutOfRange(wordPosition);
        _requireNoPendingGate();
        _invalidNonces[_nonceWord(msg.sender, wordPosition << 8)] |= mask;
        _accounts[msg.sender] |= INVALIDATED_NONCES_FLAG;
        emit NoncesInvalidated(msg.sender, wordPosition, mask);
    }

    // ---------------------------------------------------------------- gate closure
    /// @inheritdoc IEnergyMarket
    function closeGate(uint64 intervalStart, bytes32 ordersCommitment) external restricted whenNotPaused {
        if (intervalStart % INTERVAL_SECONDS != 0) revert MisalignedInterval(intervalStart);
        if (_isSettled(intervalStart)) revert IntervalAlreadySettled(intervalStart);
        uint256 gate = _gate;
        if (gate != 0) {
            uint256 pendingDeadline = gate >> 128;
            if (block.timestamp < pendingDeadline) revert SettlementPending(uint64(gate), uint64(pendingDeadline));
            uint256 reopensAt = pendingDeadline + GATE_COOLDOWN_SECONDS;
            if (block.timestamp < reopensAt) revert GateCoolingDown(uint64(reopensAt));
        }
        // The deadline never passes the end of the energy epoch: escrowed energy live at gate
        // closure then stays live until settlement, so expiry cannot undo the funding check.
        uint256 deadline = block.timestamp + SETTLEMENT_WINDOW_SECONDS;
        uint256 epochEnd = (_currentEpoch() + 1) * EPOCH_SECONDS;
        if (deadline > epochEnd) deadline = epochEnd;
        _gate = uint256(intervalStart) | (block.timestamp << 64) | (deadline << 128);
        emit GateClosed(intervalStart, ordersCommitment, uint64(deadline));
    }

    /// @inheritdoc IEnergyMarket
    function releaseGate(uint64 intervalStart) external restricted whenNotPaused {
        uint256 gate = _gate;
        if (gate == 0 || uint64(gate) != intervalStart || block.timestamp >= gate >> 128) {
            revert GateNotClosed(intervalStart);
        }
        _gate = 0;
        emit GateReleased(intervalStart);
    }

    // ---------------------------------------------------------------- settlement
    /// @inheritdoc IEnergyMarket
    function settleInterval(Clearing calldata clearing, Fill[] calldata fills) external restricted whenNotPaused {
        if (clearing.pairId != PAIR_ID) revert UnknownPair(clearing.pairId);
        if (clearing.intervalStart % INTERVAL_SECONDS != 0) revert MisalignedInterval(clearing.intervalStart);
        if (fills.length == 0) revert EmptySettlement();
        _markSettled(clearing.intervalStart);
        uint256 gate = _gate;
        if (gate == 0 || uint64(gate) != clearing.intervalStart) revert GateNotClosed(clearing.intervalStart);
        if (block.timestamp >= gate >> 128) revert GateExpired(clearing.intervalStart, uint64(gate >> 128));
        _gate = 0;

        uint256 feeConfig = _feeConfig;
        Totals memory totals;
        totals.nowEpoch = _currentEpoch();
        totals.feePerKWh = feeConfig >> 160;
        totals.orderHashes = new bytes32[](fills.length);
        totals.traders = new address[](fills.length);
        totals.fills = new uint256[](fills.length);
        IGridGuard guard = gridGuard;
        // One call per settlement in normal operation; fill by fill only while a zone is halted
        // (may it settle?) or in peak (which fee applies?).
        if (address(guard) != address(0)) {
            (bool anyHalted, bool anyPeak) = guard.gridConditions();
            if (anyPeak) totals.peakGuard = guard;
            if (!anyHalted) guard = IGridGuard(address(0));
        }
        for (uint256 i; i < fills.length; ++i) {
            _settleFill(i, fills[i], clearing, totals, guard);
        }
        if (totals.soldWh != totals.boughtWh) revert UnbalancedSettlement(totals.soldWh, totals.boughtWh);
        // Whatever buyers paid beyond what sellers received: grid fees, rounding, pay-as-bid
        // spread, nodal congestion rent and loss charges.
        uint256 collectorUnits = totals.paidUnits - totals.receivedUnits;
        if (collectorUnits != 0) {
            address collector = address(uint160(feeConfig));
            uint256 word = _accounts[collector];
            _accounts[collector] = _withPayment(collector, word, _payment(word) + collectorUnits);
        }
        emit IntervalSettled(
            clearing.intervalStart,
            clearing.pricing,
            clearing.clearingPricePerKWh,
            totals.soldWh,
            collectorUnits,
            clearing.bookHash,
            totals.orderHashes,
            totals.traders,
            totals.fills
        );
    }

    /// @dev Verifies fill `index` and applies it to its trader's word and the running totals.
    ///      Sellers' energy goes into a pool (oldest epoch first) that buyers then draw from,
    ///      which is why all sells come before all buys.
    function _settleFill(
        uint256 index,
        Fill calldata fill,
        Clearing calldata clearing,
        Totals memory totals,
        IGridGuard guard
    ) private {
        Order calldata order = fill.order;
        bytes32 hash = _hashTypedDataV4(keccak256(abi.encode(ORDER_TYPEHASH, order)));
        uint256 word = _rolledAccount(order.trader, totals.nowEpoch);
        _checkOrder(index, fill, clearing, totals, hash, guard, word & INVALIDATED_NONCES_FLAG != 0);

        uint256 filledWh = fill.filledWh;
        uint256 pricePerKWh = clearing.pricing == Pricing.Uniform
            ? clearing.clearingPricePerKWh
            : clearing.pricing == Pricing.PayAsBid ? order.limitPricePerKWh : fill.pricePerKWh;
        uint256 paymentUnits;
        if (order.side == uint8(Side.Sell)) {
            if (filledWh > word.live()) revert InsufficientEscrowedEnergy(order.trader, word.live(), filledWh);
            (uint256 previousPart, uint256 currentPart) = word.oldestFirst(filledWh);
            totals.poolPreviousWh += previousPart;
            totals.poolCurrentWh += currentPart;
            totals.soldWh += filledWh;
            paymentUnits = filledWh * pricePerKWh / 1000; // sellers' share rounds down
            totals.receivedUnits += paymentUnits;
            word = _withPayment(order.trader, word.without(previousPart, currentPart), _payment(word) + paymentUnits);
        } else {
            totals.boughtWh += filledWh;
            if (totals.boughtWh > totals.soldWh) revert UnbalancedSettlement(totals.soldWh, totals.boughtWh);
            uint256 previousPart = filledWh < totals.poolPreviousWh ? filledWh : totals.poolPreviousWh;
            totals.poolPreviousWh -= previousPart;
            totals.poolCurrentWh -= filledWh - previousPart;
            paymentUnits = _ceilPerKWh(filledWh, pricePerKWh); // buyers' share rounds up
            uint256 dueUnits = paymentUnits + _ceilPerKWh(filledWh, _feeFor(order, totals));
            if (dueUnits > _payment(word)) revert InsufficientPayment(order.trader, _payment(word), dueUnits);
            totals.paidUnits += dueUnits;
            word =
                _withPayment(order.trader, word.plus(previousPart, filledWh - previousPart), _payment(word) - dueUnits);
        }
        _accounts[order.trader] = word;
        totals.orderHashes[index] = hash;
        totals.traders[index] = order.trader;
        totals.fills[index] = filledWh | (paymentUnits << 64) | (uint256(order.side) << 255);
    }

    /// @dev The grid fee per kWh of a buy: the market's, or the grid's peak fee where it is higher.
    function _feeFor(Order calldata order, Totals memory totals) private view returns (uint256 feePerKWh) {
        feePerKWh = totals.feePerKWh;
        if (address(totals.peakGuard) != address(0)) {
            uint256 peakFee = totals.peakGuard.peakFeePerKWh(order.trader, order.gridNodeId);
            if (peakFee > feePerKWh) feePerKWh = peakFee;
        }
    }

    /// @dev Everything about fill `index` that does not depend on balances.
    function _checkOrder(
        uint256 index,
        Fill calldata fill,
        Clearing calldata clearing,
        Totals memory totals,
        bytes32 hash,
        IGridGuard guard,
        bool traderInvalidatedNonces
    ) private view {
        Order calldata order = fill.order;
        if (order.pairId != clearing.pairId) revert UnknownPair(order.pairId);
        if (order.intervalStart != clearing.intervalStart) revert OrderForOtherInterval(index, order.intervalStart);
        if (order.expiry < block.timestamp) revert OrderExpired(index, order.expiry);
        if (order.side > uint8(Side.Buy)) revert InvalidSide(index);
        bool isBuy = order.side == uint8(Side.Buy);
        // Sells first, then buys, each by strictly increasing hash: no order can appear twice.
        if (isBuy != totals.buying) {
            if (!isBuy) revert FillsOutOfOrder(index);
            totals.buying = true;
        } else if (hash <= totals.lastHash) {
            revert FillsOutOfOrder(index);
        }
        totals.lastHash = hash;
        if (fill.filledWh == 0 || fill.filledWh > order.energyWh) {
            revert InvalidFillAmount(index, fill.filledWh, order.energyWh);
        }
        uint64 price = clearing.clearingPricePerKWh;
        if (clearing.pricing == Pricing.Nodal) {
            // Every buyer pays the energy price; a seller earns its node's price, at most the
            // energy price, so what buyers pay for energy always covers what sellers receive.
            if (isBuy ? fill.pricePerKWh != price : fill.pricePerKWh > price) {
                revert FillPriceInvalid(index, fill.pricePerKWh);
            }
            price = fill.pricePerKWh;
        } else if (fill.pricePerKWh != 0) {
            revert FillPriceInvalid(index, fill.pricePerKWh);
        }
        if (isBuy ? order.limitPricePerKWh < price : order.limitPricePerKWh > price) {
            revert LimitPriceViolated(index, order.limitPricePerKWh, price);
        }
        if (
            traderInvalidatedNonces
                && (_invalidNonces[_nonceWord(order.trader, order.nonce)] >> (order.nonce & 0xFF)) & 1 == 1
        ) {
            revert OrderNonceInvalidated(index, order.trader, order.nonce);
        }
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, fill.r, fill.vs);
        if (err != ECDSA.RecoverError.NoError || signer != order.trader) revert InvalidOrderSignature(index);
        if (
            address(guard) != address(0)
                && !guard.settlementAllowed(order.trader, order.gridNodeId, order.intervalStart)
        ) {
            revert ZoneHalted(index, order.gridNodeId);
        }
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc IEnergyMarket
    function accountOf(address trader) external view returns (uint256 paymentUnits, uint256 energyWh) {
        uint256 word = _accounts[trader];
        (uint256 rolledWord,) = word.rolled(_currentEpoch());
        return (_payment(word), rolledWord.live());
    }

    /// @inheritdoc IEnergyMarket
    function isSettled(uint64 intervalStart) external view returns (bool) {
        return _isSettled(intervalStart);
    }

    /// @inheritdoc IEnergyMarket
    function pendingGate() external view returns (uint64 intervalStart, uint64 closedAt, uint64 deadline) {
        uint256 gate = _gate;
        if (block.timestamp >= gate >> 128) return (0, 0, 0);
        return (uint64(gate), uint64(gate >> 64), uint64(gate >> 128));
    }

    /// @inheritdoc IEnergyMarket
    function isNonceInvalidated(address trader, uint64 nonce) external view returns (bool) {
        return (_invalidNonces[_nonceWord(trader, nonce)] >> (nonce & 0xFF)) & 1 == 1;
    }

    /// @inheritdoc IEnergyMarket
    function orderHash(Order calldata order) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(ORDER_TYPEHASH, order)));
    }

    /// @notice The grid fee collector and the fee per kWh bought.
    function gridFee() external view returns (address collector, uint256 feePerKWh) {
        uint256 feeConfig = _feeConfig;
        return (address(uint160(feeConfig)), feeConfig >> 160);
    }

    // ---------------------------------------------------------------- internals
    function _currentEpoch() private view returns (uint256) {
        return block.timestamp / EPOCH_SECONDS;
    }

    /// @dev A trader's word moved to the current epoch; escrowed energy past expiry is dropped
    ///      here exactly as the token drops it from the market's own balance.
    function _rolledAccount(address trader, uint256 nowEpoch) private view returns (uint256 word) {
        (word,) = _accounts[trader].rolled(nowEpoch);
    }

    function _payment(uint256 word) private pure returns (uint256) {
        return word & MAX_PAYMENT_UNITS;
    }

    /// @dev The word with its payment balance set to `units`; the nonce flag is kept.
    function _withPayment(address trader, uint256 word, uint256 units) private pure returns (uint256) {
        if (units > MAX_PAYMENT_UNITS) revert PaymentBalanceOverflow(trader);
        return word.withLow((word & INVALIDATED_NONCES_FLAG) | units);
    }

    function _ceilPerKWh(uint256 energyWh, uint256 unitsPerKWh) private pure returns (uint256) {
        return (energyWh * unitsPerKWh + 999) / 1000;
    }

    function _nonceWord(address trader, uint256 nonce) private pure returns (uint256) {
        return (uint256(uint160(trader)) << 96) | (nonce >> 8);
    }

    function _isSettled(uint64 intervalStart) private view returns (bool) {
        uint256 index = intervalStart / INTERVAL_SECONDS;
        return (_settledIntervals[index >> 8] >> (index & 0xFF)) & 1 == 1;
    }

    /// @dev Escrow and nonces are locked while a gate is pending, so that nobody can take away
    ///      what the closed interval's orders rely on; they unlock at settlement or the deadline.
    function _requireNoPendingGate() private view {
        uint256 gate = _gate;
        if (block.timestamp < gate >> 128) revert SettlementPending(uint64(gate), uint64(gate >> 128));
    }

    function _markSettled(uint64 intervalStart) private {
        uint256 index = intervalStart / INTERVAL_SECONDS;
        uint256 bit = 1 << (index & 0xFF);
        uint256 bits = _settledIntervals[index >> 8];
        if (bits & bit != 0) revert IntervalAlreadySettled(intervalStart);
        _settledIntervals[index >> 8] = bits | bit;
    }

    function _setGridFee(address collector, uint64 feePerKWh) private {
        if (collector == address(0)) revert InvalidFeeCollector();
        _feeConfig = uint256(uint160(collector)) | (uint256(feePerKWh) << 160);
        emit GridFeeSet(collector, feePerKWh);
    }
}
