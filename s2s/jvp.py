"""Forward mode: primal and tangent statements side by side.

Expects a function in A-normal form and its activity analysis. Guarantees a
function ``f_jvp(<params>, <tangents of active params>)`` returning
``(output, output_tangent)``, in which every statement of the original runs
as it was, each active assignment is followed (or, when it overwrites one of
its own operands, preceded) by its tangent, inactive values get no tangent
code, and each group of statements carries a comment with the original line.
The tangent of ``x`` is ``x_dot``; the tangent of a container is the same
container of tangents. Dead tangent code is then removed (:mod:`s2s.deadcode`)
and, for one differentiated input whose tangents are all elementwise,
tangents become derivative coefficients (:mod:`s2s.coefficients`).

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x, w):\\n    y = x * w\\n    return np.sin(y)\\n", "jvp"))
def f_jvp(x, w, x_dot, w_dot):
    xp = _s2s.namespace_of(x, w, x_dot, w_dot)
    # <doctest>:2  y = x * w
    y = x * w
    y_dot = x_dot * w + x * w_dot
    # <doctest>:3  return np.sin(y)
    _t0 = xp.sin(y)
    _t0_dot = xp.cos(y) * y_dot
    return (_t0, _t0_dot)
"""

import functools
import inspect
import types

import gast

from . import broadcasts, coefficients, cse, deadcode, release, runtime, scaling, varargs, views
from .analysis import (
    BINOPS,
    LINEAR_METHODS,
    UNARYOPS,
    VIEW_FUNCTIONS,
    Activity,
    Aliases,
    attribute_names,
    binding_counts,
    container_mutated_names,
    iteration,
    library_objects,
    method_call,
    mutated_names,
    number_literal,
    number_names,
    object_method,
    unpacks,
    user_function,
)
from .context import assign, call, const, name, store
from .effects import changed_arguments
from .errors import NoRuleError, UndefinedNameError, UnsupportedSyntaxError
from .frontend import MISSING, dotted, see_through
from .nodes import StatementNodes, clone, name_nodes, walk, walk_values
from .rules import registry
from .rules.registry import (
    BindError,
    CustomRule,
    LinearRule,
    MultilinearRule,
    TemplateRule,
    ZeroRule,
)
from .rules.templates import ZeroNode, expand, is_zero, materialize_zero
from .statements import StatementPass

_ANALYSED = (gast.Assign, gast.AugAssign, gast.For, gast.Call)
_LIST_MUTATORS = {"append", "insert", "extend", "pop", "reverse", "clear", "update", "setdefault",
                  "remove"}


