"""The reference the market's AC-accurate clearing is measured against: pandapower's AC optimal
power flow (`pp.runopp`, its interior-point solver) on the same interval, with the same margins.

Each seller is a controllable static generator at its bus (unity power factor, 0..offered MW);
the objective is the most export (cost -1 per MW); every line and transformer may load to
100 % less the margin and every bus rise to the voltage band less the margin, as the clearing's
LP allows. The base case's loads are fixed, and so is the slack's voltage (the upstream grid's).
Used by tests and the bench, not by the market.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridledger.errors import GridModelError
from gridledger.grid.network import MAX_LOADING_PERCENT, VOLTAGE_BAND_PU, GridNetwork
from gridledger.market.feasible import LIMIT_MARGIN, MW_PER_WH_IN_INTERVAL

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]


def acopf_exports_wh(
    network: GridNetwork,
    p_base_mw: FloatArray,
    q_mvar: FloatArray,
    seller_bus: Int64Array,
    offered_wh: Int64Array,
    margin: float = LIMIT_MARGIN,
) -> FloatArray:
    """What the AC OPF lets each seller export (Wh, not rounded); GridModelError if it does not
    converge."""
    import pandapower as pp

    # The network's own tables carry the last power flow's injections: set this interval's.
    network.power_flow(p_base_mw, q_mvar)
    net = copy.deepcopy(network.net)
    low = min(1 - VOLTAGE_BAND_PU, float(np.nanmin(net.res_bus["vm_pu"])) - 0.01)
    net.bus["max_vm_pu"] = 1 + VOLTAGE_BAND_PU - margin * VOLTAGE_BAND_PU
    net.bus["min_vm_pu"] = low  # exports only raise voltages: the lower band is not theirs
    # The upstream grid holds the slack's voltage, as in the market's power flows: the OPF may
    # not raise it to make room (it would, given the chance).
    for bus, vm_pu in zip(net.ext_grid["bus"], net.ext_grid["vm_pu"], strict=True):
        net.bus.loc[bus, ["min_vm_pu", "max_vm_pu"]] = [float(vm_pu) - 1e-6, float(vm_pu) + 1e-6]
    net.line["max_loading_percent"] = MAX_LOADING_PERCENT * (1 - margin)
    net.trafo["max_loading_percent"] = MAX_LOADING_PERCENT * (1 - margin)
    net.load["controllable"] = False
    net.ext_grid["max_p_mw"], net.ext_grid["min_p_mw"] = 1e6, -1e6
    net.ext_grid["max_q_mvar"], net.ext_grid["min_q_mvar"] = 1e6, -1e6
    for position, offered in zip(seller_bus, offered_wh, strict=True):
        most_mw = float(offered) * MW_PER_WH_IN_INTERVAL
        sgen = pp.create_sgen(
            net,
            int(network.bus_ids[position]),
            p_mw=0.0,
            q_mvar=0.0,
            controllable=True,
            max_p_mw=most_mw,
            min_p_mw=0.0,
            max_q_mvar=0.0,
            min_q_mvar=0.0,
            name="gridledger seller",
        )
        pp.create_poly_cost(net, sgen, "sgen", cp1_eur_per_mw=-1.0)
    for table in ("sgen", "load", "gen", "storage", "ext_grid"):  # boolean columns without gaps
        elements = net.get(table, None)
        if elements is not None and len(elements):
            given = elements.get("controllable", pd.Series(pd.NA, index=elements.index))
            missing = given.isna()
            elements["controllable"] = [
                table == "ext_grid" if gap else bool(value) for value, gap in zip(given, missing, strict=True)
            ]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runopp(net, calculate_voltage_angles=False, numba=False, init="pf")
    except Exception as failed:  # pandapower's OPFNotConverged and friends
        raise GridModelError(f"the AC OPF did not converge: {failed}") from failed
    sellers = net.sgen.index[net.sgen["name"] == "gridledger seller"]
    exports: FloatArray = net.res_sgen.loc[sellers, "p_mw"].to_numpy(np.float64) / MW_PER_WH_IN_INTERVAL
    return np.clip(exports, 0.0, offered_wh.astype(np.float64))
