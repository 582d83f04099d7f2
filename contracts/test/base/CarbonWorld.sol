// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {Cheats} from "./Cheats.sol";
import {ReadingBatch} from "./ReadingBatch.sol";
import {GridAccessManager} from "../../GridAccessManager.sol";
import {EnergyToken} from "../../EnergyToken.sol";
import {SmartMeterRegistry} from "../../SmartMeterRegistry.sol";
import {CarbonCredit} from "../../CarbonCredit.sol";
import {CarbonPool} from "../../CarbonPool.sol";
import {ISmartMeter} from "../../interfaces/ISmartMeter.sol";
import {ICarbonCredit} from "../../interfaces/ICarbonCredit.sol";
import {ICarbonPool} from "../../interfaces/ICarbonPool.sol";
import {Roles} from "../../libraries/Roles.sol";
import {DeviceGrid} from "./DeviceGrid.sol";

/// @notice A contract that holds credits (a pool, a treasury): accepts ERC-1155 transfers and
///         so gets no receipt queue; it moves credits by certificate id.
contract CreditVault {
    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        return this.onERC1155BatchReceived.selector;
    }
}

/// @notice Meters, energy token and carbon credits wired as deployed: a solar prosumer and a wind
///         generator in region 276 (factor 380 g/kWh), a solar prosumer in region 250 (56 g/kWh)
///         and a grid-mix meter; a VERIFIER; helpers that advance time one interval and submit
///         signed readings, and that issue certificates for everything not yet certified.
abstract contract CarbonWorld {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant T0 = 1_750_000_500;
    bytes32 internal constant FIRMWARE = keccak256("meter-fw-1.0");
    bytes32 internal constant METHODOLOGY = "ACM0002";
    uint16 internal constant REGION_DE = 276;
    uint16 internal constant REGION_FR = 250;
    uint32 internal constant FACTOR_DE = 380;
    uint32 internal constant FACTOR_FR = 56;
    uint64 internal constant LIFETIME = 365 days;
    uint256 internal constant DEVICES = 4;

    GridAccessManager internal manager;
    EnergyToken internal token;
    SmartMeterRegistry internal registry;
    CarbonCredit internal carbon;

    address internal gateway = address(0x6A7E);
    address internal verifier = address(0x7E41);
    address internal regulator = address(0x4E6);
    address internal emergency = address(0xE3E);
    address internal solarProsumer = address(0x5017);
    address internal windGenerator = address(0x3171D);
    address internal frenchProsumer = address(0xF4);
    address internal gridMixOwner = address(0x6D1);
    address internal buyer = address(0xB0B);
    address internal beneficiary = address(0xBE4E);

    /// Device i (id i + 1): key DEVICE_KEY + i; cumulative export register and next sequence.
    uint256 internal constant DEVICE_KEY = 0xD100;
    address[DEVICES] internal owners;
    uint64[DEVICES] internal exportRegisterWh;
    uint64[DEVICES] internal nextSequence;
    /// The test clock: block.timestamp may be read once per test under via-IR, so time is kept here.
    uint256 internal nowSeconds;

    function _buildCarbonWorld() internal {
        _warp(T0);
        manager = new GridAccessManager(address(this));
        token = new EnergyToken(address(manager), 1 days);
        registry = new SmartMeterRegistry(address(manager), token, 1 days);
        carbon = new CarbonCredit(address(manager), registry, token, LIFETIME, "https://gridledger.example/carbon/{id}");

        _role(address(registry), registry.submitReadings.selector, Roles.GATEWAY);
        _role(address(token), token.setParticipant.selector, Roles.REGULATOR);
        _role(address(carbon), carbon.issueCreditsCertificate.selector, Roles.VERIFIER);
        _role(address(carbon), carbon.pause.selector, Roles.EMERGENCY);
        // setEmissionFactor, setCreditLifetime, unpause: ADMIN (this test contract = the multisig).
        manager.grantRole(Roles.GATEWAY, gateway, 0);
        manager.grantRole(Roles.REGULATOR, regulator, 0);
        manager.grantRole(Roles.VERIFIER, verifier, 0);
        manager.grantRole(Roles.EMERGENCY, emergency, 0);
        token.setMeterRegistry(registry);
        registry.setFirmwareApproval(FIRMWARE, true);
        DeviceGrid.wire(address(manager), registry, DEVICES, 100_000);
        carbon.setEmissionFactor(REGION_DE, FACTOR_DE);
        carbon.setEmissionFactor(REGION_FR, FACTOR_FR);

        owners = [solarProsumer, windGenerator, frenchProsumer, gridMixOwner];
        uint16[DEVICES] memory regions = [REGION_DE, REGION_DE, REGION_FR, REGION_DE];
        uint8[DEVICES] memory sources = [
            uint8(ISmartMeter.EnergySource.Solar),
            uint8(ISmartMeter.EnergySource.Wind),
            uint8(ISmartMeter.EnergySource.Solar),
            uint8(ISmartMeter.EnergySource.GridMix)
        ];
        for (uint256 i; i < DEVICES; ++i) {
            vm.prank(regulator);
            token.setParticipant(owners[i], true, regions[i]);
            registry.registerDevice(
                vm.addr(DEVICE_KEY + i),
                abi.encode(owners[i], uint64(i + 1), uint8(0), sources[i], uint32(100_000), FIRMWARE)
            );
            nextSequence[i] = 1;
        }
        vm.prank(regulator);
        token.setParticipant(buyer, true, REGION_DE);
    }

    function _warp(uint256 timestamp) internal {
        nowSeconds = timestamp;
        vm.warp(timestamp);
    }

    function _role(address target, bytes4 selector, uint64 role) internal {
        bytes4[] memory selectors = new bytes4[](1);
        selectors[0] = selector;
        manager.setTargetFunctionRole(target, selectors, role);
    }

    /// @dev Moves to the next interval and submits one reading per device with these export
    ///      deltas (Wh, each ≤ 25,000: the 100 kW rating allows 26,250 per interval).
    function _readInterval(uint64[DEVICES] memory exportDeltaWh) internal {
        uint256 intervalStart = nowSeconds - (nowSeconds % 900);
        _warp(intervalStart + 900 + 10);
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](DEVICES);
        for (uint256 i; i < DEVICES; ++i) {
            exportRegisterWh[i] += exportDeltaWh[i];
            batch[i] = ISmartMeter.SignedReading(
                uint64(i + 1), nextSequence[i]++, uint64(intervalStart), 0, exportRegisterWh[i], 0, FIRMWARE, 0, 0
            );
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(DEVICE_KEY + i, registry.readingDigest(batch[i]));
            batch[i].r = r;
            batch[i].vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        }
        vm.prank(gateway);
        registry.submitReadings(ReadingBatch.packed(batch));
    }

    /// @dev One interval in which every device exported `exportWh`.
    function _readAll(uint64 exportWh) internal {
        _readInterval([exportWh, exportWh, exportWh, exportWh]);
    }

    function _verification(uint256 deviceIndex, uint64 previousSequence, uint64 lastSequence, uint64 vintageStart)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(
            ICarbonCredit.Verification({
                deviceId: uint64(deviceIndex + 1),
                previousSequence: previousSequence,
                lastSequence: lastSequence,
                vintageStart: vintageStart,
                methodology: METHODOLOGY,
                documentHash: keccak256(abi.encode("report", deviceIndex, lastSequence)),
                documentURI: "ipfs://verification-report"
            })
        );
    }

    /// @dev What the contract must accept for device `deviceIndex` from its marker through its
    ///      last reading: the verification, the amount, and the energy.
    function _nextCertification(uint256 deviceIndex)
        internal
        view
        returns (bytes memory data, uint256 amount, uint256 energyWh)
    {
        (uint256 certifiedSeq, uint256 certifiedWh) = carbon.certifiedThrough(deviceIndex + 1);
        uint64 lastSequence = nextSequence[deviceIndex] - 1;
        energyWh = exportRegisterWh[deviceIndex] - certifiedWh;
        uint256 factor = carbon.emissionFactorOf(token.jurisdictionOf(owners[deviceIndex]));
        amount = energyWh * factor / 1000;
        ISmartMeter.MintedExport memory minted = registry.mintedExportThrough(deviceIndex + 1, lastSequence);
        data = _verification(deviceIndex, uint64(certifiedSeq), lastSequence, uint64(minted.intervalStart));
    }

    /// @dev Issues the certificate for everything device `deviceIndex` minted since its last one.
    function _certify(uint256 deviceIndex) internal returns (uint256 certificateId, uint256 amount) {
        bytes memory data;
        (data, amount,) = _nextCertification(deviceIndex);
        vm.prank(verifier);
        carbon.issueCreditsCertificate(owners[deviceIndex], amount, data);
        certificateId = carbon.certificateCount();
    }

    function _criteria(uint64 minVintageStart, uint32 sourceMask, uint16[] memory regions)
        internal
        pure
        returns (ICarbonPool.Criteria memory)
    {
        return ICarbonPool.Criteria({
            minVintageStart: minVintageStart,
            minRemainingValiditySeconds: 30 days,
            energySourceMask: sourceMask,
            regions: regions,
            methodologies: new bytes32[](0)
        });
    }

    function _assertIds(uint256[] memory ids, uint256[] memory expected, string memory what) internal pure {
        _assertEq(ids.length, expected.length, string.concat(what, " length"));
        for (uint256 k; k < ids.length; ++k) {
            _assertEq(ids[k], expected[k], string.concat(what, " ", _str(k)));
        }
    }

    function _ids(uint256 a) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = a;
    }

    function _ids(uint256 a, uint256 b) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](2);
        (ids[0], ids[1]) = (a, b);
    }

    function _ids(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](3);
        (ids[0], ids[1], ids[2]) = (a, b, c);
    }

    function _assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": ", _str(a), " != ", _str(b)));
    }

    function _str(uint256 value) internal pure returns (string memory) {
        if (value == 0) return "0";
        bytes memory digits = new bytes(78);
        uint256 n;
        while (value != 0) {
            digits[77 - n++] = bytes1(uint8(48 + value % 10));
            value /= 10;
        }
        bytes memory out = new bytes(n);
        for (uint256 i; i < n; ++i) {
            out[i] = digits[78 - n + i];
        }
        return string(out);
    }
}