class Emitter(StatementPass):
    """Writes the jvp of one function. ``callee(fn, active, node)`` transforms
    a user function called with active arguments and returns
    ``(binding name, {param: tangent param name}, mutated params)``."""

    def __init__(self, ctx, fn_node, active_params, callee, entry):
        self.ctx = ctx
        self.fn = fn_node
        self.callee = callee
        self.entry = entry
        # for the analyses below, walked once: they read assignments, loops and calls only
        every = walk_values(fn_node)
        nodes = [n for n in every if isinstance(n, _ANALYSED)]
        self.aliases = Aliases(fn_node, ctx, nodes)
        self.bindings = binding_counts(every)
        self.activity = Activity(fn_node, ctx, active_params, self.aliases, self.bindings)
        self.active_params = list(active_params)
        # (and the names it passes to a function of the user's that writes into them)
        self.mutated = mutated_names(fn_node, nodes) | changed_arguments(nodes, ctx)
        self.container_mutated = container_mutated_names(fn_node, nodes)
        self.inactive_returns = []  # [line, index path] of returned values without tangent
        self.numbers = number_names(nodes)  # (their tangent starts as 0.0)
        self.bound_once = {  # name -> its value, for the names bound once
            n.targets[0].id: n.value for n in nodes
            if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name)
            and self.bindings[n.targets[0].id] == 1}
        self.tangent_temps = set()
        self.attribute_names = attribute_names(nodes)
        self.library = library_objects(nodes, ctx)
        self.displays = {  # names bound to a tuple, list or dict display
            n.targets[0].id: n.value for n in nodes
            if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name)
            and isinstance(n.value, (gast.Tuple, gast.List, gast.Dict))}
        self.sequences = _sequence_names(nodes)
        # names whose zero tangent has their structure (zeros_like_tree): displays,
        # sequences, and dict(...), list(...), tuple(...), zeros_like_tree(...) (in
        # generated code) of something (or the tangent of a dict(...), in derivative code)
        self.structured = set(self.displays) | self.sequences | {
            n.targets[0].id for n in nodes
            if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name)
            and isinstance(n.value, gast.Call)
            and ctx.resolve(n.value.func) in (dict, list, tuple, runtime.dict_tangent,
                                              runtime.zeros_like_tree)}

    # -- helpers -------------------------------------------------------------

    def is_active(self, atom):
        return self.activity.is_active(atom)

    def dot_name(self, var):
        return self.ctx.namer.tangent(var)

    def dot(self, atom):
        """The tangent of an atom: its ``_dot`` name, or a ZeroNode."""
        if isinstance(atom, gast.Starred):
            inner = self.dot(atom.value)
            return gast.Starred(value=inner if not is_zero(inner) else self.zero(atom.value),
                                ctx=gast.Load())
        if isinstance(atom, gast.Name) and atom.id in self.activity.active:
            return name(self.dot_name(atom.id))
        return ZeroNode(atom, self._python_number(atom))

    def zero(self, atom, structure=False):
        """The zero tangent of ``atom`` as a value. With ``structure`` (a
        part of a display, or a returned value), a name of unknown type gets
        zeros of its structure, as one the code knows to be a list or dict
        does: it may hold a list the caller passed (``p + p``), whose
        zeros_like would be one array."""
        if isinstance(atom, gast.Name) and (atom.id in self.structured or structure
                                             and not self._python_number(atom)):
            return call(self.ctx.ref(runtime.zeros_like_tree), [name(atom.id)])
        if isinstance(atom, (gast.Tuple, gast.List, gast.Dict)) or isinstance(atom, gast.Constant) \
                and isinstance(atom.value, (tuple, str, bytes)):
            # (a display, or a constant tuple: zeros of its structure, not one array,
            # which a ragged tuple or one with a string in it cannot make)
            return call(self.ctx.ref(runtime.zeros_like_tree), [atom])
        if self._python_number(atom):
            # (np.inf, -np.inf, a global): 0.0, not zeros_like's 0-d float64 array,
            # which would make a float32 tangent float64
            return const(0.0)
        return materialize_zero(atom, self.ctx.ref)

    def _python_number(self, atom, depth=0):
        """Whether ``atom`` is a Python number in every run: a literal, a
        global one, or a local bound once to -/+ of one."""
        if isinstance(atom, gast.Constant):
            return type(atom.value) in (float, int)
        if isinstance(atom, gast.UnaryOp) and isinstance(atom.op, (gast.USub, gast.UAdd)):
            return self._python_number(atom.operand, depth)
        if isinstance(atom, gast.Name) and self.ctx.is_local(atom.id):
            value = self.bound_once.get(atom.id)
            return value is not None and depth < 8 and self._python_number(value, depth + 1)
        if isinstance(atom, (gast.Name, gast.Attribute)) and self._is_reference(atom):
            return type(self.ctx.resolve(atom)) in (float, int)
        return False

    def _sequence_dot(self, atom):
        """The tangent of a part of a concatenation: zeros of its structure
        where it carries none (a tuple of zeros, not one zero array)."""
        d = self.dot(atom)
        return call(self.ctx.ref(runtime.zeros_like_tree), [atom]) if is_zero(d) else d

    def dot_or_zero(self, atom, structure=False):
        d = self.dot(atom)
        return self.zero(atom, structure) if is_zero(d) else d

    def tangent_temp(self):
        """A temporary that holds part of a tangent computation."""
        name_ = self.ctx.temp()
        self.tangent_temps.add(name_)
        return name_

    def tangent_vars(self):
        """Every name this pass created for tangents (for dead-code removal)."""
        return self.ctx.namer.tangent_names() | self.tangent_temps

    def may_be_mutated(self, var):
        return any(self.aliases.same(var, m) for m in self.mutated)

    def error(self, cls, node, message, hint=None):
        return self.ctx.error(cls, node, message, hint)

    def problem(self, cls, node, message, hint=None):
        """Raise the error; when collecting problems (``s2s check``), record
        it and go on (the caller then treats the value's tangent as zero)."""
        self.ctx.report(self.error(cls, node, message, hint))

    # -- the function ----------------------------------------------------------

    def run(self):
        fn = self.fn
        body = []
        params = [a.id for a in fn.args.args + fn.args.kwonlyargs]
        if fn.args.vararg is not None:
            params.append(fn.args.vararg.id)
        if fn.args.kwarg is not None:
            params.append(fn.args.kwarg.id)
        # inputs the function changes in place are copied, so the caller's
        # primals and tangents stay intact (entry point only: a helper's
        # in-place update of its argument is the caller's intent)
        # (code s2s generated, differentiated again, copies them itself: the
        # derivative of its fresh_copy lines copies the new tangents too)
        if self.entry and not hasattr(self.ctx.parsed.fn, "__s2s_origin__"):
            for p in params:
                if self.may_be_mutated(p) or p in self.container_mutated:
                    copy_call = call(self.ctx.ref(runtime.fresh_copy), [name(p)])
                    body.append(assign(p, copy_call))
                    if p in self.activity.active and p in self.active_params:
                        dp = self.dot_name(p)
                        body.append(assign(dp, call(self.ctx.ref(runtime.fresh_copy), [name(dp)])))
        # parameters active through aliasing but not differentiated: zero tangents
        for p in params:
            if p in self.activity.active and p not in self.active_params:
                if self.entry or p not in self.mutated:  # (of any structure: p may be a dict)
                    zeros = call(self.ctx.ref(runtime.zeros_like_tree), [name(p)])
                    body.append(assign(self.dot_name(p), zeros))
                else:
                    self.problem(
                        UnsupportedSyntaxError,
                        fn,
                        f"{fn.name} writes values that depend on the differentiated inputs into "
                        f"its argument {p!r}, which carries no tangent in the caller",
                        f"return the new value of {p} from {fn.name} instead of updating it in place",
                    )
        body.extend(self.body(fn.body))
        holder = gast.FunctionDef(name="_", args=fn.args, body=body, decorator_list=[],
                                  returns=None, type_comment=None, type_params=[])
        nodes = StatementNodes()  # the walks of the statements, shared by the passes below
        body = deadcode.run(holder, self.tangent_vars() - set(self.active_params), nodes).body
        if len(self.active_params) == 1:
            seed = self.dot_name(self.active_params[0])
            coefficient_form = coefficients.run(body, seed, self.tangent_vars(), self.ctx.namer,
                                                self.ctx.ref(runtime.broadcast_with), nodes)
            if coefficient_form:
                body, nodes = coefficient_form, StatementNodes()
        body = scaling.run(body, self.tangent_vars(), nodes)
        body = broadcasts.run(body, self.ctx.namer.primals(), self.ctx.ref(runtime.broadcast_with),
                              self.ctx.xp, nodes)
        body = release.run(cse.run(body, nodes), self.ctx.user_names | set(params), nodes)
        if not self.entry and _own_returned_tangents(
                body, params, [self.dot_name(p) for p in self.active_params],
                self.ctx.ref(runtime.fresh_copy)):
            nodes = StatementNodes()  # (a return statement changed)
        tangents = [p for p in self.active_params]
        args = clone(fn.args)
        tangent_args = [gast.Name(id=self.dot_name(p), ctx=gast.Param(), annotation=None,
                                  type_comment=None) for p in tangents]
        plain = not (args.defaults or args.kwonlyargs or args.vararg or args.kwarg
                     or args.posonlyargs)
        if plain:
            args.args = args.args + tangent_args
        else:
            args.kwonlyargs = args.kwonlyargs + tangent_args
            args.kw_defaults = list(args.kw_defaults) + [None] * len(tangent_args)
        new = gast.FunctionDef(
            name=self.ctx.namer.fresh(f"{fn.name}_jvp"),
            args=args,
            body=body or [gast.Pass()],
            decorator_list=[],
            returns=None,
            type_comment=None,
            type_params=[],
        )
        new.lineno = fn.lineno
        new.body = self.ctx.prologue(new, nodes) + new.body
        return new, {p: self.dot_name(p) for p in tangents}, plain

    # -- statements ----------------------------------------------------------------

    def stmt_Delete(self, s):
        extra = []
        for t in s.targets:
            if isinstance(t, gast.Name) and t.id in self.activity.active:
                extra.append(name(self.dot_name(t.id), gast.Del()))
            elif isinstance(t, gast.Subscript) and isinstance(t.value, gast.Name) \
                    and t.value.id in self.activity.active:  # del lst[i]: its tangent's item too
                extra.append(gast.Subscript(value=name(self.dot_name(t.value.id)),
                                            slice=clone(t.slice), ctx=gast.Del()))
        return [s] + ([gast.Delete(targets=extra)] if extra else [])

    def stmt_Return(self, s):
        if s.value is None:
            value = const(None)
        else:
            value = s.value
        if not self.is_active(value):
            self.inactive_returns.append([s.lineno, []])
        else:
            self.inactive_returns += [[s.lineno, path] for path in self._inactive_parts(value)]
        if s.value is None:
            tangent = const(None)
        elif isinstance(value, (gast.Tuple, gast.List, gast.Dict)) and not self.is_active(value):
            tangent = self._display_tangent(value)  # a zero per part, not one zero array
        else:
            tangent = self.dot_or_zero(value, structure=True)
        s.value = gast.Tuple(elts=[value, tangent], ctx=gast.Load())
        return [s]

    def _inactive_parts(self, value):
        """The parts of a returned tuple, list or dict display that carry no
        tangent, as index paths (``["[1]"]``, ``["['b']", "[0]"]``), for
        ``strict=True``; a name stands for its display if it is bound once
        and never changed."""
        if (isinstance(value, gast.Name) and value.id in self.displays
                and self.bindings[value.id] == 1
                and value.id not in self.mutated | self.container_mutated):
            value = self.displays[value.id]
        if isinstance(value, (gast.Tuple, gast.List)):
            if any(isinstance(e, gast.Starred) for e in value.elts):
                return []
            items = [(f"[{i}]", e) for i, e in enumerate(value.elts)]
        elif isinstance(value, gast.Dict) and all(isinstance(k, gast.Constant) for k in value.keys):
            items = [(f"[{k.value!r}]", v) for k, v in zip(value.keys, value.values)]
        else:
            return []
        return [[label, *path] for label, part in items
                for path in ([[]] if not self.is_active(part) else self._inactive_parts(part))]

    def stmt_AugAssign(self, s):
        x = s.target.id
        if x not in self.activity.active:
            return [s]
        a = s.value
        xd = name(self.dot_name(x))
        ad = self.dot(a)
        op = s.op
        pre = []
        if isinstance(op, (gast.Add, gast.Sub)):
            if not is_zero(ad):
                pre.append(gast.AugAssign(target=store(xd.id), op=type(op)(), value=ad))
            elif x in self.numbers:
                # s = 0.0 (tangent 0.0); s += c, c without a tangent: s may now be an
                # array, and its tangent must have its shape (a zero of it)
                pre.append(assign(xd.id, call(self.ctx.ref(runtime.broadcast_with),
                                              [name(xd.id), clone(a)])))
        elif isinstance(op, gast.Mult):
            # x *= a: x_dot = x_dot * a + x * a_dot, all before the primal update
            # (the product term first: a may be x itself)
            if not is_zero(ad):
                term = self.tangent_temp()
                pre.append(assign(term, gast.BinOp(left=name(x), op=gast.Mult(), right=ad)))
            pre.append(gast.AugAssign(target=store(xd.id), op=gast.Mult(), value=clone(a)))
            if not is_zero(ad):
                pre.append(gast.AugAssign(target=store(xd.id), op=gast.Add(), value=name(term)))
        elif isinstance(op, gast.Div):
            if not is_zero(ad):
                term = gast.BinOp(left=gast.BinOp(left=name(x), op=gast.Mult(), right=ad),
                                  op=gast.Div(), right=clone(a))
                pre.append(gast.AugAssign(target=store(xd.id), op=gast.Sub(), value=term))
            pre.append(gast.AugAssign(target=store(xd.id), op=gast.Div(), value=a))
        else:
            # x **= a and the like: not in place
            new = assign(x, gast.BinOp(left=name(x), op=op, right=a))
            new.lineno = s.lineno
            return self.stmt_Assign(new)
        return pre + [s]

    def stmt_Expr(self, s):
        v = s.value
        if not isinstance(v, gast.Call):
            return [s]
        func = v.func
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) \
                and self.ctx.is_local(func.value.id) and func.attr in _LIST_MUTATORS:
            if func.value.id in self.activity.active:
                if func.attr == "remove":  # the item's position, found before it goes
                    at = self.ctx.temp()
                    find = call(gast.Attribute(value=func.value, attr="index", ctx=gast.Load()),
                                list(v.args))
                    return [assign(at, find)] + [
                        gast.Expr(value=call(gast.Attribute(value=lst, attr="pop", ctx=gast.Load()),
                                             [name(at)]))
                        for lst in (name(func.value.id), name(self.dot_name(func.value.id)))]
                return [s] + self._mutator(func.value, func.attr, v, s)
            return [s]
        if any(self.is_active(a) for a in list(v.args) + [k.value for k in v.keywords]):
            if isinstance(func, gast.Attribute) and self.is_object_method(func, v):
                return self._dynamic_call(self.ctx.temp(), v, s)  # (its result unused)
            obj = self.ctx.resolve(func)
            if user_function(obj):
                target = self.ctx.temp()
                return self._user_call(target, v, obj, s, discard=True)
        return [s]

    def _mutator(self, recv, method, v, s):
        rd = name(self.dot_name(recv.id))
        args = v.args
        meth = gast.Attribute(value=rd, attr=method, ctx=gast.Load())
        if method in ("append",):
            return [gast.Expr(value=call(meth, [self.dot_or_zero(args[0])]))]
        if method == "insert":
            return [gast.Expr(value=call(meth, [args[0], self.dot_or_zero(args[1])]))]
        if method == "extend":
            other = args[0]
            d = self.dot(other)
            if is_zero(d):
                d = call(self.ctx.ref(_zeros_each()), [other])
            return [gast.Expr(value=call(meth, [d]))]
        if method in ("pop", "reverse", "clear"):
            return [gast.Expr(value=call(meth, list(args)))]
        if method == "update":  # d.update(other), d.update(k=v), d.update(other, k=v)
            keywords = [gast.keyword(arg=k.arg, value=self.dot_or_zero(k.value))
                        for k in v.keywords]
            return [gast.Expr(value=call(meth, [self.dot_or_zero(a) for a in args], keywords))]
        if method == "setdefault":
            return [gast.Expr(value=call(meth, [args[0], self.dot_or_zero(args[1])]))]
        raise self.error(NoRuleError, s, f"no rule for the list/dict method .{method}()")

    def stmt_For(self, s):
        new_iter, new_target, zero_targets = self._iteration(s.iter, s.target, s)
        s.iter, s.target = new_iter, new_target
        body = self.nested(s.body)
        inits = [assign(self.dot_name(t), self.zero(name(t))) for t in zero_targets]
        s.body = inits + body
        s.orelse = self.nested(s.orelse) if s.orelse else []
        return self._after_compound(s)

    def _target_dot(self, target):
        if isinstance(target, gast.Name):
            return store(self.dot_name(target.id))
        return gast.Tuple(elts=[self._target_dot(e) for e in target.elts], ctx=gast.Store())

    def _target_names(self, target):
        return [n.id for n in walk(target) if isinstance(n, gast.Name)]

    def _iteration(self, it, target, s):
        """(iterable, target, [active targets fed no tangent]) of the loop."""
        active = self.activity.active
        kind, parts = iteration(it, self.ctx)
        names = self._target_names(target)
        if not any(n in active for n in names):
            return it, target, []
        if kind == "range":
            return it, target, [n for n in names if n in active]
        if kind == "reversed":
            if self.is_active(parts):
                rev = call(name("reversed"), [self.dot(parts)])
                zipped = call(name("zip"), [it, rev])
                tgt = gast.Tuple(elts=[target, self._target_dot(target)], ctx=gast.Store())
                return zipped, tgt, []
            return it, target, [n for n in names if n in active]
        if kind == "atom":
            if self.is_active(parts):
                zipped = call(name("zip"), [it, self.dot(parts)])
                tgt = gast.Tuple(elts=[target, self._target_dot(target)], ctx=gast.Store())
                return zipped, tgt, []
            return it, target, [n for n in names if n in active]
        if not isinstance(target, (gast.Tuple, gast.List)):
            self.problem(
                UnsupportedSyntaxError, s,
                f"s2s needs the items of {kind}(...) unpacked in the for target",
                f"write for a, b in {kind}(...)",
            )
            return it, target, [n for n in names if n in active]
        if kind == "enumerate":
            sub, tsub, zeros = self._iteration(parts, target.elts[1], s)
            it.args[0] = sub
            tgt = gast.Tuple(elts=[target.elts[0], tsub], ctx=gast.Store())
            return it, tgt, zeros + [n for n in self._target_names(target.elts[0]) if n in active]
        if kind == "zip":
            new_args, new_elts, zeros = [], [], []
            for sub, elt in zip(parts, target.elts):
                a, t, z = self._iteration(sub, elt, s)
                new_args.append(a)
                new_elts.append(t)
                zeros += z
            it.args = new_args
            return it, gast.Tuple(elts=new_elts, ctx=gast.Store()), zeros
        if kind == "items":
            key, value = target.elts
            if not self.is_active(parts):
                return it, target, [n for n in names if n in active]
            values = call(gast.Attribute(value=self.dot(parts), attr="values", ctx=gast.Load()))
            zipped = call(name("zip"), [it, values])
            tgt = gast.Tuple(elts=[target, self._target_dot(value)], ctx=gast.Store())
            return zipped, tgt, [n for n in self._target_names(key) if n in active]
        raise AssertionError(kind)

    # -- assignments ---------------------------------------------------------------

    def stmt_Assign(self, s):
        target = s.targets[0]
        if isinstance(target, gast.Subscript):
            return self._store_subscript(s, target)
        if isinstance(target, gast.Attribute):
            if self.is_active(s.value):
                self.problem(
                    UnsupportedSyntaxError, s,
                    "s2s cannot follow a derivative through an attribute assignment",
                    "keep the value in a local variable and return it",
                )
            return [s]
        if isinstance(target, gast.Tuple):
            names = [e.id for e in target.elts]
            if not any(n in self.activity.active for n in names):
                return [s]
            dt = gast.Tuple(elts=[store(self.dot_name(n)) for n in names], ctx=gast.Store())
            value = s.value
            if self.is_active(value):
                return [s, assign(dt, self.dot(value))]
            zeros = [assign(self.dot_name(n), self.zero(name(n))) for n in names]
            return [s] + zeros
        z = target.id
        if z not in self.activity.active:
            return [s]
        return self._assign_active(s, z)

    def _store_subscript(self, s, target):
        base = target.value
        value = s.value
        if not isinstance(base, gast.Name) or not self.ctx.is_local(base.id):
            if self.is_active(value):
                self.problem(
                    UnsupportedSyntaxError, s,
                    "s2s cannot follow a derivative written into a global array",
                    "build the array inside the function and return it",
                )
            return [s]
        if base.id not in self.activity.active:
            return [s]
        held = self.bound_once.get(base.id)
        if base.id in self.attribute_names and self.is_active(value):
            raise self.error(
                UnsupportedSyntaxError, s,
                f"s2s cannot follow a derivative written into the array {dotted(held) or 'an object'} "
                "holds (the object carries no derivative)",
                "build a new array in a local variable and return it (or pass it on) "
                "instead of writing it into the object")
        dt = gast.Subscript(value=name(self.dot_name(base.id)), slice=clone(target.slice),
                            ctx=gast.Store())
        return [s, assign(dt, self.dot_or_zero(value))]

    def _assign_active(self, s, z):
        zd = self.dot_name(z)
        value = s.value
        if not self.activity.value_active(value):
            if number_literal(value):  # (0.0, -1.0: a Python number, whose tangent is 0.0)
                return [s, assign(zd, const(0.0))]
            if isinstance(value, (gast.List, gast.Tuple, gast.Dict)):
                return [s, assign(zd, self._display_tangent(value))]
            if isinstance(value, gast.Call) and self._is_user_call(value):
                return self._user_call(z, value, self.ctx.resolve(value.func), s)
            return [s, assign(zd, self.zero(name(z)))]
        if isinstance(value, gast.Call) and self._is_dynamic_call(value):
            return self._dynamic_call(z, value, s)
        if isinstance(value, gast.Call) and self._is_user_call(value):
            return self._user_call(z, value, self.ctx.resolve(value.func), s)
        tangent, uses_output = self.tangent_of(value, z, zd, s)
        if tangent is None:  # zero after all
            return [s, assign(zd, self.zero(name(z)))]
        # (a = a * 1.0 when a is changed later: a_dot = a_dot is a fresh copy, not dropped)
        tangent = self._copy_if_aliased(z, value, tangent) if tangent else tangent
        tangent = [t for t in tangent if not _self_assignment(t)]
        operands = {n.id for n in name_nodes(value)}
        if z in operands:
            if uses_output:
                tmp = self.ctx.temp()
                primal = assign(tmp, value)
                tangent, _ = self.tangent_of(value, tmp, zd, s)
                return [primal] + tangent + [assign(z, name(tmp))]
            return tangent + [s]
        return [s] + tangent

    def _copy_if_aliased(self, z, value, tangent):
        """``z_dot = a_dot`` where ``z = a + 1`` is a fresh array: if ``z`` is
        later changed in place, ``z_dot`` must not share ``a_dot``'s memory,
        nor if ``a`` is (``a[0] = 5`` writes ``a_dot[0]``, not ``z_dot``)."""
        last = tangent[-1]
        if not isinstance(last, gast.Assign):
            return tangent
        shared = last.value  # (broadcast_with(a_dot, b) is a_dot itself where b grows nothing)
        runtime_name = self.ctx.ref(runtime.fresh_copy).value.id
        if views.helper_name(shared, runtime_name) in views.PASS_THROUGH and shared.args:
            shared = shared.args[0]
        if not isinstance(shared, gast.Name) \
                or isinstance(value, (gast.Name, gast.Subscript, gast.Attribute)):
            return tangent
        if self.may_be_mutated(z):  # (z = x + 1j; z *= 1j: a complex copy of x's tangent)
            last.value = call(self.ctx.ref(runtime.tangent_copy), [last.value, name(z)])
        elif any(self.dot_name(n.id) == shared.id and self.may_be_mutated(n.id)
                 for n in name_nodes(value)):
            last.value = call(self.ctx.ref(runtime.fresh_copy), [last.value])
        return tangent

    def _display_tangent(self, value):
        """The tangent of a tuple, list or dict display: its parts' tangents,
        zeros of their structure where they carry none."""
        if isinstance(value, gast.Dict):
            # (a **d item without a tangent: zeros of d's structure, a dict)
            return gast.Dict(keys=clone(value.keys), values=[
                self._sequence_dot(v) if k is None else self.dot_or_zero(v, structure=True)
                for k, v in zip(value.keys, value.values)])
        return type(value)(elts=[self.dot_or_zero(e, structure=True) for e in value.elts],
                           ctx=gast.Load())

    # -- tangents of one operation ---------------------------------------------------

    def tangent_of(self, value, z, zd, s):
        """Statements computing ``zd`` for ``z = value``, and whether they read
        ``z``. ``(None, False)`` when the tangent is zero."""
        if isinstance(value, gast.Name):
            return [assign(zd, self.dot(value))], False
        if isinstance(value, (gast.Tuple, gast.List, gast.Dict)):
            return [assign(zd, self._display_tangent(value))], False
        if isinstance(value, gast.Subscript):
            new = gast.Subscript(value=self.dot(value.value), slice=clone(value.slice),
                                 ctx=gast.Load())
            return [assign(zd, new)], False
        if isinstance(value, gast.Attribute):
            # a field of a named tuple (slogdet(a).logabsdet): the tangent's field
            new = gast.Attribute(value=self.dot(value.value), attr=value.attr, ctx=gast.Load())
            return [assign(zd, new)], False
        if isinstance(value, gast.BinOp) and isinstance(value.op, (gast.Add, gast.Mult)):
            sequence = [_is_sequence(o, self.sequences) for o in (value.left, value.right)]
            if isinstance(value.op, gast.Add) and any(sequence):
                # concatenation: the tangents of both parts (zeros for an inactive one)
                return [assign(zd, gast.BinOp(left=self._sequence_dot(value.left), op=gast.Add(),
                                              right=self._sequence_dot(value.right)))], False
            count = value.right if sequence[0] else value.left
            if any(sequence) and not self.is_active(count):
                seq = value.left if sequence[0] else value.right  # repetition, as the values
                return [assign(zd, gast.BinOp(left=self._sequence_dot(seq), op=gast.Mult(),
                                              right=count))], False
        if isinstance(value, gast.BinOp):
            prim = BINOPS[type(value.op)]
            op = value.op

            def build(a, kw):
                return gast.BinOp(left=a[0], op=type(op)(), right=a[1])

            return self._rule(registry.lookup(prim), prim, [value.left, value.right], [],
                              build, z, zd, s)
        if isinstance(value, gast.UnaryOp):
            prim = UNARYOPS[type(value.op)]
            op = value.op

            def build(a, kw):
                return gast.UnaryOp(op=type(op)(), operand=a[0])

            return self._rule(registry.lookup(prim), prim, [value.operand], [], build, z, zd, s)
        if isinstance(value, gast.Call):
            return self._call(value, z, zd, s)
        self.problem(NoRuleError, s, f"no rule for {type(value).__name__}",
                     "compute this value from operations s2s knows (docs/coverage.md)")
        return None, False

    def _call(self, value, z, zd, s):
        func = value.func
        if isinstance(func, gast.Attribute) and not self._is_reference(func):
            return self._method(value, z, zd, s)
        obj = self.ctx.resolve(func)
        if obj is MISSING and isinstance(func, gast.Name) and not self.ctx.is_local(func.id):
            self.problem(
                UndefinedNameError, s,
                f"{func.id} is not defined, and it is called on a value that carries a "
                "derivative",
                f"define {func.id} at module level before the function that calls it runs",
            )
            return None, False
        if obj is MISSING:
            self.problem(
                NoRuleError, s,
                f"cannot tell which function {gast.dump(func) if not isinstance(func, gast.Name) else func.id} "
                "is, and it is called on a value that carries a derivative",
                "call a module-level function (s2s transforms it) or a NumPy function",
            )
            return None, False
        rule = registry.lookup(obj)
        if rule is None and obj in (runtime.call_jvp, runtime.call_jvp_batched):
            raise self.error(
                NoRuleError, s,
                "s2s cannot differentiate twice (hessian, jacfwd of jacfwd) a call whose "
                "function is known only when it runs: a method of an object this function "
                "is given (self.other(x)), or a function held in a variable",
                "for a method, call it on an object the function reads from outside "
                "(model.other(x) with model a global) or make it a module-level function")
        if rule is None and (getattr(obj, "__module__", None) or "").startswith("s2s."):
            raise self.error(
                NoRuleError, s,
                f"no second-order rule for {_describe(obj)}: the derivative code of this line "
                "cannot be differentiated again (hessian, jacfwd of jacfwd)",
                "take the second derivative of a function that avoids this operation here, "
                "or use jacfwd of a first derivative written by hand",
            )
        if rule is None and obj is functools.partial:
            self.problem(
                UnsupportedSyntaxError, s,
                "a functools.partial that fixes a value carrying a derivative",
                "call the function with all its arguments instead (a partial of values "
                "without derivatives, or one made outside the function, is differentiated)",
            )
            return None, False
        if rule is None:
            self.problem(
                NoRuleError, s,
                f"no forward-mode rule for {_describe(obj)}, called on a value that carries a "
                "derivative",
                f"register one with @s2s.defjvp({_describe(obj)}) (see the README), or "
                "compute this value from functions s2s knows",
            )
            return None, False
        def build(a, kw):
            return call(clone(func), a, kw)

        return self._rule(rule, obj, value.args, value.keywords, build, z, zd, s)

    def _method(self, value, z, zd, s):
        func = value.func
        recv = func.value
        method = func.attr
        rd = self.dot(recv)
        if method in ("get", "pop"):  # the default's tangent, not the default, for a missing key
            args = value.args[:1] + [self.dot_or_zero(a) for a in value.args[1:]]
            if is_zero(rd):  # an inactive dict, an active default: zero items, or its tangent
                rd = self.zero(recv)
            return [assign(zd, call(gast.Attribute(value=rd, attr=method, ctx=gast.Load()),
                                    args))], False
        if method in LINEAR_METHODS or method == "astype":  # the same method of the tangent
            new = call(gast.Attribute(value=rd, attr=method, ctx=gast.Load()),
                       list(value.args), value.keywords)
            return [assign(zd, new)], False
        if is_zero(rd):  # the arguments carry the derivative, not the receiver
            self.problem(
                NoRuleError, s,
                f"no rule for the method .{method}() called with a value that carries a "
                "derivative: s2s cannot tell, from the code, which function it is (a method of "
                "super() or of an object a library made, such as a random generator)",
                "call the method on an object the function reads from a global or closure "
                "(model.forward(x)), call the class's function (Base.forward(self, x)), or "
                "compute it with NumPy functions",
            )
            return None, False
        self.problem(
            NoRuleError, s,
            f"no rule for the method .{method}() of a value that carries a derivative",
            f"call the NumPy function instead (np.{method}(x, ...)) if there is one, or pass the "
            "object's arrays to the function rather than the object",
        )
        return None, False

    def _rule(self, rule, prim, args, keywords, func, z, zd, s):
        if rule is None:
            self.problem(NoRuleError, s, f"no forward-mode rule for {_describe(prim)}",
                         "compute this value from operations s2s knows (docs/coverage.md)")
            return None, False
        if isinstance(rule, ZeroRule):
            return None, False
        if unpacks(args, keywords):
            self.problem(
                NoRuleError, s,
                f"{rule.name} is called with *args or **kwargs and a value that carries a "
                "derivative: s2s cannot tell which parameter gets which value",
                f"pass the arguments of {rule.name} one by one, or unpack a tuple display "
                "bound once in this function (args = (a, b); f(*args))",
            )
            return None, False
        if isinstance(rule, LinearRule):
            dropped = rule.dropped(args, keywords, self.is_active)
            if dropped and rule.refused:  # (one of s2s's helpers, in derivative code)
                self.problem(
                    NoRuleError, s,
                    f"no second-order rule for {rule.name} where its {dropped[0]} carries a "
                    "derivative: the derivative code of this line cannot be differentiated "
                    "again (hessian, jacfwd of jacfwd)",
                    "take the second derivative of a function that avoids this operation "
                    "here, or use jacfwd of a first derivative written by hand",
                )
                return None, False
            if dropped:
                self.problem(
                    NoRuleError, s,
                    f"{rule.name} is differentiated in {', '.join(rule.linear_params())} "
                    f"only, and the value passed as {dropped[0]} carries a derivative",
                    "compute this value from operations that are differentiable in it",
                )
                return None, False
        if isinstance(rule, MultilinearRule):
            return self._multilinear(rule, args, keywords, func, zd), False
        if isinstance(rule, LinearRule):
            return self._linear(rule, args, keywords, func, zd), False
        try:
            bound = rule.bind(list(args), list(keywords))
        except BindError as exc:
            bound, why = None, str(exc)
        if bound is None:
            self.problem(
                NoRuleError, s,
                f"the rule for {rule.name} does not cover this call: {why}",
                "pass only the arguments the rule lists (see docs/coverage.md)",
            )
            return None, False
        if isinstance(rule, TemplateRule):
            stmts, zero = expand(rule, bound, z, zd, self.dot, self.tangent_temp, self.ctx.ref)
            if zero:
                return None, False
            return stmts, rule.uses_output
        if isinstance(rule, CustomRule):
            site = Site(self, rule, bound, args, keywords, func, z, zd, s)
            stmts = rule.emit(site)
            if stmts is None:
                return None, False
            return stmts, site.uses_output
        raise AssertionError(rule)

    def _with_tangent(self, args, keywords, position, active_only):
        new_args = list(args)
        new_kw = [gast.keyword(arg=k.arg, value=k.value) for k in keywords]
        kind, i = position
        source = new_args[i] if kind == "pos" else new_kw[i].value
        d = self.dot(source)
        if is_zero(d):
            d = self.zero(source)
        if kind == "pos":
            new_args[i] = d
        else:
            new_kw[i].value = d
        return new_args, new_kw

    def _linear(self, rule, args, keywords, func, zd):
        new_args = list(args)
        new_kw = [gast.keyword(arg=k.arg, value=k.value) for k in keywords]
        for kind, i in rule.positions(args, keywords):
            if kind == "pos":
                new_args, _ = self._with_tangent(new_args, [], (kind, i), False)
            else:
                _, new_kw = self._with_tangent([], new_kw, (kind, i), False)
        return [assign(zd, func(new_args, new_kw))]

    def _multilinear(self, rule, args, keywords, func, zd):
        terms = []
        for kind, i in rule.positions(args, keywords):
            source = args[i] if kind == "pos" else keywords[i].value
            if not self.is_active(source):
                continue
            a, kw = self._with_tangent(args, keywords, (kind, i), True)
            terms.append(func(a, kw))
        total = terms[0]
        for term in terms[1:]:
            total = gast.BinOp(left=total, op=gast.Add(), right=term)
        return [assign(zd, total)]

    # -- calls of the user's own functions ---------------------------------------------

    def _is_reference(self, e):
        while isinstance(e, gast.Attribute):
            e = e.value
        return isinstance(e, gast.Name) and not self.ctx.is_local(e.id)

    def _is_user_call(self, value):
        if isinstance(value.func, gast.Attribute) and not self._is_reference(value.func):
            return False
        obj = self.ctx.resolve(value.func)
        return user_function(obj) and any(
            self.is_active(a) for a in list(value.args) + [k.value for k in value.keywords]
        )

    def _is_dynamic_call(self, value):
        """A call of what vmap/jacfwd returned, or of a function held in a
        local variable: which code runs is known only at run time."""
        from .api import jvp as api_jvp
        from .batch_api import _Transformed

        func = value.func
        if isinstance(func, gast.Name) and self.ctx.is_local(func.id):
            return func.id not in self.activity.active
        if isinstance(func, gast.Attribute) and not self._is_reference(func):
            return self.is_object_method(func, value)
        obj = self.ctx.resolve(func)
        return isinstance(obj, _Transformed) or obj is api_jvp

    def is_object_method(self, func, value):
        """Whether ``func`` (an attribute) is a method of an object this
        function is given (``self.other`` in a method), called with a value
        that carries a derivative: its code is known when it runs."""
        return object_method(func, self.ctx, self.activity.active, self.library) and any(
            self.is_active(a) for a in list(value.args) + [k.value for k in value.keywords])

    def _dynamic_call(self, z, value, s):
        """``z, z_dot = _s2s.call_jvp(f, (args...), (tangents or None...))``;
        ``s2s.jvp(f, (x,), (v,))`` is the call of ``_s2s.jvp_of(f, 1)`` on
        ``(x, v)``."""
        from .api import jvp as api_jvp

        called = value.func
        if self.ctx.resolve(value.func) is api_jvp:
            called = value.args[0] if value.args else called  # (the function s2s.jvp is given)
            value = self._jvp_as_call(value, s)
        if value.keywords or any(isinstance(a, gast.Starred) for a in value.args):
            raise self.error(
                UnsupportedSyntaxError, s,
                "a function known only at run time is called with *args or keyword arguments",
                "pass its arguments as plain positional arguments")
        if isinstance(called, gast.Lambda):
            self._check_lambda(called, "the lambda", s)
        elif isinstance(called, gast.Name):
            self._check_captures(called.id, s)
        tangents = [self.dot(a) if self.is_active(a) else const(None) for a in value.args]
        new_call = call(self.ctx.ref(runtime.call_jvp), [
            value.func, gast.Tuple(elts=list(value.args), ctx=gast.Load()),
            gast.Tuple(elts=tangents, ctx=gast.Load())])
        target = gast.Tuple(elts=[store(z), store(self.dot_name(z))], ctx=gast.Store())
        return [assign(target, new_call)] + self._owned_result(z)

    def _owned_result(self, z):
        """After ``z, z_dot = <a call of another function>``: where an item of
        the list or dict it returned changes in place later, its tangent may
        be another value's (``x * 1.0`` has ``x``'s), so the tangents are
        copied (and, where this code is differentiated again, own_tangents
        copies the next ones)."""
        if not any(self.aliases.same(z, r) for r in self.ctx.__dict__.get("items_updated", ())):
            return []
        return [assign(z, call(self.ctx.ref(runtime.own_tangents), [name(z)])),
                assign(self.dot_name(z), call(self.ctx.ref(runtime.fresh_copy),
                                              [name(self.dot_name(z))]))]

    def _check_captures(self, fname, s):
        """A lambda of this function, called through its variable, is
        differentiated through its arguments only: one that reads a value
        carrying a derivative from the enclosing function would lose it.
        (A ``def`` inside the function is refused earlier.)"""
        for node in walk(self.fn):
            if isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda) \
                    and any(isinstance(t, gast.Name) and t.id == fname for t in node.targets):
                self._check_lambda(node.value, fname, s)

    def _check_lambda(self, inner, fname, s):
        own = {a.id for a in inner.args.args + inner.args.kwonlyargs}
        for n in walk(inner):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) \
                    and n.id not in own and n.id in self.activity.active:
                held = "held in a variable" if fname != "the lambda" else "written here"
                raise self.error(
                    UnsupportedSyntaxError, s,
                    f"{fname} reads {n.id}, which depends on the differentiated inputs; "
                    f"a function {held} is differentiated through its arguments only",
                    f"pass {n.id} to {fname} as an argument")

    def _jvp_as_call(self, value, s):
        items = []
        for atom in value.args[1:]:
            display = self.displays.get(getattr(atom, "id", None))
            if not isinstance(display, gast.Tuple) or value.keywords or len(value.args) != 3:
                raise self.error(
                    UnsupportedSyntaxError, s,
                    "s2s.jvp inside a differentiated function needs its primals and tangents "
                    "written as tuples in the call, and no keywords",
                    "write s2s.jvp(f, (x, y), (dx, dy)) in the function")
            items.append(list(display.elts))
        primals, tangents = items
        func = call(self.ctx.ref(runtime.jvp_of), [value.args[0], const(len(primals))])
        return gast.Call(func=func, args=primals + tangents, keywords=[])

    def _user_call(self, z, value, obj, s, discard=False):
        if unpacks(value.args, value.keywords):
            fname = _describe(obj)
            self.problem(
                UnsupportedSyntaxError, s,
                f"{fname} is called with *args or **kwargs and a value that carries a "
                "derivative",
                f"pass the arguments of {fname} by position or name, not through "
                "*args/**kwargs" + (varargs.PASS_ON if self.ctx.parsed.shape is not None else ""),
            )
            return [s]
        target, args = method_call(obj, value)  # (m.forward(x): forward(m, x))
        try:
            sig = inspect.signature(target, follow_wrapped=False)  # (the wrapper is transformed)
            bound = sig.bind(*[_Marker(a) for a in args],
                             **{k.arg: _Marker(k.value) for k in value.keywords if k.arg})
        except (TypeError, ValueError) as exc:
            bound, why = None, str(exc)
        if bound is None:
            self.problem(UnsupportedSyntaxError, s, f"cannot match this call to "
                         f"{_describe(obj)}: {why}",
                         f"call {_describe(obj)} with the arguments its signature takes")
            return [s]
        # (a callee of *args/**kwargs: transformed for this call's shape, s2s.varargs)
        shape, params, renamed = varargs.bound_parameters(see_through(target), sig, bound)
        markers = dict(params)
        active = [pname for pname, marker in params if self.is_active(marker.atom)]
        if None in active:
            self.problem(UnsupportedSyntaxError, s, "a value that carries a derivative is "
                         f"passed to *args or **kwargs of {_describe(obj)}",
                         "give the helper named parameters")
            return [s]
        binding, tangent_names, _ = (self.callee(target, tuple(active), s, shape)
                                     if shape is not None else self.callee(target, tuple(active), s))
        kws = [gast.keyword(arg=renamed.get(k.arg, k.arg), value=k.value) for k in value.keywords]
        for pname in active:
            kws.append(gast.keyword(arg=tangent_names[pname], value=self.dot(markers[pname].atom)))
        new_call = call(name(binding), args, kws)
        if discard:
            return [gast.Expr(value=new_call)]
        target = gast.Tuple(elts=[store(z), store(self.dot_name(z))], ctx=gast.Store())
        return [assign(target, new_call)] + self._owned_result(z)


