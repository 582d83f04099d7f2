// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {Cheats} from "./base/Cheats.sol";
import {GridAccessManager} from "../GridAccessManager.sol";
import {EnergyToken} from "../EnergyToken.sol";
import {SmartMeterRegistry} from "../SmartMeterRegistry.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";
import {Roles} from "../libraries/Roles.sol";
import {DeviceGrid} from "./base/DeviceGrid.sol";

/// @notice Drives readings (honest, replayed, tampering), transfers and time through the
///         system and keeps ghost sums of what must have happened.
contract MeterHandler {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));
    bytes32 internal constant FIRMWARE = keccak256("meter-fw-1.0");
    uint256 internal constant DEVICES = 4;

    EnergyToken public immutable token;
    SmartMeterRegistry public immutable registry;
    address public immutable gateway;

    address[DEVICES] public owners;
    uint256[DEVICES] internal keys;
    uint64[DEVICES] internal sequence;
    uint64[DEVICES] internal importWh;
    uint64[DEVICES] internal exportWh;
    uint64 public interval;

    uint256 public ghostAcceptedExportWh;
    uint256 public ghostBurnedWh;
    uint256 public ghostReplaysAccepted;
    uint256 public ghostMintedWhileQuarantined;
    ISmartMeter.SignedReading internal lastAccepted;
    bool internal haveLastAccepted;

    constructor(EnergyToken token_, SmartMeterRegistry registry_, address gateway_, address[4] memory owners_) {
        token = token_;
        registry = registry_;
        gateway = gateway_;
        for (uint256 i; i < DEVICES; ++i) {
            owners[i] = owners_[i];
            keys[i] = 0xD100 + i;
        }
        interval = uint64(block.timestamp - (block.timestamp % 900));
    }

    function deviceKey(uint256 i) external view returns (uint256) {
        return keys[i];
    }

    /// @notice Next interval; an honest, over-limit or tamper-flagged reading from one meter.
    function submitReading(uint256 deviceSeed, uint256 exportSeed, uint256 importSeed, uint8 mode) external {
        uint256 i = deviceSeed % DEVICES;
        interval += 900;
        vm.warp(interval + 900 + 5);
        // 5 kW rated: 1,312 Wh is the most a 15-minute reading may add (with tolerance).
        uint64 exportDelta = uint64(exportSeed % 1_400);
        uint64 importDelta = uint64(importSeed % 1_200);
        uint8 flags = mode % 7 == 0 ? 1 : 0;
        ISmartMeter.SignedReading memory reading = _sign(
            i, ISmartMeter.SignedReading(
                uint64(i + 1), sequence[i] + 1, interval, importWh[i] + importDelta, exportWh[i] + exportDelta,
                flags, FIRMWARE, 0, 0
            )
        );
        bool wasQuarantined = _status(i) == ISmartMeter.DeviceStatus.Quarantined;
        uint256 supplyBefore = token.totalSupply();
        uint256 balanceBefore = token.balanceOf(owners[i]);
        _submit(reading);
        if (registry.getDevice(i + 1).lastSequence == reading.sequence) {
            if (wasQuarantined) ghostMintedWhileQuarantined += token.totalSupply() - supplyBefore + 1;
            sequence[i] = reading.sequence;
            importWh[i] = reading.importWh;
            exportWh[i] = reading.exportWh;
            ghostAcceptedExportWh += exportDelta;
            ghostBurnedWh += balanceBefore + exportDelta - token.balanceOf(owners[i]);
            lastAccepted = reading;
            haveLastAccepted = true;
        }
    }

    /// @notice The gateway (or an attacker) sends the last accepted reading again.
    function replayLastAccepted() external {
        if (!haveLastAccepted) return;
        uint256 supplyBefore = token.totalSupply();
        _submit(lastAccepted);
        if (token.totalSupply() != supplyBefore) ++ghostReplaysAccepted;
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amountSeed) external {
        address from = owners[fromSeed % DEVICES];
        address to = owners[toSeed % DEVICES];
        uint256 balance = token.balanceOf(from);
        if (balance == 0) return;
        vm.prank(from);
        token.transferEnergy(to, amountSeed % (balance + 1));
    }

    function _submit(ISmartMeter.SignedReading memory reading) internal {
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](1);
        batch[0] = reading;
        vm.prank(gateway);
        registry.submitReadings(batch);
    }

    function _sign(uint256 i, ISmartMeter.SignedReading memory reading)
        internal
        returns (ISmartMeter.SignedReading memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[i], registry.readingDigest(reading));
        reading.r = r;
        reading.vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        return reading;
    }

    function _status(uint256 i) internal view returns (ISmartMeter.DeviceStatus) {
        return registry.getDevice(i + 1).status;
    }
}

contract MeterInvariantsTest {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    EnergyToken internal token;
    SmartMeterRegistry internal registry;
    MeterHandler internal handler;

    function setUp() public {
        vm.warp(1_750_000_500);
        GridAccessManager manager = new GridAccessManager(address(this));
        // A 30-day epoch keeps every minted unit live for the whole run: the sums stay exact.
        token = new EnergyToken(address(manager), 30 days);
        registry = new SmartMeterRegistry(address(manager), token, 1 days);
        token.setMeterRegistry(registry);
        registry.setFirmwareApproval(keccak256("meter-fw-1.0"), true);
        DeviceGrid.wire(address(manager), registry, 4, 5_000);
        address gateway = address(0x6A7E);
        bytes4[] memory selectors = new bytes4[](1);
        selectors[0] = registry.submitReadings.selector;
        manager.setTargetFunctionRole(address(registry), selectors, Roles.GATEWAY);
        manager.grantRole(Roles.GATEWAY, gateway, 0);

        address[4] memory owners = [address(0x9B01), address(0x9B02), address(0x9B03), address(0x9B04)];
        handler = new MeterHandler(token, registry, gateway, owners);
        for (uint256 i; i < 4; ++i) {
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

    function invariant_supplyEqualsSumOfBalances() public view {
        uint256 sum;
        for (uint256 i; i < 4; ++i) sum += token.balanceOf(handler.owners(i));
        require(sum == token.totalSupply(), "supply != sum of balances");
    }

    function invariant_mintedEqualsAcceptedExportDeltas() public view {
        uint256 registers;
        for (uint256 i; i < 4; ++i) registers += registry.getDevice(i + 1).exportWh;
        require(registers == handler.ghostAcceptedExportWh(), "registers != accepted deltas");
        require(
            token.totalSupply() + handler.ghostBurnedWh() == handler.ghostAcceptedExportWh(),
            "supply + burned != minted"
        );
    }

    function invariant_noReadingAcceptedTwice() public view {
        require(handler.ghostReplaysAccepted() == 0, "replay accepted");
    }

    function invariant_quarantinedDeviceMintsNothing() public view {
        require(handler.ghostMintedWhileQuarantined() == 0, "quarantined device minted");
    }
}
