"""Functions that take ``*args`` or ``**kwargs``, transformed for one call's shape.

A decorator's wrapper, ``def wrapper(*args, **kwargs): return fn(*args,
**kwargs)``, says nothing about its arguments until it is called. s2s
transforms such a function for the *shape* of a call: how many positional
values reach ``*args`` and which keyword names reach ``**kwargs``, in the
order the call gives them (``(1, ("a",))`` for ``helper(x, a=3.0)``). Each
of those values becomes a parameter of its own (``args_0``; ``kwargs_a``,
keyword-only), and ``args`` and ``kwargs`` are a tuple and a dict display of
them at the top of the body, on the ``def``'s line::

    def wrapper(args_0, *, kwargs_a):
        args = (args_0,)
        kwargs = {'a': kwargs_a}
        return fn(*args, **kwargs)

The normalisation then spells out ``fn(*args, **kwargs)`` (its ``unpack``
stage), so the call inside has arguments s2s can tell apart, and the
derivative with respect to ``args_0`` is an ordinary one. The shape is part
of the transform's spec (``("varargs", 1, ("a",))``), so of the cache key in
memory and on disk: a call with one value and a call with two get code of
their own. A call of the generated code passes the ``*args`` values by
position, as before, and a keyword ``a`` of ``**kwargs`` as ``kwargs_a``.

What the function does with ``args`` and ``kwargs`` is its own code, run as
written: reading them (``len(args)``, ``kwargs.get("a", 1.0)``) and
rebuilding ``args`` at the function's top level (``args = tuple(a * 2 for
a in args)``) keep their items in sight (the ``unpack`` stage follows them);
where it changes them otherwise (``kwargs.pop``, a rebinding in a loop)
before passing them on, the call that unpacks them is refused, naming its
line, as any call of the user's with ``*args`` of values s2s cannot see.
"""

import inspect
import types

import gast

from .context import assign, const, name
from .errors import InputError

# the hint where a specialised function passes *args/**kwargs on in a way s2s cannot follow
PASS_ON = ("; a wrapper's own *args and **kwargs are passed on item by item as long as s2s "
           "sees their items: as received, read (len, kwargs.get, kwargs[k]), or rebuilt by "
           "a statement of the function's top level as a tuple (tuple(a * 2 for a in args)), "
           "not after kwargs.pop/update or a rebinding in a loop or branch")


def takes_varargs(fn):
    """Whether the plain function ``fn`` has a ``*args`` or ``**kwargs`` parameter."""
    code = getattr(fn, "__code__", None)
    return code is not None and bool(code.co_flags & (inspect.CO_VARARGS
                                                       | inspect.CO_VARKEYWORDS))


