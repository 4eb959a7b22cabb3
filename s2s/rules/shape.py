"""Shape and layout: every one of these is linear in its array arguments;
arrays filled with a value are linear in that value; shape queries are not
differentiable.

Batching: axis-taking ones shift their axes past the batch axis; reshape,
transpose, moveaxis, tile, broadcast_to have explicit rules.
"""

import gast
import numpy as np

from .. import runtime as rt
from ..context import call, const
from .registry import A, S, custom, linear, zero
from .templates import is_zero

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
linear(np.delete, samples=[S(A(5), 1), S(A(3, 4), [0, 2], axis=1)], batching="axes",
       passive=("obj",))

# ---------------------------------------------------------------- repetition and padding

linear(np.tile, samples=[S(A(3), 2), S(A(2, 3), (2, 1))], batching="tile")
linear(np.repeat, samples=[S(A(3), 2), S(A(2, 3), 2, axis=1), S(A(3), [1, 2, 0])],
       batching="axes", passive=("repeats",))

# np.pad is linear in the array and the values it pads with together: the
# tangent's pad takes their tangents (0 for constants). "constant" pads with
# constant_values=, "linear_ramp" ramps from the edge to end_values=; "edge",
# "wrap", "reflect", "symmetric" and "mean" copy or average the array: the
# same pad of the tangent. "maximum" and "minimum" pad with the tangent where
# a window attains its extremum, "empty" with undefined values (tangent 0).
# "median" (ties between the middle values pick no tangent) and a function
# as the mode have no rule.
_PAD_SAME = ("constant", "linear_ramp", "edge", "wrap", "reflect", "symmetric", "mean")
_PAD_FILLS = ("constant_values", "end_values")
_PAD_KEPT = ("stat_length", "reflect_type")


def _pad_parameters(array, pad_width, mode="constant", stat_length=None, constant_values=0,
                    end_values=0, reflect_type="even"):
    """np.pad's parameters, with the keywords it takes as ``**kwargs`` spelled out."""


@custom(np.pad, signature=_pad_parameters, batching="axes",
        active=lambda bound: any(bound.get(p, False) for p in ("array",) + _PAD_FILLS),
        samples=[
            S(A(3), 2), S(A(2, 3), ((1, 0), (0, 2))), S(A(3), (1, 2), constant_values=3),
            S(A(2, 3), 1, constant_values=((1, 2), (3, 4))), S(A(3), 1, "constant"),
            S(A(3), 1, mode="edge"), S(A(3), 1, mode="reflect"), S(A(4), 2, "wrap"),
            S(A(2, 3), (2, 1), "reflect", reflect_type="odd"), S(A(4), 3, "symmetric"),
            S(A(3), (2, 3), "linear_ramp"), S(A(3), 2, "linear_ramp", end_values=5),
            S(A(2, 3), 2, mode="linear_ramp", end_values=((1, 2), (3, 4))),
            S(A(4), 2, "mean"), S(A(2, 5), ((1, 2), (2, 1)), "mean", stat_length=2),
            S(A(5), 2, "maximum"), S(A(5), 2, "minimum"), S(A(2, 3), (1, 2), "maximum"),
            S(A(3, 5), 2, "minimum", stat_length=((1, 2), (3, 1))),
            S(A(3, 4), ((0, 1), (2, 0)), mode="maximum", stat_length=9),
            S(np.array([1.0, 3.0, 2.0, 3.0]), 1, "maximum"),  # a tie: the mean of its tangents
        ])
def pad(site):
    """The tangent of a pad, by its mode (read when s2s reads the code)."""
    bound = site.bound
    mode = site.static(bound["mode"]) if "mode" in bound else "constant"
    array, width = bound["array"], bound["pad_width"]
    if mode in ("maximum", "minimum"):
        helper = site.ref(rt.pad_extremum_tangent)
        return [site.assign(call(helper, [array, site.dot_or_zero(array), width, const(mode)],
                                 _pad_keywords(bound, ("stat_length",))))]
    if mode not in _PAD_SAME + ("empty",):
        what = f"mode={mode!r}" if isinstance(mode, str) else \
            f"the function {mode.__name__!r} as its mode" if callable(mode) else \
            "a mode that is not a string known when s2s reads the code (a literal or a global)"
        site.problem(f"no forward-mode rule for numpy.pad with {what}",
                     "pad with another mode (a literal string), or compute the padding "
                     "from functions s2s knows")
        return None
    keywords = [] if mode in ("constant", "empty") else [gast.keyword(arg="mode", value=const(mode))]
    keywords += _pad_keywords(bound, _PAD_KEPT)
    keywords += [gast.keyword(arg=p, value=site.dot(bound[p])) for p in _PAD_FILLS
                 if p in bound and not is_zero(site.dot(bound[p]))]
    return [site.assign(site.func([site.dot_or_zero(array), width], keywords))]


