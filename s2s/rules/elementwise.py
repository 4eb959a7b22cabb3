"""Elementwise rules: operators and ufuncs.

Each template's body is the tangent of ``z = f(x, ...)``; ``z`` is the output.
Rules that read ``z`` reuse the primal result (exp, tanh, sqrt...).
Batching: elementwise (broadcasting does the work).
"""

# ruff: noqa: F841  (a template assigns z_dot for the transformer to read, not Python)

import builtins
import operator

import numpy as np

from .. import runtime as rt
from .registry import A, S, TemplateRule, custom, jvp_rule, linear, zero
from .templates import _number

EW = "elementwise"

# ---------------------------------------------------------------- operators

_BINARY = [S(A(3), A(3)), S(A(2, 3), A(3)), S(A(3), A(2, 3)), S(A(3), 2.5), S(1.5, A(4))]
_POSITIVE_DIVISOR = [S(A(3), A(3, low=0.5, high=2)), S(A(2, 3), A(3, low=0.5, high=2)),
                     S(A(3), 2.5), S(1.5, A(4, low=0.5, high=2))]


@jvp_rule(operator.add, np.add, samples=_BINARY, batching=EW)
def add(z, x, y, x_dot, y_dot):
    z_dot = x_dot + y_dot


@jvp_rule(operator.sub, np.subtract, samples=_BINARY, batching=EW)
def subtract(z, x, y, x_dot, y_dot):
    z_dot = x_dot - y_dot


@jvp_rule(operator.mul, np.multiply, samples=_BINARY, batching=EW)
def multiply(z, x, y, x_dot, y_dot):
    z_dot = x_dot * y + x * y_dot


@jvp_rule(operator.truediv, np.divide, samples=_POSITIVE_DIVISOR, batching=EW)
def divide(z, x, y, x_dot, y_dot):
    z_dot = (x_dot - z * y_dot) / y


@jvp_rule(operator.neg, np.negative, samples=[S(A(3))], batching=EW)
def negative(z, x, x_dot):
    z_dot = -x_dot


@jvp_rule(operator.pos, np.positive, samples=[S(A(3))], batching=EW)
def positive(z, x, x_dot):
    z_dot = x_dot


# a number as the exponent: y * x ** (y - 1) folded (2 * x for x ** 2); one
# known at run time: rt.power_coefficient, which is 0 where y is 0 (x ** 0 is
# 1 everywhere, and at x = 0 the formula is 0 * inf)
def power_(z, x, y, x_dot, y_dot):
    z_dot = y * x ** (y - 1) * x_dot + z * rt.power_log(x) * y_dot


def power_by_a_variable(z, x, y, x_dot, y_dot):
    z_dot = rt.power_coefficient(x, y) * x_dot + z * rt.power_log(x) * y_dot


_POWER = TemplateRule(operator.pow, "power", power_, None)
_POWER_BY_A_VARIABLE = TemplateRule(operator.pow, "power", power_by_a_variable, None)


def _power_parameters(x, y):
    """``x ** y`` and ``np.power(x, y)``."""


_POWER_SAMPLES = [
    S(A(3, low=0.5, high=2), A(3)),
    S(A(3, low=0.5, high=2), 3),
    S(A(3), 2),
    S(A(3), 3),
    S(A(3, low=0.5, high=2), -2),
    S(A(3, low=0.5, high=2), 0.5),
    S(A(2, 3, low=0.5, high=2), A(3, low=-1, high=1)),
    S(2.0, A(3)),
    # a zero base: 0 ** y is 0 for every y > 0, so the exponent's tangent is 0
    S(np.array([0.0, 1.5, 2.0]), A(3, low=1, high=2), argnums=(1,)),
    # a zero exponent at a zero base: the derivative is 0, not 0 * inf
    S(np.array([0.0, 1.5, 2.0]), np.array([0.0, 2.0, 0.0]), argnums=(0,)),
]


