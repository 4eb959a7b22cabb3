"""Function -> gast ``FunctionDef`` plus a resolver from names to live objects.

The frontend reads a function's source (with :mod:`inspect`; the end of a
``def`` block from its indentation, :mod:`s2s.defblock`), finds the right
``def`` or ``lambda`` in it and parses it with gast, every node carrying its
line in the user's file. Lambdas become ``def``s whose
body is one ``return``. Names resolve through the function's globals, its
closure cells and the builtins, at transform time; the generated code reads
the same globals and cells live.
"""

import __future__

import builtins
import collections
import contextlib
import dataclasses
import functools
import hashlib
import inspect
import linecache
import operator
import re
import textwrap
import types
import weakref

import gast
import numpy

from .convert import parse as parse_gast
from .defblock import def_block
from .errors import InputError, SourceUnavailableError, UnsupportedSyntaxError
from .nodes import clone, walk


@dataclasses.dataclass
class Parsed:
    """A parsed user function."""

    fn: object
    node: gast.FunctionDef
    filename: str
    globals: dict
    cells: dict  # free variable name -> cell object (live)
    source: str = ""  # the source lines read for it (the def with its decorators)
    shape: tuple = None  # the call shape node is specialised for (s2s.varargs), if any

    @property
    def name(self):
        return self.node.name

    def origin(self, lineno):
        """``(filename, lineno)`` in the user's code of line ``lineno`` of this
        function's file: for generated code (transformed again), the user's
        line it came from (a lambda in generated code too)."""
        from .codegen import ORIGINS

        origins = getattr(self.fn, "__s2s_origins__", None) or ORIGINS.get(self.filename)
        if origins and lineno in origins:
            return origins[lineno]
        return self.filename, lineno

    def line(self, lineno):
        """The text of the user's line behind line ``lineno``, stripped."""
        if not lineno:
            return ""
        filename, lineno = self.origin(lineno)
        return linecache.getline(filename, lineno).strip()

    def where(self, lineno=None):
        filename, lineno = self.origin(lineno or self.node.lineno)
        return f"{short_filename(filename)}:{lineno}"

    def comment_text(self, lineno):
        """``model.py:12  y = np.sin(x) * w``: the comment above a group of
        generated statements."""
        return f"{self.where(lineno)}  {self.line(lineno)}".rstrip()


