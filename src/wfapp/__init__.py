"""wf: register HTTP agents, store versioned DAG workflows, and execute runs of them reliably.

The library surface: `WorkflowService` runs the service in your program; `wfapp.testing` holds the
harness for testing your own workflows without HTTP or a database.
"""

from wfapp.service import WorkflowService
from wfapp.settings import Settings, SettingsError, load_settings
from wfapp.version import __version__

__all__ = ["Settings", "SettingsError", "WorkflowService", "__version__", "load_settings"]