def _own_returned_tangents(body, params, param_tangents, fresh_copy):
    """In a function another calls, a returned tangent that may be a
    parameter's tangent (or a view of one) while its value is a new array
    is returned as a copy: ``return x * 1.0`` has the tangent ``x_dot``
    itself, and a caller that writes into the result (``y = helper(x);
    y[0] = 5.0``) would write into its own ``x_dot``. (Where the value is
    the parameter too, ``return x``, both stay shared, as in Python.)
    Whether a return changed."""
    primals, tangents = set(params), set(param_tangents)
    assigns = [n for n in gast.walk(gast.Module(body=body, type_ignores=[]))
               if isinstance(n, gast.Assign) and len(n.targets) == 1
               and isinstance(n.targets[0], gast.Name)]
    changed = True
    while changed:  # (flow-insensitive: a name that may hold one, on any path)
        changed = False
        for n in assigns:
            for held in (primals, tangents):
                if n.targets[0].id not in held and _view_of(n.value, held):
                    held.add(n.targets[0].id)
                    changed = True
    owned = False
    for n in gast.walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(n, gast.Return) and isinstance(n.value, gast.Tuple) \
                and len(n.value.elts) == 2:
            before = gast.dump(n.value.elts[1])
            n.value.elts[1] = _owned(n.value.elts[0], n.value.elts[1], primals, tangents,
                                     fresh_copy)
            owned |= gast.dump(n.value.elts[1]) != before
    return owned


