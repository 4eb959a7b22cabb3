"""Reductions and scans: sum, mean, prod, max, min, ptp, var, std, average,
the NaN-ignoring ones, cumsum, cumprod, diff, norm.

Every sample list covers the ``axis`` variants the rules branch on: None,
0, -1, a tuple, and ``keepdims=True``.
Batching: reduction over ``axis`` (the batch axis is never reduced).
"""

# ruff: noqa: F841  (a template assigns z_dot for the transformer to read, not Python)

import numpy as np

from .. import runtime as rt
from ..context import const
from .registry import A, S, TemplateRule, custom, jvp_rule, linear, multilinear, zero
from .templates import is_zero

RED = "reduction"

_AXES = [S(A(3, 4)), S(A(3, 4), axis=0), S(A(3, 4), axis=-1), S(A(2, 3, 4), axis=(0, 2)),
         S(A(3, 4), axis=1, keepdims=True), S(A(3, 4), keepdims=True), S(A(5))]
_MASK = np.array([[True, False, True, True]] * 3)
_SCAN = [S(A(5)), S(A(3, 4)), S(A(3, 4), axis=0), S(A(3, 4), axis=-1)]
# one zero, then two zeros in the same slice: the tangent must stay exact
_ZEROS = [S(np.array([1.5, 0.0, 2.0, -1.0])),
          S(np.array([[1.5, 0.0, 2.0], [0.0, -1.0, 0.0]]), axis=1)]

# ---------------------------------------------------------------- linear

linear(np.mean, samples=_AXES + [S(A(3, 4), axis=1, where=_MASK)], batching=RED,
       passive=("where",))
# sum(a, initial=c) = c + sum(a): linear in ``a`` and ``initial`` together
linear(np.sum, argnums=(0, 5), samples=_AXES + [
    S(A(3, 4), axis=1, where=_MASK), S(A(3, 4), axis=0, initial=1.5),
    S(A(3, 4), 0, None, None, False, 1.5),
], batching=RED, passive=("where",))
linear(np.cumsum, samples=_SCAN, batching=RED)
linear(np.trace, samples=[S(A(3, 3)), S(A(3, 4), 1), S(A(2, 3, 3), axis1=1, axis2=2)],
       batching=RED)
# diff(a, n, axis, prepend, append): linear in the array and what it is padded with
linear(np.diff, argnums=(0, 3, 4), samples=[
    S(A(5)), S(A(3, 4), axis=0), S(A(3, 5), 2), S(A(3, 4), 1, -1, A(3, 1), A(3, 2)),
    S(A(4), prepend=0.0),
], batching=RED)

# trapezoid(y, x, dx, axis) = sum(diff(x) * (y[1:] + y[:-1]) / 2): linear in y,
# and in the sample points x or the spacing dx; np.trapz before NumPy 2
multilinear(getattr(np, "trapezoid", None) or np.trapz, argnums=(0, 1, 2), samples=[
    S(A(5)), S(A(3, 4)), S(A(3, 4), axis=0),
    S(A(4), np.array([0.0, 0.5, 1.5, 2.0])), S(A(2, 5), dx=0.5),
], batching=RED)

# ---------------------------------------------------------------- products


@jvp_rule(np.prod, samples=_AXES + _ZEROS, batching=RED)
def prod(z, a, a_dot, axis=None, keepdims=False):
    z_dot = rt.prod_tangent(a, a_dot, axis, keepdims)


@jvp_rule(np.cumprod, samples=_SCAN + _ZEROS, batching=RED)
def cumprod(z, a, a_dot, axis=None):
    z_dot = rt.cumprod_tangent(a, a_dot, axis)


# ---------------------------------------------------------------- extrema


# nanmax/nanmin: NaNs never equal the extremum, so they get no share of it
@jvp_rule(np.max, np.amax, np.min, np.amin, np.nanmax, np.nanmin, samples=_AXES, batching=RED)
def amax(z, a, a_dot, axis=None, keepdims=False):
    z_dot = rt.extremum_tangent(a, z, a_dot, axis, keepdims)


