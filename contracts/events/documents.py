"""Events of the documents service (`lgsp.documents.*`)."""

from __future__ import annotations

from contracts.events.envelope import Envelope

EVENTS: tuple[type[Envelope], ...] = ()
