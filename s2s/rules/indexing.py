"""Indexing-like primitives: take, take_along_axis, compress, extract, select,
sort, unique, and the index-valued searches.

Subscripts (``x[i]``, ``x[1:, ::-1]``, ``x[mask]``, ``x[idx]``) need no rule:
the jvp pass indexes the tangent with the same index. Subscript assignment
likewise writes the tangent of the value into the tangent of the array.
Batching: the batch axis is prepended; axis arguments shift past it.
"""

# ruff: noqa: F841  (a template assigns z_dot for the transformer to read, not Python)

import numpy as np

from .. import runtime as rt
from .registry import A, S, jvp_rule, linear, zero

# ---------------------------------------------------------------- gathers

# (indices and conditions computed from values that carry a derivative have none)
linear(np.take, samples=[S(A(5), [0, 3, 3]), S(A(3, 4), [2, 0], axis=1)], batching="axes",
       passive=("indices",))
linear(np.take_along_axis, samples=[S(A(3, 4), np.array([[0], [2], [1]]), 1),
                                    S(A(3, 4), np.array([0, 5, 11]), None)], batching="axes",
       passive=("indices",))
linear(np.compress, samples=[S([True, False, True], A(3, 2), axis=0),
                             S([True, False, True, True], A(2, 2))], argnums=(1,),
       batching="axes", passive=("condition",))
linear(np.extract, samples=[S(np.array([True, False, True, True]), A(4))], argnums=(1,),
       batching="axes", passive=("condition",))
# select(condlist, choicelist, default): linear in the choices and the default
linear(np.select, argnums=(1, 2), samples=[
    S([A(4, kind="bool"), A(4, kind="bool")], [A(4), A(4)]),
    S([A(4, kind="bool")], [A(4)], A(4)),
    S([A(2, 4, kind="bool")], [A(4)], 0.5),
], batching="elementwise", passive=("condlist",))

# ---------------------------------------------------------------- sorting


@jvp_rule(np.sort, samples=[S(A(5)), S(A(3, 4), axis=0), S(A(3, 4), axis=-1),
                            S(A(3, 4), axis=None), S(A(3, 4), kind="stable")], batching="axes")
def sort(z, a, a_dot, axis=-1, kind=None):
    z_dot = np.take_along_axis(a_dot, np.argsort(a, axis=axis, kind=kind), axis=axis)


# repeated values are where unique is not differentiable (a perturbation
# splits them), so the samples have none
@jvp_rule(np.unique, samples=[S(A(5)), S(A(3, 4)), S(A(4), True, True, True),
                              S(A(4, 2), axis=0), S(A(4, 2), return_inverse=True, axis=1)],
          batching="axes")
def unique(z, ar, ar_dot, return_index=False, return_inverse=False, return_counts=False,
           axis=None):
    # the values are elements of ``ar``: their tangents are the tangents there
    z_dot = rt.unique_tangent(ar, z, ar_dot, axis)


# ---------------------------------------------------------------- index-valued

zero(np.nonzero, np.flatnonzero, np.argwhere,
     samples=[S(np.array([0.0, 1.5, 0.0, -2.0])), S(A(3, 4))], batching="axes")
zero(np.searchsorted, samples=[S(np.array([0.5, 1.5, 2.5]), A(4, low=0, high=3)),
                               S(np.array([0.5, 1.5, 2.5]), 1.0, side="right")],
     batching="axes")
zero(np.digitize, samples=[S(A(4, low=0, high=3), np.array([0.5, 1.5, 2.5])),
                           S(A(2, 3, low=0, high=3), np.array([0.5, 1.5, 2.5]), True),
                           S(A(4, low=0, high=3), np.array([2.5, 1.5, 0.5]))],
     batching="axes")
