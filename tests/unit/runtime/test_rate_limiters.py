"""The rate limiters of client-go, on a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xeem.runtime.clock import FakeClock
from xeem.runtime.workqueue import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
)

pytestmark = pytest.mark.unit


def test_exponential_doubles_per_item_from_base() -> None:
    r = ItemExponentialFailureRateLimiter(0.005, 1000)
    assert [r.when("a") for _ in range(4)] == [0.005, 0.01, 0.02, 0.04]
    assert r.when("b") == 0.005, "per item"
    assert r.num_requeues("a") == 4
    assert r.num_requeues("b") == 1


def test_exponential_caps_at_max() -> None:
    r = ItemExponentialFailureRateLimiter(0.005, 1000)
    delays = [r.when("a") for _ in range(30)]
    assert delays[17] == 0.005 * 2**17  # 655.36 s
    assert delays[18] == 1000
    assert max(delays) == 1000
    for _ in range(5000):  # no overflow however many failures
        assert r.when("a") == 1000


def test_exponential_forget_resets() -> None:
    r = ItemExponentialFailureRateLimiter(0.005, 1000)
    r.when("a")
    r.when("a")
    r.forget("a")
    assert r.num_requeues("a") == 0
    assert r.when("a") == 0.005


def test_exponential_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError, match="base_delay"):
        ItemExponentialFailureRateLimiter(1, 0.5)


@given(st.integers(min_value=0, max_value=200))
def test_exponential_is_monotonic_and_bounded(n: int) -> None:
    r = ItemExponentialFailureRateLimiter(0.005, 1000)
    delays = [r.when("x") for _ in range(n + 1)]
    assert delays == sorted(delays)
    assert all(0.005 <= d <= 1000 for d in delays)


def test_bucket_burst_then_qps() -> None:
    clock = FakeClock()
    r = BucketRateLimiter(qps=10, burst=100, clock=clock)
    assert all(r.when(i) == 0 for i in range(100))
    assert r.when("x") == pytest.approx(0.1)
    assert r.when("y") == pytest.approx(0.2), "reservations queue up"
    assert r.num_requeues("x") == 0
    r.forget("x")  # a no-op
    assert r.when("z") == pytest.approx(0.3)


def test_bucket_refills_with_time_up_to_burst() -> None:
    clock = FakeClock()
    r = BucketRateLimiter(qps=10, burst=5, clock=clock)
    for _ in range(5):
        r.when("a")
    clock.step(0.3)  # 3 tokens back
    assert [r.when("a") for _ in range(3)] == [0, 0, 0]
    assert r.when("a") > 0
    clock.step(3600)  # refill caps at burst
    assert [r.when("a") for _ in range(5)] == [0] * 5
    assert r.when("a") == pytest.approx(0.1)


def test_fast_slow() -> None:
    r = ItemFastSlowRateLimiter(0.1, 5, 2)
    assert [r.when("a") for _ in range(4)] == [0.1, 0.1, 5, 5]
    assert r.num_requeues("a") == 4
    r.forget("a")
    assert r.when("a") == 0.1


def test_max_of_takes_the_longest_and_forgets_all() -> None:
    a = ItemExponentialFailureRateLimiter(1, 100)
    b = ItemFastSlowRateLimiter(3, 50, 1)
    r = MaxOfRateLimiter(a, b)
    assert r.when("x") == 3  # max(1, 3)
    assert r.when("x") == 50  # max(2, 50)
    assert r.when("x") == 50  # max(4, 50)
    assert r.num_requeues("x") == 3
    r.forget("x")
    assert a.num_requeues("x") == 0
    assert b.num_requeues("x") == 0
    with pytest.raises(ValueError, match="at least one"):
        MaxOfRateLimiter()


def test_default_controller_rate_limiter() -> None:
    clock = FakeClock()
    r = default_controller_rate_limiter(clock)
    assert r.when("a") == 0.005
    assert r.when("a") == 0.01
    for i in range(98):  # burst exhausted (2 used above)
        r.when(i)
    assert r.when("b") == pytest.approx(0.1), "bucket dominates a first failure"
    for _ in range(40):
        r.when("c")
    assert r.when("c") == 1000, "exponential caps at 1000 s"
