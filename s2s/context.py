"""What every pass of one transformation shares: the parsed function, the
namer, the resolver, and the names generated code uses for the array
namespace (``xp``) and the runtime helpers (``_s2s``)."""

import gast
import numpy

from . import backend, outer, runtime
from .errors import UnsupportedSyntaxError
from .frontend import Resolver
from .names import Namer, identifiers, names_in
from .nodes import VALUE_FIELDS, name_nodes, value_fields, walk

_SCOPES = (gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp, gast.Lambda)


def _walk_scope(node, nested=None):
    """The nodes of ``node`` (a list, in no particular order) like
    gast.walk, without descending into comprehensions and lambdas (their
    variables are not the function's), nor into expression contexts and
    operators (see :func:`s2s.nodes.walk_values`). The comprehensions and
    lambdas left out are added to the list ``nested``, if given."""
    todo = [node]
    append = todo.append
    skip = (nested if nested is not None else []).append
    for node in todo:
        values = node.__dict__
        for field in VALUE_FIELDS[node.__class__]:
            value = values.get(field)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, gast.AST):
                        (skip if isinstance(item, _SCOPES) else append)(item)
            elif isinstance(value, gast.AST):
                (skip if isinstance(value, _SCOPES) else append)(value)
    return todo


def walk_statements(body):
    """Every statement of ``body``, nested ones included (if/for/while/with/
    try bodies and handlers), in order."""
    for stmt in body:
        yield stmt
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                yield from walk_statements(inner)
        if isinstance(stmt, gast.Try):
            for handler in stmt.handlers:
                yield from walk_statements(handler.body)


def assigned_names(fn_node):
    """Parameters and every name the function body binds (its locals)."""
    return _bound_in(_walk_scope(fn_node), fn_node)


def _bound_in(scope, fn_node, imports=True):
    """The names the nodes ``scope`` (the function's, see :func:`_walk_scope`)
    bind (``imports=False``: but for import statements)."""
    local = set()
    for node in scope:
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Param, gast.Del)):
            local.add(node.id)
        elif isinstance(node, gast.ExceptHandler) and isinstance(node.name, gast.Name):
            local.add(node.name.id)
        elif isinstance(node, gast.alias) and imports:
            local.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (gast.FunctionDef, gast.ClassDef)) and node is not fn_node:
            local.add(node.name)  # rejected by the syntax pass, but a local name
    return local


def _local_imports(scope, fn_node, fn):
    """Names the function binds only by ``import`` statements (``import
    numpy as np``, ``from math import exp`` in its body) -> the module or
    object they import, imported now: such a name denotes the same object
    whenever the function runs, so it resolves like a global (``np.sin``
    has its rule). Names also bound otherwise, and imports that fail, stay
    plain locals."""
    found, other = {}, _bound_in(scope, fn_node, imports=False)
    for node in scope:
        if isinstance(node, (gast.Import, gast.ImportFrom)):
            for alias in node.names:
                bound = (alias.asname or alias.name).split(".")[0]
                obj = _imported(node, alias, fn)
                if obj is _FAILED or found.get(bound, obj) is not obj:
                    other.add(bound)
                found[bound] = obj
    return {k: v for k, v in found.items() if k not in other}


_FAILED = object()


def _imported(node, alias, fn):
    """What ``alias`` of the import statement ``node`` binds, or _FAILED."""
    import importlib

    try:
        if isinstance(node, gast.Import):
            module = importlib.import_module(alias.name)
            if alias.asname:
                return module
            return importlib.import_module(alias.name.split(".")[0])  # import a.b binds a
        package = getattr(fn, "__globals__", {}).get("__package__") if node.level else None
        base = importlib.import_module("." * node.level + (node.module or ""), package)
        if hasattr(base, alias.name):
            return getattr(base, alias.name)
        return importlib.import_module(f"{base.__name__}.{alias.name}")
    except Exception:  # (ImportError, or whatever the module raises on import)
        return _FAILED


