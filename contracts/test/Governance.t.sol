// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {Cheats} from "./base/Cheats.sol";
import {GovernanceMultisig} from "../GovernanceMultisig.sol";
import {GridAccessManager} from "../GridAccessManager.sol";
import {TestStablecoin} from "../local/TestStablecoin.sol";

/// @notice Cheatcodes only these tests need (kept out of the shared Cheats interface).
interface GovernanceCheats {
    function chainId(uint256 newChainId) external;
    function deal(address account, uint256 newBalance) external;
}

/// @notice Accepts ether, to check that the multisig forwards an operation's value.
contract ValueReceiver {
    receive() external payable {}
}

/// @notice The multisig's own rules: who may sign, how many, for which operation, once; and
///         the signer-set changes that only the multisig itself may make. The target of the
///         operations is the local stablecoin, owned by the multisig.
contract GovernanceMultisigTest {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));
    GovernanceCheats internal constant vmx = GovernanceCheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    GovernanceMultisig internal multisig;
    TestStablecoin internal stablecoin;

    uint256 internal constant SIGNER_A = 0xA1;
    uint256 internal constant SIGNER_B = 0xA2;
    uint256 internal constant SIGNER_C = 0xA3;
    uint256 internal constant NEW_SIGNER = 0xA4;
    uint256 internal constant ATTACKER_KEY = 0xBAD;
    address internal prosumer = address(0x9B01);
    address internal attacker = address(0xBAD);

    function setUp() public {
        uint256[] memory keys = new uint256[](3);
        (keys[0], keys[1], keys[2]) = (SIGNER_A, SIGNER_B, SIGNER_C);
        multisig = new GovernanceMultisig(_signerIds(keys), 2);
        stablecoin = new TestStablecoin(address(multisig));
    }

    // ------------------------------------------------------------ helpers
    function _signerIds(uint256[] memory keys) internal returns (bytes[] memory ids) {
        ids = new bytes[](keys.length);
        for (uint256 i; i < keys.length; ++i) {
            ids[i] = abi.encodePacked(vm.addr(keys[i]));
        }
    }

    function _keys(uint256 a, uint256 b) internal pure returns (uint256[] memory keys) {
        keys = new uint256[](2);
        (keys[0], keys[1]) = (a, b);
    }

    /// @dev abi.encode(signers, signatures) over `multisig`'s digest of the operation with its next nonce.
    function _approval(
        GovernanceMultisig approver,
        uint256[] memory keys,
        address target,
        uint256 value,
        bytes memory data
    ) internal returns (bytes memory) {
        bytes32 digest = approver.operationDigest(target, value, data, approver.nextNonce());
        bytes[] memory signatures = new bytes[](keys.length);
        for (uint256 i; i < keys.length; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[i], digest);
            signatures[i] = abi.encodePacked(r, s, v);
        }
        return abi.encode(_signerIds(keys), signatures);
    }

    function _mintCall(uint256 units) internal view returns (bytes memory) {
        return abi.encodeCall(stablecoin.mint, (prosumer, units));
    }

    function _executeBy(uint256[] memory keys, bytes memory data) internal returns (bytes memory) {
        return multisig.execute(address(multisig), 0, data, _approval(multisig, keys, address(multisig), 0, data));
    }

    function _invalid(uint256 nonce) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(GovernanceMultisig.MultisigInvalidSignatures.selector, nonce);
    }

    // ------------------------------------------------------------ execute
    function test_execute_atThresholdCallsTargetEmitsAndUsesNonce() public {
        bytes memory data = _mintCall(5_000_000);
        bytes memory approval = _approval(multisig, _keys(SIGNER_A, SIGNER_C), address(stablecoin), 0, data);
        vm.expectEmit(true, true, false, true, address(multisig));
        emit GovernanceMultisig.OperationExecuted(0, address(stablecoin), 0, data);
        multisig.execute(address(stablecoin), 0, data, approval);
        require(stablecoin.balanceOf(prosumer) == 5_000_000, "minted through the multisig");
        require(multisig.nextNonce() == 1, "nonce used");
    }

    function test_execute_replayedApprovalReverts() public {
        bytes memory data = _mintCall(1);
        bytes memory approval = _approval(multisig, _keys(SIGNER_A, SIGNER_B), address(stablecoin), 0, data);
        multisig.execute(address(stablecoin), 0, data, approval);
        vm.expectRevert(_invalid(1));
        multisig.execute(address(stablecoin), 0, data, approval);
        require(stablecoin.balanceOf(prosumer) == 1, "minted once");
    }

    function test_execute_duplicateSignerReverts() public {
        bytes memory data = _mintCall(1);
        bytes memory approval = _approval(multisig, _keys(SIGNER_A, SIGNER_A), address(stablecoin), 0, data);
        vm.expectRevert(_invalid(0));
        multisig.execute(address(stablecoin), 0, data, approval);
    }

    function test_execute_nonSignerApprovalReverts() public {
        bytes memory data = _mintCall(1);
        bytes memory approval = _approval(multisig, _keys(SIGNER_A, ATTACKER_KEY), address(stablecoin), 0, data);
        vm.expectRevert(_invalid(0));
        vm.prank(attacker);
        multisig.execute(address(stablecoin), 0, data, approval);
    }

    function test_execute_approvalOfOtherCallReverts() public {
        bytes memory approved = _mintCall(1);
        bytes memory approval = _approval(multisig, _keys(SIGNER_A, SIGNER_B), address(stablecoin), 0, approved);
        vm.expectRevert(_invalid(0));
        multisig.execute(address(stablecoin), 0, _mintCall(1_000_000_000), approval);
    }

    function test_execute_malformedOrEmptyApprovalReverts() public {
        bytes memory data = _mintCall(1);
        vm.expectRevert(_invalid(0));
        multisig.execute(address(stablecoin), 0, data, hex"1234");
        vm.expectRevert(_invalid(0));
        multisig.execute(address(stablecoin), 0, data, "");
    }

    function test_execute_approvalFromOtherChainReverts() public {
        bytes memory data = _mintCall(1);
        bytes memory approval = _approval(multisig, _keys(SIGNER_A, SIGNER_B), address(stablecoin), 0, data);
        vmx.chainId(block.chainid + 1);
        vm.expectRevert(_invalid(0));
        multisig.execute(address(stablecoin), 0, data, approval);
    }

    function test_execute_approvalForOtherMultisigReverts() public {
        uint256[] memory keys = new uint256[](3);
        (keys[0], keys[1], keys[2]) = (SIGNER_A, SIGNER_B, SIGNER_C);
        GovernanceMultisig twin = new GovernanceMultisig(_signerIds(keys), 2);
        bytes memory data = _mintCall(1);
        bytes memory approval = _approval(twin, _keys(SIGNER_A, SIGNER_B), address(stablecoin), 0, data);
        vm.expectRevert(_invalid(0));
        multisig.execute(address(stablecoin), 0, data, approval);
    }

    function test_execute_failingCallRevertsWithItsErrorAndKeepsNonce() public {
        TestStablecoin foreign = new TestStablecoin(address(this));
        bytes memory data = abi.encodeCall(foreign.mint, (prosumer, 1));
        bytes memory approval = _approval(multisig, _keys(SIGNER_A, SIGNER_B), address(foreign), 0, data);
        vm.expectRevert(abi.encodeWithSignature("OwnableUnauthorizedAccount(address)", address(multisig)));
        multisig.execute(address(foreign), 0, data, approval);
        require(multisig.nextNonce() == 0, "nonce not used by a failed operation");
    }

    function test_execute_forwardsValueToContract() public {
        ValueReceiver payee = new ValueReceiver();
        vmx.deal(address(this), 1 ether);
        bytes memory approval = _approval(multisig, _keys(SIGNER_B, SIGNER_C), address(payee), 1 ether, "");
        multisig.execute{value: 1 ether}(address(payee), 1 ether, "", approval);
        require(address(payee).balance == 1 ether, "value forwarded");
    }

    /// @dev OpenZeppelin's Address refuses a call that returns nothing from an address without
    ///      code, so a mistyped target fails instead of passing silently (and plain payments to
    ///      an account without code are not possible through the multisig).
    function test_execute_targetWithoutCodeReverts() public {
        address noCode = address(0xFEE);
        bytes memory data = abi.encodeWithSignature("setFirmwareApproval(bytes32,bool)", bytes32(0), true);
        bytes memory approval = _approval(multisig, _keys(SIGNER_A, SIGNER_B), noCode, 0, data);
        vm.expectRevert(abi.encodeWithSignature("AddressEmptyCode(address)", noCode));
        multisig.execute(noCode, 0, data, approval);
    }

    // ------------------------------------------------------------ signer set
    function test_addSigners_throughExecuteLetsNewSignerApprove() public {
        uint256[] memory added = new uint256[](1);
        added[0] = NEW_SIGNER;
        _executeBy(_keys(SIGNER_A, SIGNER_B), abi.encodeCall(multisig.addSigners, (_signerIds(added))));
        require(multisig.isSigner(abi.encodePacked(vm.addr(NEW_SIGNER))), "added");
        bytes memory data = _mintCall(7);
        multisig.execute(
            address(stablecoin), 0, data, _approval(multisig, _keys(NEW_SIGNER, SIGNER_C), address(stablecoin), 0, data)
        );
        require(stablecoin.balanceOf(prosumer) == 7, "new signer counted");
    }

    function test_removeSigners_throughExecuteVoidsRemovedSignerApproval() public {
        uint256[] memory removed = new uint256[](1);
        removed[0] = SIGNER_C;
        _executeBy(_keys(SIGNER_A, SIGNER_B), abi.encodeCall(multisig.removeSigners, (_signerIds(removed))));
        bytes memory data = _mintCall(1);
        bytes memory approval = _approval(multisig, _keys(SIGNER_A, SIGNER_C), address(stablecoin), 0, data);
        vm.expectRevert(_invalid(1));
        multisig.execute(address(stablecoin), 0, data, approval);
    }

    function test_removeSigners_belowThresholdReverts() public {
        bytes memory data = abi.encodeCall(multisig.removeSigners, (_signerIds(_keys(SIGNER_B, SIGNER_C))));
        bytes memory approval = _approval(multisig, _keys(SIGNER_A, SIGNER_B), address(multisig), 0, data);
        vm.expectRevert(abi.encodeWithSignature("MultiSignerERC7913UnreachableThreshold(uint64,uint64)", 1, 2));
        multisig.execute(address(multisig), 0, data, approval);
    }

    function test_setThreshold_throughExecuteRequiresMoreSignatures() public {
        _executeBy(_keys(SIGNER_A, SIGNER_B), abi.encodeCall(multisig.setThreshold, (3)));
        require(multisig.threshold() == 3, "threshold raised");
        bytes memory data = _mintCall(1);
        bytes memory approval = _approval(multisig, _keys(SIGNER_A, SIGNER_B), address(stablecoin), 0, data);
        vm.expectRevert(_invalid(1));
        multisig.execute(address(stablecoin), 0, data, approval);
    }

    function test_setThreshold_zeroReverts() public {
        bytes memory data = abi.encodeCall(multisig.setThreshold, (0));
        bytes memory approval = _approval(multisig, _keys(SIGNER_A, SIGNER_B), address(multisig), 0, data);
        vm.expectRevert(abi.encodeWithSignature("MultiSignerERC7913ZeroThreshold()"));
        multisig.execute(address(multisig), 0, data, approval);
    }

    function test_signerChanges_directCallsRevert() public {
        bytes memory onlySelf = abi.encodeWithSelector(GovernanceMultisig.MultisigOnlySelf.selector, attacker);
        uint256[] memory keys = new uint256[](1);
        keys[0] = ATTACKER_KEY;
        bytes[] memory ids = _signerIds(keys);
        vm.startPrank(attacker);
        vm.expectRevert(onlySelf);
        multisig.addSigners(ids);
        vm.expectRevert(onlySelf);
        multisig.removeSigners(_signerIds(_keys(SIGNER_A, SIGNER_B)));
        vm.expectRevert(onlySelf);
        multisig.setThreshold(1);
        vm.stopPrank();
        require(multisig.threshold() == 2 && !multisig.isSigner(ids[0]), "unchanged");
    }

    function test_constructor_unreachableThresholdReverts() public {
        bytes[] memory ids = _signerIds(_keys(SIGNER_A, SIGNER_B));
        vm.expectRevert(abi.encodeWithSignature("MultiSignerERC7913UnreachableThreshold(uint64,uint64)", 2, 3));
        new GovernanceMultisig(ids, 3);
    }
}

