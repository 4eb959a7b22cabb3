"""The lists and dicts a function builds, and which of their items are lists,
dicts or tuples themselves.

An update of an item of one (``rows[1] += v``) changes the array it holds in
place, and a store puts the value itself there (``d["a"] = y``): the
augmented-assignment pass, the alias analysis and the batcher ask which
names hold such lists and dicts (:func:`container_names`). One may hold
others (``rows = [[a, b], [c]]``, ``state = {"m": {"w": w}, "t": 0}``): a name
bound to such an item holds one too (``inner = rows[0]``, or A-normal form's
``_t0 = rows[0]`` of ``rows[0][1] += v``), and so does a loop's target over
them (``for r in rows``), and one given an item with a string key
(``m = p["m"]; m["w"] = v``: only a dict takes one).

Flow-insensitive: an item counts as a list, dict or tuple only when every
value the function may put there is one (a display's entry, ``c[k] = v``,
``c.append(v)``, ``c.setdefault(k, v)``), through any name for the same
container (``inner = rows[0]; inner[1] = y`` puts ``y`` into ``rows[0]``).
Keys are told apart for string constants alone (``state["m"]`` from
``state["t"]``); a list's positions are not (``rows[-1]`` may be ``rows[0]``).
What anything else builds, and a parameter, holds items not known here.

>>> import gast
>>> fn = gast.parse('''def f(x):
...     state = {"m": {"w": x}, "t": 0}
...     m = state["m"]
...     t = state["t"]
...     rows = [[x, x], (x,)]
...     for r in rows:
...         r[0] += x
...     mixed = [[x], x]
...     a = mixed[0]''').body[0]
>>> found = Containers(walk(fn), None)
>>> sorted(found.names)
['m', 'mixed', 'r', 'rows', 'state']
>>> [found.holds_items(gast.parse(e).body[0].value) for e in ("rows[1]", "state['t']", "mixed[0]")]
[True, False, False]
"""

import types

import gast
import numpy

from .frontend import MISSING
from .nodes import walk

# calls that make a new list or dict (of items not known here)
_MAKES_CONTAINERS = {list, dict, numpy.split, numpy.array_split, numpy.hsplit, numpy.vsplit,
                     numpy.dsplit}
_DISPLAYS = (gast.List, gast.Dict, gast.Tuple)
# methods that put their last argument into their receiver (with the first as
# its key when they take two): how many arguments they take; the others put
# items not known here
_PUTS_ONE = {"append": 1, "insert": 2, "setdefault": 2, "__setitem__": 2}
_PUTS_SOME = {"extend", "update"}
_ANY = None  # a key not known, or a list's position: any item


def container_names(nodes, ctx):
    """``(containers, copies)``: the names ``nodes`` (the function's) bind to
    a list or dict (a display, ``list(...)``, ``dict(...)``, ``np.split``
    and its kin, another such name, or an item of one that is a list, dict
    or tuple itself), and the names bound to a shallow copy of a name
    (``dict(p)``, ``list(p)``, ``p.copy()``: their arrays are ``p``'s), each
    to the name it copies."""
    found = Containers(nodes, ctx)
    return found.names, found.copies


