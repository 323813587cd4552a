"""The aggressor's numbers as epistemic beliefs: prize, cost and decision noise by attack type,
and the rate of crises in which it weighs an attack.

Each is a log-normal ``{mean, sd}`` belief, declared and drawn like a capability (the same
:class:`forecast.model.beliefs.Marginal`, copula column and ``fixed`` / ``uniforms`` handling), so
it appears in the tornado, the first-order indices and the threshold search without code of its
own. An attack type without its own prize, cost or decision noise uses the aggressor's: the same
parameter, hence the same draw.

Depends on numpy and the config layer; :mod:`forecast.model.beliefs` hands in its parameter
factory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from forecast.config.silent import own_belief

KEYS = ("prize", "cost", "decision_noise")
RATE = "opportunities_per_year"


def parameters(
    sc: Any, types: Sequence[str], make: Callable[[str, str, Any], Any]
) -> tuple[list[Any], np.ndarray]:
    """The aggressor's belief parameters and, for each key and type, the one it uses.

    Parameters
    ----------
    sc : the scenario config node.
    types : the attack types' names (T,), ``("attack",)`` when the scenario lists none.
    make : ``make(name, path, belief) -> Parameter``.

    Returns
    -------
    params : list of parameters: ``prize`` (``scenario.aggressor.prize``) if any type uses the
        aggressor's, then ``prize[<type>]`` (``scenario.attack_types.<type>.prize``) for each type
        that gives its own; the same for cost and decision_noise; last
        ``opportunities_per_year`` (``scenario.horizon.opportunities_per_year``).
    columns : (3, T) int, index into ``params`` of the parameter of key k and type t.
    """
    params: list[Any] = []
    columns = np.zeros((len(KEYS), len(types)), dtype=np.int64)
    for k, key in enumerate(KEYS):
        own = [own_belief(sc.attack_types[t], key) if t in sc.attack_types else None for t in types]
        shared = -1
        for t, (name, belief) in enumerate(zip(types, own, strict=True)):
            if belief is None:
                if shared < 0:
                    shared = len(params)
                    params.append(make(key, f"scenario.aggressor.{key}", sc.aggressor[key]))
                columns[k, t] = shared
            else:
                columns[k, t] = len(params)
                params.append(make(f"{key}[{name}]", f"scenario.attack_types.{name}.{key}", belief))
    params.append(make(RATE, f"scenario.horizon.{RATE}", sc.horizon[RATE]))
    return params, columns


def p_within_horizon(
    p_attack: np.ndarray, rate: np.ndarray, years: float, se: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """P(at least one attack within ``years``) and its MCSE by the delta method.

    Crises arrive as a Poisson process of ``rate`` per year and each is an independent attack
    decision with probability ``p_attack`` (given the draw), so attacks are a thinned Poisson
    process of rate ``rate * p_attack``, and P(none in ``years``) = exp(-rate * years * p_attack).

    Parameters
    ----------
    p_attack, rate, se : (D,) per draw: P(attack) in one crisis, crises per year, MCSE of p_attack.
    """
    lam = np.asarray(rate, float) * float(years)
    stay = np.exp(-lam * p_attack)
    return 1.0 - stay, lam * stay * se
