"""Hypothesis strategies for dependency graphs: `{node: [nodes it depends on]}` in declaration order."""

from __future__ import annotations

import graphlib

from hypothesis import strategies as st

Graph = dict[str, list[str]]


def node_names(count: int) -> list[str]:
    return [f"n{index}" for index in range(count)]


@st.composite
def dags(draw: st.DrawFn, max_nodes: int = 30) -> Graph:
    """Deep chains, wide fans in and out, and random DAGs, declared in a shuffled order."""
    names = node_names(draw(st.integers(1, max_nodes)))
    shape = draw(st.sampled_from(["chain", "fan_out", "fan_in", "random"]))
    deps: Graph = {}
    for index, name in enumerate(names):
        earlier = names[:index]
        if not earlier:
            deps[name] = []
        elif shape == "chain":
            deps[name] = [earlier[-1]]
        elif shape == "fan_out":
            deps[name] = [earlier[0]]
        elif shape == "fan_in":
            deps[name] = earlier if index == len(names) - 1 else []
        else:
            deps[name] = draw(st.lists(st.sampled_from(earlier), max_size=4, unique=True))
    order = draw(st.permutations(names))
    return {name: deps[name] for name in order}


@st.composite
def cyclic_graphs(draw: st.DrawFn) -> Graph:
    """A DAG with one cycle (of length 1 to all nodes) added to it."""
    graph = draw(dags())
    members = draw(st.lists(st.sampled_from(sorted(graph)), min_size=1, max_size=len(graph), unique=True))
    for node, following in zip(members, [*members[1:], members[0]], strict=True):
        if following not in graph[node]:
            graph[node] = [*graph[node], following]
    return graph


@st.composite
def any_graphs(draw: st.DrawFn) -> Graph:
    """Random edges between up to 12 nodes: acyclic or not."""
    names = node_names(draw(st.integers(1, 12)))
    return {name: draw(st.lists(st.sampled_from(names), max_size=3, unique=True)) for name in names}


def is_acyclic(graph: Graph) -> bool:
    """The standard library's answer, as an independent oracle."""
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError:
        return False
    return True


def closure(graph: Graph, node: str) -> set[str]:
    """Every node reachable from `node` along dependencies, by a plain search."""
    found: set[str] = set()
    stack = list(graph[node])
    while stack:
        dep = stack.pop()
        if dep not in found:
            found.add(dep)
            stack.extend(graph[dep])
    return found


def chain(length: int) -> Graph:
    names = node_names(length)
    return {name: [names[index - 1]] if index else [] for index, name in enumerate(names)}
