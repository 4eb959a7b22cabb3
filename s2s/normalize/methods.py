"""Array methods and attributes become calls of namespace functions.

Expects resolved names; guarantees that array methods whose meaning is a
NumPy function (``x.sum(axis=0)``, ``x.reshape(3, -1)``, ``x.T``, ``x.dot(y)``)
are calls ``xp.sum(x, axis=0)`` etc. Methods shared with lists and dicts
(``copy``, ``append``, ``items``...) and ``astype``/``item`` stay methods: the
jvp pass knows them. A method is rewritten when its receiver is a local
variable (only arrays have these methods) or a global that is an array.
A merge of dicts, ``a | b``, becomes ``{**a, **b}`` and ``d |= e``
``d.update(e)``, whose items the jvp pass follows, where one side is a dict
display or a name bound to one; ``dict(a=x)`` becomes ``{"a": x}``. A local name bound once to a module
(``xp = np``) or a function reads it. A list display among the arrays
``np.concatenate`` and the like join is ``xp.asarray([...])``.

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x):\\n    return x.sum(axis=0) + x.T.dot(x).reshape(2, 3)\\n", "methods"))
def f(x):
    return xp.sum(x, axis=0) + xp.reshape(xp.dot(xp.transpose(x), x), (2, 3))
"""

import types

import gast
import numpy

from ..analysis import binding_counts
from ..context import call, dotted, name
from ..errors import UnsupportedSyntaxError
from ..frontend import MISSING
from ..nodes import Transformer, clone, walk_values

# method name -> namespace function; the receiver becomes the first argument
SAME_NAME = {
    "sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "cumprod",
    "argmax", "argmin", "argsort", "clip", "round", "trace", "diagonal",
    "ravel", "squeeze", "swapaxes", "repeat", "take", "conj", "conjugate",
    "nonzero", "any", "all", "dot", "ptp", "searchsorted",
}
# methods with several positional arguments that the function takes as a tuple
TUPLE_ARGS = {"reshape", "transpose"}
ATTRIBUTES = {"T": "transpose", "real": "real", "imag": "imag"}
IN_PLACE = {
    "sort": "use x = np.sort(x) (s2s follows values, not in-place sorting)",
    "fill": "use x = np.full_like(x, value) or x[...] = value",
    "resize": "use x = np.resize(x, shape)",
    "put": "use x[indices] = values",
    "itemset": "use x[index] = value",
    "partition": "use x = np.partition(x, k)",
}


