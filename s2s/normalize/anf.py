"""A-normal form: one operation per statement.

Expects the earlier passes (no comprehensions, no conditional expressions,
augmented assignment only to names). Guarantees that every statement is one of

- ``name = op`` where ``op`` is an *atom* (a name, a constant, a reference to
  a global such as ``xp.pi``) or one operation on atoms: a binary or unary
  operator, a call, a subscript, an attribute of a local, a tuple/list/dict
  display; or an expression whose value is a bool (a comparison), kept whole;
- ``a, b = atom`` (names only), ``base[index] = atom``, ``name op= atom``;
- ``expr_call`` statements, ``return atom``;
- ``if``/``while`` whose test is kept whole (it is evaluated on primals only),
  ``for target in iter`` where ``iter`` is an atom, ``range(...)``, or
  ``enumerate``/``zip``/``.items()`` of such iterables; ``with``, ``try``,
  ``break``, ``continue``, ``pass``, ``raise``, ``assert``, imports.

Indices stay readable: ``x[i + 1, ::-1]`` keeps its simple arithmetic, other
index expressions (masks, calls) are computed once into a temporary.
Every statement keeps the line of the statement it came from.

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x, w):\\n    return np.sum(np.sin(x) * w[1:, 0] ** 2)\\n", "anf"))
def f(x, w):
    _t0 = xp.sin(x)
    _t1 = w[1:, 0]
    _t2 = _t1 ** 2
    _t3 = _t0 * _t2
    _t4 = xp.sum(_t3)
    return _t4
"""

import gast

from ..context import name, store
from ..nodes import walk
from .augassign import trivial
from .expressions import boolean_valued
from .syntax import rejected

_SHAPE_ATTRIBUTES = {"shape", "ndim", "size", "dtype"}
_KEEP_WHOLE = (gast.Compare, gast.JoinedStr, gast.Set, gast.SetComp, gast.Lambda)


