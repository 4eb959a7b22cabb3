"""Statistics and signals: covariance and correlation, convolution,
numerical gradients and differences, phase unwrapping.

cov and corrcoef go through the ``(variables, observations)`` matrix np.cov
reads (``_s2s.cov_matrix``, linear in the arrays): the covariance is the
symmetric bilinear form B(x, x), its tangent B(dx, x) + B(x, dx)
(``_s2s.cov_tangent``, bilinear, so differentiable again). convolve and
correlate are bilinear; gradient and ediff1d are linear; unwrap adds
multiples of the period to the phase, which are locally constant.

Batching: cov, corrcoef, convolve, correlate, ediff1d and unwrap have rules
in :mod:`s2s.rules.batching_rules` (vectorised helpers); gradient shifts its
axes past the batch axis.
"""

# ruff: noqa: F841  (a template assigns z_dot for the transformer to read, not Python)

import gast
import numpy as np

from .. import runtime as rt
from .registry import A, S, TemplateRule, custom, jvp_rule, linear, multilinear
from .templates import is_zero

# ---------------------------------------------------------------- covariance


def cov_(z, m, m_dot, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None):
    z_dot = rt.cov_tangent(rt.cov_matrix(m, rowvar), rt.cov_matrix(m_dot, rowvar),
                           ddof, bias, fweights, aweights)


def cov_with_y(z, m, y, m_dot, y_dot, rowvar=True, bias=False, ddof=None, fweights=None,
               aweights=None):
    z_dot = rt.cov_tangent(rt.cov_matrix_pair(m, y, rowvar), rt.cov_matrix_pair(m_dot, y_dot, rowvar),
                           ddof, bias, fweights, aweights)


# r = c / sqrt(d_i d_j), d the variances: dr = (dc - c (dd_i / d_i + dd_j / d_j) / 2) / sqrt(d_i d_j)
# (0 on the diagonal, which np.corrcoef clips to 1); one variable: r is 1
def corrcoef_(z, x, x_dot, rowvar=True):
    c = np.atleast_2d(np.cov(x, None, rowvar))
    c_dot = np.atleast_2d(rt.cov_tangent(rt.cov_matrix(x, rowvar), rt.cov_matrix(x_dot, rowvar)))
    d = np.diagonal(c, 0, -2, -1)
    h = np.diagonal(c_dot, 0, -2, -1) / d
    z_dot = np.reshape((c_dot - 0.5 * c * (h[..., :, None] + h[..., None, :]))
                       / np.sqrt(d[..., :, None] * d[..., None, :]), np.shape(z))


def corrcoef_with_y(z, x, y, x_dot, y_dot, rowvar=True):
    c = np.atleast_2d(np.cov(x, y, rowvar))
    c_dot = np.atleast_2d(rt.cov_tangent(rt.cov_matrix_pair(x, y, rowvar),
                                         rt.cov_matrix_pair(x_dot, y_dot, rowvar)))
    d = np.diagonal(c, 0, -2, -1)
    h = np.diagonal(c_dot, 0, -2, -1) / d
    z_dot = np.reshape((c_dot - 0.5 * c * (h[..., :, None] + h[..., None, :]))
                       / np.sqrt(d[..., :, None] * d[..., None, :]), np.shape(z))


_COV = {False: TemplateRule(np.cov, "cov", cov_, None),
        True: TemplateRule(np.cov, "cov", cov_with_y, None)}
_CORRCOEF = {False: TemplateRule(np.corrcoef, "corrcoef", corrcoef_, None),
             True: TemplateRule(np.corrcoef, "corrcoef", corrcoef_with_y, None)}
_FWEIGHTS = np.array([1, 2, 1, 3, 1])


def _cov_parameters(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None,
                    dtype=None):
    """np.cov's parameters (dtype= is keyword-only in NumPy)."""


def _corrcoef_parameters(x, y=None, rowvar=True, bias=None, ddof=None, dtype=None):
    """np.corrcoef's parameters (bias= and ddof= are deprecated and ignored)."""


def _active(bound):
    # (weights that carry a derivative: the rule refuses them)
    return any(bound.get(k, False) for k in ("m", "x", "y", "fweights", "aweights"))


