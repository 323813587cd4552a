"""Seeding, blocks of work and threads around the kernels.

Randomness is keyed to units of work, never to threads: the column of random numbers of group
``g`` (a ``kernels.L_*`` code: factor normals, attribution uniforms, ...) and index ``i`` in it,
in realization block ``b`` of epistemic draw ``d``, always comes from the generator
``SFC64(SeedSequence([seed, 1, d, b, g, i]))``. Each draw's accumulators
therefore depend only on ``(seed, d)``, and results are bitwise identical on any number of
threads or worker processes.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from forecast.config.silent import aggressor_calibrated
from forecast.model import jit, kernels, random_numbers, reference, streams
from forecast.model.beliefs import Draws, Model, build_model, draw_parameters
from forecast.model.inputs import Tallies, kernel_inputs
from forecast.model.war import N_PH
from forecast.sampling.estimates import max_mcse, summarise


@dataclass(frozen=True)
class Settings:
    seed: int
    realizations: int  # per draw, in this plan
    block_size: int
    backend: str
    threads: int
    # index of the first realization block (the stopping rule runs later blocks in rounds)
    block_start: int = 0


@dataclass(frozen=True)
class Plan:
    """Everything a worker needs to run any draw: picklable, no config objects."""

    model: Model
    draws: Draws
    settings: Settings
    # beliefs.aggressor_source=calibrated: the draws' crisis rates and their provenance
    # (forecast.calibration.crisis_rate.CrisisRate), else None
    crisis_rate: Any = None

    @property
    def n_draws(self) -> int:
        return self.draws.n_draws

    @property
    def n_blocks(self) -> int:
        return -(-self.settings.realizations // self.settings.block_size)


FIELDS = (
    "by_type",
    "by_partner",
    "mandates",
    "hist",
    "n",
    "mandates_perc",
    "by_pair",
    "by_phase",
    "phase_power",
)


@dataclass
class Accumulators:
    """Per-draw sums over realizations; the leading dim of every array is the draw.

    by_type (D, T, N_T), by_partner (D, T, P, N_TP), mandates (D, J), hist (D, T, N_BINS),
    n (D,) realizations run, mandates_perc (D, J) mandates in the aggressor's perceived world,
    by_pair (D, T, P, P, N_PP), by_phase (D, T, K, N_PH) and phase_power (D, T, K) of the war's
    phases (forecast.model.war).
    """

    by_type: np.ndarray
    by_partner: np.ndarray
    mandates: np.ndarray
    hist: np.ndarray
    n: np.ndarray
    mandates_perc: np.ndarray
    by_pair: np.ndarray
    by_phase: np.ndarray
    phase_power: np.ndarray

    @classmethod
    def zeros(cls, n_draws: int, model: Model) -> Accumulators:
        T, P, J = len(model.attack_types), model.n_partners, len(model.institutions)
        K = model.static["war"]["cum_days"].shape[1]
        return cls(
            np.zeros((n_draws, T, kernels.N_T)),
            np.zeros((n_draws, T, P, kernels.N_TP)),
            np.zeros((n_draws, J)),
            np.zeros((n_draws, T, kernels.N_BINS)),
            np.zeros(n_draws, dtype=np.int64),
            np.zeros((n_draws, J)),
            np.zeros((n_draws, T, P, P, kernels.N_PP)),
            np.zeros((n_draws, T, K, N_PH)),
            np.zeros((n_draws, T, K)),
        )

    def add(self, other: Accumulators) -> None:
        """Add another run's sums (same draws) to these, in place."""
        for name in FIELDS:
            getattr(self, name)[...] += getattr(other, name)

    def row(self, j: int) -> Tallies:
        """Views of draw-row ``j``'s accumulators, as the kernel takes them."""
        return Tallies(
            self.by_type[j],
            self.by_partner[j],
            self.mandates[j],
            self.hist[j],
            self.mandates_perc[j],
            self.by_pair[j],
            self.by_phase[j],
            self.phase_power[j],
        )


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def settings_from_config(sampler_cfg: Any) -> Settings:
    threads = sampler_cfg.threads
    return Settings(
        seed=int(sampler_cfg.seed),
        realizations=int(sampler_cfg.realizations),
        block_size=int(sampler_cfg.block_size),
        backend=str(getattr(sampler_cfg.backend, "value", sampler_cfg.backend)),
        threads=int(threads) if threads is not None else default_threads(),
    )


