"""An Outbound Message whose XML declaration names an encoding Python cannot read is malformed, not a crash."""

from __future__ import annotations

import pytest

from adapters.salesforce.errors import OutboundMessageError
from adapters.salesforce.outbound_message import parse_outbound_message


@pytest.mark.parametrize("encoding", ["bogus", "rot13", "base64", "utf-7", "utf-32", "idna", "undefined", "x" * 300])
def test_an_unreadable_declared_encoding_is_an_outbound_message_error(encoding):
    body = f'<?xml version="1.0" encoding="{encoding}"?><a/>'.encode()
    with pytest.raises(OutboundMessageError) as raised:
        parse_outbound_message(body)
    assert "malformed XML" in raised.value.message and "encoding" in raised.value.message
