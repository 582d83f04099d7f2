"""The MQTT topic layout, defined once (docs/iot.md).

A device is known to the broker by its certificate's common name (`use_identity_as_username`),
its *device name*: it publishes readings to its own readings topic and reads only its own
acknowledgement and error topics; the broker's ACL (iot/broker.py) says so with `%u` patterns.
Gateways read every device's readings through one MQTT 5 shared subscription, so a reading
goes to exactly one gateway of the group.
"""

from __future__ import annotations

import re

from gridledger.errors import InputError

ROOT = "gridledger/meters"
READINGS = "readings"
ACK = "ack"
ERROR = "error"
GATEWAY_GROUP = "gateways"
# Letters, digits, dot, dash and underscore: no MQTT wildcard or level separator can hide in
# a name, and the broker's %u substitution of it gives exactly the device's own topics.
DEVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Certificates of this prefix are the gateways'; no device may carry it.
GATEWAY_NAME_PREFIX = "gateway"


def checked_device_name(name: str) -> str:
    """`name` if it can name a device; InputError otherwise."""
    if not DEVICE_NAME.fullmatch(name):
        raise InputError(
            f"device name {name!r}: 1 to 64 letters, digits, '.', '-' or '_', starting with a letter or digit"
        )
    if name.lower().startswith(GATEWAY_NAME_PREFIX):
        raise InputError(
            f"device name {name!r}: names starting with '{GATEWAY_NAME_PREFIX}' are the gateways'"
        )
    return name


def readings_topic(device_name: str) -> str:
    return f"{ROOT}/{device_name}/{READINGS}"


def ack_topic(device_name: str) -> str:
    return f"{ROOT}/{device_name}/{ACK}"


def error_topic(device_name: str) -> str:
    return f"{ROOT}/{device_name}/{ERROR}"


def shared_readings_filter(group: str = GATEWAY_GROUP) -> str:
    """The gateways' shared subscription to every device's readings."""
    return f"$share/{group}/{ROOT}/+/{READINGS}"


def device_name_of(topic: str) -> str | None:
    """The device name of a readings topic, or None if `topic` is not one."""
    parts = topic.split("/")
    root = ROOT.split("/")
    if len(parts) != len(root) + 2 or parts[: len(root)] != root or parts[-1] != READINGS:
        return None
    name = parts[len(root)]
    return name if DEVICE_NAME.fullmatch(name) else None
