"""Shape and layout: every one of these is linear in its array arguments;
arrays filled with a value are linear in that value; shape queries are not
differentiable.

Batching: axis-taking ones shift their axes past the batch axis; reshape,
transpose, moveaxis, tile, broadcast_to have explicit rules.
"""

import numpy as np

from .registry import A, S, linear, zero

# ---------------------------------------------------------------- reshaping

linear(np.reshape, samples=[S(A(3, 4), (4, 3)), S(A(3, 4), (-1,)), S(A(2, 6), (3, 2, 2)),
                            S(A(3, 4), (2, 6), order="F")], batching="reshape")
linear(np.ravel, samples=[S(A(3, 4)), S(A(3, 4), order="F")], batching="reshape")
linear(np.atleast_1d, np.atleast_2d, np.atleast_3d, samples=[S(A(3)), S(A(2, 3))],
       batching="reshape")
linear(np.expand_dims, samples=[S(A(3, 4), 0), S(A(3, 4), -1), S(A(3, 4), (0, 2))],
       batching="axes")
linear(np.squeeze, samples=[S(A(3, 1, 4)), S(A(1, 3, 1), axis=0), S(A(1, 3, 1), axis=(0, -1))],
       batching="axes")
linear(np.broadcast_to, samples=[S(A(3), (2, 3)), S(A(2, 1), (2, 4))], batching="broadcast_to")

# ---------------------------------------------------------------- axes

linear(np.transpose, samples=[S(A(3, 4)), S(A(2, 3, 4), (2, 0, 1)), S(A(2, 3, 4), axes=(1, 0, 2))],
       batching="transpose")
linear(np.swapaxes, samples=[S(A(2, 3, 4), 0, 2), S(A(2, 3, 4), -1, 1)], batching="axes")
linear(np.moveaxis, samples=[S(A(2, 3, 4), 0, -1), S(A(2, 3, 4), (0, 1), (2, 0))],
       batching="axes")
linear(np.flip, samples=[S(A(3, 4)), S(A(3, 4), 0), S(A(3, 4), axis=-1), S(A(2, 3, 4), (0, 2))],
       batching="axes")
linear(np.fliplr, np.flipud, samples=[S(A(3, 4))], batching="axes")
linear(np.rot90, samples=[S(A(3, 4)), S(A(3, 4), 2), S(A(2, 3, 4), 1, (1, 2))], batching="axes")
linear(np.roll, samples=[S(A(5), 2), S(A(3, 4), -1, axis=1), S(A(3, 4), (1, 2), axis=(0, 1)),
                         S(A(3, 4), 5)], batching="axes")

# ---------------------------------------------------------------- joining and splitting

linear(np.concatenate, samples=[S([A(2, 3), A(4, 3)]), S([A(2, 3), A(2, 2)], axis=1),
                                S([A(2, 3), A(2, 3)], axis=None), S((A(2, 3), A(1, 3)))],
       batching="axes")
linear(np.stack, samples=[S([A(2, 3), A(2, 3)]), S([A(2, 3), A(2, 3)], axis=-1)],
       batching="axes")
linear(np.hstack, samples=[S([A(2, 3), A(2, 1)]), S([A(3), A(2)])], batching="axes")
linear(np.vstack, samples=[S([A(2, 3), A(1, 3)]), S([A(3), A(3)])], batching="axes")
linear(np.column_stack, samples=[S([A(3), A(3, 2)])], batching="axes")
# append(arr, values, axis): linear in both arrays
linear(np.append, argnums=(0, 1), samples=[S(A(3), A(2)), S(A(2, 3), A(1, 3), axis=0),
                                          S(A(2, 3), A(4))], batching="axes")
linear(np.split, samples=[S(A(6, 2), 3), S(A(4, 6), [1, 4], axis=1)], batching="axes")
linear(np.array_split, samples=[S(A(7), 3), S(A(2, 7), 2, axis=-1)], batching="axes")
linear(np.delete, samples=[S(A(5), 1), S(A(3, 4), [0, 2], axis=1)], batching="axes")

# ---------------------------------------------------------------- repetition and padding

linear(np.tile, samples=[S(A(3), 2), S(A(2, 3), (2, 1))], batching="tile")
linear(np.repeat, samples=[S(A(3), 2), S(A(2, 3), 2, axis=1), S(A(3), [1, 2, 0])],
       batching="axes")
linear(np.pad, samples=[S(A(3), 2), S(A(2, 3), ((1, 0), (0, 2))), S(A(3), 1, mode="edge"),
                        S(A(3), 1, mode="reflect")], batching="axes")

# ---------------------------------------------------------------- diagonals and triangles

linear(np.diag, samples=[S(A(3)), S(A(3, 3)), S(A(3, 4), 1), S(A(3), -1)], batching="diag")
linear(np.diagonal, samples=[S(A(3, 3)), S(A(3, 4), 1), S(A(2, 3, 3), 0, 1, 2)],
       batching="axes")
linear(np.triu, np.tril, samples=[S(A(3, 3)), S(A(3, 4), 1), S(A(2, 3, 3), -1)],
       batching="axes")

# ---------------------------------------------------------------- copies and filled arrays

linear(np.copy, np.array, np.asarray, np.ascontiguousarray, np.asanyarray,
       samples=[S(A(3)), S(A(2, 3))], batching="elementwise")
# full(shape, value) and full_like(a, value) are linear in the value alone
linear(np.full, argnums=(1,), samples=[S((2, 3), 1.5), S((2, 3), A(3))], batching="broadcast_to")
linear(np.full_like, argnums=(1,), samples=[S(A(2, 3), 1.5), S(A(2, 3), A(3))],
       batching="broadcast_to")

# ---------------------------------------------------------------- shape queries

zero(np.shape, np.ndim, samples=[S(A(3, 4)), S([1.5, 2.5])], batching="python")
zero(np.size, samples=[S(A(3, 4)), S(A(3, 4), 1)], batching="python")