def make_plan(
    cfg: Any,
    uniforms: np.ndarray | None = None,
    fixed: dict[str, float] | None = None,
    validated: bool = False,
) -> Plan:
    """Validate the config, draw the epistemic parameters and settle the sampler's settings.

    ``validated=True``: the caller has checked ``cfg`` already (see
    :func:`forecast.model.beliefs.build_model`).

    ``uniforms`` and ``fixed`` are passed to :func:`forecast.model.beliefs.draw_parameters`: copula
    uniforms (draws, n_parameters) to use instead of random ones, and parameters held at a value.
    The realizations' random numbers depend only on (seed, draw, block), so plans that differ only
    in these share common random numbers.
    """
    model = build_model(cfg, validated=validated)
    settings = settings_from_config(cfg.sampler)
    n_draws = int(cfg.sampler.draws) if uniforms is None else len(uniforms)
    willingness = None
    source = getattr(getattr(cfg, "beliefs", None), "source", None)
    if str(getattr(source, "value", source)) == "calibrated":
        from forecast.calibration.willingness import calibrated_willingness

        willingness = calibrated_willingness(cfg, model, n_draws, settings.seed)
    crisis_rate = None
    if aggressor_calibrated(cfg):
        from forecast.calibration.crisis_rate import calibrated_crisis_rate

        crisis_rate = calibrated_crisis_rate(cfg, n_draws, settings.seed)
    draws = draw_parameters(
        model,
        n_draws,
        settings.seed,
        uniforms=uniforms,
        fixed=fixed,
        willingness=willingness,
        opportunities_per_year=None if crisis_rate is None else crisis_rate.rate,
    )
    return Plan(model=model, draws=draws, settings=settings, crisis_rate=crisis_rate)


def later_blocks(plan: Plan, block_start: int, n_blocks: int) -> Plan:
    """The same plan restricted to ``n_blocks`` full blocks from ``block_start`` on."""
    st = replace(
        plan.settings, block_start=block_start, realizations=n_blocks * plan.settings.block_size
    )
    return replace(plan, settings=st)


def column_generator(seed: int, draw: int, block: int, group: int, index: int):
    """numpy's generator of one column of realization block ``block`` of epistemic draw
    ``draw``: the column of group ``group`` (a ``kernels.L_*`` code) and index ``index`` in it,
    which :func:`random_numbers.fill_block` draws, in numba, as this generator would."""
    key = [seed, streams.CRISES, draw, block, group, index]
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(key)))


def block_key(seed: int, draw: int, block: int) -> np.ndarray:
    """uint32 entropy words of the key ``[seed, 1, draw, block]`` as numpy's SeedSequence
    coerces it (each integer's 32-bit words, low word first); :func:`random_numbers.fill_block`
    appends the column's ``[group, index]``."""
    return np.array([*_seed_words(seed), *key_words(draw), *key_words(block)], dtype=np.uint32)


def key_words(n: int) -> list[int]:
    """SeedSequence's 32-bit entropy words of a non-negative integer, low word first."""
    n = int(n)
    if n < 0:
        raise ValueError(f"a seed or index must be non-negative, got {n}")
    words = [0] if n == 0 else []
    while n:
        words.append(n & 0xFFFFFFFF)
        n >>= 32
    return words


@functools.lru_cache(maxsize=16)
def _seed_words(seed: int) -> tuple[int, ...]:
    return (*key_words(seed), *key_words(streams.CRISES))