def _power_active(bound):
    return bound.get("x", False) or bound.get("y", False)


@custom(operator.pow, np.power, builtins.pow, signature=_power_parameters, active=_power_active,
        samples=_POWER_SAMPLES, batching=EW)
def power(site):
    """The template above: with a number as the exponent, its folded form."""
    x, y = site.bound["x"], site.bound["y"]
    return site.template(_POWER if _number(y) is not None else _POWER_BY_A_VARIABLE,
                         {"x": x, "y": y})


@jvp_rule(np.float_power, samples=[S(A(3, low=0.5, high=2), A(3))], batching=EW)
def float_power(z, x, y, x_dot, y_dot):
    z_dot = y * np.float_power(x, y - 1) * x_dot + z * np.log(x) * y_dot


# x's term is x_dot grown to the result's shape and type: without a tangent of
# y (z = x % 2.5 * np.ones(3), or a float64 y of a float32 x) it is all there is
@jvp_rule(operator.mod, np.mod, np.remainder, samples=[S(A(4, low=0.1, high=5), 1.5),
                                                      S(A(3, low=0.1, high=5), A(3, low=1, high=2)),
                                                      S(2.7, A(2, 3, low=1, high=2))],
          batching=EW)
def mod(z, x, y, x_dot, y_dot):
    z_dot = rt.broadcast_with(x_dot, y) - np.floor_divide(x, y) * y_dot


@jvp_rule(np.fmod, samples=[S(A(4, low=0.1, high=5), 1.5), S(2.7, A(2, 3, low=1, high=2))],
          batching=EW)
def fmod(z, x, y, x_dot, y_dot):
    z_dot = rt.broadcast_with(x_dot, y) - np.trunc(x / y) * y_dot


zero(operator.floordiv, np.floor_divide, samples=[S(A(4, low=0.1, high=5), 1.5)], batching=EW)
zero(operator.and_, operator.or_, operator.xor, samples=[S(A(4, kind="bool"), A(4, kind="bool"))],
     batching=EW)
zero(operator.lshift, operator.rshift, samples=[S(A(4, kind="int"), 1)], batching=EW)
zero(operator.invert, samples=[S(A(4, kind="bool"))], batching=EW)

# ---------------------------------------------------------------- unary functions


@jvp_rule(np.sin, samples=[S(A(3)), S(A(2, 3))], batching=EW)
def sin(z, x, x_dot):
    z_dot = np.cos(x) * x_dot


@jvp_rule(np.cos, samples=[S(A(3))], batching=EW)
def cos(z, x, x_dot):
    z_dot = -np.sin(x) * x_dot


@jvp_rule(np.tan, samples=[S(A(3, low=-1, high=1))], batching=EW)
def tan(z, x, x_dot):
    z_dot = (1 + z * z) * x_dot


@jvp_rule(np.arcsin, samples=[S(A(3, low=-0.9, high=0.9))], batching=EW)
def arcsin(z, x, x_dot):
    z_dot = x_dot / np.sqrt(1 - x * x)


@jvp_rule(np.arccos, samples=[S(A(3, low=-0.9, high=0.9))], batching=EW)
def arccos(z, x, x_dot):
    z_dot = -x_dot / np.sqrt(1 - x * x)


@jvp_rule(np.arctan, samples=[S(A(3))], batching=EW)
def arctan(z, x, x_dot):
    z_dot = x_dot / (1 + x * x)


@jvp_rule(np.arctan2, samples=[S(A(3), A(3, low=0.5, high=2)), S(A(2, 3), A(3, low=0.5, high=2))],
          batching=EW)
def arctan2(z, x1, x2, x1_dot, x2_dot):
    z_dot = (x1_dot * x2 - x1 * x2_dot) / (x1 * x1 + x2 * x2)


@jvp_rule(np.sinh, samples=[S(A(3))], batching=EW)
def sinh(z, x, x_dot):
    z_dot = np.cosh(x) * x_dot


