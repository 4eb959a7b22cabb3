"""Backends: the same generated code runs on NumPy, Dask and CuPy arrays.

The end-to-end function set (tests/e2e_functions.py, the cases of
tests/test_e2e.py) goes through jvp, jacfwd, vmap and hessian on NumPy and on
Dask arrays in several chunks: the Dask results equal the NumPy ones to 1e-12
and are still Dask arrays when the call returns. A counting scheduler shows
that nothing was computed during the call except the scalars that Python
control flow on array values needs. Dask runs in CI: it is the proof, on a
machine without a GPU, that generated code is backend-neutral. The same set
runs on CuPy under the marker ``gpu`` (skipped without CuPy or a device;
``python tools/gpu_check.py`` runs it and times it), and everywhere on
tests/fake_cupy.py, a CPU stand-in for CuPy as strict as CuPy about NumPy
arrays, so that CI runs s2s's CuPy code paths too. Cases a backend cannot
run are listed with the reason, and tested for a clear error instead.
"""

import math
import subprocess
import sys
import textwrap

import dask
import dask.array as da
import e2e_functions as ef
import fake_cupy
import numpy as np
import pytest
from helpers import assert_tree_close, make_function, random_like
from test_compositions import _NO_SECOND_ORDER
from test_e2e import CASES

import s2s
from s2s import backend, pytree

TRANSFORMS = ("jvp", "jacfwd", "vmap", "hessian")
_B = 3  # the vmap batch size

# Cases whose `if`/`while` tests read array values: on Dask each such test
# computes one scalar (documented); every other case computes nothing.
CONTROL_FLOW = {
    "break_continue", "chained_compare_inside", "chained_compare_outside",
    "conditional_expression", "conditional_expression_else", "early_return_fallthrough",
    "early_return_in_loop", "fixed_point_while_true_break", "list_comprehension_filter",
    "newton_sqrt_while", "piecewise_elif", "piecewise_else", "piecewise_if",
    "power_iteration_break", "try_except_finally", "try_no_exception",
}

# Cases Dask cannot run, and the clear error each gives instead (a text the
# message must contain besides the backend and the user's line).
DASK_REFUSES = {
    # logp[np.arange(n), LABELS]: two index arrays at once
    "cross_entropy": "fancy indexing",
    # np.linalg.solve needs SciPy under Dask, and Dask has no slogdet
    "gaussian_logpdf": ("scipy", "slogdet"),
}

# `v = z[1:]; v *= ...` writes through a NumPy view; a Dask slice is a copy,
# so on Dask the function itself returns z unchanged (see the test below).
DASK_SEMANTICS = {"view_update"}

# Iterations to convergence, each testing a scalar whose task graph holds every
# earlier iteration: the function alone takes seconds on Dask (quadratic in
# the iterations). Their jvp is checked on Dask once, in a test of its own.
DASK_SLOW = {"power_iteration_break", "fixed_point_while_true_break"}

# Hessians whose batched code (in the callees too) runs primitives once per
# direction (_s2s.map_batched): on Dask a task graph per direction and call,
# 55,000 tasks for rk4_step, 100,000 for rnn (whose three such calls sit in a
# loop); right, but 4 to over 20 s each here, too slow for the suite. Their jvp,
# jacfwd and vmap run on Dask below, and their Hessians on NumPy and CuPy.
DASK_SLOW_HESSIANS = {"attention", "logistic_loss_tuple_params", "mlp_dict_params",
                      "rk4_integrate", "rk4_step", "rnn"}


def _has_arrays(primals):
    return any(np.ndim(v) > 0 for v in pytree.flatten(primals)[0])


def _dask_cases(transform):
    cases = []
    for name in sorted(CASES):
        if not _has_arrays(CASES[name][1]) or name in set(DASK_REFUSES) | DASK_SEMANTICS | DASK_SLOW:
            continue
        if transform == "hessian" and name in _NO_SECOND_ORDER | DASK_SLOW_HESSIANS:
            continue
        cases.append(name)
    return cases


# -- the inputs of one case, on a backend ----------------------------------------------------


