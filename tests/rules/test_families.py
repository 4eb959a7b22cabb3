"""End to end, one small realistic function per family of rules (statistics
and signals, NaN-ignoring reductions, shape and assembly, Fourier
transforms, polynomials): jvp and jacfwd against central differences, vmap
against a loop over examples, hessian against differences of jacfwd; and
the calls those rules refuse, with the error that says so."""

import functools

import numpy as np
import pytest
from helpers import central_difference, make_function

import s2s
from s2s.errors import NoRuleError


def _check(f, x, batch=5, seed=0, rtol=1e-6):
    """jvp, jacfwd, vmap and hessian of the scalar function ``f`` at ``x``."""
    rng = np.random.default_rng(seed)
    t = rng.normal(size=x.shape)
    out, tangent = s2s.jvp(f, (x,), (t,))
    np.testing.assert_allclose(out, f(x), rtol=1e-12)
    np.testing.assert_allclose(tangent, central_difference(f, (x,), (t,)), rtol=rtol, atol=1e-7)
    jac = s2s.jacfwd(f)(x)
    columns = [central_difference(f, (x,), (e.reshape(x.shape),)) for e in np.eye(x.size)]
    np.testing.assert_allclose(jac, np.reshape(columns, x.shape), rtol=rtol, atol=1e-7)
    xs = x + 0.05 * rng.normal(size=(batch,) + x.shape)
    np.testing.assert_allclose(s2s.vmap(f)(xs), [f(v) for v in xs], rtol=1e-10, atol=1e-12)
    hess = s2s.hessian(f)(x)
    g = s2s.jacfwd(f)
    h = 1e-5
    fd = [(g(x + h * e.reshape(x.shape)) - g(x - h * e.reshape(x.shape))) / (2 * h)
          for e in np.eye(x.size)]
    np.testing.assert_allclose(hess, np.moveaxis(np.reshape(fd, x.shape * 2), range(x.ndim),
                                                 range(x.ndim, 2 * x.ndim)),
                               rtol=1e-5, atol=1e-6)


def _refused(src, x, words, namespace=None):
    f = make_function(src, namespace)
    with pytest.raises(NoRuleError, match=words):
        s2s.jvp(f, (x,), (np.ones_like(x),))


# -- statistics and signals ------------------------------------------------------------


def smoothed_correlation(x):
    """A signal smoothed by a kernel it shapes, its trend, and how its
    channels co-vary."""
    kernel = np.array([0.25, 0.5, 0.25]) * (1 + 0.1 * x[0, :3])
    smooth = np.convolve(x[0], kernel, "same") + np.correlate(x[1], kernel, "same")
    slope = np.gradient(smooth, 0.5, edge_order=2)
    steps = np.ediff1d(np.unwrap(3 * x[2]), to_begin=x[1, :1])
    c = np.cov(x, rowvar=True, ddof=1)
    r = np.corrcoef(x[0] * x[1], x[2])
    return np.sum(slope ** 2) + np.sum(steps * x[0]) + np.sum(c * c) + np.sum(r) \
        + np.sum(np.nan_to_num(x[0] / x[1] ** 0) * np.copysign(x[1], x[2]))


def test_statistics_and_signals_end_to_end():
    _check(smoothed_correlation, np.random.default_rng(1).normal(size=(3, 7)))


def test_tuples_of_modf_frexp_and_divmod():
    def f(x):
        frac, whole = np.modf(x * 3)
        mantissa, exponent = np.frexp(x * x + 1)
        q, r = np.divmod(x * 4, 1.5)
        return np.sum(frac * mantissa + r * r + np.ldexp(x, exponent) + whole)

    _check(f, np.array([0.3, 1.7, -2.2, 0.9]))


def test_cov_with_weights_against_finite_differences():
    x = np.random.default_rng(2).normal(size=(3, 5))
    w = np.array([0.5, 1.0, 2.0, 1.5, 1.0])
    f = make_function("def f(x):\n    return np.cov(x, aweights=W, fweights=F, ddof=2)\n",
                      {"W": w, "F": np.array([1, 2, 1, 3, 1])})
    t = np.ones_like(x)
    _, tangent = s2s.jvp(f, (x,), (t,))
    np.testing.assert_allclose(tangent, central_difference(f, (x,), (t,)), atol=1e-7)


