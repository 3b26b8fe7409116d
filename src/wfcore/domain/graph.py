"""DAG checks and the execution plan: iterative throughout, so a 10,000-step chain needs no deep stack."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(dependencies: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle as a path `[a, b, ..., a]`, or None when the graph is acyclic.

    `dependencies[x]` lists the nodes x depends on; unknown nodes are ignored (reported elsewhere).
    """
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(dependencies, white)
    for start in dependencies:
        if colour[start] != white:
            continue
        path: list[str] = [start]
        iterators = [iter(dependencies[start])]
        colour[start] = grey
        while iterators:
            node = next(iterators[-1], None)
            if node is None:
                colour[path.pop()] = black
                iterators.pop()
                continue
            state = colour.get(node)
            if state == grey:
                return [*path[path.index(node) :], node]
            if state == white:
                colour[node] = grey
                path.append(node)
                iterators.append(iter(dependencies[node]))
    return None


def plan_levels(dependencies: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Levels of nodes that can run in parallel, in order; each node after all it depends on.

    Nodes keep their declaration order inside a level. The graph must be acyclic.
    """
    remaining = {node: len(set(deps)) for node, deps in dependencies.items()}
    dependants: dict[str, list[str]] = {node: [] for node in dependencies}
    for node, deps in dependencies.items():
        for dep in set(deps):
            dependants[dep].append(node)
    order = {node: index for index, node in enumerate(dependencies)}
    level = [node for node, count in remaining.items() if count == 0]
    levels: list[list[str]] = []
    while level:
        levels.append(level)
        following: list[str] = []
        for node in level:
            for dependant in dependants[node]:
                remaining[dependant] -= 1
                if remaining[dependant] == 0:
                    following.append(dependant)
        level = sorted(following, key=order.__getitem__)
    return levels


def ancestors(dependencies: Mapping[str, Sequence[str]], levels: Sequence[Sequence[str]]) -> dict[str, set[str]]:
    """Every node's transitive dependencies, computed level by level."""
    result: dict[str, set[str]] = {}
    for level in levels:
        for node in level:
            found: set[str] = set()
            for dep in dependencies[node]:
                found.add(dep)
                found |= result[dep]
            result[node] = found
    return result


def downstream(dependencies: Mapping[str, Sequence[str]], start: str) -> set[str]:
    """`start` and every node that depends on it, directly or not."""
    dependants: dict[str, list[str]] = {node: [] for node in dependencies}
    for node, deps in dependencies.items():
        for dep in deps:
            dependants[dep].append(node)
    found = {start}
    stack = [start]
    while stack:
        for dependant in dependants[stack.pop()]:
            if dependant not in found:
                found.add(dependant)
                stack.append(dependant)
    return found
