"""Expanding rule templates into tangent statements, with symbolic zeros.

A template's body is copied with its parameters replaced by the call's atoms,
its tangent parameters by the tangents (or :class:`ZeroNode` for an argument
that carries none), its local variables by fresh temporaries, and its global
references (``np.cos``) by the names generated code uses (``xp.cos``). Then
zeros are simplified away: ``x_dot * y + x * 0`` is ``x_dot * y``; a call of a
linear primitive on zeros is zero; a zero left inside any other expression is
materialised as ``xp.zeros_like(x)`` (or ``0.0`` for a constant).
"""


import gast

from ..frontend import MISSING
from ..nodes import VALUE_FIELDS, Transformer, clone

_MISSING = MISSING


class ZeroNode(gast.expr):
    """A tangent known to be zero; ``of`` is the primal atom it is the tangent
    of (gives the shape when the zero must be materialised; ``number``: it is
    a Python number, whose zero is 0.0)."""

    _fields = ()

    def __init__(self, of=None, number=False):
        super().__init__()
        self.of = of
        self.number = number


def is_zero(node):
    return isinstance(node, ZeroNode)


def resolve_in(globals_, node):
    """Resolve a Name/Attribute chain of a template in its module's globals."""
    import builtins

    if isinstance(node, gast.Name):
        if node.id in globals_:
            return globals_[node.id]
        return getattr(builtins, node.id, _MISSING)
    if isinstance(node, gast.Attribute):
        base = resolve_in(globals_, node.value)
        if base is _MISSING:
            return base
        return getattr(base, node.attr, _MISSING)
    return _MISSING


def expand(rule, bound, out_name, out_dot_name, dot, fresh, ref):
    """The tangent statements of ``rule`` (a TemplateRule) for one call.

    ``bound``: template parameter -> atom (given by the call); ``dot(atom)``
    -> the tangent AST or a ZeroNode; ``fresh()`` -> a new temporary name;
    ``ref(obj)`` -> the AST generated code uses for a global object.
    Returns ``(statements, zero)``: ``zero`` is True when the output tangent
    is zero (then there are no statements).
    """
    params, defaults, body = rule.expansion
    env = {}
    for p in params[1:]:
        if p.endswith("_dot"):
            continue
        if p in bound:
            env[p] = bound[p]
        elif p in defaults:
            env[p] = _constant(defaults[p])
    for p in params[1:]:
        if p.endswith("_dot"):
            base = p[: -len("_dot")]
            atom = bound.get(base)
            env[p] = dot(atom) if atom is not None else ZeroNode(None)
    out = rule.out_param
    env[out] = gast.Name(id=out_name, ctx=gast.Load(), annotation=None, type_comment=None)
    out_dot = out + "_dot"

    statements = []
    for target, template_value in body:
        value = simplify(_substitute(template_value, env))
        if target == out_dot:
            if is_zero(value):
                return [], True
            statements.append(_assign(out_dot_name, value))
        elif is_zero(value):
            env[target] = value
        else:
            tmp = fresh()
            env[target] = gast.Name(id=tmp, ctx=gast.Load(), annotation=None, type_comment=None)
            statements.append(_assign(tmp, value))
    for s in statements:
        _finish(s, ref)
    return statements, False


def prepare(rule):
    """``(parameter names, defaults, [(target, value)])`` of a TemplateRule's
    template: its statements with global references (``np.cos``) resolved
    to :class:`GlobalRef` nodes. The same for every call: the rule keeps it
    (``rule.expansion``) and :func:`expand` copies the values."""
    import inspect

    fn = rule.parsed
    template = rule.template
    params = [a.id for a in fn.args.args]
    # an argument a call leaves out has the primitive's default, which the
    # primal used, whatever the template says (as in TemplateRule.signature)
    defaults = {p.name: p.default for p in inspect.signature(template).parameters.values()
                if p.default is not p.empty}
    defaults.update(rule.primitive_defaults)
    local = set(params) | {
        t.id for stmt in fn.body if isinstance(stmt, gast.Assign) for t in stmt.targets
        if isinstance(t, gast.Name)
    }
    body = []
    for stmt in fn.body:
        if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant):
            continue  # docstring
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)):
            raise TemplateError(stmt.lineno, "line {line} is not an assignment to a name",
                                f"write the rule as assignments, the last one {rule.out_param}_dot = ...")
        value = _Globals(template.__globals__, local).visit(clone(stmt.value))
        body.append((stmt.targets[0].id, value))
    if f"{rule.out_param}_dot" not in {target for target, _ in body}:
        raise TemplateError(fn.lineno, f"it never assigns {rule.out_param}_dot, the output's tangent",
                            f"assign the tangent to {rule.out_param}_dot")
    return params, defaults, body


