// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A payment token that takes a fee on every transfer between holders, the way USDT can
///         once its fee switch is on: by default the recipient gets the amount less the fee; with
///         `chargeSender` the sender pays the fee on top and the recipient gets the full amount.
///         The fee goes to `feeCollector`. Anyone mints (test use only).
contract FeeOnTransferToken is ERC20 {
    uint256 public immutable feeBps;
    bool public immutable chargeSender;
    address public immutable feeCollector;

    /// @param feeBps_ Fee in basis points of the amount moved.
    /// @param chargeSender_ Whether the sender pays the fee on top (else the recipient bears it).
    /// @param feeCollector_ Who receives the fees.
    constructor(uint256 feeBps_, bool chargeSender_, address feeCollector_) ERC20("Fee Dollar", "FEE$") {
        feeBps = feeBps_;
        chargeSender = chargeSender_;
        feeCollector = feeCollector_;
    }

    /// @notice Create `units` for `to`.
    function mint(address to, uint256 units) external {
        _mint(to, units);
    }

    /// @dev Mints and burns pass untouched; a transfer between holders splits off the fee.
    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0) || feeBps == 0) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = value * feeBps / 10_000;
        super._update(from, feeCollector, fee);
        super._update(from, to, chargeSender ? value : value - fee);
    }
}
