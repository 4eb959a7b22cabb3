"""Where the batch axis meets a primitive's own axes: the tables the
batching transform (:mod:`s2s.batching`) shifts axes by.

A batched array has the batch axis first, so an axis argument ``k >= 0``
of a per-example call becomes ``k + 1`` in the batched call (negative axes
stay); what ``axis=None`` means differs per primitive and is listed here.
The jvp rules' own helpers (``_s2s.extremum_tangent``...) are linear in
their tangents: with only tangents batched they run as they are once their
axis counts from the end (``TANGENT_HELPERS``).
"""

# axis parameters of axis-taking primitives:
# path -> (parameter, position, default when not passed, meaning of None)
# meaning of None: "all" (every per-example axis), "flat" (the flattened
# array), "squeeze", "concat_flat", "norm"; REQUIRED: must be passed
REQUIRED = object()
_RED = ("axis", 1, None, "all")
AXES = {
    **{name_: _RED for name_ in (
        "sum", "mean", "prod", "max", "min", "amax", "amin", "var", "std", "any", "all",
        "nansum", "nanmean", "nanmax", "nanmin", "count_nonzero", "ptp", "average")},
    "cumsum": ("axis", 1, None, "flat"), "cumprod": ("axis", 1, None, "flat"),
    "argmax": ("axis", 1, None, "flat"), "argmin": ("axis", 1, None, "flat"),
    "argsort": ("axis", 1, -1, "flat"), "sort": ("axis", 1, -1, "flat"),
    "flip": ("axis", 1, None, "all"), "expand_dims": ("axis", 1, REQUIRED, None),
    "squeeze": ("axis", 1, None, "squeeze"), "concatenate": ("axis", 1, 0, "concat_flat"),
    "stack": ("axis", 1, 0, None), "split": ("axis", 2, 0, None),
    "array_split": ("axis", 2, 0, None), "repeat": ("axis", 2, None, "flat"),
    "take": ("axis", 2, None, "flat"), "diff": ("axis", 2, -1, None),
    "roll": ("axis", 2, None, None), "trapezoid": ("axis", 3, -1, None),
    "trapz": ("axis", 3, -1, None),
    "linalg.norm": ("axis", 2, None, "norm"),
}
AXIS_PAIRS = {
    "swapaxes": (("axis1", 1), ("axis2", 2)), "moveaxis": (("source", 1), ("destination", 2)),
    "trace": (("axis1", 2), ("axis2", 3)), "diagonal": (("axis1", 2), ("axis2", 3)),
}
# jvp-rule helpers, linear in their tangent arguments: with only tangents
# batched, the helper runs as it is once its axis counts from the end.
# helper name -> (tangent positions, axis position, position of the primal
# whose rank the axis refers to); axis position None: no axis, or the helper
# counts it from the end itself
TANGENT_HELPERS = {
    "extremum_tangent": ((2,), 3, 0), "var_tangent": ((1,), 2, 0),
    "prod_tangent": ((1,), 2, 0),
    "norm_tangent": ((2,), 4, 0), "clip_tangent": ((3, 4, 5), None, 0),
    "cumprod_tangent": ((1,), 2, 0), "accumulated_extremum_tangent": ((2,), 3, 0),
    "average_tangent": ((2, 5), None, 0), "unique_tangent": ((2,), None, 0),
    "sorted_tangent": ((1,), None, 0),
    "items_extremum_tangent": ((2, 3), None, 0),
    "interp_tangent": ((6, 7, 8, 9, 10, 11), None, 0), "quantile_tangent": ((2, 4), None, 0),
    "histogram_tangent": ((5, 6, 7), None, 0),
}
AXIS_DEFAULTS = {"trace": (0, 1), "diagonal": (0, 1)}

# (rules-linalg) the vector and matrix norms' tangents count axes from the end themselves
AXES.update({"linalg.vector_norm": _RED})  # (a reduction over axis=, None: all of them)
TANGENT_HELPERS.update({"vector_norm_tangent": ((2,), None, 0),
                        "matrix_norm_tangent": ((2,), None, 0)})


# ================================================================ rules-more
# the NaN-ignoring reductions and scans, NumPy 2.1's cumulative ones
AXES.update({
    **{name_: _RED for name_ in ("nanvar", "nanstd", "nanprod")},
    **{name_: ("axis", 1, None, "flat") for name_ in (
        "nancumsum", "nancumprod", "cumulative_sum", "cumulative_prod")},
})
TANGENT_HELPERS.update({"cumulative_prod_tangent": ((1,), None, 0)})

# primitives whose result is a tuple of arrays (each batched where the call
# is): the batcher indexes it as a tuple, never as an array. NumPy's ufuncs
# of two outputs or more (modf, frexp, divmod) say so themselves (``nout``).
TUPLE_RESULTS = {"linalg.slogdet", "linalg.eigh", "linalg.eig", "histogram", "histogram2d",
                 "broadcast_arrays"}
