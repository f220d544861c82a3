"""SealBridge: cross-border recognition of electronic signatures and electronic stamps."""

__version__ = "0.1.0"
