"""The $(inputs.x) grammar and the derived names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xeem.engine import naming
from xeem.engine.substitute import UnknownInputError, references, substitute

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("plain", []),
        ("$(inputs.a) and $(inputs.b-c_d)", ["a", "b-c_d"]),
        ("$$(inputs.a)", []),
        ("$$$(inputs.a)", ["a"]),
        ("$(inputs.)", []),
        ("$(inputs.a b)", []),
        ("$(HOME)", []),
    ],
)
def test_references(text: str, refs: list[str]) -> None:
    assert references(text) == refs


def test_substitute_plain_and_kubelet_fields() -> None:
    values = {"a": "x$y"}
    assert substitute("<$(inputs.a)>", values, kubelet_expanded=False) == "<x$y>"
    assert substitute("<$(inputs.a)>", values, kubelet_expanded=True) == "<x$$y>"
    assert (
        substitute("$$(inputs.a) $(HOME)", values, kubelet_expanded=True) == "$$(inputs.a) $(HOME)"
    )
    with pytest.raises(UnknownInputError, match="b"):
        substitute("$(inputs.a) $(inputs.b)", values, kubelet_expanded=False)


def test_names() -> None:
    assert naming.child_name("wf", "train") == "wf-train"
    assert naming.group_name("wf", "gpu") == "wf-gpu"
    assert naming.input_env_name("data-set.v2") == "XEEM_INPUT_DATA_SET_V2"
    assert naming.input_volume_name("data") == "xeem-input-data"
    assert naming.input_volume_name("a_b") != naming.input_volume_name("a-b")
    long = naming.input_volume_name("x" * 63)
    assert len(long) <= 63
    assert long != naming.input_volume_name("x" * 62)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="$()inputs.ab-_ x", max_size=40))
def test_references_agree_with_substitute(text: str) -> None:
    seen: list[str] = []

    class Spy(dict[str, str]):
        def __contains__(self, key: object) -> bool:
            seen.append(str(key))
            return True

        def __getitem__(self, key: str) -> str:
            return ""

    substitute(text, Spy(), kubelet_expanded=False)
    assert references(text) == seen
