"""Checking a mapping document, reporting every problem at once (never stopping at the first).

Two layers: `structural_problems` needs nothing but the document (shape, kinds, transforms) and is what
`load_mapping` enforces; `validate_mapping` adds what needs context the caller passes in: the governance
catalogue (targets and outbound paths), the live source's fields, and placeholder values.

Checks work on the raw dict so that a rule with several faults reports all of them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from mappings.paths import fill, path_problem, placeholders_in
from mappings.problems import MappingError, MappingProblem
from mappings.storable import unstorable
from mappings.transforms import (
    CASES,
    COERCIONS,
    COMPATIBLE_TYPES,
    RULE_TYPES,
    InvalidValue,
)

if TYPE_CHECKING:
    from mappings.document import MappingDocument

KINDS: Final[tuple[str, ...]] = ("salesforce", "zendesk")
TOP_KEYS: Final[tuple[str, ...]] = ("kind", "description", "object", "select", "inbound", "outbound")
RULE_KEYS: Final[tuple[str, ...]] = ("from", "type", "map", "default", "strict", "split", "trim", "case")
SELECT_KEYS: Final[tuple[str, ...]] = ("tag", "ticket_form_id")

#: Zendesk ticket attributes (Tickets API) plus the `requester` and `organization` objects the connector
#: attaches; a Zendesk source path may start with any of them.
ZENDESK_TICKET_ATTRIBUTES: Final[frozenset[str]] = frozenset(
    {
        "id", "url", "external_id", "type", "subject", "raw_subject", "description", "priority", "status",
        "recipient", "requester_id", "submitter_id", "assignee_id", "organization_id", "group_id",
        "collaborator_ids", "follower_ids", "email_cc_ids", "forum_topic_id", "problem_id", "has_incidents",
        "is_public", "due_at", "tags", "custom_fields", "fields", "satisfaction_rating",
        "sharing_agreement_ids", "followup_ids", "ticket_form_id", "brand_id", "allow_channelback",
        "allow_attachments", "from_messaging_channel", "created_at", "updated_at", "via", "custom_status_id",
        "generated_timestamp", "requester", "organization", "submitter", "assignee",
    }
)  # fmt: skip

_API_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_TARGET: Final = re.compile(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*")
_ZENDESK_CUSTOM_KEY: Final = re.compile(r"custom_fields\.(?:\d+|\{[A-Za-z_][A-Za-z0-9_]*\})")
_ZENDESK_CUSTOM_SEGMENTS: Final = ("custom_fields", "fields")
_SCALARS: Final = (str, int, float, bool)


def _suggest(name: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


class _Context:
    """What the caller knows beyond the document; a None member disables the checks that need it."""

    def __init__(
        self,
        targets: Mapping[str, str] | None = None,
        outbound_paths: Collection[str] | None = None,
        source_fields: Collection[str] | None = None,
        placeholders: Mapping[str, str | int] | None = None,
        check_placeholders: bool = False,
        enums: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.targets = targets
        self.outbound_paths = outbound_paths
        self.source_fields = source_fields
        self.known_sources = {str(name).lower() for name in source_fields} if source_fields is not None else None
        self.placeholders = placeholders
        self.check_placeholders = check_placeholders
        self.enums = enums

    def resolve(self, path: str) -> str:
        return fill(path, self.placeholders) if self.placeholders else path


def structural_problems(data: Any) -> list[MappingProblem]:
    """Problems that make a document unusable whatever the catalogue and connection."""
    return list(_document_problems(data, _Context()))


def validate_mapping(
    doc_or_dict: MappingDocument | Mapping[str, Any] | str,
    targets: Mapping[str, str],
    outbound_paths: Sequence[str],
    source_fields: Collection[str] | None = None,
    placeholders: Mapping[str, str | int] | None = None,
    *,
    enums: Mapping[str, Collection[str]] | None = None,
) -> list[MappingProblem]:
    """Every problem with a mapping against the governance catalogue (and the live source, when given).

    `targets` is the governance catalogue (dotted path -> type name) and `outbound_paths` the governance
    paths an outbound rule may read. `source_fields`, when given, are the source's field names (Salesforce
    describe; Zendesk ticket field ids and attributes): the first segment of each source path must be one of
    them (`Account__r.Name` passes when `Account__r` or `Account__c` is known). `placeholders` are the values
    `{name}` placeholders will take; a placeholder without one is an `unresolved_placeholder`. `enums` (target
    -> allowed values) lets value maps and defaults of enum targets be checked too.
    """
    if isinstance(doc_or_dict, str):
        from mappings.document import parse_text

        try:
            data: Any = parse_text(doc_or_dict)
        except MappingError as exc:
            return exc.problems
    elif hasattr(doc_or_dict, "to_dict"):
        data = doc_or_dict.to_dict()
    else:
        data = doc_or_dict
    context = _Context(targets, outbound_paths, source_fields, placeholders, True, enums)
    return list(_document_problems(data, context))


def _document_problems(data: Any, ctx: _Context) -> Iterator[MappingProblem]:
    if not isinstance(data, Mapping):
        yield MappingProblem(
            "document", "not_a_mapping", "A mapping document is an object with kind, inbound and outbound."
        )
        return
    bad_values = [MappingProblem(path if path != "(body)" else "document", "unstorable_value", message)
                  for path, message in unstorable(data)]
    if bad_values:
        yield from bad_values
        return
    for key in data:
        if key not in TOP_KEYS:
            yield MappingProblem(
                str(key),
                "unknown_key",
                f"Unknown key {key!r} in the mapping document (allowed: {', '.join(TOP_KEYS)})."
                + _suggest(str(key), TOP_KEYS),
            )
    kind = data.get("kind")
    if kind not in KINDS:
        yield MappingProblem(
            "kind",
            "bad_kind",
            f"kind must be one of {', '.join(KINDS)}"
            + (f", not {kind!r}." if kind is not None else "; it is missing."),
        )
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        yield MappingProblem("description", "bad_description", "description must be text.")
    yield from _object_problems(kind, data.get("object"))
    yield from _select_problems(kind, data.get("select"))

    inbound = data.get("inbound")
    if inbound is None:
        yield MappingProblem(
            "inbound", "missing_inbound", "The mapping needs an inbound section (governance field: source)."
        )
    elif not isinstance(inbound, Mapping):
        yield MappingProblem("inbound", "bad_section", "inbound must map governance fields to source rules.")
    else:
        targets = [t for t in inbound if isinstance(t, str)]
        for target, raw in inbound.items():
            yield from _inbound_problems(kind, target, raw, targets, ctx)

    outbound = data.get("outbound")
    if outbound is not None and not isinstance(outbound, Mapping):
        yield MappingProblem("outbound", "bad_section", "outbound must map source fields to governance paths.")
    elif outbound:
        yield from _outbound_problems(kind, outbound, ctx)


def _object_problems(kind: Any, obj: Any) -> Iterator[MappingProblem]:
    if kind == "salesforce":
        if obj is None or obj == "":
            yield MappingProblem(
                "object",
                "missing_object",
                "A Salesforce mapping names the sObject to read, e.g. object: License_Exception_Request__c.",
            )
        elif not isinstance(obj, str) or not _API_NAME.fullmatch(obj):
            yield MappingProblem("object", "bad_object", f"object must be a Salesforce API name, not {obj!r}.")
    elif obj is not None and kind in KINDS:
        yield MappingProblem("object", "bad_object", f"object applies to Salesforce mappings only, not {kind}.")


def _select_problems(kind: Any, select: Any) -> Iterator[MappingProblem]:
    if select is None:
        return
    if kind == "salesforce":
        yield MappingProblem(
            "select", "bad_select", "select applies to Zendesk mappings only; Salesforce reads the object."
        )
        return
    if not isinstance(select, Mapping) or not select:
        yield MappingProblem("select", "bad_select", "select must be {tag: <tag>} or {ticket_form_id: <id>}.")
        return
    for key in select:
        if key not in SELECT_KEYS:
            yield MappingProblem(
                f"select.{key}",
                "unknown_key",
                f"Unknown key {key!r} in select (allowed: {', '.join(SELECT_KEYS)}).",
            )
    if "tag" in select and "ticket_form_id" in select:
        yield MappingProblem("select", "bad_select", "select takes a tag or a ticket_form_id, not both.")
    tag = select.get("tag")
    if "tag" in select and (not isinstance(tag, str) or not tag or any(c.isspace() for c in tag)):
        yield MappingProblem("select.tag", "bad_select", f"A Zendesk tag is one word without spaces, not {tag!r}.")
    form = select.get("ticket_form_id")
    if "ticket_form_id" in select and not (
        (isinstance(form, int) and not isinstance(form, bool) and form > 0)
        or (isinstance(form, str) and form.isdigit())
    ):
        yield MappingProblem(
            "select.ticket_form_id", "bad_select", f"ticket_form_id must be a Zendesk form id, not {form!r}."
        )


def _inbound_problems(
    kind: Any, target: Any, raw: Any, all_targets: list[str], ctx: _Context
) -> Iterator[MappingProblem]:
    where = f"inbound.{target}"
    target_type: str | None = None
    malformed = not isinstance(target, str) or not _TARGET.fullmatch(target)
    if malformed and ctx.targets is None:
        yield MappingProblem(where, "bad_target", f"{target!r} is not a governance field path (lowercase, dotted).")
    if ctx.targets is not None:
        if isinstance(target, str) and target in ctx.targets:
            target_type = ctx.targets[target]
        else:
            yield MappingProblem(
                where,
                "unknown_target",
                f"{target!r} is not a governance field." + _suggest(str(target), ctx.targets),
            )
    if isinstance(target, str):
        for other in all_targets:
            if other.startswith(target + "."):
                yield MappingProblem(
                    where,
                    "conflicting_target",
                    f"{target!r} and {other!r} cannot both be mapped: one contains the other.",
                )
                break

    if isinstance(raw, str):
        yield from _source_problems(kind, where, raw, ctx)
        return
    if not isinstance(raw, Mapping):
        yield MappingProblem(
            where, "bad_rule", "A rule is a source path or an object with from, type, map, default, ..."
        )
        return

    for key in raw:
        if key not in RULE_KEYS:
            yield MappingProblem(
                where,
                "unknown_transform",
                f"Unknown key {key!r} in the rule (allowed: {', '.join(RULE_KEYS)})." + _suggest(str(key), RULE_KEYS),
            )
    source = raw.get("from")
    if source is None:
        if raw.get("default") is None:
            yield MappingProblem(
                where, "missing_from", "The rule needs a source path in 'from' (or a constant 'default')."
            )
    elif not isinstance(source, str):
        yield MappingProblem(where, "bad_path", f"'from' must be a source path, not {source!r}.")
    else:
        yield from _source_problems(kind, where, source, ctx)

    rule_type = raw.get("type")
    if rule_type is not None:
        if rule_type not in RULE_TYPES:
            yield MappingProblem(
                where,
                "unknown_type",
                f"Unknown type {rule_type!r} (allowed: {', '.join(RULE_TYPES)})."
                + _suggest(str(rule_type), RULE_TYPES),
            )
        elif target_type in COMPATIBLE_TYPES and rule_type not in COMPATIBLE_TYPES[target_type]:
            yield MappingProblem(
                where,
                "type_mismatch",
                f"type {rule_type!r} does not fit {target!r}, which holds {target_type} values.",
            )

    for option in ("strict", "trim"):
        if option in raw and not isinstance(raw[option], bool):
            yield MappingProblem(where, "bad_option", f"{option} must be true or false, not {raw[option]!r}.")
    case = raw.get("case")
    if case is not None and case not in CASES:
        yield MappingProblem(where, "unknown_transform", f"Unknown case {case!r} (allowed: {', '.join(CASES)}).")

    split = raw.get("split")
    if "split" in raw:
        if not isinstance(split, str) or not split:
            yield MappingProblem(where, "bad_split", f"split must be a separator such as ';', not {split!r}.")
        elif target_type is not None and target_type != "list":
            yield MappingProblem(
                where,
                "bad_split",
                f"split makes a list, but {target!r} holds {target_type} values; remove split.",
            )

    element_type = _element_type(rule_type, target_type)
    value_map = raw.get("map")
    if "map" in raw:
        if not isinstance(value_map, Mapping):
            yield MappingProblem(where, "bad_map", "map must be an object of source value: governance value.")
        elif not value_map:
            yield MappingProblem(where, "empty_map", "map is empty; list the source values to map, or remove it.")
        else:
            yield from _map_problems(where, target, value_map, element_type, ctx)

    default = raw.get("default")
    if default is not None:
        yield from _default_problems(where, target, default, target_type, element_type, ctx)


def _element_type(rule_type: Any, target_type: str | None) -> str | None:
    """The type each value (each list element, for list targets) is coerced to."""
    if isinstance(rule_type, str) and rule_type in RULE_TYPES:
        return rule_type
    if target_type == "list":
        return "string"
    return target_type


def _map_problems(
    where: str, target: Any, value_map: Mapping[Any, Any], element_type: str | None, ctx: _Context
) -> Iterator[MappingProblem]:
    allowed = ctx.enums.get(target) if ctx.enums is not None and isinstance(target, str) else None
    for key, value in value_map.items():
        if key is None or not isinstance(key, _SCALARS):
            yield MappingProblem(
                where,
                "bad_map",
                f"map keys are source values (text or numbers), not {key!r}; use default for null.",
            )
        if not isinstance(value, _SCALARS):
            yield MappingProblem(where, "bad_map", f"map value for {key!r} must be a single value, not {value!r}.")
            continue
        problem = _coercion_problem(value, element_type)
        if problem:
            yield MappingProblem(where, "bad_map", f"map value for {key!r}: {problem}")
        elif allowed is not None and value not in allowed:
            yield MappingProblem(
                where,
                "unknown_enum_value",
                f"map value {value!r} for {key!r} is not one of {', '.join(map(str, allowed))}.",
            )


def _default_problems(
    where: str, target: Any, default: Any, target_type: str | None, element_type: str | None, ctx: _Context
) -> Iterator[MappingProblem]:
    values = default if isinstance(default, list) else [default]
    if isinstance(default, list) and target_type not in (None, "list"):
        yield MappingProblem(where, "bad_default", f"default is a list, but {target!r} holds one {target_type}.")
        return
    for value in values:
        if not isinstance(value, _SCALARS):
            yield MappingProblem(where, "bad_default", f"default must be a value or a list of values, not {value!r}.")
            return
        problem = _coercion_problem(value, element_type)
        if problem:
            yield MappingProblem(where, "bad_default", f"default {value!r}: {problem}")
            return
    allowed = ctx.enums.get(target) if ctx.enums is not None and isinstance(target, str) else None
    if allowed is not None and not isinstance(default, list) and default not in allowed:
        yield MappingProblem(
            where, "unknown_enum_value", f"default {default!r} is not one of {', '.join(map(str, allowed))}."
        )


def _coercion_problem(value: Any, element_type: str | None) -> str | None:
    coerce = COERCIONS.get(element_type or "")
    if coerce is None:
        return None
    try:
        coerce(value)
    except InvalidValue as exc:
        return str(exc)
    return None


def _source_problems(kind: Any, where: str, path: str, ctx: _Context) -> Iterator[MappingProblem]:
    problem = path_problem(path)
    if problem:
        yield MappingProblem(where, "bad_path", problem)
        return
    yield from _placeholder_problems(where, path, ctx)
    resolved = ctx.resolve(path)
    segments = resolved.split(".")
    if kind == "salesforce":
        bad = [s for s in segments if not placeholders_in(s) and not _API_NAME.fullmatch(s)]
        if bad:
            yield MappingProblem(
                where, "bad_path", f"{bad[0]!r} in {path!r} is not a Salesforce field or relationship name."
            )
            return
    custom_id_ok = len(segments) == 2 and (segments[1].isdigit() or bool(placeholders_in(segments[1])))
    if kind == "zendesk" and segments[0] in _ZENDESK_CUSTOM_SEGMENTS and not custom_id_ok:
        yield MappingProblem(
            where,
            "bad_path",
            f"Zendesk custom fields are read as custom_fields.<field id> (a number), not {path!r}.",
        )
        return
    if ctx.known_sources is not None and not placeholders_in(resolved):
        yield from _unknown_source(kind, where, resolved, ctx)


def _unknown_source(kind: Any, where: str, path: str, ctx: _Context) -> Iterator[MappingProblem]:
    known = ctx.known_sources or set()
    first, _, rest = path.partition(".")
    lowered = first.lower()
    if kind == "zendesk":
        if first in _ZENDESK_CUSTOM_SEGMENTS and rest:
            if rest in known or f"custom_fields.{rest}" in known:
                return
            yield MappingProblem(
                where,
                "unknown_source_field",
                f"Zendesk has no ticket field with id {rest} (per ticket fields).",
            )
            return
        if first in ZENDESK_TICKET_ATTRIBUTES or lowered in known:
            return
        yield MappingProblem(
            where,
            "unknown_source_field",
            f"{first!r} is not a Zendesk ticket attribute or field."
            + _suggest(first, ZENDESK_TICKET_ATTRIBUTES | set(map(str, ctx.source_fields or ()))),
        )
        return
    if lowered in known:
        return
    if lowered.endswith("__r") and lowered[:-3] + "__c" in known:
        return
    if rest and lowered + "id" in known:
        return
    yield MappingProblem(
        where,
        "unknown_source_field",
        f"{first!r} is not a field{' or relationship' if rest else ''} of the source object (per describe)."
        + _suggest(first, list(map(str, ctx.source_fields or ()))),
    )


def _placeholder_problems(where: str, path: str, ctx: _Context) -> Iterator[MappingProblem]:
    if not ctx.check_placeholders:
        return
    for name in placeholders_in(path):
        if ctx.placeholders is None or name not in ctx.placeholders:
            yield MappingProblem(
                where,
                "unresolved_placeholder",
                f"Placeholder {{{name}}} has no value: create the Zendesk field (connector setup) or set "
                f"{name!r} to the field id.",
            )


def _outbound_problems(kind: Any, outbound: Mapping[Any, Any], ctx: _Context) -> Iterator[MappingProblem]:
    seen: dict[str, str] = {}
    for key, path in outbound.items():
        where = f"outbound.{key}"
        if not isinstance(path, str):
            yield MappingProblem(where, "bad_rule", f"An outbound rule is a governance path, not {path!r}.")
        elif ctx.outbound_paths is not None and path not in ctx.outbound_paths:
            yield MappingProblem(
                where,
                "unknown_outbound_path",
                f"{path!r} is not a governance value that can be written back (allowed: "
                f"{', '.join(ctx.outbound_paths)})." + _suggest(path, ctx.outbound_paths),
            )
        if not isinstance(key, str):
            yield MappingProblem(where, "bad_outbound_field", f"{key!r} is not a source field name.")
            continue
        if kind == "salesforce" and not _API_NAME.fullmatch(key):
            yield MappingProblem(where, "bad_outbound_field", f"{key!r} is not a Salesforce field API name.")
            continue
        if kind == "zendesk" and not _ZENDESK_CUSTOM_KEY.fullmatch(key):
            yield MappingProblem(
                where,
                "bad_outbound_field",
                f"Zendesk write-back keys are custom_fields.<field id>, not {key!r}; comments, tags and "
                "status follow from the decision.",
            )
            continue
        yield from _placeholder_problems(where, key, ctx)
        resolved = ctx.resolve(key)
        if resolved in seen:
            yield MappingProblem(
                where,
                "duplicate_outbound_field",
                f"{key!r} writes the same source field as {seen[resolved]!r}.",
            )
        seen.setdefault(resolved, key)
        if ctx.known_sources is not None and not placeholders_in(resolved):
            if kind == "zendesk":
                field_id = resolved.partition(".")[2]
                if field_id not in ctx.known_sources and resolved not in ctx.known_sources:
                    yield MappingProblem(
                        where, "unknown_source_field", f"Zendesk has no ticket field with id {field_id}."
                    )
            elif resolved.lower() not in ctx.known_sources:
                yield MappingProblem(
                    where,
                    "unknown_source_field",
                    f"{resolved!r} is not a field of the source object (per describe)."
                    + _suggest(resolved, list(map(str, ctx.source_fields or ()))),
                )
