"""Products and linear algebra.

dot, matmul, vdot, inner, outer, einsum, tensordot and kron are linear in each
operand (multilinear): the tangent is the sum, over operands that carry one,
of the product with that operand replaced by its tangent.
Batching: explicit rules (batched vector operands of matmul/dot).

numpy.linalg: solve, inv, det, slogdet, cholesky, eigh, eigvalsh; the
decompositions svd, svdvals, qr, eig, eigvals; pinv, lstsq, matrix_power,
multi_dot, cond, matrix_rank (zero), tensorsolve, tensorinv; NumPy 2's
array-API names (linalg.matmul, vecdot, vector_norm...). Their templates
are NumPy code, so hessian differentiates them again (not multi_dot's, nor
the norms' of orders other than vector_norm's 2 and matrix_norm's 'fro', 2,
-2 and 'nuc', nor cond's of the orders the other norms give: their tangents
are runtime helpers). Batching: they act on the
last two axes, so a batch axis in front is one more stack axis (lstsq,
which takes no stacks, loops over a batched matrix).
"""

# ruff: noqa: F841  (a template assigns z_dot for the transformer to read, not Python)

import inspect
import operator

import gast
import numpy as np

from .. import runtime as rt
from ..frontend import MISSING
from ..nodes import clone
from .registry import A, S, TemplateRule, custom, jvp_rule, linear, multilinear, zero

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
# complex Hermitian matrices, their upper triangles not what the lower ones mirror
# (eigh and eigvalsh read the lower one)
_HERMITIAN = np.array([[2.0 + 0.3j, 0.5 - 1.0j, 0.2 + 0.4j],
                       [0.5 + 1.0j, -1.0 + 0.0j, 0.7 - 0.6j],
                       [0.2 - 0.4j, 0.9 + 0.6j, 1.5 - 0.2j]])
_COMPLEX_HERMITIAN = [S(_HERMITIAN, argnums=(0,)),
                      S(np.stack([_HERMITIAN, np.conj(_HERMITIAN) + 2.0 * np.eye(3)]), argnums=(0,))]


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


# eigh of the Hermitian S its lower triangle makes (the imaginary part of the
# diagonal is not read): with M = V^H dS V, dw = Re diag(M), dV = V (F * M),
# F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it (infinite where eigenvalues
# coincide: no derivative of their vectors). A complex vector's phase is
# LAPACK's: it reduces S to a real tridiagonal matrix by reflections that
# leave the first row alone, so V's first row is real; each v_k is turned
# by the phase that keeps it real (for a real S that phase is 0)
@jvp_rule(np.linalg.eigh, samples=_POSDEF + _COMPLEX_HERMITIAN, batching="linalg")
def eigh(z, a, a_dot):
    s_dot = rt.hermitian_from_lower(a_dot, True)
    v = z.eigenvectors
    m = np.conj(np.swapaxes(v, -1, -2)) @ s_dot @ v
    eye = np.eye(a.shape[-1], dtype=z.eigenvalues.dtype)
    f = (1.0 - eye) / (z.eigenvalues[..., None, :] - z.eigenvalues[..., :, None] + eye)
    dv = v @ (f * m)
    first = v[..., :1, :]
    q = np.where(first == 0, 0.0, dv[..., :1, :]) / np.where(first == 0, 1.0, first)
    z_dot = rt.tuple_like(z, np.real(np.diagonal(m, axis1=-2, axis2=-1)), dv - v * (q - np.real(q)))


# the eigenvalues of the Hermitian S (eigvalsh reads the lower triangle too):
# dw_j = Re(v_j^H dS v_j), with v the eigenvectors (distinct eigenvalues)
@jvp_rule(np.linalg.eigvalsh, samples=_POSDEF + _COMPLEX_HERMITIAN, batching="linalg")
def eigvalsh(z, a, a_dot):
    v = np.linalg.eigh(a).eigenvectors
    s_dot = rt.hermitian_from_lower(a_dot, True)
    z_dot = np.real(np.sum(np.conj(v) * (s_dot @ v), axis=-2))