def shape_of(fn, nargs, keywords=()):
    """The shape of a call of ``fn`` with ``nargs`` positional arguments and
    the keyword arguments named ``keywords``: ``(values for *args, names for
    **kwargs)``; None where ``fn`` takes neither."""
    if not takes_varargs(fn):
        return None
    code = fn.__code__
    named = set(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    npos = max(nargs - code.co_argcount, 0) if code.co_flags & inspect.CO_VARARGS else 0
    extra = tuple(k for k in keywords if k not in named)
    if extra and not code.co_flags & inspect.CO_VARKEYWORDS:
        raise InputError(f"{fn.__qualname__}() got an unexpected keyword argument {extra[0]!r}",
                         hint=f"pass {fn.__qualname__} only the keywords it takes")
    return npos, extra


def spec_part(shape):
    """The part of a transform's spec for ``shape`` (nothing for None)."""
    return () if shape is None else (("varargs", shape[0], tuple(shape[1])),)


def from_spec(parts):
    """The shape a spec's extra ``parts`` (after its fixed fields) name, or None."""
    for part in parts:
        if part[0] == "varargs":
            return part[1], tuple(part[2])
    return None


def describe(shape):
    """``*args of 1, **kwargs a, b``: the shape, in a header."""
    npos, keywords = shape
    return f"*args of {npos}, **kwargs {', '.join(keywords) or 'empty'}"


def _star_names(code):
    """The names of ``code``'s ``*args`` and ``**kwargs`` parameters (None where absent)."""
    at = code.co_argcount + code.co_kwonlyargcount
    star = stars = None
    if code.co_flags & inspect.CO_VARARGS:
        star = code.co_varnames[at]
        at += 1
    if code.co_flags & inspect.CO_VARKEYWORDS:
        stars = code.co_varnames[at]
    return star, stars


def _all_names(code):
    names = set(code.co_varnames) | set(code.co_names) | set(code.co_freevars) \
        | set(code.co_cellvars)
    for const_ in code.co_consts:
        if isinstance(const_, types.CodeType):
            names |= _all_names(const_)
    return names


def parameter_names(fn, shape):
    """``(positional, keywords)``: the parameters standing for the ``*args``
    values (``args_0``, ``args_1``...) and for the ``**kwargs`` ones (keyword
    -> ``kwargs_<keyword>``), none of them a name ``fn`` already uses."""
    code = fn.__code__
    star, stars = _star_names(code)
    taken = _all_names(code)

    def fresh(base):
        new, k = base, 2
        while new in taken:
            new, k = f"{base}_{k}", k + 1
        taken.add(new)
        return new

    npos, keywords = shape
    return ([fresh(f"{star}_{i}") for i in range(npos)],
            {k: fresh(f"{stars}_{k}") for k in keywords})


def defaults(fn, shape):
    """The positional defaults of ``fn``'s code specialised for ``shape``:
    none once values reach ``*args`` (every named positional parameter is
    then given)."""
    return None if shape is not None and shape[0] else fn.__defaults__


def specialise(node, fn, shape):
    """``node`` (``fn``'s parsed ``def``, changed in place) for a call of
    ``shape``: its ``*args`` and ``**kwargs`` become parameters of their
    own and displays of them at the top of the body."""
    if shape is None:
        return node
    positional, keywords = parameter_names(fn, shape)
    args, prefix = node.args, []
    if args.vararg is not None:
        args.args = args.args + [name(p, gast.Param()) for p in positional]
        if positional:
            args.defaults = []
        prefix.append(assign(args.vararg.id, gast.Tuple(elts=[name(p) for p in positional],
                                                        ctx=gast.Load())))
        args.vararg = None
    if args.kwarg is not None:
        args.kwonlyargs = args.kwonlyargs + [name(p, gast.Param()) for p in keywords.values()]
        args.kw_defaults = list(args.kw_defaults) + [None] * len(keywords)
        prefix.append(assign(args.kwarg.id, gast.Dict(keys=[const(k) for k in keywords],
                                                      values=[name(p) for p in keywords.values()])))
        args.kwarg = None
    for stmt in prefix:
        gast.copy_location(stmt, node)
        for sub in gast.walk(stmt):
            gast.copy_location(sub, node)
    node.body = prefix + node.body
    return node


def bound_parameters(fn, sig, bound):
    """For a call of ``fn`` bound by ``sig.bind`` to ``bound``:
    ``(shape, [(parameter, value)], {keyword: parameter})``: the call's
    shape (None where ``fn`` takes no ``*args``/``**kwargs``), every value
    with the parameter of the specialised function it fills (None for a
    value ``sig`` puts in ``*args`` of a callable that is no plain function
    of ``*args``), and the new names of the keywords that reach ``**kwargs``."""
    pairs, star, stars = [], (), {}
    for pname, value in bound.arguments.items():
        kind = sig.parameters[pname].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            star = value
        elif kind is inspect.Parameter.VAR_KEYWORD:
            stars = value
        else:
            pairs.append((pname, value))
    if not takes_varargs(fn):  # (a callable without code of its own: no parameter for them)
        return None, pairs + [(None, v) for v in (*star, *stars.values())], {}
    shape = (len(star), tuple(stars))
    positional, keywords = parameter_names(fn, shape)
    pairs += list(zip(positional, star))
    pairs += [(keywords[k], v) for k, v in stars.items()]
    return shape, pairs, keywords
