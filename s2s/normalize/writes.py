"""NumPy calls that write into an array given to them become that write.

Expects method calls desugared; guarantees that a NumPy call made as a
statement, for its effect on an array, is an item assignment, which the jvp
and batching passes follow like any other in-place update:

    np.multiply(x, x, out=y)    ->    y[...] = np.multiply(x, x)
    np.copyto(y, x)             ->    y[...] = x

The other NumPy functions that write into an argument (``fill_diagonal``,
``put``, ``place``, ``putmask``, ``put_along_axis``, a ufunc's ``.at``), and
``out=`` together with ``where=`` or into anything but a variable, are
refused with what to write instead: left as they are, their effect would be
missing from the derivative. (A call whose value is used keeps its ``out=``:
no rule covers it, and the jvp pass says so.)

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x):\\n    y = np.empty_like(x)\\n    np.exp(x, out=y)\\n"
...            "    return y\\n", "writes"))
def f(x):
    y = np.empty_like(x)
    y[...] = np.exp(x)
    return y
"""

import gast
import numpy

from ..errors import UnsupportedSyntaxError
from ..frontend import MISSING
from ..nodes import Transformer

_HINTS = {
    numpy.fill_diagonal: "write i = np.arange(min(a.shape)); a[i, i] = value",
    numpy.put: "write the update as an item assignment, a[index] = values",
    numpy.place: "write a[mask] = values, or a = np.where(mask, values, a)",
    numpy.putmask: "write a = np.where(mask, values, a)",
    numpy.put_along_axis: "write the update as an item assignment with index arrays",
}
_AT_HINT = ("write a[index] += values where the index has no repeats, or accumulate with "
            "np.bincount(index, weights=values, minlength=n)")


class _Writes(Transformer):
    def __init__(self, ctx):
        self.ctx = ctx

    def visit_Expr(self, node):
        value = node.value
        if not isinstance(value, gast.Call) or isinstance(value.func, gast.Name) \
                and self.ctx.is_local(value.func.id):
            return node
        obj = self.ctx.resolve(value.func)
        if obj is MISSING or not _from_numpy(obj):
            return node
        out = next((k for k in value.keywords if k.arg == "out"), None)
        if obj is numpy.copyto:
            return self._copyto(node, value)
        if out is not None:
            return self._out(node, value, out)
        hint = _HINTS.get(obj)
        if hint is None and getattr(obj, "__name__", None) == "at" \
                and isinstance(getattr(obj, "__self__", None), numpy.ufunc):
            hint = _AT_HINT
        if hint is not None:
            self._refuse(value, f"{_name(obj)}, which writes into the array given to it", hint)
        return node

    def _out(self, node, value, out):
        target = out.value
        if isinstance(target, gast.Tuple) and len(target.elts) == 1:
            target = target.elts[0]
        if any(k.arg == "where" for k in value.keywords) or not isinstance(target, gast.Name):
            self._refuse(value, "out= with where= or into an expression",
                         "assign the result: y = np.where(mask, np.f(...), y), or y[...] = ...")
            return node
        value.keywords = [k for k in value.keywords if k is not out]
        return gast.copy_location(_write_all(target, value), node)

    def _copyto(self, node, value):
        if len(value.args) != 2 or value.keywords:
            self._refuse(value, "np.copyto with where= or casting=",
                         "assign the result: dst[...] = np.where(mask, src, dst)")
            return node
        dst, src = value.args
        if not isinstance(dst, gast.Name):
            self._refuse(value, "np.copyto into an expression", "write dst[...] = src")
            return node
        return gast.copy_location(_write_all(dst, src), node)

    def _refuse(self, node, what, hint):
        self.ctx.report(self.ctx.error(UnsupportedSyntaxError, node,
                                       f"s2s cannot differentiate {what}", hint))


def _from_numpy(obj):
    if isinstance(obj, numpy.ufunc):
        return True
    owner = getattr(obj, "__self__", None)  # np.add.at: a method of the ufunc
    if isinstance(owner, numpy.ufunc):
        return True
    return (getattr(obj, "__module__", None) or "").split(".")[0] == "numpy"


def _name(obj):
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, numpy.ufunc):
        return f"np.{owner.__name__}.{obj.__name__}"
    return f"np.{getattr(obj, '__name__', obj)}"


def _write_all(target, value):
    """``target[...] = value``."""
    index = gast.Constant(value=Ellipsis, kind=None)
    store = gast.Subscript(value=gast.Name(id=target.id, ctx=gast.Load(), annotation=None,
                                           type_comment=None),
                           slice=index, ctx=gast.Store())
    return gast.Assign(targets=[store], value=value, type_comment=None)


def run(fn_node, ctx):
    return _Writes(ctx).visit(fn_node)
