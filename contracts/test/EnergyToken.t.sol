// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReadingBatch} from "./base/ReadingBatch.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MarketWorld} from "./base/MarketWorld.sol";
import {EnergyToken} from "../EnergyToken.sol";
import {IEnergyToken} from "../interfaces/IEnergyToken.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";
import {Roles} from "../libraries/Roles.sol";

/// @notice EnergyToken's surface other than minting: ERC-20 and permit, energy transfers,
///         burning, expiry across epochs, escrow, compliance, pause and wiring. Energy comes
///         from signed readings of the sellers' meters in MarketWorld, so every balance here
///         was minted the way production mints it. The world's sellers escrowed their first
///         reading's energy in the market, so they start with no live energy of their own.
contract EnergyTokenTest is MarketWorld {
    bytes32 private constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    uint256 private constant ATTACKER_KEY = 0xBAD;

    address internal prosumer;
    address internal secondProsumer;
    address internal consumer;
    address internal trader;
    address internal escrow = address(0xE5C0);
    address internal attacker;
    /// @dev The world's supply at setUp: the sellers' escrowed energy, all minted in epoch 0.
    uint256 internal marketWh;

    /// @dev Cumulative registers and sequence of each seller's meter, as last accepted.
    uint64[2] private _meterSequence;
    uint64[2] private _meterExportWh;
    uint64[2] private _meterImportWh;
    uint64[2] private _meterLastStart;

    function setUp() public {
        _buildWorld();
        prosumer = sellers[0];
        secondProsumer = sellers[1];
        consumer = buyers[0];
        trader = buyers[1];
        attacker = vm.addr(ATTACKER_KEY);
        marketWh = token.totalSupply();
        _assertEq(marketWh, TRADERS * SELLER_ESCROW_WH, "world: the supply is the sellers' escrow");
        // As in deployment: EMERGENCY pauses, ADMIN (this contract here, the multisig there) unpauses.
        _role(address(token), token.pause.selector, Roles.EMERGENCY);
        manager.grantRole(Roles.MARKET_ESCROW, escrow, 0);
        vm.prank(regulator);
        token.setParticipant(escrow, true, 0);
        for (uint256 i; i < 2; ++i) {
            _meterSequence[i] = 1;
            _meterExportWh[i] = uint64(SELLER_ESCROW_WH);
            _meterLastStart[i] = uint64(T0 - (T0 % 900));
        }
    }

    // ------------------------------------------------------------ helpers
    /// @dev Submits seller `i`'s next signed reading, for the interval that has just ended
    ///      (one interval later if that one was already read), with these register deltas.
    ///      The registry spreads an export jump over all the time since the previous reading,
    ///      so after a gap a zero-delta reading first closes it: the deltas are this interval's.
    function _meter(uint256 i, uint64 exportDeltaWh, uint64 importDeltaWh) internal {
        uint64 start = uint64(block.timestamp - (block.timestamp % 900) - 900);
        if (start <= _meterLastStart[i]) {
            vm.warp(block.timestamp + 900);
            start += 900;
        }
        if (start - _meterLastStart[i] > 900) _submitReading(i, start - 900);
        _meterExportWh[i] += exportDeltaWh;
        _meterImportWh[i] += importDeltaWh;
        _submitReading(i, start);
    }

    /// @dev Submits seller `i`'s registers, as they stand, at the end of interval `start`.
    function _submitReading(uint256 i, uint64 start) private {
        _meterSequence[i] += 1;
        _meterLastStart[i] = start;
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](1);
        batch[0] = ISmartMeter.SignedReading(
            uint64(i + 1), _meterSequence[i], start, _meterImportWh[i], _meterExportWh[i], 0, FIRMWARE, 0, 0
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(0xDE0 + i, registry.readingDigest(batch[0]));
        batch[0].r = r;
        batch[0].vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        vm.prank(gateway);
        _assertEq(registry.submitReadings(ReadingBatch.packed(batch)), 1, "reading accepted");
    }

    /// @dev Start of the k-th epoch after the world's (1-day epochs).
    function _epochStart(uint256 k) internal pure returns (uint256) {
        return (T0 / 1 days + k) * 1 days;
    }

    function _epoch(uint256 k) internal pure returns (uint256) {
        return T0 / 1 days + k;
    }

    /// @dev Into epoch k, just after its first interval ended, so a reading now is k's energy.
    function _warpToEpoch(uint256 k) internal {
        vm.warp(_epochStart(k) + 910);
    }

    /// @dev Leaves the prosumer, in epoch 1, with 300 Wh from epoch 0 and 200 Wh from epoch 1.
    function _prosumerHoldsBothBuckets() internal {
        _meter(0, 300, 0);
        _warpToEpoch(1);
        _meter(0, 200, 0);
    }

    function _assertBuckets(address holder, uint256 currentWh, uint256 previousWh, string memory what) internal view {
        (uint256 cur, uint256 prev) = token.liveBuckets(holder);
        _assertEq(cur, currentWh, string.concat(what, ": current bucket"));
        _assertEq(prev, previousWh, string.concat(what, ": previous bucket"));
    }

    function _pausedByEmergency() internal {
        vm.prank(emergency);
        token.pause();
    }

    /// @dev The EIP-712 digest an ERC-2612 permit signs.
    function _permitDigest(address owner, address spender, uint256 value, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
    }

    function _permitSignature(uint256 signerKey, address owner, address spender, uint256 value, uint256 deadline)
        internal
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        return vm.sign(signerKey, _permitDigest(owner, spender, value, token.nonces(owner), deadline));
    }

    function _recipients(address first, address second) internal pure returns (address[] memory recipients) {
        recipients = new address[](2);
        (recipients[0], recipients[1]) = (first, second);
    }

    function _amounts(uint256 first, uint256 second) internal pure returns (uint256[] memory amounts) {
        amounts = new uint256[](2);
        (amounts[0], amounts[1]) = (first, second);
    }

    function _unauthorized(address caller) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, caller);
    }

    function _insufficient(address holder, uint256 liveWh, uint256 neededWh) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEnergyToken.InsufficientLiveEnergy.selector, holder, liveWh, neededWh);
    }

    function _notVerified(address participant) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEnergyToken.ParticipantNotVerified.selector, participant);
    }

    // ------------------------------------------------------------ construction and wiring
    function test_decimals_threeSoOneKWhDisplaysAsOne() public view {
        _assertEq(token.decimals(), 3, "decimals");
    }

    function test_constructor_epochOfOneHourAccepted() public {
        EnergyToken hourly = new EnergyToken(address(manager), 1 hours);
        _assertEq(hourly.epochSeconds(), 1 hours, "epoch length");
    }

    function test_constructor_epochJustUnderAnHourReverts() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.InvalidEpochLength.selector, 1 hours - 1));
        new EnergyToken(address(manager), 1 hours - 1);
    }

    function test_setMeterRegistry_wiresOnceThenRefusesAnother() public {
        EnergyToken fresh = new EnergyToken(address(manager), 1 days);
        vm.expectEmit(true, false, false, true, address(fresh));
        emit IEnergyToken.MeterRegistrySet(address(registry));
        fresh.setMeterRegistry(registry);
        require(address(fresh.meterRegistry()) == address(registry), "wired");
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.MeterRegistryAlreadySet.selector, address(registry)));
        fresh.setMeterRegistry(ISmartMeter(attacker));
    }

    function test_setMeterRegistry_byNonAdminReverts() public {
        EnergyToken fresh = new EnergyToken(address(manager), 1 days);
        vm.prank(attacker);
        vm.expectRevert(_unauthorized(attacker));
        fresh.setMeterRegistry(ISmartMeter(attacker));
    }

    function test_mintEnergy_byAdminReverts() public {
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.NotMeterRegistry.selector, address(this)));
        token.mintEnergy(prosumer, 1, abi.encode(uint256(1), block.timestamp, uint256(0)));
    }

    // ------------------------------------------------------------ compliance
    function test_setParticipant_recordsVerificationAndJurisdiction() public {
        address newcomer = address(0x9E1);
        vm.expectEmit(true, false, false, true, address(token));
        emit IEnergyToken.ParticipantSet(newcomer, true, 250);
        vm.prank(regulator);
        token.setParticipant(newcomer, true, 250);
        require(token.isVerified(newcomer), "verified");
        _assertEq(token.jurisdictionOf(newcomer), 250, "jurisdiction");
        vm.prank(regulator);
        token.setParticipant(newcomer, false, 40);
        require(!token.isVerified(newcomer), "unverified");
        _assertEq(token.jurisdictionOf(newcomer), 40, "jurisdiction updated");
    }

    function test_setParticipant_zeroAddressReverts() public {
        vm.prank(regulator);
        vm.expectRevert(_notVerified(address(0)));
        token.setParticipant(address(0), true, 276);
    }

    function test_setParticipant_byNonRegulatorReverts() public {
        vm.prank(attacker);
        vm.expectRevert(_unauthorized(attacker));
        token.setParticipant(attacker, true, 276);
    }

    function test_setParticipant_unverifyFreezesButKeepsEnergy() public {
        _meter(0, 500, 0);
        vm.prank(regulator);
        token.setParticipant(prosumer, false, 276);
        _assertEq(token.balanceOf(prosumer), 500, "energy kept");
        vm.prank(prosumer);
        vm.expectRevert(_notVerified(prosumer));
        token.transfer(consumer, 1);
        vm.prank(regulator);
        token.setParticipant(prosumer, true, 276);
        vm.prank(prosumer);
        token.transfer(consumer, 1);
        _assertEq(token.balanceOf(consumer), 1, "moves again once re-verified");
    }

    // ------------------------------------------------------------ ERC-20 transfer
    function test_transfer_movesLiveEnergyAndEmits() public {
        _meter(0, 500, 0);
        vm.expectEmit(true, true, false, true, address(token));
        emit IERC20.Transfer(prosumer, consumer, 200);
        vm.prank(prosumer);
        require(token.transfer(consumer, 200), "returns true");
        _assertEq(token.balanceOf(prosumer), 300, "sender");
        _assertEq(token.balanceOf(consumer), 200, "receiver");
        _assertEq(token.totalSupply(), marketWh + 500, "supply unchanged");
    }

    function test_transfer_moreThanLiveReverts() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        vm.expectRevert(_insufficient(prosumer, 500, 501));
        token.transfer(consumer, 501);
    }

    function test_transfer_toZeroAddressReverts() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        token.transfer(address(0), 1);
    }

    function test_transfer_toUnverifiedReverts() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        vm.expectRevert(_notVerified(attacker));
        token.transfer(attacker, 1);
    }

    function test_transfer_fromUnverifiedReverts() public {
        vm.prank(attacker);
        vm.expectRevert(_notVerified(attacker));
        token.transfer(consumer, 0);
    }

    function test_transfer_toSelfKeepsBalanceAndEmits() public {
        _meter(0, 500, 0);
        vm.expectEmit(true, true, false, true, address(token));
        emit IERC20.Transfer(prosumer, prosumer, 500);
        vm.prank(prosumer);
        token.transfer(prosumer, 500);
        _assertEq(token.balanceOf(prosumer), 500, "balance unchanged");
    }

    function test_transfer_toSelfBeyondLiveReverts() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        vm.expectRevert(_insufficient(prosumer, 500, 501));
        token.transfer(prosumer, 501);
    }

    // ------------------------------------------------------------ allowances and permit
    function test_transferFrom_spendsAllowance() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        require(token.approve(trader, 300), "approve returns true");
        vm.prank(trader);
        require(token.transferFrom(prosumer, consumer, 200), "transferFrom returns true");
        _assertEq(token.allowance(prosumer, trader), 100, "allowance spent");
        _assertEq(token.balanceOf(consumer), 200, "receiver");
        _assertEq(token.balanceOf(prosumer), 300, "owner");
    }

    function test_transferFrom_beyondAllowanceReverts() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        token.approve(trader, 100);
        vm.prank(trader);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, trader, 100, 150));
        token.transferFrom(prosumer, consumer, 150);
    }

    function test_transferFrom_allowedButBeyondLiveReverts() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        token.approve(trader, 1_000);
        vm.prank(trader);
        vm.expectRevert(_insufficient(prosumer, 500, 600));
        token.transferFrom(prosumer, consumer, 600);
    }

    function test_transferFrom_unlimitedAllowanceNotSpent() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        token.approve(trader, type(uint256).max);
        vm.prank(trader);
        token.transferFrom(prosumer, consumer, 200);
        _assertEq(token.allowance(prosumer, trader), type(uint256).max, "unlimited stays unlimited");
    }

    function test_approve_zeroSpenderReverts() public {
        vm.prank(prosumer);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidSpender.selector, address(0)));
        token.approve(address(0), 1);
    }

    function test_permit_signedApprovalLetsSpenderTransfer() public {
        _meter(0, 500, 0);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permitSignature(sellerKeys[0], prosumer, trader, 300, deadline);
        vm.prank(trader);
        token.permit(prosumer, trader, 300, deadline, v, r, s);
        _assertEq(token.allowance(prosumer, trader), 300, "allowance from signature");
        _assertEq(token.nonces(prosumer), 1, "nonce used");
        vm.prank(trader);
        token.transferFrom(prosumer, consumer, 300);
        _assertEq(token.balanceOf(consumer), 300, "spent by permit");
    }

    function test_permit_expiredDeadlineReverts() public {
        uint256 deadline = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = _permitSignature(sellerKeys[0], prosumer, trader, 300, deadline);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        token.permit(prosumer, trader, 300, deadline, v, r, s);
    }

    function test_permit_signedByOtherKeyReverts() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permitSignature(ATTACKER_KEY, prosumer, attacker, 300, deadline);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, attacker, prosumer));
        token.permit(prosumer, attacker, 300, deadline, v, r, s);
    }

    function test_permit_replayReverts() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permitSignature(sellerKeys[0], prosumer, trader, 300, deadline);
        token.permit(prosumer, trader, 300, deadline, v, r, s);
        // The digest now carries the next nonce, so the old signature recovers some other address.
        address recovered = ecrecover(_permitDigest(prosumer, trader, 300, 1, deadline), v, r, s);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, recovered, prosumer));
        token.permit(prosumer, trader, 300, deadline, v, r, s);
    }

    // ------------------------------------------------------------ transferEnergy
    function test_transferEnergy_oldestFirstAndEachPartKeepsItsEpoch() public {
        _prosumerHoldsBothBuckets();
        vm.prank(prosumer);
        require(token.transferEnergy(consumer, 400), "returns true");
        _assertBuckets(prosumer, 100, 0, "sender keeps the newest");
        _assertBuckets(consumer, 100, 300, "receiver gets both epochs");
        _warpToEpoch(2);
        _assertEq(token.balanceOf(consumer), 100, "received epoch-0 part expired with its epoch");
        _assertEq(token.balanceOf(prosumer), 100, "sender's epoch-1 part still live");
    }

    // ------------------------------------------------------------ transferEnergyBatch
    function test_transferEnergyBatch_emptyReverts() public {
        vm.prank(prosumer);
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.BatchLengthMismatch.selector, 0, 0));
        token.transferEnergyBatch(new address[](0), new uint256[](0));
    }

    function test_transferEnergyBatch_moreAmountsThanRecipientsReverts() public {
        vm.prank(prosumer);
        vm.expectRevert(abi.encodeWithSelector(IEnergyToken.BatchLengthMismatch.selector, 1, 2));
        token.transferEnergyBatch(new address[](1), _amounts(1, 1));
    }

    function test_transferEnergyBatch_oldestFirstAcrossRecipients() public {
        _prosumerHoldsBothBuckets();
        vm.prank(prosumer);
        require(token.transferEnergyBatch(_recipients(consumer, trader), _amounts(200, 200)), "returns true");
        _assertBuckets(consumer, 0, 200, "first recipient: oldest energy");
        _assertBuckets(trader, 100, 100, "second recipient: rest of oldest, then newest");
        _assertBuckets(prosumer, 100, 0, "sender");
    }

    function test_transferEnergyBatch_selfTransferKeepsBalanceAndEmits() public {
        _meter(0, 500, 0);
        vm.expectEmit(true, true, false, true, address(token));
        emit IERC20.Transfer(prosumer, prosumer, 300);
        vm.expectEmit(true, true, false, true, address(token));
        emit IERC20.Transfer(prosumer, consumer, 100);
        vm.prank(prosumer);
        token.transferEnergyBatch(_recipients(prosumer, consumer), _amounts(300, 100));
        _assertEq(token.balanceOf(prosumer), 400, "only the other recipient's part left");
        _assertEq(token.balanceOf(consumer), 100, "receiver");
    }

    function test_transferEnergyBatch_selfTransferBeyondRemainingLiveReverts() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        vm.expectRevert(_insufficient(prosumer, 100, 200));
        token.transferEnergyBatch(_recipients(consumer, prosumer), _amounts(400, 200));
    }

    function test_transferEnergyBatch_toZeroAddressReverts() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        token.transferEnergyBatch(_recipients(consumer, address(0)), _amounts(100, 100));
    }

    function test_transferEnergyBatch_unverifiedRecipientReverts() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        vm.expectRevert(_notVerified(attacker));
        token.transferEnergyBatch(_recipients(consumer, attacker), _amounts(100, 100));
    }

    function test_transferEnergyBatch_unverifiedSenderReverts() public {
        vm.prank(attacker);
        vm.expectRevert(_notVerified(attacker));
        token.transferEnergyBatch(_recipients(consumer, trader), _amounts(0, 0));
    }

    function test_transferEnergyBatch_sumBeyondLiveReverts() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        vm.expectRevert(_insufficient(prosumer, 200, 300));
        token.transferEnergyBatch(_recipients(consumer, trader), _amounts(300, 300));
    }

    // ------------------------------------------------------------ burnEnergy
    function test_burnEnergy_moreThanLiveWithExpiredEnergyReverts() public {
        _meter(0, 500, 0);
        _warpToEpoch(2);
        _meter(0, 200, 0);
        vm.prank(prosumer);
        vm.expectRevert(_insufficient(prosumer, 200, 300));
        token.burnEnergy(300);
    }

    function test_burnEnergy_previousEpochFirstAndSupplyPerEpoch() public {
        _prosumerHoldsBothBuckets();
        vm.prank(prosumer);
        token.burnEnergy(400);
        _assertBuckets(prosumer, 100, 0, "oldest burned first");
        _assertEq(token.totalSupply(), marketWh + 100, "both epochs' supply reduced");
        _warpToEpoch(2);
        // Only epoch 1 is still live now: it must have lost exactly the 100 Wh taken from it.
        _assertEq(token.totalSupply(), 100, "epoch-1 supply lost only its 100 Wh");
    }

    function test_burnEnergy_currentEpochOnlyLeavesOlderSupply() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        token.burnEnergy(200);
        _assertEq(token.balanceOf(prosumer), 300, "balance");
        _warpToEpoch(1);
        _assertEq(token.totalSupply(), marketWh + 300, "epoch-0 supply, now the previous epoch");
    }

    // ------------------------------------------------------------ burning against consumption
    function test_mintEnergy_consumptionWithoutLiveEnergyBurnsNothing() public {
        _meter(0, 0, 400);
        _assertEq(token.balanceOf(prosumer), 0, "nothing to burn");
        _assertEq(token.totalSupply(), marketWh, "supply untouched");
    }

    // ------------------------------------------------------------ expiry
    function test_balanceOf_liveUntilExpiryThenZero() public {
        _meter(0, 500, 0);
        uint256 expiresAt = token.expiryOf(_meterLastStart[0]);
        _assertEq(expiresAt, _epochStart(2), "expires at the end of the next epoch");
        vm.warp(expiresAt - 1);
        _assertEq(token.balanceOf(prosumer), 500, "live one second before expiry");
        vm.warp(expiresAt);
        _assertEq(token.balanceOf(prosumer), 0, "expired");
    }

    function test_totalSupply_countsOnlyTheTwoLiveEpochs() public {
        _prosumerHoldsBothBuckets();
        _assertEq(token.totalSupply(), marketWh + 300 + 200, "epochs 0 and 1");
        _warpToEpoch(2);
        _assertEq(token.totalSupply(), 200, "epoch 1 only");
        _assertBuckets(prosumer, 0, 200, "epoch-1 energy is now the previous bucket");
        _assertBuckets(address(market), 0, 0, "market's epoch-0 escrow expired");
        _warpToEpoch(3);
        _assertEq(token.totalSupply(), 0, "nothing live");
        _assertEq(token.balanceOf(prosumer), 0, "all expired");
    }

    function test_transfer_afterOneEpochWritesOffOnlyThePreviousBucket() public {
        _prosumerHoldsBothBuckets();
        _warpToEpoch(2);
        vm.expectEmit(true, false, false, true, address(token));
        emit IEnergyToken.EnergyExpired(prosumer, 300, _epoch(2));
        vm.expectEmit(true, true, false, true, address(token));
        emit IERC20.Transfer(prosumer, address(0), 300);
        vm.expectEmit(true, true, false, true, address(token));
        emit IERC20.Transfer(prosumer, consumer, 50);
        vm.prank(prosumer);
        token.transfer(consumer, 50);
        _assertBuckets(prosumer, 0, 150, "epoch-1 energy left");
    }

    function test_transferEnergy_receiverIdleTwoEpochsWritesOffBothBuckets() public {
        _prosumerHoldsBothBuckets();
        _warpToEpoch(3);
        _meter(1, 100, 0);
        vm.expectEmit(true, false, false, true, address(token));
        emit IEnergyToken.EnergyExpired(prosumer, 500, _epoch(3));
        vm.prank(secondProsumer);
        token.transferEnergy(prosumer, 100);
        _assertBuckets(prosumer, 100, 0, "only the fresh energy");
    }

    function test_expiryOf_endOfTheEpochAfterTheInterval() public view {
        _assertEq(token.expiryOf(_epochStart(0)), _epochStart(2), "first second of an epoch");
        _assertEq(token.expiryOf(_epochStart(1) - 1), _epochStart(2), "last second of the same epoch");
        _assertEq(token.expiryOf(_epochStart(1)), _epochStart(3), "next epoch");
    }

    // ------------------------------------------------------------ lot sources
    function test_getEnergySource_laterLotCarriesItsReading() public {
        _warpToEpoch(1);
        _meter(0, 700, 0);
        uint256 lotId = (uint256(1) << 64) | _meterSequence[0];
        IEnergyToken.SourceData memory source = token.getEnergySource(lotId);
        _assertEq(source.lotId, lotId, "lot");
        _assertEq(source.deviceId, 1, "device");
        require(source.generator == prosumer, "generator");
        _assertEq(source.energySource, 0, "source kind");
        _assertEq(source.intervalStart, _epochStart(1), "interval");
        _assertEq(source.energyWh, 700, "energy");
        _assertEq(source.expiresAt, _epochStart(3), "expiry");
    }

    function test_getEnergySource_lotWithoutExportReverts() public {
        _meter(0, 0, 100);
        vm.expectRevert(abi.encodeWithSelector(ISmartMeter.ReadingOutsideHistory.selector, 1, _meterSequence[0]));
        token.getEnergySource((uint256(1) << 64) | _meterSequence[0]);
    }

    // ------------------------------------------------------------ escrow
    function test_escrowEnergy_takesOldestFirstAndReportsParts() public {
        _prosumerHoldsBothBuckets();
        vm.prank(escrow);
        (uint256 previousPartWh, uint256 currentPartWh) = token.escrowEnergy(prosumer, 400);
        _assertEq(previousPartWh, 300, "previous part");
        _assertEq(currentPartWh, 100, "current part");
        _assertBuckets(escrow, 100, 300, "escrow keeps the epochs apart");
        _assertBuckets(prosumer, 100, 0, "holder");
    }

    function test_escrowEnergy_byNonEscrowReverts() public {
        _meter(0, 500, 0);
        vm.prank(attacker);
        vm.expectRevert(_unauthorized(attacker));
        token.escrowEnergy(prosumer, 500);
    }

    function test_escrowEnergy_zeroReverts() public {
        vm.prank(escrow);
        vm.expectRevert(IEnergyToken.ZeroAmount.selector);
        token.escrowEnergy(prosumer, 0);
    }

    function test_escrowEnergy_moreThanLiveReverts() public {
        _meter(0, 500, 0);
        vm.prank(escrow);
        vm.expectRevert(_insufficient(prosumer, 500, 501));
        token.escrowEnergy(prosumer, 501);
    }

    function test_escrowEnergy_unverifiedHolderReverts() public {
        vm.prank(escrow);
        vm.expectRevert(_notVerified(attacker));
        token.escrowEnergy(attacker, 1);
    }

    function test_escrowEnergy_unverifiedEscrowReverts() public {
        _meter(0, 500, 0);
        vm.prank(regulator);
        token.setParticipant(escrow, false, 0);
        vm.prank(escrow);
        vm.expectRevert(_notVerified(escrow));
        token.escrowEnergy(prosumer, 100);
    }

    function test_escrowEnergy_ofItselfBeyondLiveReverts() public {
        _meter(0, 500, 0);
        vm.prank(escrow);
        token.escrowEnergy(prosumer, 500);
        vm.prank(escrow);
        vm.expectRevert(_insufficient(escrow, 500, 600));
        token.escrowEnergy(escrow, 600);
    }

    function test_releaseEnergy_returnsExactParts() public {
        _prosumerHoldsBothBuckets();
        vm.prank(escrow);
        (uint256 previousPartWh, uint256 currentPartWh) = token.escrowEnergy(prosumer, 400);
        vm.expectEmit(true, true, false, true, address(token));
        emit IERC20.Transfer(escrow, prosumer, 400);
        vm.prank(escrow);
        token.releaseEnergy(prosumer, previousPartWh, currentPartWh);
        _assertBuckets(prosumer, 200, 300, "holder back to where it was");
        _assertEq(token.balanceOf(escrow), 0, "escrow empty");
    }

    function test_releaseEnergy_moreThanEscrowHoldsInOneEpochReverts() public {
        _prosumerHoldsBothBuckets();
        vm.prank(escrow);
        token.escrowEnergy(prosumer, 400);
        // 400 Wh live in escrow, but only 300 of them from the previous epoch.
        vm.prank(escrow);
        vm.expectRevert(_insufficient(escrow, 400, 400));
        token.releaseEnergy(prosumer, 400, 0);
    }

    function test_releaseEnergy_byNonEscrowReverts() public {
        vm.prank(attacker);
        vm.expectRevert(_unauthorized(attacker));
        token.releaseEnergy(attacker, 0, 1);
    }

    function test_releaseEnergy_zeroReverts() public {
        vm.prank(escrow);
        vm.expectRevert(IEnergyToken.ZeroAmount.selector);
        token.releaseEnergy(prosumer, 0, 0);
    }

    function test_releaseEnergy_toZeroAddressReverts() public {
        _meter(0, 500, 0);
        vm.prank(escrow);
        token.escrowEnergy(prosumer, 500);
        vm.prank(escrow);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        token.releaseEnergy(address(0), 0, 500);
    }

    function test_releaseEnergy_toUnverifiedReverts() public {
        _meter(0, 500, 0);
        vm.prank(escrow);
        token.escrowEnergy(prosumer, 500);
        vm.prank(escrow);
        vm.expectRevert(_notVerified(attacker));
        token.releaseEnergy(attacker, 0, 500);
    }

    // ------------------------------------------------------------ pause
    function test_pause_byNonEmergencyReverts() public {
        vm.prank(attacker);
        vm.expectRevert(_unauthorized(attacker));
        token.pause();
    }

    function test_unpause_byEmergencyReverts() public {
        _pausedByEmergency();
        vm.prank(emergency);
        vm.expectRevert(_unauthorized(emergency));
        token.unpause();
    }

    function test_unpause_byAdminResumesMovement() public {
        _meter(0, 500, 0);
        _pausedByEmergency();
        token.unpause();
        require(!token.paused(), "unpaused");
        vm.prank(prosumer);
        token.transfer(consumer, 100);
        _assertEq(token.balanceOf(consumer), 100, "moves again");
    }

    function test_unpause_whenNotPausedReverts() public {
        vm.expectRevert(Pausable.ExpectedPause.selector);
        token.unpause();
    }

    function test_transfer_whilePausedReverts() public {
        _meter(0, 500, 0);
        _pausedByEmergency();
        vm.prank(prosumer);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        token.transfer(consumer, 1);
    }

    function test_transferFrom_whilePausedReverts() public {
        _meter(0, 500, 0);
        vm.prank(prosumer);
        token.approve(trader, 100);
        _pausedByEmergency();
        vm.prank(trader);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        token.transferFrom(prosumer, consumer, 1);
    }

    function test_approve_whilePausedStillSetsAllowance() public {
        _pausedByEmergency();
        vm.prank(prosumer);
        token.approve(trader, 100);
        _assertEq(token.allowance(prosumer, trader), 100, "approvals move no energy");
    }

    function test_transferEnergyBatch_whilePausedReverts() public {
        _meter(0, 500, 0);
        _pausedByEmergency();
        vm.prank(prosumer);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        token.transferEnergyBatch(_recipients(consumer, trader), _amounts(1, 1));
    }

    function test_burnEnergy_whilePausedReverts() public {
        _meter(0, 500, 0);
        _pausedByEmergency();
        vm.prank(prosumer);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        token.burnEnergy(1);
    }

    function test_escrowEnergy_whilePausedReverts() public {
        _meter(0, 500, 0);
        _pausedByEmergency();
        vm.prank(escrow);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        token.escrowEnergy(prosumer, 1);
    }

    function test_releaseEnergy_whilePausedReverts() public {
        _meter(0, 500, 0);
        vm.prank(escrow);
        token.escrowEnergy(prosumer, 500);
        _pausedByEmergency();
        vm.prank(escrow);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        token.releaseEnergy(prosumer, 0, 500);
    }

    function test_mintEnergy_whilePausedReverts() public {
        _pausedByEmergency();
        vm.prank(address(registry));
        vm.expectRevert(Pausable.EnforcedPause.selector);
        token.mintEnergy(prosumer, 1, abi.encode(uint256(1), block.timestamp, uint256(0)));
    }
}