class _ANF:
    def __init__(self, ctx):
        self.ctx = ctx
        self.lineno = None

    # -- atoms and values ----------------------------------------------------

    def is_reference(self, e):
        """A global (non-local) name or attribute chain: ``xp.pi``, ``math.e``."""
        while isinstance(e, gast.Attribute):
            e = e.value
        return isinstance(e, gast.Name) and not self.ctx.is_local(e.id)

    def is_atom(self, e):
        if isinstance(e, gast.Tuple) and e.elts and all(
                self.is_atom(x) and not isinstance(x, (gast.Name, gast.Attribute))
                for x in e.elts):
            return True  # a literal tuple of constants: (0, 2), (3, -1)
        return (
            isinstance(e, (gast.Name, gast.Constant, gast.Lambda))
            or (isinstance(e, gast.Attribute) and self.is_reference(e))
            or (isinstance(e, gast.Attribute) and e.attr in _SHAPE_ATTRIBUTES
                and isinstance(e.value, gast.Name))
            or (isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub)
                and isinstance(e.operand, gast.Constant))
        )

    def atom(self, e, out):
        if self.is_atom(e):
            return e
        value = self.value(e, out)
        tmp = self.ctx.temp()
        out.append(self._assign(store(tmp), value))
        return name(tmp)

    def value(self, e, out):
        if isinstance(e, gast.Compare) and len(e.ops) == 1:
            # an assigned comparison is one operation on atoms (a mask); tests
            # of if/while are never values and stay whole
            e.left = self.atom(e.left, out)
            e.comparators = [self.atom(c, out) for c in e.comparators]
            return e
        if self.is_atom(e) or isinstance(e, _KEEP_WHOLE) or (
                boolean_valued(e) and not isinstance(e, gast.Call)):
            return e  # any(...), all(...), isinstance(...): their arguments become atoms
        if isinstance(e, gast.BinOp):
            e.left = self.atom(e.left, out)
            e.right = self.atom(e.right, out)
        elif isinstance(e, gast.UnaryOp):
            e.operand = self.atom(e.operand, out)
        elif isinstance(e, gast.Call):
            self._call(e, out)
        elif isinstance(e, gast.Subscript):
            e.value = self.atom(e.value, out)
            e.slice = self.index(e.slice, out)
        elif isinstance(e, gast.Attribute):
            e.value = self.atom(e.value, out)
        elif isinstance(e, (gast.Tuple, gast.List)):
            e.elts = [self._elt(v, out) for v in e.elts]
        elif isinstance(e, gast.Dict):
            e.keys = [None if k is None else self.atom(k, out) for k in e.keys]
            e.values = [self.atom(v, out) for v in e.values]
        elif isinstance(e, gast.Starred):
            e.value = self.atom(e.value, out)
        elif not rejected(e):  # the syntax pass reported those already
            self.ctx.report(self.ctx.unsupported(
                e, f"s2s cannot differentiate the expression {type(e).__name__}"
            ))
        return e

    def _elt(self, e, out):
        if isinstance(e, gast.Starred):
            e.value = self.atom(e.value, out)
            return e
        return self.atom(e, out)

    def _call(self, e, out):
        func = e.func
        if isinstance(func, gast.Attribute) and not self.is_reference(func):
            func.value = self.atom(func.value, out)  # a method: lst.append, x.astype
        elif not isinstance(func, (gast.Name, gast.Attribute)):
            e.func = self.atom(func, out)
        e.args = [self._elt(a, out) for a in e.args]
        for kw in e.keywords:
            kw.value = self.atom(kw.value, out)

    def index(self, s, out):
        if isinstance(s, gast.Slice):
            s.lower, s.upper, s.step = (self._index_part(p, out) for p in (s.lower, s.upper, s.step))
            return s
        if isinstance(s, gast.Tuple):
            s.elts = [self.index(e, out) for e in s.elts]
            return s
        return self._index_part(s, out)

    def _index_part(self, e, out):
        if e is None or trivial(e):
            return e
        return self.atom(e, out)

    # -- statements ------------------------------------------------------------

    def _assign(self, target, value):
        node = gast.Assign(targets=[target], value=value, type_comment=None)
        node.lineno = self.lineno
        return node

    def body(self, stmts):
        out = []
        for s in stmts:
            saved = self.lineno
            self.lineno = s.lineno
            out.extend(self.stmt(s))
            self.lineno = saved
        return out

    def stmt(self, s):
        out = []
        handler = getattr(self, "stmt_" + type(s).__name__, None)
        if handler is None:
            out.append(s)
        else:
            result = handler(s, out)
            if result is not None:
                out.append(result)
        for node in out:
            if getattr(node, "lineno", None) is None:
                node.lineno = s.lineno
        return out

    def stmt_Assign(self, s, out):
        if len(s.targets) == 1 and isinstance(s.targets[0], gast.Name):
            s.value = self.value(s.value, out)
            return s
        pairs = self._parallel(s.targets, s.value) if len(s.targets) == 1 else None
        if pairs is not None:  # x, y = u[0], u[1]: one assignment each, no tuple built
            for target, value in pairs:
                out.append(self.stmt_Assign(self._assign(target, value), out))
            return None
        value = self.atom(s.value, out)
        for target in s.targets:
            self.assign_to(target, value, out)
        return None

    def _parallel(self, targets, value):
        """``[(name, value)]`` when ``a, (b, c) = x, (y, 1.0)`` means the same
        one name at a time: displays of the same shape on both sides, no
        name assigned twice, and none read on the right (nor a local function
        called there, which might read one)."""
        pairs = []

        def match(t, v):
            if isinstance(v, gast.Starred):
                return False
            if isinstance(t, gast.Name):
                pairs.append((t, v))
                return True
            return isinstance(t, (gast.Tuple, gast.List)) and isinstance(v, (gast.Tuple, gast.List)) \
                and len(t.elts) == len(v.elts) and all(map(match, t.elts, v.elts))

        if not (isinstance(targets[0], (gast.Tuple, gast.List)) and match(targets[0], value)):
            return None
        names = {t.id for t, _ in pairs}
        if len(names) < len(pairs):
            return None
        for n in walk(value):
            if isinstance(n, gast.Name) and n.id in names or isinstance(n, gast.NamedExpr):
                return None
            if isinstance(n, gast.Call):
                root = n.func
                while isinstance(root, gast.Attribute):
                    root = root.value
                if isinstance(root, gast.Name) and self.ctx.is_local(root.id):
                    return None
        return pairs

    def stmt_AnnAssign(self, s, out):
        if s.value is None:
            return None
        return self.stmt_Assign(gast.Assign(targets=[s.target], value=s.value, type_comment=None), out)

    def assign_to(self, target, value, out):
        if isinstance(target, gast.Name):
            out.append(self._assign(target, value))
        elif isinstance(target, (gast.Tuple, gast.List)):
            elts, later = [], []
            for elt in target.elts:
                if isinstance(elt, gast.Name):
                    elts.append(elt)
                else:
                    tmp = self.ctx.temp()
                    elts.append(store(tmp))
                    later.append((elt, name(tmp)))
            out.append(self._assign(gast.Tuple(elts=elts, ctx=gast.Store()), value))
            for elt, tmp in later:
                self.assign_to(elt, tmp, out)
        elif isinstance(target, gast.Subscript):
            target.value = self.atom(target.value, out)
            target.slice = self.index(target.slice, out)
            out.append(self._assign(target, value))
        elif isinstance(target, gast.Attribute):
            target.value = self.atom(target.value, out)
            out.append(self._assign(target, value))
        elif not rejected(target) and not isinstance(target, gast.Starred):
            self.ctx.report(
                self.ctx.unsupported(target, f"s2s cannot assign to {type(target).__name__}"))

    def stmt_AugAssign(self, s, out):
        s.value = self.atom(s.value, out)
        return s

    def stmt_Expr(self, s, out):
        if isinstance(s.value, gast.Constant):
            return None  # docstring or a bare constant
        s.value = self.value(s.value, out)
        return s

    def stmt_Return(self, s, out):
        if s.value is not None:
            s.value = self.atom(s.value, out)
        return s

    def stmt_If(self, s, out):
        s.body = self.body(s.body)
        s.orelse = self.body(s.orelse)
        return s

    stmt_While = stmt_If

    def stmt_For(self, s, out):
        for node in walk(s.target):
            if isinstance(node, (gast.Subscript, gast.Attribute)):
                self.ctx.report(self.ctx.unsupported(
                    s, "s2s needs plain names as for-loop targets",
                    "loop over a name and assign inside the loop",
                ))
                s.target = store(self.ctx.temp())  # collecting problems: go on
                break
        s.iter = self.iterable(s.iter, out)
        s.body = self.body(s.body)
        s.orelse = self.body(s.orelse)
        return s

    def iterable(self, e, out):
        if isinstance(e, gast.Call) and isinstance(e.func, gast.Name) and not self.ctx.is_local(e.func.id):
            fname = e.func.id
            if fname == "reversed" and len(e.args) == 1:
                e.args = [self.atom(e.args[0], out)]
                return e
            if fname in ("enumerate", "zip"):
                e.args = [self.iterable(a, out) for a in e.args]
                for kw in e.keywords:
                    kw.value = self.atom(kw.value, out)
                return e
            if fname == "range":
                return e
        if (
            isinstance(e, gast.Call)
            and isinstance(e.func, gast.Attribute)
            and e.func.attr == "items"
            and not e.args
            and not self.is_reference(e.func)
        ):
            e.func.value = self.atom(e.func.value, out)
            return e
        return self.atom(e, out)

    def stmt_With(self, s, out):
        for item in s.items:
            if item.optional_vars is not None and not isinstance(item.optional_vars, gast.Name):
                self.ctx.report(self.ctx.unsupported(
                    s, "s2s needs a plain name after 'with ... as'",
                    "write 'with ... as v:' and unpack v inside the block"))
                item.optional_vars = store(self.ctx.temp())  # collecting problems: go on
        s.body = self.body(s.body)
        return s

    def stmt_Try(self, s, out):
        s.body = self.body(s.body)
        for h in s.handlers:
            h.body = self.body(h.body)
        s.orelse = self.body(s.orelse)
        s.finalbody = self.body(s.finalbody)
        return s


def run(fn_node, ctx):
    fn_node.body = _ANF(ctx).body(fn_node.body)
    return fn_node
