// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title ICarbonPool
/// @notice A bundle of carbon credits that meet fixed criteria, as one ERC-20 pool token minted
///         1:1 (1 unit = 1 g CO2e) for deposited credits. Holders redeem credits oldest vintage
///         first, pick a certificate for a fee, or retire credits straight from the pool.
interface ICarbonPool {
    // ---------------------------------------------------------------- types
    /// @notice What a certificate must meet to enter the pool. Fixed for the pool's life, so a
    ///         pool token always stands for the same quality. Empty lists accept any value.
    struct Criteria {
        uint64 minVintageStart; // unix seconds
        uint64 minRemainingValiditySeconds; // at every deposit, credits must stay valid longer than this
        uint32 energySourceMask; // bit i set: ISmartMeter.EnergySource(i) accepted
        uint16[] regions;
        bytes32[] methodologies;
    }

    // ---------------------------------------------------------------- errors
    error VintageTooOld(uint256 certificateId, uint256 vintageStart, uint256 minVintageStart);
    error EnergySourceNotAccepted(uint256 certificateId, uint8 energySource);
    error RegionNotAccepted(uint256 certificateId, uint16 region);
    error MethodologyNotAccepted(uint256 certificateId, bytes32 methodology);
    error ValidityTooShort(uint256 certificateId, uint256 expiresAt, uint256 requiredUntil);
    /// @notice Certificate ids beyond 2^48 cannot be linked into the vintage list.
    error CertificateIdTooLarge(uint256 certificateId);
    /// @notice The insertion hint is not at or after the certificate's place in vintage order.
    error BadInsertionHint(uint256 certificateId, uint256 hint);
    /// @notice The certificate's place in vintage order is further back than a deposit walks;
    ///         deposit with a hint near its place.
    error InsertionTooFarBack(uint256 certificateId);
    /// @notice The pool holds fewer live credits than asked (within the certificates one call may walk).
    error InsufficientPoolCredits(uint256 availableGrams, uint256 neededGrams);
    /// @notice The certificate's credits in the pool are fewer than asked, or expired.
    error InsufficientCertificateCredits(uint256 certificateId, uint256 heldGrams, uint256 neededGrams);
    error ZeroAmount();
    error InvalidFee(uint256 feeBps);
    error InvalidFeeCollector();
    /// @notice The certificate has not expired, so it cannot be written off.
    error NotExpired(uint256 certificateId);

    // ---------------------------------------------------------------- events
    event Deposited(address indexed depositor, uint256 indexed certificateId, uint256 co2eGrams);
    event Redeemed(address indexed redeemer, uint256 indexed certificateId, uint256 co2eGrams, uint256 feeGrams);
    event RetiredFromPool(
        address indexed holder, uint256 indexed certificateId, uint256 indexed retirementId, uint256 co2eGrams
    );
    /// @notice Credits of an expired certificate left the live holdings; their pool tokens remain
    ///         in circulation, backed by expired credits (see docs/carbon.md).
    event ExpiredWrittenOff(uint256 indexed certificateId, uint256 co2eGrams);

    // ---------------------------------------------------------------- functions
    /// @notice Deposit `amount` g of certificate `certificateId` (the pool must be an approved
    ///         operator of the caller) and receive as many pool token units.
    function deposit(uint256 certificateId, uint256 amount) external;

    /// @notice As deposit, placing the certificate in vintage order by walking back from `hint`
    ///         (a certificate in the pool at or after its place) instead of from the newest.
    function depositWithHint(uint256 certificateId, uint256 amount, uint256 hint) external;

    /// @notice Burn `amount` pool token units for as many credits, oldest vintage first.
    function redeem(uint256 amount) external;

    /// @notice Burn `amount` pool token units for credits of `certificateId`, paying the
    ///         selective-redemption fee in pool tokens to the fee collector on top.
    function redeemSelected(uint256 certificateId, uint256 amount) external;

    /// @notice Burn `amount` pool token units and retire as many pooled credits, oldest vintage
    ///         first, on behalf of `beneficiary`; returns the retirement ids.
    function retireFromPool(uint256 amount, address beneficiary, string calldata purpose)
        external
        returns (uint256[] memory retirementIds);

    /// @notice Anyone: take an expired certificate out of the live holdings.
    function writeOffExpired(uint256 certificateId) external;

    /// @notice Live credits of `certificateId` the pool holds.
    function heldGrams(uint256 certificateId) external view returns (uint256);

    /// @notice Credits in the pool that are not written off: the holdings list, which may include
    ///         a certificate that expired since and is not written off yet (writeOffExpired).
    function liveGrams() external view returns (uint256);

    /// @notice Credits of expired certificates written off so far.
    function expiredGrams() external view returns (uint256);

    /// @notice Certificate ids in the pool, oldest vintage first.
    function holdings() external view returns (uint256[] memory certificateIds);

    /// @notice The fee for picking a certificate, in basis points of the amount.
    function selectiveRedeemFeeBps() external view returns (uint256);
}
