"""Fuzzed scenarios: each is rejected with messages naming its faults, or runs exactly.

A case (tests/jobs/fuzz_cases.py) is a scenario as a file would hold it, valid by construction,
plus overrides merged over it afterwards, with zero to three faults injected. It is composed
through the config layer's own merge (``forecast.config.loading.merge``: the schema's type and key
checks, the empty-mapping and number-for-a-belief checks), then checked as ``forecast.jobs.run.run``
checks it before any work. A sample also goes through Hydra itself (the scenario written to a
config group, composed by :func:`forecast.config.loading.load_config`) and through
``run.run`` into a directory.

- With faults: :class:`ConfigError`, each fault named by a message with its path and its value,
  every message about one of the faults (of the first stage that reports: Hydra's types, the
  overrides, missing values, the domain rules), and nothing written.
- Without: the numba kernel's counts equal the numpy reference's on the same random numbers,
  and no per-draw statistic or ``forecast.nc`` variable is NaN.

Reproducible: ``derandomize=True`` and no example database, so every run tries the same 1000
cases; a failure prints its case (``Case(tree=..., overrides=..., faults=...)``), which goes into
``REGRESSIONS`` below as a plain parametrised test.
"""

from __future__ import annotations

import copy
import faulthandler
import functools
import math
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from hypothesis import HealthCheck, given, settings
from omegaconf import DictConfig, OmegaConf

from forecast.analysis import sensitivity
from forecast.config import ConfigError
from forecast.config.loading import load_config, merge
from forecast.config.schema import ScenarioConfig
from forecast.jobs import run
from forecast.sampling import sampler
from tests.conftest import REPO
from tests.jobs import fuzz_cases
from tests.jobs.fuzz_cases import TYPED, Case, Fault

N_EXAMPLES = int(os.environ.get("FORECAST_FUZZ_EXAMPLES", 1000))
SAMPLER = [
    "sampler.draws=2",
    "sampler.realizations=512",
    "sampler.block_size=256",  # two blocks: the block loop is exercised too
    "sampler.threads=1",
    "sampler.progress=false",
    "analysis.report=false",
]
HANG_SECONDS = 60  # one case (of 2 x 512 crises) taking this long is a hang
PATH = re.compile(r"\b(?:scenario|sampler|analysis|executor|beliefs|calibration)(?:\.[\w-]+)*")


@functools.cache
def _base() -> DictConfig:
    """The run config with a blank scenario, as a new scenario file starts (composed once)."""
    cfg = load_config(SAMPLER)
    cfg.scenario = OmegaConf.structured(ScenarioConfig)
    # Hydra merges a scenario file before it closes the config (set_struct): the file may add
    # partners, institutions, ...; the schema's dataclasses still reject unknown keys
    OmegaConf.set_struct(cfg, False)
    sampler.run_draws(sampler.make_plan(load_config(SAMPLER)), range(1))  # compile the kernel
    return cfg


def _file(case: Case) -> DictConfig:
    """The case's scenario merged as Hydra merges a file, then closed as Hydra closes it."""
    cfg = merge(_base(), {"scenario": case.tree})  # a new config: the base is not changed
    OmegaConf.set_struct(cfg, True)
    return cfg


def compose(case: Case) -> DictConfig:
    """The case's run config, through the config layer's merge and ``run.run``'s first check."""
    cfg = _file(case)
    if case.overrides:
        cfg = merge(cfg, case.overrides)
    sensitivity.check(cfg)
    return cfg


def _flat(tree: dict, prefix: str = "") -> list[str]:
    """The overrides as command-line ``key=value`` strings."""
    out = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += _flat(value, f"{path}.")
        else:
            out.append(f"{path}={{}}" if isinstance(value, dict) else f"{path}={value}")
    return out


