"""The kinds of an activity's ``type`` (Salesforce's Task and Event Type picklist): call, email, meeting, other.

One table for every place that reads it: the pandas analyses (:mod:`funnel_analysis.sources.activities`)
and their SQL form in an engine (:mod:`funnel_analysis.engine.activities`).

Examples
--------
>>> TYPE_MAP["listemail"], KINDS[-1]
('email', 'other')
"""

from __future__ import annotations

__all__ = ["KINDS", "TYPE_MAP"]

#: Normalised ``type`` values (lower case, no spaces, hyphens or underscores) and their kind.
TYPE_MAP = {
    "call": "call",
    "email": "email",
    "listemail": "email",
    "sendemail": "email",
    "meeting": "meeting",
    "event": "meeting",
}
#: The kinds, in report order; anything not in :data:`TYPE_MAP` (missing included) is the last.
KINDS = ("call", "email", "meeting", "other")
