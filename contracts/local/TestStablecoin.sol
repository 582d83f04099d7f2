// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestStablecoin
/// @notice The payment token of local deployments (6 decimals, like USDC); its owner mints.
///         Public deployments use a real stablecoin instead.
contract TestStablecoin is ERC20, ERC20Permit, Ownable {
    constructor(address owner_)
        ERC20("GridLedger Test Dollar", "tUSD")
        ERC20Permit("GridLedger Test Dollar")
        Ownable(owner_)
    {}

    /// @notice 6 decimals: one unit is a micro-dollar.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Owner: create `units` for `to`.
    function mint(address to, uint256 units) external onlyOwner {
        _mint(to, units);
    }
}
