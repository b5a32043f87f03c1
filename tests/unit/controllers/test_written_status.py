"""A reconciler's own status writes win over a cache that has not caught up with them."""

from __future__ import annotations

from typing import Any

import pytest

from xeem.controllers.written_status import WrittenStatus

pytestmark = pytest.mark.unit


def obj(status: dict[str, Any] | None, uid: str = "u1") -> dict[str, Any]:
    return {"metadata": {"namespace": "ml", "name": "train", "uid": uid}, "status": status}


def test_the_written_status_shows_until_the_cache_has_it() -> None:
    written = WrittenStatus()
    written.wrote(obj({"phase": "Pending"}), {"phase": "Running"})
    assert written.overlay(obj({"phase": "Pending"}))["status"] == {"phase": "Running"}
    assert len(written) == 1
    caught_up = obj({"phase": "Running"})
    assert written.overlay(caught_up) is caught_up
    assert len(written) == 0


def test_a_namesake_with_another_uid_is_not_overlaid() -> None:
    written = WrittenStatus()
    written.wrote(obj(None), {"phase": "Failed"})
    fresh = obj(None, uid="u2")
    assert written.overlay(fresh)["status"] is None
    assert len(written) == 0


def test_forget_drops_a_deleted_object() -> None:
    written = WrittenStatus()
    written.wrote(obj(None), {"phase": "Running"})
    written.forget("ml/train")
    assert written.overlay(obj(None))["status"] is None
