"""log and exp for loops over lanes: fdlibm's algorithms in plain arithmetic, in numba.

libm's log and exp are calls, which keep a loop from being vectorised; these (error under 1 ulp)
vectorise, and :mod:`forecast.model.reference` evaluates the very same arithmetic on numpy arrays
(:func:`forecast.model.reference.log_`, :func:`~forecast.model.reference.exp_`), so both give the
same results to the bit. Imports numpy and numba only.
"""

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from forecast.model.jit import JIT

LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
INV_LN10 = 0.43429448190325182765
LG1, LG2, LG3 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01
LG4, LG5 = 2.222219843214978396e-01, 1.818357216161805012e-01
LG6, LG7 = 1.531383769920937332e-01, 1.479819860511658591e-01
EP1, EP2 = 1.66666666666666019037e-01, -2.77777777770155933842e-03
EP3, EP4 = 6.61375632143793436117e-05, -1.65339022054652515390e-06
EP5 = 4.13813679705723846039e-08
SQRT_HALF_BITS = 0x3FE6A09E667F3BCD  # bits of sqrt(1/2)
MANTISSA = (1 << 52) - 1
EXP_LO, EXP_HI = -708.0, 709.0  # exp's argument is clamped here: 2^k stays a normal number
TINY = 1e-300  # log's argument is clamped up to this (a positive normal number)


@njit(inline="always", **JIT)
def log_poly(f, k):
    """log((1 + f) 2^k) for 1 + f in [sqrt(1/2), sqrt(2)): fdlibm's __ieee754_log."""
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (LG2 + w * (LG4 + w * LG6))
    t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)))
    r = t2 + t1
    return k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)


@njit(inline="always", **JIT)
def exp_poly(x, k):
    """exp(x) / 2^k for k = round(x / log 2): fdlibm's __ieee754_exp."""
    hi = x - k * LN2_HI
    lo = k * LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (EP1 + t * (EP2 + t * (EP3 + t * (EP4 + t * EP5))))
    return 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)


@intrinsic
def float_bits(typingctx, x):
    """The bits of a float64 as an int64 (a bit cast, which LLVM vectorises)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(types.float64), codegen


@intrinsic
def bits_float(typingctx, x):
    """The float64 whose bits are an int64 (a bit cast, which LLVM vectorises)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


@njit(inline="always", **JIT)
def log_one(y):
    """log(max(y, TINY)), the arithmetic of :func:`log_lanes`, for use inside a lane loop."""
    ix = float_bits(max(y, TINY)) - SQRT_HALF_BITS
    m = bits_float((ix & MANTISSA) + SQRT_HALF_BITS)
    return log_poly(m - 1.0, np.float64(ix >> 52))


@njit(inline="always", **JIT)
def exp_one(x):
    """exp(x), x clamped to [EXP_LO, EXP_HI], the arithmetic of :func:`exp_lanes`, for use
    inside a lane loop."""
    xl = min(max(x, EXP_LO), EXP_HI)
    k = np.floor(xl * INV_LN2 + 0.5)
    return exp_poly(xl, k) * bits_float((np.int64(k) + 1023) << 52)


@njit(inline="always", **JIT)
def log_lanes(y, w, out):
    """out[:w] = log(max(y[:w], TINY)); out may be y."""
    for ln in range(w):
        out[ln] = log_one(y[ln])


@njit(inline="always", **JIT)
def exp_lanes(x, w, out):
    """out[:w] = exp(x[:w]), x clamped to [EXP_LO, EXP_HI]; out may be x."""
    for ln in range(w):
        out[ln] = exp_one(x[ln])