class Context:
    """``xp`` names the array namespace: generated code binds it on its first
    line, ``xp = _s2s.namespace_of(<parameters>)`` (see :mod:`s2s.backend`);
    while transforming, it resolves to ``numpy``, whose objects key the rules."""

    def __init__(self, parsed):
        self.parsed = parsed
        node = parsed.node
        nested = []  # one walk for the names of the function and its locals
        scope = _walk_scope(node, nested)
        # the function's own names
        self.user_names = identifiers(scope).union(*map(names_in, nested), parsed.cells)
        self.namer = Namer(self.user_names)
        # generated code transformed again: its namespace line goes (the new
        # function gets its own), its name stays the namespace
        self.xp = take_prologue(parsed)
        self.local_names = _bound_in(scope, node) if self.xp is None else assigned_names(node)
        # names bound by import statements in the body: resolved like globals
        imports = _local_imports(scope, node, parsed.fn)
        self.local_names -= imports.keys()
        if self.xp is None:
            # ``xp`` may shadow a user's global of the same name only when
            # that global is numpy itself (array-API style code); else rename.
            user_xp = Resolver(parsed, self.local_names).resolve_name("xp")
            if user_xp is numpy and "xp" not in self.local_names:
                self.xp = "xp"
            else:
                self.xp = self.namer.fresh("xp")
        user_rt = Resolver(parsed, self.local_names).resolve_name("_s2s")
        if user_rt is runtime and "_s2s" not in self.local_names:
            self.rt = "_s2s"  # code s2s generated, transformed again
        else:
            self.rt = self.namer.fresh("_s2s")
        self.resolver = Resolver(
            parsed, self.local_names, extra={**imports, self.xp: numpy, self.rt: runtime}
        )
        self.bindings = {self.xp: numpy, self.rt: runtime}
        # None: the first problem is raised; a list: problems are collected
        # there and the passes go on (``s2s check``, see s2s/check.py)
        self.problems = None
        # binding name -> (callee function, transform spec, its generated
        # function or None while that is still being built): for the disk cache
        self.callees = {}
        # (generated FunctionDef, the names it uses), set by ``prologue``
        self.used_names = (None, None)

    # -- names and objects -------------------------------------------------

    def prologue(self, fn_node, nodes=None):
        """``xp = _s2s.namespace_of(<parameters>)``, the first statement of a
        generated function whose body uses ``xp``: the namespace follows the
        arrays of each call. Every parameter is listed, as which of them hold
        arrays is known only then (non-arrays count for nothing). A function
        without parameters keeps ``xp`` bound to numpy.

        Also records in ``self.used_names`` the names ``fn_node`` reads or
        binds once the prologue is its first statement (what
        :func:`s2s.codegen.free_names` would find in it). ``nodes``: the
        :class:`s2s.nodes.StatementNodes` of its statements, if there is one."""
        if nodes is None:
            used = {n.id for n in name_nodes(fn_node)}
        else:
            used = {n.id for stmt in fn_node.body for n in nodes.names(stmt)}
            for field in value_fields(fn_node.__class__):  # parameters, decorators...
                value = getattr(fn_node, field, None) if field != "body" else None
                for part in value if isinstance(value, list) else [value]:
                    if isinstance(part, gast.AST):
                        used.update(n.id for n in name_nodes(part))
        self.used_names = (fn_node, used)
        if self.xp not in used:
            return []
        args = fn_node.args
        params = [a.id for a in args.posonlyargs + args.args]
        if args.vararg is not None:
            params.append(args.vararg.id)
        params += [a.id for a in args.kwonlyargs]
        if args.kwarg is not None:
            params.append(args.kwarg.id)
        if not params:
            return []
        line = assign(self.xp, call(self.ref(runtime.namespace_of), [name(p) for p in params]))
        used.update(n.id for n in name_nodes(line))
        return [line]

    def resolve(self, node):
        return self.resolver.resolve(node)

    def is_local(self, name):
        return name in self.local_names

    def add_local(self, name):
        self.local_names.add(name)
        self.resolver.local_names.add(name)

    def temp(self):
        name = self.namer.temp()
        self.add_local(name)
        return name

    def bind(self, base, obj):
        """A name in generated code that refers to ``obj`` (a closure cell)."""
        for name, value in self.bindings.items():
            if value is obj:
                return name
        name = self.namer.fresh(base)
        self.bindings[name] = obj
        self.resolver.extra[name] = obj
        return name

    def ref(self, obj):
        """The expression generated code uses to refer to the object ``obj``."""
        import builtins
        import sys
        import types

        from .rules.registry import numpy_path

        if obj is numpy:
            return name(self.xp)
        if isinstance(obj, types.ModuleType):
            mod = obj.__name__
            if mod.startswith("numpy."):
                return dotted(self.xp + mod[len("numpy"):])
            short = mod.rsplit(".", 1)[-1]
            if self.resolver.resolve_name(short) is obj:
                return name(short)
            return name(self.bind(short, obj))
        path = numpy_path(obj)
        if path is not None:
            return dotted(f"{self.xp}.{path}")
        qual = getattr(obj, "__name__", None)
        mod = getattr(obj, "__module__", None)
        if mod in (runtime.__name__, backend.__name__, outer.__name__) \
                and getattr(runtime, qual, None) is obj:
            return attr(name(self.rt), qual)
        if qual and getattr(builtins, qual, None) is obj:
            if self.resolver.resolve_name(qual) is obj:
                return name(qual)
            return name(self.bind(qual, obj))
        module = sys.modules.get(mod or "")
        if qual and module is not None and getattr(module, qual, None) is obj:
            return attr(self.ref(module), qual)
        return name(self.bind(qual or "obj", obj))

    # -- errors ------------------------------------------------------------

    def error(self, cls, node, message, hint=None):
        lineno = getattr(node, "lineno", None) or self.parsed.node.lineno
        filename, user_line = self.parsed.origin(lineno)
        return cls(
            message,
            filename=filename,
            lineno=user_line,
            line=self.parsed.line(lineno),
            hint=hint,
        )

    def unsupported(self, node, message, hint=None):
        return self.error(UnsupportedSyntaxError, node, message, hint)

    def report(self, error):
        """Raise ``error``; when collecting problems, record it instead, and
        the pass that found it goes on as if the construct were not there."""
        if self.problems is None:
            raise error
        self.problems.append(error)


