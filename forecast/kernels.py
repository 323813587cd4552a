"""Numba kernels: arrays in, accumulators out. Imports numpy and numba, nothing else.

The kernels check nothing: inputs are validated once, in :mod:`forecast.beliefs`. Randomness is
drawn outside (one generator per unit of work, see :mod:`forecast.sampler`) and handed in as
arrays, so a kernel is a pure function of its inputs and :mod:`forecast.reference` can consume
the very same numbers.

Every name here has a twin in :mod:`forecast.reference`.
"""

import math

from numba import njit

JIT = dict(cache=True, nogil=True, error_model="numpy")

# Scalar accumulators, per draw (summed over realizations).
S_CSF = 0  # sum of the contest-success probability of the real coalition
S_CSF2 = 1  # its square
S_PCSF = 2  # the same for the coalition the aggressor perceives
S_PCSF2 = 3
N_SCALAR = 4

# Per-partner accumulators.
A_JOIN = 0  # the partner joins
N_PARTNER = 1


@njit(inline="always", **JIT)
def contest(c, a, m):
    """Contest-success probability c^m / (c^m + a^m) of power c against power a."""
    return 1.0 / (1.0 + math.exp(m * (math.log(a) - math.log(c))))


@njit(**JIT)
def simulate_block(thr, thr_perc, loadings, idio, cap, cap_target, cap_aggr, m, z, acc, acc_p):
    """Run one block of crises for one epistemic draw and add to its accumulators.

    Parameters
    ----------
    thr, thr_perc : (P,) probit thresholds of true and perceived willingness; partner i joins
        when its latent resolve x_i < thr[i].
    loadings : (P, K) factor loadings; idio : (P,) idiosyncratic scale sqrt(1 - |L_i|^2).
    cap : (P,) partners' capabilities; cap_target, cap_aggr, m : scalars.
    z : (n, K + P) standard normals, factors first.
    acc : (N_SCALAR,) float64, added to in place.
    acc_p : (P, N_PARTNER) float64, added to in place.
    """
    n = z.shape[0]
    P, K = loadings.shape
    for r in range(n):
        c = cap_target
        cp = cap_target
        for i in range(P):
            x = idio[i] * z[r, K + i]
            for k in range(K):
                x += loadings[i, k] * z[r, k]
            if x < thr[i]:
                c += cap[i]
                acc_p[i, A_JOIN] += 1.0
            if x < thr_perc[i]:
                cp += cap[i]
        s = contest(c, cap_aggr, m)
        sp = contest(cp, cap_aggr, m)
        acc[S_CSF] += s
        acc[S_CSF2] += s * s
        acc[S_PCSF] += sp
        acc[S_PCSF2] += sp * sp
