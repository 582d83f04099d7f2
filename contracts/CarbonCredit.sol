// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ICarbonCredit} from "./interfaces/ICarbonCredit.sol";
import {ISmartMeter} from "./interfaces/ISmartMeter.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";

/// @title CarbonCredit
/// @notice Carbon credits for verified renewable generation, one ERC-1155 id per certificate
///         (1 unit = 1 g CO2e). A VERIFIER certifies a contiguous range of one meter's energy
///         lots; the contract checks against the SmartMeterRegistry that the lots were minted from
///         accepted readings of a renewable meter of a verified generator, that none of them backed
///         an earlier certificate, and that the credits equal the range's energy × the region's
///         emission factor. Credits can be transferred, pooled and retired (each retirement leaves a
///         permanent record) until they expire.
/// @dev OpenZeppelin ERC1155 keeps balances, approvals and the receiver checks. Written here:
///      the certification marker per device (which makes double use impossible by construction:
///      a device's certified lots are always a prefix of its readings), the retirement records and
///      the per-holder receipt queue that gives the brief's id-less functions their meaning. See
///      docs/carbon.md.
contract CarbonCredit is ERC1155, AccessManaged, Pausable, ICarbonCredit {
    // ---------------------------------------------------------------- constants
    /// @notice Meter intervals are 15 minutes; a lot's interval ends 900 s after it starts.
    uint256 public constant INTERVAL_SECONDS = 900;
    /// @notice Most certificates one id-less call walks through (bounds its gas).
    uint256 public constant MAX_CERTIFICATES_PER_CALL = 32;
    /// @notice A certificate's vintage spans at most a year (its start is attested by the verifier).
    uint256 public constant MAX_VINTAGE_SECONDS = 366 days;
    /// @notice No grid emits more than 2 kg CO2e per kWh (lignite is about 1.1 kg).
    uint256 public constant MAX_EMISSION_FACTOR_G_PER_KWH = 2_000;
    /// @notice Credit lifetime bounds: at least a day, at most 30 years after the vintage.
    uint256 public constant MIN_CREDIT_LIFETIME_SECONDS = 1 days;
    uint256 public constant MAX_CREDIT_LIFETIME_SECONDS = 30 * 365 days;

    // ---------------------------------------------------------------- storage
    ISmartMeter public immutable meterRegistry;
    IEnergyToken public immutable energyToken;

    /// @dev The terms of a certificate, written once at issuance: two packed slots and the
    ///      document hash (each fresh slot costs 22,100 gas at issuance, docs/carbon.md). The
    ///      widths hold every value the checks admit: sequences as the registry's (40 bits),
    ///      timestamps 40 bits, a factor of at most 2,000 g/kWh, energy below 2^64 Wh (the width
    ///      of a meter register); issuance casts with SafeCast, so nothing is cut silently.
    ///      The methodology is kept once per distinct value and named here by its number.
    struct Terms {
        address generator;
        uint64 energyWh;
        uint16 region;
        uint8 energySource;
        uint64 deviceId;
        uint40 previousSequence;
        uint40 lastSequence;
        uint40 vintageStart;
        uint40 vintageEnd;
        uint16 emissionFactorGramsPerKWh;
        uint16 methodologyId;
        bytes32 documentHash;
    }

    /// @dev The part of a certificate that retirement and expiry read and change: one slot.
    ///      Grams fit 80 bits: at most 2^64 Wh × 2,000 g/kWh / 1,000.
    struct CreditState {
        uint80 issuedGrams;
        uint80 retiredGrams;
        uint40 expiresAt;
        uint40 issuedAt;
        bool expiryRecorded;
    }

    /// @dev Where a device's certified lots end: the last certified reading and the energy
    ///      minted through it (one slot).
    struct Marker {
        uint64 sequence;
        uint40 intervalEnd;
        uint128 mintedWh;
    }

    /// @dev A holder's queue of received certificate ids: positions [head, tail), four ids of
    ///      64 bits to a word of `packedIds` (position p in word p / 4, lane p % 4), so that only
    ///      every fourth id received opens a fresh slot (docs/carbon.md). Ids are below 2^64:
    ///      they count certificates in a uint64.
    struct Queue {
        uint128 head;
        uint128 tail;
        mapping(uint256 wordIndex => uint256 fourIds) packedIds;
    }

    uint64 private _certificateCount;
    uint64 private _creditLifetimeSeconds;
    /// Distinct methodologies named so far (shares the lifetime's slot, which issuance reads anyway).
    uint16 private _methodologyCount;
    mapping(bytes32 methodology => uint256 methodologyId) private _methodologyIds;
    mapping(uint256 methodologyId => bytes32 methodology) private _methodologies;
    mapping(uint256 certificateId => Terms) private _terms;
    mapping(uint256 certificateId => CreditState) private _states;
    mapping(uint256 deviceId => Marker) private _markers;
    mapping(uint16 region => uint256 gramsPerKWh) private _emissionFactors;
    /// @dev The retirement log in one slot: retirements so far (low 64 bits) and the log's head
    ///      (high 192 bits), a hash chain over every retirement record. One slot rather than one
    ///      per record keeps a retirement within 60,000 gas (docs/carbon.md).
    uint256 private _retirementLog;
    mapping(address holder => Queue) private _queues;

    /// @param authority The AccessManager of the system.
    /// @param registry The meter registry whose minted lots back certificates.
    /// @param token The energy token (who is a verified participant, and in which region).
    /// @param creditLifetimeSeconds How long credits stay valid after their vintage ends.
    /// @param uri_ ERC-1155 metadata URI template.
    constructor(
        address authority,
        ISmartMeter registry,
        IEnergyToken token,
        uint64 creditLifetimeSeconds,
        string memory uri_
    ) ERC1155(uri_) AccessManaged(authority) {
        meterRegistry = registry;
        energyToken = token;
        _setCreditLifetime(creditLifetimeSeconds);
    }

    // ---------------------------------------------------------------- administration
    /// @inheritdoc ICarbonCredit
    function setEmissionFactor(uint16 region, uint32 gramsPerKWh) external restricted {
        if (gramsPerKWh > MAX_EMISSION_FACTOR_G_PER_KWH) revert InvalidEmissionFactor(region, gramsPerKWh);
        _emissionFactors[region] = gramsPerKWh;
        emit EmissionFactorSet(region, gramsPerKWh);
    }

    /// @inheritdoc ICarbonCredit
    function setCreditLifetime(uint64 lifetimeSeconds) external restricted {
        _setCreditLifetime(lifetimeSeconds);
    }

    /// @notice EMERGENCY: stop issuance, transfers and retirements.
    function pause() external restricted {
        _pause();
    }

    /// @notice ADMIN (multisig): resume.
    function unpause() external restricted {
        _unpause();
    }

    // ---------------------------------------------------------------- issuance
    /// @inheritdoc ICarbonCredit
    function issueCreditsCertificate(address to, uint256 amount, bytes memory verificationData)
        external
        restricted
        whenNotPaused
    {
        // abi.encode(Verification): tuple offset, 7 head words, URI length: 288 bytes at least.
        if (verificationData.length < 288) revert MalformedVerification(verificationData.length);
        Verification memory v = abi.decode(verificationData, (Verification));
        Marker memory marker = _markers[v.deviceId];
        if (v.previousSequence != marker.sequence) {
            revert LotRangeNotNext(v.deviceId, marker.sequence, v.previousSequence);
        }
        if (v.lastSequence <= v.previousSequence) revert EmptyLotRange(v.deviceId, v.previousSequence, v.lastSequence);

        ISmartMeter.MintedExport memory minted = meterRegistry.mintedExportThrough(v.deviceId, v.lastSequence);
        if (uint8(minted.source) >= uint8(ISmartMeter.EnergySource.GridMix)) {
            revert SourceNotRenewable(v.deviceId, uint8(minted.source));
        }
        if (minted.status == ISmartMeter.DeviceStatus.Quarantined) revert DeviceQuarantined(v.deviceId);
        if (to != minted.owner) revert RecipientNotGenerator(to, minted.owner);
        if (!energyToken.isVerified(to)) revert GeneratorNotVerified(to);
        uint256 energyWh = minted.mintedWh - marker.mintedWh;
        if (energyWh == 0) revert NoEnergyInRange(v.deviceId, v.lastSequence);
        uint256 earliest = minted.intervalStart > MAX_VINTAGE_SECONDS ? minted.intervalStart - MAX_VINTAGE_SECONDS : 0;
        if (earliest < marker.intervalEnd) earliest = marker.intervalEnd;
        if (v.vintageStart < earliest || v.vintageStart > minted.intervalStart) {
            revert InvalidVintage(v.vintageStart, earliest, minted.intervalStart);
        }
        uint16 region = energyToken.jurisdictionOf(to);
        uint256 factor = _emissionFactors[region];
        if (factor == 0) revert RegionFactorNotSet(region);
        // Rounded down: credits never exceed the energy's avoided emissions.
        uint256 backedGrams = energyWh * factor / 1000;
        if (amount != backedGrams || amount == 0) revert AmountNotBackedByEnergy(amount, backedGrams);

        uint256 vintageEnd = minted.intervalStart + INTERVAL_SECONDS;
        _markers[v.deviceId] =
            Marker({sequence: v.lastSequence, intervalEnd: uint40(vintageEnd), mintedWh: uint128(minted.mintedWh)});
        uint256 certificateId = ++_certificateCount;
        Terms memory terms = Terms({
            generator: to,
            energyWh: SafeCast.toUint64(energyWh),
            region: region,
            energySource: uint8(minted.source),
            deviceId: v.deviceId,
            previousSequence: SafeCast.toUint40(v.previousSequence),
            lastSequence: SafeCast.toUint40(v.lastSequence),
            vintageStart: SafeCast.toUint40(v.vintageStart),
            vintageEnd: SafeCast.toUint40(vintageEnd),
            emissionFactorGramsPerKWh: uint16(factor),
            methodologyId: _methodologyIdOf(v.methodology),
            documentHash: v.documentHash
        });
        _terms[certificateId] = terms;
        uint256 expiresAt = vintageEnd + _creditLifetimeSeconds;
        _states[certificateId] = CreditState({
            issuedGrams: SafeCast.toUint80(amount),
            retiredGrams: 0,
            expiresAt: SafeCast.toUint40(expiresAt),
            issuedAt: SafeCast.toUint40(block.timestamp),
            expiryRecorded: false
        });
        _emitIssued(certificateId, terms, v.methodology, amount, expiresAt, v.documentURI);
        _mint(to, certificateId, amount, "");
    }

    // ---------------------------------------------------------------- retirement
    /// @inheritdoc ICarbonCredit
    function retireCredits(uint256 amount) external whenNotPaused {
        (uint256[] memory ids, uint256[] memory values) = _takeFromQueue(msg.sender, amount);
        for (uint256 i; i < ids.length; ++i) {
            _retire(ids[i], values[i], msg.sender, "");
        }
    }

    /// @inheritdoc ICarbonCredit
    function retireCertificateCredits(
        uint256 certificateId,
        uint256 amount,
        address beneficiary,
        string calldata purpose
    ) external whenNotPaused returns (uint256 retirementId) {
        if (amount == 0) revert ZeroAmount();
        if (beneficiary == address(0)) revert InvalidBeneficiary();
        return _retire(certificateId, amount, beneficiary, purpose);
    }

    /// @inheritdoc ICarbonCredit
    function recordExpiry(uint256 certificateId) external {
        CreditState memory state = _existingState(certificateId);
        if (block.timestamp < state.expiresAt) revert CertificateNotExpired(certificateId, state.expiresAt);
        if (state.expiryRecorded) revert ExpiryAlreadyRecorded(certificateId);
        _states[certificateId].expiryRecorded = true;
        emit CreditsExpired(certificateId, state.issuedGrams - state.retiredGrams, state.expiresAt);
    }

    /// @inheritdoc ICarbonCredit
    function pruneQueue(address holder, uint256 maxEntries) external returns (uint256 dropped) {
        Queue storage queue = _queues[holder];
        uint256 head = queue.head;
        uint256 tail = queue.tail;
        while (dropped < maxEntries && head < tail && liveBalanceOf(holder, _queuedAt(queue, head)) == 0) {
            _setQueuedAt(queue, head, 0);
            ++head;
            ++dropped;
        }
        queue.head = uint128(head);
    }

    // ---------------------------------------------------------------- transfers
    /// @inheritdoc ICarbonCredit
    function transferCredits(address to, uint256 amount) external returns (bool) {
        // Taking pops spent ids from the queue; to oneself they would leave it while still held.
        if (to == msg.sender) revert TransferToSelf();
        (uint256[] memory ids, uint256[] memory values) = _takeFromQueue(msg.sender, amount);
        _safeBatchTransferFrom(msg.sender, to, ids, values, "");
        return true;
    }

    /// @dev Every ERC-1155 movement lands here. Credits of an expired certificate never move;
    ///      a receiving account without code queues the id for the id-less functions.
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values)
        internal
        override
        whenNotPaused
    {
        uint256 count = ids.length;
        bool queueing = to != address(0) && to.code.length == 0;
        for (uint256 i; i < count; ++i) {
            uint256 id = ids[i];
            if (from != address(0)) {
                uint256 expiresAt = _states[id].expiresAt;
                if (expiresAt == 0) revert UnknownCertificate(id);
                if (block.timestamp >= expiresAt) revert CertificateExpired(id, expiresAt);
            }
            if (queueing && balanceOf(to, id) == 0 && values[i] != 0) {
                Queue storage queue = _queues[to];
                uint128 tail = queue.tail;
                _setQueuedAt(queue, tail, id);
                queue.tail = tail + 1;
            }
        }
        super._update(from, to, ids, values);
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc ICarbonCredit
    function getEmissionReductions(uint256 certificateId) external view returns (EmissionData memory data) {
        CreditState memory state = _existingState(certificateId);
        Terms memory terms = _terms[certificateId];
        data.certificateId = certificateId;
        data.generator = terms.generator;
        data.deviceId = terms.deviceId;
        data.previousSequence = terms.previousSequence;
        data.lastSequence = terms.lastSequence;
        data.energySource = terms.energySource;
        data.region = terms.region;
        data.methodology = _methodologies[terms.methodologyId];
        data.vintageStart = terms.vintageStart;
        data.vintageEnd = terms.vintageEnd;
        data.energyWh = terms.energyWh;
        data.emissionFactorGramsPerKWh = terms.emissionFactorGramsPerKWh;
        data.co2eGrams = state.issuedGrams;
        data.retiredGrams = state.retiredGrams;
        data.issuedAt = state.issuedAt;
        data.expiresAt = state.expiresAt;
        data.expiryRecorded = state.expiryRecorded;
        data.documentHash = terms.documentHash;
    }

    /// @inheritdoc ICarbonCredit
    function emissionFactorOf(uint16 region) external view returns (uint256) {
        return _emissionFactors[region];
    }

    /// @inheritdoc ICarbonCredit
    function certifiedThrough(uint256 deviceId) external view returns (uint256 sequence, uint256 mintedWh) {
        Marker memory marker = _markers[deviceId];
        return (marker.sequence, marker.mintedWh);
    }

    /// @inheritdoc ICarbonCredit
    function certificateExpiry(uint256 certificateId) external view returns (uint256) {
        return _existingState(certificateId).expiresAt;
    }

    /// @inheritdoc ICarbonCredit
    function liveBalanceOf(address holder, uint256 certificateId) public view returns (uint256) {
        if (block.timestamp >= _states[certificateId].expiresAt) return 0;
        return balanceOf(holder, certificateId);
    }

    /// @inheritdoc ICarbonCredit
    function retirementLog() external view returns (uint256 count, uint256 head) {
        uint256 log = _retirementLog;
        return (uint64(log), log >> 64);
    }

    /// @inheritdoc ICarbonCredit
    function retirementLogStep(uint256 previousHead, uint256 retirementId, Retirement memory retirement)
        public
        pure
        returns (uint256 head)
    {
        return uint192(uint256(keccak256(abi.encode(previousHead, retirementId, retirement))));
    }

    /// @inheritdoc ICarbonCredit
    function certificateCount() external view returns (uint256) {
        return _certificateCount;
    }

    /// @inheritdoc ICarbonCredit
    function retirementCount() external view returns (uint256) {
        return uint64(_retirementLog);
    }

    /// @notice The certificate ids still queued for `holder`'s id-less functions, oldest received first
    ///         (ids whose balance is now zero or that expired are dropped as calls walk past them).
    function queuedCertificates(address holder) external view returns (uint256[] memory ids) {
        Queue storage queue = _queues[holder];
        uint256 head = queue.head;
        ids = new uint256[](queue.tail - head);
        for (uint256 i; i < ids.length; ++i) {
            ids[i] = _queuedAt(queue, head + i);
        }
    }

    // ---------------------------------------------------------------- internals
    function _setCreditLifetime(uint64 lifetimeSeconds) private {
        if (lifetimeSeconds < MIN_CREDIT_LIFETIME_SECONDS || lifetimeSeconds > MAX_CREDIT_LIFETIME_SECONDS) {
            revert InvalidCreditLifetime(lifetimeSeconds);
        }
        _creditLifetimeSeconds = lifetimeSeconds;
        emit CreditLifetimeSet(lifetimeSeconds);
    }

    /// @dev The number of `methodology`, numbered on first use (a methodology is one of a few
    ///      standards, so after the first certificate of each this is one read, not a fresh slot).
    function _methodologyIdOf(bytes32 methodology) private returns (uint16 methodologyId) {
        methodologyId = uint16(_methodologyIds[methodology]);
        if (methodologyId == 0) {
            if (_methodologyCount == type(uint16).max) revert TooManyMethodologies();
            methodologyId = ++_methodologyCount;
            _methodologyIds[methodology] = methodologyId;
            _methodologies[methodologyId] = methodology;
        }
    }

    function _existingState(uint256 certificateId) private view returns (CreditState memory state) {
        state = _states[certificateId];
        if (state.expiresAt == 0) revert UnknownCertificate(certificateId);
    }

    /// @dev Burns the caller's credits of one live certificate and records the retirement.
    function _retire(uint256 certificateId, uint256 amount, address beneficiary, string memory purpose)
        private
        returns (uint256 retirementId)
    {
        CreditState memory state = _existingState(certificateId);
        // Expired credits are refused by _update as well; checked first for the clearer error.
        if (block.timestamp >= state.expiresAt) revert CertificateExpired(certificateId, state.expiresAt);
        _burn(msg.sender, certificateId, amount);
        // amount ≤ the caller's balance ≤ issuedGrams − retiredGrams, so the sum fits.
        _states[certificateId].retiredGrams = state.retiredGrams + uint80(amount);
        uint256 log = _retirementLog;
        retirementId = uint64(log) + 1;
        Retirement memory record = Retirement(msg.sender, beneficiary, certificateId, amount, block.timestamp, purpose);
        uint256 head = retirementLogStep(log >> 64, retirementId, record);
        _retirementLog = (head << 64) | retirementId;
        emit CreditsRetired(retirementId, certificateId, msg.sender, beneficiary, amount, block.timestamp, purpose);
    }

    /// @dev Takes `amount` of `holder`'s live credits from the front of its queue, dropping ids
    ///      it no longer holds and expired ones; walks at most MAX_CERTIFICATES_PER_CALL ids.
    function _takeFromQueue(address holder, uint256 amount)
        private
        returns (uint256[] memory ids, uint256[] memory values)
    {
        if (amount == 0) revert ZeroAmount();
        Queue storage queue = _queues[holder];
        uint256 head = queue.head;
        uint256 tail = queue.tail;
        ids = new uint256[](MAX_CERTIFICATES_PER_CALL);
        values = new uint256[](MAX_CERTIFICATES_PER_CALL);
        uint256 taken;
        uint256 count;
        for (uint256 step; step < MAX_CERTIFICATES_PER_CALL && head < tail && taken < amount; ++step) {
            uint256 id = _queuedAt(queue, head);
            // An id queued twice (received again before a walk dropped its spent entry) is taken
            // once: a later entry of an id already taken in this call is spent by that take.
            uint256 live = _contains(ids, count, id) ? 0 : liveBalanceOf(holder, id);
            uint256 part = amount - taken < live ? amount - taken : live;
            if (part != 0) {
                ids[count] = id;
                values[count] = part;
                ++count;
                taken += part;
            }
            if (part == live) {
                // Spent, held no more or expired: the id leaves the queue.
                _setQueuedAt(queue, head, 0);
                ++head;
            }
        }
        if (taken < amount) revert InsufficientLiveCredits(holder, taken, amount);
        queue.head = uint128(head);
        assembly ("memory-safe") {
            mstore(ids, count)
            mstore(values, count)
        }
    }

    /// @dev The id at queue position `position`.
    function _queuedAt(Queue storage queue, uint256 position) private view returns (uint256) {
        return uint64(queue.packedIds[position >> 2] >> ((position & 3) << 6));
    }

    /// @dev Puts `id` at queue position `position` (0 clears it: a word of cleared lanes is zero
    ///      again and refunds its slot).
    function _setQueuedAt(Queue storage queue, uint256 position, uint256 id) private {
        uint256 shift = (position & 3) << 6;
        uint256 word = queue.packedIds[position >> 2];
        queue.packedIds[position >> 2] = (word & ~(uint256(type(uint64).max) << shift)) | (id << shift);
    }

    function _contains(uint256[] memory ids, uint256 count, uint256 id) private pure returns (bool) {
        for (uint256 i; i < count; ++i) {
            if (ids[i] == id) return true;
        }
        return false;
    }

    function _emitIssued(
        uint256 certificateId,
        Terms memory terms,
        bytes32 methodology,
        uint256 co2eGrams,
        uint256 expiresAt,
        string memory documentURI
    ) private {
        emit CertificateIssued(
            certificateId,
            terms.generator,
            terms.deviceId,
            terms.previousSequence,
            terms.lastSequence,
            terms.vintageStart,
            terms.vintageEnd,
            terms.energyWh,
            co2eGrams,
            expiresAt
        );
        emit CertificateTerms(
            certificateId,
            terms.region,
            terms.energySource,
            terms.emissionFactorGramsPerKWh,
            methodology,
            terms.documentHash,
            documentURI
        );
    }
}