@jvp_rule(np.cosh, samples=[S(A(3))], batching=EW)
def cosh(z, x, x_dot):
    z_dot = np.sinh(x) * x_dot


@jvp_rule(np.tanh, samples=[S(A(3))], batching=EW)
def tanh(z, x, x_dot):
    z_dot = (1 - z * z) * x_dot


@jvp_rule(np.arcsinh, samples=[S(A(3))], batching=EW)
def arcsinh(z, x, x_dot):
    z_dot = x_dot / np.sqrt(x * x + 1)


@jvp_rule(np.arccosh, samples=[S(A(3, low=1.5, high=3))], batching=EW)
def arccosh(z, x, x_dot):
    z_dot = x_dot / np.sqrt(x * x - 1)


@jvp_rule(np.arctanh, samples=[S(A(3, low=-0.9, high=0.9))], batching=EW)
def arctanh(z, x, x_dot):
    z_dot = x_dot / (1 - x * x)


@jvp_rule(np.exp, samples=[S(A(3))], batching=EW)
def exp(z, x, x_dot):
    z_dot = z * x_dot


@jvp_rule(np.exp2, samples=[S(A(3))], batching=EW)
def exp2(z, x, x_dot):
    z_dot = z * rt.LN2 * x_dot


@jvp_rule(np.expm1, samples=[S(A(3))], batching=EW)
def expm1(z, x, x_dot):
    z_dot = (z + 1) * x_dot


@jvp_rule(np.log, samples=[S(A(3, low=0.5, high=3))], batching=EW)
def log(z, x, x_dot):
    z_dot = x_dot / x


@jvp_rule(np.log2, samples=[S(A(3, low=0.5, high=3))], batching=EW)
def log2(z, x, x_dot):
    z_dot = x_dot / (x * rt.LN2)


@jvp_rule(np.log10, samples=[S(A(3, low=0.5, high=3))], batching=EW)
def log10(z, x, x_dot):
    z_dot = x_dot / (x * rt.LN10)


@jvp_rule(np.log1p, samples=[S(A(3, low=-0.5, high=3))], batching=EW)
def log1p(z, x, x_dot):
    z_dot = x_dot / (1 + x)


@jvp_rule(np.sqrt, samples=[S(A(3, low=0.5, high=3))], batching=EW)
def sqrt(z, x, x_dot):
    z_dot = x_dot / (2 * z)


@jvp_rule(np.cbrt, samples=[S(A(3, low=0.5, high=3)), S(A(3, low=-3, high=-0.5))], batching=EW)
def cbrt(z, x, x_dot):
    z_dot = x_dot / (3 * z * z)


@jvp_rule(np.square, samples=[S(A(3))], batching=EW)
def square(z, x, x_dot):
    z_dot = 2 * x * x_dot


@jvp_rule(np.reciprocal, samples=[S(A(3, low=0.5, high=2))], batching=EW)
def reciprocal(z, x, x_dot):
    z_dot = -(z * z) * x_dot


@jvp_rule(np.abs, np.absolute, np.fabs, abs, operator.abs,
          samples=[S(A(4))], batching=EW)
def absolute(z, x, x_dot):
    z_dot = rt.real_part(rt.abs_sign(x) * x_dot)  # (Re(conj(x) x_dot) / |x| for a complex x)


# the angle of z = |z| e^(i a): da = Im(conj(z) dz) / |z|^2 (0 for a real z, and at 0);
# in degrees with deg=True
@jvp_rule(np.angle, samples=[S(A(4)), S(A(2, 3), deg=True)], batching=EW)
def angle(z, x, x_dot, deg=False):
    c = np.conj(x)
    z_dot = np.imag(c * x_dot) / (np.real(c * x) + (x == 0)) * (1.0 + deg * (180.0 / np.pi - 1.0))


@jvp_rule(np.hypot, samples=[S(A(3), A(3)), S(A(2, 3), A(3))], batching=EW)
def hypot(z, x1, x2, x1_dot, x2_dot):
    z_dot = (x1 * x1_dot + x2 * x2_dot) / z


