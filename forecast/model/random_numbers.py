"""The sampler's random numbers: numpy's SFC64 generator and its algorithms, in numba.

Imports numpy, numba and numpy's ziggurat tables (:mod:`forecast.model.ziggurat`); its file is one
of :data:`forecast.model.jit.JITTED`, which share one compile-cache stamp.

:func:`fill_block` fills a block's random-number arrays, one column at a time, each column from
its own generator ``SFC64(SeedSequence(key))`` (see :mod:`forecast.sampling.sampler` for the keys).
The
generator, numpy's ``next_double`` and numpy's ziggurat ``random_standard_normal`` are written
out here so that numba inlines them, and numpy's SeedSequence hashing and SFC64 seeding too: the
numbers are exactly those of ``numpy.random.Generator(SFC64(SeedSequence(key)))``
(``tests/model/test_kernels.py`` compares them bit for bit), at about twice the speed of numba's
support for numpy's ``Generator`` objects.
"""

import numpy as np
from numba import njit

from forecast.model.jit import JIT
from forecast.model.ziggurat import FI as ZIG_FI
from forecast.model.ziggurat import KI as ZIG_KI
from forecast.model.ziggurat import WI as ZIG_WI
from forecast.model.ziggurat import ZIGGURAT_NOR_INV_R, ZIGGURAT_NOR_R


# The sampler's generator: numpy's SFC64, with numpy's algorithms for a double and for a standard
# normal, written out so that numba inlines them. Through a numpy Generator every number is a call
# through a function pointer, which costs more than SFC64 itself; the numbers are the same. The
# state (a, b, c, k) is passed and returned as four scalars, so it stays in registers: an array
# would be stored and reloaded around every write to a block (the compiler cannot tell the two
# arrays apart), and that reload would lie on the generator's critical path.
@njit(inline="always", **JIT)
def sfc64_next(a, b, c, k):
    """Next uint64 of SFC64 (numpy's sfc64_next) and the advanced state: (r, a, b, c, k)."""
    r = a + b + k
    c2 = ((c << np.uint64(24)) | (c >> np.uint64(40))) + r
    return r, b ^ (b >> np.uint64(11)), c + (c << np.uint64(3)), c2, k + np.uint64(1)


@njit(inline="always", **JIT)
def sfc64_double(a, b, c, k):
    """Uniform on [0, 1) from 53 random bits (numpy's next_double): (x, a, b, c, k)."""
    r, a, b, c, k = sfc64_next(a, b, c, k)
    return np.float64(np.int64(r >> np.uint64(11))) * (1.0 / 9007199254740992.0), a, b, c, k


@njit(inline="always", **JIT)
def sfc64_normal(a, b, c, k):
    """Standard normal by numpy's ziggurat (random_standard_normal): (x, a, b, c, k)."""
    while True:
        r, a, b, c, k = sfc64_next(a, b, c, k)
        idx = r & np.uint64(0xFF)
        r >>= np.uint64(8)
        rabs = (r >> np.uint64(1)) & np.uint64(0x000FFFFFFFFFFFFF)
        x = np.float64(np.int64(rabs)) * ZIG_WI[idx]  # rabs < 2^52: exact through int64
        if r & np.uint64(1):
            x = -x
        if rabs < ZIG_KI[idx]:
            return x, a, b, c, k
        if idx == 0:  # the tail beyond ZIGGURAT_NOR_R
            while True:
                d1, a, b, c, k = sfc64_double(a, b, c, k)
                d2, a, b, c, k = sfc64_double(a, b, c, k)
                xx = -ZIGGURAT_NOR_INV_R * np.log1p(-d1)
                yy = -np.log1p(-d2)
                if yy + yy > xx * xx:
                    if (rabs >> np.uint64(8)) & np.uint64(1):
                        return -(ZIGGURAT_NOR_R + xx), a, b, c, k
                    return ZIGGURAT_NOR_R + xx, a, b, c, k
        else:
            d1, a, b, c, k = sfc64_double(a, b, c, k)
            if (ZIG_FI[idx - 1] - ZIG_FI[idx]) * d1 + ZIG_FI[idx] < np.exp(-0.5 * x * x):
                return x, a, b, c, k


# numpy's SeedSequence (its hash mixing, pool of 4 words) and SFC64's seeding, so that seeding a
# column's generator costs well under a microsecond instead of the 9 us of
# SFC64(SeedSequence(key)) from Python
_M32 = np.uint64(0xFFFFFFFF)
_SS_INIT_A, _SS_MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)
_SS_INIT_B, _SS_MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)
_SS_MIX_L, _SS_MIX_R = np.uint64(0xCA01F9DD), np.uint64(0x4973F715)


