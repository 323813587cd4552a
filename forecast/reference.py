"""The crisis model in plain vectorised numpy: the readable specification and the test oracle.

Mirrors :mod:`forecast.kernels` name for name and consumes the same pre-drawn random numbers,
so integer counts agree exactly and float sums to rounding.
"""

import numpy as np

from forecast.kernels import A_JOIN, N_PARTNER, N_SCALAR, S_CSF, S_CSF2, S_PCSF, S_PCSF2

__all__ = ["contest", "simulate_block", "N_SCALAR", "N_PARTNER"]


def contest(c, a, m):
    """Contest-success probability c^m / (c^m + a^m), elementwise."""
    return 1.0 / (1.0 + np.exp(m * (np.log(a) - np.log(c))))


def simulate_block(thr, thr_perc, loadings, idio, cap, cap_target, cap_aggr, m, z, acc, acc_p):
    """Vectorised twin of :func:`forecast.kernels.simulate_block` (same arguments)."""
    P, K = loadings.shape
    # latent resolve x (n, P), summed in the kernel's order so comparisons agree exactly
    x = idio * z[:, K : K + P]
    for k in range(K):
        x = x + loadings[:, k] * z[:, k : k + 1]
    join = x < thr
    join_p = x < thr_perc
    c = np.full(z.shape[0], float(cap_target))
    cp = c.copy()
    for i in range(P):
        c = c + np.where(join[:, i], cap[i], 0.0)
        cp = cp + np.where(join_p[:, i], cap[i], 0.0)
    s = contest(c, cap_aggr, m)
    sp = contest(cp, cap_aggr, m)
    acc[S_CSF] += s.sum()
    acc[S_CSF2] += (s * s).sum()
    acc[S_PCSF] += sp.sum()
    acc[S_PCSF2] += (sp * sp).sum()
    acc_p[:, A_JOIN] += join.sum(axis=0)
