// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @notice For invariant tests whose only target is a handler: forge's invariant runner reads
///         targetContracts and targetSelectors, so it calls the handler's actions, not its views.
abstract contract InvariantTargets {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address private _handler;
    bytes4[] private _actions;

    /// @dev Call in setUp: only these functions of `handler` are called.
    function _targetOnly(address handler, bytes4[] memory actions) internal {
        _handler = handler;
        _actions = actions;
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = _handler;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector(_handler, _actions);
    }
}
