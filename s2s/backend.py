"""The array namespace of a call: NumPy, CuPy or Dask, chosen from the inputs.

Generated code starts with ``xp = _s2s.namespace_of(x, w, x_dot, w_dot)``
(every parameter: which ones hold arrays is known only at the call) and
reaches every array function through ``xp``. The rules:

- NumPy arrays, NumPy scalars, Python numbers and anything else: ``numpy``;
- ``cupy.ndarray``: CuPy; ``dask.array.Array``: Dask;
- NumPy mixed with one other kind follows the other kind; CuPy mixed with
  Dask is an error (:class:`BackendError`) naming the parameters;
- lists, tuples and dicts are looked into (pytree parameters).

A value's kind is read from the module of its type, so importing s2s never
imports CuPy or Dask: only a value of theirs does.

For NumPy, ``xp`` is the ``numpy`` module itself. For CuPy and Dask it is a
:class:`Namespace`: the library's own functions (untouched), NumPy's dtypes,
constants and a few functions of dtypes and shapes where the library has no
copy of its own (they hold no array data), and for a NumPy function the
library lacks a :class:`BackendError` naming the library, the call and the
user's line. :func:`explain` does the same for an error a library raises
inside generated code (an unsupported keyword, an assignment Dask refuses).

>>> namespace_of(1.0, [numpy.ones(2), {"b": 2}]) is numpy
True
"""

import linecache
import sys
import traceback
import types

import numpy

from .errors import BackendError, S2SError

_HOST = {numpy.ndarray, numpy.float64, float, int, complex, bool, type(None), str}
_LIBRARIES = {"cupy": "cupy", "dask": "dask.array"}


def kind_of(value):
    """``"cupy"``, ``"dask"`` or None (NumPy or not an array) for one value."""
    module = type(value).__module__ or ""
    top = module.partition(".")[0]
    if top == "cupy":
        return "cupy"
    if top == "dask" and module.startswith("dask.array"):
        return "dask"
    return None


def _kinds(values, found):
    for value in values:
        if type(value) in _HOST:  # the common case, quickly
            continue
        if isinstance(value, (list, tuple)):
            _kinds(value, found)
        elif isinstance(value, dict):
            _kinds(value.values(), found)
        else:
            kind = kind_of(value)
            if kind is not None:
                found.add(kind)
    return found


def namespace_of(*values):
    """The array namespace for ``values`` (arrays, numbers, pytrees of them):
    ``numpy``, or the :class:`Namespace` of CuPy or Dask."""
    for value in values:  # the common case: all NumPy or numbers, no set built
        if type(value) not in _HOST:
            break
    else:
        return numpy
    found = _kinds(values, set())
    if not found:
        return numpy
    if len(found) > 1:
        raise _mixed_error(values)
    return namespace(found.pop())


def namespace_or(value, default):
    """The namespace of ``value``'s own array library, else ``default`` (the
    call's): a Python number turned into an array joins the library the call
    runs on, instead of making a NumPy array among CuPy or Dask ones."""
    space = namespace_of(value)
    return default if space is numpy and default is not None else space


_NAMESPACES = {}


def namespace(kind):
    """The namespace of ``"numpy"``, ``"cupy"`` or ``"dask"`` (imports the library)."""
    if kind in (None, "numpy"):
        return numpy
    space = _NAMESPACES.get(kind)
    if space is None:
        if kind == "cupy":
            import cupy as module
        elif kind == "dask":
            import dask.array as module
        else:
            raise ValueError(f"unknown array backend {kind!r}")
        space = _NAMESPACES[kind] = Namespace(module, _LIBRARIES[kind], numpy)
    return space


# NumPy functions of dtypes, shapes and Python values (no array data): right
# for any backend's arrays, so NumPy's serve where a library has none.
_HOST_FUNCTIONS = {
    "errstate", "finfo", "iinfo", "dtype", "result_type", "promote_types", "can_cast",
    "issubdtype", "isscalar", "broadcast_shapes", "ndim", "shape", "geterr", "seterr",
}