def _inputs(name):
    """NumPy primals, tangents and a batch (for vmap) of the case ``name``."""
    fn, primals, _ = CASES[name]
    rng = np.random.default_rng(sorted(CASES).index(name))
    tangents = tuple(random_like(p, rng) for p in primals)
    flat, treedef = pytree.flatten(primals)
    batch = pytree.unflatten(treedef, [np.stack([np.asarray(v, dtype=float)
                                                 + 0.02 * rng.normal(size=np.shape(v))
                                                 for _ in range(_B)]) for v in flat])
    return fn, primals, tangents, batch


def _run(transform, fn, primals, tangents, batch):
    if transform == "jvp":
        return s2s.jvp(fn, primals, tangents)
    argnums = tuple(range(len(primals)))
    if transform == "jacfwd":
        return s2s.jacfwd(fn, argnums=argnums)(*primals)
    if transform == "hessian":
        return s2s.hessian(fn, argnums=argnums)(*primals)
    return s2s.vmap(fn)(*batch)


def _to_dask(tree):
    """Every array leaf as a Dask array of two chunks along its first axis."""
    def leaf(v):
        if np.ndim(v) == 0:
            return v
        return da.from_array(v, chunks=(math.ceil(v.shape[0] / 2),) + v.shape[1:])

    flat, treedef = pytree.flatten(tree)
    return pytree.unflatten(treedef, [leaf(v) for v in flat])


class _CountingScheduler:
    """Dask's synchronous scheduler, recording the size of every result."""

    def __init__(self):
        self.sizes = []

    def __call__(self, dsk, keys, **kwargs):
        result = dask.get(dsk, keys, **kwargs)
        self.sizes.extend(int(np.size(r)) for r in pytree.flatten(result)[0])
        return result


def _computed(tree):
    flat, treedef = pytree.flatten(tree)
    return pytree.unflatten(treedef, [np.asarray(v) for v in dask.compute(*flat)])


# -- the namespace ------------------------------------------------------------------------


class _FakeCupyArray:
    """Stands for a cupy.ndarray where CuPy is not installed: s2s reads an
    array's library from the module of its type, before importing anything."""

    dtype = np.dtype(float)
    shape = (3,)
    ndim = 1


_FakeCupyArray.__module__ = "cupy._core.core"


def test_namespace_rules():
    x = np.ones(3)
    d = da.ones(3, chunks=2)
    assert backend.namespace_of(x, 1.0, np.float64(2.0), None) is np
    assert backend.namespace_of() is np
    space = backend.namespace_of(d)
    assert isinstance(space, backend.Namespace) and space.library == "dask.array"
    assert backend.namespace_of(x, d, 2.0) is space  # NumPy mixed with Dask follows Dask
    assert backend.namespace_of({"a": [x, (2.0, d)]}) is space  # pytrees are looked into
    assert backend.kind_of(_FakeCupyArray()) == "cupy"
    with pytest.raises(s2s.BackendError, match="mix CuPy and Dask"):
        backend.namespace_of(_FakeCupyArray(), d)


def test_dask_namespace_has_dask_functions_numpy_dtypes_and_refuses_the_rest():
    space = backend.namespace("dask")
    assert space.sin is da.sin and space.linalg.qr is da.linalg.qr
    assert space.float64 is np.float64 and space.pi == np.pi and space.errstate is np.errstate
    assert space.ndarray is da.Array
    assert space.reshape(da.ones((2, 3), chunks=1), -1).shape == (6,)  # int shape, as NumPy
    assert not hasattr(space.linalg, "slogdet")  # an AttributeError, so hasattr works
    with pytest.raises(s2s.BackendError, match=r"dask.array.linalg has no slogdet"):
        _ = space.linalg.slogdet