class Scratch:
    """Reusable random-number buffers of one worker thread.

    ``block(n)`` gives z (n, NZ) and u (n, NU) in Fortran order: the kernel reads a column for
    consecutive crises, so each column is contiguous in memory (the numbers in them, and so every
    result, do not depend on the order).
    """

    def __init__(self, plan: Plan):
        self.n = min(plan.settings.block_size, plan.settings.realizations)
        self.nz, self.nu = plan.model.n_normals, plan.model.n_uniforms
        self._z = np.empty(self.n * self.nz)
        self._u = np.empty(self.n * self.nu)
        self.backend = plan.settings.backend
        self._kernel: Callable[..., None] | None = None
        self._fill: Callable[..., None] | None = None

    def fill_block(self, key: np.ndarray, z: np.ndarray, u: np.ndarray, *columns: Any) -> None:
        """:func:`random_numbers.fill_block` into this worker's blocks, its entry point resolved
        once for Fortran-ordered blocks (see :data:`jit.FORTRAN_BLOCK`)."""
        if self._fill is None:
            block = jit.FORTRAN_BLOCK
            self._fill = jit.specialise(random_numbers.fill_block, key, block, block, *columns)
        self._fill(key, z, u, *columns)

    def simulate_block(self, *args: Any) -> Callable[..., None]:
        """The block function of the plan's backend for these arguments' types (the same for
        every block of the plan: kernel_inputs gives contiguous arrays, block() the same
        layout), resolved once."""
        if self.backend != "numba":
            return reference.simulate_block
        if self._kernel is None:
            inputs, z, u, out = args
            assert z.flags.f_contiguous and u.flags.f_contiguous  # as block() gives them
            block = jit.FORTRAN_BLOCK
            self._kernel = jit.specialise(kernels.simulate_block, inputs, block, block, out)
        return self._kernel

    def block(self, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Buffers for a block of n (default: the largest) realizations."""
        n = self.n if n is None else n
        z = self._z[: n * self.nz].reshape(self.nz, n).T
        u = self._u[: n * self.nu].reshape(self.nu, n).T
        return z, u


def run_draw(plan: Plan, d: int, acc: Accumulators, j: int, scratch: Scratch) -> int:
    """Run the plan's realization blocks of draw ``d`` into row ``j`` of ``acc``.

    Blocks ``block_start`` .. ``block_start + n_blocks - 1``; returns the realizations run.
    """
    st = plan.settings
    inputs = kernel_inputs(plan.model, plan.draws, d)
    columns = plan.model.random_columns
    out = acc.row(j)
    done = 0
    for b in range(st.block_start, st.block_start + plan.n_blocks):
        n = min(st.block_size, st.realizations - done)
        z, u = scratch.block(n)
        scratch.fill_block(block_key(st.seed, d, b), z, u, *columns)
        scratch.simulate_block(inputs, z, u, out)(inputs, z, u, out)
        done += n
    return done


def run_draws(plan: Plan, draws: Iterable[int]) -> Accumulators:
    """Run the listed draws serially; the unit of work handed to a thread or a Dask task."""
    idx = list(draws)
    out = Accumulators.zeros(len(idx), plan.model)
    scratch = Scratch(plan)
    for j, d in enumerate(idx):
        out.n[j] = run_draw(plan, d, out, j, scratch)
    return out


class Interrupted(Exception):
    """The run was interrupted (Ctrl-C) before all draws finished."""


def chunks(n_draws: int, size: int) -> list[range]:
    return [range(s, min(s + size, n_draws)) for s in range(0, n_draws, size)]


def run_local(plan: Plan, progress: Callable[[int], None] | None = None) -> Accumulators:
    """Run all draws on a thread pool of ``plan.settings.threads`` threads.

    Draws are handed out in small chunks; each draw's results land in its own row, so the
    outcome does not depend on the number of threads or the order of completion.
    """
    D = plan.n_draws
    out = Accumulators.zeros(D, plan.model)
    threads = max(1, plan.settings.threads)
    per_chunk = max(1, min(64, D // (threads * 8) or 1))
    stop = threading.Event()

    def work(rows: range) -> range:
        scratch = Scratch(plan)
        for d in rows:
            if stop.is_set():
                raise Interrupted()
            out.n[d] = run_draw(plan, d, out, d, scratch)
        return rows

    todo = chunks(D, per_chunk)
    if threads == 1:
        for rows in todo:
            work(rows)
            if progress:
                progress(len(rows) * plan.settings.realizations)
        return out
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending = {pool.submit(work, rows) for rows in todo}
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for f in done:
                    rows = f.result()
                    if progress:
                        progress(len(rows) * plan.settings.realizations)
        except BaseException:
            stop.set()
            for f in pending:
                f.cancel()
            raise
    return out


__all__ = [
    "Accumulators",
    "Plan",
    "make_plan",
    "max_mcse",
    "run_draws",
    "run_local",
    "summarise",
]
