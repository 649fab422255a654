"""Admin YAML checked before it is loaded: alias loops, alias bombs and nesting refused; sensible anchors pass."""

from __future__ import annotations

import pytest
import yaml

from mappings.yaml_text import LOAD_ERRORS, MAX_ALIAS_VALUES, MAX_DEPTH, unsafe_yaml, yaml_error


def test_yaml_refuses_an_alias_inside_its_own_anchor():
    refusal = unsafe_yaml("a: &a [*a, *a]\n")
    assert refusal is not None and refusal.code == "yaml_alias_loop"
    assert refusal.message.startswith("The YAML anchor at line 1, column 4")
    loop = unsafe_yaml("x: 1\nb: &b {c: [1, {d: *b}]}\n")
    assert loop is not None and loop.code == "yaml_alias_loop"


def test_yaml_refuses_an_alias_bomb_without_expanding_it():
    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"l{i}: &l{i} [" + ",".join([f"*{'a' if i == 0 else f'l{i - 1}'}"] * 10) + "]\n" for i in range(30))
    refusal = unsafe_yaml(bomb)  # 10**31 values if expanded
    assert refusal is not None and refusal.code == "yaml_alias_expansion"


def test_yaml_accepts_anchors_used_sensibly_and_what_safe_dump_writes():
    shared = {"from": "subject", "type": "string"}
    dumped = yaml.safe_dump({"inbound": {"title": shared, "use_case": shared}})
    assert "&id001" in dumped
    assert unsafe_yaml(dumped) is None
    assert unsafe_yaml("a: &a [1, 2]\nb: *a\nc: *a\n") is None
    small_bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [" + ",".join(["*a"] * 10) + "]\nc: [*b, *b]\n"
    assert unsafe_yaml(small_bomb) is None  # 200-odd values: cheap
    assert MAX_ALIAS_VALUES >= 1000


def test_yaml_syntax_errors_are_left_to_the_route_and_depth_is_refused():
    assert unsafe_yaml("kind: [zendesk") is None
    assert unsafe_yaml("") is None
    too_deep = unsafe_yaml("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert too_deep is not None and too_deep.code == "yaml_too_deep"
    assert unsafe_yaml("a: " + "[" * 5000 + "]" * 5000) is not None  # beyond PyYAML's own recursion: still refused


@pytest.mark.parametrize(("text", "expected"), [
    ("a: 1\n b: 2\n", "The policy is not valid YAML at line 2, column 3: mapping values are not allowed here."),
    ("a: [1, 2\nb: 3\n", "The policy is not valid YAML at line 2, column 2: expected ',' or ']', but got ':' "
                         "(while parsing a flow sequence from line 1, column 4)."),
    ("a:\n\t- x\n", "The policy is not valid YAML at line 2, column 1: found character '\\t' that cannot start "
                    "any token."),
    ("a: 2024-02-30\n", "The policy is not valid YAML: a value cannot be read (day is out of range for month)."),
])
def test_yaml_errors_are_one_sentence_with_line_and_column_and_no_pyyaml_internals(text, expected):
    with pytest.raises(LOAD_ERRORS) as caught:
        yaml.safe_load(text)
    message = yaml_error(caught.value, "The policy")
    assert message == expected
    assert "<unicode string>" not in message and "^" not in message and "\n" not in message
