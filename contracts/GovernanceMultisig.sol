// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MultiSignerERC7913} from "@openzeppelin/contracts/utils/cryptography/signers/MultiSignerERC7913.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";

/// @title GovernanceMultisig
/// @notice M-of-N approval for gridledger's critical operations. It holds the AccessManager
///         ADMIN role, so role grants, firmware approval, unpausing and parameter changes all
///         need `threshold` signatures of its signers.
/// @dev Signer set and threshold logic are OpenZeppelin's MultiSignerERC7913 (ECDSA keys as
///      20-byte signers, ERC-1271 contracts too). This contract only adds the EIP-712 typed
///      operation, the replay nonce and the call.
contract GovernanceMultisig is EIP712, MultiSignerERC7913, Nonces {
    // ---------------------------------------------------------------- errors
    /// @notice The signatures do not reach the threshold, are not by signers, or don't sign this operation.
    error MultisigInvalidSignatures(uint256 nonce);
    /// @notice Signer-set changes go through execute() to this contract itself.
    error MultisigOnlySelf(address caller);

    // ---------------------------------------------------------------- events
    event OperationExecuted(uint256 indexed nonce, address indexed target, uint256 value, bytes data);

    bytes32 public constant OPERATION_TYPEHASH =
        keccak256("Operation(address target,uint256 value,bytes data,uint256 nonce)");

    /// @param signers ERC-7913 signers (an EOA signer is its 20-byte address).
    /// @param threshold_ How many of them must sign an operation.
    constructor(bytes[] memory signers, uint64 threshold_)
        EIP712("GridLedger Governance", "1")
        MultiSignerERC7913(signers, threshold_)
    {}

    modifier onlySelf() {
        if (msg.sender != address(this)) revert MultisigOnlySelf(msg.sender);
        _;
    }

    /// @notice The EIP-712 digest the signers sign for an operation with nonce `nonce`.
    function operationDigest(address target, uint256 value, bytes calldata data, uint256 nonce)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(OPERATION_TYPEHASH, target, value, keccak256(data), nonce)));
    }

    /// @notice The nonce the next operation must be signed with.
    function nextNonce() external view returns (uint256) {
        return nonces(address(this));
    }

    /// @notice Execute `data` on `target` if `signature` carries at least `threshold` valid signatures.
    /// @param signature abi.encode(bytes[] signers, bytes[] signatures) as MultiSignerERC7913 reads it.
    /// @return result The call's return data; a failing call reverts with its own error.
    function execute(address target, uint256 value, bytes calldata data, bytes calldata signature)
        external
        payable
        returns (bytes memory result)
    {
        uint256 nonce = _useNonce(address(this));
        if (!_rawSignatureValidation(operationDigest(target, value, data, nonce), signature)) {
            revert MultisigInvalidSignatures(nonce);
        }
        result = Address.functionCallWithValue(target, data, value);
        emit OperationExecuted(nonce, target, value, data);
    }

    /// @notice Add signers (through execute only).
    function addSigners(bytes[] memory newSigners) external onlySelf {
        _addSigners(newSigners);
    }

    /// @notice Remove signers (through execute only); the threshold must stay reachable.
    function removeSigners(bytes[] memory oldSigners) external onlySelf {
        _removeSigners(oldSigners);
    }

    /// @notice Change the threshold (through execute only).
    function setThreshold(uint64 newThreshold) external onlySelf {
        _setThreshold(newThreshold);
    }
}