# ---------------------------------------------------------------- decompositions
# Derivatives of factors are those of the smooth branch through NumPy's own
# choice of signs and phases (LAPACK's, locally constant). Repeated singular
# values or eigenvalues leave the vectors without a derivative: their
# tangents come out inf or NaN (as in JAX), the values' tangents stay finite.
# Stacks of matrices (..., M, N) work throughout; batching: they act on the
# last two axes, so a leading batch axis is one more stack axis.

_WELL = np.array([[2.0, 0.3, -0.4], [0.5, -1.0, 0.2], [0.1, 0.7, 3.5]])  # distinct real eigenvalues
_ROTATE = np.array([[0.5, -2.0, 0.3], [1.5, 0.4, -0.2], [0.2, 0.1, -1.2]])  # a complex pair
_SYM = np.array([[2.0, 0.4, -0.3], [0.4, -1.1, 0.6], [-0.3, 0.6, 0.7]])  # |eigenvalues| distinct


# A = U S V^H, dS = U^H dA V: ds = Re diag(dS); with F_ij = 1 / (s_j^2 - s_i^2),
# dU = U (F * (dS S + S dS^H) + i Im diag(dS) / S) + (I - U U^H) dA V / S,
# dV = V (F * (S dS + dS^H S)) + (I - V V^H) dA^H U / S (the last terms vanish
# for a square matrix, and for a wide / a tall one). Complex vectors: then
# each pair (u_k, v_k) turned by the phase that keeps LAPACK's choice, the
# first row of V real (of U for a wide matrix)
def svd_factors(z, a, a_dot, full_matrices=True, compute_uv=True, hermitian=False):
    da = rt.defined_completion(a, rt.hermitian_from_lower(a_dot, hermitian), full_matrices,
                               "svd(..., full_matrices=True)")
    u = z[0]
    s = z[1]
    uh = np.conj(np.swapaxes(u, -1, -2))
    v = np.conj(np.swapaxes(z[2], -1, -2))
    dah = np.conj(np.swapaxes(da, -1, -2))
    ds_mat = uh @ da @ v
    dsh = np.conj(np.swapaxes(ds_mat, -1, -2))
    row = s[..., None, :]
    col = s[..., :, None]
    eye = np.eye(s.shape[-1], dtype=s.dtype)
    f = (1.0 - eye) / ((row + col) * (row - col) + eye)
    da_v = da @ v
    dah_u = dah @ u
    du = u @ (f * (ds_mat * row + col * dsh) + eye * (ds_mat - np.real(ds_mat)) / row) + (
        da_v - u @ (uh @ da_v)) / row
    dv = v @ (f * (col * ds_mat + dsh * row)) + (dah_u - v @ (z[2] @ dah_u)) / row
    tall = a.shape[-2] >= a.shape[-1]
    q = np.where(tall, dv[..., :1, :], du[..., :1, :]) / np.where(tall, v[..., :1, :],
                                                                  u[..., :1, :])
    phase = q - np.real(q)
    z_dot = rt.tuple_like(z, du - u * phase, np.real(np.diagonal(ds_mat, axis1=-2, axis2=-1)),
                          np.conj(np.swapaxes(dv - v * phase, -1, -2)))


def svd_values(z, a, a_dot, full_matrices=True, compute_uv=True, hermitian=False):
    usv = np.linalg.svd(a, full_matrices=False, hermitian=hermitian)
    da = rt.hermitian_from_lower(a_dot, hermitian)
    z_dot = np.real(np.sum(np.conj(usv[0]) * (da @ np.conj(np.swapaxes(usv[2], -1, -2))), axis=-2))


_SVD = {True: TemplateRule(np.linalg.svd, "svd", svd_factors, None),
        False: TemplateRule(np.linalg.svd, "svd", svd_values, None)}


def _svd_parameters(a, full_matrices=True, compute_uv=True, hermitian=False):
    """``numpy.linalg.svd``'s parameters."""


