"""fengxiang (风向): self-hosted social listening for PR teams.

This package is the wiring: configuration, the watchlist query language, the CLI.
"""

__version__ = "0.1.0"
