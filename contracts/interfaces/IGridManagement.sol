// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

/// @title IGridManagement
/// @notice The distribution grid as the platform sees it: nodes (connection points) grouped in
///         zones (feeders, transformer areas) that form a tree up to the substation; measured
///         load; capacity reservations for energy transfers per 15-minute interval; zone states
///         (normal, peak, emergency) and per-zone performance metrics.
/// @dev The brief's four functions keep their names and argument types; zones, the batch of
///      transfer requests, state changes, metrics, events and errors are added.
interface IGridManagement {
    // ---------------------------------------------------------------- types
    enum NodeType {
        Producer,
        Consumer,
        Prosumer,
        Storage,
        Transformer
    }

    enum ZoneState {
        Normal,
        Peak,
        Emergency
    }

    /// @notice A zone: a feeder or transformer area. `parentZoneId` 0 means the zone hangs
    ///         directly off the upstream grid. Capacities are energy per 15-minute interval.
    struct Zone {
        uint32 parentZoneId;
        uint8 depth;
        ZoneState state;
        uint64 capacityWh;
        uint64 loadW;
        uint64 stateSince;
    }

    /// @notice Performance metrics of a zone since it was created.
    struct ZoneMetrics {
        uint128 transferredWh;
        uint64 congestionRejections;
        uint128 lossesWh;
        /// Seconds spent in Normal, Peak and Emergency, up to the last state change.
        uint64[3] secondsInState;
    }

    /// @notice Quality of service of a zone over one UTC day, from the grid engine's power flows
    ///         and the day's outages: voltage quality as bus-minutes outside ±5 % and ±10 % of
    ///         nominal (EN 50160's bands; an unsupplied bus counts as interrupted, not here), and
    ///         supply interruptions (each a run of intervals with customers of the zone cut off).
    struct ServiceQuality {
        uint32 busMinutesOutside5Percent;
        uint32 busMinutesOutside10Percent;
        uint32 interruptions;
        uint32 interruptionMinutes;
        uint64 customerMinutesInterrupted;
    }

    /// @notice What getGridStatus reports for a node, its zone and the current interval.
    struct GridStatus {
        address node;
        NodeType nodeType;
        uint32 zoneId;
        uint64 meterDeviceId;
        uint64 loadW;
        ZoneState zoneState;
        uint64 zoneCapacityWh;
        uint64 zoneLoadW;
        uint256 zoneReservedWh;
        ZoneMetrics metrics;
    }

    /// @notice One transfer of the batch `requestEnergyTransfers`.
    struct TransferRequest {
        uint64 fromNode;
        uint64 toNode;
        uint64 energyWh;
    }

    /// @notice Why a transfer of a batch was not reserved.
    enum TransferRejectReason {
        None,
        UnknownNode,
        SameNode,
        ZoneInEmergency,
        PeakNodeCapExceeded,
        ZoneCapacityExceeded
    }

    // ---------------------------------------------------------------- errors
    error InvalidNodeAddress();
    error NodeAlreadyRegistered(address node, uint256 nodeId);
    error UnknownNode(uint256 nodeId);
    error UnknownZone(uint32 zoneId);
    error ZoneAlreadyExists(uint32 zoneId);
    /// @notice Zone ids start at 1; a parent must exist before its children (so the tree has no
    ///         cycles) and the tree is at most MAX_ZONE_DEPTH deep (so walking it is bounded).
    error InvalidZone(uint32 zoneId, uint32 parentZoneId);
    /// @notice The node is registered but not yet assigned to a zone.
    error NodeNotAssigned(uint256 nodeId);
    error LoadOutOfRange(uint256 load);
    /// @notice Reservations are per 15-minute interval: its start must be aligned.
    error MisalignedInterval(uint64 intervalStart);
    /// @notice A day of service quality must start at a UTC midnight.
    error MisalignedDay(uint64 dayStart);
    /// @notice A day has 1,440 minutes: an interruption or the minutes of a report cannot pass
    ///         them, nor the interruptions outnumber the intervals.
    error ImpossibleServiceQuality(uint32 zoneId, uint64 dayStart);
    error ZeroTransfer();
    error SameNode(uint256 nodeId);
    /// @notice A zone on the transfer's path is in emergency: no transfers, no settlement.
    error ZoneInEmergency(uint32 zoneId);
    /// @notice The transfer would take a zone beyond its capacity for the interval.
    error ZoneCapacityExceeded(uint32 zoneId, uint256 reservedWh, uint256 requestedWh, uint256 capacityWh);
    /// @notice From a node in a peak zone (or below one) a single transfer may not exceed the peak cap.
    error PeakNodeCapExceeded(uint32 zoneId, uint256 requestedWh, uint256 capWh);
    /// @notice Entering or leaving a state through the wrong function (emergency has its own).
    error InvalidStateChange(uint32 zoneId, ZoneState from, ZoneState to);