def _view_of(value, held):
    """Whether ``value`` is a name in ``held`` or a view of one (an index, a
    transpose, a reshape...)."""
    while True:
        if isinstance(value, gast.Name):
            return value.id in held
        if isinstance(value, (gast.Subscript, gast.Attribute)):
            value = value.value
        elif isinstance(value, gast.Call) and value.args and (
                isinstance(value.func, gast.Attribute) and value.func.attr in VIEW_FUNCTIONS):
            value = value.args[0] if isinstance(value.func.value, gast.Name) \
                and value.func.value.id in ("xp", "np") else value.func.value
        else:
            return False


def _owned(primal, tangent, primals, tangents, fresh_copy):
    if isinstance(primal, (gast.Tuple, gast.List)) and isinstance(tangent, type(primal)) \
            and len(primal.elts) == len(tangent.elts):
        tangent.elts = [_owned(p, t, primals, tangents, fresh_copy)
                        for p, t in zip(primal.elts, tangent.elts)]
        return tangent
    if isinstance(tangent, gast.Name) and tangent.id in tangents \
            and not (isinstance(primal, gast.Name) and primal.id in primals):
        return call(clone(fresh_copy), [tangent])
    return tangent


def _self_assignment(stmt):
    return (
        isinstance(stmt, gast.Assign)
        and isinstance(stmt.targets[0], gast.Name)
        and isinstance(stmt.value, gast.Name)
        and stmt.targets[0].id == stmt.value.id
    )


