"""Speed of the sampler against its peers, its scaling, its start-up and its RNG-bound limit.

One command runs everything and writes ``bench_sampler.json`` and ``bench_sampler.png`` to
``outputs/benchmarks/``::

    python benchmarks/bench_sampler.py            # full: realizations up to 10^9 (about 75 s)
    python benchmarks/bench_sampler.py --quick    # realizations up to 10^7 (about 40 s)
    python benchmarks/bench_sampler.py --replot   # redraw the PNG from the JSON

What it measures, all in the same invocation so that ratios compare like with like on a machine
whose load changes from minute to minute:

- **peers**: realizations/s of the numba sampler (``sampler.backend=numba``), of the numpy
  reference (``sampler.backend=numpy``) on the full Taiwan model, and of the core model
  (correlated joins through the Gaussian copula + the contest) written in PyMC and
  forward-sampled with ``pm.draw``; ratios numba / numpy and numba / PyMC.
- **rng**: the raw rate of the sampler's generator (numpy's SFC64 with numpy's double and
  ziggurat normal, inlined in numba: standard normals and uniforms), the RNG-bound limit it
  implies for the numbers one Taiwan crisis draws, and the sampler's fraction of that limit.
- **toy**: a 7-partner model written the plain way in numba, and the sampler's rate as a
  multiple of its rate.
- **ratios**: the last two are taken in turns (``--rounds``): each round times the sampler (one
  thread, its whole work), the toy and the generator one after the other, and the ratios are
  taken within the round; the medians and ranges over the rounds are reported.
- **scaling**: with realizations (10^5 .. 10^9, each in a fresh process that also reports its
  peak RSS), with the number of partners (2 .. 64, synthesized from Taiwan's partners) and with
  threads (1, 2).
- **startup**: numba compile time (empty cache), cache-load time (second fresh process), and
  the time from process start to the first sample with a warm cache, with the heaviest imports.

Every timing is the best of ``--repeats`` unless it runs in its own process. Rates are given per
wall-clock second (what a user waits) and per CPU second of the process (what the machine's
other load does not distort; x cores gives the ideal multi-core rate). The load average is
recorded. Nothing here is asserted: timings belong in benchmarks, not tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "outputs" / "benchmarks"
SCRIPT = Path(__file__).resolve()

# Which realizations, partners and threads to scan; --quick stops the realizations at 10^7.
REALIZATIONS = [10**5, 10**6, 10**7, 10**8, 10**9]
PARTNERS = [2, 4, 8, 16, 32, 64]


# ------------------------------------------------------------------------------------------------
# Plans
# ------------------------------------------------------------------------------------------------


def taiwan_plan(draws: int, realizations: int, backend: str = "numba", threads: int | None = None):
    """A Taiwan plan of ``draws`` x ``realizations`` crises (blocks of at most 10 000)."""
    from forecast.config.loading import load_config
    from forecast.sampling import sampler

    overrides = [
        f"sampler.draws={draws}",
        f"sampler.realizations={realizations}",
        f"sampler.block_size={min(realizations, 10000)}",
        f"sampler.backend={backend}",
        "sampler.progress=false",
    ]
    if threads is not None:
        overrides.append(f"sampler.threads={threads}")
    return sampler.make_plan(load_config(overrides))


def _rename(value, codes: dict[str, str]):
    """``value`` with every partner code in it (keys, list items, strings) mapped by ``codes``."""
    if isinstance(value, dict):
        return {codes.get(k, k): _rename(v, codes) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, codes) for v in value]
    return codes.get(value, value) if isinstance(value, str) else value


def partners_config(n_partners: int, draws: int, realizations: int):
    """Taiwan with ``n_partners`` partners: copies of its four, cycling USA, JPN, AUS, PHL.

    Copy k of a partner keeps its beliefs and mechanisms (attack types, attribution, delays,
    access, requires, allies, buck-passing, loadings); references to USA and JPN point to the
    first copies, P00 and P01, so the dependency structure stays Taiwan's.
    """
    from omegaconf import OmegaConf, open_dict

    from forecast.config.loading import load_config

    cfg = load_config(
        [
            f"sampler.draws={draws}",
            f"sampler.realizations={realizations}",
            f"sampler.block_size={min(realizations, 10000)}",
            "sampler.progress=false",
        ]
    )
    templates = OmegaConf.to_container(cfg.scenario.actors)
    names = list(templates)
    codes = {"USA": "P00", "JPN": "P01"}
    actors = {}
    for k in range(n_partners):
        source = templates[names[k % len(names)]]
        actor = _rename(source, codes)
        actor["name"] = f"partner {k} ({names[k % len(names)]})"
        if n_partners < 2:  # no partner to depend on
            for key in ("requires", "allies", "access"):
                actor.pop(key, None)
        actors[f"P{k:02d}"] = actor
    with open_dict(cfg):
        for key in list(cfg.scenario.actors):
            del cfg.scenario.actors[key]
        cfg.merge_with({"scenario": {"actors": actors}})
    return cfg


def core_config(draws: int, realizations: int):
    """Taiwan reduced to the core model that the PyMC peer runs: its four partners with only
    their willingness, capability and factor loadings, one attack type, no fait accompli.

    The kernel still runs its full code path (the perceived world, pivotality, the histogram),
    with every mechanism switched off by the data.
    """
    from omegaconf import OmegaConf, open_dict

    from forecast.config.loading import load_config
    from forecast.config.schema import EscalationConfig, ResolveConfig, WarConfig

    cfg = load_config(
        [
            f"sampler.draws={draws}",
            f"sampler.realizations={realizations}",
            f"sampler.block_size={min(realizations, 10000)}",
            "sampler.progress=false",
        ]
    )
    keep = ("name", "commitment", "willingness", "capability", "loadings")
    actors = {
        code: {k: v for k, v in actor.items() if k in keep}
        for code, actor in OmegaConf.to_container(cfg.scenario.actors).items()
    }
    sc = cfg.scenario
    with open_dict(cfg):
        for node in (sc.actors, sc.attack_types, sc.institutions):
            for key in list(node):
                del node[key]
        # the war as a process off: one contest, a target that always fights, no escalation
        sc.war = WarConfig()
        sc.escalation = EscalationConfig()
        sc.target.resolve = ResolveConfig()
        cfg.merge_with(
            {
                "scenario": {
                    "aggressor": {
                        "choose_type": False,
                        "fait_accompli": {"mean": 0.0, "sd": 0.0, "spread": 0.0},
                    },
                    "actors": actors,
                }
            }
        )
    return cfg


def _with_threads(plan, threads: int):
    return dataclasses.replace(plan, settings=dataclasses.replace(plan.settings, threads=threads))


def _timed_run(plan, repeats: int) -> dict:
    """Best-of-``repeats`` wall and process-CPU seconds of ``sampler.run_local(plan)``."""
    from forecast.sampling import sampler

    best_wall = best_cpu = float("inf")
    n = 0
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        acc = sampler.run_local(plan)
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        n = int(acc.n.sum())
    return {
        "realizations": n,
        "threads": plan.settings.threads,
        "wall_seconds": best_wall,
        "cpu_seconds": best_cpu,
        "realizations_per_second": n / best_wall,
        "realizations_per_cpu_second": n / best_cpu,
        "cpu_ns_per_realization": best_cpu / n * 1e9,
    }


# ------------------------------------------------------------------------------------------------
# Peers: numba, numpy reference, PyMC
# ------------------------------------------------------------------------------------------------


def pymc_core_model(plan, draw: int, n: int):
    """The skeleton's core model for draw ``draw`` of ``plan``, vectorised over ``n`` crises.

    Latent resolve x_i = sum_k L_ik g_k + sqrt(1 - |L_i|^2) e_i (a Gaussian copula with factor
    loadings), partner i joins when x_i < Phi^-1(w_i) (the first attack type's thresholds), the
    coalition wins with probability C^m / (C^m + A^m). Returns the tensors to ``pm.draw``:
    P(defence succeeds) and P(joins) (P,), averaged over the n crises.
    """
    import pymc as pm
    import pytensor.tensor as pt

    from forecast.model.inputs import kernel_inputs

    inp = kernel_inputs(plan.model, plan.draws, draw)
    pa = inp.partners
    thr, loadings, idio, cap = pa.thr[0], pa.loadings, pa.idio, pa.cap
    cap_target, cap_aggr, m = inp.power.target, inp.power.aggressor, inp.power.exponent
    P, K = loadings.shape
    with pm.Model():
        e = pm.Normal("e", 0.0, 1.0, shape=(n, P))
        x = e * idio
        if K:
            g = pm.Normal("g", 0.0, 1.0, shape=(n, K))
            x = x + pt.dot(g, loadings.T)
        joins = pt.lt(x, thr)
        c = cap_target + pt.sum(joins * cap, axis=1)
        p = c**m / (c**m + cap_aggr**m)
        win = pm.Bernoulli("win", p=p)
    return [pt.mean(win), pt.mean(joins, axis=0)]


def bench_pymc(plan, n: int, draws: int, repeats: int) -> dict:
    """``pm.draw`` of the core model: ``draws`` calls, each of ``n`` crises."""
    import pymc as pm

    outputs = pymc_core_model(plan, 0, n)
    t0 = time.perf_counter()
    pm.draw(outputs, draws=1, random_seed=1)  # compiles the pytensor function
    compile_seconds = time.perf_counter() - t0
    best_wall = best_cpu = float("inf")
    for rep in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        pm.draw(outputs, draws=draws, random_seed=rep)
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    total = n * draws
    return {
        "model": "core only: Gaussian-copula joins (first attack type) + contest, pm.draw",
        "crises_per_draw": n,
        "draws": draws,
        "realizations": total,
        "compile_seconds": compile_seconds,
        "wall_seconds": best_wall,
        "cpu_seconds": best_cpu,
        "realizations_per_second": total / best_wall,
        "realizations_per_cpu_second": total / best_cpu,
        "cpu_ns_per_realization": best_cpu / total * 1e9,
    }


def bench_peers(args) -> dict:
    from forecast.sampling import sampler

    threads = sampler.default_threads()
    numba_plan = taiwan_plan(args.peer_draws, args.peer_realizations, "numba", threads)
    sampler.run_draws(numba_plan, [0])  # load the compiled kernels
    numba = _timed_run(numba_plan, args.repeats)
    core_plan = _with_threads(
        sampler.make_plan(core_config(args.peer_draws, args.peer_realizations)), threads
    )
    sampler.run_draws(core_plan, [0])
    numba_core = _timed_run(core_plan, args.repeats)
    numpy_plan = taiwan_plan(args.numpy_draws, args.peer_realizations, "numpy", threads)
    numpy = _timed_run(numpy_plan, max(1, args.repeats - 1))
    # a PyMC user writes the generative model of one crisis and draws it: one crisis per draw
    pymc = bench_pymc(numba_plan, 1, args.pymc_single_draws, max(1, args.repeats - 1))
    # PyMC's best case: the model vectorised over a batch of crises, one batch per draw
    pymc_batch = bench_pymc(numba_plan, 10000, args.pymc_draws, max(1, args.repeats - 1))
    return {
        "note": (
            "numba and numpy run the FULL Taiwan model (3 attack types, attribution, requires, "
            "buck-passing, chain-ganging, access, delays and fait accompli, other theatres, "
            "misperception, pivotality, histogram); PyMC runs only the core model (copula joins "
            "for one attack type + contest), so its ratios flatter PyMC. 'pymc' draws one crisis "
            "per pm.draw draw (the generative model as a PyMC user writes it); "
            "'pymc_vectorised' draws 10 000 crises per draw (PyMC's best case); 'numba_core' is "
            "the numba sampler on Taiwan reduced to that core model (like for like)"
        ),
        "threads": threads,
        "numba": numba,
        "numpy": numpy,
        "pymc": pymc,
        "pymc_vectorised": pymc_batch,
        "numba_core": numba_core,
        "ratio_numba_core_to_pymc": numba_core["realizations_per_second"]
        / pymc["realizations_per_second"],
        "ratio_numba_core_to_pymc_vectorised": numba_core["realizations_per_second"]
        / pymc_batch["realizations_per_second"],
        "cpu_ratio_numba_core_to_pymc_vectorised": pymc_batch["cpu_ns_per_realization"]
        / numba_core["cpu_ns_per_realization"],
        "ratio_numba_to_numpy": numba["realizations_per_second"] / numpy["realizations_per_second"],
        "ratio_numba_to_pymc": numba["realizations_per_second"] / pymc["realizations_per_second"],
        "ratio_numba_to_pymc_vectorised": numba["realizations_per_second"]
        / pymc_batch["realizations_per_second"],
        "cpu_ratio_numba_to_numpy": numpy["cpu_ns_per_realization"]
        / numba["cpu_ns_per_realization"],
        "cpu_ratio_numba_to_pymc": pymc["cpu_ns_per_realization"] / numba["cpu_ns_per_realization"],
    }


# ------------------------------------------------------------------------------------------------
# The numba toy: the model written the plain way
# ------------------------------------------------------------------------------------------------

TOY_PARTNERS = 7


def _toy_kernel():
    """A 7-partner crisis model as one would first write it in numba: a common factor, Bernoulli
    joins through a Gaussian copula, and a contest, one crisis at a time, each number drawn
    from numpy's Generator (as numba supports it). Returns the coalition's wins (so nothing is
    optimised away)."""
    from numba import njit

    @njit(nogil=True)
    def toy(rng, n, thr, load, cap, target, aggressor, m):
        wins = 0
        for _ in range(n):
            g = rng.standard_normal()
            c = target
            for i in range(thr.shape[0]):
                x = load[i] * g + np.sqrt(1.0 - load[i] * load[i]) * rng.standard_normal()
                if x < thr[i]:
                    c += cap[i]
            p = c**m / (c**m + aggressor**m)
            wins += rng.random() < p
        return wins

    return toy


def toy_timer(args):
    """A function that times the numba toy once: its CPU ns per crisis, on the calling thread."""
    toy = _toy_kernel()
    rng = np.random.default_rng(1)
    thr = np.linspace(-0.5, 0.5, TOY_PARTNERS)
    load = np.full(TOY_PARTNERS, 0.6)
    cap = np.linspace(1.0, 4.0, TOY_PARTNERS)
    toy(rng, 10, thr, load, cap, 2.0, 10.0, 2.0)
    n = args.toy_crises

    def timed() -> float:
        return _thread_seconds(toy, rng, n, thr, load, cap, 2.0, 10.0, 2.0) / n * 1e9

    return timed


def sampler_timer(args):
    """The sampler's Taiwan plan, and a function that times the sampler once on the calling
    thread: its CPU ns per crisis for the whole of its work (each draw's inputs, filling the
    random blocks, the kernel), on one thread as the toy and the generator are timed."""
    from forecast.sampling import sampler

    plan = taiwan_plan(args.ratio_draws, args.peer_realizations, "numba", 1)
    sampler.run_draws(plan, [0])
    draws = range(plan.n_draws)
    n = plan.n_draws * plan.settings.realizations

    def timed() -> float:
        return _thread_seconds(sampler.run_draws, plan, draws) / n * 1e9

    return plan, timed


def bench_ratios(args) -> dict:
    """The sampler against the numba toy and against its RNG-bound limit, timed in turns.

    The machine's load changes from second to second, so each round times the sampler, the toy
    and the generator one after the other, all on one thread, and takes the ratios within the
    round; the medians over ``--rounds`` rounds are reported, with the range. Timing each peer
    once, minutes apart, let one noisy minute move a ratio by a fifth."""
    plan, sampler_ns = sampler_timer(args)
    toy_ns, rng = toy_timer(args), rng_timer(args, *plan.model.random_numbers_per_crisis)
    rounds = []
    for _ in range(args.rounds):
        s, t, (n_ns, u_ns) = sampler_ns(), toy_ns(), rng["timed"]()
        per_crisis = rng["normals_per_crisis"] * n_ns + rng["uniforms_per_crisis"] * u_ns
        rounds.append(
            {
                "sampler_cpu_ns_per_crisis": s,
                "toy_cpu_ns_per_crisis": t,
                "ns_per_normal": n_ns,
                "ns_per_uniform": u_ns,
                "rng_ns_per_crisis": per_crisis,
                "sampler_rate_over_toy_rate": t / s,
                "fraction_of_limit_cpu": per_crisis / s,
            }
        )

    def med(key: str) -> float:
        return float(np.median([r[key] for r in rounds]))

    def span(key: str) -> list[float]:
        return [min(r[key] for r in rounds), max(r[key] for r in rounds)]

    return {
        "note": (
            "one thread each; per round the sampler (Taiwan, full model, its whole work), the toy "
            "and the generator in turn, the ratios taken within the round; medians over rounds"
        ),
        "rounds": rounds,
        "sampler_cpu_ns_per_crisis": med("sampler_cpu_ns_per_crisis"),
        "toy_cpu_ns_per_crisis": med("toy_cpu_ns_per_crisis"),
        "rng_ns_per_crisis": med("rng_ns_per_crisis"),
        "ns_per_normal": med("ns_per_normal"),
        "ns_per_uniform": med("ns_per_uniform"),
        "sampler_rate_over_toy_rate": med("sampler_rate_over_toy_rate"),
        "sampler_rate_over_toy_rate_range": span("sampler_rate_over_toy_rate"),
        "fraction_of_limit_cpu": med("fraction_of_limit_cpu"),
        "fraction_of_limit_cpu_range": span("fraction_of_limit_cpu"),
    }


def bench_toy(ratios: dict) -> dict:
    """The numba toy's CPU time per crisis, and the sampler's rate as a share of its rate."""
    return {
        "model": (
            f"{TOY_PARTNERS} partners, one common factor, Bernoulli joins (copula), a contest; "
            "numpy's Generator called from numba, one crisis at a time"
        ),
        "cpu_ns_per_crisis": ratios["toy_cpu_ns_per_crisis"],
        "sampler_cpu_ns_per_crisis": ratios["sampler_cpu_ns_per_crisis"],
        "sampler_rate_over_toy_rate": ratios["sampler_rate_over_toy_rate"],
        "sampler_rate_over_toy_rate_range": ratios["sampler_rate_over_toy_rate_range"],
        "rounds": len(ratios["rounds"]),
    }


# ------------------------------------------------------------------------------------------------
# The RNG-bound limit
# ------------------------------------------------------------------------------------------------


def _rng_kernels():
    """numba loops that draw n numbers into a small (L1-resident) ring buffer, with the
    sampler's own inlined generator (:func:`forecast.model.random_numbers.sfc64_normal` and
    :func:`~forecast.model.random_numbers.sfc64_double`).

    Storing every number keeps the compiler from dropping the draws; a running sum would
    instead serialise them on the adder and understate the generator's rate.
    """
    from numba import njit

    from forecast.model.random_numbers import sfc64_double, sfc64_normal

    @njit(nogil=True)
    def normals(state, n, buf):
        mask = buf.shape[0] - 1
        a, b, c, k = state[0], state[1], state[2], state[3]
        for i in range(n):
            buf[i & mask], a, b, c, k = sfc64_normal(a, b, c, k)
        state[0], state[1], state[2], state[3] = a, b, c, k

    @njit(nogil=True)
    def uniforms(state, n, buf):
        mask = buf.shape[0] - 1
        a, b, c, k = state[0], state[1], state[2], state[3]
        for i in range(n):
            buf[i & mask], a, b, c, k = sfc64_double(a, b, c, k)
        state[0], state[1], state[2], state[3] = a, b, c, k

    @njit(nogil=True)
    def generator_normals(rng, n, buf):  # numpy's Generator called from numba, for comparison
        mask = buf.shape[0] - 1
        for i in range(n):
            buf[i & mask] = rng.standard_normal()

    @njit(nogil=True)
    def generator_uniforms(rng, n, buf):
        mask = buf.shape[0] - 1
        for i in range(n):
            buf[i & mask] = rng.random()

    return normals, uniforms, generator_normals, generator_uniforms


def _thread_seconds(f, *a) -> float:
    t0 = time.thread_time()
    f(*a)
    return time.thread_time() - t0


def rng_timer(args, nz: int, nu: int) -> dict:
    """The nz normals and nu uniforms one crisis draws (not its block's columns), and a function
    that times the sampler's generator once: its CPU ns per normal and per uniform, on the
    calling thread."""
    from forecast.model import random_numbers
    from forecast.sampling import sampler

    normals, uniforms, _, _ = _rng_kernels()
    state = np.empty(4, dtype=np.uint64)  # an SFC64 state
    random_numbers.sfc64_seed(sampler.block_key(1, 0, 0), state)
    buf = np.empty(4096)
    normals(state, 10, buf)
    uniforms(state, 10, buf)
    n = args.rng_numbers

    def timed() -> tuple[float, float]:
        t_n = _thread_seconds(normals, state, n, buf) / n
        t_u = _thread_seconds(uniforms, state, n, buf) / n
        return t_n * 1e9, t_u * 1e9

    return {"normals_per_crisis": nz, "uniforms_per_crisis": nu, "timed": timed}


def bench_rng(args, ratios: dict, sampler_wall_rate: float, threads: int) -> dict:
    """Raw generator rate inside numba and the limit it sets on realizations per second."""
    from forecast.model import random_numbers
    from forecast.sampling import sampler

    plan = taiwan_plan(4, 10000)
    drawn = plan.model.random_columns
    _, _, generator_normals, generator_uniforms = _rng_kernels()
    buf = np.empty(4096)
    n = args.rng_numbers
    # the same numbers through numpy's Generator object, as numba supports it (a call through a
    # function pointer per number): what the sampler used before it inlined the generator
    gen = np.random.Generator(np.random.SFC64(1))
    generator_normals(gen, 10, buf)
    generator_uniforms(gen, 10, buf)
    t_gn = min(_thread_seconds(generator_normals, gen, n, buf) for _ in range(args.repeats)) / n
    t_gu = min(_thread_seconds(generator_uniforms, gen, n, buf) for _ in range(args.repeats)) / n
    # the sampler's own fill of one block (writes to memory), for comparison
    z, u = sampler.Scratch(plan).block()  # as the sampler
    random_numbers.fill_block(sampler.block_key(1, 0, 0), z, u, *drawn)
    t_fill = (
        min(
            _thread_seconds(random_numbers.fill_block, sampler.block_key(1, 0, b), z, u, *drawn)
            for b in range(20)  # 0.4 ms each: enough tries that noise does not dominate
        )
        / 10000
    )
    per_crisis = ratios["rng_ns_per_crisis"] * 1e-9
    limit_per_core = 1.0 / per_crisis
    nz, nu = plan.model.random_numbers_per_crisis
    return {
        "generator": (
            "numpy's SFC64 with numpy's double and ziggurat-normal algorithms, inlined in numba "
            "(random_numbers.sfc64_double and sfc64_normal, as random_numbers.fill_block draws "
            "them)"
        ),
        "ns_per_normal": ratios["ns_per_normal"],
        "ns_per_uniform": ratios["ns_per_uniform"],
        "numpy_generator_in_numba_ns_per_normal": t_gn * 1e9,
        "numpy_generator_in_numba_ns_per_uniform": t_gu * 1e9,
        "normals_per_crisis": nz,
        "uniforms_per_crisis": nu,
        "block_columns": [plan.model.n_normals, plan.model.n_uniforms],
        "rng_ns_per_crisis": per_crisis * 1e9,
        "fill_block_ns_per_crisis": t_fill * 1e9,
        "limit_per_core": limit_per_core,
        "limit_all_cores": limit_per_core * threads,
        "threads": threads,
        "sampler_cpu_ns_per_crisis": ratios["sampler_cpu_ns_per_crisis"],
        "fraction_of_limit_cpu": ratios["fraction_of_limit_cpu"],
        "fraction_of_limit_cpu_range": ratios["fraction_of_limit_cpu_range"],
        "fraction_of_limit_wall": sampler_wall_rate / (limit_per_core * threads),
    }


# ------------------------------------------------------------------------------------------------
# Scaling
# ------------------------------------------------------------------------------------------------


def _child(task: str, **kw) -> dict:
    """Run ``task`` of this script in a fresh Python process and return its JSON answer."""
    env = {**os.environ, **kw.pop("env", {})}
    cmd = [sys.executable, str(SCRIPT), "--child", task, json.dumps(kw)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child {task} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_run(draws: int, realizations: int, threads: int | None = None) -> dict:
    """In a fresh process: one Taiwan run (kernels loaded first), its rate and peak RSS."""
    from forecast.sampling import sampler

    plan = taiwan_plan(draws, realizations, threads=threads)
    sampler.run_draws(taiwan_plan(1, 1000), [0])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = _timed_run(plan, 1)
    out["draws"] = draws
    out["realizations_per_draw"] = realizations
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["rss_before_run_mib"] = rss_before / 1024
    return out


def bench_realizations(args) -> list[dict]:
    rows = []
    for total in [n for n in REALIZATIONS if n <= args.max_realizations]:
        draws = min(64, max(8, total // 10**5))  # several draws, so that threads are used
        row = _child("run", draws=draws, realizations=total // draws)
        row["children_max_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        rows.append(row)
        print(
            f"  {row['realizations']:>13,} realizations: "
            f"{row['realizations_per_second'] / 1e6:6.2f} M/s, "
            f"peak RSS {row['peak_rss_mib']:.0f} MiB",
            flush=True,
        )
    return rows


def bench_partners(args) -> list[dict]:
    from forecast.sampling import sampler

    rows = []
    for p in PARTNERS:
        draws = 8
        per_draw = max(2000, args.partner_crises // (draws * max(1, p // 4)))
        plan = sampler.make_plan(partners_config(p, draws, per_draw))
        sampler.run_draws(plan, [0])
        row = _timed_run(plan, args.repeats)
        row["partners"] = p
        row["cpu_ns_per_realization_per_partner"] = row["cpu_ns_per_realization"] / p
        rows.append(row)
        print(
            f"  {p:3d} partners: {row['cpu_ns_per_realization']:8.0f} ns CPU per crisis", flush=True
        )
    return rows


def bench_threads(args) -> dict:
    """Wall-clock speed-up on 1 and 2 threads, and whether the kernels really release the GIL.

    On a machine whose cores other processes keep busy, threads cannot speed up however free of
    the GIL they are; the GIL check tells the two apart: a Python loop in the main thread gets
    its share of a core while a worker thread runs kernels (on a loaded 2-core machine: about
    2/3), but only about half of it while the worker runs Python (the GIL switches every 5 ms).
    """
    plan = taiwan_plan(args.peer_draws, args.peer_realizations)
    rows = []
    for threads in sorted({1, 2, os.cpu_count() or 1}):
        rows.append(_timed_run(_with_threads(plan, threads), args.repeats))
    base = rows[0]["realizations_per_second"]
    for r in rows:
        r["speedup"] = r["realizations_per_second"] / base
        r["cpu_per_wall"] = r["cpu_seconds"] / r["wall_seconds"]
    return {"runs": rows, "gil": gil_check(plan)}


def gil_check(plan, seconds: float = 0.5) -> dict:
    """CPU seconds per wall second of a Python loop in the main thread, beside a worker thread
    that runs nothing, the sampler's kernels, or a Python loop."""
    import threading

    from forecast.model import kernels, random_numbers
    from forecast.model.inputs import kernel_inputs
    from forecast.sampling import sampler

    z, u = sampler.Scratch(plan).block()
    drawn = plan.model.random_columns
    acc = sampler.Accumulators.zeros(1, plan.model)
    out = acc.row(0)
    inputs = kernel_inputs(plan.model, plan.draws, 0)

    def run_kernels(deadline: float) -> None:
        b = 0
        while time.perf_counter() < deadline:
            random_numbers.fill_block(sampler.block_key(1, 0, b), z, u, *drawn)
            kernels.simulate_block(inputs, z, u, out)
            b += 1

    def run_python(deadline: float) -> None:
        while time.perf_counter() < deadline:
            pass

    share = {}
    for name, worker in (("alone", None), ("beside_kernels", run_kernels),
                         ("beside_python", run_python)):  # fmt: skip
        deadline = time.perf_counter() + seconds
        thread = threading.Thread(target=worker, args=(deadline,)) if worker else None
        if thread:
            thread.start()
        w0, c0 = time.perf_counter(), time.thread_time()
        while time.perf_counter() < deadline:
            pass
        share[name] = (time.thread_time() - c0) / (time.perf_counter() - w0)
        if thread:
            thread.join()
    # a worker holding the GIL leaves the main thread at most about half of it, as Python does
    share["kernels_release_the_gil"] = share["beside_kernels"] > 1.2 * share["beside_python"]
    return share


# ------------------------------------------------------------------------------------------------
# Start-up
# ------------------------------------------------------------------------------------------------


def child_startup(t_parent: float) -> dict:
    """In a fresh process: the CLI's imports, the config, the plan, then the first kernel calls.

    ``t_parent`` is the parent's ``time.time()`` just before it started this process, so
    ``first_sample`` counts the interpreter's start-up too.
    """
    stamps = {"interpreter": time.time() - t_parent}
    import forecast.cli.run  # noqa: F401  (what `forecast` imports: hydra, the schema, run, ...)
    from forecast.config.loading import load_config
    from forecast.model import kernels, random_numbers
    from forecast.model.inputs import kernel_inputs
    from forecast.sampling import sampler

    stamps["imports"] = time.time() - t_parent
    cfg = load_config(["sampler.draws=4", "sampler.realizations=1000", "sampler.progress=false"])
    stamps["config"] = time.time() - t_parent
    plan = sampler.make_plan(cfg)
    stamps["plan"] = time.time() - t_parent
    z, u = sampler.Scratch(plan).block()
    t0 = time.perf_counter()
    random_numbers.fill_block(sampler.block_key(1, 0, 0), z, u, *plan.model.random_columns)
    stamps["fill_block_first_call_seconds"] = time.perf_counter() - t0
    acc = sampler.Accumulators.zeros(1, plan.model)
    out = acc.row(0)
    t0 = time.perf_counter()
    kernels.simulate_block(kernel_inputs(plan.model, plan.draws, 0), z, u, out)
    stamps["simulate_block_first_call_seconds"] = time.perf_counter() - t0
    stamps["first_sample"] = time.time() - t_parent
    stamps["cache_hits"] = int(sum(kernels.simulate_block.stats.cache_hits.values()))
    stamps["cache_misses"] = int(sum(kernels.simulate_block.stats.cache_misses.values()))
    return stamps


def heaviest_imports(n: int = 20) -> list[dict]:
    """The ``n`` imports with the largest cumulative time in ``python -X importtime`` of what
    ``forecast`` imports before it samples (nested imports are counted in their parents too)."""
    code = "import forecast.cli.run, forecast.jobs.run, forecast.sampling.sampler"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, cwd=REPO
    )
    rows = []
    for line in proc.stderr.splitlines():
        self_us, cum_us, name = line.removeprefix("import time:").split("|")
        if not self_us.strip().isdigit():  # the header line
            continue
        depth = (len(name) - len(name.lstrip()) - 1) // 2  # two spaces per level of nesting
        rows.append(
            {"module": name.strip(), "depth": depth, "cumulative_seconds": int(cum_us) / 1e6}
        )
    return sorted(rows, key=lambda r: -r["cumulative_seconds"])[:n]


