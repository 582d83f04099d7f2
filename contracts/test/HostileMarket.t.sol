// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {MarketWorld} from "./base/MarketWorld.sol";
import {EnergyMarket} from "../EnergyMarket.sol";
import {IEnergyMarket} from "../interfaces/IEnergyMarket.sol";
import {FeeOnTransferToken} from "./mocks/FeeOnTransferToken.sol";
import {HookToken, ITokenHooks} from "./mocks/HookToken.sol";
import {HostileActor} from "./mocks/HostileActor.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @notice The two mocks' shared minting function.
interface IMintableToken is IERC20 {
    function mint(address to, uint256 units) external;
}

/// @notice EnergyMarket escrow against hostile payment tokens and hostile traders.
///
///         External calls the market makes outside settlement, and what covers each:
///         - depositPayment: `paymentToken.balanceOf` (twice, view) and
///           `paymentToken.transferFrom` (a hook token calls the sender's tokensToSend before the
///           move): fee tests below; re-entry into every escrow function from that hook.
///         - withdrawPayment: `paymentToken.balanceOf` (twice, view) and `paymentToken.transfer`
///           (the recipient's tokensReceived after the move): fee tests; re-entry from that hook;
///           a recipient that refuses.
///         - depositPayment: `energyToken.isVerified`; depositEnergy / withdrawEnergy:
///           `energyToken.escrowEnergy` / `releaseEnergy`. The EnergyToken is the system's own
///           and calls no other contract, so no code of anyone else runs in these calls; the
///           escrow functions are re-entered from the payment hooks instead.
///         - settleInterval's grid-guard calls are left out here (its flow is being changed); it
///           makes no token call.
contract HostileMarketTest is MarketWorld {
    uint256 internal constant FEE_BPS = 100; // 1 %
    uint256 internal constant DEPOSIT_UNITS = 1_000_000;
    uint256 internal constant DEPOSIT_FEE_UNITS = DEPOSIT_UNITS * FEE_BPS / 10_000;

    address internal tokenFeeCollector = address(0xFEE5);
    HostileActor internal attacker;

    function setUp() public {
        _buildWorld();
        attacker = new HostileActor();
        vm.prank(regulator);
        token.setParticipant(address(attacker), true, 276);
    }

    // ------------------------------------------------------------ helpers
    function _marketFor(IERC20 payment) internal returns (EnergyMarket) {
        return new EnergyMarket(address(manager), PAIR, token, payment, dso, FEE_PER_KWH);
    }

    /// @dev A market paying in a token that takes `feeBps`, from the recipient or on top from the sender.
    function _feeMarket(uint256 feeBps, bool chargeSender) internal returns (EnergyMarket, IMintableToken) {
        IMintableToken payment =
            IMintableToken(address(new FeeOnTransferToken(feeBps, chargeSender, tokenFeeCollector)));
        return (_marketFor(payment), payment);
    }

    /// @dev A market paying in a hook token, with the attacker's hooks registered and funded.
    function _hookMarket() internal returns (EnergyMarket hookMarket, IMintableToken payment) {
        HookToken hookDollar = new HookToken();
        payment = IMintableToken(address(hookDollar));
        hookMarket = _marketFor(payment);
        attacker.execute(address(hookDollar), abi.encodeCall(HookToken.registerHook, (ITokenHooks(address(attacker)))));
        attacker.execute(address(hookDollar), abi.encodeCall(IERC20.approve, (address(hookMarket), type(uint256).max)));
        payment.mint(address(attacker), 10 * DEPOSIT_UNITS);
    }

    /// @dev Mints twice `units` to `trader`, approves the market for all and deposits `units`.
    function _deposit(EnergyMarket target, IMintableToken payment, address trader, uint256 units) internal {
        payment.mint(trader, 2 * units);
        vm.prank(trader);
        payment.approve(address(target), type(uint256).max);
        vm.prank(trader);
        target.depositPayment(units);
    }

    function _paymentOf(EnergyMarket target, address trader) internal view returns (uint256 units) {
        (units,) = target.accountOf(trader);
    }

    /// @dev The escrow functions a hook may try to re-enter, each with an amount that would succeed.
    function _escrowCalls() internal pure returns (bytes[4] memory) {
        return [
            abi.encodeCall(IEnergyMarket.depositPayment, (1)),
            abi.encodeCall(IEnergyMarket.withdrawPayment, (1)),
            abi.encodeCall(IEnergyMarket.depositEnergy, (1)),
            abi.encodeCall(IEnergyMarket.withdrawEnergy, (1))
        ];
    }

    function _assertReentryRefused(uint256 expectedReentries) internal view {
        _assertEq(attacker.reentries(), expectedReentries, "hook fired");
        require(!attacker.reentrySucceeded(), "re-entry succeeded");
        require(
            attacker.reentryError() == ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector,
            "re-entry not stopped by the guard"
        );
    }

    // ------------------------------------------------------------ fee-on-transfer tokens
    function test_depositPayment_feeOnTransferToken_creditsWhatArrived() public {
        (EnergyMarket feeMarket, IMintableToken feeDollar) = _feeMarket(FEE_BPS, false);
        _deposit(feeMarket, feeDollar, buyers[0], DEPOSIT_UNITS);

        _assertEq(_paymentOf(feeMarket, buyers[0]), DEPOSIT_UNITS - DEPOSIT_FEE_UNITS, "credited");
        _assertEq(feeDollar.balanceOf(address(feeMarket)), DEPOSIT_UNITS - DEPOSIT_FEE_UNITS, "held");
    }

    function test_depositPayment_feeOnTransferToken_emitsCreditedUnits() public {
        (EnergyMarket feeMarket, IMintableToken feeDollar) = _feeMarket(FEE_BPS, false);
        feeDollar.mint(buyers[0], DEPOSIT_UNITS);
        vm.prank(buyers[0]);
        feeDollar.approve(address(feeMarket), DEPOSIT_UNITS);

        vm.expectEmit(true, false, false, true, address(feeMarket));
        emit IEnergyMarket.PaymentDeposited(buyers[0], DEPOSIT_UNITS - DEPOSIT_FEE_UNITS);
        vm.prank(buyers[0]);
        feeMarket.depositPayment(DEPOSIT_UNITS);
    }

    function test_withdrawPayment_feeOnTransferToken_everyTraderWithdrawsAllCredited() public {
        (EnergyMarket feeMarket, IMintableToken feeDollar) = _feeMarket(FEE_BPS, false);
        _deposit(feeMarket, feeDollar, buyers[0], DEPOSIT_UNITS);
        _deposit(feeMarket, feeDollar, buyers[1], DEPOSIT_UNITS);

        for (uint256 i; i < 2; ++i) {
            uint256 credited = _paymentOf(feeMarket, buyers[i]);
            uint256 walletBefore = feeDollar.balanceOf(buyers[i]);
            vm.prank(buyers[i]);
            feeMarket.withdrawPayment(credited);
            _assertEq(_paymentOf(feeMarket, buyers[i]), 0, "left credited");
            // The recipient bears the token's fee on the way out too.
            _assertEq(feeDollar.balanceOf(buyers[i]) - walletBefore, credited - credited * FEE_BPS / 10_000, "received");
        }
        _assertEq(feeDollar.balanceOf(address(feeMarket)), 0, "market left holding");
    }

    function testFuzz_depositPayment_anyRecipientFee_escrowEqualsHeldAndDrainsToZero(uint256 feeBps, uint256 units)
        public
    {
        feeBps = feeBps % 10_000; // below 100 %: something arrives
        units = 1 + units % (1 << 80);
        (EnergyMarket feeMarket, IMintableToken feeDollar) = _feeMarket(feeBps, false);
        _deposit(feeMarket, feeDollar, buyers[0], units);
        _deposit(feeMarket, feeDollar, buyers[1], units / 2 + 1);

        uint256 credited = _paymentOf(feeMarket, buyers[0]) + _paymentOf(feeMarket, buyers[1]);
        _assertEq(credited, feeDollar.balanceOf(address(feeMarket)), "escrow = held");
        for (uint256 i; i < 2; ++i) {
            uint256 own = _paymentOf(feeMarket, buyers[i]);
            vm.prank(buyers[i]);
            feeMarket.withdrawPayment(own);
        }
        _assertEq(feeDollar.balanceOf(address(feeMarket)), 0, "market left holding");
    }

    function test_depositPayment_tokenKeepsWholeAmount_revertsPaymentTransferMismatch() public {
        (EnergyMarket feeMarket, IMintableToken feeDollar) = _feeMarket(10_000, false);
        feeDollar.mint(buyers[0], DEPOSIT_UNITS);
        vm.prank(buyers[0]);
        feeDollar.approve(address(feeMarket), DEPOSIT_UNITS);

        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.PaymentTransferMismatch.selector, DEPOSIT_UNITS, 0));
        vm.prank(buyers[0]);
        feeMarket.depositPayment(DEPOSIT_UNITS);
    }

    function test_depositPayment_feeChargedToSender_creditsFullAmount() public {
        (EnergyMarket feeMarket, IMintableToken feeDollar) = _feeMarket(FEE_BPS, true);
        _deposit(feeMarket, feeDollar, buyers[0], DEPOSIT_UNITS);

        _assertEq(_paymentOf(feeMarket, buyers[0]), DEPOSIT_UNITS, "credited");
        _assertEq(feeDollar.balanceOf(buyers[0]), DEPOSIT_UNITS - DEPOSIT_FEE_UNITS, "wallet paid the fee on top");
    }

    function test_withdrawPayment_feeChargedToSender_revertsPaymentTransferMismatch() public {
        (EnergyMarket feeMarket, IMintableToken feeDollar) = _feeMarket(FEE_BPS, true);
        _deposit(feeMarket, feeDollar, buyers[0], DEPOSIT_UNITS);
        _deposit(feeMarket, feeDollar, buyers[1], DEPOSIT_UNITS);

        // The fee would come out of buyer 1's escrow.
        vm.expectRevert(
            abi.encodeWithSelector(
                IEnergyMarket.PaymentTransferMismatch.selector, DEPOSIT_UNITS, DEPOSIT_UNITS + DEPOSIT_FEE_UNITS
            )
        );
        vm.prank(buyers[0]);
        feeMarket.withdrawPayment(DEPOSIT_UNITS);
        _assertEq(feeDollar.balanceOf(address(feeMarket)), 2 * DEPOSIT_UNITS, "held");
    }

    // ------------------------------------------------------------ payment tokens without EIP-2612
    // A fee of 0 makes the fee token a plain OpenZeppelin ERC-20, which has no `permit`.
    function test_depositPaymentWithPermit_tokenWithoutPermitNorAllowance_revertsPermitRefused() public {
        (EnergyMarket plainMarket, IMintableToken plainDollar) = _feeMarket(0, false);
        plainDollar.mint(buyers[0], DEPOSIT_UNITS);

        vm.expectRevert(abi.encodeWithSelector(IEnergyMarket.PaymentPermitRefused.selector, buyers[0], DEPOSIT_UNITS));
        vm.prank(buyers[0]);
        plainMarket.depositPaymentWithPermit(DEPOSIT_UNITS, block.timestamp + 1 hours, 27, bytes32(0), bytes32(0));
        _assertEq(plainDollar.balanceOf(buyers[0]), DEPOSIT_UNITS, "wallet untouched");
        _assertEq(_paymentOf(plainMarket, buyers[0]), 0, "nothing credited");
    }

    function test_depositPaymentWithPermit_tokenWithoutPermitButApproved_depositsOnTheAllowance() public {
        (EnergyMarket plainMarket, IMintableToken plainDollar) = _feeMarket(0, false);
        plainDollar.mint(buyers[0], DEPOSIT_UNITS);
        vm.prank(buyers[0]);
        plainDollar.approve(address(plainMarket), DEPOSIT_UNITS);

        vm.prank(buyers[0]);
        plainMarket.depositPaymentWithPermit(DEPOSIT_UNITS, block.timestamp + 1 hours, 27, bytes32(0), bytes32(0));
        _assertEq(_paymentOf(plainMarket, buyers[0]), DEPOSIT_UNITS, "credited");
        _assertEq(plainDollar.balanceOf(address(plainMarket)), DEPOSIT_UNITS, "held");
    }

    // ------------------------------------------------------------ hook tokens and hostile traders
    function test_depositPayment_senderHookReentersEscrow_refusedAndCreditedOnce() public {
        (EnergyMarket hookMarket, IMintableToken hookDollar) = _hookMarket();
        bytes memory deposit = abi.encodeCall(IEnergyMarket.depositPayment, (DEPOSIT_UNITS));
        attacker.execute(address(hookMarket), deposit); // so that a re-entered withdrawal would be covered
        bytes[4] memory calls = _escrowCalls();
        for (uint256 i; i < calls.length; ++i) {
            attacker.arm(address(hookMarket), calls[i]);
            attacker.execute(address(hookMarket), deposit);
            _assertReentryRefused(i + 1);
        }
        _assertEq(_paymentOf(hookMarket, address(attacker)), 5 * DEPOSIT_UNITS, "credited");
        _assertEq(hookDollar.balanceOf(address(hookMarket)), 5 * DEPOSIT_UNITS, "held");
    }

    function test_withdrawPayment_recipientHookReentersEscrow_refusedAndDebitedOnce() public {
        (EnergyMarket hookMarket, IMintableToken hookDollar) = _hookMarket();
        attacker.execute(address(hookMarket), abi.encodeCall(IEnergyMarket.depositPayment, (DEPOSIT_UNITS)));
        bytes[4] memory calls = _escrowCalls();
        for (uint256 i; i < calls.length; ++i) {
            attacker.arm(address(hookMarket), calls[i]);
            attacker.execute(address(hookMarket), abi.encodeCall(IEnergyMarket.withdrawPayment, (1_000)));
            _assertReentryRefused(i + 1);
        }
        _assertEq(_paymentOf(hookMarket, address(attacker)), DEPOSIT_UNITS - 4_000, "credited");
        _assertEq(hookDollar.balanceOf(address(hookMarket)), DEPOSIT_UNITS - 4_000, "held");
        _assertEq(hookDollar.balanceOf(address(attacker)), 9 * DEPOSIT_UNITS + 4_000, "wallet");
    }

    function test_depositPayment_senderHookCancelsOrders_bothTakeEffect() public {
        (EnergyMarket hookMarket, IMintableToken hookDollar) = _hookMarket();
        attacker.arm(address(hookMarket), abi.encodeCall(IEnergyMarket.invalidateNonces, (0, 1 << 5)));
        attacker.execute(address(hookMarket), abi.encodeCall(IEnergyMarket.depositPayment, (DEPOSIT_UNITS)));

        require(attacker.reentrySucceeded(), "cancelling is open during a deposit");
        require(hookMarket.isNonceInvalidated(address(attacker), 5), "nonce cancelled");
        _assertEq(_paymentOf(hookMarket, address(attacker)), DEPOSIT_UNITS, "credited");
        _assertEq(hookDollar.balanceOf(address(hookMarket)), DEPOSIT_UNITS, "held");
    }

    function test_withdrawPayment_recipientRefuses_revertsAndKeepsEscrow() public {
        (EnergyMarket hookMarket,) = _hookMarket();
        attacker.execute(address(hookMarket), abi.encodeCall(IEnergyMarket.depositPayment, (DEPOSIT_UNITS)));
        attacker.setMode(HostileActor.ReceiverMode.Revert);

        vm.expectRevert(HostileActor.ReceiverRefused.selector);
        attacker.execute(address(hookMarket), abi.encodeCall(IEnergyMarket.withdrawPayment, (DEPOSIT_UNITS)));
        _assertEq(_paymentOf(hookMarket, address(attacker)), DEPOSIT_UNITS, "credited");
    }
}