def take_prologue(parsed):
    """If ``parsed`` is generated code, remove its first statement
    ``xp = _s2s.namespace_of(...)`` and return the name it binds; else None."""
    body = parsed.node.body
    if not body:
        return None
    first = body[0]
    if not (isinstance(first, gast.Assign) and len(first.targets) == 1
            and isinstance(first.targets[0], gast.Name) and isinstance(first.value, gast.Call)
            and isinstance(first.value.func, gast.Attribute)
            and first.value.func.attr == "namespace_of"
            and isinstance(first.value.func.value, gast.Name)):
        return None
    target = first.targets[0].id
    holder = Resolver(parsed, assigned_names(parsed.node))
    if holder.resolve_name(first.value.func.value.id) is not runtime:
        return None
    rebound = [n for n in _walk_scope(parsed.node) if isinstance(n, gast.Name)
               and n.id == target and not isinstance(n.ctx, gast.Load)]
    if len(rebound) != 1:
        return None
    del body[0]
    return target


def name(id_, ctx=None):
    """``gast.Name(id=id_, ctx=ctx or Load(), annotation=None, type_comment=None)``,
    its fields set at once: a third faster than gast's keyword constructor
    (the transforms make hundreds of names per function)."""
    node = _Name.__new__(_Name)
    node.__dict__.update(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)
    return node


_Name = gast.Name


def store(id_):
    return name(id_, gast.Store())


def const(value):
    return gast.Constant(value=value, kind=None)


def attr(value, attr_name):
    return gast.Attribute(value=value, attr=attr_name, ctx=gast.Load())


def dotted(path):
    """``"xp.linalg.norm"`` -> an Attribute chain."""
    parts = path.split(".")
    node = name(parts[0])
    for part in parts[1:]:
        node = attr(node, part)
    return node


def call(func, args=(), keywords=()):
    return gast.Call(func=func, args=list(args), keywords=list(keywords))


def assign(target, value, lineno=None):
    if isinstance(target, str):
        target = store(target)
    node = gast.Assign(targets=[target], value=value, type_comment=None)
    if lineno is not None:
        node.lineno = lineno
    return node


def located(nodes, lineno):
    """Give every statement in ``nodes`` (recursively) the line ``lineno``
    where it has none."""
    for stmt in nodes:
        for sub in walk(stmt):
            if isinstance(sub, gast.stmt) and getattr(sub, "lineno", None) is None:
                sub.lineno = lineno
    return nodes

