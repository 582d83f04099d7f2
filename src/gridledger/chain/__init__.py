"""Chain access: artifacts, backends, deployment, typed handles."""
