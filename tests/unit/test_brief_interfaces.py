"""The brief's interface functions keep their names and argument types in the artifacts."""

from __future__ import annotations

import pytest

from gridledger.chain.abi import load_artifact

BRIEF = {
    "SmartMeterRegistry": {
        "registerDevice": ["address", "bytes"],
        "submitReading": ["uint256", "uint256"],
        "validateReading": ["uint256", "uint256"],
        "getDeviceHistory": ["uint256"],
    },
    "EnergyToken": {
        "mintEnergy": ["address", "uint256", "bytes"],
        "burnEnergy": ["uint256"],
        "transferEnergy": ["address", "uint256"],
        "getEnergySource": ["uint256"],
    },
    "CarbonCredit": {
        "issueCreditsCertificate": ["address", "uint256", "bytes"],
        "retireCredits": ["uint256"],
        "transferCredits": ["address", "uint256"],
        "getEmissionReductions": ["uint256"],
    },
}


@pytest.mark.parametrize(("contract", "function"), [(c, f) for c, fs in BRIEF.items() for f in fs])
def test_artifact_keepsBriefSignature(contract: str, function: str) -> None:
    inputs = [p["type"] for p in load_artifact(contract).function(function)["inputs"]]
    assert inputs == BRIEF[contract][function]