@njit(inline="always", **JIT)
def _ss_hashmix(v, h):
    """SeedSequence's hashmix of 32-bit word v with hash constant h: (word, next h)."""
    v = (v ^ h) & _M32
    h = (h * _SS_MULT_A) & _M32
    v = (v * h) & _M32
    return v ^ (v >> np.uint64(16)), h


@njit(inline="always", **JIT)
def _ss_mix(x, y):
    r = (_SS_MIX_L * x - _SS_MIX_R * y) & _M32
    return r ^ (r >> np.uint64(16))


@njit(**JIT)
def _sfc64_from_entropy(entropy):
    """The state (a, b, c, k) of ``SFC64(SeedSequence(entropy))``: entropy (m,) uint64 holds
    SeedSequence's 32-bit entropy words (numpy's mix_entropy, generate_state(3, uint64) and
    sfc64_set_seed)."""
    n = entropy.shape[0]
    h = _SS_INIT_A
    pool = np.zeros(4, dtype=np.uint64)
    for i in range(4):
        pool[i], h = _ss_hashmix(entropy[i] if i < n else np.uint64(0), h)
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                v, h = _ss_hashmix(pool[i_src], h)
                pool[i_dst] = _ss_mix(pool[i_dst], v)
    for i_src in range(4, n):
        for i_dst in range(4):
            v, h = _ss_hashmix(entropy[i_src], h)
            pool[i_dst] = _ss_mix(pool[i_dst], v)
    # generate_state(3, uint64): six 32-bit words from the pool in turn, low word first
    h = _SS_INIT_B
    w = np.empty(6, dtype=np.uint64)
    for i in range(6):
        v = (pool[i % 4] ^ h) & _M32
        h = (h * _SS_MULT_B) & _M32
        v = (v * h) & _M32
        w[i] = v ^ (v >> np.uint64(16))
    a = w[0] | (w[1] << np.uint64(32))
    b = w[2] | (w[3] << np.uint64(32))
    c = w[4] | (w[5] << np.uint64(32))
    k = np.uint64(1)
    for _ in range(12):  # numpy's sfc64_set_seed
        _, a, b, c, k = sfc64_next(a, b, c, k)
    return a, b, c, k


@njit(**JIT)
def sfc64_seed(entropy, state):
    """state (4,) uint64 <- the state of ``SFC64(SeedSequence(key))``, given the key's entropy
    words (uint32 or uint64 array; see :func:`forecast.sampling.sampler.key_words`)."""
    e = np.empty(entropy.shape[0], dtype=np.uint64)
    for i in range(e.shape[0]):
        e[i] = entropy[i]
    state[0], state[1], state[2], state[3] = _sfc64_from_entropy(e)


@njit(**JIT)
def fill_block(key, z, u, z_drawn, u_drawn, z_keys, u_keys):
    """Fill z (n, NZ) with standard normals and u (n, NU) with uniforms, a column at a time.

    Each column has its own generator: column j of z is ``standard_normal(n)`` of
    ``Generator(SFC64(SeedSequence(key + [g, i])))``, where (g, i) = z_keys[j] is the column's
    group (a ``forecast.model.kernels.L_*`` code) and its index in the group, and column j of u is
    ``random(n)`` of the one for u_keys[j]. ``key`` (uint32) is the entropy words of the block's
    key (see :func:`forecast.sampling.sampler.block_key`). A column's numbers therefore depend
    neither on its
    position nor on which other columns are drawn. Only the columns flagged in z_drawn (NZ,) and
    u_drawn (NU,) are drawn; the others, which cannot change any outcome (see
    :func:`forecast.model.arrays.drawn_columns`), get 0 (normals) and 0.5 (uniforms). Both backends
    consume the numbers it fills.
    """
    m = key.shape[0]
    entropy = np.empty(m + 2, dtype=np.uint64)
    for i in range(m):
        entropy[i] = key[i]
    n = z.shape[0]
    for j in range(z.shape[1]):
        col = z[:, j]
        if not z_drawn[j]:
            col[:] = 0.0
            continue
        entropy[m], entropy[m + 1] = z_keys[j, 0], z_keys[j, 1]
        a, b, c, k = _sfc64_from_entropy(entropy)
        for r in range(n):
            col[r], a, b, c, k = sfc64_normal(a, b, c, k)
    for j in range(u.shape[1]):
        col = u[:, j]
        if not u_drawn[j]:
            col[:] = 0.5
            continue
        entropy[m], entropy[m + 1] = u_keys[j, 0], u_keys[j, 1]
        a, b, c, k = _sfc64_from_entropy(entropy)
        for r in range(n):
            col[r], a, b, c, k = sfc64_double(a, b, c, k)