@jvp_rule(np.logaddexp, samples=[S(A(3), A(3)), S(A(2, 3), A(3))], batching=EW)
def logaddexp(z, x1, x2, x1_dot, x2_dot):
    z_dot = x1_dot * np.exp(x1 - z) + x2_dot * np.exp(x2 - z)


@jvp_rule(np.logaddexp2, samples=[S(A(3), A(3))], batching=EW)
def logaddexp2(z, x1, x2, x1_dot, x2_dot):
    z_dot = x1_dot * np.exp2(x1 - z) + x2_dot * np.exp2(x2 - z)


@jvp_rule(np.deg2rad, np.radians, samples=[S(A(3))], batching=EW)
def deg2rad(z, x, x_dot):
    z_dot = x_dot * rt.DEG2RAD


@jvp_rule(np.rad2deg, np.degrees, samples=[S(A(3))], batching=EW)
def rad2deg(z, x, x_dot):
    z_dot = x_dot * rt.RAD2DEG


@jvp_rule(np.sinc, samples=[S(A(3, low=0.1, high=2)), S(np.array([0.0, 0.5, -1.3]))],
          batching=EW)
def sinc(z, x, x_dot):
    # sinc'(0) = 0; elsewhere (cos(pi x) - sinc(x)) / x
    x_safe = np.where(x == 0, 1.0, x)
    z_dot = np.where(x == 0, 0.0, (np.cos(np.pi * x) - z) / x_safe) * x_dot


# ---------------------------------------------------------------- selection


_SELECT = [S(A(4), A(4)), S(A(2, 4), A(4)), S(A(4), 0.0)]


# Ties (x1 == x2) share the tangent equally, as the max and min reductions
# do; otherwise the tangent follows the argument the result came from, which
# for fmax/fmin is the non-NaN one.
@jvp_rule(np.fmax, np.fmin, batching=EW, samples=_SELECT + [
    S(np.array([np.nan, 1.0, 2.0]), np.array([0.5, np.nan, 3.0])),
])
@jvp_rule(np.maximum, np.minimum, samples=_SELECT, batching=EW)
def maximum(z, x1, x2, x1_dot, x2_dot):
    z_dot = np.where(x1 == x2, (x1_dot + x2_dot) / 2, np.where(z == x1, x1_dot, x2_dot))


@jvp_rule(np.clip, samples=[
    S(A(6), -0.5, 0.5), S(A(6), A(6, low=-2, high=-1), A(6, low=1, high=2)),
    S(A(6), None, 0.3), S(A(6), -0.3, None), S(A(2, 6), A(6, low=-1, high=0), 0.5),
], batching=EW)
def clip(z, a, a_min, a_max, a_dot, a_min_dot, a_max_dot):
    z_dot = rt.clip_tangent(a, a_min, a_max, a_dot, a_min_dot, a_max_dot)


# ---------------------------------------------------------------- interpolation

_XP = np.array([-1.0, 0.0, 0.5, 2.0])  # (differentiated too, as written-in floats are)
_FP = np.array([1.0, -0.5, 2.0, 0.25])


# in x: the slope of the segment x is on, taken from the right at a point, 0
# outside the points (constants there); linear in fp, left and right; in xp
# and period: see _s2s.interp_tangent
@jvp_rule(np.interp, batching="interp", samples=[
    S(A(6, low=-1.5, high=2.5), _XP, _FP), S(A(2, 3, low=-0.9, high=1.9), _XP, A(4)),
    S(1.2, _XP, _FP), S(np.array([-2.0, -0.5, 0.7, 3.0]), _XP, _FP, -3.0, 5.0),
    S(np.array([-2.0, 3.0]), _XP, _FP, left=2.5),
    S(A(5, low=-4, high=4), np.array([0.3, 2.5, 1.0, 4.2]), A(4), period=3.0),
    S(A(5, low=-4, high=4), _XP, _FP, None, None, -2.5),
])
def interp(z, x, xp, fp, x_dot, xp_dot, fp_dot, left_dot, right_dot, period_dot, left=None,
           right=None, period=None):
    z_dot = rt.interp_tangent(x, xp, fp, left, right, period, x_dot, xp_dot, fp_dot, left_dot,
                              right_dot, period_dot)


