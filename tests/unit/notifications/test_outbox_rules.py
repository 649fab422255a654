"""A notification is a message of its own: the outbox never supersedes one, whatever its target."""

from __future__ import annotations

import pytest

from connector.outbox import supersedable


@pytest.mark.parametrize("target", ["email", "slack:1", "teams:2", "billing"])
def test_notifications_are_never_superseded(target):
    assert supersedable(target, "notify.routed") is False
    assert supersedable(target, "notify.digest") is False


def test_other_changes_to_email_and_billing_still_are():
    assert supersedable("email", "escalated") is True
    assert supersedable("billing", "amended") is True
