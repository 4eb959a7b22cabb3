"""Conditional expressions, value-returning ``and``/``or`` and comprehensions
become statements.

Expects the function after method desugaring. Guarantees that the values of
assignments, returns, expression statements and ``for`` iterables contain no
``IfExp``, no ``BoolOp`` that can return a non-boolean operand, and no list,
dict or generator comprehension. Tests of ``if``/``while``/``assert`` are left
whole: they are evaluated on primal values only. Comprehension variables are
renamed when the name is used elsewhere in the function. ``map(f, x)``
becomes the list of ``f`` of each item (a list, not a lazy iterator), and
``functools.reduce(f, x)`` a loop that folds the items with ``f``.

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x, c):\\n    return sum([v * 2 for v in x if v > 0]) if c else x\\n",
...            "expressions"))
def f(x, c):
    if c:
        _t1 = []
        for v in x:
            if v > 0:
                _t1.append(v * 2)
        _t0 = sum(_t1)
    else:
        _t0 = x
    return _t0
"""

import functools

import gast

from ..context import _walk_scope, assign, call, const, name
from ..nodes import VALUE_FIELDS, Transformer, clone, walk

_BOOL_CALLS = {"isinstance", "callable", "hasattr", "all", "any", "bool", "allclose",
               "isclose", "array_equal", "issubdtype", "isscalar"}
_COMPREHENSIONS = (gast.ListComp, gast.GeneratorExp, gast.DictComp)


def boolean_valued(node):
    """True when ``node`` certainly evaluates to a bool (so it carries no tangent)."""
    if isinstance(node, (gast.Compare,)):
        return True
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.Not):
        return True
    if isinstance(node, gast.Constant) and isinstance(node.value, bool):
        return True
    if isinstance(node, gast.BoolOp):
        return all(boolean_valued(v) for v in node.values)
    if isinstance(node, gast.Call):
        f = node.func
        fname = f.id if isinstance(f, gast.Name) else getattr(f, "attr", None)
        return fname in _BOOL_CALLS
    return False


