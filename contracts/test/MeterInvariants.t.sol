// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {Cheats} from "./base/Cheats.sol";
import {ReadingBatch} from "./base/ReadingBatch.sol";
import {GridAccessManager} from "../GridAccessManager.sol";
import {EnergyToken} from "../EnergyToken.sol";
import {SmartMeterRegistry} from "../SmartMeterRegistry.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";
import {IEnergyToken} from "../interfaces/IEnergyToken.sol";
import {Roles} from "../libraries/Roles.sol";
import {DeviceGrid} from "./base/DeviceGrid.sol";

/// @notice Drives many meters through time: honest readings, lost ones (sequence gaps), replays,
///         new intervals signed under a used sequence, forged, garbage-signed, tampering and implausible ones, batches sent while the token is
///         paused, suspensions, quarantine resets, transfers, holder burns, escrow and expiry
///         (time moves up to days, across epochs). Every token and registry event is read back
///         into ghost sums, so the invariants compare the contracts with what they announced.
/// @dev The handler holds the ADMIN role (status changes, resets, token pause, escrow) and acts
///      as the escrow contract itself; the gateway is pranked.
contract MeterHandler {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));
    bytes32 internal constant FIRMWARE = keccak256("meter-fw-1.0");
    uint256 internal constant DEVICES = 6;
    uint256 internal constant RATED_POWER_W = 5_000;

    bytes32 internal constant TRANSFER = keccak256("Transfer(address,address,uint256)");
    bytes32 internal constant BURNED = keccak256("EnergyBurned(address,uint256,uint8)");
    bytes32 internal constant EXPIRED = keccak256("EnergyExpired(address,uint256,uint256)");
    bytes32 internal constant MINTED = keccak256("EnergyMinted(uint256,address,uint256,uint256,uint256)");
    bytes32 internal constant ACCEPTED =
        keccak256("ReadingAccepted(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint8)");
    bytes32 internal constant UNMINTED = keccak256("ExportExpiredUnminted(uint256,uint256,uint256)");
    bytes32 internal constant GAP = keccak256("ReadingSequenceGap(uint256,uint256,uint256)");

    EnergyToken public immutable token;
    SmartMeterRegistry public immutable registry;
    address public immutable gateway;

    address[DEVICES] public owners;
    uint256[DEVICES] internal keys;
    uint64[DEVICES] internal signedSequence;
    ISmartMeter.SignedReading[DEVICES] internal lastAccepted;
    uint256[DEVICES] internal acceptedSequence;

    // ---- ghosts, from events
    uint256 public ghostMintedWh; // Transfer from 0
    uint256 public ghostBurnedWh; // EnergyBurned
    uint256 public ghostExpiredWh; // EnergyExpired
    uint256 public ghostLotsWh; // EnergyMinted parts
    uint256 public ghostAcceptedMintedWh; // ReadingAccepted.mintedWh
    uint256 public ghostUnmintedWh; // ExportExpiredUnminted + quarantine reset jumps
    uint256[DEVICES] public ghostLotsByDevice;
    // ---- ghosts of what must never happen
    uint256 public ghostBatchReverts;
    uint256 public ghostReplaysAccepted;
    uint256 public ghostMintedWhileQuarantined;
    uint256 public ghostUnreportedGaps;
    // ---- coverage: that the run reached the paths the invariants are about
    uint256 public ghostGaps;
    uint256 public ghostResets;
    uint256 public ghostExpiries;

    constructor(EnergyToken token_, SmartMeterRegistry registry_, address gateway_, address[DEVICES] memory owners_) {
        token = token_;
        registry = registry_;
        gateway = gateway_;
        for (uint256 i; i < DEVICES; ++i) {
            owners[i] = owners_[i];
            keys[i] = 0xD100 + i;
        }
    }

    function deviceKey(uint256 i) external view returns (uint256) {
        return keys[i];
    }

    function ownerCount() external pure returns (uint256) {
        return DEVICES;
    }

    // ---------------------------------------------------------------- actions
    /// @notice One to four readings of random devices in one batch, each honest or bad.
    function submitBatch(uint256 seed) external {
        _begin();
        _submitBatch(seed);
        _end();
    }

    /// @notice A batch sent while the token is paused: every reading is skipped, none reverts it.
    function submitWhileTokenPaused(uint256 seed) external {
        _begin();
        token.pause();
        _submitBatch(seed);
        token.unpause();
        _end();
    }

    /// @notice Time passes: one interval to two days, sometimes three (energy expires).
    function advanceTime(uint256 seed) external {
        _begin();
        uint256 step = seed % 8 == 0 ? 3 days : 900 * (1 + seed % 192);
        vm.warp(block.timestamp + step);
        _end();
    }

    /// @notice The meter operator suspends or reactivates a device (maintenance counts as suspended).
    function toggleStatus(uint256 seed) external {
        _begin();
        uint256 id = seed % DEVICES + 1;
        ISmartMeter.DeviceStatus status = registry.getDevice(id).status;
        if (status == ISmartMeter.DeviceStatus.Active) {
            registry.setDeviceStatus(
                id, seed % 2 == 0 ? ISmartMeter.DeviceStatus.Suspended : ISmartMeter.DeviceStatus.Maintenance
            );
        } else if (status != ISmartMeter.DeviceStatus.Quarantined) {
            registry.setDeviceStatus(id, ISmartMeter.DeviceStatus.Active);
        }
        _end();
    }

    /// @notice Governance lifts a quarantine with inspected registers a little above the last.
    function resetQuarantine(uint256 seed) external {
        _begin();
        for (uint256 k; k < DEVICES; ++k) {
            uint256 id = (seed + k) % DEVICES + 1;
            ISmartMeter.Device memory d = registry.getDevice(id);
            if (d.status != ISmartMeter.DeviceStatus.Quarantined) continue;
            uint256 jumpWh = (seed >> 8) % 5_000;
            registry.resetQuarantine(id, uint64(d.importWh + (seed >> 24) % 5_000), uint64(d.exportWh + jumpWh));
            ghostUnmintedWh += jumpWh;
            ++ghostResets;
            break;
        }
        _end();
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amountSeed) external {
        _begin();
        address from = owners[fromSeed % DEVICES];
        uint256 balance = token.balanceOf(from);
        vm.prank(from);
        token.transferEnergy(owners[toSeed % DEVICES], amountSeed % (balance + 1));
        _end();
    }

    function burn(uint256 ownerSeed, uint256 amountSeed) external {
        _begin();
        address owner = owners[ownerSeed % DEVICES];
        uint256 balance = token.balanceOf(owner);
        if (balance != 0) {
            vm.prank(owner);
            token.burnEnergy(1 + amountSeed % balance);
        }
        _end();
    }

    /// @notice The handler, as escrow contract, takes some of a holder's energy...
    function escrow(uint256 ownerSeed, uint256 amountSeed) external {
        _begin();
        address owner = owners[ownerSeed % DEVICES];
        uint256 balance = token.balanceOf(owner);
        if (balance != 0) token.escrowEnergy(owner, 1 + amountSeed % balance);
        _end();
    }

    /// @notice ...and gives all it still holds live back to one holder.
    function release(uint256 ownerSeed) external {
        _begin();
        (uint256 currentWh, uint256 previousWh) = token.liveBuckets(address(this));
        if (currentWh + previousWh != 0) token.releaseEnergy(owners[ownerSeed % DEVICES], previousWh, currentWh);
        _end();
    }

    // ---------------------------------------------------------------- batches
    function _submitBatch(uint256 seed) internal {
        uint256 size = 1 + seed % 4;
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](size);
        bool[DEVICES] memory quarantined;
        for (uint256 i; i < DEVICES; ++i) {
            quarantined[i] = registry.getDevice(i + 1).status == ISmartMeter.DeviceStatus.Quarantined;
        }
        uint256 start = block.timestamp - (block.timestamp % 900) - 900;
        for (uint256 k; k < size; ++k) {
            uint256 bits = uint256(keccak256(abi.encode(seed, k)));
            uint256 i = bits % DEVICES;
            uint256 mode = (bits >> 8) % 16;
            batch[k] = mode == 2 && lastAccepted[i].sequence != 0 ? lastAccepted[i] : _reading(i, start, mode, bits);
        }
        bytes memory data = abi.encodeCall(registry.submitReadings, (ReadingBatch.packed(batch)));
        vm.prank(gateway);
        (bool ok,) = address(registry).call(data);
        if (!ok) ++ghostBatchReverts;
        Cheats.Log[] memory logs = vm.getRecordedLogs();
        _collect(logs, quarantined);
        for (uint256 k; k < size; ++k) {
            uint256 i = batch[k].deviceId - 1;
            if (registry.getDevice(i + 1).lastSequence == batch[k].sequence) {
                lastAccepted[i] = batch[k];
            }
        }
    }

    /// @dev A reading of device i for the latest complete interval: honest (a random share of
    ///      what rated power allows since the last accepted interval), or bad by `mode`.
    function _reading(uint256 i, uint256 start, uint256 mode, uint256 bits)
        internal
        returns (ISmartMeter.SignedReading memory reading)
    {
        ISmartMeter.Device memory d = registry.getDevice(i + 1);
        uint256 covered = start > d.lastIntervalStart ? start - d.lastIntervalStart : 900;
        if (covered > 7 days) covered = 7 days;
        uint256 maxWh = RATED_POWER_W * covered / 3600;
        uint256 exportWh = d.exportWh + (bits >> 16) % (maxWh + 1);
        uint256 importWh = d.importWh + (bits >> 80) % (maxWh / 2 + 1);
        if (mode == 1) exportWh = d.exportWh + 2 * maxWh + 10; // implausible
        uint64 sequence = signedSequence[i] > d.lastSequence ? signedSequence[i] : uint64(d.lastSequence);
        if (mode == 6 && d.lastSequence != 0) {
            // mode 6: a new interval signed under the last accepted sequence (or one before it):
            // a genuine signature, so only the sequence check stands between it and a mint.
            uint64 stepBack = (bits >> 144) % 2 == 1 && d.lastSequence > 1 ? 1 : 0;
            sequence = uint64(d.lastSequence) - stepBack;
        } else {
            sequence += mode == 4 ? 3 : 1; // mode 4: two readings lost on the way
            signedSequence[i] = sequence;
        }
        reading = ISmartMeter.SignedReading(
            uint64(i + 1),
            sequence,
            uint64(start),
            uint64(importWh),
            uint64(exportWh),
            mode == 0 ? 1 : 0,
            FIRMWARE,
            0,
            0
        );
        // mode 3: signed by another device's key.
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(keys[mode == 3 ? (i + 1) % DEVICES : i], registry.readingDigest(reading));
        reading.r = r;
        reading.vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        if (mode == 5) {
            // mode 5: a whole record whose signature words are any bit pattern (high s, either v).
            reading.r = keccak256(abi.encode(bits, "r"));
            reading.vs = keccak256(abi.encode(bits, "vs"));
        }
    }

    // ---------------------------------------------------------------- ghosts
    function _begin() internal {
        vm.recordLogs();
    }

    /// @dev Rolls every holder to the present epoch (a zero self-transfer), so that all expiry
    ///      is announced, then reads the events of the action.
    function _end() internal {
        for (uint256 i; i < DEVICES; ++i) {
            vm.prank(owners[i]);
            token.transferEnergy(owners[i], 0);
        }
        token.transferEnergy(address(this), 0);
        bool[DEVICES] memory none;
        _collect(vm.getRecordedLogs(), none);
    }

    function _collect(Cheats.Log[] memory logs, bool[DEVICES] memory quarantined) internal {
        uint256 gapReportedFor;
        for (uint256 k; k < logs.length; ++k) {
            Cheats.Log memory log = logs[k];
            bytes32 topic = log.topics[0];
            if (log.emitter == address(token)) {
                if (topic == TRANSFER && log.topics[1] == bytes32(0)) {
                    ghostMintedWh += abi.decode(log.data, (uint256));
                } else if (topic == BURNED) {
                    (uint256 energyWh,) = abi.decode(log.data, (uint256, uint8));
                    ghostBurnedWh += energyWh;
                } else if (topic == EXPIRED) {
                    (uint256 energyWh,) = abi.decode(log.data, (uint256, uint256));
                    ghostExpiredWh += energyWh;
                    ++ghostExpiries;
                } else if (topic == MINTED) {
                    uint256 deviceId = uint256(log.topics[1]) >> 64;
                    (, uint256 previousWh, uint256 currentWh) = abi.decode(log.data, (uint256, uint256, uint256));
                    ghostLotsWh += previousWh + currentWh;
                    ghostLotsByDevice[deviceId - 1] += previousWh + currentWh;
                    if (quarantined[deviceId - 1]) ++ghostMintedWhileQuarantined;
                }
            } else if (log.emitter == address(registry) && log.topics.length > 1) {
                uint256 deviceId = uint256(log.topics[1]);
                if (topic == GAP) {
                    gapReportedFor = deviceId;
                    ++ghostGaps;
                } else if (topic == UNMINTED) {
                    (, uint256 energyWh) = abi.decode(log.data, (uint256, uint256));
                    ghostUnmintedWh += energyWh;
                } else if (topic == ACCEPTED) {
                    // data: sequence, intervalStart, importWh, exportWh, mintedWh, consumedWh, flags
                    (uint256 sequence,,,, uint256 mintedWh) =
                        abi.decode(log.data, (uint256, uint256, uint256, uint256, uint256));
                    ghostAcceptedMintedWh += mintedWh;
                    uint256 last = acceptedSequence[deviceId - 1];
                    if (sequence <= last) ++ghostReplaysAccepted;
                    // The gap event comes just before its reading's ReadingAccepted.
                    if (sequence > last + 1 && gapReportedFor != deviceId) ++ghostUnreportedGaps;
                    acceptedSequence[deviceId - 1] = sequence;
                    gapReportedFor = 0;
                }
            }
        }
    }
}

