"""wf: register HTTP agents, store versioned DAG workflows, and execute runs of them reliably."""

__version__ = "0.1.0"