class TemplateError(ValueError):
    """A template that is no rule: ``lineno`` in its parsed source (the def
    on line 1), ``message`` with ``{line}`` for the line in its file, ``hint``."""

    def __init__(self, lineno, message, hint):
        super().__init__(message)
        self.lineno, self.message, self.hint = lineno, message, hint


def _assign(name, value):
    target = gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)
    return gast.Assign(targets=[target], value=value, type_comment=None)


def _constant(value):
    if isinstance(value, (int, float, bool, str, type(None))) or value is Ellipsis:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            return gast.UnaryOp(op=gast.USub(), operand=gast.Constant(value=-value, kind=None))
        return gast.Constant(value=value, kind=None)
    if isinstance(value, tuple):
        return gast.Tuple(elts=[_constant(v) for v in value], ctx=gast.Load())
    raise TypeError(f"template default {value!r} is not a constant")


def _substitute(node, env):
    """A copy of the template expression ``node`` with each name in ``env``
    replaced by (a copy of) its value; zeros, expression contexts and
    operators are shared (they hold nothing, and no pass changes one)."""
    if isinstance(node, list):
        return [_substitute(n, env) for n in node]
    if not isinstance(node, gast.AST):
        return node
    if type(node) is gast.Name and node.id in env:
        value = env[node.id]
        return value if is_zero(value) else clone(value)
    new = node.__class__.__new__(node.__class__)
    values = new.__dict__
    values.update(node.__dict__)  # locations, names, constants: as they are
    for field in VALUE_FIELDS[node.__class__]:  # contexts and operators: shared
        if field in values:
            values[field] = _substitute(values[field], env)
    return new


def _number(node):
    if isinstance(node, gast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    return None


def _fold(op, a, b):
    ops = {gast.Add: lambda: a + b, gast.Sub: lambda: a - b, gast.Mult: lambda: a * b}
    f = ops.get(type(op))
    return None if f is None else f()


def _survivor(kept, dropped):
    """``kept + 0`` where the 0 stands for an array: the sum still has the
    broadcast shape of both, so keep that shape unless the zero is a scalar."""
    of = dropped.of
    if of is None or _number(of) is not None:
        return kept
    return gast.Call(func=GlobalRef(_broadcast_with()), args=[kept, clone(of)], keywords=[])


def _where():
    import numpy

    return numpy.where


def _broadcast_with():
    from .. import runtime

    return runtime.broadcast_with


def simplify(node):
    """Remove ZeroNodes where the algebra allows and fold constants; returns a
    node or a ZeroNode."""
    if isinstance(node, ZeroNode):
        return node
    if isinstance(node, gast.BinOp):
        left = simplify(node.left)
        right = simplify(node.right)
        lz, rz = is_zero(left), is_zero(right)
        op = node.op
        ln, rn = _number(left), _number(right)
        if ln is not None and rn is not None:
            folded = _fold(op, ln, rn)
            if folded is not None:
                return _constant(folded)
        if isinstance(op, gast.Add):
            if lz and rz:
                return left
            if lz:
                return _survivor(right, left)
            if rz:
                return _survivor(left, right)
        elif isinstance(op, gast.Sub):
            if lz and rz:
                return left
            if rz:
                return _survivor(left, right)
            if lz:
                return _survivor(gast.UnaryOp(op=gast.USub(), operand=right), left)
        elif isinstance(op, (gast.Mult, gast.MatMult)):
            if lz or rz:
                return ZeroNode(None)  # the other factor's shape is not known here
            if isinstance(op, gast.Mult) and (ln == 0 or rn == 0):
                # a coefficient that is zero, whatever the other factor (x ** 0 has
                # 0 * x ** -1, which is NaN at x = 0: its derivative is 0 there too);
                # a zero of the other factor's shape
                return ZeroNode(right if ln == 0 else left)
            if isinstance(op, gast.Mult) and ln == 1:
                return right
            if isinstance(op, gast.Mult) and rn == 1:
                return left
        elif isinstance(op, (gast.Div, gast.FloorDiv)):
            if lz:
                return ZeroNode(None)
        elif isinstance(op, gast.Pow) and rn == 1:
            return left
        node.left, node.right = left, right
        return node
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, (gast.USub, gast.UAdd)):
        operand = simplify(node.operand)
        if is_zero(operand):
            return operand
        node.operand = operand
        return node
    if isinstance(node, gast.Call):
        from .registry import LinearRule, MultilinearRule, lookup

        node.args = [simplify(a) for a in node.args]
        for kw in node.keywords:
            kw.value = simplify(kw.value)
        obj = node.func.obj if isinstance(node.func, GlobalRef) else _MISSING
        rule = lookup(obj) if obj is not _MISSING else None
        if isinstance(rule, LinearRule):
            idx = [i for i in _argnums(rule, len(node.args))]
            if rule.refused:  # (tangents too, where this template is first-order code)
                names = list(rule.signature().parameters)
                idx += [names.index(p) for p in rule.refused if names.index(p) < len(node.args)]
            linear_args = [node.args[i] for i in idx]
            if linear_args:
                zeros = [is_zero(a) for a in linear_args]
                if isinstance(rule, MultilinearRule) and any(zeros) or all(zeros):
                    return ZeroNode(None)
        if obj is _where():
            # the condition has the full shape: a scalar zero will do
            node.args = [ZeroNode(None) if is_zero(a) else a for a in node.args]
        if obj is _broadcast_with() and len(node.args) == 2 and _number(node.args[1]) is not None:
            return node.args[0]  # a Python int or float neither grows nor promotes it
        return node
    if isinstance(node, gast.Subscript):
        value = simplify(node.value)
        if is_zero(value):
            return ZeroNode(None)
        node.value = value
        return node
    fields = node.__dict__
    for field in VALUE_FIELDS[node.__class__]:
        if field not in fields:
            continue
        value = fields[field]
        if isinstance(value, gast.expr):
            setattr(node, field, simplify(value))
        elif isinstance(value, list):
            setattr(node, field, [simplify(v) if isinstance(v, gast.expr) else v
                                  for v in value])
    return node