def test_cov_refuses_weights_that_carry_a_derivative():
    _refused("def f(x):\n    return np.cov(X, aweights=x * x)\n", np.ones(5) + 1,
             "aweights= that carries a derivative", {"X": np.ones((2, 5))})


def test_gradient_refuses_a_spacing_that_carries_a_derivative():
    _refused("def f(x):\n    return np.gradient(Y, x)\n", np.arange(5.0), "varargs",
             {"Y": np.arange(5.0) ** 2})


# -- ignoring NaN ----------------------------------------------------------------------

_GAPS = np.array([[1.0, np.nan, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, np.nan, 1.0]])


def gappy_statistics(x):
    """Spread and running totals of readings with gaps (NaN)."""
    y = x * _GAPS
    spread = np.nanstd(y, axis=1, ddof=1) + np.nanvar(y, axis=0, keepdims=True).sum()
    total = np.nancumsum(y, axis=1)[:, -1]
    return np.sum(spread * total)


def test_nan_ignoring_reductions_end_to_end():
    _check(gappy_statistics, np.random.default_rng(3).normal(size=(2, 5)))


@pytest.mark.skipif(not hasattr(np, "cumulative_sum"), reason="NumPy 2.1's cumulative_sum")
def test_cumulative_sum_and_prod():
    def f(x):
        return np.sum(np.cumulative_sum(x * x, axis=0, include_initial=True)) \
            + np.sum(np.cumulative_prod(x, axis=1))

    x = np.random.default_rng(4).normal(size=(2, 3))
    t = np.ones_like(x)
    _, tangent = s2s.jvp(f, (x,), (t,))
    np.testing.assert_allclose(tangent, central_difference(f, (x,), (t,)), rtol=1e-6)
    xs = x + np.random.default_rng(5).normal(size=(4, 2, 3))
    np.testing.assert_allclose(s2s.vmap(f)(xs), [f(v) for v in xs], rtol=1e-12)


# -- shape and assembly ----------------------------------------------------------------


def tiled_features(x):
    """Halves of a feature map restacked, rolled, broadcast and tiled."""
    left, right = np.hsplit(x, 2)
    top, bottom = np.vsplit(x * x, 2)
    cube = np.dstack([left, right * 2])
    rolled = np.rollaxis(cube, 2)
    a, b = np.broadcast_arrays(x[0], top.T)
    grid = np.diagflat(a[0, :2] + b[1, 2:]) + np.resize(bottom, (2, 2))
    return np.sum(rolled ** 2) + np.sum(grid * np.unstack(cube, axis=0)[0].sum())


def test_shape_and_assembly_end_to_end():
    _check(tiled_features, np.random.default_rng(6).normal(size=(2, 4)))


# -- Fourier transforms ----------------------------------------------------------------


def spectral_energy(x):
    """Energy of a 2-d field low-passed in the Fourier domain."""
    spectrum = np.fft.fftshift(np.fft.rfftn(x * x), axes=0)
    kept = np.fft.ifftshift(spectrum * np.array([[0.5], [1.0], [0.5]]), axes=0)
    smooth = np.fft.irfft2(kept, s=x.shape)
    field = np.fft.ifftn(np.fft.fftn(smooth))
    return np.sum(np.real(field) ** 2) + np.sum(np.fft.hfft(x[0]))


def test_fourier_transforms_end_to_end():
    _check(spectral_energy, np.random.default_rng(7).normal(size=(3, 4)))


# -- batching where an example's rank is known only at run time, of numbers and tuples -


def _doubled(x):
    """A user helper: its result's rank is not known when the caller is batched."""
    return x * 2.0


_WEIGHTS = np.arange(1.0, 13.0).reshape(3, 4)


