"""JSON Schema keywords for the rules the domain enforces, so that the document states them exactly.

They are published, not enforced, here: the domain checks them and answers a 422 naming the field.
Where the domain names its limit (name, step id, timeout) the keyword is that constant; the others
mirror literals of `wfcore.domain.agents` (URL, description, retry bounds), and the API tests hold
both to the same behaviour.
"""

from __future__ import annotations

from typing import Any, Final

from wfcore.domain.agents import TIMEOUT_RANGE_MS
from wfcore.domain.values import NAME_MAX_LENGTH, NAME_PATTERN
from wfcore.domain.workflows import STEP_ID_MAX_LENGTH, STEP_ID_PATTERN

Rules = dict[str, Any]

NAME_RULES: Final[Rules] = {"minLength": 1, "maxLength": NAME_MAX_LENGTH, "pattern": NAME_PATTERN.pattern}
STEP_ID_RULES: Final[Rules] = {"minLength": 1, "maxLength": STEP_ID_MAX_LENGTH, "pattern": STEP_ID_PATTERN.pattern}
URL_RULES: Final[Rules] = {"minLength": 1, "maxLength": 2048}
DESCRIPTION_RULES: Final[Rules] = {"maxLength": 2000}
TIMEOUT_RULES: Final[Rules] = {"minimum": TIMEOUT_RANGE_MS[0], "maximum": TIMEOUT_RANGE_MS[1]}
ATTEMPTS_RULES: Final[Rules] = {"minimum": 1, "maximum": 10}
BACKOFF_RULES: Final[Rules] = {"minimum": 0, "maximum": 3_600_000}
MULTIPLIER_RULES: Final[Rules] = {"minimum": 1.0, "maximum": 10.0}
STATUSES_RULES: Final[Rules] = {"items": {"type": "integer", "minimum": 100, "maximum": 599}}
VERSION_RULES: Final[Rules] = {"minimum": 1, "maximum": 2**31 - 1}
"""Version numbers are 32-bit in the database: a larger one names no version."""