def _refused(site, names, name):
    """Refuse weights that carry a derivative and dtype=; True when refused."""
    bound = site.bound
    for key in names:
        if key in bound and not is_zero(site.dot(bound[key])):
            site.problem(f"no forward-mode rule for numpy.{name} with {key}= that carries a "
                         "derivative (the weights are taken as constants)",
                         f"pass {key}= computed from constants, or write the weighted "
                         "covariance with np.average")
            return True
    if "dtype" in bound and site.static(bound["dtype"]) is not None:
        site.problem(f"no forward-mode rule for numpy.{name} with dtype=",
                     f"cast the arrays before calling numpy.{name}")
        return True
    return False


@custom(np.cov, signature=_cov_parameters, active=_active, batching="cov", samples=[
    S(A(3, 5)), S(A(5)), S(A(5, 3), rowvar=False), S(A(3, 5), bias=True), S(A(3, 5), ddof=2),
    S(A(2, 5), A(5)), S(A(5, 2), A(5, 1), False), S(A(1, 5)), S(A(3, 5), fweights=_FWEIGHTS),
    S(A(3, 5), None, True, False, 0, _FWEIGHTS),
])
def cov(site):
    """One of the templates above, by whether ``y`` is passed."""
    if _refused(site, ("fweights", "aweights"), "cov"):
        return None
    given = {k: v for k, v in site.bound.items() if k != "dtype"}
    if "y" in given and site.static(given["y"]) is None:
        del given["y"]  # (None written in the call, or a global holding it)
    return site.template(_COV["y" in given], given)


@custom(np.corrcoef, signature=_corrcoef_parameters, active=_active, batching="cov", samples=[
    S(A(3, 5)), S(A(5, 3), rowvar=False), S(A(2, 5), A(5)), S(A(5), A(5)), S(A(5)),
])
def corrcoef(site):
    """One of the templates above, by whether ``y`` is passed."""
    if _refused(site, (), "corrcoef"):
        return None
    given = {k: site.bound[k] for k in ("x", "y", "rowvar") if k in site.bound}
    if "y" in given and site.static(given["y"]) is None:
        del given["y"]
    return site.template(_CORRCOEF["y" in given], given)


# ---------------------------------------------------------------- convolution

# bilinear in the two sequences (np.convolve swaps them when v is the longer)
multilinear(np.convolve, batching="convolve", samples=[
    S(A(6), A(3)), S(A(3), A(6)), S(A(6), A(3), "same"), S(A(5), A(4), "same"),
    S(A(6), A(3), mode="valid"), S(A(3), A(5), "valid"), S(A(4), A(1)),
])
multilinear(np.correlate, batching="convolve", samples=[
    S(A(6), A(3)), S(A(3), A(6)), S(A(6), A(3), "same"), S(A(2), A(5), "same"),
    S(A(6), A(4), mode="full"), S(A(4), A(5), "full"),
])
# the helper the batching rules call, bilinear too
multilinear(rt.convolve_stacked, batching="elementwise", samples=[
    S(A(2, 6), A(3), "full", "convolve"), S(A(5), A(2, 4), "same", "correlate"),
])

# ---------------------------------------------------------------- differences

def _gradient_active(bound):
    return bound.get("f", False) or bound.get("varargs", False)


# linear in f, the spacing (numbers, or coordinate arrays) constant: a spacing
# that carries a derivative is refused
@custom(np.gradient, active=_gradient_active, batching="gradient", samples=[
    S(A(6)), S(A(6), 0.5, argnums=(0,)), S(A(3, 5)), S(A(3, 5), axis=0), S(A(3, 5), axis=-1),
    S(A(3, 5), 2.0, 0.5, argnums=(0,)), S(A(6), edge_order=2), S(A(3, 5), axis=(1, 0)),
    S(A(4, 5), 1.5, axis=1, edge_order=2, argnums=(0,)),
])
def gradient(site):
    """The same call on f's tangent."""
    spacing = site.bound.get("varargs", ())
    if any(not is_zero(site.dot(s)) for s in spacing):
        site.problem("no forward-mode rule for numpy.gradient with a spacing (varargs) that "
                     "carries a derivative: it is differentiated in f only",
                     "pass spacings or coordinates computed from constants, or write the "
                     "differences with np.diff")
        return None
    keywords = [gast.keyword(arg=k, value=site.bound[k]) for k in ("axis", "edge_order")
                if k in site.bound]
    return [site.assign(site.func([site.dot_or_zero(site.bound["f"]), *spacing], keywords))]

