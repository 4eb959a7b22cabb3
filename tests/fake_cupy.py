"""A stand-in for CuPy on the CPU, as strict as CuPy about the host: it lets
the tests run s2s's CuPy code paths on a machine without a GPU.

What it keeps of CuPy (https://docs.cupy.dev/en/stable/user_guide/difference.html,
https://docs.cupy.dev/en/stable/reference/ndarray.html):

- arrays are a type of their own, from a module named ``cupy``;
- a NumPy array never mixes with them implicitly: operators, ufuncs and the
  module's functions raise ``TypeError`` on one (``cupy.asarray`` and
  ``cupy.array`` copy one over, explicitly; ``cupy.asnumpy`` copies back);
- reductions and scalar indexing give 0-d arrays, not NumPy scalars;
- NumPy's functions called on its arrays run its own (``__array_function__``).

It computes with NumPy underneath, so it says nothing of CuPy's speed or of
functions CuPy lacks; ``install()`` puts it in ``sys.modules`` as ``cupy``.
"""

import sys
import types

import numpy as np

__version__ = "0.0-simulated"
# Frames of this module count as CuPy's when s2s explains an error CuPy raised
# (s2s.backend.explain reads the module name of the frames it passes through).
__name__ = "cupy._simulated"  # noqa: A001


class ndarray(np.ndarray):
    """An array "on the device"."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(_device(x) for x in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(_device(o) for o in kwargs["out"])
        return _wrap(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types_, args, kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    def __getitem__(self, index):
        return _wrap(np.ndarray.__getitem__(self.view(np.ndarray), _index(index)))

    def __setitem__(self, index, value):
        np.ndarray.__setitem__(self.view(np.ndarray), _index(index), _unwrap(value))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def get(self):
        return np.array(self.view(np.ndarray))


ndarray.__module__ = "cupy._core.core"


def _device(x):
    """``x`` as the NumPy array underneath, refusing host arrays as CuPy does."""
    if isinstance(x, ndarray):
        return x.view(np.ndarray)
    if isinstance(x, np.ndarray):
        raise TypeError(f"Unsupported type {type(x)}: a NumPy array given to the device "
                        "(cupy.asarray(x) copies it over explicitly)")
    return x


def _index(index):
    """An index: device arrays and, as CuPy takes them, NumPy integer arrays."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, ndarray):
        return index.view(np.ndarray)
    return index


def _unwrap(tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(_unwrap(t) for t in tree) if not hasattr(tree, "_fields") else tree
    if isinstance(tree, dict):
        return {k: _unwrap(v) for k, v in tree.items()}
    return _device(tree)


def _wrap(result):
    if isinstance(result, ndarray):
        return result
    if isinstance(result, np.ndarray):
        return result.view(ndarray)
    if isinstance(result, np.generic) and not isinstance(result, (np.str_, np.bytes_)):
        return np.asarray(result).view(ndarray)
    if isinstance(result, tuple):
        items = [_wrap(r) for r in result]
        return type(result)(*items) if hasattr(result, "_fields") else tuple(items)
    if isinstance(result, list):
        return [_wrap(r) for r in result]
    return result


def _function(func):
    def on_device(*args, **kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    on_device.__name__ = getattr(func, "__name__", "function")
    return on_device


def _transfer(func):
    """asarray/array: host data is copied over (explicitly), device data kept."""
    def to_device(obj, *args, **kwargs):
        if isinstance(obj, np.ndarray) and not isinstance(obj, ndarray):
            return _wrap(np.array(func(obj, *args, **kwargs)))
        return _wrap(func(_unwrap(obj), *args, **kwargs))

    to_device.__name__ = func.__name__
    return to_device


def _module(name, source):
    module = types.ModuleType(name)
    for attr in dir(source):
        if attr.startswith("_"):
            continue
        value = getattr(source, attr)
        if isinstance(value, types.ModuleType):
            continue
        if isinstance(value, type) or not callable(value):
            setattr(module, attr, value)  # dtypes, constants (CuPy has NumPy's)
        else:
            setattr(module, attr, _function(value))
    return module


def _build():
    cupy = _module("cupy", np)
    cupy.__version__ = __version__
    cupy.ndarray = ndarray
    for name in ("asarray", "array", "asanyarray", "ascontiguousarray"):
        setattr(cupy, name, _transfer(getattr(np, name)))
    cupy.asnumpy = lambda a: np.array(_device(a)) if isinstance(a, ndarray) else np.asarray(a)
    cupy.is_available = lambda: True
    cupy.get_array_module = lambda *args: cupy
    for sub in ("linalg", "fft", "random"):
        setattr(cupy, sub, _module(f"cupy.{sub}", getattr(np, sub)))
    cuda = types.ModuleType("cupy.cuda")
    cuda.Device = lambda *args: types.SimpleNamespace(synchronize=lambda: None)
    cuda.runtime = types.SimpleNamespace(
        getDeviceProperties=lambda i: {"name": b"simulated device (NumPy on the CPU)"})
    cupy.cuda = cuda
    return cupy


def install(monkeypatch):
    """Make ``import cupy`` give this stand-in for the test (pytest's monkeypatch)."""
    from s2s import backend

    fake = _build()
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(backend, "_NAMESPACES", {})  # s2s's cached CuPy namespace: this one
    return fake
