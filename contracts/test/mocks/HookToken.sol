// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice The two ERC-777 hooks, as an ERC-20 with hooks calls them.
interface ITokenHooks {
    /// @notice Called on the sender's hook before its balance moves (ERC-777 tokensToSend).
    function tokensToSend(address operator, address from, address to, uint256 value) external;
    /// @notice Called on the recipient's hook after its balance moved (ERC-777 tokensReceived).
    function tokensReceived(address operator, address from, address to, uint256 value) external;
}

/// @notice An ERC-20 with ERC-777-style transfer hooks: a holder registers a hook contract, which
///         the token calls before the holder's tokens leave and after tokens arrive, so the hook
///         can call back into the contract that moved the tokens. Anyone mints (test use only).
contract HookToken is ERC20 {
    mapping(address account => ITokenHooks hook) public hookOf;

    constructor() ERC20("Hook Dollar", "HOOK$") {}

    /// @notice Create `units` for `to`.
    function mint(address to, uint256 units) external {
        _mint(to, units);
    }

    /// @notice The caller's hooks go to `hook` (zero: none), like an ERC-1820 registration.
    function registerHook(ITokenHooks hook) external {
        hookOf[msg.sender] = hook;
    }

    function _update(address from, address to, uint256 value) internal override {
        ITokenHooks senderHook = hookOf[from];
        if (from != address(0) && address(senderHook) != address(0)) {
            senderHook.tokensToSend(msg.sender, from, to, value);
        }
        super._update(from, to, value);
        ITokenHooks recipientHook = hookOf[to];
        if (to != address(0) && address(recipientHook) != address(0)) {
            recipientHook.tokensReceived(msg.sender, from, to, value);
        }
    }
}
