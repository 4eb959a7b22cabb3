"""Rules for the runtime helpers that jvp rules emit (``_s2s.extremum_tangent``...),
so derivative code can be differentiated again: ``hessian`` and
``jacfwd(jacfwd(f))`` transform generated jvp code once more.

Each helper is linear in its tangent arguments. Its primal arguments only
choose *where* a tangent goes (the entries that attain the maximum, those
inside the clip bounds, the sort order, a parameter's copy), a choice that
is locally constant, so their derivative is zero almost everywhere and the
rule is linear in the tangents alone. ``var_tangent`` is bilinear (over the
reals) in the centred primal and the tangent. Helpers not listed here (prod, cumprod,
norm, average and interp tangents, which depend smoothly on primal values)
have no second-order rule yet: differentiating them again is refused with
an error naming the helper. The quantile's tangent refuses a derivative of
``q_dot`` (of a q that depends on the input), which would move its weights.

``power_log`` (the ``log(x)`` of the power rule) is a function of a primal:
its rule is that of the log, with the zero it puts at ``x == 0`` kept.
"""

# ruff: noqa: F841  (a template assigns z_dot for the transformer to read, not Python)

import numpy as np

from .. import runtime as rt
from .registry import A, S, jvp_rule, linear, multilinear

_A = np.array([[0.3, 2.0, -1.0], [1.5, 0.2, 0.9]])

linear(rt.fresh_copy, samples=[S(A(3, 2))], batching="helper")
linear(rt.tangent_copy, argnums=(0,), batching="helper", passive=("z",), samples=[
    S(A(3, 2), A(3, 2), argnums=(0,)), S(A(3), np.array([1 + 1j, 2 - 1j, 0.5j]), argnums=(0,))])
linear(rt.extremum_tangent, argnums=(2,),
       samples=[S(_A, _A.max(axis=1), A(2, 3), 1, False, argnums=(2,)),
                S(_A, _A.min(), A(2, 3), None, False, argnums=(2,))],
       batching="helper")
linear(rt.pad_extremum_tangent, argnums=(1,), batching="helper", samples=[
    S(_A, A(2, 3), 1, "maximum", argnums=(1,)),
    S(_A, A(2, 3), ((1, 0), (2, 1)), "minimum", (1, 2), argnums=(1,)),
])
linear(rt.clip_tangent, argnums=(3, 4, 5),
       samples=[S(_A, -0.5, 1.0, A(2, 3), 0.0, 0.0, argnums=(3, 4, 5))], batching="helper")
# (bilinear over the reals: Re(sum(conj(a - mean) a_dot)) for a complex ``a``)
multilinear(rt.var_tangent, argnums=(0, 1),
            samples=[S(A(2, 3), A(2, 3), 1, 0, False), S(A(4), A(4), None, 1, True),
                     S(np.array([0.3 + 1.5j, 2.0 - 0.2j, -1.0 + 0.9j]), A(3), None, 1, False,
                       argnums=(0, 1))],
            batching="helper")
linear(rt.sorted_tangent, argnums=(1,),
       samples=[S(np.array([0.3, -1.0, 2.0]), A(3), None, False, argnums=(1,))],
       batching="helper")
linear(rt.items_extremum_tangent, argnums=(2, 3), batching="helper", samples=[
    S((0.3, 2.0, 2.0), 2.0, (A(), A(), A()), argnums=(2,)),
    S(np.array([0.3, -1.0, 2.0]), 2.0, A(3), argnums=(2,)),
    S([], 0.5, [], A(), argnums=(3,)),
])
linear(rt.tuple_like, argnums=slice(1, None),
       samples=[S((1.0, 2.0), A(3), A(2), argnums=(1, 2))], batching="helper")
# zeros of any structure: linear (constant zero), which keeps the structure
linear(rt.zeros_like_tree, samples=[S((A(2), A(3)))], batching="helper")
linear(rt.accumulated_extremum_tangent, argnums=(2,), batching="helper", samples=[
    S(_A, np.maximum.accumulate(_A, axis=1), A(2, 3), 1, argnums=(2,)),
    S(_A, np.minimum.accumulate(_A, axis=0), A(2, 3), 0, argnums=(2,))])
# the quantile's tangent interpolates the sorted values' tangents, with weights the
# (locally constant) order and q choose; a derivative of q itself moves them: refused
linear(rt.quantile_tangent, argnums=(2,), refused=("q_dot",), batching="helper", samples=[
    S(_A, np.quantile(_A, 0.3, axis=1), A(2, 3), 0.3, 0.0, 1, False, 1, argnums=(2,)),
    S(_A, np.median(_A), A(2, 3), 0.5, 0.0, None, False, 1, argnums=(2,))])
