"""The Beta of a willingness given as a mean and a 90% interval."""

from __future__ import annotations

import pytest
from scipy import stats

from forecast.model.beliefs import beta_concentration


def _interval(mean, k):
    return stats.beta.ppf([0.05, 0.95], mean * k, (1 - mean) * k)


@pytest.mark.parametrize(
    "mean, interval",
    [(0.5, [0.3, 0.7]), (0.3, [0.1, 0.6]), (0.03, [0.005, 0.1]), (0.97, [0.9, 0.995])],
)
def test_the_beta_has_the_stated_width(mean, interval):
    """Also near 0 or 1, where near kappa 0 the Beta is a near-Bernoulli whose 90% interval is
    narrow again: the match is the Beta with its mass at one end, not at both."""
    k = beta_concentration(mean, interval)
    q = _interval(mean, k)
    assert q[1] - q[0] == pytest.approx(interval[1] - interval[0], abs=1e-6)
    a, b = mean * k, (1 - mean) * k
    assert a >= 1 or b >= 1  # not U-shaped


def test_an_interval_wider_than_any_beta_gets_the_widest():
    """Mean 0.02 cannot have a 90% interval 0.9 wide: the widest Beta with that mean."""
    k = beta_concentration(0.02, [0.001, 0.9])
    widest = _interval(0.02, k)
    for other in (k / 2, k * 2):
        q = _interval(0.02, other)
        assert q[1] - q[0] < widest[1] - widest[0]