def _argnums(rule, nargs):
    argnums = rule.argnums
    if isinstance(argnums, slice):
        return range(nargs)[argnums]
    return [i for i in argnums if i < nargs]


class GlobalRef(gast.expr):
    """A template's reference to a global object (``np.cos``)."""

    _fields = ()

    def __init__(self, obj):
        super().__init__()
        self.obj = obj


class _Globals(Transformer):
    """Template names that are neither parameters nor locals -> GlobalRef."""

    def __init__(self, globals_, local):
        self.globals = globals_
        self.local = local

    def _ref(self, node):
        root = node
        while isinstance(root, gast.Attribute):
            root = root.value
        if not isinstance(root, gast.Name) or root.id in self.local:
            return None
        obj = resolve_in(self.globals, node)
        if obj is _MISSING:
            raise NameError(f"rule template refers to unknown name {root.id!r}")
        return GlobalRef(obj)

    def visit_Name(self, node):
        return self._ref(node) or node

    def visit_Attribute(self, node):
        new = self._ref(node)
        if new is not None:
            return new
        self.generic_visit(node)
        return node


def _finish(node, ref):
    """Materialise the zeros left under ``node`` and turn its global
    references into the names generated code uses, in place. Children are
    finished in field order, depth first, so ``ref`` binds new names in
    the order the code reads them."""
    values = node.__dict__
    for field in VALUE_FIELDS[node.__class__]:
        value = values.get(field)
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, gast.AST):
                    value[i] = _finished(item, ref)
        elif isinstance(value, gast.AST):
            values[field] = _finished(value, ref)


def _finished(node, ref):
    if isinstance(node, ZeroNode):
        return materialize_zero(None if node.number else node.of, ref)
    if isinstance(node, GlobalRef):
        obj = node.obj
        if isinstance(obj, (int, float)) and not isinstance(obj, bool):
            return _constant(obj)
        return ref(obj)
    _finish(node, ref)
    return node


def materialize_zero(of, ref):
    """A zero with the shape of the primal atom ``of``."""
    import numpy

    if of is None or isinstance(of, gast.Constant) or (
        isinstance(of, gast.UnaryOp) and isinstance(of.operand, gast.Constant)
    ):
        return gast.Constant(value=0.0, kind=None)
    return gast.Call(func=ref(numpy.zeros_like), args=[clone(of)], keywords=[])
