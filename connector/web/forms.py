"""The UI's forms (Flask-WTF: every form carries a CSRF token; every field has a label).

Forms only read what a person typed into the shapes the operations take (the same bodies the API accepts);
the rules themselves — who may vote, what a decision must carry — stay in the operations they call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from connector.governance.review import OUTCOMES, RENEWAL_MODES, VOTE_CHOICES
from connector.sources import kinds


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def lines(text: str | None) -> list[str]:
    """One entry per non-empty line (conditions, success metrics)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def items(text: str | None) -> list[str]:
    """Comma- or line-separated entries (environments, regions, features, usage rights)."""
    return [part.strip() for chunk in (text or "").splitlines() for part in chunk.split(",") if part.strip()]



def _date(value: Any) -> date | None:
    """An ISO date (or date-time) as a date; None for anything else."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def finite(_form: Any, field: Any) -> None:
    """A number a price can be: Python's decimals also read ``NaN``, ``Infinity`` and the signalling ``sNaN``
    (which no comparison accepts), none of which a term can hold."""
    if field.data is not None and not field.data.is_finite():
        raise StopValidation("Give a finite number.")

class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Sign in")


class ButtonForm(FlaskForm):
    """A form that is only a button (sign out, retry, connect, sync): it still carries the CSRF token."""


class VoteForm(FlaskForm):
    role = SelectField("Committee role", validators=[DataRequired()], id="vote-role")
    vote = RadioField("Vote", choices=[SelectChoice(v, _label(v)) for v in VOTE_CHOICES],
                      validators=[InputRequired()], id="vote-choice")
    rationale = TextAreaField("Rationale", validators=[Length(max=20000)], id="vote-rationale",
                              description="Required to reject or to request information.")
    submit = SubmitField("Record vote")

    def set_roles(self, roles: Iterable[str], preferred: str | None) -> None:
        self.role.choices = [SelectChoice(r, _label(r)) for r in roles]
        if not self.role.data and preferred:
            self.role.data = preferred


OUTCOME_LABELS = {"approved": "Approve", "approved_with_conditions": "Approve with conditions",
                  "denied": "Deny"}

#: where an operation's field error (dotted path) is shown in the decision form
DECISION_ERROR_FIELDS = {
    "outcome": "outcome", "rationale": "rationale", "entitlement": "grants_seats",
    "entitlement.grants": "grants_seats", "entitlement.effective_from": "effective_from",
    "entitlement.expires_at": "expires_at", "entitlement.conditions": "conditions",
    "entitlement.renewal": "renewal_mode", "entitlement.renewal.mode": "renewal_mode",
    "entitlement.renewal.notice_days": "notice_days", "entitlement.success_metrics": "success_metrics",
    **{f"entitlement.grants.{k}": f"grants_{k}" for k in ("seats", "term_end", "environments", "regions",
                                                          "features", "usage_rights", "price", "other")},
}


class DecisionForm(FlaskForm):
    """The chair's decision with its entitlement boundaries (grants as a terms object)."""

    outcome = SelectField("Outcome", choices=[SelectChoice(o, OUTCOME_LABELS[o]) for o in OUTCOMES],
                          validators=[DataRequired()])
    rationale = TextAreaField("Rationale", validators=[DataRequired(), Length(max=20000)], id="decision-rationale")
    grants_seats = IntegerField("Seats", validators=[Optional(), NumberRange(min=0)])
    grants_term_end = DateField("Term end", validators=[Optional()])
    grants_environments = StringField("Environments", description="Comma-separated.")
    grants_regions = StringField("Regions", description="Comma-separated.")
    grants_features = StringField("Features", description="Comma-separated.")
    grants_usage_rights = StringField("Usage rights", description="Comma-separated.")
    grants_price = DecimalField("Price", validators=[Optional(), finite, NumberRange(min=0)], places=None)
    grants_other = TextAreaField("Other terms", validators=[Length(max=10000)])
    effective_from = DateField("Effective from", validators=[Optional()], description="Empty: today.")
    expires_at = DateField("Expires at", validators=[Optional()],
                           description="Required for an approval: no exception is permanent.")
    conditions = TextAreaField("Conditions", description="One per line.")
    renewal_mode = SelectField("Mode", choices=[SelectChoice(m, _label(m)) for m in RENEWAL_MODES],
                               default="manual")
    notice_days = IntegerField("Notice days", validators=[Optional(), NumberRange(min=0, max=365)],
                               description="Empty: the policy's default notice.")
    success_metrics = TextAreaField("Success metrics", description="One per line.")
    preview = SubmitField("Preview customer summary")
    submit = SubmitField("Record decision")

    def start_from(self, start: Mapping[str, Any]) -> None:
        """Fill the form from a decision's starting point (``decision_outcomes.prefill_for``): the outcome it
        suggests and the predefined entitlement, so a chair who changes nothing records the standard outcome."""
        ent = start["entitlement"]
        grants = ent.get("grants") or {}
        self.outcome.data = start["outcome"]
        self.grants_seats.data = grants.get("seats")
        self.grants_term_end.data = _date(grants.get("term_end"))
        for key in ("environments", "regions", "features", "usage_rights"):
            getattr(self, f"grants_{key}").data = ", ".join(grants.get(key) or [])
        self.grants_price.data = Decimal(str(grants["price"])) if grants.get("price") is not None else None
        self.grants_other.data = grants.get("other") or ""
        self.effective_from.data = _date(ent.get("effective_from"))
        self.expires_at.data = _date(ent.get("expires_at"))
        self.conditions.data = "\n".join(ent.get("conditions") or [])
        self.renewal_mode.data = (ent.get("renewal") or {}).get("mode") or "manual"
        self.success_metrics.data = "\n".join(ent.get("success_metrics") or [])

    def grants(self) -> dict[str, Any]:
        terms: dict[str, Any] = {}
        if self.grants_seats.data is not None:
            terms["seats"] = self.grants_seats.data
        if self.grants_term_end.data is not None:
            terms["term_end"] = self.grants_term_end.data.isoformat()
        for key in ("environments", "regions", "features", "usage_rights"):
            values = items(getattr(self, f"grants_{key}").data)
            if values:
                terms[key] = values
        if self.grants_price.data is not None:
            terms["price"] = str(self.grants_price.data)
        if (self.grants_other.data or "").strip():
            terms["other"] = self.grants_other.data.strip()
        return terms

    def entitlement(self) -> dict[str, Any] | None:
        """The decision body's ``entitlement`` (None for a denial): the API's shape, ISO dates as text."""
        if self.outcome.data == "denied":
            return None
        body: dict[str, Any] = {
            "grants": self.grants(), "conditions": lines(self.conditions.data),
            "renewal": {"mode": self.renewal_mode.data, "notice_days": self.notice_days.data},
            "success_metrics": lines(self.success_metrics.data),
        }
        if self.effective_from.data is not None:
            body["effective_from"] = self.effective_from.data.isoformat()
        if self.expires_at.data is not None:
            body["expires_at"] = self.expires_at.data.isoformat()
        return body

    def show_errors(self, fields: Mapping[str, Iterable[str]]) -> list[str]:
        """Put an operation's field errors next to their fields; returns those that have no field."""
        unplaced: list[str] = []
        for path, messages in fields.items():
            name = DECISION_ERROR_FIELDS.get(path)
            if name is None:
                unplaced.extend(f"{path}: {m}" for m in messages)
                continue
            field = getattr(self, name)
            field.errors = [*list(field.errors or []), *messages]
        return unplaced


