"""Every problem that keeps a function from being differentiated, found
without running it (``s2s check``, and ``@s2s.differentiable`` at decoration).

The transform finds the problems itself: the normalisation passes and the jvp
emitter hand each one to ``Context.report``, which raises it (so ``s2s.jvp``
stops at the first). Here the context collects them instead, and each pass
goes on as if the construct were not there: a call with no rule gives a zero
tangent, a statement s2s cannot take is left as it is or dropped. One run of
the passes over the function then finds all of them, in the order the
transform meets them, each with its file and line. Nothing is compiled and
nothing runs.

User functions called on values that carry a derivative are checked the same
way (once for each set of active parameters), where the transform would
transform them, and their problems name their own file and line.

What is checked is the jvp transform, which ``jacfwd``, ``vmap`` and
``hessian`` build on; what only batching can find (a random draw under
``vmap`` with ``randomness="error"``) is not. A problem can leave the code
in a shape the later passes were not written for; if one of them then
fails, the rest of that function is not checked (its problems so far
stand).

>>> import linecache, numpy
>>> src = "def f(x):\\n    y = x.sort()\\n    return math.gamma(x) + numpy.sin(x)\\n"
>>> linecache.cache["<model>"] = (len(src), None, src.splitlines(True), "<model>")
>>> namespace = {"numpy": numpy, "math": __import__("math")}
>>> exec(compile(src, "<model>", "exec"), namespace)
>>> for error in problems(namespace["f"]):
...     print(error.lineno, error.message)
2 s2s cannot differentiate the in-place array method .sort()
3 no forward-mode rule for math.gamma, called on a value that carries a derivative
"""


from .context import Context
from .errors import S2SError
from .frontend import _unwrap, parse
from .jvp import Emitter
from .names import callee_base
from .normalize import normalize
from .varargs import specialise


def problems(fn, active=None):
    """The problems (S2SError instances, not raised) in differentiating
    ``fn`` with respect to the parameters named in ``active`` (default:
    every positional parameter) and in the functions it calls with values
    that carry a derivative. Raises SourceUnavailableError when ``fn`` itself
    has no source."""
    fn = _unwrap(fn)
    if active is None:
        code = fn.__code__
        active = code.co_varnames[: code.co_argcount]
    found = []
    _check(fn, tuple(active), True, set(), found, None)
    unique, seen = [], set()
    for error in found:
        key = (error.filename, error.lineno, error.message)
        if key not in seen:
            seen.add(key)
            unique.append(error)
    return unique


def _check(fn, active, entry, seen, found, site, shape=None):
    """Check ``fn`` (specialised for the call ``shape``, where it takes
    ``*args``); ``site`` is ``(ctx, statement)`` of the call that led here
    (where a callee without source is reported)."""
    seen.add((fn, active, shape))
    try:
        parsed = parse(fn)
    except S2SError as error:
        if error.filename is None and site is not None:
            error = site[0].error(type(error), site[1], error.message, error.hint)
        found.append(error)
        return
    if shape is not None:
        specialise(parsed.node, fn, shape)
        parsed.shape = shape
    ctx = Context(parsed)
    ctx.problems = found
    for p in active:
        ctx.namer.tangent(p)
    before = len(found)
    try:
        node = normalize(parsed.node, ctx)
        Emitter(ctx, node, active, _callee(ctx, seen, found), entry).run()
    except Exception:
        if len(found) == before:
            raise  # not a consequence of going on past a problem: a bug
        # the code after a problem was not in a shape the passes expect:
        # the problems found so far stand, the rest of fn is not checked


def _callee(ctx, seen, found):
    """The emitter's hook for a user function called with active arguments:
    check it (unless already checked with these active parameters) and give
    the emitter a name and tangent parameter names to write the call with."""

    def transform(obj, active, stmt, shape=None):
        target = _unwrap(obj)
        if (target, active, shape) not in seen:
            _check(target, active, False, seen, found, (ctx, stmt), shape)
        base = callee_base(target)
        return ctx.bind(f"{base}_jvp", target), {p: f"{p}_dot" for p in active}, set()

    return transform
