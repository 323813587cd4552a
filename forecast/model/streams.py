"""The run's random-number streams: the word after the seed in every ``SeedSequence`` key.

Every source of randomness of a run has its own stream, keyed to the run's seed and to units of
work (never to threads), so that no source can change another's numbers:

- :data:`EPISTEMIC`, key ``[seed, 0, kind, key]``: the epistemic draws, one stream per factor
  (kind 1) and per parameter (kind 2), ``key`` the stable hash of its name
  (:func:`forecast.model.arrays.stable_key`), so that no parameter's draws depend on which
  others exist;
- :data:`CRISES`, key ``[seed, 1, draw, block, group, index]``: one column of random numbers of
  a realization block;
- :data:`SENSITIVITY_BOOTSTRAP`, key ``[seed, 7]``: the bootstrap resamples of the first-order
  sensitivity indices;
- :data:`INITIATION_POSTERIOR`, key ``[seed, 8]``: which initiation-posterior draw each
  epistemic draw takes (``beliefs.aggressor_source=calibrated``).

A crisis column's ``group`` is one of the ``L_*`` codes of :mod:`forecast.model.kernels` (factor
normals, attribution uniforms, ...) and ``index`` the stable hash of the partner's state code, of
the factor's name or of the institution and voter (0 for one-column groups), never a position.
The values are part of the output's contract: changing one changes every result of
every seed.
"""

from __future__ import annotations

#: ``SeedSequence([seed, EPISTEMIC, kind, key])``: the copula normals of the epistemic draws
EPISTEMIC = 0
#: ``SeedSequence([seed, CRISES, draw, block, group, index])``: one column of random numbers of
#: realization block ``block`` of epistemic draw ``draw``
CRISES = 1
#: ``SeedSequence([seed, SENSITIVITY_BOOTSTRAP])``: the bootstrap of the first-order indices
SENSITIVITY_BOOTSTRAP = 7
#: ``SeedSequence([seed, INITIATION_POSTERIOR])``: the initiation-posterior draw of each
#: epistemic draw
INITIATION_POSTERIOR = 8


def describe() -> str:
    """One line that says how a run's random numbers are keyed (the ``random_numbers``
    attribute of ``forecast.nc``)."""
    return (
        f"epistemic draws: one SFC64(SeedSequence([seed, {EPISTEMIC}, kind, key])) per factor "
        "(kind 1) and parameter (kind 2), key a stable hash of its name; crises: one "
        f"SFC64(SeedSequence([seed, {CRISES}, draw, block, group, index])) per column of random "
        "numbers (forecast.sampling.sampler), index a stable hash of the partner's state code, "
        "blocks of sampler.block_size"
    )
