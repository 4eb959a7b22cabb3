"""Small helpers that generated code calls (bound as ``_s2s``), where inline
code would be unreadable, and constants rules use. Each helper is
backend-neutral: it works on whatever array type it is handed."""

import copy as _copy
import math

import numpy

LN2 = math.log(2.0)
LN10 = math.log(10.0)
DEG2RAD = math.pi / 180.0
RAD2DEG = 180.0 / math.pi


def namespace_of(*values):
    """The array module of the first array among ``values`` (numpy default)."""
    for value in values:
        module = type(value).__module__.partition(".")[0]
        if module == "cupy":
            import cupy

            return cupy
        if module == "dask":
            import dask.array

            return dask.array
    return numpy


def fresh_copy(value):
    """A copy of a parameter the function mutates in place, so the caller's
    primals and tangents are never changed (arrays, lists, dicts)."""
    if hasattr(value, "copy"):
        return value.copy()
    return _copy.copy(value)


def broadcast_with(t, other):
    """``t`` (the tangent of ``x`` in ``z = x + other``) with the shape of
    ``z``: itself when broadcasting against ``other`` does not grow it."""
    t_shape = numpy.shape(t)
    shape = numpy.broadcast_shapes(t_shape, numpy.shape(other))
    if shape == t_shape:
        return t
    return namespace_of(t, other).broadcast_to(t, shape)


def clip_tangent(a, a_min, a_max, a_dot, a_min_dot, a_max_dot):
    """Tangent of ``clip(a, a_min, a_max)``: ``a_dot`` inside the bounds, the
    bound's tangent outside (a bound of None is absent)."""
    xp = namespace_of(a)
    t = a_dot
    if a_min is not None:
        t = xp.where(a < a_min, a_min_dot, t)
    if a_max is not None:
        t = xp.where(a > a_max, a_max_dot, t)
    return t


def zeros_like_each(values):
    """Zero tangents for the items of a sequence that carries none
    (``lst.extend(other)`` where only ``lst`` is active)."""
    return [zeros_like_tree(v) for v in values]


def zeros_like_tree(value):
    """A zero tangent of the same structure as ``value``."""
    if isinstance(value, (list, tuple)):
        return type(value)(zeros_like_tree(v) for v in value)
    if isinstance(value, dict):
        return {k: zeros_like_tree(v) for k, v in value.items()}
    if isinstance(value, (int, float, complex)):
        return 0.0
    return namespace_of(value).zeros_like(value)


# -- reductions ------------------------------------------------------------------


def _expand(value, axis, ndim, keepdims):
    """A reduced value with the reduced axes put back (size 1)."""
    if keepdims or axis is None:
        return value
    xp = namespace_of(value)
    axes = axis if isinstance(axis, tuple) else (axis,)
    axes = tuple(sorted(a % ndim for a in axes))
    return xp.expand_dims(value, axes)


def extremum_tangent(a, z, a_dot, axis, keepdims):
    """Tangent of max/min: the mean of the tangents where ``a`` attains the
    extremum (ties share it equally)."""
    xp = namespace_of(a)
    hit = a == _expand(z, axis, xp.ndim(a), keepdims)
    count = xp.sum(hit, axis=axis, keepdims=keepdims)
    return xp.sum(xp.where(hit, a_dot, 0.0), axis=axis, keepdims=keepdims) / count


def var_tangent(a, a_dot, axis, ddof, keepdims):
    """Tangent of var: 2/(n - ddof) * sum((a - mean) * a_dot)."""
    xp = namespace_of(a)
    centred = a - xp.mean(a, axis=axis, keepdims=True)
    n = xp.size(a) if axis is None else _count(xp.shape(a), axis)
    return 2.0 * xp.sum(centred * a_dot, axis=axis, keepdims=keepdims) / (n - ddof)


def _count(shape, axis):
    axes = axis if isinstance(axis, tuple) else (axis,)
    n = 1
    for ax in axes:
        n *= shape[ax]
    return n