def shifted_spectra(x):
    """The default axes=None of fftshift, ifftshift and the n-d transforms
    (all of an example's axes) of values whose rank is known only at run
    time: a helper's result, and one of np.fft.fft."""
    power = np.abs(np.fft.fft(x[0])) ** 2
    return np.sum(np.fft.fftshift(_doubled(x)) * _WEIGHTS) \
        + np.sum(np.fft.ifftshift(_doubled(x) ** 2) * _WEIGHTS) \
        + np.sum(np.fft.fftshift(power) * _WEIGHTS[0]) \
        + np.sum(np.abs(np.fft.fftn(_doubled(x))) ** 2 * _WEIGHTS) \
        + np.sum(np.real(np.fft.ifftn(_doubled(x) * x)) * _WEIGHTS) \
        + np.sum(np.abs(np.fft.rfftn(_doubled(x))) * _WEIGHTS[:, :3]) \
        + np.sum(np.fft.irfftn(_doubled(x)) * np.arange(18.0).reshape(3, 6))


def test_all_axes_fourier_transforms_of_a_value_of_unknown_rank():
    _check(shifted_spectra, np.random.default_rng(8).normal(size=(3, 4)))


def test_fftshift_of_a_helper_result_keeps_the_batch_axis():
    def f(x):
        return np.fft.fftshift(_doubled(x))

    def g(x):
        return np.fft.ifftshift(np.abs(np.fft.fft(x)) ** 2, axes=None)

    xs = np.arange(12.0).reshape(2, 6)
    for fn in (f, g):
        np.testing.assert_allclose(s2s.vmap(fn)(xs), [fn(v) for v in xs], atol=1e-12)
    jac = s2s.jacfwd(g)(xs[1])
    columns = [central_difference(g, (xs[1],), (e,)) for e in np.eye(6)]
    np.testing.assert_allclose(jac, np.transpose(columns), rtol=1e-6, atol=1e-5)


def test_fftshift_along_axes_known_only_at_run_time():
    def f(x):
        axes = tuple(range(x.ndim))
        return np.sum(np.fft.fftshift(x * x, axes) * _WEIGHTS)

    _check(f, np.random.default_rng(10).normal(size=(3, 4)))


def test_an_item_of_a_tuple_result_indexed_directly():
    def f(x):
        return np.sum(np.modf(3 * x)[0] * x + np.frexp(x * x + 1)[0]
                      + np.divmod(x * 4, 1.5)[1] ** 2 + divmod(x, 0.7)[1] * np.modf(x)[1])

    _check(f, np.array([[0.3, 1.7], [-2.2, 0.9]]))
    f2 = make_function("def f(x):\n    return np.modf(3 * x)[0]\n", {"np": np})
    xs = np.linspace(0.1, 2.0, 12).reshape(3, 4)
    np.testing.assert_allclose(s2s.vmap(f2)(xs), [f2(v) for v in xs])


def numbers_in_broadcasts(x):
    """Python numbers among the operands of broadcast_arrays, with a
    parameter and with a helper's result (rank known at run time)."""
    a, b = np.broadcast_arrays(x, 2.0)
    c = np.broadcast_arrays(1.5, _doubled(x)[:, None], np.ones((5, 1)))[1] ** 2
    return np.sum(a * b * _WEIGHTS) + np.sum(c)


def numbers_in_convolutions(x):
    """A Python number as a sequence of convolve (a sequence of one), and a
    number that differs per example."""
    smooth = np.convolve(x[0], 2.0) + np.convolve(0.5, _doubled(x)[1])
    scaled = np.convolve(x[2], x[1, 0] ** 2) * np.convolve(_doubled(x)[0], x[0, 1] * 3.0)
    return np.sum(smooth * scaled * x[1])


@pytest.mark.parametrize("f", [numbers_in_broadcasts, numbers_in_convolutions])
def test_python_numbers_among_batched_operands(f):
    _check(f, np.random.default_rng(9).normal(size=(3, 4)))


# -- complex inputs and float32 tangents -------------------------------------------------

_Z = np.array([0.3 + 1.2j, -0.8 + 0.1j, 1.5 - 0.4j, 0.2 - 0.9j, -1.1 + 0.6j])
_DZ = np.array([0.5 - 0.3j, 1.0 + 0.2j, -0.4 + 0.9j, 0.7 + 0.0j, -0.2 - 1.1j])


