"""Products of two batch levels kept factored until a reduction.

Batching code twice (``hessian``, ``vmap`` of ``jacfwd``) multiplies a value
batched at the outer level by one batched at the inner level:
``a[:, None] * c``, with ``a`` of shape (I, K) and ``c`` of shape (J, K), is an
(I, J, K) array. Second derivatives of a sum then scale, add and finally sum
such arrays over K: n^3 numbers to write and read for an n x n Hessian, where
``(a * s) @ c.T`` gives the same sum from n^2 of them in one matrix product.

``outer_product(a, c)`` returns an :class:`OuterSum`: the array
sum_t s_t[k] * a_t[i, k] * c_t[j, k], kept as its terms. Negation, scaling by
numbers or by vectors over K, addition and subtraction of two of them keep
the terms; a sum over K is a matrix product per term. Anything else (any
other NumPy function or operator, indexing, an attribute) works on the array
itself, made once (``numpy.asarray(value)`` makes it too). The batched code
returns arrays only: its last statement makes them (``_s2s.dense_tree``).
"""

import numpy

# below this many elements the eager product is cheaper than the bookkeeping
_MIN_SIZE = 1 << 14


def outer_product(a, c):
    """``a[:, None] * c`` for ``a`` (I, K) and ``c`` (J, K); an
    :class:`OuterSum` for large NumPy arrays, the product itself otherwise."""
    if (type(a) is numpy.ndarray and type(c) is numpy.ndarray and a.ndim == 2 and c.ndim == 2
            and a.shape[1] == c.shape[1] and a.shape[0] * c.size >= _MIN_SIZE):
        return OuterSum([(None, a, c)], (a.shape[0],) + c.shape,
                        numpy.result_type(a.dtype, c.dtype))
    return a[:, None] * c


def dense_tree(value):
    """``value`` with every :class:`OuterSum` in it (tuples, lists, dicts) made an array."""
    if isinstance(value, OuterSum):
        return value.dense()
    if isinstance(value, tuple):
        return tuple(dense_tree(v) for v in value)
    if isinstance(value, list):
        return [dense_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: dense_tree(v) for k, v in value.items()}
    return value


class OuterSum:
    """sum_t s_t[k] * a_t[i, k] * c_t[j, k], an array of shape (I, J, K) kept
    as its terms ``(s_t, a_t, c_t)`` (``s_t`` None for 1)."""

    __array_priority__ = 1000

    def __init__(self, terms, shape, dtype):
        self.terms, self.shape, self.dtype = terms, shape, numpy.dtype(dtype)
        self._dense = None

    ndim = 3

    @property
    def size(self):
        return self.shape[0] * self.shape[1] * self.shape[2]

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        return f"OuterSum(shape={self.shape}, terms={len(self.terms)})"

    def dense(self):
        if self._dense is None:
            out = None
            for s, a, c in self.terms:
                term = (a if s is None else a * s)[:, None, :] * c
                if out is None:
                    out = term
                elif out.dtype == numpy.result_type(out, term):
                    numpy.add(out, term, out=out)  # out is this method's own array
                else:
                    out = out + term
            self._dense = out.astype(self.dtype, copy=False)
        return self._dense

    def __array__(self, dtype=None, copy=None):
        out = self.dense()
        return out if dtype is None else out.astype(dtype)

    def _scaled(self, factor):
        """Times a number or a vector over K (None when ``factor`` is neither)."""
        shape = numpy.shape(factor)
        if any(d != 1 for d in shape[:-1]) or (shape and shape[-1] not in (1, self.shape[2])):
            return None
        f = numpy.reshape(factor, -1) if shape else factor
        terms = [(f if s is None else s * f, a, c) for s, a, c in self.terms]
        return OuterSum(terms, self.shape, numpy.result_type(self.dtype, factor))

    def _combined(self, other, sign):
        terms = list(self.terms) + [(-1.0 if s is None else -s, a, c) if sign < 0 else (s, a, c)
                                    for s, a, c in other.terms]
        return OuterSum(terms, self.shape, numpy.result_type(self.dtype, other.dtype))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs:
            done = self._factored(ufunc, inputs)
            if done is not None:
                return done
        inputs = tuple(dense_tree(x) for x in inputs)
        kwargs = {k: dense_tree(v) for k, v in kwargs.items()}
        return getattr(ufunc, method)(*inputs, **kwargs)

    def _factored(self, ufunc, inputs):
        if ufunc is numpy.negative and len(inputs) == 1:
            return self._scaled(-1.0)
        if ufunc is numpy.positive and len(inputs) == 1:
            return self
        if len(inputs) != 2:
            return None
        x, y = inputs
        if ufunc is numpy.multiply:
            other = y if x is self else x
            return None if isinstance(other, OuterSum) else self._scaled(other)
        if ufunc is numpy.true_divide and x is self and not isinstance(y, OuterSum):
            return self._scaled(1.0 / numpy.asarray(y)) if numpy.ndim(y) else self._scaled(1.0 / y)
        if ufunc in (numpy.add, numpy.subtract) and isinstance(x, OuterSum) \
                and isinstance(y, OuterSum) and x.shape == y.shape:
            return x._combined(y, -1 if ufunc is numpy.subtract else 1)
        return None

    def __array_function__(self, func, types, args, kwargs):
        if func is numpy.sum and args and args[0] is self and len(args) == 1:
            axis = kwargs.get("axis")
            axis = axis[0] if isinstance(axis, tuple) and len(axis) == 1 else axis
            rest = {k: v for k, v in kwargs.items() if k != "axis" and v is not None
                    and not (k == "keepdims" and v is False)}
            if axis in (2, -1) and not rest:
                return self._sum_over_k()
        if func in (numpy.shape, numpy.ndim, numpy.size) and args and args[0] is self \
                and len(args) == 1 and not kwargs:
            return {numpy.shape: self.shape, numpy.ndim: 3, numpy.size: self.size}[func]
        return func(*dense_tree(args), **dense_tree(kwargs))

    def _sum_over_k(self):
        out = None
        for s, a, c in self.terms:
            term = (a if s is None else a * s) @ c.T
            out = term if out is None else out + term
        return out.astype(self.dtype, copy=False)

    # operators go through the ufuncs (and so through __array_ufunc__)
    def __neg__(self):
        return numpy.negative(self)

    def __pos__(self):
        return self

    def __add__(self, other):
        return numpy.add(self, other)

    def __radd__(self, other):
        return numpy.add(other, self)

    def __sub__(self, other):
        return numpy.subtract(self, other)

    def __rsub__(self, other):
        return numpy.subtract(other, self)

    def __mul__(self, other):
        return numpy.multiply(self, other)

    def __rmul__(self, other):
        return numpy.multiply(other, self)

    def __truediv__(self, other):
        return numpy.true_divide(self, other)

    def __rtruediv__(self, other):
        return numpy.true_divide(other, self)

    def __pow__(self, other):
        return numpy.power(self, other)

    def __getitem__(self, index):
        return self.dense()[index]

    def __iter__(self):
        return iter(self.dense())

    def __getattr__(self, attr):
        if attr.startswith("__") or attr in ("terms", "_dense"):
            raise AttributeError(attr)
        return getattr(self.dense(), attr)  # T, reshape, astype, copy...
