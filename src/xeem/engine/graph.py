"""Dependency graph algorithms on node indices.

Contract: ``deps[i]`` lists the indices node ``i`` depends on. ``topo_order`` is Kahn's
algorithm seeded and fed in index order, so the order is deterministic; it returns the
nodes that have an order (every dependency before its dependents) and one cycle per
group of nodes left over, each as the indices along ``depends`` edges, rotated to start at
its smallest index and closed by repeating that index. O(nodes + edges).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence


def topo_order(deps: Sequence[Sequence[int]]) -> tuple[list[int], list[list[int]]]:
    """(ordered nodes, cycles) of the graph; cycles is empty iff every node is ordered."""
    n = len(deps)
    indegree = [len(d) for d in deps]
    dependents: list[list[int]] = [[] for _ in range(n)]
    for i, ds in enumerate(deps):
        for d in ds:
            dependents[d].append(i)
    queue = deque(i for i in range(n) if indegree[i] == 0)
    order: list[int] = []
    while queue:
        i = queue.popleft()
        order.append(i)
        for j in dependents[i]:
            indegree[j] -= 1
            if indegree[j] == 0:
                queue.append(j)
    if len(order) == n:
        return order, []
    return order, _cycles(deps, [c > 0 for c in indegree])


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
