"""The run's random-number streams: the word after the seed in every ``SeedSequence`` key.

Every source of randomness of a run has its own stream, keyed to the run's seed and to units of
work (never to threads), so that no source can change another's numbers:

- :data:`EPISTEMIC`, key ``[seed, 0]``: the epistemic draws;
- :data:`CRISES`, key ``[seed, 1, draw, block, group, index]``: one column of random numbers of
  a realization block;
- :data:`SENSITIVITY_BOOTSTRAP`, key ``[seed, 7]``: the bootstrap resamples of the first-order
  sensitivity indices.

A crisis column's ``group`` is one of the ``L_*`` codes of :mod:`forecast.model.kernels` (factor
normals, attribution uniforms, ...) and ``index`` its place in the group (the partner, the factor,
the voter). The values are part of the output's contract: changing one changes every result of
every seed.
"""

from __future__ import annotations

#: ``SeedSequence([seed, EPISTEMIC])``: the copula normals of the epistemic draws
EPISTEMIC = 0
#: ``SeedSequence([seed, CRISES, draw, block, group, index])``: one column of random numbers of
#: realization block ``block`` of epistemic draw ``draw``
CRISES = 1
#: ``SeedSequence([seed, SENSITIVITY_BOOTSTRAP])``: the bootstrap of the first-order indices
SENSITIVITY_BOOTSTRAP = 7


def describe() -> str:
    """One line that says how a run's random numbers are keyed (the ``random_numbers``
    attribute of ``forecast.nc``)."""
    return (
        f"epistemic draws: SFC64(SeedSequence([seed, {EPISTEMIC}])); crises: one "
        f"SFC64(SeedSequence([seed, {CRISES}, draw, block, group, index])) per column of random "
        "numbers (forecast.sampling.sampler), blocks of sampler.block_size"
    )