# ---------------------------------------------------------------- polynomials


# linear in the coefficients; in x, the derivative polynomial (np.polyder's
# coefficients, written as arithmetic on p's, which a second derivative follows,
# with the exponents in p's type: an int64 arange made float32 float64)
@jvp_rule(np.polyval, batching="polyval", samples=[
    S(A(3), A(5)), S(A(4), A(2, 3)), S(A(1), A(3)), S(A(3), 0.7),
    S(np.array([1.0, -2.0, 0.5]), A(4)),
])
def polyval(z, p, x, p_dot, x_dot):
    z_dot = np.polyval(p_dot, x) + np.polyval(np.asarray(p)[:-1] * np.arange(
        np.shape(p)[-1] - 1, 0, -1).astype(np.asarray(p).dtype), x) * x_dot


linear(np.where, argnums=(1, 2), samples=[S(A(5, kind="bool"), A(5), A(5)),
                                          S(A(2, 5, kind="bool"), A(5), 0.0)], batching=EW,
       passive=("condition",))

linear(np.real, np.imag, np.conj, np.conjugate, samples=[S(A(3))], batching=EW)

# ---------------------------------------------------------------- scalar types

# np.float32(x) casts (an array to an array): the tangent is cast the same way,
# so it has the primal's dtype. The float32 and complex64 samples lie near 0,
# where single precision keeps the float64 finite differences exact enough.
_SMALL = A(3, low=-1e-6, high=1e-6)
linear(np.float64, np.longdouble, np.complex128, np.clongdouble,
       samples=[S(A(3)), S(A(2, 3)), S(A()), S(2.5)], batching=EW)
linear(np.float32, np.complex64, samples=[S(_SMALL), S(A(2, 3, low=-1e-6, high=1e-6))],
       batching=EW)

# ---------------------------------------------------------------- not differentiable

zero(np.floor, np.ceil, np.trunc, np.rint, np.fix, np.sign, np.isfinite, np.isnan,
     np.isinf, np.signbit, np.logical_not, np.zeros_like, np.ones_like, np.empty_like,
     samples=[S(A(4, low=0.1, high=3.9)), S(A(2, 3))], batching=EW)
zero(np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
     np.bool_, samples=[S(A(4, low=0.1, high=3.9)), S(A(2, 3, low=0.1, high=3.9)), S(2.5)],
     batching=EW)
zero(np.round, np.around, samples=[S(A(4)), S(A(4), 2)], batching=EW)
zero(np.heaviside, np.greater, np.greater_equal, np.less, np.less_equal, np.equal,
     np.not_equal, np.logical_and, np.logical_or, np.logical_xor, operator.lt, operator.le,
     operator.gt, operator.ge, operator.eq, operator.ne,
     samples=[S(A(4), A(4)), S(A(2, 4), A(4)), S(A(4), 0.5)], batching=EW)
zero(operator.not_, samples=[S(2.5)], batching=EW)
zero(np.isclose, samples=[S(A(4), A(4)), S(A(2, 4), 0.5), S(A(4), A(4), 0.5, 0.5)], batching=EW)

# ================================================================ rules-more: elementwise
# (added with the statistics and signals rules; kept in one block)

_NONFINITE = np.array([1.5, np.nan, np.inf, -np.inf, -0.5])


# the non-finite entries are replaced by constants (or by the values nan=,
# posinf=, neginf=, whose tangents they take); the finite ones pass. A complex
# x's real and imaginary parts are replaced each on its own, as NumPy does
_COMPLEX_NONFINITE = np.array([1.5 - 0.5j, complex(np.nan, 1.0), complex(np.inf, -2.0),
                               complex(0.5, -np.inf), complex(np.nan, np.inf), -0.5j])


