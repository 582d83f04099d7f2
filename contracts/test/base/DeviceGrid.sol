// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {GridManagement} from "../../GridManagement.sol";
import {SmartMeterRegistry} from "../../SmartMeterRegistry.sol";
import {IGridManagement} from "../../interfaces/IGridManagement.sol";

/// @notice The grid a registry needs before it registers devices: nodes 1..nodes, each with a
///         connection capacity, wired to the registry. The caller must hold ADMIN, which is the
///         role of every function it has not given another one (registerNode and
///         setConnectionCapacity included).
library DeviceGrid {
    function wire(address manager, SmartMeterRegistry registry, uint256 nodes, uint32 capacityW)
        internal
        returns (GridManagement grid)
    {
        grid = new GridManagement(manager);
        for (uint256 nodeId = 1; nodeId <= nodes; ++nodeId) {
            grid.registerNode(address(uint160(0x6E0DE000 + nodeId)), IGridManagement.NodeType.Prosumer);
            grid.setConnectionCapacity(nodeId, capacityW);
        }
        registry.setGridManagement(address(grid));
    }
}
