"""Wire types of the cases slice (msgspec Structs; the command and view types come from ``schemas``)."""

from __future__ import annotations

from typing import Union

from schemas.commands import COMMAND_TYPES

CASE_COMMAND_TYPES = tuple(c for c in COMMAND_TYPES if c.event.aggregate == "case" and c.event.key_field is None)
CaseCommand = Union[CASE_COMMAND_TYPES]  # type: ignore[valid-type]  # noqa: UP007
"""The commands addressed to an existing case (tag ``type``); ``case`` must equal the path's number."""