def compose_with_hydra(case: Case, where: Path) -> DictConfig:
    """The same case as a scenario file in a config group, composed by Hydra."""
    (where / "scenario").mkdir(parents=True, exist_ok=True)
    (where / "scenario" / "fuzz.yaml").write_text(yaml.safe_dump(case.tree))
    overrides = [*SAMPLER, f"hydra.searchpath=[file://{where}]", "scenario=fuzz"]
    cfg = load_config(overrides + _flat(case.overrides))
    sensitivity.check(cfg)
    return cfg


def _relates(token: str, fault: Fault) -> bool:
    if fault.scope.startswith("="):
        return token == fault.scope[1:]
    return token == fault.scope or token.startswith(fault.scope + ".")


def assert_faults_named(case: Case, problems: list[str], hydra: bool = False) -> None:
    """Every fault of the first reporting stage is named, with its value, by a message; every
    message names a config path of one of the faults.

    ``hydra``: composed by :func:`load_config`, which checks the overrides for numbers written
    for beliefs before it composes the file (as the console scripts do).
    """
    stage = min(f.stage for f in case.faults)
    if hydra and any(f.stage == fuzz_cases.NUMBER for f in case.faults):
        stage = fuzz_cases.NUMBER
    faults = [f for f in case.faults if f.stage == stage]
    assert problems
    for msg in problems:
        tokens = PATH.findall(msg)
        assert tokens, f"a message names no config path: {msg}"
        assert any(_relates(t, f) for t in tokens for f in case.faults), (msg, case.faults)

    def named(f: Fault) -> bool:
        return any(f.path in msg and f.shown in msg for msg in problems)

    if stage == TYPED:  # Hydra stops at the first type error
        assert any(named(f) for f in faults), (faults, problems)
    else:
        for f in faults:
            assert named(f), (f, problems)


# mean coalition power over the crises whose war reaches a phase: NaN, by definition, in a phase
# no crisis's war reaches (a draw in which the aggressor never attacks, or wars all decided
# before it); checked against exactly that instead (docs/war.md)
PHASE_POWER = "coalition_power_by_phase"
# counts the kernel and the reference must agree on exactly, and the one sum of powers (summed
# in another order by the reference: equal to rounding)
COUNTS = ("by_type", "by_partner", "mandates", "hist", "n", "mandates_perc", "by_pair", "by_phase")


def _assert_no_nan(arrays: dict, label: str, unreached: np.ndarray) -> None:
    bad = [
        name
        for name, a in arrays.items()
        if name != PHASE_POWER and np.isnan(np.asarray(a, dtype=float)).any()
    ]
    assert not bad, f"NaN in {label}: {bad}"
    if PHASE_POWER in arrays:
        nan = np.isnan(np.asarray(arrays[PHASE_POWER], dtype=float))
        np.testing.assert_array_equal(nan, unreached, err_msg=f"NaN {PHASE_POWER} in {label}")


def check_runs_exactly(cfg: DictConfig, write: bool) -> None:
    from forecast.model.war import PH_FOUGHT

    plan = sampler.make_plan(cfg, validated=True)
    draws = range(plan.n_draws)
    fast = sampler.run_draws(plan, draws)
    slow = sampler.run_draws(replace(plan, settings=replace(plan.settings, backend="numpy")), draws)
    for name in COUNTS:
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    np.testing.assert_array_equal(fast.phase_power, slow.phase_power)  # fixed point: exact
    stats = sampler.summarise(plan, fast)
    # (D, K): no war reaches the phase given an attack, with the types weighted by P(type |
    # attack) (a phase only a type never chosen has is reached by no war of an attack)
    fought = (stats["p_attack_type"][..., None] * fast.by_phase[..., PH_FOUGHT]).sum(axis=1)
    unreached = fought == 0
    _assert_no_nan(stats, "the per-draw statistics", unreached)
    if write:  # the dataset and the file: the same numbers, with the draws' parameters added
        with tempfile.TemporaryDirectory() as out:
            run.run(cfg, out, progress=False)
            with xr.open_dataset(Path(out) / cfg.output.filename) as nc:
                floats = {k: v.values for k, v in nc.data_vars.items() if v.dtype.kind == "f"}
            _assert_no_nan(floats, "forecast.nc", unreached)


