"""Products and linear algebra.

dot, matmul, vdot, inner, outer, einsum, tensordot and kron are linear in each
operand (multilinear): the tangent is the sum, over operands that carry one,
of the product with that operand replaced by its tangent.
Batching: explicit rules (batched vector operands of matmul/dot).
"""

# ruff: noqa: F841  (a template assigns z_dot for the transformer to read, not Python)

import inspect
import operator

import gast
import numpy as np

from .. import runtime as rt
from ..frontend import MISSING
from ..nodes import clone
from .registry import A, S, TemplateRule, custom, jvp_rule, linear, multilinear

# ---------------------------------------------------------------- products

multilinear(operator.matmul, np.matmul, samples=[
    S(A(3, 4), A(4, 2)), S(A(3, 4), A(4)), S(A(4), A(4, 2)), S(A(2, 3, 4), A(4, 5)),
    S(A(4), A(4)), S(A(2, 3, 4), A(4)), S(A(3), A(2, 3, 4)), S(A(2, 1, 3, 4), A(5, 4, 2)),
], batching="matmul")
multilinear(np.dot, samples=[S(A(3, 4), A(4, 2)), S(A(3, 4), A(4)), S(A(4), A(4)),
                             S(A(3), 2.0), S(A(2, 3, 4), A(4, 5)), S(A(2, 3, 4), A(5, 4, 2))],
            batching="matmul")
multilinear(np.vdot, samples=[S(A(4), A(4)), S(A(2, 3), A(3, 2))], batching="matmul")
multilinear(np.inner, samples=[S(A(4), A(4)), S(A(2, 4), A(3, 4))], batching="matmul")
multilinear(np.outer, samples=[S(A(3), A(4)), S(A(2, 2), A(3))], batching="matmul")
multilinear(np.kron, samples=[S(A(2, 2), A(3, 2)), S(A(3), A(2)), S(A(3), A(2, 2))],
            batching="kron")
multilinear(np.tensordot, samples=[
    S(A(3, 4), A(4, 2), 1), S(A(2, 3, 4), A(3, 4, 5)), S(A(2, 3, 4), A(3, 4, 5), axes=2),
    S(A(3, 4), A(4, 3), ([1], [0])), S(A(3), A(2), 0),
], batching="tensordot")
multilinear(np.cross, samples=[S(A(3), A(3)), S(A(2, 3), A(3))], batching="axes")
# every argument may be an operand: the subscripts (a string, or the sublists
# of einsum(a, [0, 1], b, [1, 2], [0, 2])) never carry a tangent
multilinear(np.einsum, argnums=slice(None), samples=[
    S("ij,jk->ik", A(3, 4), A(4, 2)), S("i,i->", A(4), A(4)), S("ii->i", A(3, 3)),
    S("bij,bjk->bik", A(2, 3, 4), A(2, 4, 5)), S("ij,j,k->ik", A(2, 3), A(3), A(4)),
    S("ij,jk", A(3, 4), A(4, 2)), S("...ij,...jk->...ik", A(2, 3, 4), A(4, 5)),
    S("ij->ji", A(3, 4)), S("ij,jk->ik", A(3, 4), A(4, 2), optimize=True),
    S(A(3, 4), (0, 1), A(4, 2), (1, 2), (0, 2)), S(A(3, 4), (0, 1), A(4, 2), (1, 2)),
    S(A(3, 3), (0, 0)), S(A(2, 3, 4), (Ellipsis, 30, 1), A(4, 3), (1, 2)),
], batching="einsum")

# ---------------------------------------------------------------- linear algebra

_POSDEF = [S(A(3, 3, kind="posdef")), S(A(2, 3, 3, kind="posdef"))]
_NEGATIVE_DET = S(np.array([[0.2, 1.5, 0.1], [1.2, 0.3, 0.4], [0.1, 0.2, 2.0]]))


@jvp_rule(np.linalg.solve, samples=[S(A(3, 3, kind="posdef"), A(3)),
                                    S(A(3, 3, kind="posdef"), A(3, 2)),
                                    S(A(2, 3, 3, kind="posdef"), A(2, 3, 2))], batching="linalg")
def solve(z, a, b, a_dot, b_dot):
    z_dot = np.linalg.solve(a, b_dot - a_dot @ z)


@jvp_rule(np.linalg.inv, samples=_POSDEF + [_NEGATIVE_DET], batching="linalg")
def inv(z, a, a_dot):
    z_dot = -(z @ a_dot @ z)


# d det(a) = det(a) tr(a^-1 a_dot); d log|det(a)| = tr(a^-1 a_dot); the sign
# of a real determinant is locally constant
@jvp_rule(np.linalg.det, samples=_POSDEF + [_NEGATIVE_DET], batching="linalg")
def det(z, a, a_dot):
    z_dot = z * np.trace(np.linalg.solve(a, a_dot), axis1=-2, axis2=-1)