def bench_startup(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = _child("startup", t_parent=time.time(), env=env)
        warm = _child("startup", t_parent=time.time(), env=env)
        n_index = len(list(Path(cache).rglob("*.nbi")))
        n_data = len(list(Path(cache).rglob("*.nbc")))
    # the default cache (``__pycache__`` next to the modules), as a user's second run sees it
    _child("startup", t_parent=time.time())
    default = [_child("startup", t_parent=time.time()) for _ in range(args.repeats)]
    best = min(default, key=lambda s: s["first_sample"])
    return {
        "compile": cold,
        "cache_load": warm,
        "compile_seconds": cold["fill_block_first_call_seconds"]
        + cold["simulate_block_first_call_seconds"],
        "cache_load_seconds": warm["fill_block_first_call_seconds"]
        + warm["simulate_block_first_call_seconds"],
        "cache_files": {"nbi": n_index, "nbc": n_data},
        "warm_first_sample": best,
        "time_to_first_sample_seconds": best["first_sample"],
        "heaviest_imports": heaviest_imports(),
    }


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------


def bench(args) -> dict:

    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    print("peers (numba, numpy, PyMC) ...", flush=True)
    peers = bench_peers(args)
    print(f"the sampler, the numba toy and the generator in turns ({args.rounds} rounds) ...",
          flush=True)  # fmt: skip
    ratios = bench_ratios(args)
    print("RNG-bound limit ...", flush=True)
    rng = bench_rng(args, ratios, peers["numba"]["realizations_per_second"], peers["threads"])
    toy = bench_toy(ratios)
    print("threads ...", flush=True)
    threads = bench_threads(args)
    print("partners ...", flush=True)
    partners = bench_partners(args)
    print("realizations (fresh processes, peak RSS) ...", flush=True)
    realizations = bench_realizations(args)
    print("start-up ...", flush=True)
    startup = bench_startup(args)
    numba = peers["numba"]
    targets = {
        "realizations_per_second >= 1e7": numba["realizations_per_second"] >= 1e7,
        "ideal_2_core_rate (2 x per-CPU-second rate) >= 1e7": 2
        * numba["realizations_per_cpu_second"]
        >= 1e7,
        "numba / numpy >= 10": peers["ratio_numba_to_numpy"] >= 10,
        "numba / numpy >= 20 (CPU time)": peers["cpu_ratio_numba_to_numpy"] >= 20,
        "sampler rate / numba toy rate >= 0.5 (CPU time)": toy["sampler_rate_over_toy_rate"] >= 0.5,
        "numba / PyMC >= 1000": peers["ratio_numba_to_pymc"] >= 1000,
        "fraction of RNG-bound limit >= 0.4 (CPU time)": rng["fraction_of_limit_cpu"] >= 0.4,
        "second run starts sampling within 3 s": startup["time_to_first_sample_seconds"] <= 3,
        "10^9 run peak RSS < 1 GiB": (
            all(r["peak_rss_mib"] < 1024 for r in realizations if r["realizations"] >= 10**9)
            if any(r["realizations"] >= 10**9 for r in realizations)
            else None
        ),
    }
    return {
        "benchmark": "sampler: peers, RNG-bound limit, scaling, start-up (Taiwan, full model)",
        "command": " ".join(["python", "benchmarks/bench_sampler.py", *sys.argv[1:]]),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": time.perf_counter() - t0,
        "cores": os.cpu_count(),
        "load_average_1m_at_start": load0,
        "load_average_1m_at_end": os.getloadavg()[0],
        "machine": platform.platform(),
        "processor": platform.processor(),
        "cpu": cpu(),
        "git_revision": _storage().git_revision(),
        "package_versions": _storage().package_versions(),
        "settings": vars(args),
        "targets_met": targets,
        "peers": peers,
        "rng": rng,
        "toy": toy,
        "ratios": ratios,
        "threads": threads,
        "partners": partners,
        "realizations": realizations,
        "startup": startup,
    }


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), layout="constrained")
    peers = report["peers"]
    ax = axes[0, 0]
    names = ["numba\nfull", "numpy ref.\nfull", "numba\ncore", "PyMC\ncore, 1/draw",
             "PyMC\ncore, 10k/draw"]  # fmt: skip
    keys = ("numba", "numpy", "numba_core", "pymc", "pymc_vectorised")
    rates = [peers[k]["realizations_per_second"] for k in keys]
    ax.bar(names, rates, color=["C0", "C1", "C0", "C2", "C2"])
    ax.tick_params(axis="x", labelsize=8)
    ax.set(yscale="log", ylabel="realizations / s (wall)", title="Taiwan: the same model 3 ways")
    for i, r in enumerate(rates):
        ax.annotate(f"{r:,.0f}", (i, r), ha="center", va="bottom", fontsize=8)

    rng = report["rng"]
    ax = axes[0, 1]
    labels = ["RNG-bound\nlimit", "sampler"]
    ns = [rng["rng_ns_per_crisis"], rng["sampler_cpu_ns_per_crisis"]]
    ax.bar(labels, [1e3 / v for v in ns], color=["grey", "C0"])
    ax.set(
        ylabel="M realizations / CPU second (one core)",
        title=f"RNG-bound: sampler at {rng['fraction_of_limit_cpu']:.0%} of the limit",
    )

    ax = axes[0, 2]
    th = report["threads"]["runs"]
    ax.plot([r["threads"] for r in th], [r["speedup"] for r in th], "o-", label="measured")
    ax.plot(
        [r["threads"] for r in th], [r["threads"] for r in th], "--", color="grey", label="ideal"
    )
    ax.set(xlabel="threads", ylabel="speed-up vs 1 thread (wall)", title="threads")
    ax.legend()

    ax = axes[1, 0]
    re = report["realizations"]
    n = [r["realizations"] for r in re]
    ax.plot(n, [r["realizations_per_second"] / 1e6 for r in re], "o-", label="wall")
    ax.plot(n, [r["realizations_per_cpu_second"] / 1e6 for r in re], "s--", label="per CPU s")
    ax.set(xscale="log", xlabel="realizations", ylabel="M realizations / s", title="realizations")
    ax.legend(loc="lower left")
    ax2 = ax.twinx()
    ax2.plot(n, [r["peak_rss_mib"] for r in re], "^:", color="C3")
    ax2.set_ylabel("peak RSS (MiB)", color="C3")
    ax2.set_ylim(0, max(1100, max(r["peak_rss_mib"] for r in re) * 1.1))

    ax = axes[1, 1]
    pa = report["partners"]
    ax.plot([r["partners"] for r in pa], [r["cpu_ns_per_realization"] for r in pa], "o-")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="partners",
        ylabel="CPU ns per crisis",
        title="partners (copies of Taiwan's four)",
    )
    ax.set_xticks([r["partners"] for r in pa], [str(r["partners"]) for r in pa])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())

    ax = axes[1, 2]
    st = report["startup"]
    labels = ["compile\n(empty cache)", "cache load", "process start\nto first sample"]
    vals = [st["compile_seconds"], st["cache_load_seconds"], st["time_to_first_sample_seconds"]]
    ax.bar(labels, vals, color=["C3", "C0", "C1"])
    ax.axhline(3.0, ls="--", color="grey")
    ax.set(ylabel="seconds", title="start-up")
    fig.suptitle(
        f"forecast sampler, {report['cores']} cores, load {report['load_average_1m_at_start']:.1f}"
        f" -> {report['load_average_1m_at_end']:.1f}, {report['git_revision'][:12]}"
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary(report: dict) -> str:
    p, r, st = report["peers"], report["rng"], report["startup"]
    toy_lo, toy_hi = report["toy"]["sampler_rate_over_toy_rate_range"]
    rng_lo, rng_hi = r["fraction_of_limit_cpu_range"]
    c = report.get("cpu")  # absent from the JSON of older runs
    lines = [
        f"cpu: {c['model']}, {c['simd']} (LLVM compiles for {c['llvm_host_cpu']})"
        if c
        else "cpu: not recorded",
        f"numba  {p['numba']['realizations_per_second']:>14,.0f} /s wall "
        f"({p['numba']['cpu_ns_per_realization']:.0f} CPU ns per crisis, {p['threads']} threads)",
        f"numpy  {p['numpy']['realizations_per_second']:>14,.0f} /s wall "
        f"({p['numpy']['cpu_ns_per_realization']:.0f} CPU ns per crisis)",
        f"PyMC   {p['pymc']['realizations_per_second']:>14,.0f} /s wall (core model only, one "
        f"crisis per draw); vectorised {p['pymc_vectorised']['realizations_per_second']:,.0f} /s",
        f"numba core model {p['numba_core']['realizations_per_second']:,.0f} /s wall: "
        f"x{p['ratio_numba_core_to_pymc']:.0f} PyMC, "
        f"x{p['ratio_numba_core_to_pymc_vectorised']:.1f} vectorised PyMC",
        f"numba/numpy x{p['ratio_numba_to_numpy']:.1f} (CPU x{p['cpu_ratio_numba_to_numpy']:.1f}),"
        f" numba/PyMC x{p['ratio_numba_to_pymc']:.0f} (CPU x{p['cpu_ratio_numba_to_pymc']:.0f})",
        f"one thread, in turns: sampler {r['sampler_cpu_ns_per_crisis']:.0f} CPU ns per crisis, "
        f"numba toy {report['toy']['cpu_ns_per_crisis']:.0f}: the sampler runs at "
        f"x{report['toy']['sampler_rate_over_toy_rate']:.2f} its rate (CPU; rounds "
        f"{toy_lo:.2f} to {toy_hi:.2f})",
        f"RNG-bound limit {r['limit_per_core']:,.0f} /s per core ({r['rng_ns_per_crisis']:.0f} ns"
        f" per crisis); sampler at {r['fraction_of_limit_cpu']:.0%} (CPU; rounds {rng_lo:.0%} to "
        f"{rng_hi:.0%}), {r['fraction_of_limit_wall']:.0%} (wall, all threads)",
        f"start-up: compile {st['compile_seconds']:.1f} s, cache load "
        f"{st['cache_load_seconds']:.2f} s, first sample "
        f"{st['time_to_first_sample_seconds']:.1f} s",
    ]
    lines += [f"target {k}: {v}" for k, v in report["targets_met"].items()]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="realizations up to 10^7 only")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--rounds", type=int, default=9, help="turns of sampler, toy and generator for the ratios"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--replot", action="store_true", help="redraw the PNG from the JSON")
    args = parser.parse_args(argv)
    args.max_realizations = 10**7 if args.quick else 10**9
    args.peer_draws, args.peer_realizations = 64, 50000
    args.ratio_draws = 8  # the sampler's share of a round: 400 000 crises, about 0.1 s
    args.numpy_draws = 4 if args.quick else 8
    # pm.draw has a fixed cost per call (about 45 ms here) besides its cost per draw: enough
    # draws that PyMC is timed at its steady rate, not penalised for the fixed cost
    args.pymc_draws = 30
    args.pymc_single_draws = 20000
    args.rng_numbers = 10**7
    args.toy_crises = 10**6
    args.partner_crises = 2 * 10**5 if args.quick else 10**6
    return args


