// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IEnergyToken} from "./interfaces/IEnergyToken.sol";
import {ISmartMeter} from "./interfaces/ISmartMeter.sol";
import {HolderRecord} from "./libraries/HolderRecord.sol";
import {EpochBuckets} from "./libraries/EpochBuckets.sol";

/// @title EnergyToken
/// @notice ERC-20 energy: 1 unit = 1 Wh (3 decimals, so wallets show kWh). Minted only by the
///         SmartMeterRegistry from validated readings, burned by holders or against validated
///         consumption, expiring by epoch, held only by participants the REGULATOR verified.
/// @dev OpenZeppelin ERC20 provides the standard surface (allowances, events, permit); balance
///      storage is replaced by one packed word per holder (see HolderRecord) so that expiry and
///      compliance cost no extra storage reads: every transfer touches one slot per side,
///      whatever the holder's history. Total supply is kept per epoch; only the two live epochs
///      count. See docs/energy-token.md.
contract EnergyToken is ERC20, ERC20Permit, AccessManaged, Pausable, IEnergyToken {
    using HolderRecord for uint256;
    using EpochBuckets for uint256;

    // ---------------------------------------------------------------- storage
    /// @notice Length of an expiry epoch (seconds).
    uint256 public immutable EPOCH_SECONDS;

    /// @notice The registry allowed to mint and burn from readings.
    ISmartMeter public meterRegistry;

    mapping(address holder => uint256 record) private _holders;
    mapping(uint256 epoch => uint256 energyWh) private _supplyByEpoch;

    /// @param authority The AccessManager of the system.
    /// @param epochSeconds_ Expiry epoch length; energy lives until the end of the next epoch.
    constructor(address authority, uint256 epochSeconds_)
        ERC20("GridLedger Energy", "kWh")
        ERC20Permit("GridLedger Energy")
        AccessManaged(authority)
    {
        if (epochSeconds_ < 1 hours) revert InvalidEpochLength(epochSeconds_);
        EPOCH_SECONDS = epochSeconds_;
    }

    modifier onlyMeterRegistry() {
        if (msg.sender != address(meterRegistry)) revert NotMeterRegistry(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- ERC-20 views
    /// @notice 3 decimals: 1 token unit is 1 Wh, so 1.000 displayed is 1 kWh.
    function decimals() public pure override returns (uint8) {
        return 3;
    }

    /// @notice Live (unexpired) energy of `account` in Wh.
    function balanceOf(address account) public view override returns (uint256) {
        (uint256 rec,) = _holders[account].rolled(_currentEpoch());
        return rec.live();
    }

    /// @notice Live energy in circulation: the current and the previous epoch's supply.
    function totalSupply() public view override returns (uint256) {
        uint256 nowEpoch = _currentEpoch();
        return _supplyByEpoch[nowEpoch] + (nowEpoch == 0 ? 0 : _supplyByEpoch[nowEpoch - 1]);
    }

    // ---------------------------------------------------------------- administration
    /// @notice ADMIN (wiring): the registry allowed to mint. Set once.
    function setMeterRegistry(ISmartMeter registry) external restricted {
        if (address(meterRegistry) != address(0)) revert MeterRegistryAlreadySet(address(meterRegistry));
        meterRegistry = registry;
        emit MeterRegistrySet(address(registry));
    }

    /// @inheritdoc IEnergyToken
    function setParticipant(address participant, bool verified, uint16 jurisdiction) external restricted {
        if (participant == address(0)) revert ParticipantNotVerified(participant);
        _holders[participant] = _holders[participant].withCompliance(verified, jurisdiction);
        emit ParticipantSet(participant, verified, jurisdiction);
    }

    /// @notice EMERGENCY: stop all energy movement.
    function pause() external restricted {
        _pause();
    }

    /// @notice ADMIN (multisig): resume energy movement.
    function unpause() external restricted {
        _unpause();
    }

    // ---------------------------------------------------------------- minting and burning
    /// @inheritdoc IEnergyToken
    function mintEnergy(address generator, uint256 amount, bytes memory sourceData)
        external
        onlyMeterRegistry
        whenNotPaused
    {
        if (sourceData.length != 128) revert MalformedSourceData(sourceData.length);
        (uint256 lotId, uint256 intervalStart, uint256 consumedWh, uint256 previousEpochWh) =
            abi.decode(sourceData, (uint256, uint256, uint256, uint256));
        uint256 nowEpoch = _currentEpoch();
        // The registry attributes a reading's energy to the epochs it was generated in and mints
        // only the live part; this guards the bucket arithmetic against a split that cannot be.
        if (previousEpochWh > amount || (previousEpochWh != 0 && nowEpoch == 0)) {
            revert InvalidEpochSplit(lotId, previousEpochWh, amount);
        }
        uint256 rec = _verifiedRecord(generator, nowEpoch);
        if (amount != 0) {
            uint256 currentEpochWh = amount - previousEpochWh;
            if (previousEpochWh != 0) _supplyByEpoch[nowEpoch - 1] += previousEpochWh;
            if (currentEpochWh != 0) _supplyByEpoch[nowEpoch] += currentEpochWh;
            rec = rec.plus(previousEpochWh, currentEpochWh);
            emit Transfer(address(0), generator, amount);
            emit EnergyMinted(lotId, generator, intervalStart, previousEpochWh, currentEpochWh);
        }
        if (consumedWh != 0) {
            uint256 liveWh = rec.live();
            rec = _burnFromRecord(
                generator, rec, nowEpoch, consumedWh < liveWh ? consumedWh : liveWh, BurnCause.Consumption
            );
        }
        _holders[generator] = rec;
    }

    /// @inheritdoc IEnergyToken
    function burnEnergy(uint256 amount) external whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        uint256 nowEpoch = _currentEpoch();
        uint256 rec = _rolledRecord(msg.sender, nowEpoch);
        uint256 liveWh = rec.live();
        if (amount > liveWh) revert InsufficientLiveEnergy(msg.sender, liveWh, amount);
        _holders[msg.sender] = _burnFromRecord(msg.sender, rec, nowEpoch, amount, BurnCause.Holder);
    }

    // ---------------------------------------------------------------- transfers
    /// @inheritdoc IEnergyToken
    function transferEnergy(address to, uint256 amount) external returns (bool) {
        _transfer(msg.sender, to, amount);
        return true;
    }

    /// @inheritdoc IEnergyToken
    function transferEnergyBatch(address[] calldata recipients, uint256[] calldata amounts)
        external
        whenNotPaused
        returns (bool)
    {
        uint256 count = recipients.length;
        if (count == 0 || count != amounts.length) revert BatchLengthMismatch(count, amounts.length);
        uint256 nowEpoch = _currentEpoch();
        uint256 senderRec = _verifiedRecord(msg.sender, nowEpoch);
        for (uint256 i; i < count; ++i) {
            address to = recipients[i];
            uint256 amount = amounts[i];
            if (to == msg.sender) {
                // Self-transfer: only the balance check applies.
                if (amount > senderRec.live()) revert InsufficientLiveEnergy(msg.sender, senderRec.live(), amount);
            } else {
                if (to == address(0)) revert ERC20InvalidReceiver(to);
                uint256 toRec = _verifiedRecord(to, nowEpoch);
                (uint256 previousPart, uint256 currentPart) = senderRec.oldestFirst(amount);
                (senderRec, toRec) = _moveParts(msg.sender, senderRec, toRec, previousPart, currentPart);
                _holders[to] = toRec;
            }
            emit Transfer(msg.sender, to, amount);
        }
        _holders[msg.sender] = senderRec;
        return true;
    }

    /// @inheritdoc IEnergyToken
    function escrowEnergy(address holder, uint256 energyWh)
        external
        restricted
        whenNotPaused
        returns (uint256 previousPartWh, uint256 currentPartWh)
    {
        if (energyWh == 0) revert ZeroAmount();
        uint256 nowEpoch = _currentEpoch();
        uint256 holderRec = _verifiedRecord(holder, nowEpoch);
        (previousPartWh, currentPartWh) = holderRec.oldestFirst(energyWh);
        _moveExact(holder, holderRec, msg.sender, nowEpoch, previousPartWh, currentPartWh);
    }

    /// @inheritdoc IEnergyToken
    function releaseEnergy(address holder, uint256 previousPartWh, uint256 currentPartWh)
        external
        restricted
        whenNotPaused
    {
        if (previousPartWh + currentPartWh == 0) revert ZeroAmount();
        uint256 nowEpoch = _currentEpoch();
        uint256 escrowRec = _verifiedRecord(msg.sender, nowEpoch);
        _moveExact(msg.sender, escrowRec, holder, nowEpoch, previousPartWh, currentPartWh);
    }

    /// @dev Every ERC-20 movement (transfer, transferFrom) lands here; mint and burn have
    ///      their own paths because they need the lot's epoch.
    function _update(address from, address to, uint256 value) internal override whenNotPaused {
        if (from == address(0)) revert ERC20InvalidSender(from);
        if (to == address(0)) revert ERC20InvalidReceiver(to);
        uint256 nowEpoch = _currentEpoch();
        uint256 fromRec = _verifiedRecord(from, nowEpoch);
        (uint256 previousPart, uint256 currentPart) = fromRec.oldestFirst(value);
        _moveExact(from, fromRec, to, nowEpoch, previousPart, currentPart);
    }

    /// @dev Moves the given bucket parts from a verified, rolled `fromRec` to `to`, with the
    ///      ERC-20 event; each part keeps its epoch on the receiving side.
    function _moveExact(
        address from,
        uint256 fromRec,
        address to,
        uint256 nowEpoch,
        uint256 previousPart,
        uint256 currentPart
    ) private {
        if (to == address(0)) revert ERC20InvalidReceiver(to);
        if (from == to) {
            if (previousPart > fromRec.previous() || currentPart > fromRec.current()) {
                revert InsufficientLiveEnergy(from, fromRec.live(), previousPart + currentPart);
            }
            _holders[from] = fromRec;
        } else {
            uint256 toRec = _verifiedRecord(to, nowEpoch);
            (fromRec, toRec) = _moveParts(from, fromRec, toRec, previousPart, currentPart);
            _holders[from] = fromRec;
            _holders[to] = toRec;
        }
        emit Transfer(from, to, previousPart + currentPart);
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc IEnergyToken
    function getEnergySource(uint256 tokenId) external view returns (SourceData memory source) {
        (uint256 deviceId, address owner, uint8 energySource, uint256 intervalStart, uint256 energyWh) =
            meterRegistry.lotSource(tokenId);
        source = SourceData({
            lotId: tokenId,
            deviceId: deviceId,
            generator: owner,
            energySource: energySource,
            intervalStart: intervalStart,
            energyWh: energyWh,
            expiresAt: expiryOf(intervalStart)
        });
    }

    /// @inheritdoc IEnergyToken
    function isVerified(address participant) external view returns (bool) {
        return _holders[participant].verified();
    }

    /// @inheritdoc IEnergyToken
    function jurisdictionOf(address participant) external view returns (uint16) {
        return _holders[participant].jurisdiction();
    }

    /// @inheritdoc IEnergyToken
    function epochSeconds() external view returns (uint256) {
        return EPOCH_SECONDS;
    }

    /// @inheritdoc IEnergyToken
    function expiryOf(uint256 intervalStart) public view returns (uint256) {
        return (intervalStart / EPOCH_SECONDS + 2) * EPOCH_SECONDS;
    }

    /// @notice Live energy of `account` split into (current epoch, previous epoch) buckets.
    function liveBuckets(address account) external view returns (uint256 currentWh, uint256 previousWh) {
        (uint256 rec,) = _holders[account].rolled(_currentEpoch());
        return (rec.current(), rec.previous());
    }

    // ---------------------------------------------------------------- internals
    function _currentEpoch() private view returns (uint256) {
        return block.timestamp / EPOCH_SECONDS;
    }

    /// @dev Loads a holder's record moved to the current epoch; reports energy that expired.
    function _rolledRecord(address holder, uint256 nowEpoch) private returns (uint256 rec) {
        uint256 expiredWh;
        (rec, expiredWh) = _holders[holder].rolled(nowEpoch);
        if (expiredWh != 0) {
            emit EnergyExpired(holder, expiredWh, nowEpoch);
            emit Transfer(holder, address(0), expiredWh);
        }
    }

    /// @dev The rolled record of a holder who must be a verified participant.
    function _verifiedRecord(address holder, uint256 nowEpoch) private returns (uint256 rec) {
        rec = _rolledRecord(holder, nowEpoch);
        if (!rec.verified()) revert ParticipantNotVerified(holder);
    }

    /// @dev Moves the given parts between two records, or reverts if the sender lacks them.
    function _moveParts(address from, uint256 fromRec, uint256 toRec, uint256 previousPart, uint256 currentPart)
        private
        pure
        returns (uint256, uint256)
    {
        if (previousPart > fromRec.previous() || currentPart > fromRec.current()) {
            revert InsufficientLiveEnergy(from, fromRec.live(), previousPart + currentPart);
        }
        return (fromRec.without(previousPart, currentPart), toRec.plus(previousPart, currentPart));
    }

    /// @dev Burns `amount` (≤ live) oldest first, keeping the per-epoch supply exact.
    function _burnFromRecord(address holder, uint256 rec, uint256 nowEpoch, uint256 amount, BurnCause cause)
        private
        returns (uint256)
    {
        if (amount == 0) return rec;
        (uint256 previousPart, uint256 currentPart) = rec.oldestFirst(amount);
        if (previousPart != 0) _supplyByEpoch[nowEpoch - 1] -= previousPart;
        if (currentPart != 0) _supplyByEpoch[nowEpoch] -= currentPart;
        emit Transfer(holder, address(0), amount);
        emit EnergyBurned(holder, amount, cause);
        return rec.without(previousPart, currentPart);
    }
}