class _Marker:
    def __init__(self, atom):
        self.atom = atom


class Site:
    """What a CustomRule's ``emit`` gets: the call and helpers."""

    def __init__(self, em, rule, bound, args, keywords, func, z, zd, stmt):
        self.em = em
        self.rule = rule
        self.bound = bound
        self.args = args
        self.keywords = keywords
        self.func = func
        self.z = z
        self.zd = zd
        self.stmt = stmt
        self.uses_output = False

    def dot(self, atom):
        return self.em.dot(atom)

    def dot_or_zero(self, atom):
        return self.em.dot_or_zero(atom)

    def static(self, atom, depth=0):
        """The value of an argument known at transform time: a constant, a
        global (the generated code then depends on its value), a module's
        number or string (``np.inf``, ``math.pi``: fixed for the run), -/+
        one of those, or a local bound once to one (``-np.inf`` is a
        temporary after normalisation); else MISSING."""
        if isinstance(atom, gast.Constant):
            return atom.value
        if atom is None:
            return None
        if isinstance(atom, gast.UnaryOp) and isinstance(atom.op, (gast.USub, gast.UAdd)):
            value = self.static(atom.operand, depth)
            if type(value) not in (int, float):
                return MISSING
            return -value if isinstance(atom.op, gast.USub) else value
        if isinstance(atom, gast.Name) and self.em.ctx.is_local(atom.id):
            value = self.em.bound_once.get(atom.id)
            return self.static(value, depth + 1) if value is not None and depth < 8 else MISSING
        if isinstance(atom, gast.Attribute):
            module = self.em.ctx.resolve(atom.value)
            value = self.em.ctx.resolve(atom)
            if isinstance(module, types.ModuleType) and isinstance(value, (str, int, float)):
                return value
            return MISSING
        if not isinstance(atom, gast.Name):
            return MISSING
        value = self.em.ctx.resolve(atom)
        if isinstance(value, (str, int, float, tuple, type(None))):
            self.em.ctx.resolver.depend_on_value(atom.id, value)
        return value

    def template(self, rule, bound):
        """The tangent statements of the template ``rule`` (a TemplateRule)
        for this call, its parameters bound to ``bound`` (name -> atom); None
        where the tangent is zero. (A custom rule that picks a template.)"""
        stmts, zero = expand(rule, bound, self.z, self.zd, self.dot, self.em.tangent_temp,
                             self.ref)
        self.uses_output = self.uses_output or rule.uses_output
        return None if zero else stmts

    def problem(self, message, hint):
        """Refuse the call: a NoRuleError at the user's line (recorded, and
        the tangent taken as zero, when ``s2s check`` collects problems)."""
        self.em.problem(NoRuleError, self.stmt, message, hint)

    def ref(self, obj):
        return self.em.ctx.ref(obj)

    def assign(self, value):
        return assign(self.zd, value)


