"""Live operation: role keys, deployment manifests, multisig proposals, the operator service."""
