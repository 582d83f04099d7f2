"""Meters over MQTT with mutual TLS: provisioning, payloads, the durable gateway, reconciliation."""
