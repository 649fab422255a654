"""Installing the connector's package into the org: the object, its fields, layout, record page and status
component, permission sets, quick actions, and the push (an outbound message to this connection's webhook and the
flow that sends it), deployed through the Metadata API. Deploying is idempotent: components are updated in place,
so provisioning again after an upgrade or a failed attempt is the fix, not a problem."""

from __future__ import annotations

from adapters.salesforce import SalesforceError
from adapters.salesforce import oauth as sf_oauth
from adapters.salesforce.client import SalesforceClient
from adapters.salesforce.metadata_deploy import DeployOutcome, deploy
from adapters.salesforce.package_build import Target, fill, metadata_zip, source_files
from connector.sources import ConnectionContext, Provisioned, SourceError
from connector.sources.salesforce.settings import DEFAULT_OBJECT, adapter_settings, as_source_error, make_client

#: how long to wait for Salesforce to finish the deployment before reporting it as still running
DEPLOY_TIMEOUT_SECONDS = 600.0


def push_url(ctx: ConnectionContext) -> str:
    """Where the outbound message posts: this connection's push endpoint."""
    return f"{ctx.base_url}/webhooks/salesforce/{ctx.name}"


def integration_user(ctx: ConnectionContext, client: SalesforceClient) -> str:
    """The user outbound messages run as: the JWT user, else the user the connection was authorized as."""
    configured = str(ctx.settings.get("username") or "").strip()
    if configured:
        return configured
    token = client.token_store.load() or {}
    try:
        user_id = sf_oauth.user_id_from_identity_url(str(token.get("id") or ""))
    except ValueError as exc:
        raise SourceError("error", "The connection's token names no user (no identity URL); authorize it again "
                                   "before provisioning.") from exc
    user = client.get_record("User", user_id, ["Username"])
    username = str(user.get("Username") or "").strip()
    if not username:
        raise SourceError("error", f"Salesforce did not return the username of user {user_id}.")
    return username


def provision(ctx: ConnectionContext, poll_seconds: float = 2.0) -> Provisioned:
    """Deploy the package filled in for this connection and report what was deployed, or each component
    Salesforce refused and why."""
    settings = adapter_settings(ctx)
    if settings.object != DEFAULT_OBJECT:
        raise SourceError("error", f"The connector's package creates {DEFAULT_OBJECT}, but this connection reads "
                                   f"{settings.object}: set the object up yourself (README, Installing into "
                                   "Salesforce), or point the connection at the package's object.")
    client = make_client(ctx, settings)
    try:
        target = Target(push_url(ctx), integration_user(ctx, client))
        outcome = deploy(client, metadata_zip(fill(source_files(), target)), poll_seconds=poll_seconds,
                         timeout=DEPLOY_TIMEOUT_SECONDS)
    except SalesforceError as exc:
        raise as_source_error(exc) from exc
    if not outcome.success:
        raise SourceError("error", refusal(outcome), problems=outcome.problems())
    return Provisioned(
        settings={"push_url": target.push_url, "integration_user": target.integration_user},
        summary={"deployment": {"id": outcome.deploy_id, "status": outcome.status,
                                "components": outcome.components_deployed},
                 "push_url": target.push_url, "integration_user": target.integration_user},
    )


def refusal(outcome: DeployOutcome) -> str:
    """Why Salesforce refused the deployment, component by component (the first ten)."""
    problems = outcome.problems() or [f"the deployment ended {outcome.status} without saying why"]
    more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
    return (f"Salesforce refused the package (deployment {outcome.deploy_id}, {outcome.status}): "
            + "; ".join(problems[:10]) + more + ".")
