"""``*args`` and ``**kwargs`` of a call spelled out where the function shows their items.

Expects the user's function as parsed. Guarantees that a starred display is
spliced into its call (``f(*(a, b))`` is ``f(a, b)``, ``f(**{"axis": 0})`` is
``f(axis=0)``), and that a name bound once, to a tuple display or to a list or
dict display that is only ever unpacked into calls, is passed item by item
(``args = (v, w); f(*args)`` calls ``f(args[0], args[1])``). Rules and the
user's functions then see each argument in its place; a call that still passes
``*args`` or ``**kwargs`` is refused where its arguments must be told apart.

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x):\\n    args = (x, 2.0)\\n    kw = {'axis': 0}\\n"
...            "    return np.sum(np.multiply(*args), **kw) + np.dot(*(x, x))\\n", "unpack"))
def f(x):
    args = (x, 2.0)
    kw = {'axis': 0}
    return np.sum(np.multiply(args[0], args[1]), axis=kw['axis']) + np.dot(x, x)
"""

import gast

from ..analysis import binding_counts
from ..context import const, name
from ..nodes import Transformer, walk_values


def _item(base, key):
    return gast.Subscript(value=name(base), slice=const(key), ctx=gast.Load())


def _keys(display):
    """The keys of a dict display when they can be keyword names (distinct
    identifiers, written as strings), else None."""
    keys = [k.value if isinstance(k, gast.Constant) else None for k in display.keys]
    if all(isinstance(k, str) and k.isidentifier() for k in keys) and len(set(keys)) == len(keys):
        return keys
    return None


def _known_displays(fn_node):
    """name -> display, for the names whose items a call can read in place:
    bound once (parameters, loops and deletions count), to a tuple display,
    or to a list or dict display that is read only as ``*name``/``**name``
    of calls (nothing can change its length or keys)."""
    nodes = walk_values(fn_node)
    bindings, loaded, unpacked, assigned = binding_counts(nodes), {}, set(), {}
    for node in nodes:
        if isinstance(node, gast.Name):
            if isinstance(node.ctx, gast.Load):
                loaded.setdefault(node.id, []).append(id(node))
        elif isinstance(node, gast.Call):
            unpacked.update(id(a.value) for a in node.args if isinstance(a, gast.Starred))
            unpacked.update(id(k.value) for k in node.keywords if k.arg is None)
        elif isinstance(node, gast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], gast.Name):
            assigned[node.targets[0].id] = node.value
    known = {}
    for var, value in assigned.items():
        if bindings.get(var) != 1:
            continue
        if isinstance(value, gast.Dict):
            fixed = None not in value.keys and _keys(value) is not None
        else:
            fixed = isinstance(value, (gast.Tuple, gast.List)) and not any(
                isinstance(e, gast.Starred) for e in value.elts)
        if fixed and (isinstance(value, gast.Tuple)
                      or all(n in unpacked for n in loaded.get(var, []))):
            known[var] = value
    return known


class _Unpack(Transformer):
    def __init__(self, known):
        self.known = known

    def _items(self, value):
        """The arguments ``*value`` stands for, or None."""
        if isinstance(value, (gast.Tuple, gast.List)):
            return list(value.elts)
        display = self.known.get(getattr(value, "id", None))
        if isinstance(display, (gast.Tuple, gast.List)):
            return [_item(value.id, i) for i in range(len(display.elts))]
        return None

    def _keywords(self, value):
        """The keyword arguments ``**value`` stands for, or None."""
        if isinstance(value, gast.Dict):
            keys = None if None in value.keys else _keys(value)
            return None if keys is None else [
                gast.keyword(arg=k, value=v) for k, v in zip(keys, value.values)]
        display = self.known.get(getattr(value, "id", None))
        if isinstance(display, gast.Dict):
            return [gast.keyword(arg=k, value=_item(value.id, k)) for k in _keys(display)]
        return None

    def visit_Call(self, node):
        self.generic_visit(node)
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


def run(fn_node, ctx):
    return _Unpack(_known_displays(fn_node)).visit(fn_node)