# the counts sum the weights' tangents in bins the values choose; the edges'
# tangents are the bins' or the ends' (those of the least and largest value)
_VALUES, _WEIGHTS = np.array([0.1, 0.7, 0.35, 0.9, 0.55, 0.2]), np.linspace(0.5, 1.5, 6)
linear(rt.histogram_tangent, argnums=(5, 6, 7), batching="helper", samples=[
    S(_VALUES, np.histogram(_VALUES, 3, weights=_WEIGHTS), 3, None, _WEIGHTS, A(6), 0.0, A(6),
      argnums=(5, 7)),
    S(_VALUES, np.histogram(_VALUES, np.array([0.0, 0.3, 0.6, 1.0]), weights=_WEIGHTS),
      np.array([0.0, 0.3, 0.6, 1.0]), None, _WEIGHTS, A(6), A(4), A(6), argnums=(5, 6, 7))])
# the values' tangents under the pairs' keys
linear(rt.dict_tangent, argnums=(1,), batching="helper", samples=[
    S({"w": A(2)}, {"w": A(2)}, argnums=(1,))])


# d/dx y x^(y-1) = y (y-1) x^(y-2) (0 where y is 0: z is 0 for every x there;
# y - (y != 0) is y - 1 but 0 there, and a Python number as y is, which would not
# widen a float32 x as np.where's int64 array does); d/dy = x^(y-1) (1 + y log x)
@jvp_rule(rt.power_coefficient, samples=[S(A(3, low=0.5, high=2), A(3, low=-1, high=2)),
                                         S(A(3, low=0.5, high=2), 3),
                                         S(np.array([0.0, 1.5]), np.array([0.0, 2.0]),
                                           argnums=(0,))], batching="elementwise")
def power_coefficient(z, x, y, x_dot, y_dot):
    z_dot = (y * rt.power_coefficient(x, y - (y != 0)) * x_dot
             + (x ** (y - 1) + z * rt.power_log(x)) * y_dot)


@jvp_rule(rt.own_tangents, samples=[S(A(3, 2)), S([A(3), {"a": A(2)}])], batching="helper")
def own_tangents(z, value, value_dot):
    # (a callee's result whose items change in place: its tangents, another value's
    # perhaps, are copied; differentiated again, so are those of the next order)
    z_dot = rt.fresh_copy(value_dot)


@jvp_rule(rt.power_log, samples=[S(A(3, low=0.5, high=2)), S(1.5)], batching="elementwise")
def power_log(z, x, x_dot):
    z_dot = np.where(x == 0, 0.0, x_dot) / np.where(x == 0, 1.0, x)


# abs's sign s: locally constant for a real x (s * s == 1: exactly 0 below); for a
# complex one s = conj(x) / |x| and ds = (conj(dx) - s Re(s dx)) / |x| (0 at 0)
@jvp_rule(rt.abs_sign, samples=[S(A(3))], batching="elementwise")
def abs_sign(z, x, x_dot):
    r = np.abs(x)
    z_dot = np.where(r == 0, 0.0, np.conj(x_dot) - z * rt.real_part(z * x_dot)) / np.where(
        r == 0, 1.0, r)


linear(rt.real_part, samples=[S(A(3))], batching="elementwise")  # (complex: tests/test_e2e.py)
# a tangent put together from its parts (nan_to_num's): linear in them
linear(rt.from_parts, argnums=(1, 2), passive=("x",), batching="elementwise", samples=[
    S(A(3), A(3), A(3), argnums=(1, 2)), S(np.array([1.0 + 2.0j, -0.5j]), A(2), A(2), argnums=(1, 2)),
    S(np.array([0.5 - 1.0j]), A(2, 1), 0.5, argnums=(1,))])


# ---------------------------------------------------------------- linear algebra (rules-linalg)
# Helpers of the linalg rules, linear in their array argument: a check that
# passes the tangent on, the Hermitian matrix of a lower triangle, axes moved.
# (multi_dot_tangent, vector_norm_tangent and matrix_norm_tangent have no
# second-order rule yet: the norms' 2-norms and 'fro', 2, -2, 'nuc' are
# templates instead, which need none.)

linear(rt.defined_completion, argnums=(1,), passive=("a",), batching="helper", samples=[
    S(A(3, 3), A(3, 3), True, "svd", argnums=(1,)), S(A(4, 3), A(4, 3), False, "svd", argnums=(1,)),
    S(A(3, 4), A(3, 4), True, "qr", True, argnums=(1,))])
linear(rt.hermitian_from_lower, batching="helper",
       samples=[S(A(3, 3), True), S(A(2, 3, 3), False), S(A(2, 3, 3), True)])
linear(rt.axes_to_end, batching="helper",
       samples=[S(A(2, 3, 4), (0,), 3), S(A(2, 3, 4), (2, 0), 3), S(A(2, 3), None, 2)])
