// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {MarketWorld} from "./base/MarketWorld.sol";
import {ReadingBatch} from "./base/ReadingBatch.sol";
import {CarbonWorld} from "./base/CarbonWorld.sol";
import {IEnergyMarket} from "../interfaces/IEnergyMarket.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";
import {GridManagement} from "../GridManagement.sol";

/// @notice Forge's gas section snapshot cheatcodes (kept here, not in base/Cheats.sol, which
///         every test imports). They write snapshots/<group>.json, or compare with it when
///         FORGE_SNAPSHOT_CHECK is set.
interface GasSnapshotCheats {
    function snapshotGasLastCall(string calldata group, string calldata name) external returns (uint256 gasUsed);
    function snapshotValue(string calldata group, string calldata name, uint256 value) external;
}

GasSnapshotCheats constant gas = GasSnapshotCheats(address(uint160(uint256(keccak256("hevm cheat code")))));

/// @notice The gas of each named operation, kept in snapshots/<group>.json (`make snapshot`),
///         so a change that moves one operation's cost shows in its own line. Run with
///         `--isolate`: each call is then its own transaction, so its gas is a transaction's
///         (21,000 base and calldata included, cold state), as `make bench` measures on anvil.
///         Without it the calls of one test share warm state and these figures mean little.
contract MeterAndMarketGasSnapshots is MarketWorld {
    string internal constant METER = "meter";
    string internal constant TOKEN = "token";
    string internal constant MARKET = "market";

    function setUp() public {
        _buildWorld();
    }

    /// @dev Every seller's meter reports the interval after the world's first: sequence 2.
    function _readEverySeller() internal returns (ISmartMeter.SignedReading[] memory batch) {
        uint64 interval = uint64(T0 - (T0 % 900)) + 900;
        vm.warp(interval + 900 + 10);
        batch = new ISmartMeter.SignedReading[](TRADERS);
        for (uint256 i; i < TRADERS; ++i) {
            batch[i] = _signedReading(i, 2, interval, SELLER_ESCROW_WH + 1_000);
        }
    }

    function test_gas_submitReadings_batchOfFive() public {
        ISmartMeter.SignedReading[] memory batch = _readEverySeller();
        vm.prank(gateway);
        registry.submitReadings(ReadingBatch.packed(batch));
        uint256 gasUsed = gas.snapshotGasLastCall(METER, "submitReadings_batch_of_5");
        gas.snapshotValue(METER, "submitReadings_per_reading_in_batch_of_5", gasUsed / TRADERS);
        _assertEq(token.balanceOf(sellers[0]), 1_000, "the reading minted");
    }

    /// @dev Registration writes the device's whole history ring (pre-warmed), so that its
    ///      first readings overwrite nonzero slots: the price of the first ring round's gas.
    function test_gas_registerDevice_newDevice() public {
        GridManagement grid = GridManagement(registry.gridManagement());
        grid.setConnectionCapacity(1, uint32((TRADERS + 1) * 10_000));
        address owner = sellers[0];
        bytes memory deviceData = abi.encode(owner, uint64(1), uint8(2), uint8(0), uint32(10_000), FIRMWARE);
        registry.registerDevice(vm.addr(0xDEF), deviceData);
        gas.snapshotGasLastCall(METER, "registerDevice_new_device");
        _assertEq(registry.deviceIdOf(vm.addr(0xDEF)), TRADERS + 1, "registered");
    }

    function test_gas_transferEnergy_toAnotherHolder() public {
        ISmartMeter.SignedReading[] memory batch = _readEverySeller();
        vm.prank(gateway);
        registry.submitReadings(ReadingBatch.packed(batch));
        vm.prank(sellers[0]);
        token.transferEnergy(sellers[1], 400);
        gas.snapshotGasLastCall(TOKEN, "transferEnergy_existing_holder");
        _assertEq(token.balanceOf(sellers[1]), 1_400, "received");
    }

    function test_gas_depositPayment_existingAccount() public {
        dollar.mint(buyers[0], 1_000_000);
        vm.prank(buyers[0]);
        dollar.approve(address(market), 1_000_000);
        vm.prank(buyers[0]);
        market.depositPayment(1_000_000);
        gas.snapshotGasLastCall(MARKET, "depositPayment_existing_account");
    }

    /// @dev A first-time buyer's payment escrow both ways: approve then deposit (two
    ///      transactions), or one deposit with a permit.
    function test_gas_firstPaymentDeposit_approveThenDeposit() public {
        address buyer = _newVerifiedBuyer(1_000_000);
        vm.prank(buyer);
        dollar.approve(address(market), 1_000_000);
        uint256 approveGas = gas.snapshotGasLastCall(MARKET, "approve_first_time_buyer");
        vm.prank(buyer);
        market.depositPayment(1_000_000);
        uint256 depositGas = gas.snapshotGasLastCall(MARKET, "depositPayment_first_time_buyer");
        gas.snapshotValue(MARKET, "approve_and_depositPayment_first_time_buyer", approveGas + depositGas);
    }

    function test_gas_firstPaymentDeposit_withPermit() public {
        address buyer = _newVerifiedBuyer(1_000_000);
        _depositWithPermit(buyer, 1_000_000, _paymentPermit(NEW_BUYER_KEY, buyer, 1_000_000, block.timestamp + 1));
        gas.snapshotGasLastCall(MARKET, "depositPaymentWithPermit_first_time_buyer");
        _assertEq(dollar.balanceOf(address(market)), TRADERS * BUYER_ESCROW_UNITS + 1_000_000, "escrowed");
    }

    function test_gas_depositEnergy_existingAccount() public {
        ISmartMeter.SignedReading[] memory batch = _readEverySeller();
        vm.prank(gateway);
        registry.submitReadings(ReadingBatch.packed(batch));
        vm.prank(sellers[0]);
        market.depositEnergy(1_000);
        gas.snapshotGasLastCall(MARKET, "depositEnergy_existing_account");
    }

    function test_gas_withdrawPayment_afterRelease() public {
        _releaseGate();
        vm.prank(buyers[0]);
        market.withdrawPayment(1_000_000);
        gas.snapshotGasLastCall(MARKET, "withdrawPayment");
    }

    function test_gas_closeGate_andReleaseGate() public {
        _releaseGate();
        vm.warp(block.timestamp + market.GATE_COOLDOWN_SECONDS());
        vm.prank(marketOperator);
        market.closeGate(delivery, ORDERS_COMMITMENT);
        gas.snapshotGasLastCall(MARKET, "closeGate");
        vm.prank(marketOperator);
        market.releaseGate(delivery);
        gas.snapshotGasLastCall(MARKET, "releaseGate");
    }

    function test_gas_settleInterval_onePair() public {
        IEnergyMarket.Fill[] memory fills = _pair(1_000, 1_000);
        IEnergyMarket.Clearing memory clearing = _clearing(200_000);
        vm.prank(marketOperator);
        market.settleInterval(clearing, fills);
        uint256 gasUsed = gas.snapshotGasLastCall(MARKET, "settleInterval_one_pair");
        gas.snapshotValue(MARKET, "settleInterval_per_fill_of_one_pair", gasUsed / fills.length);
    }
}

contract CarbonGasSnapshots is CarbonWorld {
    string internal constant CARBON = "carbon";

    function setUp() public {
        _buildCarbonWorld();
        _readAll(10_000);
    }

    function test_gas_issueCreditsCertificate_firstOfADevice() public {
        (bytes memory data, uint256 amount,) = _nextCertification(0);
        vm.prank(verifier);
        carbon.issueCreditsCertificate(owners[0], amount, data);
        gas.snapshotGasLastCall(CARBON, "issueCreditsCertificate_first_of_a_device");
    }

    function test_gas_retireCredits_partOfOneCertificate() public {
        (, uint256 amount) = _certify(0);
        vm.prank(owners[0]);
        carbon.retireCredits(amount / 2);
        gas.snapshotGasLastCall(CARBON, "retireCredits_part_of_one_certificate");
    }
}
