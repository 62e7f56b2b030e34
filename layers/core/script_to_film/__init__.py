"""Script-to-Film core: screenplay breakdown, shot direction, cost, providers and storage."""

__version__ = "0.1.0"
