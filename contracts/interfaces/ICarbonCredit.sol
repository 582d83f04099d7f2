// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title ICarbonCredit
/// @notice Carbon credits for verified renewable generation. A certificate is issued by a
///         VERIFIER for a contiguous range of one meter's energy lots, none of which backed an
///         earlier certificate; its credits (1 unit = 1 g CO2e avoided) are ERC-1155 tokens whose
///         id is the certificate id, transferable until they are retired or expire.
/// @dev The brief's four functions keep their names and argument types. The id-less ones
///      (`retireCredits`, `transferCredits`) take the caller's credits certificate by certificate
///      in the order the caller received them (see docs/carbon.md); the id-specific additions name
///      the certificate.
interface ICarbonCredit {
    // ---------------------------------------------------------------- types
    /// @notice verificationData of issueCreditsCertificate, abi-encoded.
    /// @dev The lots certified are (deviceId << 64 | s) for previousSequence < s ≤ lastSequence:
    ///      every accepted reading of the device in that range. `previousSequence` must be where the
    ///      device's last certificate ended (0 for its first), so no lot backs two certificates.
    struct Verification {
        uint64 deviceId;
        uint64 previousSequence;
        uint64 lastSequence;
        uint64 vintageStart; // unix seconds: start of the first certified lot's interval
        bytes32 methodology; // e.g. "ACM0002" (grid-connected renewable generation)
        bytes32 documentHash; // hash of the verification report
        string documentURI; // where the report is published
    }

    /// @notice Everything a certificate records, with its retirement and expiry state.
    struct EmissionData {
        uint256 certificateId;
        address generator; // owner of the meter, who received the credits
        uint256 deviceId;
        uint256 previousSequence; // lots certified: previousSequence < sequence ≤ lastSequence
        uint256 lastSequence;
        uint8 energySource; // ISmartMeter.EnergySource
        uint16 region; // the generator's jurisdiction code (EnergyToken)
        bytes32 methodology;
        uint256 vintageStart; // unix seconds
        uint256 vintageEnd; // unix seconds: end of the last certified lot's interval
        uint256 energyWh; // verified renewable energy the certificate rests on
        uint256 emissionFactorGramsPerKWh; // the region's factor at issuance
        uint256 co2eGrams; // avoided emissions = credits issued
        uint256 retiredGrams;
        uint256 issuedAt;
        uint256 expiresAt; // from then on its credits cannot move or be retired
        bool expiryRecorded; // recordExpiry was called: the outstanding credits are counted as expired
        bytes32 documentHash;
    }

    /// @notice A retirement as it was recorded: the CreditsRetired event carries it, and the
    ///         retirement log's head commits to every one in order (retirementLogStep).
    struct Retirement {
        address retiree; // whose credits were retired
        address beneficiary; // on whose behalf
        uint256 certificateId;
        uint256 co2eGrams;
        uint256 retiredAt;
        string purpose;
    }

    // ---------------------------------------------------------------- errors
    /// @notice verificationData is not an abi-encoded Verification.
    error MalformedVerification(uint256 length);
    /// @notice The device's energy source is not renewable (grid mix or storage).
    error SourceNotRenewable(uint256 deviceId, uint8 energySource);
    /// @notice The device is quarantined: its readings are in doubt until an authorised reset.
    error DeviceQuarantined(uint256 deviceId);
    /// @notice The generator is not (or no longer) a verified participant.
    error GeneratorNotVerified(address generator);
    /// @notice Credits go to the owner of the meter whose energy backs them.
    error RecipientNotGenerator(address to, address generator);
    /// @notice The range does not start where the device's last certificate ended: some lots
    ///         would back two certificates, or the range is stale.
    error LotRangeNotNext(uint256 deviceId, uint256 certifiedThroughSequence, uint256 previousSequence);
    /// @notice The range ends at or before its start.
    error EmptyLotRange(uint256 deviceId, uint256 previousSequence, uint256 lastSequence);
    /// @notice The lots of the range minted no energy.
    error NoEnergyInRange(uint256 deviceId, uint256 lastSequence);
    /// @notice The vintage start is before the previous certificate's end, more than a year
    ///         before the last lot, or after it.
    error InvalidVintage(uint256 vintageStart, uint256 earliest, uint256 latest);
    /// @notice No emission factor is set for the generator's region.
    error RegionFactorNotSet(uint16 region);
    /// @notice `amount` is not the range's energy × the region's emission factor.
    error AmountNotBackedByEnergy(uint256 amount, uint256 backedGrams);
    /// @notice An unknown certificate id.
    error UnknownCertificate(uint256 certificateId);
    /// @notice The certificate has expired: its credits can no longer move or be retired.
    error CertificateExpired(uint256 certificateId, uint256 expiresAt);
    /// @notice The certificate has not expired yet.
    error CertificateNotExpired(uint256 certificateId, uint256 expiresAt);
    /// @notice recordExpiry was already called for this certificate.
    error ExpiryAlreadyRecorded(uint256 certificateId);
    /// @notice The caller holds fewer live credits than asked (within the certificates one call may walk).
    error InsufficientLiveCredits(address holder, uint256 availableGrams, uint256 neededGrams);
    /// @notice Zero amount, or a zero beneficiary.
    error ZeroAmount();
    /// @notice 65,535 distinct methodologies are named already (a certificate names one of them
    ///         by a 16-bit number); a new one cannot be added.
    error TooManyMethodologies();
    error InvalidBeneficiary();
    /// @notice transferCredits to the caller itself.
    error TransferToSelf();
    /// @notice An emission factor above the physical ceiling, or a lifetime out of bounds.
    error InvalidEmissionFactor(uint16 region, uint256 gramsPerKWh);
    error InvalidCreditLifetime(uint256 lifetimeSeconds);

