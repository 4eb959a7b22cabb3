"""Reductions: sum, mean, prod, max, min, var, std, cumsum, cumprod, norm.

Batching: reduction over ``axis`` (the batch axis is never reduced).
"""

import numpy as np

from .. import runtime as rt
from .registry import A, S, jvp_rule, linear, zero

RED = "reduction"

_AXES = [S(A(3, 4)), S(A(3, 4), axis=0), S(A(3, 4), axis=-1), S(A(2, 3, 4), axis=(0, 2)),
         S(A(3, 4), axis=1, keepdims=True), S(A(5))]

linear(np.sum, samples=_AXES, batching=RED)
linear(np.mean, samples=_AXES, batching=RED)
linear(np.cumsum, samples=[S(A(5)), S(A(3, 4), axis=0), S(A(3, 4), axis=-1)], batching=RED)
linear(np.trace, samples=[S(A(3, 3)), S(A(3, 4), 1), S(A(2, 3, 3), axis1=1, axis2=2)],
       batching=RED)


@jvp_rule(np.prod, samples=_AXES + [S(np.array([1.5, 0.0, 2.0, -1.0]))], batching=RED)
def prod(z, a, a_dot, axis=None, keepdims=False):
    z_dot = rt.prod_tangent(a, a_dot, axis, keepdims)


@jvp_rule(np.cumprod, samples=[S(A(5)), S(A(3, 4), axis=0), S(A(3, 4), axis=-1),
                               S(np.array([1.5, 0.0, 2.0, -1.0]))], batching=RED)
def cumprod(z, a, a_dot, axis=None):
    z_dot = rt.cumprod_tangent(a, z, a_dot, axis)


@jvp_rule(np.max, np.amax, samples=_AXES, batching=RED)
def amax(z, a, a_dot, axis=None, keepdims=False):
    z_dot = rt.extremum_tangent(a, z, a_dot, axis, keepdims)


@jvp_rule(np.min, np.amin, samples=_AXES, batching=RED)
def amin(z, a, a_dot, axis=None, keepdims=False):
    z_dot = rt.extremum_tangent(a, z, a_dot, axis, keepdims)


@jvp_rule(np.var, samples=_AXES + [S(A(3, 4), axis=0, ddof=1)], batching=RED)
def var(z, a, a_dot, axis=None, ddof=0, keepdims=False):
    z_dot = rt.var_tangent(a, a_dot, axis, ddof, keepdims)


@jvp_rule(np.std, samples=_AXES + [S(A(3, 4), axis=0, ddof=1)], batching=RED)
def std(z, a, a_dot, axis=None, ddof=0, keepdims=False):
    z_dot = rt.var_tangent(a, a_dot, axis, ddof, keepdims) / (2 * z)


@jvp_rule(np.linalg.norm, samples=[
    S(A(5)), S(A(3, 4)), S(A(3, 4), axis=0), S(A(3, 4), axis=-1, keepdims=True),
    S(A(5), 1), S(A(5), np.inf), S(A(3, 4), "fro"), S(A(2, 3, 4), axis=(1, 2)),
], batching=RED)
def norm(z, x, x_dot, ord=None, axis=None, keepdims=False):
    z_dot = rt.norm_tangent(x, z, x_dot, ord, axis, keepdims)


zero(np.argmax, np.argmin, np.argsort, np.count_nonzero, np.any, np.all,
     samples=[S(A(3, 4)), S(A(3, 4), axis=0)], batching=RED)
