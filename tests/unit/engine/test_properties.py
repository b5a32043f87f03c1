"""Property tests of the step function on random DAGs (driven by wfbuild.Sim).

Safety is asserted by the simulator on every step (no node before its dependencies, none
twice, nothing new after a failure under failFast, no group twice); here: every run
settles, the outcome matches a reference model and does not depend on the order in which
observations arrive, and machine groups are released once their users are done.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.engine.wfbuild import Sim, compile_ok, node, phases, pool, service, settled, spec
from xeem.api.phases import TERMINAL, UNSUCCESSFUL, NodePhase, WorkflowPhase
from xeem.api.workflow import WorkflowSpec

pytestmark = pytest.mark.unit

P = NodePhase
EXAMPLES = settings(max_examples=120, deadline=None)


@dataclass(frozen=True)
class Dag:
    spec: WorkflowSpec
    outcomes: dict[str, NodePhase]
    topo: list[str]


@st.composite
def dags(draw: st.DrawFn, fail_fast: bool | None = None) -> Dag:
    n = draw(st.integers(1, 9))
    names = [f"n{i}" for i in range(n)]
    templates = draw(st.integers(0, 2))
    nodes, outcomes = [], {}
    for i, name in enumerate(names):
        deps = sorted(set(draw(st.lists(st.sampled_from(names[:i]), max_size=3)))) if i else []
        group = draw(st.sampled_from([None] + [f"g{k}" for k in range(templates)]))
        if draw(st.booleans()):
            nodes.append(service(name, *deps, xvmg=group))
            outcomes[name] = draw(st.sampled_from([P.READY, P.READY, P.FAILED]))
        else:
            nodes.append(node(name, *deps, xvmg=group))
            outcomes[name] = draw(st.sampled_from([P.SUCCEEDED, P.SUCCEEDED, P.FAILED, P.ERROR]))
    listed = draw(st.permutations(nodes))
    s = spec(
        *listed,
        skipped_nodes=draw(st.lists(st.sampled_from(names), unique=True, max_size=3)),
        fail_fast=draw(st.booleans()) if fail_fast is None else fail_fast,
        xvmg_templates=[pool(f"g{k}") for k in range(templates)],
    )
    return Dag(s, outcomes, names)


def expected(dag: Dag) -> tuple[dict[str, NodePhase], WorkflowPhase]:
    """The reference model of DESIGN §4 without failFast."""
    skipped = set(dag.spec.skipped_nodes)
    deps = {nd.name: nd.depends for nd in dag.spec.nodes}
    final: dict[str, NodePhase] = {}
    eff: dict[str, NodePhase] = {}
    for name in dag.topo:
        blocked = any(eff[d] in UNSUCCESSFUL for d in deps[name])
        if name in skipped:
            final[name], eff[name] = P.SKIPPED, P.OMITTED if blocked else P.SKIPPED
        elif blocked:
            final[name] = eff[name] = P.OMITTED
        else:
            final[name] = eff[name] = dag.outcomes[name]
    bad = any(p in UNSUCCESSFUL for p in final.values())
    return final, WorkflowPhase.FAILED if bad else WorkflowPhase.SUCCEEDED


def drive(dag: Dag, seed: int) -> Sim:
    sim = Sim(compile_ok(dag.spec), outcomes=dag.outcomes, rng=random.Random(seed))
    sim.run()
    return sim


@EXAMPLES
@given(dags(), st.integers(0, 2**16))
def test_every_run_settles_and_releases_its_groups(dag: Dag, seed: int) -> None:
    sim = drive(dag, seed)
    final = sim.results[-1]
    assert settled(final)
    users: dict[str, list[str]] = {}
    for nd in dag.spec.nodes:
        if nd.xvmg_template_name:
            users.setdefault(f"wf-{nd.xvmg_template_name}", []).append(nd.name)
    for group in sim.xvmgs:
        assert any(phases(final)[u] not in TERMINAL for u in users[group])
    assert len(sim.released) == len(set(sim.released))


@EXAMPLES
@given(dags(fail_fast=False), st.integers(0, 2**16), st.integers(0, 2**16))
def test_outcome_does_not_depend_on_observation_order(dag: Dag, seed1: int, seed2: int) -> None:
    first, second = drive(dag, seed1).results[-1], drive(dag, seed2).results[-1]
    want_nodes, want_phase = expected(dag)
    assert phases(first) == phases(second) == want_nodes
    assert first.phase == second.phase == want_phase


@EXAMPLES
@given(dags(fail_fast=False), st.integers(0, 2**16))
def test_exactly_the_runnable_nodes_start(dag: Dag, seed: int) -> None:
    sim = drive(dag, seed)
    want, _ = expected(dag)
    runnable = {n for n, p in want.items() if p not in (P.SKIPPED, P.OMITTED)}
    assert set(sim.started) == runnable
