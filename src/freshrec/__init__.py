"""freshrec: fresh recommendations from a text-aware transformer."""

__version__ = "0.1.0"
