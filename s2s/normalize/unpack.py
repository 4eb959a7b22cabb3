"""``*args`` and ``**kwargs`` of a call spelled out where the function shows their items.

Expects the user's function as parsed. Guarantees that a starred display is
spliced into its call (``f(*(a, b))`` is ``f(a, b)``, ``f(**{"axis": 0})`` is
``f(axis=0)``), and that a name holding a display the function shows is
passed item by item (``args = (v, w); f(*args)`` calls ``f(args[0],
args[1])``, and ``f(v, w)`` where ``v`` and ``w`` are parameters the
function never rebinds: the same values, and what a wrapper specialised for
its call, :mod:`s2s.varargs`, reads best as). Such a name is bound once, to
a tuple display, or to a list or dict display that nothing can change the
length or keys of (it is only unpacked into calls, indexed, iterated over,
asked ``len``, ``in`` or ``.get``); or it is a tuple rebound only by
statements of the function's top level, each to a tuple display, and a call
reads the one bound last before it. A list or tuple comprehension over such
a display (``tuple(a * 2 for a in args)``, one ``for``, no ``if``) is the
display of its items (``(args[0] * 2, args[1] * 2)``); ``len`` of such a
display is its number of items, and an ``if`` whose test then compares
numbers only keeps the branch it takes (a wrapper's ``if len(args) == 2:``,
specialised for three). Rules and the user's
functions then see each argument in its place; a call that still passes
``*args`` or ``**kwargs`` is refused where its arguments must be told apart.

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x):\\n    args = (x, 2.0)\\n    kw = {'axis': 0}\\n"
...            "    args = tuple(a * 2 for a in args)\\n"
...            "    return np.sum(np.multiply(*args), **kw) + np.dot(*(x, x))\\n", "unpack"))
def f(x):
    args = (x, 2.0)
    kw = {'axis': 0}
    args = (x * 2, args[1] * 2)
    return np.sum(np.multiply(args[0], args[1]), axis=kw['axis']) + np.dot(x, x)
"""

import gast

from ..analysis import binding_counts
from ..context import const, name
from ..nodes import Transformer, clone, walk_values

# methods that read a list or dict without changing its length or keys
_READING = {"get", "keys", "values", "items", "copy", "count", "index"}


def _item(base, key, value, fixed):
    """``base[key]``, or ``value`` itself where it is a parameter in ``fixed``."""
    if isinstance(value, gast.Name) and value.id in fixed:
        return name(value.id)
    return gast.Subscript(value=name(base), slice=const(key), ctx=gast.Load())


def _keys(display):
    """The keys of a dict display when they can be keyword names (distinct
    identifiers, written as strings), else None."""
    keys = [k.value if isinstance(k, gast.Constant) else None for k in display.keys]
    if all(isinstance(k, str) and k.isidentifier() for k in keys) and len(set(keys)) == len(keys):
        return keys
    return None


def _fixed_length(value):
    """Whether ``value`` is a display whose items a call can be given one by one."""
    if isinstance(value, gast.Dict):
        return None not in value.keys and _keys(value) is not None
    return isinstance(value, (gast.Tuple, gast.List)) and not any(
        isinstance(e, gast.Starred) for e in value.elts)


def _reads(nodes, ctx):
    """The ids of the loaded names that cannot change the list or dict they
    name: unpacked into a call, indexed, iterated over, asked ``len``,
    ``in`` or a reading method."""
    reads = set()
    for node in nodes:
        if isinstance(node, gast.Call):
            reads.update(id(a.value) for a in node.args if isinstance(a, gast.Starred))
            reads.update(id(k.value) for k in node.keywords if k.arg is None)
            func = node.func
            if isinstance(func, gast.Attribute) and func.attr in _READING:
                reads.add(id(func.value))
            elif isinstance(func, gast.Name) and func.id == "len" and len(node.args) == 1 \
                    and not node.keywords and ctx.resolve(func) is len:
                reads.add(id(node.args[0]))
        elif isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Load):
            reads.add(id(node.value))
        elif isinstance(node, (gast.For, gast.comprehension)):
            reads.add(id(node.iter))
        elif isinstance(node, gast.Compare):
            reads.update(id(c) for op, c in zip(node.ops, node.comparators)
                         if isinstance(op, (gast.In, gast.NotIn)))
    return reads


