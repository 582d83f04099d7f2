// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {MarketWorld} from "./base/MarketWorld.sol";
import {IEnergyMarket} from "../interfaces/IEnergyMarket.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @notice A first-time buyer escrows payment in one transaction with an EIP-2612 permit.
contract MarketPermitTest is MarketWorld {
    uint256 internal constant UNITS = 5_000_000;

    address internal newBuyer;

    function setUp() public {
        _buildWorld();
        newBuyer = _newVerifiedBuyer(UNITS);
    }

    function _escrowed(address trader) internal view returns (uint256 units) {
        (units,) = market.accountOf(trader);
    }

    function _assertNothingMoved() internal view {
        require(_escrowed(newBuyer) == 0, "nothing escrowed");
        require(dollar.balanceOf(newBuyer) == UNITS, "wallet untouched");
        require(dollar.allowance(newBuyer, address(market)) == 0, "no allowance left behind");
    }

    function test_depositPaymentWithPermit_withoutApprove_escrowsInOneTransaction() public {
        PaymentPermit memory permit = _paymentPermit(NEW_BUYER_KEY, newBuyer, UNITS, block.timestamp + 1 hours);
        vm.expectEmit(true, false, false, true, address(market));
        emit IEnergyMarket.PaymentDeposited(newBuyer, UNITS);
        _depositWithPermit(newBuyer, UNITS, permit);
        require(_escrowed(newBuyer) == UNITS, "escrowed");
        require(dollar.balanceOf(newBuyer) == 0, "wallet emptied");
        require(dollar.allowance(newBuyer, address(market)) == 0, "allowance used up");
        require(dollar.nonces(newBuyer) == 1, "permit nonce used");
    }

    function test_depositPaymentWithPermit_permitFrontRun_depositStillSucceeds() public {
        PaymentPermit memory permit = _paymentPermit(NEW_BUYER_KEY, newBuyer, UNITS, block.timestamp + 1 hours);
        // Anyone may submit a signed permit; seen in the mempool, it is submitted first.
        vm.prank(address(0xBAD));
        dollar.permit(newBuyer, address(market), UNITS, permit.deadline, permit.v, permit.r, permit.s);
        _depositWithPermit(newBuyer, UNITS, permit);
        require(_escrowed(newBuyer) == UNITS, "escrowed with the front-run allowance");
    }

    function test_depositPaymentWithPermit_expiredDeadline_revertsPermitRefused() public {
        PaymentPermit memory permit = _paymentPermit(NEW_BUYER_KEY, newBuyer, UNITS, block.timestamp - 1);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.PaymentPermitRefused.selector, newBuyer, UNITS));
        _depositWithPermit(newBuyer, UNITS, permit);
        _assertNothingMoved();
    }

    function test_depositPaymentWithPermit_signedByAnotherKey_revertsPermitRefused() public {
        PaymentPermit memory permit = _paymentPermit(0xE7E, newBuyer, UNITS, block.timestamp + 1 hours);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.PaymentPermitRefused.selector, newBuyer, UNITS));
        _depositWithPermit(newBuyer, UNITS, permit);
        _assertNothingMoved();
    }

    function test_depositPaymentWithPermit_permitForLessThanTheDeposit_revertsPermitRefused() public {
        PaymentPermit memory permit = _paymentPermit(NEW_BUYER_KEY, newBuyer, UNITS - 1, block.timestamp + 1 hours);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.PaymentPermitRefused.selector, newBuyer, UNITS));
        _depositWithPermit(newBuyer, UNITS, permit);
        _assertNothingMoved();
    }

    function test_depositPaymentWithPermit_replayedPermit_revertsPermitRefused() public {
        PaymentPermit memory permit = _paymentPermit(NEW_BUYER_KEY, newBuyer, UNITS / 2, block.timestamp + 1 hours);
        _depositWithPermit(newBuyer, UNITS / 2, permit);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.PaymentPermitRefused.selector, newBuyer, UNITS / 2));
        _depositWithPermit(newBuyer, UNITS / 2, permit);
        require(_escrowed(newBuyer) == UNITS / 2, "only the first deposit escrowed");
        require(dollar.balanceOf(newBuyer) == UNITS - UNITS / 2, "second half still in the wallet");
    }

    function test_depositPaymentWithPermit_anotherTradersPermit_revertsPermitRefused() public {
        // The permit names its owner; the market only ever uses the caller as owner.
        PaymentPermit memory permit = _paymentPermit(NEW_BUYER_KEY, newBuyer, UNITS, block.timestamp + 1 hours);
        address thief = buyers[0];
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.PaymentPermitRefused.selector, thief, UNITS));
        _depositWithPermit(thief, UNITS, permit);
        _assertNothingMoved();
    }

    function test_depositPaymentWithPermit_unverifiedTrader_revertsParticipantNotVerified() public {
        vm.prank(regulator);
        token.setParticipant(newBuyer, false, 276);
        PaymentPermit memory permit = _paymentPermit(NEW_BUYER_KEY, newBuyer, UNITS, block.timestamp + 1 hours);
        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.ParticipantNotVerified.selector, newBuyer));
        _depositWithPermit(newBuyer, UNITS, permit);
        _assertNothingMoved();
        require(dollar.nonces(newBuyer) == 0, "the permit stays unused");
    }

    function test_depositPaymentWithPermit_zeroUnits_revertsZeroAmount() public {
        PaymentPermit memory permit = _paymentPermit(NEW_BUYER_KEY, newBuyer, 0, block.timestamp + 1 hours);
        vm.expectRevert(IEnergyMarket.ZeroAmount.selector);
        _depositWithPermit(newBuyer, 0, permit);
        _assertNothingMoved();
    }

    function test_depositPaymentWithPermit_whilePaused_revertsEnforcedPause() public {
        PaymentPermit memory permit = _paymentPermit(NEW_BUYER_KEY, newBuyer, UNITS, block.timestamp + 1 hours);
        vm.prank(emergency);
        market.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        _depositWithPermit(newBuyer, UNITS, permit);
        _assertNothingMoved();
    }
}