def short_filename(filename):
    """The file name shown in comments and messages: its last component."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1]


_CACHE = {}


def parse(fn):
    """Parse ``fn`` into a :class:`Parsed`; raises SourceUnavailableError."""
    fn = _unwrap(fn)
    code = fn.__code__
    key = code
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == _source_stamp(code):
        node, text = _copy(hit[1]), hit[2]
    else:
        node, text = _parse_code(fn)
        _CACHE[key] = (_source_stamp(code), _copy(node), text)
    cells = {}
    if fn.__closure__:
        cells = dict(zip(code.co_freevars, fn.__closure__))
    return Parsed(fn, node, code.co_filename, fn.__globals__, cells, text)


def _copy(node):

    return clone(node)


def _source_stamp(code):
    lines = linecache.getlines(code.co_filename)
    return hash(tuple(lines))


def see_through(obj):
    """The plain function behind an ``@s2s.differentiable`` object (it calls
    exactly like that function, so transforms read that function's source);
    any other object as it is."""
    if isinstance(obj, _differentiable_class()):
        return obj.__wrapped__
    return obj


@functools.cache
def _differentiable_class():
    """``s2s.decorator.Differentiable``, imported on first use (that module
    imports this one), once: resolving names calls see_through hundreds of
    times per transform."""
    from .decorator import Differentiable

    return Differentiable


def _unwrap(fn):
    if not callable(fn):
        raise InputError(f"{fn!r} ({type(fn).__name__}) is not a function: s2s transforms "
                         "functions", hint="pass the function itself, e.g. s2s.jvp(f, ...)")
    fn = see_through(fn)
    if isinstance(fn, types.MethodType):
        return calling_method(fn)
    if isinstance(fn, types.FunctionType):
        from .rules import registry

        rule = registry.lookup(fn)
        return fn if rule is None or rule.builtin else _calling(fn)
    synth = synthesize_primitive_function(fn)
    if synth is not None:
        return synth
    if isinstance(fn, functools.partial):
        return _calling_partial(fn)
    if not isinstance(fn, type) and isinstance(
            inspect.getattr_static(type(fn), "__call__", None), types.FunctionType):
        # a callable instance: its class's __call__, bound to it
        return calling_method(types.MethodType(type(fn).__call__, fn))
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    raise SourceUnavailableError(
        f"cannot read the Python source of {name} ({type(fn).__name__})",
        hint="s2s transforms Python functions whose source file is available; "
        "wrap the call in a def in a .py file",
    )


_PRIMITIVE_WRAPPERS = {}


def _calling(fn):
    """A function with source that calls ``fn`` (which has a user's rule:
    s2s.jvp of ``fn`` itself then uses the rule, not ``fn``'s code)."""
    if fn in _PRIMITIVE_WRAPPERS:
        return _PRIMITIVE_WRAPPERS[fn]
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    namespace = {"_ruled": fn}
    names = ", ".join(p.name for p in params)
    src = f"def {fn.__name__}({_spelled(params, namespace)}):\n    return _ruled({names})\n"
    _PRIMITIVE_WRAPPERS[fn] = _define(
        src, f"<s2s call of {fn.__module__}.{fn.__qualname__}, which has a rule>", namespace,
        fn.__name__)
    return _PRIMITIVE_WRAPPERS[fn]


_PARTIALS = weakref.WeakKeyDictionary()  # functools.partial -> the function calling it


def _calling_partial(p):
    """A function with source for ``functools.partial(f, *args, **keywords)``,
    with the partial's own signature (what ``inspect.signature`` says: the
    parameters it leaves open, and those it fixes by keyword as keyword-only
    ones defaulting to their values), calling ``f`` with the fixed values."""
    if p in _PARTIALS:
        return _PARTIALS[p]
    inner = getattr(p.func, "__qualname__", repr(p.func))
    try:
        kinds = {q.kind for q in inspect.signature(p.func).parameters.values()}
    except (TypeError, ValueError):  # (a C function without a signature)
        params, kinds, why = None, set(), "no signature"
    else:
        why = "positional-only, *args or **kwargs"
        try:
            params = list(inspect.signature(p).parameters.values())
        except ValueError:
            raise InputError(
                f"functools.partial({inner}, ...) fixes arguments that {inner} does not take",
                hint="fix only parameters of the function") from None
    if params is None or kinds & {inspect.Parameter.VAR_POSITIONAL,
                                  inspect.Parameter.VAR_KEYWORD,
                                  inspect.Parameter.POSITIONAL_ONLY}:
        raise SourceUnavailableError(
            f"functools.partial({inner}, ...) is of a function whose parameters s2s cannot "
            f"bind ({why})",
            hint=f"transform {inner} itself and pass the fixed arguments at the call "
            f"(s2s.jacfwd({inner})(x, scale=3.0); vmap takes them too, with in_dims=None "
            "for positional ones), or define a def that calls it")
    namespace = {"_partial_func": p.func}
    passed = []
    for i, value in enumerate(p.args):
        namespace[f"_fixed{i}"] = value
        passed.append(f"_fixed{i}")
    spelled = _spelled(params, namespace,
                       lambda q: "_fixed_" if q.name in p.keywords else "_default_")
    passed += [f"{q.name}={q.name}" for q in params]
    name = (re.sub(r"\W", "", getattr(p.func, "__name__", "")) or "fn") + "_partial"
    src = (f"def {name}({spelled}):\n"
           f"    return _partial_func({', '.join(passed)})\n")
    # (named by its source, whose fixed values are names: deterministic, and
    # partials with other open parameters do not share a line cache entry)
    digest = hashlib.sha256(src.encode()).hexdigest()[:8]
    where = f"<s2s call of functools.partial({inner}, ...) {digest}>"
    fn = _define(src, where, namespace, name)
    fn.__qualname__ = f"functools.partial({inner}, ...)"  # (what messages call it)
    _PARTIALS[p] = fn
    return fn


# (function, id(receiver)) -> the function calling it, for the receivers used last: it
# holds its receiver (so the id stays that receiver's), and is kept (with the code
# generated for it) until _BOUND_KEPT others have been used since
_BOUND = collections.OrderedDict()
_BOUND_KEPT = 16


def calling_method(method):
    """A function with source for the bound method ``method`` of a class of
    the user's: ``def forward(x): return self.forward(x)``, where ``self``,
    a global of its own, is the receiver. Transforms then see what the user
    writes in a function (a method called on an object it reads from
    outside), so the receiver is never differentiated, its arrays are
    constants, and the generated code depends on the class's method (it is
    rebuilt when that is replaced). One per function and receiver, kept as
    long as the receiver lives."""
    func, receiver = method.__func__, method.__self__
    qualname = getattr(func, "__qualname__", None) or repr(func)
    if not isinstance(func, types.FunctionType):
        raise SourceUnavailableError(
            f"cannot read the Python source of the method {qualname} ({type(func).__name__})",
            hint="s2s transforms methods written in Python in a .py file")
    key = (func, id(receiver))
    hit = _BOUND.get(key)
    if hit is not None:
        _BOUND.move_to_end(key)
        return hit
    code = func.__code__
    wrapper = code.co_argcount + code.co_posonlyargcount == 0 and code.co_flags & inspect.CO_VARARGS
    if code.co_argcount + code.co_posonlyargcount == 0 and not wrapper:
        raise InputError(f"the method {qualname} takes no parameter for its receiver",
                         filename=code.co_filename, lineno=code.co_firstlineno,
                         hint="give it a first parameter (self), or make it a staticmethod")
    params = list(inspect.signature(method).parameters.values())  # (a decorated one's own)
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        raise InputError(
            f"the method {qualname} takes *args or **kwargs: s2s differentiates with respect "
            "to named parameters", filename=code.co_filename, lineno=code.co_firstlineno,
            hint="give the method named parameters (def __call__(self, x)), or "
            "differentiate the method it passes them on to")
    receiver_name = "self" if wrapper else code.co_varnames[0]  # (a decorator's *args: self)
    while any(p.name == receiver_name for p in params):
        receiver_name += "_"
    namespace = {receiver_name: receiver}
    passed = [p.name if p.kind is not p.KEYWORD_ONLY else f"{p.name}={p.name}" for p in params]
    spelled = _spelled([p.replace(kind=p.POSITIONAL_OR_KEYWORD)
                        if p.kind is p.POSITIONAL_ONLY else p for p in params], namespace)
    name = func.__name__
    if name in namespace or any(p.name == name for p in params):
        name = f"{name}_"
    found = getattr(receiver, func.__name__, None)
    if isinstance(found, types.MethodType) and found.__func__ is func:
        called = f"{receiver_name}.{func.__name__}"  # (rebuilt when the class's method changes)
    else:  # (a name-mangled __method, or one stored under another name)
        called = "_method"
        while called in namespace or any(p.name == called for p in params):
            called += "_"
        namespace[called] = func
        passed.insert(0, receiver_name)
    src = f"def {name}({spelled}):\n    return {called}({', '.join(passed)})\n"
    digest = hashlib.sha256(f"{func.__module__}.{qualname}\n{src}".encode()).hexdigest()[:8]
    wrapper = _define(src, f"<s2s bound method {qualname} {digest}>", namespace, name)
    wrapper.__s2s_method__ = func  # (what headers and messages name: display_name)
    wrapper.__qualname__ = qualname
    _BOUND[key] = wrapper
    if len(_BOUND) > _BOUND_KEPT:
        _BOUND.popitem(last=False)
    return wrapper


def bound_function(obj):
    """The function of the user's behind a bound method (``m.forward``) or
    a callable instance (``m``, its class's ``__call__``), else None."""
    obj = see_through(obj)
    if type(obj) is types.MethodType:
        func = obj.__func__
    elif not isinstance(obj, type):
        func = inspect.getattr_static(type(obj), "__call__", None)
    else:
        return None
    return func if isinstance(func, types.FunctionType) else None


def display_name(fn, node_name):
    """The name of ``fn`` in headers and messages: ``MLP.forward`` for a
    method (or the function calling a bound one), else its def's name."""
    method = getattr(fn, "__s2s_method__", None)
    qualname = getattr(method or fn, "__qualname__", "") or ""
    shown = qualname.rsplit("<locals>.", 1)[-1]
    if "." in shown and shown.rsplit(".", 1)[-1] == getattr(method or fn, "__name__", None):
        return shown
    return node_name


def _spelled(params, namespace, label=lambda param: "_default_"):
    """The parameter list of a synthesized def with ``params`` (of
    ``inspect.signature``): each default a name bound in ``namespace``
    (``eps=_default_eps``), keyword-only ones after a ``*``."""
    spelled = []
    for q in params:
        if q.kind is q.KEYWORD_ONLY and "*" not in spelled:
            spelled.append("*")
        if q.default is q.empty:
            spelled.append(q.name)
        else:
            namespace[label(q) + q.name] = q.default
            spelled.append(f"{q.name}={label(q)}{q.name}")
    return ", ".join(spelled)


def _define(src, filename, namespace, name):
    """The function ``name`` that ``src`` defines, its source readable
    under ``filename`` (as s2s reads the user's)."""
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    exec(compile(src, filename, "exec"), namespace)
    return namespace[name]


def synthesize_primitive_function(obj):
    """For a registered primitive (``np.sin``) passed directly to the API,
    return a Python function ``def sin(x): return numpy.sin(x)`` with source."""
    from .rules import registry

    if obj in _PRIMITIVE_WRAPPERS:
        return _PRIMITIVE_WRAPPERS[obj]
    try:
        rule = registry.lookup(obj)
    except TypeError:
        return None
    if rule is None:
        return None
    nin = getattr(obj, "nin", None)
    if nin is None:
        sig = signature_of(obj)
        if sig is None:
            return None
        params = [p.name for p in sig.parameters.values()
                  if p.default is inspect.Parameter.empty
                  and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if any(p.startswith("_") for p in params):  # (_0: the docstring's (a1, a2, ...))
            return None
    else:
        params = ["x"] if nin == 1 else [f"x{i + 1}" for i in range(nin)]
    path = registry.numpy_path(obj)
    if path is None:
        return None
    name = path.rsplit(".", 1)[-1]
    args = ", ".join(params)
    src = f"def {name}({args}):\n    return numpy.{path}({args})\n"
    fn = _define(src, f"<s2s primitive numpy.{path}>", {"numpy": numpy}, name)
    _PRIMITIVE_WRAPPERS[obj] = fn
    return fn


def signature_of(obj):
    """``inspect.signature(obj)``, or for a C function without one (NumPy's
    before 2.3) the signature its docstring opens with; None where neither
    says."""
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return _doc_signature(obj)


_DOC_PARAMETER = re.compile(r"^(\*{0,2})([A-Za-z_]\w*)\s*(=.*)?$", re.S)


def _doc_signature(obj):
    """The signature a C function's docstring opens with (``dot(a, b,
    out=None)``, over several lines for some), or None where it does not
    spell one out parameter by parameter (``where(condition, [x, y], /)``)."""
    doc = (getattr(obj, "__doc__", None) or "").lstrip()
    head = re.match(r"[\w.]+\(", doc)
    if head is None:
        return None
    parts, depth, part = [], 0, ""
    for ch in doc[head.end():]:
        if ch in ")]}" and depth == 0:
            parts.append(part)
            break
        depth += (ch in "([{") - (ch in ")]}")
        if ch == "," and depth == 0:
            parts.append(part)
            part = ""
        else:
            part += ch
    else:
        return None
    params, kind = [], inspect.Parameter.POSITIONAL_OR_KEYWORD
    for i, part in enumerate(p.strip() for p in parts):
        if not part:
            continue
        if part == "/":
            params = [p.replace(kind=p.POSITIONAL_ONLY) for p in params]
            continue
        if part == "*":
            kind = inspect.Parameter.KEYWORD_ONLY
            continue
        if part.startswith("(") and part.endswith(")") and "[" not in part:
            part = f"_{i}"  # a sequence given as one argument: ``(a1, a2, ...)``
        m = _DOC_PARAMETER.match(part)
        if m is None:
            return None
        stars, pname, default = m.groups()
        p_kind = {"*": inspect.Parameter.VAR_POSITIONAL,
                  "**": inspect.Parameter.VAR_KEYWORD}.get(stars, kind)
        if stars == "*":
            kind = inspect.Parameter.KEYWORD_ONLY
        params.append(inspect.Parameter(
            pname, p_kind, default=None if default else inspect.Parameter.empty))
    try:
        return inspect.Signature(params)
    except ValueError:
        return None


def _parse_code(fn):
    """``(node, text)``: the function's tree and the source lines it was read from."""
    lines, start, tree = _read_source(fn)
    source = "".join(lines)
    if not _current(fn, lines, start):
        code = fn.__code__
        raise SourceUnavailableError(
            f"the source of {fn.__qualname__} is not the code it runs: its file was edited "
            "after it was defined",
            filename=code.co_filename, lineno=code.co_firstlineno,
            hint="reload the module (importlib.reload) or run the cell again, so that the "
            "function is the one in the file")
    if tree is None:
        tree = _parse_text(textwrap.dedent(source), fn, max(start, 1) - 1)
    if fn.__name__ == "<lambda>":
        node = _find_lambda(tree, fn)
    else:
        node = _find_def(tree, fn)
    node.decorator_list = []
    return node, source


def _current(fn, lines, start):
    """Whether ``fn`` runs the code its file (as linecache has it now) says:
    False when the file was edited after ``fn`` was defined, and s2s would
    differentiate the new text. A module's function: its ``lines`` (from
    line ``start``) compiled as the file has them, with the file's imports
    (alone, a def compiles differently: ``np.zeros`` of an imported ``np``),
    and the code compared with ``fn``'s; where that differs (a nested
    function, a def inside an ``if``, imports inside a block) the whole
    file decides, compiled as the interpreter does and as under -O/-OO; a
    file that no longer compiles was edited. Not checked: s2s's generated
    code, with the lambdas in it (compiled inside a factory function, they
    are not the code the file's text compiles to), a module pytest rewrote
    the asserts of."""
    from .codegen import ORIGINS

    code = fn.__code__
    if "__s2s_source__" in fn.__dict__ or "@pytest_ar" in fn.__globals__ \
            or code.co_filename in ORIGINS:  # (a file s2s wrote: in memory or in its cache)
        return True
    flags = code.co_flags & _FUTURE_FLAGS  # (from __future__ import annotations...)
    if fn.__qualname__ == fn.__name__:
        text = _imports(linecache.getlines(code.co_filename), start - 1) + "".join(lines)
        if _has_code(_compiled(text, code.co_filename, flags), code):
            return True
    for optimize in (-1, 2, 1):
        module = _compiled_file(code.co_filename, _source_stamp(code), flags, optimize)
        if module is None or _has_code(module, code):
            return module is not None
    return False


_FUTURE_FLAGS = functools.reduce(
    operator.or_, (getattr(__future__, f).compiler_flag for f in __future__.all_feature_names))


def _compiled(text, filename, flags, optimize=-1):
    try:
        return compile(text, filename, "exec", flags=flags, dont_inherit=True, optimize=optimize)
    except (SyntaxError, ValueError):
        return None


@functools.lru_cache(maxsize=8)
def _compiled_file(filename, stamp, flags, optimize):
    return _compiled("".join(linecache.getlines(filename)), filename, flags, optimize)


def _has_code(module, code):
    """Whether ``module`` (compiled text, or None) has ``code`` at its line."""
    return module is not None and any(
        c == code for c in _code_objects(module)
        if c.co_firstlineno == code.co_firstlineno and c.co_name == code.co_name)


def _imports(file_lines, end):
    """The first ``end`` lines of a file as text, blank but for its
    top-level imports (on their own lines, as in the file)."""
    out, depth, continued = [], 0, False
    for line in file_lines[:end]:
        keep = continued or depth > 0 or line.startswith(("import ", "from "))
        if keep:
            depth += line.count("(") - line.count(")")
            continued = line.rstrip().endswith("\\")
        out.append(line if keep else "\n")
    return "".join(out)


def _code_objects(code):
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield const
            yield from _code_objects(const)


def _read_source(fn):
    """``(lines, start, tree)``: ``inspect.getsourcelines(fn)``, and the tree
    of those lines when :func:`s2s.defblock.def_block` found them (it is
    right when they parse), else None."""
    # a functools.wraps wrapper: its own code, not (as inspect reads it) the function
    # it wraps, whose def the wrapper's code name would not find
    source_of = fn.__code__ if getattr(fn, "__wrapped__", None) is not None else fn
    try:
        if fn.__name__ != "<lambda>":
            file_lines, first = inspect.findsource(source_of)
            lines = def_block(file_lines, first)
            if lines is not None:
                with contextlib.suppress(SyntaxError):
                    text = "\n" * first + textwrap.dedent("".join(lines))
                    return lines, first + 1, parse_gast(text)
        return (*inspect.getsourcelines(source_of), None)
    except (OSError, TypeError) as exc:
        code = fn.__code__
        raise SourceUnavailableError(
            f"cannot read the source of {fn.__qualname__} (defined in {code.co_filename}): {exc}",
            hint="s2s reads Python source: define the function in a .py file or a "
            "notebook cell, not with exec/eval or at the bare interactive prompt",
        ) from None


def _parse_text(text, fn, offset):
    """The tree of ``text``, the lines of its file after the first ``offset``."""
    try:
        return parse_gast("\n" * offset + text)  # numbered by the parser, not by a walk
    except SyntaxError:
        pass
    return gast.increment_lineno(_parse_fragment(text, fn), offset)


def _parse_fragment(text, fn):
    # A lambda inside a larger expression: inspect gives the lines of the
    # statement fragment. Try parenthesising it (or bracing it: an item of a
    # dict display), then trimming trailing lines.
    for candidate in ("(" + text.strip().rstrip(",") + ")", text.strip().rstrip(","),
                      "{" + text.strip().rstrip(",") + "}"):
        try:
            return parse_gast(candidate)
        except SyntaxError:
            continue
    lines = text.splitlines()
    for end in range(len(lines), 0, -1):
        chunk = "\n".join(lines[:end]).strip().rstrip(",")
        for candidate in (chunk, "(" + chunk + ")", "{" + chunk + "}"):
            try:
                return parse_gast(candidate)
            except SyntaxError:
                continue
    raise SourceUnavailableError(
        f"cannot parse the source of {fn.__qualname__}",
        filename=fn.__code__.co_filename,
        lineno=fn.__code__.co_firstlineno,
        hint="define the function with def on its own lines",
    )


def _find_def(tree, fn):
    code = fn.__code__
    for node in walk(tree):
        if isinstance(node, (gast.FunctionDef,)) and node.name == code.co_name:
            return node
        if isinstance(node, gast.AsyncFunctionDef) and node.name == code.co_name:
            raise UnsupportedSyntaxError(
                f"{node.name} is an async function",
                filename=code.co_filename,
                lineno=node.lineno,
                hint="s2s differentiates ordinary functions; make it a plain def",
            )
    raise SourceUnavailableError(
        f"cannot find def {code.co_name} in its source", filename=code.co_filename
    )


def _find_lambda(tree, fn):
    code = fn.__code__
    names = list(code.co_varnames[: code.co_argcount])
    found = [
        n
        for n in walk(tree)
        if isinstance(n, gast.Lambda)
        and n.lineno == code.co_firstlineno
        and [a.id for a in n.args.args] == names
    ]
    if len(found) > 1:
        # (bytecode compiled apart may differ from the module's: then the names
        # and constants the code uses tell lambdas apart, lambda v: np.sin(v)
        # from lambda v: np.cos(v); lambdas alike in those are the same code)
        same = [n for n in found if _same_code(n, code)]
        if len(same) != 1:
            same = [n for n in (same or found) if _same_code(n, code, loose=True)]
        if len({gast.dump(n) for n in same}) != 1:
            raise SourceUnavailableError(
                "cannot tell which of the lambdas on this line is the function",
                filename=code.co_filename, lineno=code.co_firstlineno,
                hint="define the function with def, or put the lambda on a line of its own")
        found = same[:1]
    if not found:
        raise SourceUnavailableError(
            "cannot find this lambda in its source line",
            filename=code.co_filename,
            lineno=code.co_firstlineno,
            hint="define the function with def",
        )
    lam = found[0]
    ret = gast.Return(value=lam.body)
    gast.copy_location(ret, lam.body)
    node = gast.FunctionDef(
        name="_lambda",
        args=lam.args,
        body=[ret],
        decorator_list=[],
        returns=None,
        type_comment=None,
        type_params=[],
    )
    gast.copy_location(node, lam)
    return node


def _same_code(lam, code, loose=False):
    """Whether the lambda node ``lam`` compiles to ``code`` (``loose``: to code
    of the same names and constants)."""
    import ast

    expr = gast.gast_to_ast(gast.Expression(body=lam))
    ast.fix_missing_locations(expr)
    try:
        other = compile(expr, code.co_filename, "eval").co_consts[0]
    except (SyntaxError, IndexError, ValueError):
        return False
    if not hasattr(other, "co_code") or other.co_names != code.co_names \
            or other.co_consts != code.co_consts:
        return False
    return loose or other.co_code == code.co_code


class RankOf:
    """A dependency on the rank of a global's value, not on the value: batched
    code is specialised on the ranks of the arrays it reads (``x * S`` puts
    the batch axis differently for a vector ``S`` and a matrix), so it is
    rebuilt when ``S`` is rebound to an array of another rank, and only then."""

    __slots__ = ("rank",)

    def __init__(self, rank):
        self.rank = rank

    def __repr__(self):
        return f"RankOf({self.rank})"


class MethodOf:
    """A dependency on an attribute chain (``m.forward``) holding a method
    bound to some object whose function is ``func``: a bound method is a new
    object at each lookup, and the generated code reads the receiver when it
    runs, so only the function matters (and no receiver is kept alive)."""

    __slots__ = ("func",)

    def __init__(self, func):
        self.func = func

    def __repr__(self):
        return f"MethodOf({self.func.__qualname__})"


def static_rank(obj):
    """The rank generated code may assume for a global's value: a NumPy
    array's ndim, 0 for a Python number, None for anything else."""
    if isinstance(obj, (int, float, complex)) and not isinstance(obj, bool):
        return 0
    if isinstance(obj, numpy.ndarray):
        return obj.ndim
    return None


def dependency_current(name, where, value):
    """Whether ``name`` in ``where`` (a globals dict or a cell) still holds
    ``value`` (for a :class:`RankOf`, a value of that rank); a dotted name
    (``cfg.W``) is looked up attribute by attribute from its first name."""
    first, _, rest = name.partition(".")
    if isinstance(where, dict):
        current = where.get(first, MISSING)
    else:
        try:
            current = where.cell_contents
        except ValueError:
            return False
    for attr in rest.split(".") if rest else ():
        current = getattr(current, attr, MISSING)
    if type(value) is RankOf:
        return current is not MISSING and static_rank(current) == value.rank
    if type(value) is MethodOf:
        return type(current) is types.MethodType and current.__func__ is value.func
    return current is value


class Resolver:
    """Names of the user's function -> live objects (at transform time).

    ``local_names`` are the function's parameters and assigned names: those
    never resolve. Everything else resolves through closure cells, globals
    and builtins, and attribute chains through ``getattr``.
    """

    _MISSING = object()

    def __init__(self, parsed, local_names, extra=None):
        self.parsed = parsed
        self.local_names = set(local_names)
        self.extra = dict(extra or {})
        # what the generated code was built from: name -> (where, object)
        # for every function, class or module a global or cell resolved to
        self.deps = {}
        # every name and attribute chain of the user's scope resolved (dotted
        # path -> object, MISSING included): the disk cache re-checks them
        self.seen = {}
        self.consts = set()  # names whose value (not only identity) the code depends on

    def resolve(self, node):
        """The object ``node`` (Name or Attribute chain) denotes, or MISSING."""
        if isinstance(node, gast.Name):
            return self.resolve_name(node.id)
        if isinstance(node, gast.Attribute):
            base = self.resolve(node.value)
            if base is self._MISSING:
                return base
            try:
                value = see_through(getattr(base, node.attr))
            except Exception:
                value = self._MISSING
            path = dotted(node)
            if path is not None and self._in_scope(path.split(".", 1)[0]):
                self.seen[path] = value
                if type(value) is types.MethodType:  # obj.method: rebuilt when it changes
                    self._depend_on_path(path, value)
            return value
        return self._MISSING

    def resolve_name(self, name):
        if name in self.extra:
            return self.extra[name]
        if name in self.local_names:
            return self._MISSING
        value = lookup(self.parsed.fn, name, self.parsed.cells)
        self.seen[name] = value
        cell = self.parsed.cells.get(name)
        if cell is not None:
            if value is not self._MISSING:
                self._depend(name, cell, value)
        elif name in self.parsed.globals:
            self._depend(name, self.parsed.globals, value)
        return see_through(value)

    def _in_scope(self, name):
        return name not in self.extra and name not in self.local_names

    def depend_on_value(self, name, value):
        """The generated code was built from the current value of the global
        (or closure variable) ``name``: rebuild it when that changes."""
        cell = self.parsed.cells.get(name)
        self.deps[name] = (cell if cell is not None else self.parsed.globals, value)
        self.consts.add(name)

    def depend_on_object(self, name, value):
        """The generated code was built for the global (or closure variable)
        ``name`` holding ``value`` itself: rebuild it when it is rebound."""
        cell = self.parsed.cells.get(name)
        if cell is not None or name in self.parsed.globals:
            self.deps[name] = (cell if cell is not None else self.parsed.globals, value)

    def depend_on_rank(self, name, rank):
        """The generated code was built for the rank of the global (or
        closure variable) ``name``, or of ``cfg.W``: rebuild it when that
        changes."""
        if name in self.deps:
            return  # (a dependency on the value itself already)
        first = name.partition(".")[0]
        cell = self.parsed.cells.get(first)
        if cell is not None or first in self.parsed.globals:
            self.deps[name] = (cell if cell is not None else self.parsed.globals, RankOf(rank))

    def _depend_on_path(self, path, value):
        first = path.partition(".")[0]
        cell = self.parsed.cells.get(first)
        if cell is not None or first in self.parsed.globals:
            self.deps[path] = (cell if cell is not None else self.parsed.globals,
                               MethodOf(value.__func__))

    def _depend(self, name, where, value):
        if callable(value) or isinstance(value, types.ModuleType):
            self.deps[name] = (where, value)

    def found(self, obj):
        return obj is not self._MISSING


MISSING = Resolver._MISSING


def lookup(fn, name, cells=None):
    """What the free name ``name`` of ``fn`` denotes now: its closure cell,
    else its global, else the builtin (MISSING if none, or the cell is empty)."""
    if cells is None:
        cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    cell = cells.get(name)
    if cell is not None:
        try:
            return cell.cell_contents
        except ValueError:
            return MISSING
    g = fn.__globals__
    if name in g:
        return g[name]
    return getattr(builtins, name, MISSING)


def lookup_path(fn, path, cells=None):
    """``lookup`` of a dotted path (``np.linalg.norm``): attributes by getattr."""
    parts = path.split(".")
    value = lookup(fn, parts[0], cells)
    for part in parts[1:]:
        if value is MISSING:
            break
        try:
            value = getattr(value, part)
        except Exception:
            value = MISSING
    return value


def dotted(node):
    """``np.linalg.norm`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, gast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, gast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))