def _single_assignment(stmt):
    """The name ``stmt`` assigns, where it is ``name = value``; else None."""
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], gast.Name):
        return stmt.targets[0].id
    return None


def _known_displays(fn_node, ctx):
    """``(known, sequenced, fixed)``: name -> display, for the names bound
    once whose items a call can read in place (a tuple display, or a list or
    dict display whose length and keys nothing can change); name -> whether
    a list or dict display bound to it would be such, for the names bound by
    top-level statements alone (a comprehension there may become a display);
    and the parameters never rebound."""
    nodes = walk_values(fn_node)
    bindings, loaded, assigned = binding_counts(nodes), {}, {}
    for node in nodes:
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
            loaded.setdefault(node.id, []).append(id(node))
        elif _single_assignment(node) is not None:
            assigned[node.targets[0].id] = node.value
    reads = _reads(nodes, ctx)
    read_only = {v for v in bindings if all(n in reads for n in loaded.get(v, []))}
    known = {}
    for var, value in assigned.items():
        if bindings.get(var) == 1 and _fixed_length(value) and (
                isinstance(value, gast.Tuple) or var in read_only):
            known[var] = value
    top = {}
    for stmt in fn_node.body:
        var = _single_assignment(stmt)
        if var is not None:
            top[var] = top.get(var, 0) + 1
    sequenced = {v: count == 1 and v in read_only for v, count in top.items()
                 if bindings.get(v) == count}
    params = fn_node.args.posonlyargs + fn_node.args.args + fn_node.args.kwonlyargs
    return known, sequenced, {a.id for a in params if bindings.get(a.id) == 1}


class _Unpack(Transformer):
    def __init__(self, known, fixed, ctx):
        self.known = known
        self.fixed = fixed
        self.ctx = ctx

    def _items(self, value):
        """The arguments ``*value`` stands for, or None."""
        if isinstance(value, (gast.Tuple, gast.List)):
            return list(value.elts)  # (a starred item among them is spliced as it is)
        display = self.known.get(getattr(value, "id", None))
        if isinstance(display, (gast.Tuple, gast.List)):
            return [_item(value.id, i, e, self.fixed) for i, e in enumerate(display.elts)]
        return None

    def _keywords(self, value):
        """The keyword arguments ``**value`` stands for, or None."""
        if isinstance(value, gast.Dict):
            keys = None if None in value.keys else _keys(value)
            return None if keys is None else [
                gast.keyword(arg=k, value=v) for k, v in zip(keys, value.values)]
        display = self.known.get(getattr(value, "id", None))
        if isinstance(display, gast.Dict):
            return [gast.keyword(arg=k, value=_item(value.id, k, v, self.fixed))
                    for k, v in zip(_keys(display), display.values)]
        return None

    def visit_If(self, node):
        """A test the displays decide (``if len(args) == 2:`` in a wrapper
        specialised for three values) keeps only the branch it takes: the
        other may be code for another number of arguments."""
        self.generic_visit(node)
        taken = _constant_truth(node.test)
        if taken is None:
            return node
        return (node.body if taken else node.orelse) or [gast.copy_location(gast.Pass(), node)]

    def visit_Call(self, node):
        if isinstance(node.func, gast.Name) and node.func.id == "len" and len(node.args) == 1 \
                and not node.keywords and self.ctx.resolve(node.func) is len:
            display = self.known.get(getattr(node.args[0], "id", None))
            if isinstance(display, (gast.Tuple, gast.List)) and not any(
                    isinstance(e, gast.Starred) for e in display.elts):
                return gast.copy_location(const(len(display.elts)), node)  # len(args)
            if isinstance(display, gast.Dict):
                return gast.copy_location(const(len(display.keys)), node)
        comprehension = len(node.args) == 1 and not node.keywords and isinstance(
            node.args[0], (gast.GeneratorExp, gast.ListComp))
        self.generic_visit(node)
        kind = {tuple: gast.Tuple, list: gast.List}.get(self.ctx.resolve(node.func)) \
            if comprehension else None
        if kind is not None:  # tuple(a * 2 for a in args), tuple([a * 2 for a in args])
            arg = node.args[0]
            items = self._unrolled(arg) if isinstance(arg, gast.GeneratorExp) else (
                arg.elts if isinstance(arg, gast.List) else None)  # (a list comprehension unrolled)
            if items is not None:
                return gast.copy_location(kind(elts=items, ctx=gast.Load()), node)
        args = []
        for a in node.args:
            items = self._items(a.value) if isinstance(a, gast.Starred) else None
            args.extend([a] if items is None else items)
        node.args = args
        keywords = []
        for k in node.keywords:
            items = self._keywords(k.value) if k.arg is None else None
            keywords.extend([k] if items is None else items)
        names = [k.arg for k in keywords if k.arg is not None]
        if len(set(names)) == len(names):  # (a repeated keyword is Python's TypeError)
            node.keywords = keywords
        return node

    def visit_ListComp(self, node):
        self.generic_visit(node)
        items = self._unrolled(node)
        if items is None:
            return node
        return gast.copy_location(gast.List(elts=items, ctx=gast.Load()), node)

    def _unrolled(self, comp):
        """The items of ``[elt for v in display]`` (one ``for``, no ``if``,
        over a display whose items are known), ``elt`` with each item in
        place of ``v``; None for any other comprehension."""
        if len(comp.generators) != 1:
            return None
        gen = comp.generators[0]
        if gen.ifs or gen.is_async or not isinstance(gen.target, gast.Name):
            return None
        items = self._items(gen.iter)
        if items is None or any(isinstance(item, gast.Starred) for item in items) or any(isinstance(n, (gast.Lambda, gast.ListComp, gast.SetComp,
                                               gast.DictComp, gast.GeneratorExp))
                                for n in walk_values(comp.elt)):
            return None
        return [_Substitute(gen.target.id, item).visit(clone(comp.elt)) for item in items]


