"""NumPy calls that write into an array given to them become that write.

Expects method calls desugared; guarantees that a NumPy call made as a
statement, for its effect on an array, is an item assignment, which the jvp
and batching passes follow like any other in-place update:

    np.multiply(x, x, out=y)    ->    y[...] = np.multiply(x, x)
    np.copyto(y, x)             ->    y[...] = x

An output given by position is the same: a ufunc's arguments beyond its
``nin`` inputs, a function's parameter ``out`` (from its signature, or for
NumPy's C functions without one, from the signature their docstring opens
with) become ``out=`` first (``np.dot(a, b, y)`` -> ``np.dot(a, b, out=y)``);
where that parameter's position cannot be read, a call that may pass it by
position is refused.

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

import re

import gast
import numpy

from ..errors import UnsupportedSyntaxError
from ..frontend import MISSING, signature_of
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
        self._out_by_keyword(value, obj)
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
        if isinstance(target, gast.Tuple):
            self._refuse(value, "out= with several arrays",
                         "assign the results and copy them: a, b = np.f(...); y[...] = a")
            return None
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
        obj = self.ctx.resolve(value.func)
        if obj is MISSING or not _from_numpy(obj):
            return None
        self._out_by_keyword(value, obj)
        return next((k for k in value.keywords if k.arg == "out"), None)

    def _out_by_keyword(self, value, obj):
        """An output ``value`` (a call of ``obj``) passes by position moved to
        ``out=`` (with the arguments after it, by their names); ``out=None``
        dropped (NumPy's default, also from a global name). Refused where the position is unknown.
        A call with ``*args`` is left as it is (the rules refuse it where a
        derivative goes through it)."""
        position, names = _out_position(obj)
        args = value.args
        starred = next((i for i, a in enumerate(args) if isinstance(a, gast.Starred)), len(args))
        if position is None and names is None:
            if starred > 1 and _documents_out(obj):
                self._refuse(value, f"{_name(obj)} with arguments by position, one of which "
                             "may be its out= (s2s cannot read its parameters)",
                             "pass the arguments after the first by keyword (out=...)")
        elif position is not None and position < len(args) == starred:  # (*args: as it is)
            if names is None:  # a ufunc: its arguments from nin on are its outputs
                if len(args) - position > obj.nout:
                    return  # (NumPy's TypeError)
                outputs, later = args[position:], []
            else:
                if len(args) > len(names):
                    return  # (NumPy's TypeError)
                outputs = args[position:position + 1]
                later = [gast.keyword(arg=n, value=a)
                         for n, a in zip(names[position + 1:], args[position + 1:])]
            out = outputs[0] if len(outputs) == 1 else \
                gast.Tuple(elts=list(outputs), ctx=gast.Load())
            value.args = args[:position]
            value.keywords = [gast.keyword(arg="out", value=out)] + later + value.keywords
        value.keywords = [k for k in value.keywords if not (k.arg == "out" and self._none(k.value))]

    def _none(self, node):
        """Whether ``node`` is None: the constant, or a global or closure name
        bound to it."""
        if isinstance(node, gast.Constant):
            return node.value is None
        return isinstance(node, gast.Name) and not self.ctx.is_local(node.id) \
            and self.ctx.resolve(node) is None

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


def _out_position(obj):
    """``(position, names)``: where ``obj``'s output may be passed by
    position and the names of its positional parameters (names None: a
    ufunc, every argument from ``position`` on is an output); ``(None, [])``
    when no output goes by position; ``(None, None)`` when unknown."""
    if isinstance(obj, numpy.ufunc):
        return obj.nin, None
    sig = signature_of(obj)
    if sig is None:
        return None, None
    names = []
    for p in sig.parameters.values():
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            break
        names.append(p.name)
    return (names.index("out") if "out" in names else None), names


def _documents_out(obj):
    """Whether ``obj``'s docstring lists a parameter ``out`` (in its
    Parameters section, not as what it returns)."""
    doc = getattr(obj, "__doc__", None) or ""
    section = re.search(r"^\s*Parameters\s*\n\s*-+\s*\n(.*?)(^\s*\w+\s*\n\s*-+\s*$|\Z)",
                        doc, re.M | re.S)
    return section is not None and re.search(r"^\s*out\b[^\n]*:", section.group(1),
                                             re.M) is not None


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
