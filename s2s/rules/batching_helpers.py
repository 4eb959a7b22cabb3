"""Rules for the helpers the batching transform emits (``_s2s.batched``,
``_s2s.lift``...), so that batched code can be differentiated again
(``hessian`` is jacfwd of generated jacfwd code).

Batching: these only appear in code that is already batched; batching it
again goes through the same helpers (they work on any leading axes).
"""

import numpy as np

from .. import runtime as rt
from .registry import A, S, linear, multilinear, zero

HELPER = "helper"

zero(rt.batch_size, rt.tail_axes, rt.len_batched, samples=[S(A(3, 2))], batching=HELPER)
zero(rt.shift_axis, samples=[S(1), S((0, -1))], batching=HELPER)
zero(rt.shift_axis_of, samples=[S(A(3, 2), None), S(A(3, 2, 2), (0, -1))], batching=HELPER)
zero(rt.batch_shape, samples=[S(3, (2, 2))], batching=HELPER)
linear(rt.batched, rt.batched_copy, samples=[S(A(2), 3), S(A(2, 2), 5)], batching=HELPER)
linear(rt.batched_under, rt.batched_copy_under, samples=[S(A(2, 3), 4)], batching=HELPER)
linear(rt.broadcast_with, samples=[S(A(3), np.ones((2, 3))), S(A(2, 3), 1.0)],
       batching="elementwise")
linear(rt.lift, samples=[S(A(3, 2), 3)], batching=HELPER)
linear(rt.lift_region, samples=[S(A(3), np.ones((3, 4)), np.array([True, False, True, False])),
                                 S(A(3), np.ones((3, 4)), np.array([[0, 2], [1, 3]]))],
       batching=HELPER)
linear(rt.align_batched, samples=[S(A(3, 2), (np.ones((4, 2)),), (False,))], batching=HELPER)
linear(rt.flatten_batched, rt.squeeze_batched, rt.transpose_batched, rt.iter_batched,
       rt.iter_unpacked_batched, samples=[S(A(3, 1, 2))], batching=HELPER)
linear(rt.atleast_batched, samples=[S(A(3), 2), S(A(3, 2), 3)], batching=HELPER)
linear(rt.getitem_batched, samples=[S(A(3, 4), 1), S(A(3, 4), slice(1, None))],
       batching=HELPER)
linear(rt.concatenate_flat_batched, samples=[S([A(3, 2), A(3, 1, 2)])], batching=HELPER)
linear(rt.scalar_batched, samples=[S(A(3), float)], batching=HELPER)
multilinear(rt.matmul_batched, samples=[S(A(3, 2, 4), A(4, 5), True, False),
                                        S(A(3, 4), A(4, 5), True, False),
                                        S(A(2, 4), A(3, 4), False, True),
                                        S(A(2, 4), A(3, 4, 2), False, True)], batching=HELPER)