def cpu() -> dict:
    """The CPU the figures were taken on: its model name, the widest vector instructions it has
    and the CPU LLVM compiles the kernels for. The kernel runs side by side crises in vector
    registers and the toy one crisis at a time, so the ratio between them depends on the
    vector width (see README.md, "Speed")."""
    from llvmlite import binding

    model, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not model:
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:  # not Linux
        pass
    simd = next((f for f in ("avx512f", "avx2", "avx", "sse4_2") if f in flags), "unknown")
    return {"model": model or platform.processor(), "simd": simd,
            "llvm_host_cpu": binding.get_host_cpu_name()}  # fmt: skip


def _storage():
    from forecast import storage

    return storage


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        task, kwargs = sys.argv[2], json.loads(sys.argv[3])
        fn = {"run": child_run, "startup": child_startup}[task]
        print(json.dumps(fn(**kwargs)))
        return
    args = parse_args()
    if args.replot:
        report = json.loads((args.out / "bench_sampler.json").read_text())
        plot(report, args.out / "bench_sampler.png")
        print(summary(report))
        return
    report = bench(args)
    report["settings"] = {k: str(v) for k, v in report["settings"].items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_sampler.json").write_text(json.dumps(report, indent=2))
    plot(report, args.out / "bench_sampler.png")
    print(summary(report))
    print(f"wrote {args.out / 'bench_sampler.json'} and bench_sampler.png")


if __name__ == "__main__":
    main()