@pytest.mark.parametrize("src", [
    "np.var(x)", "np.std(x)", "np.var(x, ddof=1)", "np.nanvar(x)", "np.nanstd(x, ddof=1)",
    "np.nanvar(np.where(np.arange(5) == 2, np.nan, x))", "np.std(np.stack([x, 2 * x]), axis=1)"])
def test_moments_of_complex_input_are_real(src):
    # var = mean |x - mean|^2: d var = 2 Re(sum(conj(x - mean) dx)) / (n - ddof), a real
    # number; it was the complex sum(x - mean) dx, whose real part is not that either
    f = make_function(f"def f(x):\n    return {src}\n", {"np": np})
    _, t = s2s.jvp(f, (_Z,), (_DZ,))
    assert np.isrealobj(t)
    np.testing.assert_allclose(t, central_difference(f, (_Z,), (_DZ,)), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(s2s.jvp(f, (_Z,), (1j * _Z,))[1], 0.0, atol=1e-12)  # |x - m| kept
    _, t64 = s2s.jvp(f, (_Z.astype(np.complex64),), (_DZ.astype(np.complex64),))
    assert t64.dtype == np.float32


def test_moments_of_complex_input_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    for ours, theirs in ((np.var, jnp.var), (np.std, jnp.std)):
        f = make_function("def f(x):\n    return reduce(x, ddof=1)\n", {"reduce": ours})
        expected = jax.jvp(functools.partial(theirs, ddof=1), (jnp.asarray(_Z),),
                           (jnp.asarray(_DZ),))[1]
        np.testing.assert_allclose(s2s.jvp(f, (_Z,), (_DZ,))[1], np.asarray(expected), rtol=1e-10)


def test_nan_to_num_of_complex_input_replaces_each_part():
    # NumPy replaces the real and the imaginary parts on their own: the tangent
    # of a part is 0 (or the fill's) where that part is not finite
    x = np.array([1 + 1j, np.nan + 1j, np.inf - 2j, complex(0.5, -np.inf), complex(np.nan, np.nan)])
    t = np.array([1 + 2j, 3 + 4j, 5 + 6j, 7 + 8j, 9 + 10j])

    def f(x):
        return np.nan_to_num(x)

    def filled(x, nan):
        return np.nan_to_num(x, nan=nan)

    out, tangent = s2s.jvp(f, (x,), (t,))
    np.testing.assert_array_equal(out, np.nan_to_num(x))
    np.testing.assert_array_equal(tangent, [1 + 2j, 4j, 6j, 7, 0])
    _, tangent = s2s.jvp(filled, (x, 2.0), (t, 1.0))
    np.testing.assert_array_equal(tangent, [1 + 2j, 1 + 4j, 6j, 7, 1 + 1j])
    xs = np.stack([x, x[::-1]])
    np.testing.assert_array_equal(s2s.vmap(filled, in_dims=(0, 0))(xs, np.array([2.0, 3.0])),
                                  [np.nan_to_num(xs[0], nan=2.0), np.nan_to_num(xs[1], nan=3.0)])
    assert s2s.jvp(f, (x.astype(np.complex64),), (t.astype(np.complex64),))[1].dtype == np.complex64


def test_nan_moments_keep_float32():
    # the count of values kept is an integer: dividing by it promoted to float64
    x = np.array([[1.0, np.nan, 2.0, 4.0], [0.5, 1.5, np.nan, 1.0]], dtype=np.float32)
    t = np.ones_like(x)
    for src in ("np.nanvar(x, axis=1, ddof=1)", "np.nanstd(x)", "np.nanvar(x, keepdims=True)"):
        f = make_function(f"def f(x):\n    return {src}\n", {"np": np})
        out, tangent = s2s.jvp(f, (x,), (t,))
        assert tangent.dtype == out.dtype == np.float32, src
        assert s2s.jacfwd(f)(x).dtype == np.float32, src
        expected = central_difference(f, (x.astype(float),), (t.astype(float),))
        np.testing.assert_allclose(tangent, expected, rtol=1e-4, atol=1e-5)
