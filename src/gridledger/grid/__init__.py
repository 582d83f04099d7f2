"""The distribution grid: on-chain nodes and zones, the network model and its power flow."""
