// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title IEnergyMarket
/// @notice One trading pair (energy / a payment ERC-20) cleared per 15-minute delivery interval.
///         Traders sign orders off-chain (EIP-712); the MARKET_OPERATOR settles each interval's
///         clearing in one call and the contract verifies every fill before moving anything.
/// @dev Prices are in payment-token base units per kWh; amounts of energy in Wh.
interface IEnergyMarket {
    // ---------------------------------------------------------------- types
    enum Side {
        Sell,
        Buy
    }

    /// @notice Uniform: every fill trades at the clearing price. PayAsBid: every fill trades at
    ///         its own limit price; the spread between buyers and sellers goes to the fee collector.
    ///         Nodal: every buy trades at the clearing price (the energy price), every sell at its
    ///         own `Fill.pricePerKWh` (its node's price: the energy price less the losses and the
    ///         congestion its export adds; between its limit and the clearing price); the
    ///         congestion rent and loss charges between them go to the fee collector. The book
    ///         publishes the prices with their proof of optimality, which only `market verify`
    ///         checks: the contract bounds each sell's price, it cannot tell its node's.
    enum Pricing {
        Uniform,
        PayAsBid,
        Nodal
    }

    /// @notice A signed order (EIP-712 type `Order`).
    struct Order {
        address trader;
        uint8 side; // Side
        uint16 pairId; // the market's PAIR_ID
        uint64 intervalStart; // delivery interval, unix seconds, multiple of 900
        uint64 energyWh; // most the order may fill
        uint64 limitPricePerKWh; // payment base units per kWh: most a buyer pays, least a seller takes
        uint64 gridNodeId; // where the trader is connected
        uint64 expiry; // unix seconds; not settled after this
        uint64 nonce; // cancelled through invalidateNonces
    }

    /// @notice One order of a settlement and how much of it the clearing filled.
    struct Fill {
        Order order;
        bytes32 r;
        bytes32 vs; // EIP-2098 compact signature
        uint64 filledWh;
        uint64 pricePerKWh; // Nodal pricing: what this fill trades at; otherwise 0
    }

    /// @notice The result the operator submits for one interval.
    struct Clearing {
        uint16 pairId;
        uint64 intervalStart;
        Pricing pricing;
        uint64 clearingPricePerKWh; // every buy limit >= it >= every sell limit
        bytes32 bookHash; // commitment to every order received for the interval (docs/market.md)
    }