class _Hoister:
    def __init__(self, ctx, outer_names):
        self.ctx = ctx
        self.outer_names = outer_names

    # -- statements --------------------------------------------------------

    def body(self, stmts):
        out = []
        for stmt in stmts:
            out.extend(self.stmt(stmt))
        return out

    def stmt(self, s):
        pre = []
        if isinstance(s, (gast.Assign, gast.AugAssign, gast.AnnAssign, gast.Return, gast.Expr)):
            if s.value is not None:
                s.value = self.expr(s.value, pre)
        elif isinstance(s, gast.For):
            s.iter = self.expr(s.iter, pre)
        for field in ("body", "orelse", "finalbody"):
            if isinstance(getattr(s, field, None), list):
                setattr(s, field, self.body(getattr(s, field)))
        if isinstance(s, gast.Try):
            for handler in s.handlers:
                handler.body = self.body(handler.body)
        _locate(pre, s.lineno)
        return pre + [s]

    # -- expressions -------------------------------------------------------

    def expr(self, e, pre):
        if e.__class__ is gast.Name or e.__class__ is gast.Constant:  # most: nothing inside
            return e
        if isinstance(e, gast.IfExp):
            return self._ifexp(e, pre)
        if isinstance(e, gast.BoolOp) and not boolean_valued(e):
            return self._boolop(e, pre)
        if isinstance(e, _COMPREHENSIONS):
            return self._comprehension(e, pre)
        if self._is_map(e):
            return self._map(e, pre)
        if self._is_reduce(e):
            return self._reduce(e, pre)
        if isinstance(e, (gast.Lambda, gast.SetComp)) or boolean_valued(e):
            return e
        for field in VALUE_FIELDS[e.__class__]:  # contexts and operators hold nothing
            value = getattr(e, field, None)
            if isinstance(value, gast.expr):
                setattr(e, field, self.expr(value, pre))
            elif isinstance(value, list):
                setattr(
                    e,
                    field,
                    [self.expr(v, pre) if isinstance(v, gast.expr) else self._kw(v, pre) for v in value],
                )
        return e

    def _kw(self, node, pre):
        if isinstance(node, gast.keyword):
            node.value = self.expr(node.value, pre)
        return node

    def _ifexp(self, e, pre):
        test = self.expr(e.test, pre)
        tmp = self.ctx.temp()
        body, orelse = [], []
        body.append(assign(tmp, self.expr(e.body, body)))
        orelse.append(assign(tmp, self.expr(e.orelse, orelse)))
        pre.append(gast.If(test=test, body=body, orelse=orelse))
        return name(tmp)

    def _boolop(self, e, pre):
        # a or b: tmp = a; if not tmp: tmp = b   |   a and b: tmp = a; if tmp: tmp = b
        tmp = self.ctx.temp()
        pre.append(assign(tmp, self.expr(e.values[0], pre)))
        current = pre
        for value in e.values[1:]:
            test = name(tmp)
            if isinstance(e.op, gast.Or):
                test = gast.UnaryOp(op=gast.Not(), operand=test)
            inner = []
            inner.append(assign(tmp, self.expr(value, inner)))
            current.append(gast.If(test=test, body=inner, orelse=[]))
            current = inner
        return name(tmp)

    def _is_map(self, e):
        return isinstance(e, gast.Call) and len(e.args) >= 2 and not e.keywords \
            and not any(isinstance(a, gast.Starred) for a in e.args) \
            and self.ctx.resolve(e.func) is map

    def _map(self, e, pre):
        """``map(f, a, b)`` -> the list ``[f(_t1, _t2) for _t1, _t2 in zip(a, b)]``
        (``f`` computed once; a lambda's body written in), whose items the
        passes follow."""
        fn, *iterables = e.args
        params = fn.args if isinstance(fn, gast.Lambda) else None
        if params is not None and not (params.posonlyargs or params.vararg or params.kwonlyargs
                                       or params.kwarg or params.defaults) \
                and len(params.args) == len(iterables):
            # map(lambda r: r * 2, x) -> [r * 2 for r in x]
            items, elt = [a.id for a in params.args], fn.body
        else:
            if not isinstance(fn, (gast.Name, gast.Attribute)):
                tmp = self.ctx.temp()
                pre.append(assign(tmp, self.expr(fn, pre)))
                fn = name(tmp)
            items = [self.ctx.temp() for _ in iterables]
            elt = call(fn, [name(i) for i in items])
        if len(items) == 1:
            target, it = gast.Name(id=items[0], ctx=gast.Store(), annotation=None,
                                   type_comment=None), iterables[0]
        else:
            target = gast.Tuple(elts=[gast.Name(id=i, ctx=gast.Store(), annotation=None,
                                                type_comment=None) for i in items],
                                ctx=gast.Store())
            it = call(name("zip"), iterables)
        loop = gast.comprehension(target=target, iter=it, ifs=[], is_async=0)
        return self._comprehension(gast.ListComp(elt=elt, generators=[loop]), pre)

    def _is_reduce(self, e):
        return isinstance(e, gast.Call) and len(e.args) in (2, 3) and not e.keywords \
            and not any(isinstance(a, gast.Starred) for a in e.args) \
            and self.ctx.resolve(e.func) is functools.reduce

    def _reduce(self, e, pre):
        """``functools.reduce(f, xs)`` -> a loop over the items, whose values
        the passes follow: ``_t1 = list(xs)``, ``_t2 = _t1[0]``, then ``for
        _t3 in _t1[1:]: _t2 = f(_t2, _t3)`` (from the initial value over all
        of them, when one is given; a lambda's body written in)."""
        fn, items, *initial = e.args
        params = fn.args if isinstance(fn, gast.Lambda) else None
        inline = params is not None and not (params.posonlyargs or params.vararg
                                             or params.kwonlyargs or params.kwarg
                                             or params.defaults) and len(params.args) == 2
        if not inline and not isinstance(fn, (gast.Name, gast.Attribute)):
            tmp = self.ctx.temp()
            pre.append(assign(tmp, self.expr(fn, pre)))
            fn = name(tmp)
        seq, acc, item = self.ctx.temp(), self.ctx.temp(), self.ctx.temp()
        pre.append(assign(seq, call(name("list"), [self.expr(items, pre)])))
        if initial:
            pre.append(assign(acc, self.expr(initial[0], pre)))
            rest = name(seq)
        else:
            pre.append(assign(acc, gast.Subscript(value=name(seq), slice=const(0),
                                                  ctx=gast.Load())))
            rest = gast.Subscript(value=name(seq), slice=gast.Slice(
                lower=const(1), upper=None, step=None), ctx=gast.Load())
        body = []
        if inline:
            step = _Rename({params.args[0].id: acc, params.args[1].id: item}).visit(
                clone(fn.body))
        else:
            step = call(fn, [name(acc), name(item)])
        body.append(assign(acc, self.expr(step, body)))
        target = gast.Name(id=item, ctx=gast.Store(), annotation=None, type_comment=None)
        pre.append(gast.For(target=target, iter=rest, body=body, orelse=[], type_comment=None))
        return name(acc)

    def _comprehension(self, e, pre):
        tmp = self.ctx.temp()
        is_dict = isinstance(e, gast.DictComp)
        empty = gast.Dict(keys=[], values=[]) if is_dict else gast.List(elts=[], ctx=gast.Load())
        pre.append(assign(tmp, empty))
        renames = {}
        for gen in e.generators:
            for node in walk(gen.target):
                if isinstance(node, gast.Name) and node.id not in renames:
                    new = node.id
                    if node.id in self.outer_names:
                        new = self.ctx.namer.fresh(node.id)
                    renames[node.id] = new
                    self.ctx.add_local(new)
        _Rename(renames).visit(e)
        current = pre
        for gen in e.generators:
            loop_body = []
            it = self.expr(gen.iter, current)
            loop = gast.For(target=gen.target, iter=it, body=loop_body, orelse=[], type_comment=None)
            current.append(loop)
            current = loop_body
            for cond in gen.ifs:
                inner = []
                current.append(gast.If(test=cond, body=inner, orelse=[]))
                current = inner
        if is_dict:
            key = self.expr(e.key, current)
            value = self.expr(e.value, current)
            target = gast.Subscript(value=name(tmp), slice=key, ctx=gast.Store())
            current.append(gast.Assign(targets=[target], value=value, type_comment=None))
        else:
            elt = self.expr(e.elt, current)
            append = gast.Attribute(value=name(tmp), attr="append", ctx=gast.Load())
            current.append(gast.Expr(value=call(append, [elt])))
        return name(tmp)


class _Rename(Transformer):
    def __init__(self, renames):
        self.renames = renames

    def visit_Name(self, node):
        if node.id in self.renames:
            node.id = self.renames[node.id]
        return node


def _locate(stmts, lineno):
    for stmt in stmts:
        for sub in walk(stmt):
            if isinstance(sub, gast.stmt):
                sub.lineno = lineno


def _outer_names(fn_node):
    return {n.id for n in _walk_scope(fn_node) if isinstance(n, gast.Name)}


def run(fn_node, ctx):
    fn_node.body = _Hoister(ctx, _outer_names(fn_node)).body(fn_node.body)
    return fn_node



