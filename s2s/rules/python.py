"""Python builtins and the math module.

Batching: elementwise for the math functions (a batched scalar is an array).
"""

# ruff: noqa: F841  (a template assigns z_dot for the transformer to read, not Python)

import builtins
import math

import gast
import numpy as np

from .. import runtime as rt
from ..context import assign, call, name
from ..nodes import clone
from .registry import A, S, TemplateRule, custom, jvp_rule, linear, zero

# ---------------------------------------------------------------- builtins

# sum(iterable, start): linear in both
linear(builtins.sum, argnums=(0, 1), samples=[S([A(3), A(3), A(3)]), S([1.5, 2.5]),
                                              S([A(3), A(3)], A(3))], batching="python")
linear(builtins.float, samples=[S(A()), S(2.5)], batching="elementwise")
# complex(real, imag) = real + 1j * imag
linear(builtins.complex, argnums=(0, 1), samples=[S(2.5), S(2.5, -0.5)], batching="elementwise")
linear(builtins.list, builtins.tuple, samples=[S([A(2), A(2)]), S(A(3, 2))], batching="python")


# dict(mapping) copies it; dict(pairs) takes the values' tangents under the pairs' keys
@jvp_rule(builtins.dict, samples=[S({"w": A(3, 2), "b": A(3)})], batching="python")
def dict_(z, iterable, iterable_dot):
    z_dot = rt.dict_tangent(iterable, iterable_dot)


# max and min of two values (a template, inlined by extremum below); ties share
# the tangent, as numpy.maximum does
def max_(z, a, b, a_dot, b_dot):
    z_dot = (a_dot + b_dot) / 2 if a == b else a_dot if z == a else b_dot


_PAIR = TemplateRule(builtins.max, "max", max_, None)


def _extremum_parameters(*args, key=None, default=None):
    """builtin max's and min's parameters: two values or more, or one iterable
    (``default``: the result when it is empty)."""


_EXTREMUM_SAMPLES = [
    S(1.5, 2.5), S(2.5, 1.5), S(A(), A()), S(0.5, 2.5, 1.5), S(A(), A(), A()),
    S(2.5, 2.5, 0.5),  # a tie: the mean of its tangents
    S([A(), A(), A()]), S((A(), A())), S(A(4)), S([A(), A()], default=0.5),
    S(A(), A(), A(), key=abs), S([A(), A(), A()], key=abs),
]


@custom(builtins.max, builtins.min, signature=_extremum_parameters, batching="python",
        samples=_EXTREMUM_SAMPLES,
        active=lambda bound: bound.get("args", False) or bound.get("default", False))
def extremum(site):
    """max(a, b): the template above. More values, a key, or one iterable:
    the mean of the tangents of the items equal to the result
    (``_s2s.items_extremum_tangent``), the tangent of ``default`` for none."""
    bound = site.bound
    values = bound.get("args", ())
    site.uses_output = True
    if len(values) == 2 and "key" not in bound:
        return site.template(_PAIR, {"a": values[0], "b": values[1]})
    helper = site.ref(rt.items_extremum_tangent)
    stmts = []
    if len(values) == 1:
        items, items_dot = values[0], site.dot_or_zero(values[0])
    else:  # the values as a tuple, and their tangents (each a variable: the batching
        # transform broadcasts the unbatched items of a batched tuple it assigns)
        items, items_dot = name(site.em.tangent_temp()), name(site.em.tangent_temp())
        stmts += [assign(items.id, gast.Tuple(elts=[clone(v) for v in values], ctx=gast.Load())),
                  assign(items_dot.id, gast.Tuple(elts=[site.dot_or_zero(v) for v in values],
                                                  ctx=gast.Load()))]
    extra = [site.dot_or_zero(bound["default"])] if "default" in bound and len(values) == 1 else []
    return stmts + [site.assign(call(helper, [items, name(site.z), items_dot] + extra))]


@jvp_rule(builtins.sorted, samples=[S([1.5, 0.5, 2.5]), S([A(), A(), A()]),
                                    S([1.5, 0.5, 2.5], reverse=True), S([-1.5, 0.5], key=abs),
                                    S(A(4))],
          batching="python")
def sorted_(z, iterable, iterable_dot, key=None, reverse=False):
    # the tangents in the order sorted() put their values
    z_dot = rt.sorted_tangent(iterable, iterable_dot, key, reverse)


zero(builtins.int, builtins.bool, samples=[S(2.5), S(A())], batching="python")
zero(builtins.round, samples=[S(2.5), S(2.567, 1), S(np.float64(2.5))], batching="python")
zero(builtins.str, builtins.repr, samples=[S(2.5)], batching="python")
zero(builtins.len, samples=[S(A(3)), S([A(2), A(2)])], batching="python")
zero(builtins.any, builtins.all, samples=[S(A(3)), S([A(), A()])], batching="python")
zero(builtins.isinstance, samples=[S(A(3), np.ndarray)], batching="python")
zero(builtins.range, samples=[S(3)], batching="python")