@jvp_rule(np.linalg.slogdet, samples=_POSDEF + [_NEGATIVE_DET], batching="linalg")
def slogdet(z, a, a_dot):
    z_dot = rt.tuple_like(z, np.zeros_like(z[0]),
                          np.trace(np.linalg.solve(a, a_dot), axis1=-2, axis2=-1))

# L = cholesky(A) reads A's lower triangle only (S: the symmetric matrix it
# stands for); dL = L phi(L^-1 dS L^-T), phi: the lower triangle, the
# diagonal halved (0.5 (X + tril(X, -1) - triu(X, 1)))
def cholesky_lower(z, a, a_dot):
    s_dot = np.tril(a_dot) + np.swapaxes(np.tril(a_dot, -1), -1, -2)
    x = np.linalg.solve(z, np.swapaxes(np.linalg.solve(z, s_dot), -1, -2))
    z_dot = z @ (0.5 * (x + np.tril(x, -1) - np.triu(x, 1)))


# upper=True (NumPy 2): U = L^T, from the upper triangle; dU = (L phi(...))^T
def cholesky_upper(z, a, a_dot):
    s_dot = np.triu(a_dot) + np.swapaxes(np.triu(a_dot, 1), -1, -2)
    low = np.swapaxes(z, -1, -2)
    x = np.linalg.solve(low, np.swapaxes(np.linalg.solve(low, s_dot), -1, -2))
    z_dot = np.swapaxes(low @ (0.5 * (x + np.tril(x, -1) - np.triu(x, 1))), -1, -2)


_CHOLESKY = {False: TemplateRule(np.linalg.cholesky, "cholesky", cholesky_lower, None),
             True: TemplateRule(np.linalg.cholesky, "cholesky", cholesky_upper, None)}


def _cholesky_parameters(a, upper=False):
    """``cholesky(a)``, and NumPy 2's ``upper=``."""


_UPPER = ([S(A(3, 3, kind="posdef"), upper=True), S(A(2, 3, 3, kind="posdef"), upper=True)]
          if "upper" in inspect.signature(np.linalg.cholesky).parameters else [])


@custom(np.linalg.cholesky, signature=_cholesky_parameters, samples=_POSDEF + _UPPER,
        batching="linalg", active=lambda bound: bound.get("a", False))
def cholesky(site):
    """The lower or the upper template, by ``upper`` (a literal: True or False)."""
    upper = site.bound.get("upper")
    flag = site.static(upper)  # (a literal or a global; None: not passed)
    if flag is not MISSING:
        return site.template(_CHOLESKY[bool(flag)], {"a": site.bound["a"]})
    # a local variable: the choice where the code runs
    return [gast.If(test=clone(upper), body=site.template(_CHOLESKY[True], {"a": site.bound["a"]}),
                    orelse=site.template(_CHOLESKY[False], {"a": site.bound["a"]}))]


# eigh of the symmetric S (it reads the lower triangle): with M = V^T dS V,
# dw = diag(M), dV = V (F * M), F_ij = 1 / (w_j - w_i) off the diagonal, 0 on
# it (infinite where eigenvalues coincide: no derivative of their vectors)
@jvp_rule(np.linalg.eigh, samples=_POSDEF, batching="linalg")
def eigh(z, a, a_dot):
    s_dot = np.tril(a_dot) + np.swapaxes(np.tril(a_dot, -1), -1, -2)
    v = z.eigenvectors
    m = np.swapaxes(v, -1, -2) @ s_dot @ v
    eye = np.eye(a.shape[-1], dtype=z.eigenvalues.dtype)
    f = (1.0 - eye) / (z.eigenvalues[..., None, :] - z.eigenvalues[..., :, None] + eye)
    z_dot = rt.tuple_like(z, np.diagonal(m, axis1=-2, axis2=-1), v @ (f * m))


# the eigenvalues of the symmetric S (eigvalsh reads the lower triangle too):
# dw_j = v_j^T dS v_j, with v the eigenvectors (distinct eigenvalues)
@jvp_rule(np.linalg.eigvalsh, samples=_POSDEF, batching="linalg")
def eigvalsh(z, a, a_dot):
    v = np.linalg.eigh(a).eigenvectors
    s_dot = np.tril(a_dot) + np.swapaxes(np.tril(a_dot, -1), -1, -2)
    z_dot = np.einsum("...ij,...ik,...kj->...j", v, s_dot, v)


# ---------------------------------------------------------------- Fourier transforms
# Linear: the tangent is the same transform of the tangent. Batching: they
# act along their last axes (axis=-1 by default), which a leading batch axis
# leaves alone.

linear(np.fft.fft, np.fft.ifft, samples=[S(A(8)), S(A(3, 8)), S(A(3, 8), 4)], batching="fft")
linear(np.fft.rfft, samples=[S(A(8)), S(A(2, 6))], batching="fft")
linear(np.fft.irfft, samples=[S(A(5)), S(A(2, 4))], batching="fft")
linear(np.fft.fft2, np.fft.ifft2, samples=[S(A(4, 6)), S(A(2, 4, 6))], batching="fft")
