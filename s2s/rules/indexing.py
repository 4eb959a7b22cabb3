"""Indexing-like primitives: take, take_along_axis, sort, compress, select.

Subscripts (``x[i]``, ``x[1:, ::-1]``, ``x[mask]``, ``x[idx]``) need no rule:
the jvp pass indexes the tangent with the same index. Subscript assignment
likewise writes the tangent of the value into the tangent of the array.
"""

import numpy as np

from .registry import A, S, jvp_rule, linear, zero

linear(np.take, samples=[S(A(5), [0, 3, 3]), S(A(3, 4), [2, 0], axis=1)], batching="axes")
linear(np.take_along_axis, samples=[S(A(3, 4), np.array([[0], [2], [1]]), 1)], batching="axes")
linear(np.compress, samples=[S([True, False, True], A(3, 2), axis=0)], argnums=(1,),
       batching="axes")
linear(np.extract, samples=[S(np.array([True, False, True, True]), A(4))], argnums=(1,),
       batching="axes")


@jvp_rule(np.sort, samples=[S(A(5)), S(A(3, 4), axis=0), S(A(3, 4), axis=-1)], batching="axes")
def sort(z, a, a_dot, axis=-1):
    z_dot = np.take_along_axis(a_dot, np.argsort(a, axis=axis), axis=axis)


zero(np.searchsorted, np.nonzero, np.flatnonzero, np.argwhere, np.unique, np.digitize,
     samples=[S(np.array([0.5, 1.5, 2.5]), A(4, low=0, high=3)),
              ], batching="axes")
