"""gridledger: peer-to-peer renewable energy trading on an EVM chain."""

__version__ = "0.1.0"