@jvp_rule(np.ptp, samples=_AXES, batching=RED)
def ptp(z, a, a_dot, axis=None, keepdims=False):
    high = rt.extremum_tangent(a, np.max(a, axis=axis, keepdims=keepdims), a_dot, axis, keepdims)
    low = rt.extremum_tangent(a, np.min(a, axis=axis, keepdims=keepdims), a_dot, axis, keepdims)
    z_dot = high - low


# the running extremum's tangent is the mean of the tangents of the entries so
# far that equal it (ties share it equally, as in max and min); dtype= and
# out= are not in the rule (a call passing them is refused)
@jvp_rule(np.maximum.accumulate, np.minimum.accumulate, batching=RED, samples=_SCAN[:2] + [
    S(A(3, 4), axis=1), S(A(3, 4), -1), S(A(2, 3, 4), 1),
    S(np.array([1.0, 3.0, 2.0, 3.0, 0.5, 4.0])), S(np.array([2.0, 0.5, 1.0, 0.5, 3.0])),
    S(np.array([[1.0, 1.0, 0.5], [2.0, 3.0, 3.0]]), axis=1),
])
def accumulate(z, array, array_dot, axis=0):
    z_dot = rt.accumulated_extremum_tangent(array, z, array_dot, axis)


zero(np.argmax, np.argmin, np.argsort, np.count_nonzero, np.any, np.all,
     samples=[S(A(3, 4)), S(A(3, 4), axis=0), S(A(3, 4), -1)], batching=RED)

# ---------------------------------------------------------------- moments


# var is the mean of |a - mean|^2: real for a complex ``a``, d var = 2 Re(...) / (n - ddof)
_COMPLEX = np.array([[1.0 + 0.5j, -0.4 + 1.2j, 2.0 - 1.0j, 0.3j],
                     [0.5 - 0.2j, 1.5 + 1.0j, -0.7 + 0.1j, -1.0 + 0.0j],
                     [0.2 + 0.9j, -1.1 - 0.6j, 0.8 + 0.4j, 1.3 - 1.5j]])
_MOMENTS = _AXES + [S(A(3, 4), axis=0, ddof=1), S(A(3, 4), ddof=2), S(_COMPLEX, argnums=(0,)),
                    S(_COMPLEX, axis=1, ddof=1, argnums=(0,)),
                    S(_COMPLEX, axis=0, keepdims=True, argnums=(0,))]


@jvp_rule(np.var, samples=_MOMENTS, batching=RED)
def var(z, a, a_dot, axis=None, ddof=0, keepdims=False):
    z_dot = rt.var_tangent(a, a_dot, axis, ddof, keepdims)


@jvp_rule(np.std, samples=_MOMENTS, batching=RED)
def std(z, a, a_dot, axis=None, ddof=0, keepdims=False):
    z_dot = rt.var_tangent(a, a_dot, axis, ddof, keepdims) / (2 * z)


@jvp_rule(np.average, samples=_AXES + [
    S(A(3, 4), None, A(3, 4, low=0.5, high=2)),
    S(A(3, 4), 1, A(4, low=0.5, high=2)),
    S(A(3, 4), 0, A(3, low=0.5, high=2), True),
    S(A(3, 4), -1, None, True),
    S(A(3, 4), (0, 1), A(3, 4, low=0.5, high=2), keepdims=True),
    S(A(2, 3, 4), (2, 0), A(4, 2, low=0.5, high=2), True),  # weights along two axes
], batching=RED)
def average(z, a, a_dot, weights_dot, axis=None, weights=None, returned=False, keepdims=False):
    z_dot = rt.average_tangent(a, z, a_dot, axis, weights, weights_dot, returned, keepdims)


# ---------------------------------------------------------------- order statistics


def quantile_(z, a, q, a_dot, q_dot, axis=None, keepdims=False, scale=1):
    z_dot = rt.quantile_tangent(a, z, a_dot, q, q_dot, axis, keepdims, scale)


_QUANTILE = TemplateRule(np.quantile, "quantile", quantile_, None)
_SCALE = {np.quantile: 1, np.percentile: 100, np.median: 1}
# what the rule covers: these arguments at their defaults
_PLAIN = {"method": "linear", "out": None, "overwrite_input": False, "weights": None,
          "interpolation": None}


def _quantile_parameters(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                         keepdims=False, *, weights=None, interpolation=None):
    """np.quantile's and np.percentile's parameters (NumPy before 2.4 has
    interpolation=, the old name of method=)."""


