"""Seeding, blocks of work and threads around the kernels.

Randomness is keyed to units of work, never to threads: realization block ``b`` of epistemic draw
``d`` always uses the generator ``SeedSequence([seed, 1, d, b])``. Each draw's accumulators
therefore depend only on ``(seed, d)``, and results are bitwise identical on any number of
threads or worker processes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from forecast import kernels, reference
from forecast.beliefs import Draws, Model, build_model, draw_parameters


@dataclass(frozen=True)
class Settings:
    seed: int
    realizations: int
    block_size: int
    backend: str
    threads: int


@dataclass(frozen=True)
class Plan:
    """Everything a worker needs to run any draw: picklable, no config objects."""

    model: Model
    draws: Draws
    settings: Settings
    thr: np.ndarray  # (D, P) probit thresholds of true willingness
    thr_perc: np.ndarray  # (D, P) the same as the aggressor perceives it

    @property
    def n_draws(self) -> int:
        return self.draws.n_draws

    @property
    def n_blocks(self) -> int:
        return -(-self.settings.realizations // self.settings.block_size)


@dataclass
class Accumulators:
    """Per-draw sums over realizations: scalar (D, N_SCALAR), partner (D, P, N_PARTNER)."""

    scalar: np.ndarray
    partner: np.ndarray
    n: np.ndarray  # (D,) realizations run for each draw

    @classmethod
    def zeros(cls, n_draws: int, n_partners: int) -> Accumulators:
        return cls(
            np.zeros((n_draws, kernels.N_SCALAR)),
            np.zeros((n_draws, n_partners, kernels.N_PARTNER)),
            np.zeros(n_draws, dtype=np.int64),
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
) -> Plan:
    """Validate the config, draw the epistemic parameters and precompute thresholds.

    ``uniforms`` and ``fixed`` are passed to :func:`forecast.beliefs.draw_parameters`: copula
    uniforms (draws, n_parameters) to use instead of random ones, and parameters held at a value.
    The realizations' random numbers depend only on (seed, draw, block), so plans that differ only
    in these share common random numbers.
    """
    model = build_model(cfg)
    settings = settings_from_config(cfg.sampler)
    n_draws = int(cfg.sampler.draws) if uniforms is None else len(uniforms)
    draws = draw_parameters(model, n_draws, settings.seed, uniforms=uniforms, fixed=fixed)
    return Plan(
        model=model,
        draws=draws,
        settings=settings,
        thr=special.ndtri(draws.willingness),
        thr_perc=special.ndtri(draws.perceived),
    )


def block_generator(seed: int, draw: int, block: int) -> np.random.Generator:
    """The generator of realization block ``block`` of epistemic draw ``draw``."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence([seed, 1, draw, block])))


def _block_function(backend: str) -> Callable[..., None]:
    return kernels.simulate_block if backend == "numba" else reference.simulate_block


def run_draw(plan: Plan, d: int, acc: np.ndarray, acc_p: np.ndarray, buf: np.ndarray) -> int:
    """Run every realization block of draw ``d`` into ``acc`` (N_SCALAR,), ``acc_p`` (P, ...).

    ``buf`` is a scratch array of shape (block_size, K + P). Returns the realizations run.
    """
    m, st, dr = plan.model, plan.settings, plan.draws
    simulate_block = _block_function(st.backend)
    done = 0
    for b in range(plan.n_blocks):
        n = min(st.block_size, st.realizations - done)
        z = buf[:n]
        block_generator(st.seed, d, b).standard_normal(out=z)
        simulate_block(
            plan.thr[d],
            plan.thr_perc[d],
            m.loadings,
            m.idio,
            dr.capability[d],
            dr.capability_target[d],
            dr.capability_aggressor[d],
            m.exponent,
            z,
            acc,
            acc_p,
        )
        done += n
    return done


def scratch(plan: Plan) -> np.ndarray:
    m = plan.model
    width = len(m.factors) + m.n_partners
    return np.empty((min(plan.settings.block_size, plan.settings.realizations), width))


def run_draws(plan: Plan, draws: Iterable[int]) -> Accumulators:
    """Run the listed draws serially; the unit of work handed to a thread or a Dask task."""
    idx = list(draws)
    out = Accumulators.zeros(len(idx), plan.model.n_partners)
    buf = scratch(plan)
    for j, d in enumerate(idx):
        out.n[j] = run_draw(plan, d, out.scalar[j], out.partner[j], buf)
    return out


class Interrupted(Exception):
    """The run was interrupted (Ctrl-C) before all draws finished."""


def chunks(n_draws: int, size: int) -> list[range]:
    return [range(s, min(s + size, n_draws)) for s in range(0, n_draws, size)]


def run_local(plan: Plan, progress: Callable[[int], None] | None = None) -> Accumulators:
    """Run all draws on a thread pool of ``plan.settings.threads`` threads.

    Draws are handed out in small chunks; each chunk's results land in its own rows, so the
    outcome does not depend on the number of threads or the order of completion.
    """
    D, P = plan.n_draws, plan.model.n_partners
    out = Accumulators.zeros(D, P)
    threads = max(1, plan.settings.threads)
    per_chunk = max(1, min(64, D // (threads * 8) or 1))
    stop = threading.Event()

    def work(rows: range) -> range:
        buf = scratch(plan)
        for d in rows:
            if stop.is_set():
                raise Interrupted()
            out.n[d] = run_draw(plan, d, out.scalar[d], out.partner[d], buf)
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


def summarise(plan: Plan, acc: Accumulators) -> dict[str, np.ndarray]:
    """Per-draw probabilities and their Monte Carlo standard errors from the accumulators.

    P(defence succeeds | attack) is the mean contest-success probability over realizations (a
    Rao-Blackwellised estimate of the contest's outcome). The aggressor attacks when its perceived
    value of attacking, prize * P(win) - cost, plus logistic decision noise exceeds the status
    quo's 0, so P(attack) = expit((prize * P_perceived(win) - cost) / decision_noise).
    """
    m = plan.model
    n = acc.n.astype(float)
    s = acc.scalar

    def mean_and_mcse(total: np.ndarray, total_sq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = total / n
        var = np.clip(total_sq / n - mean**2, 0.0, None) * n / np.maximum(n - 1, 1)
        return mean, np.sqrt(var / n)

    p_def, mcse_def = mean_and_mcse(s[:, kernels.S_CSF], s[:, kernels.S_CSF2])
    p_lose_perc, mcse_perc = mean_and_mcse(s[:, kernels.S_PCSF], s[:, kernels.S_PCSF2])
    p_win_perc = 1.0 - p_lose_perc
    value = m.prize * p_win_perc - m.cost
    p_attack = special.expit(value / m.decision_noise)
    # delta method: d p_attack / d p_win = prize / noise * p (1 - p)
    mcse_attack = m.prize / m.decision_noise * p_attack * (1 - p_attack) * mcse_perc
    p_join = acc.partner[:, :, kernels.A_JOIN] / n[:, None]
    mcse_join = np.sqrt(p_join * (1 - p_join) / n[:, None])
    return {
        "p_attack": p_attack,
        "mcse_p_attack": mcse_attack,
        "p_deterrence": 1.0 - p_attack,
        "mcse_p_deterrence": mcse_attack,
        "p_defense_success": p_def,
        "mcse_p_defense_success": mcse_def,
        "p_win_perceived": p_win_perc,
        "mcse_p_win_perceived": mcse_perc,
        "p_join": p_join,
        "mcse_p_join": mcse_join,
    }
