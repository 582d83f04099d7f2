// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SolicitedCreditsHolder} from "./libraries/SolicitedCreditsHolder.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ICarbonExchange} from "./interfaces/ICarbonExchange.sol";
import {ICarbonCredit} from "./interfaces/ICarbonCredit.sol";

/// @title CarbonExchange
/// @notice The carbon/payment pair. A holder offers credits of one certificate at a fixed
///         price per tonne; the credits wait in the exchange until a buyer takes them (all or
///         part) and pays the seller in the same transaction, or the seller cancels. Each
///         certificate is its own product, so buyers always know the generation they buy.
/// @dev OpenZeppelin ERC1155Holder (through SolicitedCreditsHolder: credits arrive only through
///      offer, so the exchange holds exactly its open offers), SafeERC20, ReentrancyGuard,
///      AccessManaged and Pausable. Posted offers rather than the energy market's interval auction: credits do not expire
///      within minutes and need no grid, so continuous trading at the seller's price serves
///      both sides; `Offered`/`Bought`/`Cancelled` events are the trade history.
contract CarbonExchange is ICarbonExchange, SolicitedCreditsHolder, AccessManaged, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    uint256 public constant GRAMS_PER_TONNE = 1_000_000;

    ICarbonCredit public immutable credits;
    IERC20 public immutable paymentToken;

    mapping(uint256 offerId => Offer) private _offers;
    uint256 private _offerCount;

    /// @param authority The AccessManager of the system (EMERGENCY pauses, ADMIN unpauses).
    /// @param credits_ The CarbonCredit contract.
    /// @param paymentToken_ What buyers pay in (the market's payment token).
    constructor(address authority, ICarbonCredit credits_, IERC20 paymentToken_) AccessManaged(authority) {
        credits = credits_;
        paymentToken = paymentToken_;
    }

    /// @notice EMERGENCY: stop offers and purchases (cancelling stays possible).
    function pause() external restricted {
        _pause();
    }

    /// @notice ADMIN (multisig): resume.
    function unpause() external restricted {
        _unpause();
    }

    /// @inheritdoc ICarbonExchange
    function offer(uint256 certificateId, uint256 co2eGrams, uint256 pricePerTonne)
        external
        whenNotPaused
        nonReentrant
        returns (uint256 offerId)
    {
        if (co2eGrams == 0) revert ZeroAmount();
        if (pricePerTonne == 0) revert ZeroPrice();
        if (certificateId > type(uint64).max) revert CertificateIdTooLarge(certificateId);
        offerId = ++_offerCount;
        _offers[offerId] = Offer({
            seller: msg.sender,
            certificateId: uint64(certificateId),
            remainingGrams: SafeCast.toUint96(co2eGrams),
            pricePerTonne: SafeCast.toUint128(pricePerTonne)
        });
        emit Offered(offerId, msg.sender, certificateId, co2eGrams, pricePerTonne);
        // Reverts for expired credits, credits the seller lacks, or a missing approval.
        IERC1155(address(credits)).safeTransferFrom(msg.sender, address(this), certificateId, co2eGrams, "");
    }

    /// @inheritdoc ICarbonExchange
    function buy(uint256 offerId, uint256 co2eGrams, uint256 maxPricePerTonne)
        external
        whenNotPaused
        nonReentrant
        returns (uint256 paymentUnits)
    {
        if (co2eGrams == 0) revert ZeroAmount();
        Offer memory open = _existing(offerId);
        // A seller buying its own offer would write a trade at any price into the history.
        if (msg.sender == open.seller) revert SelfTrade(offerId);
        if (open.remainingGrams < co2eGrams) revert InsufficientOffer(offerId, open.remainingGrams, co2eGrams);
        if (open.pricePerTonne > maxPricePerTonne) {
            revert PriceAboveLimit(offerId, open.pricePerTonne, maxPricePerTonne);
        }
        uint96 remaining = open.remainingGrams - uint96(co2eGrams);
        if (remaining == 0) delete _offers[offerId];
        else _offers[offerId].remainingGrams = remaining;
        paymentUnits = costOf(co2eGrams, open.pricePerTonne);
        emit Bought(offerId, msg.sender, open.seller, open.certificateId, co2eGrams, paymentUnits);
        // The payment goes straight to the seller, so there is no balance here to credit a fee
        // against: a token that changes the amount in transit is refused (ICarbonExchange).
        uint256 sellerBefore = paymentToken.balanceOf(open.seller);
        paymentToken.safeTransferFrom(msg.sender, open.seller, paymentUnits);
        uint256 sellerAfter = paymentToken.balanceOf(open.seller);
        if (sellerAfter != sellerBefore + paymentUnits) {
            revert PaymentAmountMismatch(
                offerId, paymentUnits, sellerAfter > sellerBefore ? sellerAfter - sellerBefore : 0
            );
        }
        IERC1155(address(credits)).safeTransferFrom(address(this), msg.sender, open.certificateId, co2eGrams, "");
    }

    /// @inheritdoc ICarbonExchange
    function cancel(uint256 offerId) external nonReentrant {
        Offer memory open = _existing(offerId);
        if (msg.sender != open.seller) revert NotSeller(msg.sender, open.seller);
        delete _offers[offerId];
        // Expired credits cannot move: the offer closes and they stay here, frozen.
        bool expired = block.timestamp >= credits.certificateExpiry(open.certificateId);
        emit Cancelled(offerId, expired ? 0 : open.remainingGrams, expired);
        if (!expired) {
            IERC1155(address(credits))
                .safeTransferFrom(address(this), msg.sender, open.certificateId, open.remainingGrams, "");
        }
    }

    /// @inheritdoc ICarbonExchange
    function offerOf(uint256 offerId) external view returns (Offer memory) {
        return _offers[offerId];
    }

    /// @inheritdoc ICarbonExchange
    function offerCount() external view returns (uint256) {
        return _offerCount;
    }

    /// @inheritdoc ICarbonExchange
    function costOf(uint256 co2eGrams, uint256 pricePerTonne) public pure returns (uint256) {
        return Math.mulDiv(co2eGrams, pricePerTonne, GRAMS_PER_TONNE, Math.Rounding.Ceil);
    }

    function _existing(uint256 offerId) private view returns (Offer memory open) {
        open = _offers[offerId];
        if (open.seller == address(0)) revert UnknownOffer(offerId);
    }
}
