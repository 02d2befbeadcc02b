"""Record texts as a practitioner reads them, shared by the pages and the PDF report."""

from __future__ import annotations

import re

#: The journal's alarm id, which the live forwarder keeps at the end of an alarm's message to
#: match acknowledgements: part of the record, not of what the practitioner reads.
_ALARM_ID = re.compile(r"\s*\[[^\]]*\]$")


def alarm_message(message: str) -> str:
    """An alarm's message without the journal's alarm id."""
    return _ALARM_ID.sub("", message)
