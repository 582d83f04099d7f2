// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {Cheats} from "./Cheats.sol";
import {GridAccessManager} from "../../GridAccessManager.sol";
import {GridManagement} from "../../GridManagement.sol";
import {IGridManagement} from "../../interfaces/IGridManagement.sol";
import {Roles} from "../../libraries/Roles.sol";

/// @notice A small grid: substation zone 1 (transformer, 10 kWh per interval) with two feeders,
///         zones 2 and 3 (4 kWh each), and a lateral, zone 4 (2 kWh), below feeder 2. Nodes:
///         1 transformer (zone 1), 2 prosumer and 3 consumer on feeder 2, 4 consumer on feeder 3,
///         5 prosumer on the lateral. This contract holds ADMIN, as the multisig does in deployments.
abstract contract GridWorld {
    Cheats internal constant vm = Cheats(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant T0 = 1_750_000_500;
    uint32 internal constant SUBSTATION = 1;
    uint32 internal constant FEEDER_A = 2;
    uint32 internal constant FEEDER_B = 3;
    uint32 internal constant LATERAL = 4;
    uint64 internal constant TRANSFORMER_WH = 10_000;
    uint64 internal constant FEEDER_WH = 4_000;
    uint64 internal constant LATERAL_WH = 2_000;
    uint256 internal constant TRANSFORMER_NODE = 1;
    uint256 internal constant PROSUMER_A = 2;
    uint256 internal constant CONSUMER_A = 3;
    uint256 internal constant CONSUMER_B = 4;
    uint256 internal constant PROSUMER_LATERAL = 5;

    GridAccessManager internal manager;
    GridManagement internal grid;
    address internal gridOperator = address(0x6121D);
    address internal marketOperator = address(0x0BE8);
    address internal emergency = address(0xE3E);

    function _buildGrid() internal {
        vm.warp(T0);
        manager = new GridAccessManager(address(this));
        grid = new GridManagement(address(manager));
        bytes4[] memory operatorFns = new bytes4[](9);
        operatorFns[0] = grid.registerNode.selector;
        operatorFns[1] = grid.updateLoadBalance.selector;
        operatorFns[2] = grid.createZone.selector;
        operatorFns[3] = grid.setZoneCapacity.selector;
        operatorFns[4] = grid.assignNode.selector;
        operatorFns[5] = grid.setPeak.selector;
        operatorFns[6] = grid.reportLosses.selector;
        operatorFns[7] = grid.setConnectionCapacity.selector;
        operatorFns[8] = grid.reportServiceQuality.selector;
        manager.setTargetFunctionRole(address(grid), operatorFns, Roles.GRID_OPERATOR);
        bytes4[] memory marketFns = new bytes4[](2);
        marketFns[0] = grid.requestEnergyTransfer.selector;
        marketFns[1] = grid.requestEnergyTransfers.selector;
        manager.setTargetFunctionRole(address(grid), marketFns, Roles.MARKET_OPERATOR);
        bytes4[] memory emergencyFns = new bytes4[](2);
        emergencyFns[0] = grid.declareEmergency.selector;
        emergencyFns[1] = grid.pause.selector;
        manager.setTargetFunctionRole(address(grid), emergencyFns, Roles.EMERGENCY);
        manager.grantRole(Roles.GRID_OPERATOR, gridOperator, 0);
        manager.grantRole(Roles.MARKET_OPERATOR, marketOperator, 0);
        manager.grantRole(Roles.EMERGENCY, emergency, 0);

        vm.startPrank(gridOperator);
        grid.createZone(SUBSTATION, 0, TRANSFORMER_WH);
        grid.createZone(FEEDER_A, SUBSTATION, FEEDER_WH);
        grid.createZone(FEEDER_B, SUBSTATION, FEEDER_WH);
        grid.createZone(LATERAL, FEEDER_A, LATERAL_WH);
        _node(address(0x7F), IGridManagement.NodeType.Transformer, SUBSTATION);
        _node(address(0xA1), IGridManagement.NodeType.Prosumer, FEEDER_A);
        _node(address(0xA2), IGridManagement.NodeType.Consumer, FEEDER_A);
        _node(address(0xB1), IGridManagement.NodeType.Consumer, FEEDER_B);
        _node(address(0xC1), IGridManagement.NodeType.Prosumer, LATERAL);
        vm.stopPrank();
        grid.setPeakParameters(500, 20_000, 60_000);
    }

    function _node(address account, IGridManagement.NodeType nodeType, uint32 zoneId) private {
        grid.registerNode(account, nodeType);
        uint256 nodeId = grid.nodeCount();
        grid.assignNode(nodeId, zoneId, uint64(100 + nodeId));
    }

    function _interval() internal view returns (uint64) {
        return uint64(block.timestamp - block.timestamp % 900);
    }

    function _assertEq(uint256 a, uint256 b, string memory what) internal pure {
        require(a == b, what);
    }
}