def _static_flag(site, key, default):
    """The value of the flag ``key`` when it is known at transform time (a
    literal, a global, ``np.inf``, -2, ``-np.inf``: see ``Site.static``), the
    default when not passed; else MISSING."""
    if key not in site.bound:
        return default
    return site.static(site.bound[key])


@custom(np.linalg.svd, signature=_svd_parameters, batching="linalg",
        active=lambda bound: bound.get("a", False), samples=[
            S(A(4, 3), full_matrices=False), S(A(3, 5), False), S(A(2, 4, 3), full_matrices=False),
            S(A(3, 3)), S(A(2, 3, 3), full_matrices=True), S(A(4, 3), compute_uv=False),
            S(A(2, 3, 5), compute_uv=False), S(_SYM, hermitian=True),
            S(_SYM, compute_uv=False, hermitian=True)])
def svd(site):
    """The factors' template or the singular values' one, by ``compute_uv``
    (known at transform time). full_matrices=True of a matrix that is not
    square raises where it runs (the completed columns have no derivative)."""
    flag = _static_flag(site, "compute_uv", True)
    if flag is MISSING:
        site.problem("svd's compute_uv is known only at run time, and the tangent of "
                     "the factors differs from that of the singular values",
                     "pass compute_uv as a literal (True or False)")
        return None
    bound = {k: v for k, v in site.bound.items() if k != "compute_uv"}
    return site.template(_SVD[bool(flag)], bound)


@jvp_rule(np.linalg.svdvals, samples=[S(A(4, 3)), S(A(3, 5)), S(A(2, 3, 3))], batching="linalg")
def svdvals(z, x, x_dot):
    usv = np.linalg.svd(x, full_matrices=False)
    z_dot = np.real(np.sum(np.conj(usv[0]) * (x_dot @ np.conj(np.swapaxes(usv[2], -1, -2))), axis=-2))


# A = QR with k = min(M, N), X the first k columns of A (X = Q R_X, R_X
# square): C = Q^H dX R_X^-1, Omega = tril(C, -1) - tril(C, -1)^H (and the
# imaginary diagonal of C), dQ = Q (Omega - C) + dX R_X^-1, dR = Q^H dA - Omega R
# (Q^H dQ = Omega). Wide matrices too; mode='complete' only where Q is Q of
# 'reduced' (M <= N)
def qr_factors(z, a, a_dot, mode="reduced"):
    da = rt.defined_completion(a, a_dot, mode == "complete", "qr(..., mode='complete')",
                               True)
    q = z[0]
    r = z[1]
    k = q.shape[-1]
    dx_rinv = np.swapaxes(np.linalg.solve(np.swapaxes(r[..., :k, :k], -1, -2),
                                          np.swapaxes(da[..., :, :k], -1, -2)), -1, -2)
    c = np.conj(np.swapaxes(q, -1, -2)) @ dx_rinv
    lower = np.tril(c, -1)
    omega = lower - np.conj(np.swapaxes(lower, -1, -2)) + np.eye(k, dtype=r.dtype) * (c - np.real(c))
    z_dot = rt.tuple_like(z, q @ (omega - c) + dx_rinv, np.conj(np.swapaxes(q, -1, -2)) @ da - omega @ r)


def qr_r(z, a, a_dot, mode="reduced"):
    qr = np.linalg.qr(a)
    q = qr[0]
    k = q.shape[-1]
    dx_rinv = np.swapaxes(np.linalg.solve(np.swapaxes(z[..., :k, :k], -1, -2),
                                          np.swapaxes(a_dot[..., :, :k], -1, -2)), -1, -2)
    c = np.conj(np.swapaxes(q, -1, -2)) @ dx_rinv
    lower = np.tril(c, -1)
    omega = lower - np.conj(np.swapaxes(lower, -1, -2)) + np.eye(k, dtype=z.dtype) * (c - np.real(c))
    z_dot = np.conj(np.swapaxes(q, -1, -2)) @ a_dot - omega @ z


_QR = {"reduced": TemplateRule(np.linalg.qr, "qr", qr_factors, None),
       "complete": TemplateRule(np.linalg.qr, "qr", qr_factors, None),
       "r": TemplateRule(np.linalg.qr, "qr", qr_r, None)}