/// @notice The local payment token and the role manager: their own code, beyond OpenZeppelin's.
contract LocalDeploymentContractsTest {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    address internal operator = address(0x0BE7);
    address internal prosumer = address(0x9B01);
    address internal attacker = address(0xBAD);

    function test_decimals_isSixLikeUsdc() public {
        TestStablecoin stablecoin = new TestStablecoin(operator);
        require(stablecoin.decimals() == 6, "6 decimals");
    }

    function test_mint_byOwnerCreatesUnits() public {
        TestStablecoin stablecoin = new TestStablecoin(operator);
        vm.prank(operator);
        stablecoin.mint(prosumer, 2_500_000);
        require(stablecoin.balanceOf(prosumer) == 2_500_000 && stablecoin.totalSupply() == 2_500_000, "minted");
    }

    function test_mint_byNonOwnerReverts() public {
        TestStablecoin stablecoin = new TestStablecoin(operator);
        vm.expectRevert(abi.encodeWithSignature("OwnableUnauthorizedAccount(address)", attacker));
        vm.prank(attacker);
        stablecoin.mint(attacker, 1);
    }

    function test_constructor_initialAdminHoldsAdminRoleAlone() public {
        GridAccessManager manager = new GridAccessManager(operator);
        (bool isAdmin,) = manager.hasRole(manager.ADMIN_ROLE(), operator);
        (bool attackerIsAdmin,) = manager.hasRole(manager.ADMIN_ROLE(), attacker);
        require(isAdmin && !attackerIsAdmin, "only the initial admin");
        vm.expectRevert(
            abi.encodeWithSignature("AccessManagerUnauthorizedAccount(address,uint64)", attacker, manager.ADMIN_ROLE())
        );
        vm.prank(attacker);
        manager.grantRole(1, attacker, 0);
    }
}