    // ---------------------------------------------------------------- errors
    /// @notice An order or clearing names another trading pair.
    error UnknownPair(uint16 pairId);
    /// @notice The interval was settled already; an interval settles once.
    error IntervalAlreadySettled(uint64 intervalStart);
    /// @notice Delivery intervals start on multiples of 900 s.
    error MisalignedInterval(uint64 intervalStart);
    /// @notice A settlement without fills.
    error EmptySettlement();
    /// @notice Fill `index` is for another delivery interval than the clearing's.
    error OrderForOtherInterval(uint256 index, uint64 intervalStart);
    /// @notice Fill `index` has an order past its expiry.
    error OrderExpired(uint256 index, uint64 expiry);
    /// @notice Fill `index` has an order whose nonce its trader invalidated.
    error OrderNonceInvalidated(uint256 index, address trader, uint64 nonce);
    /// @notice Fill `index` is not signed by its order's trader.
    error InvalidOrderSignature(uint256 index);
    /// @notice Fills must list sells, then buys, each by strictly increasing order hash; fill
    ///         `index` breaks this (which is also how a duplicated order is caught).
    error FillsOutOfOrder(uint256 index);
    /// @notice Fill `index` has an unknown side.
    error InvalidSide(uint256 index);
    /// @notice Fill `index` fills nothing or more than its order's amount.
    error InvalidFillAmount(uint256 index, uint64 filledWh, uint64 orderEnergyWh);
    /// @notice Fill `index` trades on the wrong side of its limit price.
    error LimitPriceViolated(uint256 index, uint64 limitPricePerKWh, uint64 clearingPricePerKWh);
    /// @notice Fill `index` names a price of its own that the pricing does not allow: any under
    ///         Uniform or PayAsBid; under Nodal a buy's other than the clearing price, or a sell's
    ///         above it (so sellers never receive more than buyers pay for the energy).
    error FillPriceInvalid(uint256 index, uint64 pricePerKWh);
    /// @notice Energy bought differs from energy sold.
    error UnbalancedSettlement(uint256 soldWh, uint256 boughtWh);
    /// @notice A buyer's escrowed payment does not cover its fill and fee.
    error InsufficientPayment(address trader, uint256 availableUnits, uint256 neededUnits);
    /// @notice A seller's (or withdrawer's) escrowed live energy does not cover the amount.
    error InsufficientEscrowedEnergy(address trader, uint256 liveWh, uint256 neededWh);
    /// @notice Fill `index` is at a grid node whose zone the grid guard has halted.
    error ZoneHalted(uint256 index, uint64 gridNodeId);
    /// @notice A zero amount where a positive one is needed.
    error ZeroAmount();
    /// @notice Only verified participants may trade energy.
    error ParticipantNotVerified(address trader);
    /// @notice A payment balance would exceed 95 bits.
    error PaymentBalanceOverflow(address trader);
    /// @notice Nonces are uint64, so a bitmap word position is below 2^56.
    error NoncePositionOutOfRange(uint256 wordPosition);
    /// @notice The fee collector cannot be the zero address.
    error InvalidFeeCollector();
    /// @notice The payment token moved an amount the market cannot account for: nothing arrived
    ///         for a deposit, or more than `expectedUnits` left the market for a withdrawal (a
    ///         token that charges its fee to the sender would pay it from other traders' funds).
    error PaymentTransferMismatch(uint256 expectedUnits, uint256 movedUnits);
    /// @notice The payment token refused the trader's EIP-2612 permit (expired, signed by another
    ///         key, for other terms, already used, or the token has no permit) and the market holds
    ///         no allowance of `units` from the trader either.
    error PaymentPermitRefused(address trader, uint256 units);
    /// @notice The gate of `intervalStart` is closed and its settlement pending until `deadline`:
    ///         escrow cannot be withdrawn, nonces not invalidated and no other gate closed until
    ///         the interval settles or the deadline passes.
    error SettlementPending(uint64 intervalStart, uint64 deadline);
    /// @notice No gate of `intervalStart` is pending: closeGate must come before settleInterval
    ///         (and releaseGate).
    error GateNotClosed(uint64 intervalStart);
    /// @notice The gate of `intervalStart` passed its deadline unsettled; its escrow is unlocked.
    error GateExpired(uint64 intervalStart, uint64 deadline);
    /// @notice The last gate expired unsettled; the next may close at `reopensAt`.
    error GateCoolingDown(uint64 reopensAt);

    // ---------------------------------------------------------------- events
    event PaymentDeposited(address indexed trader, uint256 units);
    event PaymentWithdrawn(address indexed trader, uint256 units);
    event EnergyDeposited(address indexed trader, uint256 energyWh);
    event EnergyWithdrawn(address indexed trader, uint256 energyWh);
    /// @notice `trader` cancelled every order whose nonce has its bit set in `mask` of word `wordPosition`.
    event NoncesInvalidated(address indexed trader, uint256 wordPosition, uint256 mask);
    /// @notice An interval was settled: the trade record. Fill i is order `orderHashes[i]` of
    ///         `traders[i]`; `fills[i]` packs filledWh (bits 0..63), paymentUnits (bits 64..191:
    ///         what the buyer paid without fee, or what the seller received) and the side (bit 255,
    ///         1 = buy). One event per settlement instead of one per fill saves about 2,000 gas a fill.
    event IntervalSettled(
        uint64 indexed intervalStart,
        Pricing pricing,
        uint256 clearingPricePerKWh,
        uint256 volumeWh,
        uint256 collectorUnits,
        bytes32 bookHash,
        bytes32[] orderHashes,
        address[] traders,
        uint256[] fills
    );
    /// @notice The operator closed the gate of `intervalStart`: `ordersCommitment` commits to the
    ///         orders received for it (docs/market.md), and escrow and nonces are locked until it
    ///         settles, is released or `deadline` passes.
    event GateClosed(uint64 indexed intervalStart, bytes32 ordersCommitment, uint64 deadline);
    /// @notice The operator released the pending gate of `intervalStart` without settling it.
    event GateReleased(uint64 indexed intervalStart);
    /// @notice Governance set the grid fee (payment base units per kWh bought) and its collector (the DSO).
    event GridFeeSet(address indexed collector, uint256 feePerKWh);
    /// @notice Governance set the contract that can halt settlement in grid zones (zero: none).
    event GridGuardSet(address indexed guard);