def _qr_parameters(a, mode="reduced"):
    """``numpy.linalg.qr``'s parameters."""


@custom(np.linalg.qr, signature=_qr_parameters, batching="linalg",
        active=lambda bound: bound.get("a", False), samples=[
            S(A(4, 3)), S(A(3, 3)), S(A(3, 5)), S(A(2, 4, 3)), S(A(2, 3, 5), mode="reduced"),
            S(A(3, 5), mode="complete"), S(A(3, 3), mode="complete"), S(A(4, 3), mode="r"),
            S(A(2, 3, 4), mode="r")])
def qr(site):
    """The factors' template ('reduced', 'complete') or R's ('r'), by
    ``mode`` (known at transform time); 'raw' (Householder reflectors) is
    refused."""
    mode = _static_flag(site, "mode", "reduced")
    if mode not in _QR:
        site.problem(f"qr's mode={mode!r} has no rule" if mode is not MISSING else
                     "qr's mode is known only at run time",
                     "pass mode='reduced', 'complete' or 'r' as a literal")
        return None
    return site.template(_QR[mode], site.bound)


# A V = V W, M = V^-1 dA V: dw = diag(M); dV = V (F * M), F_ij = 1 / (w_j - w_i),
# then normalised as NumPy's (LAPACK's) vectors are, unit length with their
# largest entry real: dv -= v (Re(v^H dv) + i Im(dv_k / v_k)), k that entry
@jvp_rule(np.linalg.eig, samples=[S(_WELL), S(_ROTATE), S(np.stack([_WELL, _WELL.T + 0.5]))],
          batching="linalg")
def eig(z, a, a_dot):
    w = z[0]
    v = z[1]
    m = np.linalg.solve(v, a_dot @ v)
    eye = np.eye(a.shape[-1], dtype=w.real.dtype)  # (float64 would widen a float32 tangent)
    dv = v @ ((1.0 - eye) / (w[..., None, :] - w[..., :, None] + eye) * m)
    k = np.argmax(np.abs(v), axis=-2)[..., None, :]
    q = np.take_along_axis(dv, k, axis=-2) / np.take_along_axis(v, k, axis=-2)
    along = np.real(np.sum(np.conj(v) * dv, axis=-2))[..., None, :] + (q - np.real(q))
    z_dot = rt.tuple_like(z, np.diagonal(m, axis1=-2, axis2=-1), dv - v * along)


@jvp_rule(np.linalg.eigvals, samples=[S(_WELL), S(_ROTATE), S(np.stack([_ROTATE, _ROTATE.T]))],
          batching="linalg")
def eigvals(z, a, a_dot):
    v = np.linalg.eig(a)[1]
    z_dot = np.diagonal(np.linalg.solve(v, a_dot @ v), axis1=-2, axis2=-1)


# P = pinv(A) of a matrix of full rank (the rank stays put nearby):
# dP = -P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P; hermitian=True:
# P is that of the Hermitian matrix A's lower triangle makes
@jvp_rule(np.linalg.pinv, samples=[S(A(4, 3)), S(A(3, 5)), S(A(2, 3, 3)), S(A(4, 3), 1e-10),
                                   S(_SYM, hermitian=True), S(A(3, 4), rtol=1e-12)],
          batching="linalg")
def pinv(z, a, a_dot, rcond=None, hermitian=False, rtol=None):
    da = rt.hermitian_from_lower(a_dot, hermitian)
    a_read = rt.hermitian_from_lower(a, hermitian)
    dah = np.conj(np.swapaxes(da, -1, -2))
    zh = np.conj(np.swapaxes(z, -1, -2))
    z_dot = -(z @ da @ z) + (z @ zh) @ (dah - (dah @ a_read) @ z) + (dah - (z @ a_read) @ dah) @ (zh @ z)


