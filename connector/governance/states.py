"""A request's states (SPEC §2.4), defined once.

``RequestState`` is a ``StrEnum``: its members compare equal to (and hash like) the plain strings stored in the
database and sent in JSON, so they replace the strings without changing a stored value or a response.
"""

from __future__ import annotations

from enum import StrEnum


class RequestState(StrEnum):
    NEEDS_INFO = "needs_info"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    REVOKED = "revoked"


#: every state, in the order of the lifecycle (the API's and the UI's list of choices)
STATES: tuple[RequestState, ...] = tuple(RequestState)
#: undecided: intake and review still run, the requester may change the record or withdraw
OPEN_STATES: tuple[RequestState, ...] = (RequestState.NEEDS_INFO, RequestState.IN_REVIEW)
#: no longer open (decided, withdrawn or ended): a changed record is held as a pending change
CLOSED_STATES: tuple[RequestState, ...] = tuple(s for s in RequestState if s not in OPEN_STATES)
#: a decision (or its ending) that can be disputed, reopening review
DISPUTABLE_STATES: tuple[RequestState, ...] = (RequestState.APPROVED, RequestState.DENIED, RequestState.REVOKED,
                                               RequestState.EXPIRED)
