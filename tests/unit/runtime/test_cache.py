"""The indexed store."""

from __future__ import annotations

from typing import Any

import pytest

from xeem.runtime.cache import (
    INDEX_CONTROLLER_UID,
    INDEX_LABEL,
    INDEX_NAMESPACE,
    Store,
    parse_label_selector,
)

pytestmark = pytest.mark.unit


def obj(
    name: str,
    ns: str | None = "default",
    labels: dict[str, str] | None = None,
    owner_uid: str | None = None,
    controller: bool = True,
) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "labels": labels or {}}
    if ns:
        m["namespace"] = ns
    if owner_uid:
        m["ownerReferences"] = [
            {
                "apiVersion": "v1",
                "kind": "X",
                "name": "o",
                "uid": owner_uid,
                "controller": controller,
            }
        ]
    return {"metadata": m}


def test_keys_namespaced_and_cluster_scoped() -> None:
    s = Store()
    s.add(obj("a", "ns1"))
    s.add(obj("node1", None))
    assert sorted(s.keys()) == ["node1", "ns1/a"]
    assert s.get("ns1/a") is not None
    assert "node1" in s


def test_namespace_index_follows_updates_and_deletes() -> None:
    s = Store()
    s.add(obj("a", "ns1"))
    s.add(obj("b", "ns1"))
    s.add(obj("c", "ns2"))
    assert [o["metadata"]["name"] for o in s.by_index(INDEX_NAMESPACE, "ns1")] == ["a", "b"]
    s.delete(obj("a", "ns1"))
    assert s.index_keys(INDEX_NAMESPACE, "ns1") == ["ns1/b"]
    s.delete_key("ns1/b")
    assert s.index_values(INDEX_NAMESPACE) == ["ns2"], "empty index values are dropped"


def test_controller_uid_index_only_counts_the_controller() -> None:
    s = Store()
    s.add(obj("a", owner_uid="u1"))
    s.add(obj("b", owner_uid="u1", controller=False))
    s.add(obj("c", owner_uid="u2"))
    assert s.index_keys(INDEX_CONTROLLER_UID, "u1") == ["default/a"]
    s.update(obj("a", owner_uid="u2"))
    assert s.index_keys(INDEX_CONTROLLER_UID, "u1") == []
    assert s.index_keys(INDEX_CONTROLLER_UID, "u2") == ["default/a", "default/c"]


def test_label_index_and_select() -> None:
    s = Store()
    s.add(obj("a", "n1", {"app": "x", "tier": "web"}))
    s.add(obj("b", "n1", {"app": "x"}))
    s.add(obj("c", "n2", {"app": "x", "tier": "web"}))
    assert s.index_keys(INDEX_LABEL, "app=x") == ["n1/a", "n1/b", "n2/c"]
    names = [o["metadata"]["name"] for o in s.select(label_selector={"app": "x", "tier": "web"})]
    assert names == ["a", "c"]
    names = [o["metadata"]["name"] for o in s.select("n1", {"tier": "web"})]
    assert names == ["a"]
    assert [o["metadata"]["name"] for o in s.select("n2")] == ["c"]
    s.update(obj("a", "n1", {"app": "y"}))
    assert s.index_keys(INDEX_LABEL, "tier=web") == ["n2/c"]


def test_replace_rebuilds_indices() -> None:
    s = Store()
    s.add(obj("a", "n1"))
    s.replace([obj("b", "n2")])
    assert s.keys() == ["n2/b"]
    assert s.index_values(INDEX_NAMESPACE) == ["n2"]


def test_custom_indexer_added_later_indexes_existing() -> None:
    s = Store()
    s.add(obj("a", labels={"k": "1"}))
    s.add_indexers({"k": lambda o: [o["metadata"]["labels"].get("k", "")]})
    assert s.index_keys("k", "1") == ["default/a"]
    with pytest.raises(ValueError, match="already exists"):
        s.add_indexers({"k": lambda o: []})
    with pytest.raises(KeyError, match="no indexer"):
        s.by_index("nope", "x")


def test_parse_label_selector() -> None:
    assert parse_label_selector("a=b, c==d") == {"a": "b", "c": "d"}
    assert parse_label_selector({"x": "y"}) == {"x": "y"}
    assert parse_label_selector(None) is None
    with pytest.raises(ValueError, match="unsupported"):
        parse_label_selector("a!=b")