contract MeterInvariantsTest {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant DEVICES = 6;

    EnergyToken internal token;
    SmartMeterRegistry internal registry;
    MeterHandler internal handler;

    function setUp() public {
        vm.warp(1_750_000_500);
        GridAccessManager manager = new GridAccessManager(address(this));
        // Day-long epochs and reading window: the run's time steps make energy expire.
        token = new EnergyToken(address(manager), 1 days);
        registry = new SmartMeterRegistry(address(manager), token, 1 days);
        token.setMeterRegistry(registry);
        registry.setFirmwareApproval(keccak256("meter-fw-1.0"), true);
        DeviceGrid.wire(address(manager), registry, DEVICES, 5_000);
        address gateway = address(0x6A7E);
        bytes4[] memory selectors = new bytes4[](1);
        selectors[0] = registry.submitReadings.selector;
        manager.setTargetFunctionRole(address(registry), selectors, Roles.GATEWAY);
        manager.grantRole(Roles.GATEWAY, gateway, 0);

        address[DEVICES] memory owners;
        for (uint256 i; i < DEVICES; ++i) {
            owners[i] = address(uint160(0x9B01 + i));
        }
        handler = new MeterHandler(token, registry, gateway, owners);
        manager.grantRole(Roles.ADMIN, address(handler), 0);
        token.setParticipant(address(handler), true, 276);
        for (uint256 i; i < DEVICES; ++i) {
            token.setParticipant(owners[i], true, 276);
            registry.registerDevice(
                vm.addr(handler.deviceKey(i)),
                abi.encode(owners[i], uint64(i + 1), uint8(2), uint8(0), uint32(5_000), keccak256("meter-fw-1.0"))
            );
        }
    }

    /// @dev Read by forge's invariant runner: only the handler is called.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function _heldWh() internal view returns (uint256 sum) {
        for (uint256 i; i < DEVICES; ++i) {
            sum += token.balanceOf(handler.owners(i));
        }
    }

    /// @notice minted = held + escrowed + burned + expired, each side from different sources:
    ///         the token's events on the left and in burned/expired, balances for the rest.
    function invariant_energyConserved() public view {
        uint256 escrowedWh = token.balanceOf(address(handler));
        require(
            handler.ghostMintedWh() == _heldWh() + escrowedWh + handler.ghostBurnedWh() + handler.ghostExpiredWh(),
            "minted != held + escrowed + burned + expired"
        );
    }

    /// @notice The per-epoch supply agrees with the per-holder buckets.
    function invariant_supplyEqualsLiveBalances() public view {
        require(token.totalSupply() == _heldWh() + token.balanceOf(address(handler)), "supply != live balances");
    }

    /// @notice Every Wh of every export register was minted or recorded as never minted, and
    ///         the registry reports exactly what the token minted.
    function invariant_registersAreMintedOrRecordedUnminted() public view {
        uint256 registersWh;
        for (uint256 i; i < DEVICES; ++i) {
            registersWh += registry.getDevice(i + 1).exportWh;
        }
        require(registersWh == handler.ghostAcceptedMintedWh() + handler.ghostUnmintedWh(), "register energy lost");
        require(handler.ghostAcceptedMintedWh() == handler.ghostLotsWh(), "registry and token disagree");
        require(handler.ghostLotsWh() == handler.ghostMintedWh(), "lots != minted transfers");
    }

    /// @notice What a carbon verifier may certify through a device's last reading is exactly
    ///         what was minted for it.
    function invariant_certifiableEqualsMinted() public view {
        for (uint256 i; i < DEVICES; ++i) {
            ISmartMeter.Device memory d = registry.getDevice(i + 1);
            if (d.lastSequence == 0) continue;
            try registry.mintedExportThrough(i + 1, d.lastSequence) returns (ISmartMeter.MintedExport memory m) {
                require(m.mintedWh == handler.ghostLotsByDevice(i), "certifiable != minted");
            } catch {
                // The last reading is the quarantine reset's own: nothing to certify through it yet.
            }
        }
    }

    function invariant_noBatchReverts() public view {
        require(handler.ghostBatchReverts() == 0, "a batch reverted");
    }

    function invariant_noReadingAcceptedTwice() public view {
        require(handler.ghostReplaysAccepted() == 0, "replay accepted");
    }

    function invariant_quarantinedDeviceMintsNothing() public view {
        require(handler.ghostMintedWhileQuarantined() == 0, "quarantined device minted");
    }

    function invariant_everySequenceGapReported() public view {
        require(handler.ghostUnreportedGaps() == 0, "sequence gap not reported");
    }
}
