"""Field mapping engine (SPEC §4): pure functions between source records and the governance schema.

No Flask, database or connector imports: the caller passes in the governance catalogue
(`connector.governance.fields`), the request views and the dialect of the source a mapping reads.
"""

from mappings.defaults import ZENDESK_PLACEHOLDER_FIELDS, default_mapping, default_mapping_text
from mappings.dialect import Selector, SourceDialect
from mappings.diff import mapping_diff
from mappings.document import InboundRule, MappingDocument
from mappings.inbound import InboundProgram, InboundResult, compile_inbound
from mappings.loading import load_mapping
from mappings.outbound import apply_outbound, summarize_grants, summarize_intake, zendesk_custom_fields
from mappings.placeholders import resolve_placeholders
from mappings.problems import MappingError, MappingProblem
from mappings.validation import validate_mapping

__all__ = [
    "ZENDESK_PLACEHOLDER_FIELDS",
    "InboundProgram",
    "InboundResult",
    "InboundRule",
    "MappingDocument",
    "MappingError",
    "MappingProblem",
    "Selector",
    "SourceDialect",
    "apply_outbound",
    "compile_inbound",
    "default_mapping",
    "default_mapping_text",
    "load_mapping",
    "mapping_diff",
    "resolve_placeholders",
    "summarize_grants",
    "summarize_intake",
    "validate_mapping",
    "zendesk_custom_fields",
]