    // ---------------------------------------------------------------- events
    event NodeRegistered(uint256 indexed nodeId, address indexed node, NodeType nodeType);
    event NodeAssigned(uint256 indexed nodeId, uint32 indexed zoneId, uint64 meterDeviceId);
    event ZoneCreated(uint32 indexed zoneId, uint32 indexed parentZoneId, uint64 capacityWh);
    event ZoneCapacitySet(uint32 indexed zoneId, uint64 capacityWh);
    event LoadUpdated(uint256 indexed nodeId, uint32 indexed zoneId, uint64 loadW, uint64 zoneLoadW);
    event EnergyTransferReserved(
        uint256 indexed fromNode,
        uint256 indexed toNode,
        uint64 indexed intervalStart,
        uint256 energyWh,
        uint256 feeUnits
    );
    event EnergyTransferRejected(
        uint256 indexed fromNode,
        uint256 indexed toNode,
        uint64 indexed intervalStart,
        uint256 energyWh,
        TransferRejectReason reason
    );
    event ZoneStateChanged(uint32 indexed zoneId, ZoneState from, ZoneState to);
    event LossesReported(uint32 indexed zoneId, uint64 indexed intervalStart, uint256 lossesWh);
    /// @notice The grid operator posted a zone's quality of service for the day from `dayStart`
    ///         (a later report of the same day corrects it).
    event ServiceQualityReported(
        uint32 indexed zoneId,
        uint64 indexed dayStart,
        uint32 busMinutesOutside5Percent,
        uint32 busMinutesOutside10Percent,
        uint32 interruptions,
        uint32 interruptionMinutes,
        uint64 customerMinutesInterrupted
    );
    /// @notice The grid operator recorded the connection capacity of a node (0: none).
    event ConnectionCapacitySet(uint256 indexed nodeId, uint32 capacityW);
    event PeakParametersSet(uint64 peakNodeCapWh, uint64 normalFeePerKWh, uint64 peakFeePerKWh);

    // ---------------------------------------------------------------- brief interface
    /// @notice Register a connection point (GRID_OPERATOR). Ids start at 1, in registration order.
    function registerNode(address node, NodeType nodeType) external;

    /// @notice Record the measured load of a node in watts (GRID_OPERATOR); the zone's load follows.
    function updateLoadBalance(uint256 nodeId, uint256 load) external;

    /// @notice Reserve capacity for `amount` Wh from `fromNode` to `toNode` in the current interval
    ///         on every zone of the path (MARKET_OPERATOR); reverts with the reason if it cannot.
    function requestEnergyTransfer(uint256 fromNode, uint256 toNode, uint256 amount) external;

    /// @notice A node's state with its zone's state, capacity, reservation and metrics.
    function getGridStatus(uint256 nodeId) external view returns (GridStatus memory);

    // ---------------------------------------------------------------- additions
    /// @notice Create zone `zoneId` below `parentZoneId` (0: upstream) with a per-interval capacity (GRID_OPERATOR).
    function createZone(uint32 zoneId, uint32 parentZoneId, uint64 capacityWh) external;

    /// @notice Change a zone's per-interval capacity (GRID_OPERATOR).
    function setZoneCapacity(uint32 zoneId, uint64 capacityWh) external;

    /// @notice Put a node in a zone and link it to its smart meter device (0: none) (GRID_OPERATOR).
    function assignNode(uint256 nodeId, uint32 zoneId, uint64 meterDeviceId) external;

    /// @notice Reserve a batch of transfers for interval `intervalStart` (MARKET_OPERATOR): each one is
    ///         reserved or skipped with an EnergyTransferRejected event; rejections are counted.
    function requestEnergyTransfers(uint64 intervalStart, TransferRequest[] calldata transfers)
        external
        returns (uint256 reserved);

    /// @notice Move a zone between Normal and Peak (GRID_OPERATOR).
    function setPeak(uint32 zoneId, bool peak) external;

    /// @notice Put a zone in emergency (EMERGENCY): its transfers and settlements stop.
    function declareEmergency(uint32 zoneId) external;

    /// @notice Return a zone from emergency to normal (ADMIN: the multisig).
    function endEmergency(uint32 zoneId) external;

    /// @notice Record the losses a zone had in an interval, from the grid engine's power flow (GRID_OPERATOR).
    function reportLosses(uint32 zoneId, uint64 intervalStart, uint256 lossesWh) external;

    /// @notice Record a zone's quality of service over the UTC day from `dayStart`, from the grid
    ///         engine's power flows and the day's outages (GRID_OPERATOR); a report of a day
    ///         already reported replaces it.
    function reportServiceQuality(uint32 zoneId, uint64 dayStart, ServiceQuality calldata quality) external;

    /// @notice The last quality of service reported for a zone and day (zeros if none).
    function serviceQuality(uint32 zoneId, uint64 dayStart) external view returns (ServiceQuality memory);

    /// @notice Governance parameters of peak periods (ADMIN): per-transfer cap, normal and peak grid fee.
    function setPeakParameters(uint64 peakNodeCapWh, uint64 normalFeePerKWh, uint64 peakFeePerKWh) external;

    /// @notice Record the connection capacity (W) of a node, which bounds the rated power of the
    ///         smart meter devices at it (GRID_OPERATOR); 0 withdraws it.
    function setConnectionCapacity(uint256 nodeId, uint32 capacityW) external;

    /// @notice A node's connection capacity in W; 0 for none recorded or an unknown node.
    function connectionCapacityW(uint256 nodeId) external view returns (uint256);

    function nodeIdOf(address node) external view returns (uint256);
    function nodeCount() external view returns (uint256);
    function zoneOf(uint32 zoneId) external view returns (Zone memory);
    function reservedWh(uint32 zoneId, uint64 intervalStart) external view returns (uint256);
}