def _ediff1d_active(bound):
    return any(bound.get(k, False) for k in ("ary", "to_end", "to_begin"))


# ediff1d(ary, to_end, to_begin): linear in the array and the ends together
# (an end that is None, written or a global, stays None in the tangent)
@custom(np.ediff1d, active=_ediff1d_active, batching="ediff1d", samples=[
    S(A(5)), S(A(2, 3)), S(A(4), A(2)), S(A(4), None, A(1)), S(A(4), 1.5, A(3)),
    S(A(4), to_begin=A(2)),
])
def ediff1d(site):
    """The same call on the tangents."""
    bound = site.bound
    keywords = [gast.keyword(arg=k, value=site.dot_or_zero(bound[k]))
                for k in ("to_end", "to_begin") if k in bound and site.static(bound[k]) is not None]
    return [site.assign(site.func([site.dot_or_zero(bound["ary"])], keywords))]


# the corrections are whole periods, locally constant in the phase: its
# tangent passes; they move with the period (z - p is k * period)
@jvp_rule(np.unwrap, batching="unwrap", samples=[
    S(A(8, low=-9, high=9)), S(A(3, 8, low=-9, high=9)), S(A(3, 8, low=-9, high=9), axis=0),
    S(A(3, 8, low=-9, high=9), None, -1), S(A(8, low=-9, high=9), 4.0),
    S(A(8, low=-9, high=9), period=5.0), S(A(2, 8, low=-90, high=90), period=360),
])
def unwrap(z, p, p_dot, period_dot, discont=None, axis=-1, period=2 * np.pi):
    z_dot = p_dot + (z - p) / period * period_dot

# ---------------------------------------------------------------- their helpers

# cov_matrix is linear in m, cov_matrix_pair in m and y together (a reshape,
# a transpose, a concatenation); cov_tangent is bilinear in the matrix and
# its tangent (its weights: np.cov's samples)
linear(rt.cov_matrix, batching="cov", samples=[
    S(A(3, 4)), S(A(4)), S(A(4, 3), False), S(A(2, 3, 4), True, 1), S(A(1, 4), False),
])
linear(rt.cov_matrix_pair, argnums=(0, 1), batching="cov", samples=[
    S(A(2, 4), A(4)), S(A(4, 2), A(4), False), S(A(2, 3, 4), A(2, 4), True, 1),
])
multilinear(rt.cov_tangent, batching="cov", samples=[
    S(A(3, 5), A(3, 5)), S(A(2, 5), A(2, 5), None, True), S(A(1, 5), A(1, 5)),
    S(A(3, 5), A(3, 5), 2), S(A(2, 3, 5), A(2, 3, 5)),
])

# ---------------------------------------------------------------- Fourier transforms
# (more of them; fft, ifft, rfft, irfft, fft2 and ifft2 are in linalg.py)
# Linear: the tangent is the same transform of the tangent. Batched: the n-d
# ones over all of an example's axes (axes=None) get those axes explicitly.

linear(np.fft.fftn, np.fft.ifftn, batching="fft", samples=[
    S(A(4, 6)), S(A(2, 3, 4)), S(A(2, 3, 4), axes=(0, 2)), S(A(4, 6), (3, 4), (0, 1)),
    S(A(2, 3, 4), None, (-1, -2), norm="ortho"),
])
linear(np.fft.rfftn, np.fft.rfft2, batching="fft", samples=[
    S(A(4, 6)), S(A(2, 4, 6)), S(A(4, 6), (4, 4), (0, 1)), S(A(2, 3, 4), axes=(0, 1)),
])
linear(np.fft.irfftn, np.fft.irfft2, batching="fft", samples=[
    S(A(4, 4)), S(A(2, 4, 3)), S(A(4, 4), (4, 6), (0, 1)), S(A(4, 3), norm="forward"),
])
linear(np.fft.hfft, np.fft.ihfft, batching="fft", samples=[
    S(A(5)), S(A(3, 6)), S(A(3, 6), 8), S(A(3, 6), axis=0),
])
linear(np.fft.fftshift, np.fft.ifftshift, batching="fft", samples=[
    S(A(5)), S(A(4, 5)), S(A(4, 5), 0), S(A(2, 3, 4), axes=(0, -1)),
])