# the 'linear' method interpolates between two sorted values: the same
# interpolation of their tangents (a value tied with others has the mean of
# their tangents, as in max and min), and the gap between them times q's
# tangent; other methods, weights, out= and overwrite_input=True are refused
@custom(np.median, active=lambda bound: bound.get("a", False), batching=RED,
        samples=_AXES + [S(np.array([1.0, 2.0, 2.0, 0.5])), S(A(4, 5), axis=1)])
@custom(np.quantile, np.percentile, signature=_quantile_parameters, batching=RED,
        active=lambda bound: bound.get("a", False) or bound.get("q", False), samples=[
            S(A(3, 4), 0.3), S(A(3, 4), 0.7, axis=1), S(A(2, 3, 4), 0.55, (0, 2)),
            S(A(3, 4), 0.4, axis=0, keepdims=True), S(A(7), np.array([0.15, 0.45, 0.9])),
            S(A(2, 6), np.array([0.35, 0.62]), 1, keepdims=True), S(A(5), 0.3, method="linear"),
            S(np.array([3.0, 1.0, 3.0, 0.5, 2.0]), 0.8),
        ])
def quantile(site):
    """The template above, for the calls it covers."""
    bound, name = site.bound, site.rule.name
    for key, default in _PLAIN.items():
        value = site.static(bound[key]) if key in bound else default
        if not (value == default if isinstance(default, str) and isinstance(value, str)
                else value is default):
            site.problem(f"no forward-mode rule for {name} with {key}= other than {default!r}",
                         f"call {name} with the default {key}= (method='linear'), or compute "
                         "the statistic from np.sort")
            return None
    given = {"a": bound["a"], "q": bound.get("q", const(0.5)),
             "scale": const(_SCALE[site.rule.primitive])}
    given.update({k: bound[k] for k in ("axis", "keepdims") if k in bound})
    return site.template(_QUANTILE, given)


# ---------------------------------------------------------------- counting

# the bins x are integers: bincount is linear in the weights alone
@jvp_rule(np.bincount, batching="bincount", samples=[
    S(np.array([0, 2, 2, 4, 1]), A(5)), S(np.array([1, 1, 3]), A(3), 6),
    S(np.array([3, 0, 3, 3]), A(4), minlength=2),
])
def bincount(z, x, weights_dot, weights=None, minlength=0):
    z_dot = np.bincount(x, weights_dot, minlength)


def histogram_(z, a, a_dot, bins_dot, weights_dot, bins=10, range=None, weights=None):
    z_dot = rt.histogram_tangent(a, z, bins, range, weights, a_dot, bins_dot, weights_dot)


_HISTOGRAM = TemplateRule(np.histogram, "histogram", histogram_, None)


# the counts are linear in the weights (a and the edges only choose the bins),
# the edges are the bins, or spaced evenly between the least and the largest
# value of a (ties share, as in min and max); density=True and a range that
# carries a derivative are refused. Batched: once per example (a declared
# loop: the edges are each example's own); the tangents batch without one.
@custom(np.histogram, batching="loop", samples=[
    S(A(20), 5, None, None, A(20)), S(A(20), 4), S(A(3, 5), 6, None, False, A(3, 5)),
    S(A(3, 5), np.array([-3.0, -0.5, 0.0, 1.0, 3.0]), None, False, A(3, 5)),
    S(A(12), 3, (-2.0, 2.0), None, A(12), argnums=(0, 4)), S(A(10), "sturges"),
    S(np.array([1.0, 2.0, 2.0, 0.5, 0.5]), 3),
], active=lambda bound: any(bound.get(k, False) for k in ("a", "bins", "range", "weights")))
def histogram(site):
    """The template above, for the calls it covers."""
    bound = site.bound
    density = site.static(bound["density"]) if "density" in bound else None
    problem = "density=True" if density not in (None, False) else \
        "a range that carries a derivative" if "range" in bound \
        and not is_zero(site.dot(bound["range"])) else None
    if problem is not None:
        site.problem(f"no forward-mode rule for numpy.histogram with {problem}",
                     "take the counts with weights and divide them yourself, or pass a range "
                     "of constants")
        return None
    site.uses_output = True
    return site.template(_HISTOGRAM, {k: bound[k] for k in ("a", "bins", "range", "weights")
                                      if k in bound})


