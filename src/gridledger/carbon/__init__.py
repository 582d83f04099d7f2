"""Carbon credits: the verifier's issuance from minted renewable energy, holders' retirements
and pool deposits, and reports built from the chain's events (docs/carbon.md)."""
