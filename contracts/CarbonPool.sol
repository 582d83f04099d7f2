// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SolicitedCreditsHolder} from "./libraries/SolicitedCreditsHolder.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ICarbonPool} from "./interfaces/ICarbonPool.sol";
import {ICarbonCredit} from "./interfaces/ICarbonCredit.sol";

/// @title CarbonPool
/// @notice Bundles carbon credits that meet fixed criteria into one ERC-20 pool token, minted
///         1:1 (1 unit = 1 g CO2e, 6 decimals so 1.0 is a tonne). Pool tokens redeem for credits
///         oldest vintage first, for a chosen certificate against a fee, or retire pooled credits.
///         Pool token supply = live credits held + expired credits written off, always.
/// @dev OpenZeppelin ERC20 and ERC1155Holder (through SolicitedCreditsHolder: credits arrive
///      only through deposit). The vintage-ordered holdings list is written here because no
///      library keeps a sorted linked list of packed holdings. The pool has no owner: its
///      criteria and fee are fixed at deployment. It has no pause of its own either: its tokens
///      stand for credits, so while CarbonCredit is paused (an emergency over the credits) pool
///      tokens do not move and nothing is deposited, redeemed, retired or written off.
contract CarbonPool is ERC20, SolicitedCreditsHolder, ICarbonPool {
    // ---------------------------------------------------------------- constants
    /// @notice Most certificates one redemption or retirement walks through.
    uint256 public constant MAX_CERTIFICATES_PER_CALL = 32;
    /// @notice How far back from its start a deposit walks to find its vintage place.
    uint256 public constant MAX_INSERTION_STEPS = 32;
    uint256 public constant MAX_FEE_BPS = 1_000;

    // ---------------------------------------------------------------- storage
    ICarbonCredit public immutable credits;
    address public immutable feeCollector;
    uint256 private immutable _feeBps;
    uint64 public immutable minVintageStart;
    uint64 public immutable minRemainingValiditySeconds;
    uint32 public immutable energySourceMask;

    /// @dev One slot per certificate held: live grams, vintage end (the sort key, with the id as
    ///      tie-break) and the neighbours in vintage order.
    struct Holding {
        uint96 grams;
        uint40 vintageEnd;
        uint48 previous;
        uint48 next;
    }

    mapping(uint256 certificateId => Holding) private _holdings;
    uint48 private _oldest;
    uint48 private _newest;
    uint128 private _expiredGrams;
    mapping(uint16 region => bool) public regionAccepted;
    mapping(bytes32 methodology => bool) public methodologyAccepted;
    bool public immutable anyRegion;
    bool public immutable anyMethodology;

    /// @param name_ ERC-20 name, e.g. "GridLedger Solar 2026".
    /// @param symbol_ ERC-20 symbol.
    /// @param credits_ The CarbonCredit contract.
    /// @param criteria What a certificate must meet to enter.
    /// @param feeBps Fee for selective redemption, basis points (≤ 10 %).
    /// @param feeCollector_ Who receives selective-redemption fees (in pool tokens).
    constructor(
        string memory name_,
        string memory symbol_,
        ICarbonCredit credits_,
        Criteria memory criteria,
        uint256 feeBps,
        address feeCollector_
    ) ERC20(name_, symbol_) {
        if (feeBps > MAX_FEE_BPS) revert InvalidFee(feeBps);
        if (feeCollector_ == address(0)) revert InvalidFeeCollector();
        credits = credits_;
        feeCollector = feeCollector_;
        _feeBps = feeBps;
        minVintageStart = criteria.minVintageStart;
        minRemainingValiditySeconds = criteria.minRemainingValiditySeconds;
        energySourceMask = criteria.energySourceMask;
        anyRegion = criteria.regions.length == 0;
        anyMethodology = criteria.methodologies.length == 0;
        for (uint256 i; i < criteria.regions.length; ++i) {
            regionAccepted[criteria.regions[i]] = true;
        }
        for (uint256 i; i < criteria.methodologies.length; ++i) {
            methodologyAccepted[criteria.methodologies[i]] = true;
        }
    }

    /// @notice 6 decimals: a unit is a gram, 1.000000 is a tonne of CO2e.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    // ---------------------------------------------------------------- deposits
    /// @inheritdoc ICarbonPool
    function deposit(uint256 certificateId, uint256 amount) external {
        _deposit(certificateId, amount, _newest);
    }

    /// @inheritdoc ICarbonPool
    function depositWithHint(uint256 certificateId, uint256 amount, uint256 hint) external {
        if (hint == 0 || _holdings[hint].grams == 0) revert BadInsertionHint(certificateId, hint);
        _deposit(certificateId, amount, hint);
    }

    function _deposit(uint256 certificateId, uint256 amount, uint256 walkFrom) private {
        if (amount == 0) revert ZeroAmount();
        if (certificateId > type(uint48).max) revert CertificateIdTooLarge(certificateId);
        Holding memory holding = _holdings[certificateId];
        if (holding.grams == 0) {
            uint256 vintageEnd = _checkCriteria(certificateId);
            _link(certificateId, vintageEnd, walkFrom);
            holding = _holdings[certificateId];
        } else {
            // A top-up of a certificate already pooled: its terms passed, its validity may not.
            _checkValidity(certificateId, credits.certificateExpiry(certificateId));
        }
        _holdings[certificateId].grams = holding.grams + uint96(amount);
        IERC1155(address(credits)).safeTransferFrom(msg.sender, address(this), certificateId, amount, "");
        _mint(msg.sender, amount);
        emit Deposited(msg.sender, certificateId, amount);
    }

    // ---------------------------------------------------------------- redemption and retirement
    /// @inheritdoc ICarbonPool
    function redeem(uint256 amount) external {
        _burn(msg.sender, amount);
        (uint256[] memory ids, uint256[] memory values) = _takeOldest(amount);
        IERC1155(address(credits)).safeBatchTransferFrom(address(this), msg.sender, ids, values, "");
        for (uint256 i; i < ids.length; ++i) {
            emit Redeemed(msg.sender, ids[i], values[i], 0);
        }
    }

    /// @inheritdoc ICarbonPool
    function redeemSelected(uint256 certificateId, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 held = _holdings[certificateId].grams;
        if (held < amount || credits.liveBalanceOf(address(this), certificateId) == 0) {
            revert InsufficientCertificateCredits(certificateId, held, amount);
        }
        // Rounded up, so picking in small pieces costs no less.
        uint256 fee = (amount * _feeBps + 9_999) / 10_000;
        _burn(msg.sender, amount);
        if (fee != 0) _transfer(msg.sender, feeCollector, fee);
        _reduce(certificateId, held, amount);
        IERC1155(address(credits)).safeTransferFrom(address(this), msg.sender, certificateId, amount, "");
        emit Redeemed(msg.sender, certificateId, amount, fee);
    }

    /// @inheritdoc ICarbonPool
    function retireFromPool(uint256 amount, address beneficiary, string calldata purpose)
        external
        returns (uint256[] memory retirementIds)
    {
        _burn(msg.sender, amount);
        (uint256[] memory ids, uint256[] memory values) = _takeOldest(amount);
        retirementIds = new uint256[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            retirementIds[i] = credits.retireCertificateCredits(ids[i], values[i], beneficiary, purpose);
            emit RetiredFromPool(msg.sender, ids[i], retirementIds[i], values[i]);
        }
    }

    /// @inheritdoc ICarbonPool
    function writeOffExpired(uint256 certificateId) external {
        _requireCreditsNotPaused();
        uint256 held = _holdings[certificateId].grams;
        if (held == 0 || credits.liveBalanceOf(address(this), certificateId) != 0) revert NotExpired(certificateId);
        _writeOff(certificateId, held);
    }

    /// @dev Every mint, burn and transfer of pool tokens: refused while the credits are paused.
    function _update(address from, address to, uint256 value) internal override {
        _requireCreditsNotPaused();
        super._update(from, to, value);
    }

    function _requireCreditsNotPaused() private view {
        if (Pausable(address(credits)).paused()) revert Pausable.EnforcedPause();
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc ICarbonPool
    function heldGrams(uint256 certificateId) external view returns (uint256) {
        return _holdings[certificateId].grams;
    }

    /// @inheritdoc ICarbonPool
    function liveGrams() external view returns (uint256) {
        return totalSupply() - _expiredGrams;
    }

    /// @inheritdoc ICarbonPool
    function expiredGrams() external view returns (uint256) {
        return _expiredGrams;
    }

    /// @inheritdoc ICarbonPool
    function holdings() external view returns (uint256[] memory certificateIds) {
        uint256 count;
        for (uint256 id = _oldest; id != 0; id = _holdings[id].next) {
            ++count;
        }
        certificateIds = new uint256[](count);
        uint256 i;
        for (uint256 id = _oldest; id != 0; id = _holdings[id].next) {
            certificateIds[i++] = id;
        }
    }

    /// @inheritdoc ICarbonPool
    function selectiveRedeemFeeBps() external view returns (uint256) {
        return _feeBps;
    }

    // ---------------------------------------------------------------- internals
    /// @dev Checks the certificate against the criteria; returns its vintage end (the sort key).
    function _checkCriteria(uint256 certificateId) private view returns (uint256) {
        ICarbonCredit.EmissionData memory data = credits.getEmissionReductions(certificateId);
        if (data.vintageStart < minVintageStart) {
            revert VintageTooOld(certificateId, data.vintageStart, minVintageStart);
        }
        if ((energySourceMask >> data.energySource) & 1 == 0) {
            revert EnergySourceNotAccepted(certificateId, data.energySource);
        }
        if (!anyRegion && !regionAccepted[data.region]) revert RegionNotAccepted(certificateId, data.region);
        if (!anyMethodology && !methodologyAccepted[data.methodology]) {
            revert MethodologyNotAccepted(certificateId, data.methodology);
        }
        _checkValidity(certificateId, data.expiresAt);
        return data.vintageEnd;
    }

    /// @dev Deposited credits must stay valid for more than the pool's minimum.
    function _checkValidity(uint256 certificateId, uint256 expiresAt) private view {
        uint256 requiredUntil = block.timestamp + minRemainingValiditySeconds;
        if (expiresAt <= requiredUntil) revert ValidityTooShort(certificateId, expiresAt, requiredUntil);
    }

    /// @dev Whether `a` (vintage end, id) sorts after `b`'s holding.
    function _after(uint256 aVintageEnd, uint256 aId, Holding memory b, uint256 bId) private pure returns (bool) {
        return aVintageEnd > b.vintageEnd || (aVintageEnd == b.vintageEnd && aId > bId);
    }

    /// @dev Links a new certificate into vintage order, walking back from `walkFrom`.
    function _link(uint256 certificateId, uint256 vintageEnd, uint256 walkFrom) private {
        uint256 next; // the holding that will follow the new one (0 = it becomes the newest)
        uint256 previous = walkFrom;
        if (walkFrom != 0 && walkFrom != _newest) {
            // A hint must not be before the new certificate's place.
            if (_after(vintageEnd, certificateId, _holdings[walkFrom], walkFrom)) {
                revert BadInsertionHint(certificateId, walkFrom);
            }
        }
        uint256 steps;
        while (previous != 0) {
            Holding memory candidate = _holdings[previous];
            if (_after(vintageEnd, certificateId, candidate, previous)) break;
            if (++steps > MAX_INSERTION_STEPS) revert InsertionTooFarBack(certificateId);
            next = previous;
            previous = candidate.previous;
        }
        _holdings[certificateId] =
            Holding({grams: 0, vintageEnd: uint40(vintageEnd), previous: uint48(previous), next: uint48(next)});
        if (previous == 0) _oldest = uint48(certificateId);
        else _holdings[previous].next = uint48(certificateId);
        if (next == 0) _newest = uint48(certificateId);
        else _holdings[next].previous = uint48(certificateId);
    }

    function _unlink(uint256 certificateId) private {
        Holding memory holding = _holdings[certificateId];
        if (holding.previous == 0) _oldest = holding.next;
        else _holdings[holding.previous].next = holding.next;
        if (holding.next == 0) _newest = holding.previous;
        else _holdings[holding.next].previous = holding.previous;
        delete _holdings[certificateId];
    }

    /// @dev Lowers a holding by `amount`, unlinking it when it is spent.
    function _reduce(uint256 certificateId, uint256 held, uint256 amount) private {
        if (held == amount) _unlink(certificateId);
        else _holdings[certificateId].grams = uint96(held - amount);
    }

    function _writeOff(uint256 certificateId, uint256 held) private {
        _unlink(certificateId);
        _expiredGrams += uint128(held);
        emit ExpiredWrittenOff(certificateId, held);
    }

    /// @dev Takes `amount` live credits, oldest vintage first, writing off expired holdings met
    ///      on the way; walks at most MAX_CERTIFICATES_PER_CALL holdings.
    function _takeOldest(uint256 amount) private returns (uint256[] memory ids, uint256[] memory values) {
        if (amount == 0) revert ZeroAmount();
        ids = new uint256[](MAX_CERTIFICATES_PER_CALL);
        values = new uint256[](MAX_CERTIFICATES_PER_CALL);
        uint256 taken;
        uint256 count;
        uint256 id = _oldest;
        for (uint256 step; step < MAX_CERTIFICATES_PER_CALL && id != 0 && taken < amount; ++step) {
            uint256 held = _holdings[id].grams;
            uint256 following = _holdings[id].next;
            if (credits.liveBalanceOf(address(this), id) == 0) {
                _writeOff(id, held);
            } else {
                uint256 part = amount - taken < held ? amount - taken : held;
                ids[count] = id;
                values[count] = part;
                ++count;
                taken += part;
                _reduce(id, held, part);
            }
            id = following;
        }
        if (taken < amount) revert InsufficientPoolCredits(taken, amount);
        assembly ("memory-safe") {
            mstore(ids, count)
            mstore(values, count)
        }
    }
}