def _pad_keywords(bound, names):
    return [gast.keyword(arg=p, value=bound[p]) for p in names if p in bound]


# ---------------------------------------------------------------- diagonals and triangles

linear(np.diag, samples=[S(A(3)), S(A(3, 3)), S(A(3, 4), 1), S(A(3), -1)], batching="diag")
linear(np.diagonal, samples=[S(A(3, 3)), S(A(3, 4), 1), S(A(2, 3, 3), 0, 1, 2)],
       batching="axes")
linear(np.triu, np.tril, samples=[S(A(3, 3)), S(A(3, 4), 1), S(A(2, 3, 3), -1)],
       batching="axes")

# ---------------------------------------------------------------- copies and filled arrays

linear(np.copy, np.array, np.asarray, np.ascontiguousarray, np.asanyarray,
       samples=[S(A(3)), S(A(2, 3))], batching="elementwise", passive=("like",))
# full(shape, value) and full_like(a, value) are linear in the value alone (a
# gives full_like a shape and a dtype)
linear(np.full, argnums=(1,), samples=[S((2, 3), 1.5), S((2, 3), A(3))], batching="broadcast_to",
       passive=("like",))
linear(np.full_like, argnums=(1,), samples=[S(A(2, 3), 1.5), S(A(2, 3), A(3))],
       batching="broadcast_to", passive=("a",))

# linspace(start, stop, num, endpoint, retstep, dtype, axis): linear in start
# and stop together (the points and the step are linear combinations of them).
# Batched start or stop: once per example (a declared loop; exact)
linear(np.linspace, argnums=(0, 1), samples=[
    S(0.0, A(), 5), S(A(), A(), 4), S(A(3), A(3), 5), S(A(2), 3.0, 4, axis=1),
    S(A(), A(), 5, False), S(A(), A(), 4, retstep=True),
], batching="loop")

# ---------------------------------------------------------------- grids

# each grid is one of the vectors, broadcast: linear in all of them together
linear(np.meshgrid, argnums=slice(None), batching="meshgrid", samples=[
    S(A(3), A(4)), S(A(3), A(4), indexing="ij"), S(A(2), A(3), A(4)),
    S(A(2), A(3), A(4), indexing="xy", sparse=True), S(A(3), A(2, 2), copy=False), S(A(5)),
])

# ---------------------------------------------------------------- shape queries

zero(np.shape, np.ndim, samples=[S(A(3, 4)), S([1.5, 2.5])], batching="python")
zero(np.size, samples=[S(A(3, 4)), S(A(3, 4), 1)], batching="python")


# ================================================================ rules-more: shape and assembly
# (linear in their arrays, as the rules above; kept in one block)

linear(np.dstack, samples=[S([A(2, 3), A(2, 3)]), S([A(3), A(3)]), S([A(2, 3, 1), A(2, 3, 2)])],
       batching="axes")
# split along the second, the first and the third axis (hsplit: the first of a vector)
linear(np.hsplit, samples=[S(A(3, 4), 2), S(A(6), [1, 4]), S(A(2, 6, 2), 3)], batching="axes")
linear(np.vsplit, samples=[S(A(4, 3), 2), S(A(5, 2, 2), [1, 3])], batching="axes")
linear(np.dsplit, samples=[S(A(2, 3, 4), 2), S(A(2, 2, 5), [1, 4])], batching="axes")
linear(np.rollaxis, samples=[S(A(2, 3, 4), 2), S(A(2, 3, 4), 0, 2), S(A(2, 3, 4), -1, 1),
                             S(A(2, 3, 4), 1, start=3)], batching="axes")
# each array broadcast against the others: linear in all of them together
linear(np.broadcast_arrays, argnums=slice(None), batching="broadcast_arrays",
       samples=[S(A(3), A(2, 1)), S(A(2, 3), A(3), A(1, 1))])
linear(np.diagflat, samples=[S(A(3)), S(A(2, 2)), S(A(3), 1), S(A(2), k=-2)], batching="diag")
# resize(a, new_shape) repeats the flattened a to fill the shape
linear(np.resize, samples=[S(A(5), (2, 4)), S(A(2, 3), 4), S(A(2, 3), (3, 3))], batching="resize")
if hasattr(np, "unstack"):  # NumPy 2.1
    linear(np.unstack, samples=[S(A(3, 4)), S(A(3, 4), axis=1), S(A(2, 3, 4), axis=-1)],
           batching="axes")
