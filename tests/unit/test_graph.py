"""DAG checks and the execution plan, against independent oracles."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from unit.graphs import Graph, any_graphs, chain, closure, cyclic_graphs, dags, is_acyclic
from wfcore.domain.graph import ancestors, downstream, find_cycle, plan_levels


def assert_real_cycle(graph: Graph, cycle: list[str]) -> None:
    assert cycle[0] == cycle[-1]
    assert len(set(cycle[:-1])) == len(cycle) - 1, "a node appears twice inside the cycle"
    for node, dep in itertools.pairwise(cycle):
        assert dep in graph[node], f"{node} does not depend on {dep}"


@given(cyclic_graphs())
def test_every_cycle_is_reported_with_a_path_that_is_a_cycle(graph: Graph) -> None:
    cycle = find_cycle(graph)

    assert cycle is not None
    assert_real_cycle(graph, cycle)


@given(any_graphs())
def test_find_cycle_agrees_with_the_standard_library(graph: Graph) -> None:
    cycle = find_cycle(graph)

    assert (cycle is None) == is_acyclic(graph)
    if cycle is not None:
        assert_real_cycle(graph, cycle)


def test_a_self_dependency_is_a_cycle_of_one() -> None:
    assert find_cycle({"a": ["a"]}) == ["a", "a"]


def test_unknown_dependencies_are_left_to_other_checks() -> None:
    assert find_cycle({"a": ["ghost"], "b": ["a"]}) is None


@given(dags())
def test_plan_levels_hold_every_node_once_after_all_it_depends_on(graph: Graph) -> None:
    levels = plan_levels(graph)

    placed = [node for level in levels for node in level]
    assert sorted(placed) == sorted(graph)
    level_of = {node: index for index, level in enumerate(levels) for node in level}
    for node, deps in graph.items():
        expected = 1 + max((level_of[dep] for dep in deps), default=-1)
        assert level_of[node] == expected, "a node waits longer than its dependencies need"
    declared = list(graph)
    for level in levels:
        assert level == sorted(level, key=declared.index)


@given(dags())
def test_ancestors_are_the_transitive_closure(graph: Graph) -> None:
    found = ancestors(graph, plan_levels(graph))

    assert found == {node: closure(graph, node) for node in graph}


@given(dags(), st.data())
def test_downstream_is_the_node_and_everything_that_reaches_it(graph: Graph, data: st.DataObject) -> None:
    start = data.draw(st.sampled_from(sorted(graph)))

    assert downstream(graph, start) == {start} | {node for node in graph if start in closure(graph, node)}


def test_a_10000_node_chain_needs_no_deep_recursion() -> None:
    graph = chain(10_000)

    assert find_cycle(graph) is None
    levels = plan_levels(graph)
    assert [level[0] for level in levels] == list(graph)
    assert downstream(graph, "n0") == set(graph)


def test_a_10000_node_cycle_is_found_whole() -> None:
    graph = chain(10_000)
    graph["n0"] = ["n9999"]

    cycle = find_cycle(graph)

    assert cycle is not None
    assert len(cycle) == 10_001
    assert_real_cycle(graph, cycle)


def test_ancestors_of_a_chain_deeper_than_the_recursion_limit() -> None:
    graph = chain(3_000)

    found = ancestors(graph, plan_levels(graph))

    assert found["n2999"] == set(graph) - {"n2999"}