# ---------------------------------------------------------------- math


@jvp_rule(math.sin, samples=[S(0.7)], batching="elementwise")
def sin(z, x, x_dot):
    z_dot = math.cos(x) * x_dot


@jvp_rule(math.cos, samples=[S(0.7)], batching="elementwise")
def cos(z, x, x_dot):
    z_dot = -math.sin(x) * x_dot


@jvp_rule(math.tan, samples=[S(0.7)], batching="elementwise")
def tan(z, x, x_dot):
    z_dot = (1 + z * z) * x_dot


@jvp_rule(math.exp, samples=[S(0.7)], batching="elementwise")
def exp(z, x, x_dot):
    z_dot = z * x_dot


@jvp_rule(math.expm1, samples=[S(0.7)], batching="elementwise")
def expm1(z, x, x_dot):
    z_dot = (z + 1) * x_dot


@jvp_rule(math.log, samples=[S(0.7)], batching="elementwise")
def log(z, x, x_dot):
    z_dot = x_dot / x


@jvp_rule(math.log2, samples=[S(0.7)], batching="elementwise")
def log2(z, x, x_dot):
    z_dot = x_dot / (x * rt.LN2)


@jvp_rule(math.log10, samples=[S(0.7)], batching="elementwise")
def log10(z, x, x_dot):
    z_dot = x_dot / (x * rt.LN10)


@jvp_rule(math.log1p, samples=[S(0.7)], batching="elementwise")
def log1p(z, x, x_dot):
    z_dot = x_dot / (1 + x)


@jvp_rule(math.sqrt, samples=[S(0.7)], batching="elementwise")
def sqrt(z, x, x_dot):
    z_dot = x_dot / (2 * z)


@jvp_rule(math.sinh, samples=[S(0.7)], batching="elementwise")
def sinh(z, x, x_dot):
    z_dot = math.cosh(x) * x_dot


@jvp_rule(math.cosh, samples=[S(0.7)], batching="elementwise")
def cosh(z, x, x_dot):
    z_dot = math.sinh(x) * x_dot


@jvp_rule(math.tanh, samples=[S(0.7)], batching="elementwise")
def tanh(z, x, x_dot):
    z_dot = (1 - z * z) * x_dot


@jvp_rule(math.asin, samples=[S(0.7)], batching="elementwise")
def asin(z, x, x_dot):
    z_dot = x_dot / math.sqrt(1 - x * x)


@jvp_rule(math.acos, samples=[S(0.7)], batching="elementwise")
def acos(z, x, x_dot):
    z_dot = -x_dot / math.sqrt(1 - x * x)


@jvp_rule(math.atan, samples=[S(0.7)], batching="elementwise")
def atan(z, x, x_dot):
    z_dot = x_dot / (1 + x * x)


@jvp_rule(math.atan2, samples=[S(0.7, 1.3)], batching="elementwise")
def atan2(z, y, x, y_dot, x_dot):
    z_dot = (y_dot * x - y * x_dot) / (x * x + y * y)


@jvp_rule(math.hypot, samples=[S(0.7, 1.3)], batching="elementwise")
def hypot(z, x, y, x_dot, y_dot):
    z_dot = (x * x_dot + y * y_dot) / z


@jvp_rule(math.erf, samples=[S(0.7), S(-1.2)], batching="elementwise")
def erf(z, x, x_dot):
    z_dot = rt.TWO_OVER_SQRT_PI * math.exp(-x * x) * x_dot


@jvp_rule(math.erfc, samples=[S(0.7)], batching="elementwise")
def erfc(z, x, x_dot):
    z_dot = -rt.TWO_OVER_SQRT_PI * math.exp(-x * x) * x_dot


@jvp_rule(math.pow, samples=[S(0.7, 1.3)], batching="elementwise")
def pow_(z, x, y, x_dot, y_dot):
    z_dot = y * math.pow(x, y - 1) * x_dot + z * math.log(x) * y_dot


@jvp_rule(math.fabs, samples=[S(-0.7)], batching="elementwise")
def fabs(z, x, x_dot):
    z_dot = np.sign(x) * x_dot


linear(math.degrees, math.radians, samples=[S(0.7)], batching="elementwise")
linear(math.fsum, samples=[S([0.7, 1.3, -0.2]), S([A(), A()])], batching="python")
zero(math.floor, math.ceil, math.trunc, math.isfinite, math.isnan, math.isinf,
     samples=[S(0.7)], batching="elementwise")