class _Methods(Transformer):
    def __init__(self, ctx, dicts=(), sequences=None):
        self.ctx = ctx
        self.dicts = set(dicts)  # names bound to a dict display or dict(...)
        self.sequences = sequences or {}  # names bound once to a list or tuple display

    def _is_dict(self, node):
        return isinstance(node, (gast.Dict, gast.DictComp)) or (
            isinstance(node, gast.Name) and node.id in self.dicts) or (
            isinstance(node, gast.Call) and self.ctx.resolve(node.func) is dict)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.BitOr) and (self._is_dict(node.left)
                                                 or self._is_dict(node.right)):
            merged = gast.Dict(keys=[None, None], values=[node.left, node.right])
            return gast.copy_location(merged, node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if isinstance(node.op, gast.BitOr) and isinstance(node.target, gast.Name) and (
                self._is_dict(node.target) or self._is_dict(node.value)):
            update = gast.Attribute(value=name(node.target.id), attr="update", ctx=gast.Load())
            return gast.copy_location(gast.Expr(value=call(update, [node.value])), node)
        return node

    def _is_array_receiver(self, node):
        if isinstance(node, gast.Name) and self.ctx.is_local(node.id):
            return True
        if isinstance(node, (gast.Name, gast.Attribute)):
            obj = self.ctx.resolve(node)
            # unresolved: a comprehension variable, whose type is not known
            return obj is MISSING or isinstance(obj, numpy.ndarray)
        # an expression (x + y).sum(): its value is an array if the method exists
        return not isinstance(node, (gast.Constant, gast.List, gast.Tuple, gast.Dict))

    def _xp(self, fname):
        return dotted(f"{self.ctx.xp}.{fname}")

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if not node.args and node.keywords and all(k.arg for k in node.keywords) \
                and isinstance(func, gast.Name) and self.ctx.resolve(func) is dict:
            # dict(a=x, b=y) is the display {"a": x, "b": y}, whose items the passes follow
            return gast.copy_location(gast.Dict(
                keys=[gast.Constant(value=k.arg, kind=None) for k in node.keywords],
                values=[k.value for k in node.keywords]), node)
        if not isinstance(func, gast.Attribute) or not self._is_array_receiver(func.value):
            return _clip_bounds(_joined_arrays(node, self.ctx, self._xp("asarray"),
                                               self.sequences), self.ctx)
        method, recv = func.attr, func.value
        if method in SAME_NAME:
            new = call(self._xp(method), [recv, *node.args], node.keywords)
        elif method in TUPLE_ARGS:
            args = node.args  # x.reshape(2, *rest) is np.reshape(x, (2, *rest))
            if len(args) > 1 or any(isinstance(a, gast.Starred) for a in args):
                args = [gast.Tuple(elts=list(args), ctx=gast.Load())]
                if method == "transpose" and all(isinstance(a, gast.Starred) for a in node.args):
                    # x.transpose(*()) reverses the axes, as np.transpose(x, None) does
                    args = [gast.BoolOp(op=gast.Or(), values=[args[0], gast.Constant(
                        value=None, kind=None)])]
            new = call(self._xp(method), [recv, *args], node.keywords)
        elif method == "flatten":  # (its order, positional or not, goes to ravel)
            new = call(self._xp("ravel"), [call(self._xp("copy"), [recv]), *node.args],
                       node.keywords)
        elif method == "compress" and node.args:  # np.compress(condition, a, axis)
            new = call(self._xp(method), [node.args[0], recv, *node.args[1:]], node.keywords)
        elif method == "view" and not node.args and not node.keywords:
            # another view of the whole array, as x[...] is (whose writes s2s follows)
            new = gast.Subscript(value=recv, slice=gast.Constant(value=Ellipsis, kind=None),
                                 ctx=gast.Load())
        elif method in IN_PLACE and isinstance(recv, gast.Name) and self.ctx.is_local(recv.id):
            self.ctx.report(self.ctx.error(
                UnsupportedSyntaxError,
                node,
                f"s2s cannot differentiate the in-place array method .{method}()",
                IN_PLACE[method],
            ))
            new = gast.Constant(value=None, kind=None)  # collecting problems: go on
        else:
            return node
        return gast.copy_location(_clip_bounds(new, self.ctx), node)

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if (
            isinstance(node.ctx, gast.Load)
            and node.attr in ATTRIBUTES
            and self._is_array_receiver(node.value)
        ):
            new = call(self._xp(ATTRIBUTES[node.attr]), [node.value])
            return gast.copy_location(new, node)
        return node


# functions joining a sequence of arrays (array-likes: np.concatenate([[0.0], y]))
_JOINS = ("concatenate", "stack", "hstack", "vstack", "dstack", "column_stack", "row_stack",
          "append")


def _joined_arrays(node, ctx, asarray, sequences):
    """The list or tuple displays among the arrays that ``np.concatenate``
    and the like join (in the call, or in the display a name bound once in
    ``sequences`` holds), ``np.asarray(...)``: per example (vmap, jacfwd)
    ``[2.0, 3.0]`` or ``[x[0]] * 2`` is one operand of shape (2,), not a list
    of two batched numbers."""
    func = ctx.resolve(node.func)
    if not any(func is getattr(numpy, f, None) for f in _JOINS) or not node.args:
        return node

    def as_array(part):  # (NumPy makes each part an array: the same values)
        held = sequences.get(part.id) if isinstance(part, gast.Name) else part
        if not _list_like(held):
            return part
        return gast.copy_location(call(asarray, [part]), part)

    if func is numpy.append:  # append(arr, values, axis)
        node.args = [as_array(a) for a in node.args[:2]] + node.args[2:]
        return node
    seq = sequences.get(node.args[0].id) if isinstance(node.args[0], gast.Name) else node.args[0]
    if isinstance(seq, (gast.List, gast.Tuple)):  # (not a repetition: its parts are one)
        seq.elts = [as_array(part) for part in seq.elts]
    return node


def _list_like(node):
    """A list or tuple display, or one repeated (``[x[0]] * 2``)."""
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult):
        node = node.left
    return isinstance(node, (gast.List, gast.Tuple))