def _host_side(name, obj):
    if name in _HOST_FUNCTIONS:
        return True
    if isinstance(obj, type):
        return issubclass(obj, (numpy.generic, numpy.dtype))
    return not callable(obj)  # pi, e, inf, nan, newaxis


def _int_shape_reshape(reshape):
    """Dask's ``reshape`` takes the shape as a sequence only; NumPy's takes an
    int too (``x.reshape(-1)``)."""

    def reshape_(a, shape, *args, **kwargs):
        if isinstance(shape, (int, numpy.integer)):
            shape = (int(shape),)
        return reshape(a, shape, *args, **kwargs)

    reshape_.__name__ = reshape_.__qualname__ = "reshape"
    reshape_.__doc__ = reshape.__doc__
    return reshape_


# (library, function) -> wrapper making the library's function take what NumPy's takes
_ADAPTERS = {("dask.array", "reshape"): _int_shape_reshape}


class Namespace:
    """An array library as generated code sees it: ``xp.sin`` is the
    library's own ``sin``; see the module docstring for what else."""

    def __init__(self, module, name, reference):
        self._module = module  # None: the library has no such submodule
        self._name = name  # "dask.array", "cupy.linalg"
        self._reference = reference  # the NumPy module it stands in for

    def __repr__(self):
        return f"<s2s array namespace {self._name}>"

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        missing = object()
        value = getattr(self._module, attr, missing) if self._module is not None else missing
        reference = getattr(self._reference, attr, missing)
        if isinstance(reference, types.ModuleType):  # linalg, fft, random
            sub = value if isinstance(value, types.ModuleType) else None
            value = Namespace(sub, f"{self._name}.{attr}", reference)
        elif (self._name, attr) in _ADAPTERS and value is not missing:
            value = _ADAPTERS[self._name, attr](value)
        elif value is missing and attr == "ndarray" and self._name == "dask.array":
            value = self._module.Array
        elif value is missing:
            if reference is not missing and _host_side(attr, reference):
                value = reference
            else:
                raise _missing_error(self._name, attr, reference is not missing)
        self.__dict__[attr] = value  # found once: later lookups are plain attribute reads
        return value

    @property
    def library(self):
        """``"cupy"`` or ``"dask.array"``: the library's name."""
        return self._name.split(".")[0] if self._name.startswith("cupy") else "dask.array"


# -- errors -------------------------------------------------------------------------------

_HINTS = {
    "dask.array": "Dask implements most, not all, of NumPy "
                  "(https://docs.dask.org/en/stable/array-numpy-compatibility.html): write "
                  "this line with operations Dask has, or give s2s NumPy arrays for this part "
                  "(x.compute())",
    "cupy": "CuPy implements most, not all, of NumPy "
            "(https://docs.cupy.dev/en/stable/reference/comparison.html): write this line with "
            "operations CuPy has, or give s2s NumPy arrays for this part (cupy.asnumpy(x))",
}


def _generated_site(frames):
    """``(frame, lineno)`` of the innermost frame of generated code among
    ``frames`` (outermost first), or None."""
    from .codegen import ORIGINS

    for frame, lineno in reversed(frames):
        if frame.f_code.co_filename in ORIGINS:  # in memory, or a disk-cache entry
            return frame, lineno
    return None


def _location(site):
    """``dict(filename=, lineno=, line=)`` of the user's line behind the
    generated line at ``site``, and the generated line's text."""
    from .codegen import origins_of

    frame, lineno = site
    filename = frame.f_code.co_filename
    generated = linecache.getline(filename, lineno).strip()
    origin = origins_of(filename).get(lineno)
    if origin is None:
        return {}, generated
    user_file, user_line = origin
    return ({"filename": user_file, "lineno": user_line,
             "line": linecache.getline(user_file, user_line).strip()}, generated)