def test_importing_s2s_imports_neither_cupy_nor_dask(tmp_path):
    script = tmp_path / "uses_numpy.py"
    script.write_text(textwrap.dedent("""
        import sys

        import numpy as np

        import s2s


        def f(x):
            return np.sin(x) * x


        s2s.jvp(f, (np.ones(3),), (np.ones(3),))
        s2s.hessian(f)(np.ones(2))
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("cupy", "dask")))
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_generated_code_binds_the_namespace_per_call():
    def f(x, w):
        return np.sum(np.sin(x) * w) + np.zeros(3)

    text = s2s.source(f)
    assert text.splitlines()[2].strip() == "xp = _s2s.namespace_of(x, w, x_dot, w_dot)"
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert not any("np." in line or "numpy" in line for line in code), text
    assert any("xp.zeros(3)" in line for line in code), text
    x, w = np.linspace(0.1, 0.3, 3), np.array([1.0, -2.0, 0.5])
    out, out_dot = s2s.jvp(f, (x, w), (np.ones(3), np.zeros(3)))
    assert type(out) is np.ndarray and type(out_dot) is np.ndarray
    lazy, lazy_dot = s2s.jvp(f, (_to_dask(x), w), (_to_dask(np.ones(3)), np.zeros(3)))
    assert isinstance(lazy, da.Array) and isinstance(lazy_dot, da.Array)  # np.zeros too
    np.testing.assert_allclose(lazy_dot.compute(), out_dot, rtol=1e-14)


def test_a_function_of_python_numbers_stays_on_numpy():
    out, out_dot = s2s.jvp(lambda t: np.ones(3) * t, (0.5,), (1.0,))
    assert type(out) is np.ndarray and type(out_dot) is np.ndarray


# -- the end-to-end set on Dask ------------------------------------------------------------


# with_errstate: np.errstate applies while the graph is built, so Dask's compute warns
@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
@pytest.mark.parametrize("transform,name", [(t, n) for t in TRANSFORMS
                                            for n in _dask_cases(t)])
def test_dask_e2e_equals_numpy_and_stays_lazy(transform, name):
    fn, primals, tangents, batch = _inputs(name)
    expected = _run(transform, fn, primals, tangents, batch)
    scheduler = _CountingScheduler()
    with dask.config.set(scheduler=scheduler):
        result = _run(transform, fn, _to_dask(primals), _to_dask(tangents), _to_dask(batch))
    leaves = pytree.flatten(result)[0]
    assert not any(isinstance(v, (np.ndarray, np.generic)) for v in leaves), (
        "a NumPy result: something was computed or built on the host")
    assert any(isinstance(v, da.Array) for v in leaves)
    if name in CONTROL_FLOW:
        assert all(size == 1 for size in scheduler.sizes), scheduler.sizes
    else:
        assert scheduler.sizes == [], "computed during the call"
    assert_tree_close(_computed(result), expected, rtol=1e-12, atol=1e-12, what=name)


def test_dask_jvp_of_an_iteration_to_convergence():
    fn, primals, tangents, _ = _inputs("fixed_point_while_true_break")
    expected = s2s.jvp(fn, primals, tangents)
    scheduler = _CountingScheduler()
    with dask.config.set(scheduler=scheduler):
        result = s2s.jvp(fn, _to_dask(primals), _to_dask(tangents))
    assert scheduler.sizes and all(size == 1 for size in scheduler.sizes)
    assert all(isinstance(v, da.Array) for v in result)
    assert_tree_close(_computed(result), expected, rtol=1e-12, atol=1e-12)


def clipped_scale(x):
    if float(np.max(x)) > 1.0:  # a Python float of a lazy value: Dask computes it
        return x / float(np.max(x))
    return x * 2.0


def test_dask_float_of_a_lazy_value_computes_that_scalar_only():
    x, t = np.array([0.5, 3.0, -1.0, 2.0]), np.array([1.0, -1.0, 0.5, 2.0])
    expected = s2s.jvp(clipped_scale, (x,), (t,))
    scheduler = _CountingScheduler()
    with dask.config.set(scheduler=scheduler):
        out, out_dot = s2s.jvp(clipped_scale, (_to_dask(x),), (_to_dask(t),))
    # the test's float(), then float() of the divisor and of its tangent: a
    # Python number's tangent is a Python number too; nothing else
    assert scheduler.sizes == [1, 1, 1]
    assert isinstance(out, da.Array) and isinstance(out_dot, da.Array)
    assert_tree_close(_computed((out, out_dot)), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("transform,name", [(t, n) for t in TRANSFORMS
                                            for n in sorted(DASK_REFUSES)])
def test_dask_refuses_clearly(transform, name):
    fn, primals, tangents, batch = _inputs(name)
    with pytest.raises(s2s.BackendError) as info:
        _run(transform, fn, _to_dask(primals), _to_dask(tangents), _to_dask(batch))
    message = str(info.value)
    assert "dask.array" in message and "e2e_functions.py:" in message, message
    assert info.value.line and info.value.line in message
    wanted = DASK_REFUSES[name]
    wanted = (wanted,) if isinstance(wanted, str) else wanted
    assert any(w in message for w in wanted), message
    assert "what to do:" in message


def test_dask_view_writes_follow_dask():
    """On Dask, ``v = z[1:]`` is a copy, so ``v *= ...`` leaves z as it was:
    s2s differentiates what the function computes on Dask."""
    x, t = np.array([0.3, -1.0, 2.0, 0.5]), np.array([1.0, 0.5, -0.5, 2.0])
    own = ef.view_update(_to_dask(x)).compute()
    np.testing.assert_array_equal(own, x)  # the function itself, on Dask
    out, out_dot = s2s.jvp(ef.view_update, (_to_dask(x),), (_to_dask(t),))
    np.testing.assert_array_equal(out.compute(), own)
    np.testing.assert_array_equal(out_dot.compute(), t)


# -- errors -------------------------------------------------------------------------------


def test_mixed_cupy_and_dask_inputs_are_an_error():
    def f(x, w):
        return np.sin(x) * w

    with pytest.raises(s2s.BackendError) as info:
        s2s.jvp(f, (_FakeCupyArray(), da.ones(3, chunks=2)),
                (_FakeCupyArray(), da.ones(3, chunks=2)))
    message = str(info.value)
    assert "mix CuPy and Dask" in message
    assert "x: cupy" in message and "w: dask.array" in message
    assert "test_backends.py" in message and "def f(x, w):" in message


def test_a_numpy_function_dask_lacks_names_the_backend_call_and_line():
    f = make_function("def logdet(a):\n    sign, ld = np.linalg.slogdet(a)\n    return ld\n")
    a = _to_dask(np.eye(3) * 2.0 + 0.1)
    with pytest.raises(s2s.BackendError) as info:
        s2s.jvp(f, (a,), (a,))
    message = str(info.value)
    assert "dask.array.linalg has no slogdet (NumPy's numpy.linalg.slogdet)" in message
    assert ":2: " in message and "sign, ld = np.linalg.slogdet(a)" in message
    assert "xp.linalg.slogdet" in message  # the generated call
    assert "what to do:" in message


def test_a_keyword_dask_does_not_take_names_the_backend_and_line():
    f = make_function("def f(x):\n    y = np.reshape(x, (3, 2), order='F')\n    return y\n")
    x = _to_dask(np.arange(6.0))
    expected = f(np.arange(6.0))
    assert expected.shape == (3, 2)
    with pytest.raises(s2s.BackendError) as info:
        s2s.jvp(f, (x,), (x,))
    message = str(info.value)
    assert "dask.array could not run the generated line" in message
    assert "unexpected keyword argument 'order'" in message
    assert ":2: " in message and "np.reshape(x, (3, 2), order='F')" in message


def test_an_assignment_dask_refuses_names_the_backend_and_line():
    f = make_function(
        "def f(x):\n    y = np.zeros((3, 3))\n    y[np.arange(3), np.arange(3)] = x\n"
        "    return y\n")
    x = _to_dask(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(s2s.BackendError) as info:
        s2s.jacfwd(f)(x)
    message = str(info.value)
    assert "dask.array could not run" in message and ":3: " in message
    assert "y[np.arange(3), np.arange(3)] = x" in message


# -- the end-to-end set on CuPy (marker gpu), and on a simulated device ---------------------
# The same tests run on real CuPy where there is a device (marker gpu, skipped
# elsewhere) and on tests/fake_cupy.py everywhere: a CPU stand-in as strict as
# CuPy about host arrays, so CI runs s2s's CuPy code paths too.


@pytest.fixture(params=[pytest.param("cupy", marks=pytest.mark.gpu), "simulated"])
def cupy(request, monkeypatch):
    if request.param == "simulated":
        return fake_cupy.install(monkeypatch)
    cp = pytest.importorskip("cupy", reason="CuPy is not installed")
    if not cp.is_available():
        pytest.skip("CuPy is installed but finds no CUDA device (cupy.is_available() is False)")
    return cp


# Cases that read a NumPy array of their own (host data): the device refuses it,
# with a clear error (test_device_refuses_host_data_clearly).
DEVICE_REFUSES = {"closure_quadratic_form"}  # A @ x with A a NumPy array in its closure


def _cupy_cases(transform):
    return [n for n in sorted(CASES) if _has_arrays(CASES[n][1]) and n not in DEVICE_REFUSES
            and not (transform == "hessian" and n in _NO_SECOND_ORDER)]


def _to_device(cupy, tree):
    flat, treedef = pytree.flatten(tree)
    return pytree.unflatten(treedef, [cupy.asarray(v) if np.ndim(v) else v for v in flat])


@pytest.mark.parametrize("transform,name", [(t, n) for t in TRANSFORMS
                                            for n in _cupy_cases(t)])
def test_cupy_e2e_equals_numpy_and_stays_on_the_device(cupy, transform, name):
    fn, primals, tangents, batch = _inputs(name)
    expected = _run(transform, fn, primals, tangents, batch)
    result = _run(transform, fn, *(_to_device(cupy, t) for t in (primals, tangents, batch)))
    leaves = pytree.flatten(result)[0]
    assert not any(type(v) is np.ndarray or isinstance(v, np.generic) for v in leaves), (
        "a NumPy result: an array crossed to the host")
    host = pytree.unflatten(pytree.flatten(result)[1],
                            [cupy.asnumpy(v) if isinstance(v, cupy.ndarray) else v
                             for v in leaves])
    assert_tree_close(host, expected, rtol=1e-12, atol=1e-12, what=name)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_device_refuses_host_data_clearly(cupy, transform):
    fn, primals, tangents, batch = _inputs("closure_quadratic_form")
    with pytest.raises(s2s.BackendError) as info:
        _run(transform, fn, *(_to_device(cupy, t) for t in (primals, tangents, batch)))
    message = str(info.value)
    assert "cupy could not run the generated line" in message
    assert "Unsupported type" in message and "cupy.asarray" in message
    assert "e2e_functions.py:" in message and "return x @ A @ x" in message


def scaled_sine(a, b):
    return np.sin(a) * b + np.zeros(3)


def test_cupy_with_numpy_scalars_follows_cupy(cupy):
    x = cupy.asarray(np.array([0.3, -1.0, 2.0]))
    out, out_dot = s2s.jvp(scaled_sine, (x, np.float64(2.0)), (cupy.ones(3), 0.5))
    assert isinstance(out, cupy.ndarray) and isinstance(out_dot, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(out_dot),
                               np.cos([0.3, -1.0, 2.0]) * 2.0 + np.sin([0.3, -1.0, 2.0]) * 0.5)
    jac = s2s.jacfwd(scaled_sine, argnums=(0, 1))(x, 2.0)  # the basis of b: on the device too
    assert all(isinstance(j, cupy.ndarray) for j in jac)


def float_or_zero(x):
    if np.sum(x) > 0:  # a test on batched values: vmap loops over the batch
        return float(np.max(x))
    return 0.0


def test_a_loop_over_the_batch_stacks_python_numbers_on_the_device(cupy):
    xs = cupy.asarray(np.array([[1.0, 2.0], [-3.0, 1.0], [0.5, 0.25]]))
    out = s2s.vmap(float_or_zero)(xs)
    assert isinstance(out, cupy.ndarray)
    np.testing.assert_array_equal(cupy.asnumpy(out), [2.0, 0.0, 0.5])


def test_simulated_device_refuses_host_arrays(monkeypatch):
    """The stand-in is as strict as CuPy: were s2s to mix a NumPy array into
    device work, the tests above would fail."""
    cp = fake_cupy.install(monkeypatch)
    x = cp.asarray(np.ones(3))
    with pytest.raises(TypeError, match="NumPy array given to the device"):
        x + np.ones(3)
    with pytest.raises(TypeError, match="NumPy array given to the device"):
        cp.stack([x, np.ones(3)])
    assert isinstance(x.sum(), cp.ndarray) and isinstance(np.sum(x), cp.ndarray)


def _zero_the_masked(x, m):
    y = x * 1.0
    y[m] = 0.0
    return y * x


def test_dask_vmap_store_at_a_per_example_mask():
    # setitem_batched wrote into target[b], which on Dask is a new array: the
    # store was lost (the masked entries kept their values)
    xs = np.arange(1.0, 7.0).reshape(2, 3)
    masks = np.array([[True, False, False], [False, False, True]])
    expected = np.stack([_zero_the_masked(x, m) for x, m in zip(xs, masks)])
    got = s2s.vmap(_zero_the_masked)(da.from_array(xs, chunks=1), da.from_array(masks, chunks=1))
    np.testing.assert_array_equal(got.compute(), expected)