# ---------------------------------------------------------------- ignoring NaN

_NANS = [S(np.array([1.0, np.nan, 2.0, 3.0])),
         S(np.array([[1.0, np.nan, 2.0], [0.5, 1.5, np.nan]]), axis=1),
         S(np.array([[1.0, np.nan, 2.0], [0.5, 1.5, np.nan]]), axis=0, keepdims=True)]


@jvp_rule(np.nansum, samples=_AXES + _NANS, batching=RED)
def nansum(z, a, a_dot, axis=None, keepdims=False):
    z_dot = np.nansum(np.where(np.isnan(a), a, a_dot), axis=axis, keepdims=keepdims)


@jvp_rule(np.nanmean, samples=_AXES + _NANS, batching=RED)
def nanmean(z, a, a_dot, axis=None, keepdims=False):
    z_dot = np.nanmean(np.where(np.isnan(a), a, a_dot), axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------- norms
# ord None and 'fro' (the 2-norm of the elements along the axes):
# d||x|| = Re(sum(conj(x) x_dot)) / ||x||, a template of NumPy code, which
# hessian differentiates again; the other orders, and one known only at run
# time, through the runtime helper (no second-order rule)

def norm_two(z, x, x_dot, ord=None, axis=None, keepdims=False):
    z_dot = np.real(np.sum(np.conj(x) * x_dot, axis=axis, keepdims=keepdims)) / z


def norm_helper(z, x, x_dot, ord=None, axis=None, keepdims=False):
    z_dot = rt.norm_tangent(x, z, x_dot, ord, axis, keepdims)


def _norm_parameters(x, ord=None, axis=None, keepdims=False):
    """``numpy.linalg.norm``'s parameters."""


_NORM_TWO = TemplateRule(np.linalg.norm, "norm", norm_two, None)
_NORM_HELPER = TemplateRule(np.linalg.norm, "norm", norm_helper, None)


@custom(np.linalg.norm, signature=_norm_parameters, active=lambda bound: bound.get("x", False),
        samples=[
    S(A(5)), S(A(3, 4)), S(A(2, 3, 4)), S(A(3, 4), keepdims=True),
    S(A(3, 4), axis=0), S(A(3, 4), axis=-1, keepdims=True), S(A(2, 3, 4), axis=(1, 2)),
    S(A(5), 1), S(A(5), 2), S(A(5), 3), S(A(5), 0.5, argnums=(0,)), S(A(5), -1.5, argnums=(0,)), S(A(5), 0),
    S(A(5), np.inf), S(A(5), -np.inf), S(A(3, 4), np.inf, 0), S(A(3, 4), 1, axis=-1),
    S(A(3, 4), "fro"), S(A(3, 4), "nuc"), S(A(3, 4), 1), S(A(3, 4), -1),
    S(A(3, 4), 2), S(A(3, 4), -2), S(A(3, 4), np.inf), S(A(3, 4), -np.inf),
    S(A(2, 3, 4), 1, (2, 0)), S(A(2, 3, 4), "nuc", (0, 2), True), S(A(2, 3, 4), 2, (-1, -2)),
    S(A(2, 3, 4), np.inf, (1, 2), True), S(A(2, 3, 4), None, (0, 1), True),
], batching=RED)
def norm(site):
    """The 2-norm's template for ord None or 'fro' (known at transform time),
    else the helper's."""
    order = site.static(site.bound["ord"]) if "ord" in site.bound else None
    two = order is None or isinstance(order, str) and order == "fro"
    return site.template(_NORM_TWO if two else _NORM_HELPER, site.bound)


# ================================================================ rules-more: ignoring NaN
# (NaN entries count for nothing: they are left out of the sums, products
# and the number of values; kept in one block)

_COMPLEX_NANS = np.array([[1.0 + 0.5j, np.nan, 2.0 - 1.0j, 0.3j],
                          [0.5 - 0.2j, 1.5 + 1.0j, complex(np.nan, 1.0), -1.0 + 0.0j]])
_NAN_SCAN = _SCAN + [S(np.array([1.0, np.nan, 2.0, 3.0])),
                     S(np.array([[1.0, np.nan, 2.0], [0.5, 1.5, np.nan]]), axis=1),
                     S(np.array([[1.0, np.nan, 2.0], [0.5, 1.5, np.nan]]), axis=0)]


# 2 Re(sum(conj(a - mean) a_dot)) / (n - ddof) over the values that are not NaN
# (the count in z's dtype: an integer count would promote float32 to float64)
@jvp_rule(np.nanvar, batching=RED, samples=_AXES + _NANS + [
    S(A(3, 4), axis=0, ddof=1), S(np.array([[1.0, np.nan, 2.0, 4.0], [0.5, 1.5, np.nan, 1.0]]),
                                  axis=1, ddof=1),
    S(_COMPLEX_NANS, argnums=(0,)), S(_COMPLEX_NANS, axis=1, ddof=1, argnums=(0,))])
def nanvar(z, a, a_dot, axis=None, ddof=0, keepdims=False):
    kept = ~np.isnan(a)
    c = np.where(kept, a - np.nanmean(a, axis=axis, keepdims=True), 0.0)
    z_dot = 2 * np.real(np.sum(np.conj(c) * np.where(kept, a_dot, 0.0), axis=axis,
                               keepdims=keepdims)) \
        / (np.sum(kept, axis=axis, keepdims=keepdims, dtype=z.dtype) - ddof)


# (a std of 0, of a single value: every centred value is 0, and so is the tangent)
@jvp_rule(np.nanstd, batching=RED, samples=_AXES + _NANS + [
    S(A(3, 4), axis=0, ddof=1), S(_COMPLEX_NANS, argnums=(0,)),
    S(_COMPLEX_NANS, axis=0, keepdims=True, argnums=(0,))])
def nanstd(z, a, a_dot, axis=None, ddof=0, keepdims=False):
    kept = ~np.isnan(a)
    c = np.where(kept, a - np.nanmean(a, axis=axis, keepdims=True), 0.0)
    z_dot = np.real(np.sum(np.conj(c) * np.where(kept, a_dot, 0.0), axis=axis, keepdims=keepdims)) \
        / ((np.sum(kept, axis=axis, keepdims=keepdims, dtype=z.dtype) - ddof)
           * np.where(z == 0, 1.0, z))


# the product and running product of the values that are not NaN (as 1);
# like prod and cumprod, no second-order rule yet (their helpers')
@jvp_rule(np.nanprod, batching=RED, samples=_AXES + _NANS + _ZEROS)
def nanprod(z, a, a_dot, axis=None, keepdims=False):
    nan = np.isnan(a)
    z_dot = rt.prod_tangent(np.where(nan, 1.0, a), np.where(nan, 0.0, a_dot), axis, keepdims)


@jvp_rule(np.nancumprod, batching=RED, samples=_NAN_SCAN + _ZEROS)
def nancumprod(z, a, a_dot, axis=None):
    nan = np.isnan(a)
    z_dot = rt.cumprod_tangent(np.where(nan, 1.0, a), np.where(nan, 0.0, a_dot), axis)


@jvp_rule(np.nancumsum, batching=RED, samples=_NAN_SCAN)
def nancumsum(z, a, a_dot, axis=None):
    z_dot = np.cumsum(np.where(np.isnan(a), 0.0, a_dot), axis=axis)


# NumPy 2.1's cumulative_sum and cumulative_prod (include_initial=True puts
# the empty sum or product first, whose tangent is 0); the axis may be left
# out only for a vector
if hasattr(np, "cumulative_sum"):
    _CUMULATIVE = [S(A(5)), S(A(3, 4), axis=0), S(A(3, 4), axis=-1), S(A(5), include_initial=True),
                   S(A(2, 3, 4), axis=1, include_initial=True)]
    linear(np.cumulative_sum, batching=RED, samples=_CUMULATIVE)

    @jvp_rule(np.cumulative_prod, batching=RED, samples=_CUMULATIVE + [
        S(np.array([1.5, 0.0, 2.0, -1.0])), S(np.array([[1.5, 0.0, 2.0], [0.0, -1.0, 0.0]]), axis=1),
    ])
    def cumulative_prod(z, x, x_dot, axis=None, include_initial=False):
        z_dot = rt.cumulative_prod_tangent(x, x_dot, axis, include_initial)