def _describe(obj):
    path = registry.numpy_path(obj)
    if path is not None:
        return f"numpy.{path}"
    if isinstance(obj, functools.partial):
        return f"functools.partial({_describe(obj.func)}, ...)"
    mod = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    if mod in (None, "builtins"):
        return qual
    return f"{mod}.{qual}"


def _zeros_each():
    from . import runtime

    return runtime.zeros_like_each


def _is_sequence(atom, sequences):
    return isinstance(atom, (gast.Tuple, gast.List)) or (
        isinstance(atom, gast.Name) and atom.id in sequences)


def _sequence_names(nodes):
    """Names that hold a list or tuple wherever they are assigned: from a
    display, a concatenation or repetition of one, or another such name
    (their ``+`` and ``*`` concatenate and repeat). ``nodes``: the
    assignments and loops of the function."""
    values, other = {}, set()
    for n in nodes:
        if isinstance(n, gast.Assign):
            for target in n.targets:
                if isinstance(target, gast.Name):
                    values.setdefault(target.id, []).append(n.value)
                else:
                    other.update(m.id for m in walk(target) if isinstance(m, gast.Name)
                                 and isinstance(m.ctx, gast.Store))
        elif isinstance(n, (gast.For, gast.AugAssign)):
            other.update(m.id for m in walk(n.target) if isinstance(m, gast.Name))
    found, changed = set(), True

    def holds(v):
        if isinstance(v, (gast.Tuple, gast.List)):
            return True
        if isinstance(v, gast.Name):
            return v.id in found
        return isinstance(v, gast.BinOp) and isinstance(v.op, (gast.Add, gast.Mult)) and (
            _is_sequence(v.left, found) or _is_sequence(v.right, found))

    while changed:
        changed = False
        for n, vs in values.items():
            if n not in found and n not in other and all(holds(v) for v in vs):
                found.add(n)
                changed = True
    return found
