"""numpy.linalg's decompositions and solvers end to end: a function using svd,
qr, lstsq and pinv under jvp, jacfwd, vmap and hessian against central
differences; complex matrices (the factors' tangents follow NumPy's phases);
what is refused, and where the derivative does not exist; and torch.func /
JAX on the same inputs where they are installed (the factors compared once
their signs are aligned, as each library picks its own)."""

import math

import numpy as np
import pytest

import s2s
from s2s.errors import NoRuleError

RNG = np.random.default_rng(11)
A = RNG.normal(size=(5, 3))
B = RNG.normal(size=5)
W = RNG.normal(size=(5, 3))


def model(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    q, r = np.linalg.qr(a)
    x = np.linalg.lstsq(a, B, rcond=None)[0]
    p = np.linalg.pinv(a)
    return (np.sum(u * W) * s[0] + np.sum(vh[0] ** 3) + np.sum(q * W) + np.sum(np.diag(r) ** 2)
            + np.sum(x ** 3) + np.sum(p @ a) + np.linalg.cond(a) + np.linalg.svdvals(a)[-1])


def _fd(f, x, d, h=1e-6):
    plus, minus = f(x + h * d), f(x - h * d)
    if isinstance(plus, tuple):
        return tuple((p - m) / (2 * h) for p, m in zip(plus, minus))
    return (plus - minus) / (2 * h)


def _fd_jacobian(f, x, h=1e-6):
    columns = []
    for index in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[index] = 1.0
        columns.append(_fd(f, x, e, h))
    return np.moveaxis(np.array(columns), 0, -1).reshape(np.shape(f(x)) + x.shape)


def test_model_jvp_jacfwd_vmap_hessian():
    d = RNG.normal(size=A.shape)
    out, tangent = s2s.jvp(model, (A,), (d,))
    assert np.isclose(out, model(A))
    assert np.isclose(tangent, _fd(model, A, d), rtol=1e-6)
    jacobian = s2s.jacfwd(model)
    assert np.allclose(jacobian(A), _fd_jacobian(model, A), rtol=1e-6, atol=1e-8)
    assert "map_batched" not in s2s.source(jacobian)  # one vectorised pass
    stack = A + 0.05 * RNG.normal(size=(4,) + A.shape)
    assert np.allclose(s2s.vmap(model)(stack), [model(a) for a in stack], rtol=1e-12)
    hess = s2s.hessian(model)(A)
    assert np.allclose(hess, _fd_jacobian(s2s.jacfwd(model), A, 1e-5), rtol=1e-5, atol=1e-6)


def _complex(*shape):
    return RNG.normal(size=shape) + 1j * RNG.normal(size=shape)


@pytest.mark.parametrize("f, shape", [
    (lambda a: tuple(np.linalg.svd(a, full_matrices=False)), (4, 3)),
    (lambda a: tuple(np.linalg.svd(a, full_matrices=False)), (2, 3, 5)),
    (lambda a: tuple(np.linalg.qr(a)), (4, 3)),
    (lambda a: tuple(np.linalg.qr(a)), (3, 5)),
    (lambda a: tuple(np.linalg.eig(a)), (3, 3)),
    (lambda a: np.linalg.pinv(a), (4, 3)),
    (lambda a: np.linalg.matrix_norm(a, ord="nuc"), (3, 4)),
    (lambda a: np.linalg.vector_norm(a, ord=3, axis=(0, 1)), (3, 4, 2)),
], ids=["svd", "svd-wide-stack", "qr", "qr-wide", "eig", "pinv", "matrix_norm", "vector_norm"])
def test_complex_matrices_follow_numpys_phases(f, shape):
    a, d = _complex(*shape), _complex(*shape)
    _, tangent = s2s.jvp(f, (a,), (d,))
    expected = _fd(f, a, d)
    for t, e in zip(*(x if isinstance(x, tuple) else (x,) for x in (tangent, expected))):
        assert np.allclose(t, e, rtol=1e-6, atol=1e-7)


def test_hermitian_reads_the_lower_triangle():
    a = RNG.normal(size=(3, 3))  # not symmetric: NumPy reads its lower triangle
    d = RNG.normal(size=(3, 3))

    def factors(a):
        return tuple(np.linalg.svd(a, hermitian=True))

    def inverse(a):
        return np.linalg.pinv(a, hermitian=True)

    for f in (factors, inverse):
        _, tangent = s2s.jvp(f, (a,), (d,))
        expected = _fd(f, a, d)
        for t, e in zip(*(x if isinstance(x, tuple) else (x,) for x in (tangent, expected))):
            assert np.allclose(t, e, rtol=1e-6, atol=1e-7)


def test_completed_factors_have_no_derivative():
    def full_u(a):
        return np.linalg.svd(a)[0]  # full_matrices=True: U is 5x5 for a 5x3 matrix

    with pytest.raises(ValueError, match="orthonormal completion"):
        s2s.jvp(full_u, (A,), (A,))
    with pytest.raises(ValueError, match="orthonormal completion"):
        s2s.jvp(lambda a: np.linalg.qr(a, mode="complete")[0], (A,), (A,))
    square = A[:3]
    _, t = s2s.jvp(lambda a: np.linalg.svd(a)[0], (square,), (W[:3],))  # square: defined
    assert np.allclose(t, _fd(lambda a: np.linalg.svd(a)[0], square, W[:3]), atol=1e-7)


def test_refused_with_a_clear_error():
    with pytest.raises(NoRuleError, match="mode='raw'"):
        s2s.jvp(lambda a: np.linalg.qr(a, mode="raw")[0], (A,), (A,))

    def runtime_flag(a, flag):
        return np.linalg.svd(a, compute_uv=flag)

    with pytest.raises(NoRuleError, match="compute_uv"):
        s2s.jvp(runtime_flag, (A, True), (A, 0.0))
    with pytest.raises(NoRuleError, match="multi_dot_tangent"):
        s2s.hessian(lambda a: np.sum(np.linalg.multi_dot([a, a.T, a])))(A)


def test_repeated_values_give_no_vector_derivative():
    # singular values 2, 2, 1: the values' tangent is finite, the vectors' is not
    a = np.diag([2.0, 2.0, 1.0])
    d = RNG.normal(size=(3, 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        _, (du, ds, dvh) = s2s.jvp(lambda a: tuple(np.linalg.svd(a)), (a,), (d,))
        _, (dw, dv) = s2s.jvp(lambda a: tuple(np.linalg.eig(a)), (a,), (d,))
    assert np.all(np.isfinite(ds)) and not np.all(np.isfinite(du))
    assert np.all(np.isfinite(dw)) and not np.all(np.isfinite(dv))


def test_matrix_power_multi_dot_tensor_solvers():
    m = RNG.normal(size=(3, 3)) + 3 * np.eye(3)
    d = RNG.normal(size=(3, 3))

    def power(a):
        return np.linalg.matrix_power(a, -3) + np.linalg.matrix_power(a, 0)

    def chain(a):
        return np.linalg.multi_dot([a[0], a, a.T, a[:, 1]])

    def tensors(a):
        return (np.linalg.tensorsolve(np.kron(a, a).reshape(3, 3, 3, 3), a),
                np.linalg.tensorinv(np.kron(a, a).reshape(9, 3, 3), ind=1))

    for f in (power, chain, tensors):
        _, tangent = s2s.jvp(f, (m,), (d,))
        expected = _fd(f, m, d)
        for t, e in zip(*(x if isinstance(x, tuple) else (x,) for x in (tangent, expected))):
            assert np.allclose(t, e, rtol=1e-6, atol=1e-8)


# -- torch.func and JAX on the same inputs --------------------------------------------


def _aligned(u, reference):
    """``u``'s columns with the signs of ``reference``'s (each library picks
    its own): the sign of the entry of largest modulus."""
    k = np.argmax(np.abs(reference), axis=-2)[..., None, :]
    return np.sign(np.take_along_axis(reference, k, -2) / np.take_along_axis(u, k, -2))


def _ours(a, d):
    out = {}
    (u, s, vh), (du, ds, dvh) = s2s.jvp(lambda a: tuple(np.linalg.svd(a, full_matrices=False)),
                                        (a,), (d,))
    out["svd"] = (u, s, vh, du, ds, dvh)
    (q, r), (dq, dr) = s2s.jvp(lambda a: tuple(np.linalg.qr(a)), (a,), (d,))
    out["qr"] = (q, r, dq, dr)
    out["pinv"] = s2s.jvp(np.linalg.pinv, (a,), (d,))[1]
    out["lstsq"] = s2s.jvp(lambda a: np.linalg.lstsq(a, B, rcond=None)[0], (a,), (d,))[1]
    out["cond"] = s2s.jvp(np.linalg.cond, (a,), (d,))[1]
    square, dsq = a[:3] + 3 * np.eye(3), d[:3]
    out["eigvals"] = s2s.jvp(np.linalg.eigvals, (square,), (dsq,))
    out["matrix_power"] = s2s.jvp(lambda x: np.linalg.matrix_power(x, -2), (square,), (dsq,))[1]
    return out


def _check_against(ours, theirs):
    u, s, vh, du, ds, dvh = ours["svd"]
    tu, ts, tvh, tdu, tds, tdvh = theirs["svd"]
    flip = _aligned(tu, u)
    assert np.allclose(ds, tds, atol=1e-10)
    assert np.allclose(du, tdu * flip, atol=1e-8)
    assert np.allclose(dvh, tdvh * np.swapaxes(flip, -1, -2), atol=1e-8)
    q, r, dq, dr = ours["qr"]
    tq, tr, tdq, tdr = theirs["qr"]
    flip = _aligned(tq, q)
    assert np.allclose(dq, tdq * flip, atol=1e-8)
    assert np.allclose(dr, tdr * np.swapaxes(flip, -1, -2), atol=1e-8)
    for key in ("pinv", "lstsq", "cond", "matrix_power"):
        assert np.allclose(ours[key], theirs[key], atol=1e-8), key
    w, dw = ours["eigvals"]
    tw, tdw = theirs["eigvals"]
    order, torder = np.argsort(w.real + 1e-3 * w.imag), np.argsort(tw.real + 1e-3 * tw.imag)
    assert np.allclose(dw[order], tdw[torder], atol=1e-8)


def test_against_torch():
    torch = pytest.importorskip("torch")
    from torch.func import jvp

    a, d = A, RNG.normal(size=A.shape)
    ta, td = torch.tensor(a), torch.tensor(d)

    def run(f, x=ta, dx=td):
        out, t = jvp(f, (x,), (dx,))
        return out, t

    def np_(x):
        return tuple(v.numpy() for v in x) if isinstance(x, tuple) else x.numpy()

    (u, s, vh), (du, ds, dvh) = run(lambda x: tuple(torch.linalg.svd(x, full_matrices=False)))
    (q, r), (dq, dr) = run(lambda x: tuple(torch.linalg.qr(x)))
    tb = torch.tensor(B)
    square, dsq = torch.tensor(a[:3] + 3 * np.eye(3)), torch.tensor(d[:3])
    theirs = {
        "svd": np_((u, s, vh, du, ds, dvh)), "qr": np_((q, r, dq, dr)),
        "pinv": np_(run(torch.linalg.pinv)[1]),
        "lstsq": np_(run(lambda x: torch.linalg.pinv(x) @ tb)[1]),
        "cond": np_(run(torch.linalg.cond)[1]),
        "eigvals": np_(run(torch.linalg.eigvals, square, dsq.to(torch.complex128))),
        "matrix_power": np_(run(lambda x: torch.linalg.matrix_power(x, -2), square, dsq)[1]),
    }
    _check_against(_ours(a, d), theirs)


def test_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    a, d = A, RNG.normal(size=A.shape)

    def run(f, x=a, dx=d):
        out, t = jax.jvp(f, (jnp.asarray(x),), (jnp.asarray(dx),))
        return jax.tree_util.tree_map(np.asarray, (out, t))

    (u, s, vh), (du, ds, dvh) = run(lambda x: tuple(jnp.linalg.svd(x, full_matrices=False)))
    (q, r), (dq, dr) = run(lambda x: tuple(jnp.linalg.qr(x)))
    square, dsq = a[:3] + 3 * np.eye(3), d[:3]
    theirs = {
        "svd": (u, s, vh, du, ds, dvh), "qr": (q, r, dq, dr),
        "pinv": run(jnp.linalg.pinv)[1],
        "lstsq": run(lambda x: jnp.linalg.lstsq(x, jnp.asarray(B))[0])[1],
        "cond": run(jnp.linalg.cond)[1],
        "eigvals": run(jnp.linalg.eigvals, square, dsq),
        "matrix_power": run(lambda x: jnp.linalg.matrix_power(x, -2), square, dsq)[1],
    }
    _check_against(_ours(a, d), theirs)


_COMPLEX_VECTOR = np.array([0.3 + 1.2j, -0.8 + 0.1j, 1.5 - 0.4j, 0.2 - 0.9j])
_COMPLEX_MATRIX = np.array([[0.3 + 1.2j, -0.8, 1.5 - 0.4j, 0.2j],
                            [1.1 - 0.3j, 0.4 + 0.7j, -0.6, 0.9 + 0.2j],
                            [-0.2 + 0.5j, 1.3j, 0.8 - 1.1j, -0.4 + 0.6j]])


@pytest.mark.parametrize("a, ord", [(_COMPLEX_VECTOR, o) for o in (None, 1, 3, np.inf, -np.inf)]
                         + [(_COMPLEX_MATRIX, o) for o in (None, "fro", 1, -1, np.inf, -np.inf,
                                                           2, -2, "nuc")])
def test_norm_of_a_complex_array(a, ord):
    # d|x_i| = Re(conj(x_i) dx_i) / |x_i|: without the conjugate, a tangent that only
    # turns x's phase (1j * x, norm unchanged) had a non-zero derivative
    def f(v):
        return np.linalg.norm(v, ord)

    t = np.cos(np.arange(a.size)).reshape(a.shape) + 1j * np.sin(np.arange(a.size) + 1.0).reshape(a.shape)
    _, tangent = s2s.jvp(f, (a,), (t,))
    assert np.isrealobj(tangent)
    np.testing.assert_allclose(tangent, (f(a + 1e-6 * t) - f(a - 1e-6 * t)) / 2e-6, rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(s2s.jvp(f, (a,), (1j * a,))[1], 0.0, atol=1e-12)


# -- Hermitian eigenproblems, cond's orders, second derivatives of the 2-norms ---------

_B, _C = _complex(3, 3), _complex(3, 3)
_WELL = np.array([[2.0, 0.3, -0.4], [0.5, -1.0, 0.2], [0.1, 0.7, 3.5]])  # distinct eigenvalues
_HERMITIAN, _DIRECTION = _B + _B.conj().T, _C + _C.conj().T


def _eigh_pair(a):
    return tuple(np.linalg.eigh(a))


def _eigvalsh(a):
    return np.linalg.eigvalsh(a)


@pytest.mark.parametrize("a, d", [
    (_HERMITIAN, _DIRECTION),
    # eigh reads the lower triangle (the upper one, and the imaginary part of the
    # diagonal, are not read): so does the derivative
    (np.tril(_HERMITIAN) + np.triu(_complex(3, 3), 1) + 0.5j * np.eye(3), _complex(3, 3)),
    (np.stack([_HERMITIAN, _HERMITIAN.conj()]), np.stack([_DIRECTION, _complex(3, 3)])),
], ids=["hermitian", "lower-triangle", "stack"])
def test_eigh_of_a_complex_hermitian_matrix(a, d):
    # dw = Re diag(V^H dA V) (the transposes lacked their conjugates); the vectors'
    # phases are NumPy's (LAPACK's: the first row of V real), so they compare with
    # differences of np.linalg.eigh as they are
    _, values = s2s.jvp(_eigvalsh, (a,), (d,))
    assert np.isrealobj(values)
    np.testing.assert_allclose(values, _fd(_eigvalsh, a, d), rtol=1e-6, atol=1e-8)
    _, (dw, dv) = s2s.jvp(_eigh_pair, (a,), (d,))
    expected = _fd(_eigh_pair, a, d)
    np.testing.assert_allclose(dw, expected[0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dv, expected[1], rtol=1e-6, atol=1e-7)
    _, (dw, dv) = s2s.jvp(_eigh_pair, (a.astype(np.complex64),), (d.astype(np.complex64),))
    assert dw.dtype == np.float32 and dv.dtype == np.complex64


def test_eigh_of_a_complex_hermitian_matrix_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    a, d = jnp.asarray(_HERMITIAN), jnp.asarray(_DIRECTION)
    np.testing.assert_allclose(s2s.jvp(_eigvalsh, (_HERMITIAN,), (_DIRECTION,))[1],
                               np.asarray(jax.jvp(jnp.linalg.eigvalsh, (a,), (d,))[1]), rtol=1e-10)
    # JAX's vectors have another phase: compare what does not depend on it, V diag(w) V^H
    (w, v), (dw, dv) = jax.jvp(lambda x: tuple(jnp.linalg.eigh(x)), (a,), (d,))
    _, (our_dw, our_dv) = s2s.jvp(_eigh_pair, (_HERMITIAN,), (_DIRECTION,))
    ours_v = np.linalg.eigh(_HERMITIAN)[1]

    def outer_dot(v, dv):  # d(v v^H) of each vector
        return dv[:, None, :] * v.conj()[None] + v[:, None, :] * dv.conj()[None]

    np.testing.assert_allclose(our_dw, np.asarray(dw), rtol=1e-10)
    np.testing.assert_allclose(outer_dot(ours_v, our_dv), outer_dot(np.asarray(v), np.asarray(dv)),
                               atol=1e-9)


def test_second_derivative_of_complex_eigenvalues_keeps_float32():
    # eig's template built its identity in float64, which hessian's tangents then took
    def f(x):
        return np.sum(np.abs(np.real(np.linalg.eigvals(x))) ** 2)

    x = _WELL.astype(np.float32)
    assert s2s.hessian(f)(x).dtype == np.float32
    vectors, tangent = s2s.jvp(lambda a: np.linalg.eig(a)[1], (x,), (x,))
    assert tangent.dtype == vectors.dtype  # float32, or complex64 (NumPy 2.5's eig is complex)
    np.testing.assert_allclose(s2s.hessian(f)(_WELL), _fd_jacobian(s2s.jacfwd(f), _WELL, 1e-5),
                               rtol=1e-5, atol=1e-6)


def _cond_inf(x):
    return np.linalg.cond(x, np.inf)


def _cond_minus_inf(x):
    return np.linalg.cond(x, -np.inf)


def _cond_math_inf(x):
    return np.linalg.cond(x, p=-math.inf)


def _cond_local(x):
    p = -np.inf
    return np.linalg.cond(x, p)


@pytest.mark.parametrize("f", [_cond_inf, _cond_minus_inf, _cond_math_inf, _cond_local])
def test_cond_reads_inf_from_the_module(f):
    # np.inf is known when the code is transformed, as a literal is
    d = RNG.normal(size=(3, 3))
    _, t = s2s.jvp(f, (_WELL,), (d,))
    np.testing.assert_allclose(t, _fd(f, _WELL, d), rtol=1e-6)


def _vector_two_norm(x):
    return np.linalg.vector_norm(x) + np.sum(np.linalg.vector_norm(x, axis=0, keepdims=True))


def _frobenius(x):
    return np.linalg.matrix_norm(x) * np.linalg.norm(x) + np.sum(np.linalg.norm(x, axis=1))


def _spectral(x):
    return np.linalg.matrix_norm(x, ord=2) + np.linalg.matrix_norm(x, ord=-2) \
        + np.linalg.matrix_norm(x, ord="nuc", keepdims=True)[0, 0]


@pytest.mark.parametrize("f", [_vector_two_norm, _frobenius, _spectral])
def test_hessian_of_two_norms(f):
    # their tangents were runtime helpers with no second-order rule: now templates
    hess = s2s.hessian(f)(_WELL)
    np.testing.assert_allclose(hess, _fd_jacobian(s2s.jacfwd(f), _WELL, 1e-5), rtol=1e-5,
                               atol=1e-6)
    assert s2s.hessian(f)(_WELL.astype(np.float32)).dtype == np.float32


def test_hessian_of_two_norms_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def theirs(x):
        return jnp.linalg.vector_norm(x) + jnp.linalg.matrix_norm(x, ord=2) \
            + jnp.linalg.matrix_norm(x, ord="nuc")

    def ours(x):
        return np.linalg.vector_norm(x) + np.linalg.matrix_norm(x, ord=2) \
            + np.linalg.matrix_norm(x, ord="nuc")

    np.testing.assert_allclose(s2s.hessian(ours)(_WELL),
                               np.asarray(jax.hessian(theirs)(jnp.asarray(_WELL))), rtol=1e-8,
                               atol=1e-10)