def _stack():
    frames = []
    frame = sys._getframe(2)
    while frame is not None:
        frames.append((frame, frame.f_lineno))
        frame = frame.f_back
    return frames[::-1]


def _missing_error(library, attr, in_numpy):
    site = _generated_site(_stack())
    where, generated = _location(site) if site else ({}, "")
    library_root = "cupy" if library.startswith("cupy") else "dask.array"
    numpy_name = "numpy" + library[len(library_root):] + "." + attr
    what = f"{library} has no {attr}" + (f" (NumPy's {numpy_name})" if in_numpy else "")
    if generated:
        what += f", called in the generated line `{generated}`"
    return MissingFunctionError(what, hint=_HINTS[library_root], **where)


class MissingFunctionError(BackendError, AttributeError):
    """The array library of the inputs has no such function."""


def explain(err):
    """A :class:`BackendError` for ``err``, raised while generated code ran
    on CuPy or Dask arrays by the library or by a call it could not take;
    None when ``err`` is something else (let it through as it is)."""
    if isinstance(err, S2SError) or not isinstance(
            err, (TypeError, ValueError, NotImplementedError, IndexError, ImportError)):
        return None
    frames = list(traceback.walk_tb(err.__traceback__))
    site = _generated_site(frames)
    if site is None:
        return None
    kinds = _kinds(list(site[0].f_locals.values()), set())
    if len(kinds) != 1:
        return None  # NumPy (nothing to explain), or mixed (refused before this)
    library = _LIBRARIES[kinds.pop()]
    inner = [f for f, _ in frames[[f for f, _ in frames].index(site[0]) + 1:]
             if f.f_globals.get("__name__") != __name__]  # (adapters are the library's)
    root = library.partition(".")[0]
    refused = isinstance(err, TypeError) and not inner and "unexpected keyword" in str(err)
    if not refused and not any(_in_package(f, root) for f in inner):
        return None  # not raised by the library: the user's own error, say
    where, generated = _location(site)
    message = (f"{library} could not run the generated line `{generated}`: "
               f"{type(err).__name__}: {err}")
    hint = _HINTS[library]
    if library == "cupy" and "numpy.ndarray" in str(err):
        hint = ("a NumPy array met CuPy arrays: an argument, a global or a closure of the "
                "function holds host data; copy it to the device with cupy.asarray (s2s never "
                "copies between host and device behind your back)")
    if isinstance(err, ImportError) and err.name:
        hint = f"{library} needs the package {err.name!r} for this call: install it"
    return BackendError(message, hint=hint, **where)


def _in_package(frame, root):
    name = frame.f_globals.get("__name__", "") or ""
    if name.partition(".")[0] == root:
        return True
    path = frame.f_code.co_filename.replace("\\", "/")
    return f"/{root}/" in path or path.startswith(f"{root}/")  # Cython: "cupy/_core/..."


def _mixed_error(values):
    frame = sys._getframe(2)  # the generated function's prologue
    names = {}
    for pname, value in frame.f_locals.items():
        names.setdefault(id(value), pname)
    parts = []
    for value in values:
        kinds = _kinds([value], set())
        if kinds:
            label = names.get(id(value), "an argument")
            parts.append(f"{label}: {' and '.join(sorted(_LIBRARIES[k] for k in kinds))}")
    from .codegen import origins_of

    origin = origins_of(frame.f_code.co_filename).get("def")
    where = {}
    if origin is not None:
        where = {"filename": origin[0], "lineno": origin[1],
                 "line": linecache.getline(origin[0], origin[1]).strip()}
    return BackendError(
        "the inputs mix CuPy and Dask arrays (" + "; ".join(parts) + "): one call runs on "
        "one array library",
        hint="give every array argument the same library: dask.array.from_array(a) for "
        "Dask, or a.compute() / cupy.asarray(a) to bring a Dask result to CuPy",
        **where,
    )


__all__ = ["Namespace", "namespace", "namespace_of", "kind_of", "explain", "BackendError",
           "MissingFunctionError"]