    // ---------------------------------------------------------------- functions
    /// @notice MARKET_OPERATOR: close the gate of `intervalStart`, committing to the orders
    ///         received for it. Until it settles, is released or its deadline (at most
    ///         SETTLEMENT_WINDOW_SECONDS away, never past the current energy epoch) passes,
    ///         withdrawals and nonce invalidations revert with SettlementPending.
    function closeGate(uint64 intervalStart, bytes32 ordersCommitment) external;

    /// @notice MARKET_OPERATOR: unlock the pending gate of `intervalStart` without settling it
    ///         (nothing in its book trades).
    function releaseGate(uint64 intervalStart) external;

    /// @notice MARKET_OPERATOR: verify and settle one interval's clearing; all fills or none. The
    ///         interval's gate must be pending (closeGate, deadline not passed). Clears the
    ///         pending gate.
    function settleInterval(Clearing calldata clearing, Fill[] calldata fills) external;

    /// @notice Escrow `units` of the payment token (pulled with transferFrom) for buying.
    function depositPayment(uint256 units) external;

    /// @notice Escrow `units` of the payment token in one transaction, with the trader's EIP-2612
    ///         permit (owner = caller, spender = this market, value = `units`) instead of an
    ///         earlier approve. A permit someone else already submitted still serves: its
    ///         allowance is used (EIP-2612 front-running does not block the deposit).
    /// @param deadline The permit's deadline (unix seconds).
    /// @param v The permit signature's recovery id (27 or 28).
    /// @param r The permit signature's r.
    /// @param s The permit signature's s.
    function depositPaymentWithPermit(uint256 units, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Take back escrowed payment (not while a gate is pending: SettlementPending).
    function withdrawPayment(uint256 units) external;

    /// @notice Escrow `energyWh` of the caller's live energy (oldest first) for selling.
    function depositEnergy(uint256 energyWh) external;

    /// @notice Move escrowed live energy (oldest first) back to the caller's wallet (not while a
    ///         gate is pending).
    function withdrawEnergy(uint256 energyWh) external;

    /// @notice Cancel orders: set bits of the caller's nonce bitmap (nonce = wordPosition * 256 + bit);
    ///         open before gate closure and after settlement or the deadline, not while a gate is pending.
    function invalidateNonces(uint256 wordPosition, uint256 mask) external;

    /// @notice ADMIN (multisig): grid fee per kWh bought and the DSO that collects it.
    function setGridFee(address collector, uint64 feePerKWh) external;

    /// @notice ADMIN (multisig): the grid guard consulted per fill (zero address: none).
    function setGridGuard(address guard) external;

    /// @notice Escrowed payment and live escrowed energy of `trader`.
    function accountOf(address trader) external view returns (uint256 paymentUnits, uint256 energyWh);

    /// @notice Whether the interval starting `intervalStart` has been settled.
    function isSettled(uint64 intervalStart) external view returns (bool);

    /// @notice The pending gate (zeros when none is pending): its interval, when it closed and
    ///         its deadline.
    function pendingGate() external view returns (uint64 intervalStart, uint64 closedAt, uint64 deadline);

    /// @notice Whether `trader` invalidated `nonce`.
    function isNonceInvalidated(address trader, uint64 nonce) external view returns (bool);

    /// @notice The EIP-712 digest a trader signs for `order`; also the order's hash in events.
    function orderHash(Order calldata order) external view returns (bytes32);
}