def _clip_bounds(node, ctx):
    """``np.clip(x, min=a, max=b)`` (NumPy 2.1's names, and those of the
    method) as ``np.clip(x, a_min=a, a_max=b)``, a missing bound None: the
    arguments the clip rule takes."""
    if not isinstance(node, gast.Call) or not {k.arg for k in node.keywords} & {"min", "max"} \
            or ctx.resolve(node.func) is not numpy.clip:
        return node
    renamed = {"min": "a_min", "max": "a_max"}
    node.keywords = [gast.keyword(arg=renamed.get(k.arg, k.arg), value=k.value)
                     for k in node.keywords]
    given = {k.arg for k in node.keywords}
    for position, bound in ((1, "a_min"), (2, "a_max")):
        if bound not in given and len(node.args) <= position:
            node.keywords.append(gast.keyword(arg=bound, value=gast.Constant(value=None,
                                                                              kind=None)))
    return node


class _ModuleAliases(Transformer):
    """Reads of a local name bound once to a module (``xp = np``: the array
    API's style) or a function (``act = np.tanh``, ``g = helper``) read it:
    ``xp.sin(x)`` is NumPy's sin, not a method of an object, and ``g(x)`` a
    call of ``helper`` that s2s sees (hessian too), not one known only when
    it runs."""

    def __init__(self, aliases):
        self.aliases = aliases

    def visit_Name(self, node):
        value = self.aliases.get(node.id)
        if value is None or not isinstance(node.ctx, gast.Load):
            return node
        return gast.copy_location(clone(value), node)


_ALIASED = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, numpy.ufunc,
            type)  # (a type: dt = int; np.zeros(n, dtype=dt))


def _names_bound_once(fn_node, ctx):
    """``(aliases, dicts, sequences)``: the local names bound once in
    ``fn_node``, to a module or function (their expressions), to a dict
    display or ``dict(...)``, and to a list or tuple display (the display)."""
    nodes = walk_values(fn_node)
    bindings = binding_counts(nodes)
    aliases, dicts, sequences = {}, set(), {}
    for node in nodes:
        if isinstance(node, gast.AugAssign) and isinstance(node.op, gast.BitOr) \
                and isinstance(node.target, gast.Name):
            bindings[node.target.id] -= 1  # (d |= e keeps d a dict: no new binding)
        elif isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name):
            value, target = node.value, node.targets[0].id
            if _list_like(value):
                sequences[target] = value
            elif isinstance(value, (gast.Dict, gast.DictComp)) or (
                    isinstance(value, gast.Call) and isinstance(value.func, gast.Name)
                    and ctx.resolve(value.func) is dict):
                dicts.add(target)
            elif isinstance(value, (gast.Name, gast.Attribute)) \
                    and isinstance(ctx.resolve(value), _ALIASED):
                aliases[target] = value
    once = {n for n, count in bindings.items() if count == 1}
    return ({n: v for n, v in aliases.items() if n in once}, dicts & once,
            {n: v for n, v in sequences.items() if n in once})


def run(fn_node, ctx):
    aliases, dicts, sequences = _names_bound_once(fn_node, ctx)
    if aliases:
        fn_node = _ModuleAliases(aliases).visit(fn_node)
    return _Methods(ctx, dicts, sequences).visit(fn_node)


