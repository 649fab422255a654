"""What provisioning says when Salesforce refuses the package, or when the connection reads another object."""

from __future__ import annotations

import pytest

from adapters.salesforce.metadata_deploy import ComponentProblem, DeployOutcome
from adapters.tokens import InMemoryTokenStore
from connector.sources import ConnectionContext, SourceError
from connector.sources.salesforce.provisioning import provision, push_url, refusal


def context(**settings: str) -> ConnectionContext:
    return ConnectionContext(id=1, name="sf-prod", kind="salesforce", token_store=InMemoryTokenStore(None),
                             base_url="https://lec.example.com",
                             settings={"client_id": "c", "client_secret": "s", **settings})


def test_the_push_goes_to_the_connections_webhook():
    assert push_url(context()) == "https://lec.example.com/webhooks/salesforce/sf-prod"


def test_a_refusal_names_each_component_and_stops_at_ten():
    failures = tuple(ComponentProblem("CustomField", f"Obj.F{i}__c", "objects/Obj.object", "Bad", i + 1)
                     for i in range(12))
    text = refusal(DeployOutcome("0Af1", "Failed", True, False, 0, 40, failures))
    assert text.startswith("Salesforce refused the package (deployment 0Af1, Failed): CustomField Obj.F0__c "
                           "(objects/Obj.object, line 1): Bad; ")
    assert text.count("CustomField") == 10 and text.endswith("(and 2 more).")


def test_a_connection_on_another_object_is_told_to_set_it_up_itself():
    with pytest.raises(SourceError, match="creates License_Exception_Request__c, but this connection reads "
                                          "Opportunity"):
        provision(context(object="Opportunity"))