# x = A^+ b (A of full rank), with dA^+ as in pinv; the squared residuals
# |b - A x|^2 (when there are: M > N) change by 2 Re(r^H dr); the rank is an
# integer; the singular values as in svdvals
@jvp_rule(np.linalg.lstsq, samples=[S(A(5, 3), A(5)), S(A(5, 3), A(5, 2)), S(A(3, 5), A(3)),
                                    S(A(3, 3), A(3, 2), None), S(A(5, 3), A(5), 1e-12, argnums=(0, 1))],
          batching="loop")
def lstsq(z, a, b, a_dot, b_dot, rcond=None):
    x = z[0]
    p = np.linalg.pinv(a)
    r = b - a @ x
    dah = np.conj(np.swapaxes(a_dot, -1, -2))
    px = np.conj(np.swapaxes(p, -1, -2)) @ x
    dx = p @ (b_dot - a_dot @ x) + p @ (np.conj(np.swapaxes(p, -1, -2)) @ (dah @ r)) + dah @ px - p @ (a @ (dah @ px))
    dr = b_dot - a_dot @ x - a @ dx
    residuals = np.reshape(2 * np.sum(np.real(np.conj(r) * dr), axis=0), (-1,))
    usv = np.linalg.svd(a, full_matrices=False)
    # (zeros_like: the singular values' tangent has their shape where a is inactive)
    z_dot = rt.tuple_like(z, dx, residuals[:z[1].shape[0]], np.zeros(np.shape(z[2])),
                          np.zeros_like(z[3]) + np.real(np.sum(np.conj(usv[0]) * (a_dot @ np.conj(np.swapaxes(usv[2], -1, -2))), axis=-2)))


# the upper right block of f([[A, dA], [0, A]]) is the derivative of an
# analytic f at A along dA: here f(A) = A^n (n < 0 too, where A^-1 exists)
@jvp_rule(np.linalg.matrix_power, samples=[S(A(3, 3), 3), S(A(3, 3), 1), S(A(3, 3), 0),
                                           S(A(3, 3, kind="posdef"), -2),
                                           S(A(2, 3, 3), 2), S(A(2, 3, 3, kind="posdef"), -1)],
          batching="linalg")
def matrix_power(z, a, n, a_dot):
    size = a.shape[-1]
    top = np.concatenate([a, a_dot], axis=-1)
    bottom = np.concatenate([np.zeros_like(top[..., :size]), top[..., :size]], axis=-1)
    z_dot = np.linalg.matrix_power(np.concatenate([top, bottom], axis=-2), n)[..., :size, size:]


# the sum over the factors of the product with that factor's tangent in its place
@jvp_rule(np.linalg.multi_dot, samples=[S([A(3, 4), A(4, 2)]), S([A(4), A(4, 3), A(3, 2)]),
                                        S([A(2, 3), A(3, 4), A(4)]),
                                        S([A(3), A(3, 4), A(4, 2), A(2)])],
          batching="matmul")
def multi_dot(z, arrays, arrays_dot, out=None):
    z_dot = rt.multi_dot_tangent(arrays, arrays_dot)


# p None, 2, -2: the ratio of the extreme singular values; other orders:
# norm(A) norm(A^-1), dA^-1 = -A^-1 dA A^-1
def cond_svd(z, x, x_dot, p=None):
    usv = np.linalg.svd(x, full_matrices=False)
    ds = np.real(np.sum(np.conj(usv[0]) * (x_dot @ np.conj(np.swapaxes(usv[2], -1, -2))), axis=-2)) / usv[1]
    z_dot = z * (ds[..., 0] - ds[..., -1])


def cond_svd_inverse(z, x, x_dot, p=None):
    usv = np.linalg.svd(x, full_matrices=False)
    ds = np.real(np.sum(np.conj(usv[0]) * (x_dot @ np.conj(np.swapaxes(usv[2], -1, -2))), axis=-2)) / usv[1]
    z_dot = z * (ds[..., -1] - ds[..., 0])


def cond_norm(z, x, x_dot, p=None):
    inverse = np.linalg.inv(x)
    size = np.linalg.norm(x, p, axis=(-2, -1))
    size_inverse = np.linalg.norm(inverse, p, axis=(-2, -1))
    z_dot = rt.norm_tangent(x, size, x_dot, p, (-2, -1), False) * size_inverse + size * (
        rt.norm_tangent(inverse, size_inverse, -(inverse @ x_dot @ inverse), p, (-2, -1), False))


