"""Smart meter devices: keys, EIP-712 reading signatures, device data."""
