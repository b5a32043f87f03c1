"""Dependency graph algorithms on node indices.

Contract: ``deps[i]`` lists the indices node ``i`` depends on. ``topo_order`` is Kahn's
algorithm seeded and fed in index order, so the order is deterministic; it returns the
nodes that have an order (every dependency before its dependents) and one cycle per
group of nodes left over, each as the indices along ``depends`` edges, rotated to start at
its smallest index and closed by repeating that index. ``walk_order`` is the order the
engine's per-node passes use: the index order when it is topological, else ``order``.
O(nodes + edges).
"""

from __future__ import annotations

from collections.abc import Sequence


def topo_order(deps: Sequence[Sequence[int]]) -> tuple[list[int], list[list[int]]]:
    """(ordered nodes, cycles) of the graph; cycles is empty iff every node is ordered."""
    n = len(deps)
    indegree = [len(d) for d in deps]
    dependents: list[list[int]] = [[] for _ in range(n)]
    for i, ds in enumerate(deps):
        for d in ds:
            dependents[d].append(i)
    # ``order`` is its own FIFO queue: the loop visits what it appends.
    order = [i for i in range(n) if not indegree[i]]
    for i in order:
        for j in dependents[i]:
            indegree[j] -= 1
            if not indegree[j]:
                order.append(j)
    if len(order) == n:
        return order, []
    return order, _cycles(deps, [c > 0 for c in indegree])


def positions(order: Sequence[int], n: int) -> list[int]:
    """Each node's place in ``order``, -1 for the nodes it leaves out."""
    pos = [-1] * n
    for k, i in enumerate(order):
        pos[i] = k
    return pos


def walk_order(deps: Sequence[Sequence[int]], order: Sequence[int]) -> Sequence[int]:
    """``range(n)`` when every dependency has a smaller index than its node, else ``order``.

    Specs usually list nodes after their dependencies. Walking them in index order visits
    the parsed spec's objects in the order they were allocated, which on large specs is
    several times faster than the scattered order of Kahn's queue (CPU caches). Passes
    that walk this order and must report in ``order`` sort by position afterwards.
    """
    n = len(deps)
    if len(order) == n and all(not ds or max(ds) < i for i, ds in enumerate(deps)):
        return range(n)
    return order


def _cycles(deps: Sequence[Sequence[int]], left: list[bool]) -> list[list[int]]:
    """One cycle per walk among the unordered nodes (each has an unordered dependency)."""
    seen = [False] * len(deps)
    cycles: list[list[int]] = []
    for start, is_left in enumerate(left):
        if not is_left or seen[start]:
            continue
        path: list[int] = []
        where: dict[int, int] = {}
        cur = start
        while not seen[cur]:
            seen[cur] = True
            where[cur] = len(path)
            path.append(cur)
            cur = next(d for d in deps[cur] if left[d])
        if cur in where:
            cycle = path[where[cur] :]
            k = cycle.index(min(cycle))
            cycle = cycle[k:] + cycle[:k]
            cycles.append([*cycle, cycle[0]])
    return cycles


def is_ancestor(deps: Sequence[Sequence[int]], pos: Sequence[int], anc: int, node: int) -> bool:
    """Whether ``anc`` is reachable from ``node`` backwards through ``deps``.

    ``pos`` is each node's place in a topological order; only nodes placed after ``anc``
    can lead to it, so the search prunes everything else.
    """
    if anc in deps[node]:
        return True
    limit = pos[anc]
    stack = [node]
    seen = {node}
    while stack:
        for d in deps[stack.pop()]:
            if d == anc:
                return True
            if d not in seen and pos[d] > limit:
                seen.add(d)
                stack.append(d)
    return False