_COND = {None: TemplateRule(np.linalg.cond, "cond", cond_svd, None),
         2: TemplateRule(np.linalg.cond, "cond", cond_svd, None),
         -2: TemplateRule(np.linalg.cond, "cond", cond_svd_inverse, None)}
_COND_NORM = TemplateRule(np.linalg.cond, "cond", cond_norm, None)


def _cond_parameters(x, p=None):
    """``numpy.linalg.cond``'s parameters."""


@custom(np.linalg.cond, signature=_cond_parameters, batching="linalg",
        active=lambda bound: bound.get("x", False), samples=[
            S(A(3, 3)), S(A(4, 3)), S(A(2, 3, 3), 2), S(A(3, 3), -2), S(A(3, 3), "fro"),
            S(A(3, 3), 1), S(A(3, 3), -np.inf), S(A(2, 3, 3), "nuc")])
def cond(site):
    """The singular values' template (p None, 2, -2) or the norms' one, by
    ``p`` (known at transform time)."""
    p = _static_flag(site, "p", None)
    if p is MISSING:
        site.problem("cond's p is known only at run time",
                     "pass p as a literal (None, 2, -2, 1, -1, inf, -inf, 'fro', 'nuc')")
        return None
    return site.template(_COND.get(p, _COND_NORM), site.bound)


zero(np.linalg.matrix_rank, samples=[S(A(3, 3)), S(A(2, 4, 3)), S(A(3, 3), tol=1e-8)],
     batching="linalg")


# tensordot(A, x, x.ndim) = b (A's ``axes`` moved to the end first):
# dx = tensorsolve(A, db - tensordot(dA, x, x.ndim))
_M6 = 4.0 * np.eye(6) + np.random.default_rng(6).normal(size=(6, 6))


@jvp_rule(np.linalg.tensorsolve, samples=[S(_M6.reshape(2, 3, 2, 3), A(2, 3)),
                                          S(_M6.reshape(6, 2, 3), A(6)),
                                          S(np.moveaxis(_M6.reshape(2, 3, 6), -1, 0), A(2, 3), (0,)),
                                          S(np.moveaxis(_M6.reshape(2, 3, 3, 2), (2, 3), (0, 1)),
                                            A(2, 3), axes=(0, 1))],
          batching="linalg")
def tensorsolve(z, a, b, a_dot, b_dot, axes=None):
    z_dot = np.linalg.tensorsolve(
        a, b_dot - np.tensordot(rt.axes_to_end(a_dot, axes, a.ndim), z, z.ndim), axes)


# the inverse of A as a matrix (its first ``ind`` axes the rows): dZ = -Z dA Z
@jvp_rule(np.linalg.tensorinv, samples=[S(_M6.reshape(2, 3, 6)), S(_M6.reshape(2, 3, 2, 3), 2),
                                         S(_M6.reshape(6, 2, 3), ind=1)],
          batching="linalg")
def tensorinv(z, a, a_dot, ind=2):
    z_dot = -np.tensordot(np.tensordot(z, a_dot, ind), z, a.ndim - ind)


# ---------------------------------------------------------------- array API names
# NumPy 2's numpy.linalg spellings of other functions (matmul, tensordot...:
# positional operands, keyword-only options), and the generalised ufuncs
# vecdot, matvec, vecmat (registered where the installed NumPy has them)

multilinear(np.linalg.matmul, samples=[S(A(3, 4), A(4, 2)), S(A(3, 4), A(4)), S(A(4), A(4, 2)),
                                       S(A(2, 3, 4), A(4, 5))], batching="matmul")
multilinear(np.linalg.outer, samples=[S(A(3), A(4))], batching="matmul")
multilinear(np.linalg.tensordot, samples=[S(A(2, 3, 4), A(3, 4, 5)), S(A(3, 4), A(4, 2), axes=1),
                                          S(A(3, 4), A(4, 3), axes=([1], [0]))],
            batching="tensordot")
