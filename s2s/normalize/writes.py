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
missing from the derivative. A call whose value is used in a statement
writes first, and its value is the array it wrote (``z = np.exp(x, out=y) +
1`` -> ``y[...] = np.exp(x)`` then ``z = y + 1``); refused where that would
change what the statement computes (``y`` read before the call, the call in
a branch of a conditional expression, a lambda or a comprehension).

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x):\\n    y = np.empty_like(x)\\n    np.exp(x, out=y)\\n"
...            "    return y\\n", "writes"))
def f(x):
    y = np.empty_like(x)
    y[...] = np.exp(x)
    return y
>>> print(show("def f(x):\\n    y = np.empty_like(x)\\n    return np.exp(x, out=y) + 1.0\\n",
...            "writes"))
def f(x):
    y = np.empty_like(x)
    y[...] = np.exp(x)
    return y + 1.0
"""

import gast
import numpy

from ..errors import UnsupportedSyntaxError
from ..frontend import MISSING
from ..nodes import Transformer, walk

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
            return self._hoisted(node)
        obj = self.ctx.resolve(value.func)
        if obj is MISSING or not _from_numpy(obj):
            return self._hoisted(node)
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
        return self._hoisted(node)

    def _out(self, node, value, out):
        target = self._out_target(value, out)
        if target is None:
            return node
        value.keywords = [k for k in value.keywords if k is not out]
        return gast.copy_location(_write_all(target, value), node)

    def _out_target(self, value, out):
        """The variable ``out=`` names, or None (refused)."""
        target = out.value
        if isinstance(target, gast.Tuple) and len(target.elts) == 1:
            target = target.elts[0]
        if any(k.arg == "where" for k in value.keywords) or not isinstance(target, gast.Name):
            self._refuse(value, "out= with where= or into an expression",
                         "assign the result: y = np.where(mask, np.f(...), y), or y[...] = ...")
            return None
        return target

    def _out_call(self, value):
        """The ``out=`` keyword of a NumPy call, or None."""
        if not isinstance(value, gast.Call) or isinstance(value.func, gast.Name) \
                and self.ctx.is_local(value.func.id):
            return None
        out = next((k for k in value.keywords if k.arg == "out"), None)
        if out is None:
            return None
        obj = self.ctx.resolve(value.func)
        return out if obj is not MISSING and _from_numpy(obj) else None

    def _hoisted(self, node):
        """``node`` (a statement) after the writes of the calls with ``out=``
        in its value."""
        if node.value is None:
            return node
        writes = []
        node.value = _Hoist(self, writes).visit(node.value)
        for w in writes:
            gast.copy_location(w, node)
        return writes + [node] if writes else node

    visit_Assign = visit_AugAssign = visit_AnnAssign = visit_Return = _hoisted

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


class _Hoist(Transformer):
    """Calls with ``out=`` in an expression, innermost first, replaced by the
    array they write; their writes appended to ``writes``."""

    def __init__(self, writes_pass, writes):
        self.writes_pass = writes_pass
        self.writes = writes
        self.read = set()  # the names read so far, in the order Python reads them

    def visit_Name(self, node):
        self.read.add(node.id)
        return node

    def visit_Call(self, node):
        before = set(self.read)
        self.generic_visit(node)
        passes = self.writes_pass
        out = passes._out_call(node)
        if out is None:
            return node
        target = passes._out_target(node, out)
        if target is None:
            return node
        if target.id in before:
            passes._refuse(node, f"out={target.id} in an expression that reads {target.id} "
                           "before the call", "write the call on a line of its own first")
            return node
        node.keywords = [k for k in node.keywords if k is not out]
        self.writes.append(_write_all(target, node))
        return gast.Name(id=target.id, ctx=gast.Load(), annotation=None, type_comment=None)

    def _not_always_run(self, node):
        for sub in walk(node):
            if self.writes_pass._out_call(sub) is not None:
                self.writes_pass._refuse(
                    sub, "out= in a conditional expression, a lambda or a comprehension",
                    "write the call on a line of its own (in an if statement or a for loop)")
        return node

    visit_IfExp = visit_BoolOp = visit_Lambda = visit_ListComp = visit_SetComp = \
        visit_DictComp = visit_GeneratorExp = _not_always_run


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
