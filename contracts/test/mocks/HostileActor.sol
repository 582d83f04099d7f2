// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {ITokenHooks} from "./HookToken.sol";

/// @notice An attacker contract: it acts as a trader (any call through `execute`), and on every
///         callback it can get (ERC-777-style token hooks, ERC-1155 receiver hooks) it makes one
///         armed call back into a contract under test, recording whether that call succeeded
///         and what it returned. Its hooks can also refuse (revert), and its ERC-1155 hooks
///         can answer with a wrong selector. Its storage starts zeroed, so it also works when etched over an
///         address (an owner in a fixture) with `vm.etch`.
contract HostileActor is ITokenHooks, IERC1155Receiver {
    enum ReceiverMode {
        Accept,
        Revert,
        WrongSelector
    }

    /// @notice The receiver hook refused the transfer (ReceiverMode.Revert).
    error ReceiverRefused();

    ReceiverMode public mode;
    address public reentryTarget;
    bytes public reentryCall;
    bool public armed;
    /// @notice Callbacks that fired an armed re-entry, and the last one's outcome.
    uint256 public reentries;
    bool public reentrySucceeded;
    bytes public reentryResult;

    /// @notice Make `data` to `target` on the next callback (once).
    function arm(address target, bytes calldata data) external {
        reentryTarget = target;
        reentryCall = data;
        armed = true;
    }

    /// @notice How the hooks answer (a wrong selector only matters to the ERC-1155 hooks).
    function setMode(ReceiverMode newMode) external {
        mode = newMode;
    }

    /// @notice Call `target` as this contract; a revert is passed on unchanged.
    function execute(address target, bytes calldata data) external returns (bytes memory result) {
        bool ok;
        (ok, result) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }

    /// @notice The first 4 bytes of the last re-entry's return or revert data (zero if shorter).
    function reentryError() external view returns (bytes4 selector) {
        bytes memory result = reentryResult;
        if (result.length >= 4) selector = bytes4(result);
    }

    /// @inheritdoc ITokenHooks
    function tokensToSend(address, address, address, uint256) external {
        _refuseOrReenter();
    }

    /// @inheritdoc ITokenHooks
    function tokensReceived(address, address, address, uint256) external {
        _refuseOrReenter();
    }

    /// @inheritdoc IERC1155Receiver
    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        return _answer(this.onERC1155Received.selector);
    }

    /// @inheritdoc IERC1155Receiver
    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        returns (bytes4)
    {
        return _answer(this.onERC1155BatchReceived.selector);
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || interfaceId == type(IERC165).interfaceId;
    }

    function _answer(bytes4 selector) private returns (bytes4) {
        _refuseOrReenter();
        return mode == ReceiverMode.WrongSelector ? bytes4(0xdeadbeef) : selector;
    }

    function _refuseOrReenter() private {
        if (mode == ReceiverMode.Revert) revert ReceiverRefused();
        if (!armed) return;
        armed = false;
        ++reentries;
        (reentrySucceeded, reentryResult) = reentryTarget.call(reentryCall);
    }
}