@jvp_rule(np.nan_to_num, batching=EW, samples=[
    S(A(4)), S(_NONFINITE), S(A(2, 3), False), S(_NONFINITE, True, 2.5, 10.0, -10.0),
    S(_COMPLEX_NONFINITE, argnums=(0,)), S(_COMPLEX_NONFINITE, True, 2.5, 10.0, -10.0),
])
def nan_to_num(z, x, x_dot, nan_dot, posinf_dot, neginf_dot, copy=True, nan=0.0, posinf=None,
               neginf=None):
    re = np.real(x)
    im = np.imag(x)
    z_dot = rt.broadcast_with(rt.from_parts(
        x, np.where(np.isnan(re), nan_dot, np.where(np.isposinf(re), posinf_dot, np.where(
            np.isneginf(re), neginf_dot, np.real(x_dot)))),
        np.where(np.isnan(im), nan_dot, np.where(np.isposinf(im), posinf_dot, np.where(
            np.isneginf(im), neginf_dot, np.imag(x_dot))))), z)


# |x1| with the sign of x2: the tangent of x1 where the signs agree, its
# negative where they differ; x2 only chooses the sign
@jvp_rule(np.copysign, batching=EW, samples=[
    S(A(4), A(4)), S(A(2, 4), A(4)), S(A(4), -1.0), S(np.array([1.5, -2.0, 0.5]), A(3)),
])
def copysign(z, x1, x2, x1_dot, x2_dot):
    z_dot = rt.broadcast_with(np.where(np.signbit(x1) == np.signbit(x2), x1_dot, -x1_dot), z)


# x1 * 2 ** x2 (x2 an integer, whose tangent is zero): linear in x1
linear(np.ldexp, argnums=(0,), batching=EW, passive=("x2",), samples=[
    S(A(4), np.array([0, 1, -2, 3])), S(A(2, 3), 2), S(A(3), np.array([[1, 0, -1], [2, 2, 2]])),
])

# the next float after x1 towards x2 moves with x1 (x2 only gives the direction)
@jvp_rule(np.nextafter, batching=EW, samples=[S(A(4), A(4)), S(A(2, 4), A(4)), S(A(3), 1.0)])
def nextafter(z, x1, x2, x1_dot, x2_dot):
    z_dot = rt.broadcast_with(x1_dot, z)


# the fractional part moves with x, the integral part does not
@jvp_rule(np.modf, batching=EW, samples=[S(A(4, low=-3, high=3)), S(A(2, 3, low=0.1, high=3))])
def modf(z, x, x_dot):
    z_dot = rt.tuple_like(z, x_dot, np.zeros_like(z[1]))


# the mantissa x / 2 ** e, the exponent e an integer (its tangent a zero)
@jvp_rule(np.frexp, batching=EW, samples=[S(A(4)), S(A(2, 3, low=0.5, high=20))])
def frexp(z, x, x_dot):
    z_dot = rt.tuple_like(z, np.ldexp(x_dot, -z[1]), np.zeros_like(z[0]))


# (x1 // x2, x1 % x2): the quotient is piecewise constant
@jvp_rule(np.divmod, builtins.divmod, batching=EW, samples=[
    S(A(4, low=0.1, high=5), 1.5), S(A(3, low=0.1, high=5), A(3, low=1, high=2)),
    S(A(2, 3, low=-5, high=5), A(3, low=1, high=2)),
])
def divmod_(z, x1, x2, x1_dot, x2_dot):
    z_dot = rt.tuple_like(z, np.zeros_like(z[0]),
                          rt.broadcast_with(x1_dot - np.floor_divide(x1, x2) * x2_dot, z[1]))


zero(np.spacing, np.isposinf, np.isneginf, samples=[S(A(4)), S(A(2, 3))], batching=EW)