class Containers:
    """:func:`container_names` as :attr:`names` and :attr:`copies`, and
    :meth:`holds_items` for an expression (``rows[0]`` before A-normal form)."""

    def __init__(self, nodes, ctx):
        self.ctx = ctx
        self.copies = {}  # a shallow copy's name -> the name it copies
        self.names = set()
        self.sure = set()  # names every value bound to which is a list, dict or tuple
        self.bindings = {}  # name -> its values; (iterable,) for a loop's target, None unknown
        self.puts = []  # (container, key, value or None): what goes into containers
        self.parent = {}  # names and displays of one container (union-find)
        for node in nodes:
            self._collect(node)
        self._solve()

    def holds_items(self, expr):
        """Whether ``expr`` is a list, dict or tuple of the function's: a
        display, a name of :attr:`names`, or an item of one that is one."""
        if isinstance(expr, _DISPLAYS):
            return True
        if isinstance(expr, gast.Name):
            return expr.id in self.sure
        if isinstance(expr, gast.Subscript):
            items = self._select(expr.value, _key(expr.slice))
            return bool(items) and all(self.holds_items(v) for v in items)
        return False

    # -- what the function binds and puts -------------------------------------------

    def _collect(self, node):
        if isinstance(node, gast.Assign):
            target, value = node.targets[0], node.value
            if isinstance(target, gast.Subscript):  # (rows[1:] = [a]: a goes in, not [a])
                self.puts.append((target.value, _key(target.slice),
                                  None if isinstance(target.slice, gast.Slice) else value))
            elif isinstance(target, gast.Name):
                self._bind(target.id, value)
            else:
                self._unknown(target)  # (unpacked)
        elif isinstance(node, gast.For):
            self._loop(node.iter, node.target)
        elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            self.puts.append((node.target, _ANY, None))  # (rows += more)
        elif isinstance(node, gast.Call):
            self._call(node)

    def _call(self, node):
        """What a method puts into its receiver; and the names a function of
        the user's (or one not known) gets, which it may put anything into."""
        func, args = node.func, node.args
        if isinstance(func, gast.Attribute) and func.attr in _PUTS_ONE:
            value = args[-1] if len(args) == _PUTS_ONE[func.attr] else None
            self.puts.append((func.value, _key(args[0]) if len(args) == 2 else _ANY, value))
        elif isinstance(func, gast.Attribute) and func.attr in _PUTS_SOME:
            self.puts.append((func.value, _ANY, None))
        elif self.ctx is not None and self._may_put(func):
            for arg in args + [k.value for k in node.keywords]:
                if isinstance(arg, gast.Name):
                    self.puts.append((arg, _ANY, None))

    def _may_put(self, func):
        """Whether a call of ``func`` may put items into the lists and dicts
        it gets: a function of the user's, a bound method, or one not known
        (not a method of a local, which the other cases here cover)."""
        from .analysis import user_function  # (analysis reads this module)

        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
                and self.ctx.is_local(func.value.id):
            return False
        obj = self.ctx.resolve(func)
        return obj is MISSING or user_function(obj) or isinstance(obj, types.MethodType)

    def _loop(self, it, target):
        """A loop's targets as items of what it runs over: ``for r in rows``,
        ``for i, r in enumerate(rows)``, ``for r, r_dot in zip(rows, rows_dot)``."""
        from .analysis import iteration  # (analysis reads this module)

        kind, parts = iteration(it, self.ctx) if self.ctx is not None else ("atom", it)
        pair = isinstance(target, (gast.Tuple, gast.List))
        if kind in ("atom", "reversed") and isinstance(target, gast.Name):
            self.bindings.setdefault(target.id, []).append((parts,))
        elif kind == "enumerate" and pair and len(target.elts) == 2:
            self._unknown(target.elts[0])
            self._loop(parts, target.elts[1])
        elif kind == "zip" and pair and len(target.elts) == len(parts):
            for part, elt in zip(parts, target.elts):
                self._loop(part, elt)
        else:
            self._unknown(target)

    def _unknown(self, target):
        for n in walk(target):
            if isinstance(n, gast.Name):
                self.bindings.setdefault(n.id, []).append(None)

    def _bind(self, target, value):
        self.bindings.setdefault(target, []).append(value)
        if isinstance(value, gast.Call):
            func = value.func
            if len(value.args) == 1 and isinstance(value.args[0], gast.Name) \
                    and self._resolve(func) in (list, dict):
                self.copies[target] = value.args[0].id
            elif isinstance(func, gast.Attribute) and func.attr == "copy" \
                    and isinstance(func.value, gast.Name) and not value.args:
                self.copies[target] = func.value.id
            if self._resolve(func) in _MAKES_CONTAINERS:
                self.names.add(target)
        elif isinstance(value, (gast.List, gast.Dict)):
            self.names.add(target)
        if isinstance(value, (gast.Name, *_DISPLAYS)):
            self._union(target, value)
        if isinstance(value, _DISPLAYS):
            self._display(value)

    def _display(self, node):
        """Put the entries of a display, and of the displays in it, into it."""
        if isinstance(node, gast.Dict):  # (a key None: **other, items not known)
            entries = [(_key(k), v) if k is not None else (_ANY, None)
                       for k, v in zip(node.keys, node.values)]
        else:
            entries = [(_ANY, None if isinstance(v, gast.Starred) else v) for v in node.elts]
        for key, value in entries:
            self.puts.append((node, key, value))
            if isinstance(value, _DISPLAYS):
                self._display(value)

    def _resolve(self, func):
        return self.ctx.resolve(func) if self.ctx is not None else None

    # -- union-find over names and displays ---------------------------------------

    def _find(self, x):
        if isinstance(x, gast.Name):
            x = x.id
        parent = self.parent
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]  # (halving the path)
            x = parent[x]
        return x

    def _union(self, a, b):
        ra, rb = self._find(a), self._find(b)
        if ra == rb:
            return False
        self.parent[ra] = rb
        return True

    # -- solving --------------------------------------------------------------------

    def _solve(self):
        """Until nothing changes: each name bound to an item that is a
        container joins that container, a put through an item
        (``rows[0][1] = y``) goes into it, and a name joins :attr:`names`
        when bound to another of them (``rows2 = rows``) or when every value
        it is bound to is a container (:attr:`sure`: a display, an item of one
        that is one...). A name given an item with a string key (``m["w"] =
        v``) is a dict too."""
        seen = {(id(c), k, id(v)) for c, k, v in self.puts}
        self.names |= {base.id for base, key, _ in self.puts  # (only a dict takes a string key)
                       if isinstance(base, gast.Name) and key is not _ANY and base.id in self.bindings}
        self.sure = {t for t, values in self.bindings.items()
                     if all(isinstance(v, _DISPLAYS) for v in values)}
        while True:
            self._classes()
            changed = False
            for target, values in self.bindings.items():
                for value in values:
                    for item in self._items_bound(value) or ():
                        if self.holds_items(item):
                            changed |= self._union(target, item)
            for base, key, value in list(self.puts):
                if isinstance(base, gast.Subscript):
                    for item in self._select(base.value, _key(base.slice)) or ():
                        if self.holds_items(item) and (id(item), key, id(value)) not in seen:
                            seen.add((id(item), key, id(value)))
                            self.puts.append((item, key, value))
                            changed = True
            sure = {t for t, values in self.bindings.items() if t not in self.sure
                    and all(v is not None and self.holds_items(_as_value(v)) for v in values)}
            named = {t for t, values in self.bindings.items() if t not in self.names
                     and any(isinstance(v, gast.Name) and v.id in self.names for v in values)}
            if not (changed or sure or named):
                self.names |= self.sure
                return
            self.sure |= sure
            self.names |= named | sure

    def _classes(self):
        """``entries``: for each container's root, the (key, value) pairs put
        into it; None where they are not all known (a name of it bound to
        anything but a display, a name or an item, or never bound here: a
        parameter)."""
        self.entries = {}
        for base, key, value in self.puts:
            if isinstance(base, (gast.Name, *_DISPLAYS)):
                self.entries.setdefault(self._find(base), []).append((key, value))
        for member in list(self.parent):
            if isinstance(member, str) and not all(
                    isinstance(v, (gast.Name, gast.Subscript, tuple, *_DISPLAYS))
                    for v in self.bindings.get(member) or [None]):
                self.entries[self._find(member)] = None

    def _items_bound(self, value):
        """The items a binding may be: of ``c[k]``, of a loop over ``c``."""
        if isinstance(value, tuple):
            return self._select(value[0], _ANY)
        if isinstance(value, gast.Subscript):
            return self._select(value.value, _key(value.slice))
        return None

    def _select(self, base, key):
        """The values ``base[key]`` may be; None where not all are known."""
        if isinstance(base, gast.Subscript):
            found = []
            for item in self._select(base.value, _key(base.slice)) or [None]:
                inner = self._select(item, key) if self.holds_items(item) else None
                if inner is None:
                    return None
                found.extend(inner)
            return found
        if isinstance(base, gast.Name) and base.id not in self.parent \
                or not isinstance(base, (gast.Name, *_DISPLAYS)):
            return None
        entries = self.entries.get(self._find(base), [])
        if entries is None:
            return None
        return [v for k, v in entries if key is _ANY or k is _ANY or k == key]


def _as_value(binding):
    """A loop target's binding as the item it is (``c[...]``), else the value."""
    if isinstance(binding, tuple):
        return gast.Subscript(value=binding[0], slice=gast.Constant(value=None, kind=None),
                              ctx=gast.Load())
    return binding


def _key(index):
    """A string constant index; else :data:`_ANY`."""
    if isinstance(index, gast.Constant) and type(index.value) is str:
        return index.value
    return _ANY
