// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {Cheats} from "./Cheats.sol";
import {ReadingBatch} from "./ReadingBatch.sol";
import {GridAccessManager} from "../../GridAccessManager.sol";
import {EnergyToken} from "../../EnergyToken.sol";
import {SmartMeterRegistry} from "../../SmartMeterRegistry.sol";
import {EnergyMarket} from "../../EnergyMarket.sol";
import {TestStablecoin} from "../../local/TestStablecoin.sol";
import {ISmartMeter} from "../../interfaces/ISmartMeter.sol";
import {IEnergyMarket} from "../../interfaces/IEnergyMarket.sol";
import {Roles} from "../../libraries/Roles.sol";
import {DeviceGrid} from "./DeviceGrid.sol";

/// @notice The whole market deployment with TRADERS funded sellers (energy from signed meter
///         readings, escrowed) and TRADERS funded buyers (test dollars, escrowed), plus order helpers.
///         The world stands at the gate closure of interval `delivery`: its gate is pending.
abstract contract MarketWorld {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant T0 = 1_750_000_500;
    uint16 internal constant PAIR = 1;
    uint64 internal constant FEE_PER_KWH = 20_000;
    bytes32 internal constant FIRMWARE = keccak256("meter-fw-1.0");
    uint256 internal constant SELLER_ESCROW_WH = 2_000;
    uint256 internal constant BUYER_ESCROW_UNITS = 100_000_000;
    uint256 internal constant TRADERS = 5;
    bytes32 internal constant ORDERS_COMMITMENT = keccak256("orders");
    bytes32 internal constant PAYMENT_PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    struct PaymentPermit {
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    GridAccessManager internal manager;
    EnergyToken internal token;
    SmartMeterRegistry internal registry;
    TestStablecoin internal dollar;
    EnergyMarket internal market;

    address internal gateway = address(0x6A7E);
    address internal marketOperator = address(0x0BE8);
    address internal regulator = address(0x4E6);
    address internal emergency = address(0xE3E);
    address internal dso = address(0xD50);
    uint256[TRADERS] internal sellerKeys;
    uint256[TRADERS] internal buyerKeys;
    address[TRADERS] internal sellers;
    address[TRADERS] internal buyers;
    uint64 internal delivery;

    /// @dev Energy epoch of the world's token (energy expires at the end of the epoch after the one
    ///      it was generated in); a world that must see many epochs pass overrides it.
    function _epochSeconds() internal pure virtual returns (uint256) {
        return 1 days;
    }

    function _buildWorld() internal {
        vm.warp(T0);
        manager = new GridAccessManager(address(this));
        token = new EnergyToken(address(manager), _epochSeconds());
        registry = new SmartMeterRegistry(address(manager), token, uint32(_epochSeconds()));
        dollar = new TestStablecoin(address(this));
        market = new EnergyMarket(address(manager), PAIR, token, dollar, dso, FEE_PER_KWH);

        _role(address(registry), registry.submitReadings.selector, Roles.GATEWAY);
        _role(address(token), token.setParticipant.selector, Roles.REGULATOR);
        _role(address(token), token.escrowEnergy.selector, Roles.MARKET_ESCROW);
        _role(address(token), token.releaseEnergy.selector, Roles.MARKET_ESCROW);
        _role(address(market), market.settleInterval.selector, Roles.MARKET_OPERATOR);
        _role(address(market), market.closeGate.selector, Roles.MARKET_OPERATOR);
        _role(address(market), market.releaseGate.selector, Roles.MARKET_OPERATOR);
        _role(address(market), market.pause.selector, Roles.EMERGENCY);
        manager.grantRole(Roles.GATEWAY, gateway, 0);
        manager.grantRole(Roles.REGULATOR, regulator, 0);
        manager.grantRole(Roles.MARKET_ESCROW, address(market), 0);
        manager.grantRole(Roles.MARKET_OPERATOR, marketOperator, 0);
        manager.grantRole(Roles.EMERGENCY, emergency, 0);
        token.setMeterRegistry(registry);
        registry.setFirmwareApproval(FIRMWARE, true);
        DeviceGrid.wire(address(manager), registry, 1, uint32(TRADERS * 10_000));

        vm.prank(regulator);
        token.setParticipant(address(market), true, 0);
        uint64 aligned = uint64(T0 - (T0 % 900));
        for (uint256 i; i < TRADERS; ++i) {
            (sellerKeys[i], buyerKeys[i]) = (0x5E1 + i, 0xB1 + i);
            address seller = vm.addr(sellerKeys[i]);
            sellers[i] = seller;
            vm.prank(regulator);
            token.setParticipant(seller, true, 276);
            registry.registerDevice(
                vm.addr(0xDE0 + i), abi.encode(seller, uint64(1), uint8(2), uint8(0), uint32(10_000), FIRMWARE)
            );
            address buyer = vm.addr(buyerKeys[i]);
            buyers[i] = buyer;
            vm.prank(regulator);
            token.setParticipant(buyer, true, 276);
            dollar.mint(buyer, BUYER_ESCROW_UNITS);
            vm.prank(buyer);
            dollar.approve(address(market), BUYER_ESCROW_UNITS);
            vm.prank(buyer);
            market.depositPayment(BUYER_ESCROW_UNITS);
        }
        vm.warp(aligned + 900 + 10);
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](TRADERS);
        for (uint256 i; i < TRADERS; ++i) {
            batch[i] = _signedReading(i, 1, aligned, SELLER_ESCROW_WH);
        }
        vm.prank(gateway);
        registry.submitReadings(ReadingBatch.packed(batch));
        for (uint256 i; i < TRADERS; ++i) {
            vm.prank(vm.addr(sellerKeys[i]));
            market.depositEnergy(SELLER_ESCROW_WH);
        }
        delivery = aligned + 2 * 900;
        _closeGate();
    }

    /// @dev Seller `i`'s meter reading: export register `exportWh` at the end of `intervalStart`.
    function _signedReading(uint256 i, uint64 sequence, uint64 intervalStart, uint256 exportWh)
        internal
        returns (ISmartMeter.SignedReading memory reading)
    {
        reading = ISmartMeter.SignedReading(
            uint64(i + 1), sequence, intervalStart, 0, uint64(exportWh), 0, FIRMWARE, 0, 0
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(0xDE0 + i, registry.readingDigest(reading));
        reading.r = r;
        reading.vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
    }

    /// @dev Key of a verified buyer who has never traded (first-time deposits).
    uint256 internal constant NEW_BUYER_KEY = 0xB0B;

    /// @dev Verifies the NEW_BUYER_KEY account and gives it `units` of the test dollar.
    function _newVerifiedBuyer(uint256 units) internal returns (address buyer) {
        buyer = vm.addr(NEW_BUYER_KEY);
        vm.prank(regulator);
        token.setParticipant(buyer, true, 276);
        dollar.mint(buyer, units);
    }

    /// @dev An EIP-2612 permit of the test dollar for the market, signed with `signerKey` in the
    ///         name of `owner` (a different key forges it).
    function _paymentPermit(uint256 signerKey, address owner, uint256 value, uint256 deadline)
        internal
        returns (PaymentPermit memory permit)
    {
        bytes32 structHash = keccak256(
            abi.encode(PAYMENT_PERMIT_TYPEHASH, owner, address(market), value, dollar.nonces(owner), deadline)
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", dollar.DOMAIN_SEPARATOR(), structHash));
        (permit.v, permit.r, permit.s) = vm.sign(signerKey, digest);
        permit.deadline = deadline;
    }

    /// @dev `trader` escrows `units` with `permit` (no approve).
    function _depositWithPermit(address trader, uint256 units, PaymentPermit memory permit) internal {
        vm.prank(trader);
        market.depositPaymentWithPermit(units, permit.deadline, permit.v, permit.r, permit.s);
    }

    /// @dev The operator closes the gate of `delivery`.
    function _closeGate() internal {
        vm.prank(marketOperator);
        market.closeGate(delivery, ORDERS_COMMITMENT);
    }

    /// @dev The operator releases the pending gate of `delivery`: back to before gate closure.
    function _releaseGate() internal {
        vm.prank(marketOperator);
        market.releaseGate(delivery);
    }

    function _role(address target, bytes4 selector, uint64 role) internal {
        bytes4[] memory selectors = new bytes4[](1);
        selectors[0] = selector;
        manager.setTargetFunctionRole(target, selectors, role);
    }

    function _order(uint256 key, IEnergyMarket.Side side, uint64 energyWh, uint64 limitPricePerKWh, uint64 nonce)
        internal
        returns (IEnergyMarket.Order memory)
    {
        return IEnergyMarket.Order(
            vm.addr(key), uint8(side), PAIR, delivery, energyWh, limitPricePerKWh, 1, delivery + 900, nonce
        );
    }

    function _fill(uint256 key, IEnergyMarket.Order memory order, uint64 filledWh)
        internal
        returns (IEnergyMarket.Fill memory fill)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, market.orderHash(order));
        fill = IEnergyMarket.Fill(order, r, bytes32(uint256(s) | (uint256(v - 27) << 255)), filledWh, 0);
    }

    /// @dev Sells then buys, each by increasing order hash, as settleInterval requires.
    function _ordered(IEnergyMarket.Fill[] memory sells, IEnergyMarket.Fill[] memory buys)
        internal
        view
        returns (IEnergyMarket.Fill[] memory fills)
    {
        _sortByHash(sells);
        _sortByHash(buys);
        fills = new IEnergyMarket.Fill[](sells.length + buys.length);
        for (uint256 i; i < sells.length; ++i) {
            fills[i] = sells[i];
        }
        for (uint256 i; i < buys.length; ++i) {
            fills[sells.length + i] = buys[i];
        }
    }

    function _sortByHash(IEnergyMarket.Fill[] memory fills) internal view {
        for (uint256 i = 1; i < fills.length; ++i) {
            for (uint256 j = i; j > 0 && market.orderHash(fills[j].order) < market.orderHash(fills[j - 1].order); --j) {
                (fills[j], fills[j - 1]) = (fills[j - 1], fills[j]);
            }
        }
    }

    function _clearing(uint64 pricePerKWh) internal view returns (IEnergyMarket.Clearing memory) {
        return IEnergyMarket.Clearing(PAIR, delivery, IEnergyMarket.Pricing.Uniform, pricePerKWh, keccak256("book"));
    }

    function _settle(IEnergyMarket.Clearing memory clearing, IEnergyMarket.Fill[] memory fills) internal {
        vm.prank(marketOperator);
        market.settleInterval(clearing, fills);
    }

    function _one(IEnergyMarket.Fill memory fill) internal pure returns (IEnergyMarket.Fill[] memory fills) {
        fills = new IEnergyMarket.Fill[](1);
        fills[0] = fill;
    }

    /// @dev A 1,000 Wh trade between seller 0 (limit 150,000) and buyer 0 (limit 250,000).
    function _pair(uint64 sellWh, uint64 buyWh) internal returns (IEnergyMarket.Fill[] memory) {
        IEnergyMarket.Fill memory sell =
            _fill(sellerKeys[0], _order(sellerKeys[0], IEnergyMarket.Side.Sell, 1_000, 150_000, 1), sellWh);
        IEnergyMarket.Fill memory buy =
            _fill(buyerKeys[0], _order(buyerKeys[0], IEnergyMarket.Side.Buy, 1_000, 250_000, 1), buyWh);
        return _ordered(_one(sell), _one(buy));
    }

    function _assertEq(uint256 a, uint256 b, string memory what) internal pure {
        require(a == b, what);
    }
}