def check_case(case: Case) -> None:
    """Rejected with named faults and nothing written, or run with kernel == reference.

    A case that takes longer than HANG_SECONDS (the kernel compiled already) fails; one that
    never ends gets every thread's stack dumped into the test's output, for the CI job's own
    time limit to stop.
    """
    _base()
    faulthandler.dump_traceback_later(HANG_SECONDS)
    t0 = time.perf_counter()
    try:
        _check_case(case)
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert time.perf_counter() - t0 < HANG_SECONDS, "the case took too long (a hang?)"


def _check_case(case: Case) -> None:
    key = zlib.crc32(repr(case).encode())  # the same in every run (str hashes are salted)
    sample = key % 32 == 0
    if key % 64 == 1:  # the same outcome through Hydra's own composition
        with tempfile.TemporaryDirectory() as where:
            try:
                compose_with_hydra(case, Path(where))
                assert case.valid, f"accepted through Hydra with faults {case.faults}"
            except ConfigError as exc:
                assert not case.valid, f"valid case rejected through Hydra: {exc}"
                assert_faults_named(case, exc.problems, hydra=True)
    try:
        cfg = compose(case)
    except ConfigError as exc:
        assert not case.valid, f"valid case rejected: {exc}"
        assert_faults_named(case, exc.problems)
        if sample and min(f.stage for f in case.faults) > fuzz_cases.EMPTY:
            cfg = merge(_file(case), case.overrides)
            with tempfile.TemporaryDirectory() as out:
                with pytest.raises(ConfigError):
                    run.run(cfg, out, progress=False)
                assert not list(Path(out).iterdir()), "a rejected run wrote files"
        return
    assert case.valid, f"accepted with faults {case.faults}"
    check_runs_exactly(cfg, write=sample)


@settings(
    max_examples=N_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=fuzz_cases.scenarios())
def test_fuzzed_scenarios(case):
    check_case(case)


def _tree(**actors: dict) -> dict:
    """A minimal scenario: two partners (USA, JPN), changed or extended by ``actors``."""
    base = {
        "USA": {"willingness": {"mean": 0.6}, "capability": {"mean": 1.5, "sd": 0.0}},
        "JPN": {"willingness": {"mean": 0.4}, "capability": {"mean": 0.8, "sd": 0.2}},
    }
    for code, extra in actors.items():
        base[code] = {**base.get(code, {}), **extra}
    return {
        "name": "fuzz",
        "aggressor": {"code": "CHN", "capability": {"mean": 2.0, "sd": 0.0}},
        "target": {"code": "TWN", "capability": {"mean": 1.0, "sd": 0.0}},
        "actors": base,
    }


def _with(tree: dict, **parts) -> dict:
    return {**tree, **parts}


