"""Topological order, cycle naming and the ancestor search, against brute force."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xeem.engine.graph import is_ancestor, topo_order

pytestmark = pytest.mark.unit


@st.composite
def graphs(draw: st.DrawFn) -> list[list[int]]:
    n = draw(st.integers(1, 12))
    return [sorted(set(draw(st.lists(st.integers(0, n - 1), max_size=3)))) for _ in range(n)]


def reach(deps: list[list[int]], node: int) -> set[int]:
    """Ancestors of ``node`` by brute force."""
    seen: set[int] = set()
    todo = list(deps[node])
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.add(d)
            todo.extend(deps[d])
    return seen


@settings(max_examples=150, deadline=None)
@given(graphs())
def test_order_and_cycles(deps: list[list[int]]) -> None:
    order, cycles = topo_order(deps)
    pos = {v: k for k, v in enumerate(order)}
    for i in order:
        assert all(d in pos and pos[d] < pos[i] for d in deps[i])
    on_cycle = {i for i in range(len(deps)) if i in reach(deps, i)}
    assert (not cycles) == (not on_cycle)
    for i in range(len(deps)):
        blocked = i in on_cycle or bool(reach(deps, i) & on_cycle)
        assert (i not in pos) == blocked
    for cycle in cycles:
        assert cycle[0] == cycle[-1] == min(cycle)
        for a, b in itertools.pairwise(cycle):
            assert b in deps[a]


@settings(max_examples=150, deadline=None)
@given(graphs(), st.data())
def test_is_ancestor_matches_brute_force(deps: list[list[int]], data: st.DataObject) -> None:
    acyclic = [[d for d in ds if d < i] for i, ds in enumerate(deps)]
    order, _ = topo_order(acyclic)
    pos = [0] * len(acyclic)
    for k, i in enumerate(order):
        pos[i] = k
    a = data.draw(st.integers(0, len(acyclic) - 1))
    b = data.draw(st.integers(0, len(acyclic) - 1))
    assert is_ancestor(acyclic, pos, a, b) == (a in reach(acyclic, b))
