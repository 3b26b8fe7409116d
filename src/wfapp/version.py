"""The version of wf."""

__version__ = "0.1.0"