    // ---------------------------------------------------------------- events
    /// @notice A certificate was issued: its lots, vintage, energy and credits; followed by its
    ///         CertificateTerms and the ERC-1155 TransferSingle of its credits.
    event CertificateIssued(
        uint256 indexed certificateId,
        address indexed generator,
        uint256 indexed deviceId,
        uint256 previousSequence,
        uint256 lastSequence,
        uint256 vintageStart,
        uint256 vintageEnd,
        uint256 energyWh,
        uint256 co2eGrams,
        uint256 expiresAt
    );
    /// @notice The terms of certificate `certificateId`: region, source, factor, methodology, document.
    event CertificateTerms(
        uint256 indexed certificateId,
        uint16 region,
        uint8 energySource,
        uint256 emissionFactorGramsPerKWh,
        bytes32 methodology,
        bytes32 documentHash,
        string documentURI
    );
    /// @notice Credits were retired for good: the retirement certificate `retirementId`.
    event CreditsRetired(
        uint256 indexed retirementId,
        uint256 indexed certificateId,
        address indexed retiree,
        address beneficiary,
        uint256 co2eGrams,
        uint256 retiredAt,
        string purpose
    );
    /// @notice A certificate's outstanding (unretired) credits were recorded as expired.
    event CreditsExpired(uint256 indexed certificateId, uint256 outstandingGrams, uint256 expiresAt);
    /// @notice ADMIN (the multisig, on the regulator's figures) set a region's grid emission factor.
    event EmissionFactorSet(uint16 indexed region, uint256 gramsPerKWh);
    /// @notice ADMIN set how long credits stay valid after their vintage ends.
    event CreditLifetimeSet(uint256 lifetimeSeconds);

    // ---------------------------------------------------------------- brief interface
    /// @notice VERIFIER: issue a certificate of `amount` g CO2e to `to`, the generator, backed by
    ///         the energy lots `verificationData` (an abi-encoded Verification) names.
    function issueCreditsCertificate(address to, uint256 amount, bytes memory verificationData) external;

    /// @notice Retire `amount` g of the caller's live credits on the caller's own behalf,
    ///         certificate by certificate in the order received; one retirement record per certificate.
    function retireCredits(uint256 amount) external;

    /// @notice Transfer `amount` g of the caller's live credits, certificate by certificate in
    ///         the order received (one ERC-1155 transfer: TransferBatch, or TransferSingle when
    ///         one certificate suffices).
    function transferCredits(address to, uint256 amount) external returns (bool);

    /// @notice The certificate's record: generation, vintage, factor, avoided CO2e, retirement, expiry.
    function getEmissionReductions(uint256 certificateId) external view returns (EmissionData memory);

    // ---------------------------------------------------------------- additions
    /// @notice Retire `amount` g of certificate `certificateId` held by the caller on behalf of
    ///         `beneficiary`, for `purpose`; returns the retirement certificate's id.
    function retireCertificateCredits(
        uint256 certificateId,
        uint256 amount,
        address beneficiary,
        string calldata purpose
    ) external returns (uint256 retirementId);

    /// @notice Anyone: drop up to `maxEntries` dead ids (spent, no longer held, or expired) from
    ///         the front of `holder`'s queue, stopping at the first live one; returns how many.
    ///         The id-less functions walk at most MAX_CERTIFICATES_PER_CALL ids and a failed call
    ///         drops nothing, so a queue led by many dead ids is cleared with this first.
    function pruneQueue(address holder, uint256 maxEntries) external returns (uint256 dropped);

    /// @notice Anyone, once a certificate has expired: count its outstanding credits as expired.
    function recordExpiry(uint256 certificateId) external;

    /// @notice ADMIN: the grid emission factor (g CO2e per kWh) of a region (jurisdiction code).
    function setEmissionFactor(uint16 region, uint32 gramsPerKWh) external;

    /// @notice ADMIN: how long credits stay valid after the end of their vintage.
    function setCreditLifetime(uint64 lifetimeSeconds) external;

    /// @notice The region's emission factor in g CO2e per kWh (0 = not set).
    function emissionFactorOf(uint16 region) external view returns (uint256);

    /// @notice The last lot sequence of `deviceId` that backs a certificate (0 = none yet), and
    ///         the energy minted through it.
    function certifiedThrough(uint256 deviceId) external view returns (uint256 sequence, uint256 mintedWh);

    /// @notice When certificate `certificateId`'s credits expire (unix seconds); reverts for an unknown id.
    function certificateExpiry(uint256 certificateId) external view returns (uint256);

    /// @notice Credits of `holder` in certificate `certificateId` that can still move (0 once expired).
    function liveBalanceOf(address holder, uint256 certificateId) external view returns (uint256);

    /// @notice The retirement log: how many retirements there were, and the head of the hash
    ///         chain over all of them (0 before the first). Replaying the CreditsRetired events
    ///         through retirementLogStep from head 0 must give this head: a record that was
    ///         altered, left out or added does not.
    function retirementLog() external view returns (uint256 count, uint256 head);

    /// @notice The log's head after `retirement` (id `retirementId`) follows `previousHead`:
    ///         the low 192 bits of keccak256(abi.encode(previousHead, retirementId, retirement)).
    function retirementLogStep(uint256 previousHead, uint256 retirementId, Retirement memory retirement)
        external
        pure
        returns (uint256 head);

    function certificateCount() external view returns (uint256);
    function retirementCount() external view returns (uint256);
}