class MappingForm(FlaskForm):
    document = TextAreaField("Mapping (YAML)", validators=[DataRequired(), Length(max=200000)],
                             render_kw={"spellcheck": "false", "rows": 24})
    record = TextAreaField("Sample record (JSON)", validators=[Length(max=200000)],
                           render_kw={"spellcheck": "false", "rows": 10},
                           description="A source record as the source's API returns it.")
    external_id = StringField("Or a live record id", validators=[Length(max=255)],
                              description="Fetched from the source (the connection must be connected).")
    check = SubmitField("Check")
    save = SubmitField("Save mapping")
    preview = SubmitField("Preview")


class PolicyForm(FlaskForm):
    document = TextAreaField("Policy (YAML)", validators=[DataRequired(), Length(max=500000)],
                             render_kw={"spellcheck": "false", "rows": 30})
    check = SubmitField("Check")
    simulate = SubmitField("Simulate")
    save = SubmitField("Save policy")


class ConnectionForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=63)],
                       description="Lowercase letters, digits, - and _ (used in webhook URLs).")
    kind = SelectField("Kind", choices=lambda: [SelectChoice(k.name, k.label) for k in kinds().values()])
    settings = TextAreaField("Settings (YAML)", validators=[Length(max=50000)],
                             render_kw={"spellcheck": "false", "rows": 8},
                             description="e.g. client_id, client_secret, login_url (Salesforce) or "
                                         "subdomain (Zendesk). Secrets are stored encrypted and never shown.")
    submit = SubmitField("Add connection")


class SampleForm(FlaskForm):
    size = IntegerField("Sample size", validators=[InputRequired(), NumberRange(min=1, max=1000)], default=5)
    seed = StringField("Seed", validators=[Optional(), Length(min=1, max=64)],
                       description="Optional: the same seed over the same population draws the same sample.")
    submit = SubmitField("Draw sample")


class CheckboxesField(SelectMultipleField):
    """A set of choices shown as checkboxes (a list of labelled boxes, not a multi-select box)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NotificationForm(FlaskForm):
    """A person's notification preferences (``connector.notifications``); webhook URLs are write-only."""

    channels = CheckboxesField("Channels", choices=[SelectChoice("email", "E-mail"), SelectChoice("slack", "Slack"),
                                                   SelectChoice("teams", "Microsoft Teams")])
    events = CheckboxesField("Tell me about")
    mode = RadioField("When", choices=[SelectChoice("immediate", "At once"),
                                       SelectChoice("digest", "One daily digest")], default="immediate",
                      validators=[InputRequired()])
    email = EmailField("E-mail address", validators=[Optional(), Length(max=320)],
                       description="Empty: your sign-in e-mail.")
    slack_webhook = StringField("Slack incoming webhook", validators=[Optional(), Length(max=2000)],
                                description="https://hooks.slack.com/… Empty: keep the one set.")
    remove_slack = BooleanField("Remove the Slack webhook")
    teams_webhook = StringField("Microsoft Teams incoming webhook", validators=[Optional(), Length(max=2000)],
                                description="https://….webhook.office.com/… Empty: keep the one set.")
    remove_teams = BooleanField("Remove the Teams webhook")
    submit = SubmitField("Save notifications")