def prod_tangent(a, a_dot, axis, keepdims):
    """Tangent of prod: sum_j a_dot_j * prod_{k != j} a_k, exact where ``a``
    has zeros (products of the other elements, not z / a_j)."""
    xp = namespace_of(a)
    if axis is None:
        a, a_dot, axis = xp.reshape(a, (-1,)), xp.reshape(a_dot, (-1,)), 0
        out = _prod_tangent_axis(xp, a, a_dot, axis)
        return xp.reshape(out, (1,) * 0) if not keepdims else out
    axes = axis if isinstance(axis, tuple) else (axis,)
    ndim = xp.ndim(a)
    axes = tuple(sorted(ax % ndim for ax in axes))
    rest = tuple(i for i in range(ndim) if i not in axes)
    perm = rest + axes
    shape = xp.shape(a)
    moved = xp.transpose(a, perm)
    moved_dot = xp.transpose(a_dot, perm)
    flat_shape = tuple(shape[i] for i in rest) + (-1,)
    out = _prod_tangent_axis(xp, xp.reshape(moved, flat_shape), xp.reshape(moved_dot, flat_shape), -1)
    if keepdims:
        out = _expand(out, axes, ndim, False)
    return out


def _prod_tangent_axis(xp, a, a_dot, axis):
    a = xp.moveaxis(a, axis, -1)
    a_dot = xp.moveaxis(a_dot, axis, -1)
    ones = xp.ones_like(a[..., :1])
    left = xp.cumprod(xp.concatenate([ones, a[..., :-1]], axis=-1), axis=-1)
    right = xp.flip(xp.cumprod(xp.flip(xp.concatenate([a[..., 1:], ones], axis=-1), -1), axis=-1), -1)
    return xp.sum(left * right * a_dot, axis=-1)


def cumprod_tangent(a, z, a_dot, axis):
    """Tangent of cumprod, exact where ``a`` has zeros."""
    xp = namespace_of(a)
    if axis is None:
        a, a_dot, axis = xp.reshape(a, (-1,)), xp.reshape(a_dot, (-1,)), 0
    a = xp.moveaxis(a, axis, -1)
    a_dot = xp.moveaxis(a_dot, axis, -1)
    n = a.shape[-1]
    if xp.all(a != 0):
        out = xp.cumprod(a, axis=-1) * xp.cumsum(a_dot / a, axis=-1)
    else:
        out = xp.zeros(xp.broadcast_shapes(a.shape, a_dot.shape), dtype=xp.result_type(a, a_dot))
        for j in range(n):  # d z_i / d a_j = prod_{k <= i, k != j} a_k  for i >= j
            b = xp.where(xp.arange(n) == j, a_dot, a)
            out[..., j:] += xp.cumprod(b, axis=-1)[..., j:]
    return xp.moveaxis(out, -1, axis)


def norm_tangent(x, z, x_dot, ord, axis, keepdims):
    """Tangent of numpy.linalg.norm for vector norms (ord None, 1, 2, inf,
    -inf, p) and the Frobenius matrix norm."""
    xp = namespace_of(x)
    ndim = xp.ndim(x)
    if axis is None:
        if ord is None or ord == "fro" or (ord == 2 and ndim == 1):
            return xp.sum(x * x_dot) / z if not keepdims else _keep(
                xp.sum(x * x_dot) / z, ndim, xp)
        if ndim != 1:
            raise NotImplementedError(f"s2s: the derivative of the matrix norm ord={ord!r}")
        axis = 0
    if isinstance(axis, tuple) and len(axis) == 2:
        if ord not in (None, "fro"):
            raise NotImplementedError(f"s2s: the derivative of the matrix norm ord={ord!r}")
        return xp.sum(x * x_dot, axis=axis, keepdims=keepdims) / z
    zk = _expand(z, axis, ndim, keepdims)
    if ord is None or ord == 2:
        return xp.sum(x * x_dot, axis=axis, keepdims=keepdims) / z
    if ord == 1:
        return xp.sum(xp.sign(x) * x_dot, axis=axis, keepdims=keepdims)
    if ord in (numpy.inf, -numpy.inf):
        return extremum_tangent(xp.abs(x), z, xp.sign(x) * x_dot, axis, keepdims)
    if ord == 0:
        return xp.zeros_like(z)
    weights = xp.sign(x) * xp.abs(x) ** (ord - 1) * zk ** (1 - ord)
    return xp.sum(weights * x_dot, axis=axis, keepdims=keepdims)


def _keep(value, ndim, xp):
    return xp.reshape(value, (1,) * ndim)