def _constant_truth(test):
    """The truth of ``test`` when it compares int constants only (``3 == 2``,
    ``not 3 > 1 and 2 <= 2``), else None."""
    def value(node):
        if isinstance(node, gast.Constant) and type(node.value) in (int, bool):
            return node.value
        if isinstance(node, gast.Compare) and len(node.ops) == len(node.comparators):
            operands = [value(o) for o in [node.left, *node.comparators]]
            if None in operands:
                return None
            compare = {gast.Eq: int.__eq__, gast.NotEq: int.__ne__, gast.Lt: int.__lt__,
                       gast.LtE: int.__le__, gast.Gt: int.__gt__, gast.GtE: int.__ge__}
            results = []
            for op, a, b in zip(node.ops, operands, operands[1:]):
                fn = compare.get(type(op))
                if fn is None:
                    return None
                results.append(fn(int(a), int(b)))
            return all(results)
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.Not):
            inner = value(node.operand)
            return None if inner is None else not inner
        if isinstance(node, gast.BoolOp):
            values = [value(v) for v in node.values]
            if None in values:
                return None
            return all(values) if isinstance(node.op, gast.And) else any(values)
        return None

    result = value(test)
    return None if result is None else bool(result)


class _Substitute(Transformer):
    """``var`` replaced by (a copy of) ``value`` where it is read."""

    def __init__(self, var, value):
        self.var = var
        self.value = value

    def visit_Name(self, node):
        if node.id == self.var and isinstance(node.ctx, gast.Load):
            return clone(self.value)
        return node


def run(fn_node, ctx):
    known, sequenced, fixed = _known_displays(fn_node, ctx)
    # (a name bound by top-level statements alone: the display bound last, statement
    # by statement, and the comprehensions unrolled into displays count)
    current = dict(known)
    body = []
    for stmt in fn_node.body:
        stmt = _Unpack(current, fixed, ctx).visit(stmt)
        if isinstance(stmt, list):  # (an if the displays decide: the branch it takes)
            body.extend(s for s in stmt if not isinstance(s, gast.Pass))
            continue
        body.append(stmt)
        var = _single_assignment(stmt)
        if var in sequenced:
            value = stmt.value
            if _fixed_length(value) and (isinstance(value, gast.Tuple) or sequenced[var]):
                current[var] = value
            else:
                current.pop(var, None)
    fn_node.body = body
    return fn_node