multilinear(np.linalg.cross, samples=[S(A(3), A(3)), S(A(2, 3), A(3)), S(A(4, 3), A(4, 3), axis=-1)],
            batching="axes")
multilinear(np.linalg.vecdot, samples=[S(A(4), A(4)), S(A(2, 4), A(4)), S(A(4, 3), A(3), axis=-1)],
            batching="axes")
linear(np.linalg.trace, samples=[S(A(3, 3)), S(A(2, 3, 4), offset=1)], batching="linalg")
linear(np.linalg.diagonal, samples=[S(A(3, 4)), S(A(2, 3, 3), offset=-1)], batching="linalg")
linear(np.linalg.matrix_transpose, samples=[S(A(3, 4)), S(A(2, 3, 4))], batching="linalg")
for _name, _samples in (
        ("vecdot", [S(A(4), A(4)), S(A(2, 4), A(3, 1, 4))]),
        ("matvec", [S(A(3, 4), A(4)), S(A(2, 3, 4), A(4)), S(A(3, 4), A(2, 4))]),
        ("vecmat", [S(A(3), A(3, 4)), S(A(2, 3), A(3, 4)), S(A(3), A(2, 3, 4))])):
    if hasattr(np, _name):
        multilinear(getattr(np, _name), samples=_samples, batching="axes")
if hasattr(np, "matrix_transpose"):
    linear(np.matrix_transpose, samples=[S(A(3, 4)), S(A(2, 3, 4))], batching="linalg")


# The 2-norm (vector_norm's default, linalg.norm's ord=None) and the matrix
# norms 'fro', 2, -2, 'nuc' are templates of NumPy code, so hessian
# differentiates them again: d||x|| = Re(sum(conj(x) x_dot)) / ||x||; the
# matrix 2-norm, -2 and 'nuc' through the singular triplets, Re(u_k^H dx v_k)
# for the largest, the smallest, the sum over all. The other orders (the
# extremes, p-norms, a count) and an order known only at run time go through
# the runtime helpers, which have no second-order rule.
def two_norm(z, x, x_dot, axis=None, keepdims=False, ord=2):
    z_dot = np.real(np.sum(np.conj(x) * x_dot, axis=axis, keepdims=keepdims)) / z


def vector_norm_helper(z, x, x_dot, axis=None, keepdims=False, ord=2):
    z_dot = rt.vector_norm_tangent(x, z, x_dot, ord, axis, keepdims)


def frobenius_norm(z, x, x_dot, keepdims=False, ord="fro"):
    z_dot = np.real(np.sum(np.conj(x) * x_dot, axis=(-2, -1), keepdims=keepdims)) / z


def spectral_norm(z, x, x_dot, keepdims=False, ord="fro"):
    usv = np.linalg.svd(x, full_matrices=False)
    d = np.real(np.sum(np.conj(usv[0]) * (x_dot @ np.conj(np.swapaxes(usv[2], -1, -2))), axis=-2))
    z_dot = np.sum(d[..., None, :1], axis=(-2, -1), keepdims=keepdims)


def smallest_singular_value(z, x, x_dot, keepdims=False, ord="fro"):
    usv = np.linalg.svd(x, full_matrices=False)
    d = np.real(np.sum(np.conj(usv[0]) * (x_dot @ np.conj(np.swapaxes(usv[2], -1, -2))), axis=-2))
    z_dot = np.sum(d[..., None, -1:], axis=(-2, -1), keepdims=keepdims)


def nuclear_norm(z, x, x_dot, keepdims=False, ord="fro"):
    usv = np.linalg.svd(x, full_matrices=False)
    d = np.real(np.sum(np.conj(usv[0]) * (x_dot @ np.conj(np.swapaxes(usv[2], -1, -2))), axis=-2))
    z_dot = np.sum(d[..., None, :], axis=(-2, -1), keepdims=keepdims)


