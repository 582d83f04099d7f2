// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IGridManagement} from "./interfaces/IGridManagement.sol";
import {IGridGuard} from "./interfaces/IGridGuard.sol";

/// @title GridManagement
/// @notice Nodes and zones of the distribution grid, capacity reservations per interval, zone
///         states and metrics; the EnergyMarket's grid guard (no settlement in a zone in emergency).
/// @dev Zones form a tree (feeders below transformer areas) at most MAX_ZONE_DEPTH deep. A
///      transfer reserves capacity on every zone it crosses: both end zones and the zones between
///      them and their lowest common ancestor (energy between two feeders of one transformer
///      passes its busbar, not the transformer). A zone is halted if it or any zone above it is
///      in emergency. Entering emergency is the EMERGENCY role's; leaving it needs the multisig.
contract GridManagement is IGridManagement, IGridGuard, AccessManaged, Pausable {
    // ---------------------------------------------------------------- constants
    uint256 public constant INTERVAL_SECONDS = 900;
    uint256 public constant DAY_SECONDS = 86_400;
    uint256 private constant MINUTES_PER_DAY = 1_440;
    uint256 private constant MINUTES_PER_INTERVAL = 15;
    uint8 public constant MAX_ZONE_DEPTH = 8;

    // ---------------------------------------------------------------- storage
    struct NodeRecord {
        address account;
        NodeType nodeType;
        uint32 zoneId;
        uint64 meterDeviceId;
        uint64 loadW;
        /// Bounds the summed rated power of the node's smart meter devices (SmartMeterRegistry).
        uint32 connectionCapacityW;
    }

    mapping(uint256 nodeId => NodeRecord) private _nodes;
    mapping(address node => uint256 nodeId) private _nodeIdOf;
    uint256 private _nodeCount;
    mapping(uint32 zoneId => Zone) private _zones;
    mapping(uint32 zoneId => ZoneMetrics) private _metrics;
    /// (zoneId << 64 | intervalStart) => Wh reserved
    mapping(uint256 zoneAndInterval => uint256 reservedWh) private _reserved;

    /// (zoneId << 64 | dayStart) => the day's last quality-of-service report
    mapping(uint256 zoneAndDay => ServiceQuality) private _serviceQuality;

    /// Zones in emergency now: while none is and the grid is not paused, nothing is halted.
    uint256 private _zonesInEmergency;
    /// Zones in peak now: while none is, the market charges its own grid fee without asking.
    uint256 private _zonesInPeak;
    /// @notice The most one transfer from a node of a peak zone may carry (Wh).
    uint64 public peakNodeCapWh;
    /// @notice The grid fee per kWh outside peak zones (payment base units).
    uint64 public normalFeePerKWh;
    /// @notice The grid fee per kWh for energy bought in a peak zone (payment base units).
    uint64 public peakFeeRatePerKWh;

    /// @param authority The AccessManager of the system.
    constructor(address authority) AccessManaged(authority) {}

    // ---------------------------------------------------------------- administration
    /// @inheritdoc IGridManagement
    function registerNode(address node, NodeType nodeType) external restricted whenNotPaused {
        if (node == address(0)) revert InvalidNodeAddress();
        uint256 existing = _nodeIdOf[node];
        if (existing != 0) revert NodeAlreadyRegistered(node, existing);
        uint256 nodeId = ++_nodeCount;
        _nodes[nodeId] = NodeRecord(node, nodeType, 0, 0, 0, 0);
        _nodeIdOf[node] = nodeId;
        emit NodeRegistered(nodeId, node, nodeType);
    }

    /// @inheritdoc IGridManagement
    function createZone(uint32 zoneId, uint32 parentZoneId, uint64 capacityWh) external restricted {
        if (zoneId == 0) revert InvalidZone(zoneId, parentZoneId);
        if (_exists(zoneId)) revert ZoneAlreadyExists(zoneId);
        uint8 depth = 1;
        if (parentZoneId != 0) {
            if (!_exists(parentZoneId)) revert InvalidZone(zoneId, parentZoneId);
            depth = _zones[parentZoneId].depth + 1;
            if (depth > MAX_ZONE_DEPTH) revert InvalidZone(zoneId, parentZoneId);
        }
        _zones[zoneId] = Zone(parentZoneId, depth, ZoneState.Normal, capacityWh, 0, uint64(block.timestamp));
        emit ZoneCreated(zoneId, parentZoneId, capacityWh);
    }

    /// @inheritdoc IGridManagement
    function setZoneCapacity(uint32 zoneId, uint64 capacityWh) external restricted {
        _existingZone(zoneId).capacityWh = capacityWh;
        emit ZoneCapacitySet(zoneId, capacityWh);
    }

    /// @inheritdoc IGridManagement
    function assignNode(uint256 nodeId, uint32 zoneId, uint64 meterDeviceId) external restricted {
        NodeRecord storage node = _existingNode(nodeId);
        _existingZone(zoneId);
        // The node's measured load moves with it to the new zone.
        uint64 loadW = node.loadW;
        if (node.zoneId != 0 && loadW != 0) _addLoad(node.zoneId, loadW, false);
        if (loadW != 0) _addLoad(zoneId, loadW, true);
        node.zoneId = zoneId;
        node.meterDeviceId = meterDeviceId;
        emit NodeAssigned(nodeId, zoneId, meterDeviceId);
    }

    /// @inheritdoc IGridManagement
    function setConnectionCapacity(uint256 nodeId, uint32 capacityW) external restricted {
        _existingNode(nodeId).connectionCapacityW = capacityW;
        emit ConnectionCapacitySet(nodeId, capacityW);
    }

    /// @inheritdoc IGridManagement
    function setPeakParameters(uint64 capWh, uint64 normalFee, uint64 peakFee) external restricted {
        peakNodeCapWh = capWh;
        normalFeePerKWh = normalFee;
        peakFeeRatePerKWh = peakFee;
        emit PeakParametersSet(capWh, normalFee, peakFee);
    }

    /// @notice Stop everything: transfers and settlements in every zone (EMERGENCY).
    function pause() external restricted {
        _pause();
    }

    /// @notice Resume after a pause (ADMIN: the multisig).
    function unpause() external restricted {
        _unpause();
    }

    // ---------------------------------------------------------------- measurements
    /// @inheritdoc IGridManagement
    function updateLoadBalance(uint256 nodeId, uint256 load) external restricted whenNotPaused {
        if (load > type(uint64).max) revert LoadOutOfRange(load);
        NodeRecord storage node = _existingNode(nodeId);
        uint32 zoneId = node.zoneId;
        if (zoneId == 0) revert NodeNotAssigned(nodeId);
        uint64 previous = node.loadW;
        node.loadW = uint64(load);
        if (load > previous) _addLoad(zoneId, uint64(load) - previous, true);
        else if (previous > load) _addLoad(zoneId, previous - uint64(load), false);
        emit LoadUpdated(nodeId, zoneId, uint64(load), _zones[zoneId].loadW);
    }

    /// @inheritdoc IGridManagement
    function reportLosses(uint32 zoneId, uint64 intervalStart, uint256 lossesWh) external restricted {
        _existingZone(zoneId);
        _metrics[zoneId].lossesWh += uint128(lossesWh);
        emit LossesReported(zoneId, intervalStart, lossesWh);
    }

    /// @inheritdoc IGridManagement
    function reportServiceQuality(uint32 zoneId, uint64 dayStart, ServiceQuality calldata quality) external restricted {
        _existingZone(zoneId);
        if (dayStart % DAY_SECONDS != 0) revert MisalignedDay(dayStart);
        // Bus-minutes grow with the zone's buses, so only the per-zone minutes are bounded.
        if (
            quality.interruptionMinutes > MINUTES_PER_DAY
                || quality.interruptions * MINUTES_PER_INTERVAL > quality.interruptionMinutes
                || quality.busMinutesOutside10Percent > quality.busMinutesOutside5Percent
        ) {
            revert ImpossibleServiceQuality(zoneId, dayStart);
        }
        _serviceQuality[(uint256(zoneId) << 64) | dayStart] = quality;
        emit ServiceQualityReported(
            zoneId,
            dayStart,
            quality.busMinutesOutside5Percent,
            quality.busMinutesOutside10Percent,
            quality.interruptions,
            quality.interruptionMinutes,
            quality.customerMinutesInterrupted
        );
    }

    // ---------------------------------------------------------------- zone states
    /// @inheritdoc IGridManagement
    function setPeak(uint32 zoneId, bool peak) external restricted {
        ZoneState from = _existingZone(zoneId).state;
        ZoneState to = peak ? ZoneState.Peak : ZoneState.Normal;
        if (from == ZoneState.Emergency || from == to) revert InvalidStateChange(zoneId, from, to);
        _changeState(zoneId, to);
    }

    /// @inheritdoc IGridManagement
    function declareEmergency(uint32 zoneId) external restricted {
        ZoneState from = _existingZone(zoneId).state;
        if (from == ZoneState.Emergency) revert InvalidStateChange(zoneId, from, ZoneState.Emergency);
        _changeState(zoneId, ZoneState.Emergency);
    }

    /// @inheritdoc IGridManagement
    function endEmergency(uint32 zoneId) external restricted {
        ZoneState from = _existingZone(zoneId).state;
        if (from != ZoneState.Emergency) revert InvalidStateChange(zoneId, from, ZoneState.Normal);
        _changeState(zoneId, ZoneState.Normal);
    }

    // ---------------------------------------------------------------- transfers
    /// @inheritdoc IGridManagement
    function requestEnergyTransfer(uint256 fromNode, uint256 toNode, uint256 amount) external restricted whenNotPaused {
        if (amount == 0) revert ZeroTransfer();
        uint64 intervalStart = uint64(block.timestamp - block.timestamp % INTERVAL_SECONDS);
        (TransferRejectReason reason, uint32 zoneId, uint256 reservedBefore) =
            _reserve(fromNode, toNode, amount, intervalStart);
        if (reason == TransferRejectReason.UnknownNode) revert UnknownNode(_unknownOf(fromNode, toNode));
        if (reason == TransferRejectReason.SameNode) revert SameNode(fromNode);
        if (reason == TransferRejectReason.ZoneInEmergency) revert ZoneInEmergency(zoneId);
        if (reason == TransferRejectReason.PeakNodeCapExceeded) {
            revert PeakNodeCapExceeded(zoneId, amount, peakNodeCapWh);
        }
        if (reason == TransferRejectReason.ZoneCapacityExceeded) {
            revert ZoneCapacityExceeded(zoneId, reservedBefore, amount, _zones[zoneId].capacityWh);
        }
    }

    /// @inheritdoc IGridManagement
    function requestEnergyTransfers(uint64 intervalStart, TransferRequest[] calldata transfers)
        external
        restricted
        whenNotPaused
        returns (uint256 reserved)
    {
        if (intervalStart % INTERVAL_SECONDS != 0) revert MisalignedInterval(intervalStart);
        for (uint256 i; i < transfers.length; ++i) {
            TransferRequest calldata t = transfers[i];
            (TransferRejectReason reason, uint32 zoneId,) = t.energyWh == 0
                ? (TransferRejectReason.None, 0, 0)
                : _reserve(t.fromNode, t.toNode, t.energyWh, intervalStart);
            if (reason == TransferRejectReason.None) {
                if (t.energyWh != 0) ++reserved;
                continue;
            }
            // Counted where it happened; rejections before any zone is known count nowhere.
            if (zoneId != 0) ++_metrics[zoneId].congestionRejections;
            emit EnergyTransferRejected(t.fromNode, t.toNode, intervalStart, t.energyWh, reason);
        }
    }

    /// @dev Checks the whole path first, then reserves on it: all or nothing per transfer.
    ///      Returns the reason it cannot, the zone concerned and what that zone had reserved.
    function _reserve(uint256 fromNode, uint256 toNode, uint256 amount, uint64 intervalStart)
        private
        returns (TransferRejectReason, uint32, uint256)
    {
        if (fromNode == toNode) return (TransferRejectReason.SameNode, 0, 0);
        uint32 fromZone = _nodes[fromNode].zoneId;
        uint32 toZone = _nodes[toNode].zoneId;
        if (fromZone == 0 || toZone == 0) return (TransferRejectReason.UnknownNode, 0, 0);
        uint32 halted = _firstInState(fromZone, ZoneState.Emergency);
        if (halted == 0) halted = _firstInState(toZone, ZoneState.Emergency);
        if (halted != 0) return (TransferRejectReason.ZoneInEmergency, halted, 0);
        // Peak caps what a node of a peak zone sends; energy bought in one pays the peak fee,
        // as the market charges it.
        uint32 peakAtSource = _firstInState(fromZone, ZoneState.Peak);
        if (peakAtSource != 0 && amount > peakNodeCapWh) {
            return (TransferRejectReason.PeakNodeCapExceeded, peakAtSource, 0);
        }
        uint32[] memory path = _path(fromZone, toZone);
        for (uint256 i; i < path.length; ++i) {
            uint256 already = _reserved[_key(path[i], intervalStart)];
            if (already + amount > _zones[path[i]].capacityWh) {
                return (TransferRejectReason.ZoneCapacityExceeded, path[i], already);
            }
        }
        for (uint256 i; i < path.length; ++i) {
            _reserved[_key(path[i], intervalStart)] += amount;
            _metrics[path[i]].transferredWh += uint128(amount);
        }
        bool peakAtDestination = _firstInState(toZone, ZoneState.Peak) != 0;
        uint256 fee =
            Math.mulDiv(amount, peakAtDestination ? peakFeeRatePerKWh : normalFeePerKWh, 1000, Math.Rounding.Ceil);
        emit EnergyTransferReserved(fromNode, toNode, intervalStart, amount, fee);
        return (TransferRejectReason.None, 0, 0);
    }

    /// @dev The zones a transfer crosses: both end zones and those between them and their
    ///      lowest common ancestor (0 if they only meet upstream). Depth is bounded by MAX_ZONE_DEPTH.
    function _path(uint32 fromZone, uint32 toZone) private view returns (uint32[] memory path) {
        uint32 common = _commonAncestor(fromZone, toZone);
        path = new uint32[](2 * MAX_ZONE_DEPTH);
        uint256 length;
        for (uint32 z = fromZone; z != common; z = _zones[z].parentZoneId) {
            path[length++] = z;
        }
        for (uint32 z = toZone; z != common; z = _zones[z].parentZoneId) {
            path[length++] = z;
        }
        if (common != 0 && (common == fromZone || common == toZone)) path[length++] = common;
        assembly ("memory-safe") {
            mstore(path, length)
        }
    }

    function _commonAncestor(uint32 a, uint32 b) private view returns (uint32) {
        uint8 depthA = _zones[a].depth;
        uint8 depthB = _zones[b].depth;
        for (; depthA > depthB; --depthA) {
            a = _zones[a].parentZoneId;
        }
        for (; depthB > depthA; --depthB) {
            b = _zones[b].parentZoneId;
        }
        while (a != b) {
            a = _zones[a].parentZoneId;
            b = _zones[b].parentZoneId;
        }
        return a;
    }

    // ---------------------------------------------------------------- grid guard
    /// @inheritdoc IGridGuard
    function gridConditions() external view returns (bool anyHalted, bool anyPeak) {
        return (paused() || _zonesInEmergency != 0, _zonesInPeak != 0);
    }

    /// @inheritdoc IGridGuard
    /// @dev The node must be registered to `trader`, so that nobody escapes a halted zone by
    ///      naming another node (the utility trades at its transformer node).
    function settlementAllowed(address trader, uint64 gridNodeId, uint64) external view returns (bool) {
        if (paused()) return false;
        NodeRecord storage node = _nodes[gridNodeId];
        if (node.account != trader || node.zoneId == 0) return false;
        return !_inState(node.zoneId, ZoneState.Emergency);
    }

    /// @inheritdoc IGridGuard
    function peakFeePerKWh(address trader, uint64 gridNodeId) external view returns (uint256) {
        NodeRecord storage node = _nodes[gridNodeId];
        if (node.account != trader || node.zoneId == 0 || _inState(node.zoneId, ZoneState.Peak)) {
            return peakFeeRatePerKWh;
        }
        return 0;
    }

    // ---------------------------------------------------------------- views
    /// @inheritdoc IGridManagement
    function getGridStatus(uint256 nodeId) external view returns (GridStatus memory status) {
        NodeRecord storage node = _existingNode(nodeId);
        Zone storage zone = _zones[node.zoneId];
        status = GridStatus({
            node: node.account,
            nodeType: node.nodeType,
            zoneId: node.zoneId,
            meterDeviceId: node.meterDeviceId,
            loadW: node.loadW,
            zoneState: zone.state,
            zoneCapacityWh: zone.capacityWh,
            zoneLoadW: zone.loadW,
            zoneReservedWh: _reserved[_key(node.zoneId, uint64(block.timestamp - block.timestamp % INTERVAL_SECONDS))],
            metrics: _metrics[node.zoneId]
        });
    }

    /// @inheritdoc IGridManagement
    function connectionCapacityW(uint256 nodeId) external view returns (uint256) {
        return _nodes[nodeId].connectionCapacityW;
    }

    /// @inheritdoc IGridManagement
    function nodeIdOf(address node) external view returns (uint256) {
        return _nodeIdOf[node];
    }

    /// @inheritdoc IGridManagement
    function nodeCount() external view returns (uint256) {
        return _nodeCount;
    }

    /// @inheritdoc IGridManagement
    function zoneOf(uint32 zoneId) external view returns (Zone memory) {
        if (!_exists(zoneId)) revert UnknownZone(zoneId);
        return _zones[zoneId];
    }

    /// @notice A zone's metrics; time in the current state counts up to now.
    function zoneMetrics(uint32 zoneId) external view returns (ZoneMetrics memory metrics) {
        if (!_exists(zoneId)) revert UnknownZone(zoneId);
        metrics = _metrics[zoneId];
        Zone storage zone = _zones[zoneId];
        metrics.secondsInState[uint8(zone.state)] += uint64(block.timestamp) - zone.stateSince;
    }

    /// @inheritdoc IGridManagement
    function serviceQuality(uint32 zoneId, uint64 dayStart) external view returns (ServiceQuality memory) {
        return _serviceQuality[(uint256(zoneId) << 64) | dayStart];
    }

    /// @inheritdoc IGridManagement
    function reservedWh(uint32 zoneId, uint64 intervalStart) external view returns (uint256) {
        return _reserved[_key(zoneId, intervalStart)];
    }

    // ---------------------------------------------------------------- internals
    function _exists(uint32 zoneId) private view returns (bool) {
        return zoneId != 0 && _zones[zoneId].depth != 0;
    }

    function _existingZone(uint32 zoneId) private view returns (Zone storage) {
        if (!_exists(zoneId)) revert UnknownZone(zoneId);
        return _zones[zoneId];
    }

    function _existingNode(uint256 nodeId) private view returns (NodeRecord storage node) {
        node = _nodes[nodeId];
        if (node.account == address(0)) revert UnknownNode(nodeId);
    }

    function _unknownOf(uint256 fromNode, uint256 toNode) private view returns (uint256) {
        return _nodes[fromNode].zoneId == 0 ? fromNode : toNode;
    }

    /// @dev Whether the zone or a zone above it is in `state`.
    function _inState(uint32 zoneId, ZoneState state) private view returns (bool) {
        return _firstInState(zoneId, state) != 0;
    }

    /// @dev The zone itself or the nearest zone above it that is in `state`; 0 if none is.
    function _firstInState(uint32 zoneId, ZoneState state) private view returns (uint32) {
        for (uint32 z = zoneId; z != 0; z = _zones[z].parentZoneId) {
            if (_zones[z].state == state) return z;
        }
        return 0;
    }

    /// @dev A zone's load is that of every node in it and in the zones below it.
    function _addLoad(uint32 zoneId, uint64 deltaW, bool up) private {
        for (uint32 z = zoneId; z != 0; z = _zones[z].parentZoneId) {
            Zone storage zone = _zones[z];
            zone.loadW = up ? zone.loadW + deltaW : zone.loadW - deltaW;
        }
    }

    function _changeState(uint32 zoneId, ZoneState to) private {
        Zone storage zone = _zones[zoneId];
        ZoneState from = zone.state;
        if (to == ZoneState.Emergency) ++_zonesInEmergency;
        else if (to == ZoneState.Peak) ++_zonesInPeak;
        if (from == ZoneState.Emergency) --_zonesInEmergency;
        else if (from == ZoneState.Peak) --_zonesInPeak;
        _metrics[zoneId].secondsInState[uint8(from)] += uint64(block.timestamp) - zone.stateSince;
        zone.state = to;
        zone.stateSince = uint64(block.timestamp);
        emit ZoneStateChanged(zoneId, from, to);
    }

    function _key(uint32 zoneId, uint64 intervalStart) private pure returns (uint256) {
        return (uint256(zoneId) << 64) | intervalStart;
    }
}
