// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";

/// @title SolicitedCreditsHolder
/// @notice An ERC-1155 holder that accepts only transfers it started itself (single, not batch):
///         a contract whose books must equal its credit balances (a pool, an exchange) takes
///         credits in only through its own functions, so nobody can make them drift apart.
/// @dev OpenZeppelin's ERC1155Holder with its two receiver hooks narrowed.
abstract contract SolicitedCreditsHolder is ERC1155Holder {
    /// @notice Credits arrived other than through the holder's own functions.
    error UnsolicitedCredits(address operator);

    /// @notice Accepts a single transfer only when this contract is its operator.
    function onERC1155Received(address operator, address, uint256, uint256, bytes memory)
        public
        view
        override
        returns (bytes4)
    {
        if (operator != address(this)) revert UnsolicitedCredits(operator);
        return this.onERC1155Received.selector;
    }

    /// @notice Refuses every incoming batch transfer: the holder takes credits in one certificate at a time.
    function onERC1155BatchReceived(address operator, address, uint256[] memory, uint256[] memory, bytes memory)
        public
        pure
        override
        returns (bytes4)
    {
        revert UnsolicitedCredits(operator);
    }
}