def matrix_norm_helper(z, x, x_dot, keepdims=False, ord="fro"):
    z_dot = rt.matrix_norm_tangent(x, z, x_dot, ord, keepdims)


def _vector_norm_parameters(x, axis=None, keepdims=False, ord=2):
    """``numpy.linalg.vector_norm``'s parameters (keyword-only after x)."""


def _matrix_norm_parameters(x, keepdims=False, ord="fro"):
    """``numpy.linalg.matrix_norm``'s parameters (keyword-only after x)."""


_VECTOR_NORM = {2: TemplateRule(np.linalg.vector_norm, "vector_norm", two_norm, None)}
_VECTOR_NORM_HELPER = TemplateRule(np.linalg.vector_norm, "vector_norm", vector_norm_helper, None)
_MATRIX_NORM = {"fro": TemplateRule(np.linalg.matrix_norm, "matrix_norm", frobenius_norm, None),
                2: TemplateRule(np.linalg.matrix_norm, "matrix_norm", spectral_norm, None),
                -2: TemplateRule(np.linalg.matrix_norm, "matrix_norm", smallest_singular_value,
                                 None),
                "nuc": TemplateRule(np.linalg.matrix_norm, "matrix_norm", nuclear_norm, None)}
_MATRIX_NORM_HELPER = TemplateRule(np.linalg.matrix_norm, "matrix_norm", matrix_norm_helper, None)


def norm_by_order(site, templates, helper, default):
    """The template of the order ``ord`` when it is known at transform time
    and has one, else the runtime helper's (which reads ``ord`` where the
    code runs)."""
    order = _static_flag(site, "ord", default)
    rule = templates.get(order, helper) if isinstance(order, (str, int, float)) else helper
    return site.template(rule, site.bound)


@custom(np.linalg.vector_norm, signature=_vector_norm_parameters, batching="reduction",
        active=lambda bound: bound.get("x", False), samples=[
            S(A(3, 4)), S(A(3, 4), axis=0), S(A(2, 3, 4), axis=(0, 2), keepdims=True),
            S(A(3, 4), ord=1), S(A(5), ord=np.inf), S(A(3, 4), axis=-1, ord=3),
            S(A(2, 3), keepdims=True, ord=-np.inf), S(A(3, 4), axis=1, ord=2),
            S(A(2, 3), keepdims=True, ord=2)])
def vector_norm(site):
    """ord 2's template, or the helper's (every order, at run time)."""
    return norm_by_order(site, _VECTOR_NORM, _VECTOR_NORM_HELPER, 2)


@custom(np.linalg.matrix_norm, signature=_matrix_norm_parameters, batching="linalg",
        active=lambda bound: bound.get("x", False), samples=[
            S(A(3, 4)), S(A(2, 3, 4), keepdims=True), S(A(3, 4), ord=1), S(A(3, 3), ord=-np.inf),
            S(A(2, 3, 4), ord=2), S(A(3, 4), ord="nuc"), S(A(3, 4), ord=-2),
            S(A(2, 4, 3), ord=-2, keepdims=True), S(A(2, 3, 4), ord="nuc", keepdims=True),
            S(A(3, 4), ord=2, keepdims=True), S(A(3, 4), ord="fro")])
def matrix_norm(site):
    """The template of 'fro', 2, -2 or 'nuc', or the helper's."""
    return norm_by_order(site, _MATRIX_NORM, _MATRIX_NORM_HELPER, "fro")


# ---------------------------------------------------------------- Fourier transforms
# Linear: the tangent is the same transform of the tangent. Batching: they
# act along their last axes (axis=-1 by default), which a leading batch axis
# leaves alone.

linear(np.fft.fft, np.fft.ifft, samples=[S(A(8)), S(A(3, 8)), S(A(3, 8), 4)], batching="fft")
linear(np.fft.rfft, samples=[S(A(8)), S(A(2, 6))], batching="fft")
linear(np.fft.irfft, samples=[S(A(5)), S(A(2, 4))], batching="fft")
linear(np.fft.fft2, np.fft.ifft2, samples=[S(A(4, 6)), S(A(2, 4, 6))], batching="fft")
