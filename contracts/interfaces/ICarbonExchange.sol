// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title ICarbonExchange
/// @notice The carbon/payment pair: holders offer credits of one certificate at a fixed price
///         per tonne (the credits wait in the exchange); buyers take all or part of an offer,
///         paying the seller in the payment token in the same transaction.
interface ICarbonExchange {
    // ---------------------------------------------------------------- types
    struct Offer {
        address seller;
        uint64 certificateId;
        uint96 remainingGrams;
        uint128 pricePerTonne; // payment units per 1,000,000 g CO2e
    }

    // ---------------------------------------------------------------- errors
    error ZeroAmount();
    error ZeroPrice();
    error UnknownOffer(uint256 offerId);
    error NotSeller(address caller, address seller);
    /// @notice A seller cannot buy its own offer (cancel it instead).
    error SelfTrade(uint256 offerId);
    error InsufficientOffer(uint256 offerId, uint256 remainingGrams, uint256 wantedGrams);
    /// @notice The offer's price is above what the buyer accepts.
    error PriceAboveLimit(uint256 offerId, uint256 pricePerTonne, uint256 maxPricePerTonne);
    error CertificateIdTooLarge(uint256 certificateId);
    /// @notice The seller received `receivedUnits` where the buyer paid `paymentUnits`: the payment
    ///         token takes a fee or otherwise changes amounts in transit, and the seller's price
    ///         would not be met, so the purchase is refused.
    error PaymentAmountMismatch(uint256 offerId, uint256 paymentUnits, uint256 receivedUnits);

    // ---------------------------------------------------------------- events
    event Offered(
        uint256 indexed offerId,
        address indexed seller,
        uint256 indexed certificateId,
        uint256 co2eGrams,
        uint256 pricePerTonne
    );
    event Bought(
        uint256 indexed offerId,
        address indexed buyer,
        address indexed seller,
        uint256 certificateId,
        uint256 co2eGrams,
        uint256 paymentUnits
    );
    /// @notice The seller withdrew the offer's remaining credits (or, for expired credits, which
    ///         can no longer move, closed the offer; they stay in the exchange, frozen).
    event Cancelled(uint256 indexed offerId, uint256 returnedGrams, bool expired);

    // ---------------------------------------------------------------- functions
    /// @notice Offer `co2eGrams` of certificate `certificateId` at `pricePerTonne`; the exchange
    ///         must be an approved operator of the caller's credits. Returns the offer id.
    function offer(uint256 certificateId, uint256 co2eGrams, uint256 pricePerTonne) external returns (uint256 offerId);

    /// @notice Take `co2eGrams` of offer `offerId` at no more than `maxPricePerTonne`; pays the
    ///         seller ⌈grams × price / 1,000,000⌉ payment units (the exchange must be approved to
    ///         spend them). Returns what was paid.
    function buy(uint256 offerId, uint256 co2eGrams, uint256 maxPricePerTonne) external returns (uint256 paymentUnits);

    /// @notice The seller closes its offer and gets the remaining credits back. A fully taken
    ///         offer is deleted by its last purchase (UnknownOffer afterwards).
    function cancel(uint256 offerId) external;

    function offerOf(uint256 offerId) external view returns (Offer memory);
    function offerCount() external view returns (uint256);

    /// @notice What `co2eGrams` cost at `pricePerTonne`, rounded up.
    function costOf(uint256 co2eGrams, uint256 pricePerTonne) external pure returns (uint256 paymentUnits);
}
