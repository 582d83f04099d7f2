// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title IEnergyToken
/// @notice Energy as an ERC-20: 1 unit = 1 Wh, minted only from validated meter readings,
///         expiring by epoch, held only by verified participants.
/// @dev The brief's four functions are kept with their names and argument types; events,
///      errors, batch transfer, burning from consumption and views are added.
interface IEnergyToken {
    // ---------------------------------------------------------------- types
    /// @notice Where a lot of energy came from. A lot is the energy one accepted reading minted.
    /// @dev A reading after a gap spreads its export over the time it covers: `energyWh` is the
    ///      whole export of the reading, of which the part in expired epochs was never minted
    ///      (the registry's ExportExpiredUnminted), and the part dated to the previous epoch
    ///      (EnergyMinted's previousEpochWh) expires one epoch before `expiresAt`.
    struct SourceData {
        uint256 lotId; // (deviceId << 64) | reading sequence
        uint256 deviceId;
        address generator; // owner of the device, who received the lot
        uint8 energySource; // EnergySource enum of the registry
        uint256 intervalStart; // unix seconds, start of the metered 15-minute interval
        uint256 energyWh; // export the reading covers (see above for what of it was minted)
        uint256 expiresAt; // unix seconds; from then on the lot's current-epoch part can't move
    }

    /// @notice What a burn was for, in EnergyBurned.
    enum BurnCause {
        Holder, // the holder burned its own energy (burnEnergy)
        Consumption // validated import of the holder's meter, burned by the registry (mintEnergy)
    }

    // ---------------------------------------------------------------- errors
    /// @notice Only the smart meter registry may mint or burn from readings.
    error NotMeterRegistry(address caller);
    /// @notice A holder or receiver is not a verified participant.
    error ParticipantNotVerified(address participant);
    /// @notice More energy requested than the holder has unexpired.
    error InsufficientLiveEnergy(address holder, uint256 liveWh, uint256 neededWh);
    /// @notice A lot's previous-epoch part exceeds the lot, or there is no previous epoch yet.
    error InvalidEpochSplit(uint256 lotId, uint256 previousEpochWh, uint256 energyWh);
    /// @notice Batch arrays differ in length or are empty.
    error BatchLengthMismatch(uint256 recipients, uint256 amounts);
    /// @notice The zero amount or zero address where a real one is needed.
    error ZeroAmount();
    /// @notice sourceData of mintEnergy is not
    ///         abi.encode(uint256 lotId, uint256 intervalStart, uint256 consumedWh, uint256 previousEpochWh).
    error MalformedSourceData(uint256 length);
    /// @notice An expiry epoch shorter than an hour.
    error InvalidEpochLength(uint256 epochSeconds);
    /// @notice The meter registry is set once at deployment wiring.
    error MeterRegistryAlreadySet(address registry);

    // ---------------------------------------------------------------- events
    /// @notice A lot was minted from an accepted reading: `previousEpochWh` into the previous
    ///         epoch's bucket (expires at the end of the current epoch), `currentEpochWh` into the
    ///         current one (expires an epoch later). The epochs are those of the block time.
    event EnergyMinted(
        uint256 indexed lotId,
        address indexed generator,
        uint256 intervalStart,
        uint256 previousEpochWh,
        uint256 currentEpochWh
    );
    /// @notice Energy was burned from a holder's live energy, oldest first, and what for.
    event EnergyBurned(address indexed holder, uint256 energyWh, BurnCause cause);
    /// @notice Energy of a holder expired and was removed from its balance (noticed lazily, on next touch).
    event EnergyExpired(address indexed holder, uint256 energyWh, uint256 epoch);
    /// @notice The REGULATOR set a participant's verification and jurisdiction.
    event ParticipantSet(address indexed participant, bool verified, uint16 jurisdiction);
    /// @notice The registry allowed to mint was wired.
    event MeterRegistrySet(address indexed registry);

    // ---------------------------------------------------------------- brief interface
    /// @notice Mint a lot of energy to `generator` and burn validated consumption. Meter registry only.
    /// @param generator Owner of the device that generated the energy (must be verified).
    /// @param amount Energy in Wh to mint (the live part of the reading's export delta; may be 0).
    /// @param sourceData abi.encode(uint256 lotId, uint256 intervalStart, uint256 consumedWh,
    ///        uint256 previousEpochWh): `previousEpochWh` of `amount` was generated in the epoch
    ///        before the block's, the rest in the block's epoch (the registry attributes it).
    function mintEnergy(address generator, uint256 amount, bytes memory sourceData) external;

    /// @notice Burn `amount` Wh of the caller's live energy, oldest first.
    function burnEnergy(uint256 amount) external;

    /// @notice Transfer `amount` Wh of live energy, oldest first; both sides must be verified.
    function transferEnergy(address to, uint256 amount) external returns (bool);

    /// @notice Source data of lot `tokenId` (a lot id); recent lots only, older from events.
    function getEnergySource(uint256 tokenId) external view returns (SourceData memory);

    // ---------------------------------------------------------------- additions
    /// @notice Transfer to many recipients in one call; all or nothing.
    function transferEnergyBatch(address[] calldata recipients, uint256[] calldata amounts) external returns (bool);

    /// @notice Escrow contracts (MARKET_ESCROW role): move `energyWh` of `holder`'s live energy,
    ///         oldest first, to the caller; returns the parts taken from each epoch bucket so the
    ///         escrow can keep them apart. `holder` and the caller must be verified.
    function escrowEnergy(address holder, uint256 energyWh)
        external
        returns (uint256 previousPartWh, uint256 currentPartWh);

    /// @notice Escrow contracts (MARKET_ESCROW role): give back to `holder` exactly these parts of
    ///         the caller's previous-epoch and current-epoch energy. `holder` must be verified.
    function releaseEnergy(address holder, uint256 previousPartWh, uint256 currentPartWh) external;

    /// @notice REGULATOR: verify or unverify a participant, with a jurisdiction code.
    function setParticipant(address participant, bool verified, uint16 jurisdiction) external;

    /// @notice Whether `participant` may hold and receive energy.
    function isVerified(address participant) external view returns (bool);

    /// @notice Jurisdiction code the regulator recorded for `participant`.
    function jurisdictionOf(address participant) external view returns (uint16);

    /// @notice Length of one expiry epoch in seconds; energy expires at the end of the epoch after its interval's.
    function epochSeconds() external view returns (uint256);

    /// @notice Unix time at which energy generated in the interval starting `intervalStart` expires.
    function expiryOf(uint256 intervalStart) external view returns (uint256);
}