# Failing cases the fuzz test found, minimal, kept as regressions (see docs/development.md).
_USA = "scenario.actors.USA"
_HELP_OF_USA = f"{_USA}.contributions"
_HELP = {"willingness": {"mean": 0.7}}
_PARTNER = {"willingness": {"mean": 0.5}, "capability": {"mean": 1.0}}
REGRESSIONS: dict[str, Case] = {
    # a required value left out raised omegaconf's MissingMandatoryValue (a traceback)
    "missing_capability_mean": Case(
        _tree(USA={"capability": {"sd": 0.0}}),
        faults=[Fault(f"{_USA}.capability.mean", "???", stage=fuzz_cases.MISSING)],
    ),
    # inf passed "> 0" and "[0, inf)" (and then drew nan); unbounded shifts had no rule at all
    "inf_capability": Case(
        _tree(USA={"capability": {"mean": math.inf, "sd": 0.0}}),
        faults=[Fault(f"{_USA}.capability.mean", "inf", scope=f"{_USA}.capability")],
    ),
    "inf_delay_sd": Case(
        _tree(USA={"delay": {"mean": 3.0, "sd": math.inf}}),
        faults=[Fault(f"{_USA}.delay.sd", "inf", scope=f"{_USA}.delay")],
    ),
    "nan_perceived_bias": Case(
        _tree(USA={"perceived": {"bias": math.nan}}),
        faults=[Fault(f"{_USA}.perceived.bias", "nan")],
    ),
    "nan_follows": Case(
        _tree(JPN={"follows": {"USA": math.nan}}),
        faults=[Fault("scenario.actors.JPN.follows.USA", "nan")],
    ),
    "inf_willingness_shift": Case(
        _tree(USA={"engaged": {"probability": 0.3, "willingness_shift": -math.inf}}),
        faults=[Fault(f"{_USA}.engaged.willingness_shift", "-inf")],
    ),
    "nan_mandate_shift": Case(
        _with(
            _tree(),
            institutions={
                "UN": {"members": ["USA", "JPN"], "rule": "unanimity", "mandate_shift": math.nan}
            },
        ),
        faults=[Fault("scenario.institutions.UN.mandate_shift", "nan")],
    ),
    # a member that is no partner needed a vote under rule individual, where a vote cannot
    # take effect: no scenario could have one
    "outsider_member_individual_rule": Case(
        _with(_tree(), institutions={"G7": {"members": ["USA", "DEU"], "rule": "individual"}})
    ),
    # a partner requiring itself was reported twice, the second time as a cycle
    "self_reference": Case(
        _tree(USA={"requires": ["USA"]}), faults=[Fault(f"{_USA}.requires", "USA")]
    ),
    # a number for a new partner's belief reached OmegaConf's merge, whose message has no key
    "number_for_a_new_partners_belief": Case(
        _tree(USA={"capability": 1.5}),
        faults=[Fault(f"{_USA}.capability", "1.5", stage=TYPED)],
    ),
    # partners' summed power subnormal: 1 / total overflowed (a RuntimeWarning in the reference,
    # an error under pytest) and buck-passing's share became inf or nan
    "subnormal_total_power": Case(
        _tree(
            USA={"engaged": {"probability": 1.0, "capability_factor": 5e-324}},
            JPN={"engaged": {"probability": 1.0, "capability_factor": 5e-324}, "buck_passing": 1.0},
        )
    ),
    # one partner, no mechanism: one column of normals and one of uniforms, which numba typed
    # as C-ordered blocks, compiling the kernel a second time
    "one_column_blocks": Case({**_tree(), "actors": {"USA": _tree()["actors"]["USA"]}}, seed=16),
    # an amount or a from_phase on help other than arms, and an attack type's empty phase list,
    # were reported without the value they got
    "amount_on_access": Case(
        _tree(USA={"contributions": {"access": {**_HELP, "amount": {"mean": 0.5, "sd": 0.0}}}}),
        faults=[Fault(f"{_USA}.contributions.access.amount", "0.5", scope=_HELP_OF_USA)],
    ),
    "from_phase_on_sanctions": Case(
        _with(
            _tree(USA={"contributions": {"sanctions": {**_HELP, "from_phase": 2}}}),
            war={"phases": [{"name": "assault"}, {"name": "campaign", "duration": 30.0}]},
        ),
        faults=[Fault(f"{_USA}.contributions.sanctions.from_phase", "2", scope=_HELP_OF_USA)],
    ),
    # two separate cycles: only the first was reported
    "two_cycles": Case(
        _tree(
            USA={"requires": ["JPN"]},
            JPN={"follows": {"USA": 0.5}},
            AUS={**_PARTNER, "requires": ["GBR"]},
            GBR={**_PARTNER, "follows": {"AUS": 0.5}},
        ),
        faults=[
            Fault("scenario.actors", "USA", scope="=scenario.actors"),
            Fault("scenario.actors", "AUS", scope="=scenario.actors"),
        ],
    ),
    # a resolve's balance_slope near 0: (logit(u) - L) / b or A exp(...) overflowed in the
    # reference (a RuntimeWarning, an error under pytest); the kernel's is inf without a warning
    "balance_slope_near_zero": Case(
        _with(
            _tree(),
            aggressor={"code": "CHN", "capability": {"mean": 20.0, "sd": 0.0}},
            target={
                "code": "TWN",
                "capability": {"mean": 15.0, "sd": 0.0},
                "resolve": {"probability": {"mean": 0.33}, "balance_slope": -1e-33},
            },
        )
    ),
    "balance_slope_smallest_normal": Case(
        _with(
            _tree(),
            target={
                "code": "TWN",
                "capability": {"mean": 1.0, "sd": 0.0},
                "resolve": {"probability": {"mean": 0.2}, "balance_slope": 2.2250738585072014e-308},
            },
        )
    ),
    # values of the war that cannot take effect were accepted silently
    "attrition_without_a_second_phase": Case(
        _with(_tree(), war={"attrition": 0.3, "phases": [{"name": "assault"}]}),
        faults=[Fault("scenario.war.attrition", "0.3", scope="scenario.war")],
    ),
    "war_phases_under_every_types_own": Case(
        _with(
            _tree(),
            war={"phases": [{"name": "assault"}]},
            attack_types={"invasion": {"phases": [{"name": "landing"}]}},
        ),
        faults=[Fault("scenario.war.phases", "['assault']")],
    ),
    "balance_slope_without_resolve": Case(
        _with(
            _tree(),
            target={"code": "TWN", "capability": {"mean": 1.0}, "resolve": {"balance_slope": 0.5}},
        ),
        faults=[Fault("scenario.target.resolve.balance_slope", "0.5")],
    ),
    "willingness_shift_without_escalation": Case(
        _with(_tree(), escalation={"willingness_shift": -0.5}),
        faults=[Fault("scenario.escalation.willingness_shift", "-0.5")],
    ),
    "empty_phases_of_a_type": Case(
        _with(_tree(), attack_types={"invasion": {"phases": []}}),
        faults=[Fault("scenario.attack_types.invasion.phases", "[]")],
    ),
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_fuzz_regression(name, tmp_path):
    case = copy.deepcopy(REGRESSIONS[name])
    check_case(case)
    try:  # and through Hydra, from a scenario file
        compose_with_hydra(case, tmp_path)
        assert case.valid
    except ConfigError as exc:
        assert not case.valid, exc
        assert_faults_named(case, exc.problems, hydra=True)


def test_one_column_blocks_reuse_the_compiled_kernel():
    from forecast.model import kernels, random_numbers

    _base()  # compiled for the shipped scenario's blocks
    jitted = (kernels.simulate_block, random_numbers.fill_block)
    before = [len(f.signatures) for f in jitted]
    cfg = compose(REGRESSIONS["one_column_blocks"])
    plan = sampler.make_plan(cfg, validated=True)
    assert (plan.model.n_normals, plan.model.n_uniforms) == (1, 1)
    sampler.run_draws(plan, range(plan.n_draws))
    assert [len(f.signatures) for f in jitted] == before


def test_a_number_for_a_belief_in_a_scenario_file_names_its_key(tmp_path):
    tree = _tree()
    tree["aggressor"]["capability"] = 0.5
    with pytest.raises(ConfigError) as info:
        compose_with_hydra(Case(tree), tmp_path)
    (msg,) = info.value.problems
    assert "scenario.aggressor.capability is a belief" in msg and "0.5" in msg


def test_load_config_reports_every_number_for_a_belief_at_once():
    with pytest.raises(ConfigError) as info:
        load_config(["scenario.aggressor.prize=0.5", "scenario.actors.USA.capability=2"])
    assert len(info.value.problems) == 2
    assert "got the number 0.5" in info.value.problems[0]


_GENERATE = """
import pickle, sys
from hypothesis import HealthCheck, Phase, given, settings
from tests.conftest import REPO
from tests.jobs import fuzz_cases

seen = []

@settings(
    max_examples=1000,  # as many as the fuzz test runs: each of the war's rules is hit
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(case=fuzz_cases.scenarios())
def collect(case):
    seen.append(case)

collect()
with open(sys.argv[1], "wb") as f:
    pickle.dump(seen, f)
"""


def test_the_fuzz_cases_cover_every_fault_and_every_mechanism():
    """The generator is not vacuous: a sample of its cases (generated only, in seconds) holds
    every kind of fault and every rule of the war that a fault hits, valid cases with many
    partners, dependencies, every institution rule, three attack types and a chosen type, and
    valid cases (about a third) with the war as a process: several phases, attrition, the
    target's resolve, escalation, a balance per attack type and every kind of help."""
    # generated in a fresh interpreter: the cases Hypothesis draws here depend on what the
    # process ran before (after a load_config call they differ, derandomized or not)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cases.pickle"
        subprocess.run(
            [sys.executable, "-c", _GENERATE, str(out)],
            check=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=600,
        )
        seen: list[Case] = pickle.loads(out.read_bytes())
    assert {f.kind for c in seen for f in c.faults} == {f.__name__ for f in fuzz_cases.FAULTS}
    valid = [c.tree for c in seen if c.valid]
    assert 0.2 < len(valid) / len(seen) < 0.8
    assert max(len(t["actors"]) for t in valid) >= 12
    assert any(a.get("requires") for t in valid for a in t["actors"].values())
    rules = {i["rule"] for t in valid for i in t["institutions"].values()}
    assert rules == set(fuzz_cases.RULES)
    assert any(len(t["attack_types"]) == 3 for t in valid)
    assert any(t["aggressor"]["choose_type"] for t in valid)
    rules = {f.rule for c in seen for f in c.faults if f.kind in ("phase_rule", "help_rule")}
    assert rules == set(fuzz_cases.WAR_RULES)
    war_paths = re.compile(r"\.(war|resolve|escalation|contributions)\b")
    generic = {f.kind for c in seen for f in c.faults if not f.rule and war_paths.search(f.path)}
    assert {"unknown_key", "silent"} <= generic  # and the war's own faults above
    # a third of the valid trees get the war (a fifth of the cases, as Hypothesis repeats its
    # simplest trees and some faults remove it); most then carry a fault against its rules, so
    # about one valid case in six runs it
    assert 0.15 < sum(fuzz_cases.uses_war(c.tree) for c in seen) / len(seen) < 0.42
    war = [t for t in valid if fuzz_cases.uses_war(t)]
    assert 0.1 < len(war) / len(valid) < 0.45
    phased = [ps for t in war for _, ps in fuzz_cases._phase_lists(t)]
    assert {len(ps) for ps in phased} == {1, 2, 3, 4}
    assert any(ph.get("fait_accompli") is False for ps in phased for ph in ps)
    assert any(t.get("war", {}).get("attrition", 0) > 0 for t in war)
    assert any("resolve" in t["target"] for t in war)
    assert any("escalation" in t for t in war)
    types = [at for t in war for at in t["attack_types"].values()]
    assert all(any(key in at for at in types) for key in ("capability", "exponent", "phases"))
    helps = [h for t in war for a in t["actors"].values() for h in a.get("contributions", {})]
    assert set(helps) == set(fuzz_cases.KINDS)
    arms = [a["contributions"]["arms"] for t in war for a in t["actors"].values()
            if "arms" in a.get("contributions", {})]  # fmt: skip
    assert any(h.get("from_phase", 1) > 1 for h in arms)
