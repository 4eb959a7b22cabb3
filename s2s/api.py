"""The public API: ``jvp``, ``source``, ``defjvp`` (torch.func semantics on
NumPy arrays); ``jacfwd``, ``vmap``, ``hessian`` are in batch_api.py, the
``@differentiable`` decorator in decorator.py."""

import inspect
import types
import weakref

import numpy

from . import backend, pytree, varargs
from .analysis import instance_call
from .batch_api import handed_back
from .codegen import annotate
from .errors import InputError, NonDifferentiableOutputError
from .frontend import _unwrap, bound_function, calling_method, see_through
from .rules import registry
from .transform import jvp_function

_FLOAT_KINDS = "fc"
_ndarray = numpy.ndarray
# the native floating dtypes: a pair of arrays of these and of one shape needs no other check
_FLOATS = frozenset(numpy.dtype(c) for c in "efdg")
# id(func) -> (weak reference to func, {number of primals: (active names, Generated)}).
# (A WeakKeyDictionary costs a new weak reference per lookup, on every call of s2s.jvp.)
_ENTRIES = {}


def _per_receiver(func):
    """For a bound method of the user's (``model.forward``, a new object at
    each attribute lookup) or a callable instance (``model``), the function
    that calls it, one per receiver (frontend.calling_method keeps it): the
    key of the fast path, which lives as long as it does. Anything else as
    it is."""
    if type(func) is types.MethodType:
        return calling_method(func) if type(func.__func__) is types.FunctionType else func
    call = instance_call(func)
    return func if call is None else calling_method(types.MethodType(call, func))


def _remember(func, count, entry):
    key = id(func)
    found = _ENTRIES.get(key)
    if found is None or found[0]() is not func:
        try:
            found = (weakref.ref(func, lambda ref: _forget(key, ref)), {})
        except TypeError:  # not weak-referenceable (a ufunc): no fast path
            return
        _ENTRIES[key] = found
    found[1][count] = entry


def _forget(key, ref):
    if _ENTRIES.get(key, (None,))[0] is ref:  # (the id may belong to a newer function by now)
        del _ENTRIES[key]


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``(func(*primals), J(primals) @ tangents)``, like ``torch.func.jvp``.

    ``primals`` and ``tangents`` are tuples of the same structure: arrays,
    Python floats, or nested tuples/lists/dicts of them. With ``has_aux=True``
    ``func`` returns ``(output, aux)`` and the result is
    ``(output, jvp_out, aux)``. With ``strict=True`` an output that does not
    depend on the inputs is an error.
    """
    if type(primals) is not tuple:  # (the checks of the common case are inline: each
        primals = _as_tuple(primals, "primals")  # call of s2s.jvp pays for them)
    if type(tangents) is not tuple:
        tangents = _as_tuple(tangents, "tangents")
    if len(primals) != len(tangents):
        raise InputError(
            f"got {len(primals)} primals but {len(tangents)} tangents",
            hint="pass one tangent per primal, of the same shape",
        )
    if type(func) is not types.FunctionType:
        func = _per_receiver(func)
    found = _ENTRIES.get(id(func))  # (inline, not a helper: every call pays for it)
    hit = found[1].get(len(primals)) if found is not None and found[0]() is func else None
    if hit is None or (hit[1].deps and not hit[1].is_current()):
        from .batch_api import _Transformed, transformed_jvp

        if isinstance(func, _Transformed):  # what vmap/jacfwd/hessian returned
            for i, (p, t) in enumerate(zip(primals, tangents)):
                _check_pair(i, f"argument {i}", p, t)
            result = handed_back(transformed_jvp(func, primals, tangents))
            return _with_aux(result, has_aux, repr(func))
        fn = _unwrap(func)
        active = _active_params(fn, len(primals))
        generated = jvp_function(fn, active, shape=varargs.shape_of(fn, len(primals)))
        _remember(func, len(primals), (active, generated))
    else:
        active, generated = hit
    if len(primals) == 1:  # (the common case, without a loop)
        p, t = primals[0], tangents[0]
        if not (type(p) is _ndarray and type(t) is _ndarray and p.shape == t.shape
                and p.dtype in _FLOATS and t.dtype in _FLOATS):
            _check_pair(0, active[0], p, t)
    else:
        for i, (p, t) in enumerate(zip(primals, tangents)):
            if not (type(p) is _ndarray and type(t) is _ndarray and p.shape == t.shape
                    and p.dtype in _FLOATS and t.dtype in _FLOATS):
                _check_pair(i, active[i], p, t)
    if strict and generated.inactive_returns:
        _check_strict(generated, has_aux)
    try:
        if generated.positional:
            result = generated.fn(*primals, *tangents)  # (out, out_dot)
        else:
            kwargs = {generated.tangent_names[p]: t for p, t in zip(active, tangents)}
            result = generated.fn(*primals, **kwargs)
    except Exception as exc:
        explained = _explained(exc)
        if explained is exc:
            raise
        raise explained from exc
    if result is None:  # (the generated code, like the function, reached no return)
        raise InputError(f"{generated.origin} returned nothing (it reached no return statement)",
                         hint="return the value to differentiate")
    if result[0] is None:  # (return None, or a bare return: the pair (None, its tangent))
        raise InputError(f"{generated.origin} returned None", hint="return the value to differentiate")
    if has_aux:
        return _with_aux(result, has_aux, generated.origin)
    return result


def _check_strict(generated, has_aux):
    """Raise for ``strict=True`` if the output, or a part of it, carries no
    tangent (with ``has_aux``, the aux part is not the output)."""
    found = {}  # "the output" or "output[1]" -> its return lines
    for line, path in generated.inactive_returns:
        if has_aux and path:
            if path[0] != "[0]":
                continue
            path = path[1:]
        found.setdefault("output" + "".join(path) if path else "the output", []).append(str(line))
    if found:
        text = "; ".join(f"{what} of {generated.origin} does not depend on the inputs "
                         f"(return on line {', '.join(lines)})" for what, lines in found.items())
        raise NonDifferentiableOutputError(
            f"strict=True: {text}", hint="pass strict=False to get a zero tangent")


def _explained(exc):
    """What to raise for ``exc`` from generated code: ``exc`` itself, with
    the user's file and line under the generated line, or the clearer error
    of :func:`s2s.backend.explain` (CuPy or Dask could not run a line)."""
    annotate(exc)
    explained = backend.explain(exc)
    return exc if explained is None else explained


def _with_aux(result, has_aux, origin):
    if not has_aux:
        return result
    out, out_dot = result
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise InputError(
            f"has_aux=True but {origin} returned {type(out).__name__}, not a pair (output, aux)",
            hint="return (output, aux) from the function, or pass has_aux=False",
        )
    return out[0], out_dot[0], out[1]


def source(fn, transform="jvp", *, argnums=None, in_dims=0, ranks=None, randomness="error"):
    """The generated source of ``transform(fn)`` as a string (what ``s2s
    dump`` prints).

    ``transform`` is ``"jvp"``, ``"jacfwd"``, ``"hessian"`` or ``"vmap"``.
    For ``jvp``, ``argnums`` (int or tuple) picks the differentiated
    parameters; by default every positional parameter without a default
    value. ``jacfwd`` and ``hessian`` take ``argnums`` as they do (default
    0), ``vmap`` takes ``in_dims``. The batched code of these three is
    specialised on the ranks of the arguments: ``ranks`` (one int per
    positional argument, or a dict by parameter name) gives them, and
    without it the code decides at run time. For what ``vmap``/``jacfwd``/
    ``hessian`` returned, the code they generated at their last call; for an
    ``@s2s.differentiable`` function, its own differentiated parameters are
    the default.
    """
    from .batch_api import _Transformed, transform_source
    from .decorator import Differentiable

    if isinstance(fn, _Transformed):
        return fn.source()  # what vmap/jacfwd/hessian generated (after a first call)
    if isinstance(fn, Differentiable):
        return fn.source(transform, argnums=argnums, in_dims=in_dims, ranks=ranks,
                         randomness=randomness)
    method = bound_function(fn)
    if method is not None and transform == "jvp":
        # a method of an object: its own code, the receiver a parameter without tangent
        fn, skip = method, 1
    else:
        fn, skip = _unwrap(fn), 0
    if transform != "jvp":
        return transform_source(fn, transform, argnums=argnums, in_dims=in_dims, ranks=ranks,
                                randomness=randomness)
    code = fn.__code__
    names = code.co_varnames[: code.co_argcount]
    nargs = len(names)
    if argnums is None and code.co_flags & inspect.CO_VARARGS:
        raise InputError(f"{fn.__qualname__} takes *{code.co_varnames[nargs + code.co_kwonlyargcount]}"
                         ": its code depends on how many arguments it is given",
                         hint="pass argnums to say which to differentiate "
                         "(argnums=0 for one argument, (0, 1) for two)")
    if argnums is not None and code.co_flags & inspect.CO_VARARGS:
        # (a function of *args: specialised for as many arguments as argnums reaches)
        nargs = max(nargs, *(k + 1 for k in _nums(argnums) if k >= 0))
        names = positional_params(fn, nargs)
    if argnums is None:
        ndefaults = len(fn.__defaults__ or ())
        active = names[skip: len(names) - ndefaults]
    else:
        from .batch_api import _argnums

        active = tuple(names[skip + i] for i in _argnums(argnums, len(names) - skip))
    return jvp_function(fn, tuple(active), shape=varargs.shape_of(fn, nargs)).source


def _nums(argnums):
    """``argnums`` as a tuple (checked: ints)."""
    from .batch_api import _check_argnums

    _check_argnums(argnums)
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def defjvp(primitive):
    """Register a forward-mode rule for ``primitive`` (a function s2s cannot
    or should not look into), written as a template like the built-in ones::

        @s2s.defjvp(my_softplus)
        def my_softplus_jvp(z, x, x_dot):
            z_dot = x_dot / (1 + np.exp(-x))

    The first parameter names the output, then the primitive's parameters,
    then ``<param>_dot`` for each parameter the output is differentiable in.
    A rule that does not fit is refused here, naming the rule's line. A rule
    registered again replaces the old one, also for code transformed before.
    """
    prim = see_through(primitive)

    def decorate(template):
        from .rules.templates import TemplateError

        code = template.__code__
        try:
            registry.user_rule(prim, template, _rule_defaults(prim, template))
        except TemplateError as exc:
            raise _rule_error(prim, template, exc.message.format(
                line=exc.lineno + code.co_firstlineno - 1), exc.hint) from None
        _forget_all()  # code built with the rule it replaces
        return template

    return decorate


def _rule_error(prim, template, message, hint):
    code = template.__code__
    return InputError(f"the rule {template.__qualname__} for "
                      f"{getattr(prim, '__qualname__', prim)}: {message}",
                      filename=code.co_filename, lineno=code.co_firstlineno, hint=hint)


def _rule_defaults(prim, template):
    """The defaults of ``prim``'s parameters (which calls may leave out),
    after checking that ``template``'s parameters are the output, ``prim``'s
    parameters and tangents of those (its body is checked as it is
    prepared, :func:`s2s.rules.templates.prepare`)."""
    params = list(inspect.signature(template).parameters)
    if not params:
        raise _rule_error(prim, template, "it has no parameters",
                          "def rule(z, x, x_dot): z_dot = ...")
    out, rest = params[0], params[1:]
    primal = [p for p in rest if not p.endswith("_dot")]
    for tangent in (p for p in rest if p.endswith("_dot")):
        if tangent[: -len("_dot")] not in primal:
            raise _rule_error(
                prim, template,
                f"{tangent} is the tangent of no parameter of the rule ({', '.join(primal)})",
                "name tangents <parameter>_dot after the primitive's parameters")
    try:
        sig = inspect.signature(prim)
    except (TypeError, ValueError):
        return {}
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in sig.parameters.values()):
        return {}
    names = list(sig.parameters)
    if primal != names:
        raise _rule_error(
            prim, template, f"its parameters after {out} are ({', '.join(primal)}) but "
            f"{getattr(prim, '__name__', prim)} takes ({', '.join(names)})",
            f"write def rule({out}, {', '.join(names)}, <parameter>_dot...)")
    return {p.name: p.default for p in sig.parameters.values() if p.default is not p.empty}


def _forget_all():
    """Drop every transformed function this process keeps, so that the
    next call builds its code with the rules now registered."""
    from . import transform
    from .batch_api import forget_fast_paths

    _ENTRIES.clear()
    transform.forget_memo()
    forget_fast_paths()


# -- checking inputs -------------------------------------------------------------


def _as_tuple(value, what):
    if isinstance(value, tuple):
        return value
    if isinstance(value, list):
        return tuple(value)
    raise InputError(
        f"{what} must be a tuple (or a list), got {type(value).__name__}",
        hint=f"pass {what} as a tuple, e.g. ({what[:-1]},)",
    )


def _active_params(fn, n):
    if n == 0:
        raise InputError("jvp needs at least one primal", hint="pass primals=(x,)")
    names = positional_params(fn, n)
    check_unfilled(fn, n, (), "primals")
    return names


def check_unfilled(fn, n, keywords, what="arguments"):
    """An InputError naming the parameters of ``fn`` without a default that
    ``n`` positional arguments and the ``keywords`` leave out (the call of
    the generated code would fail with a TypeError naming generated code)."""
    code = fn.__code__
    names = code.co_varnames[: code.co_argcount]
    required = names[: len(names) - len(fn.__defaults__ or ())]
    kwonly = code.co_varnames[code.co_argcount: code.co_argcount + code.co_kwonlyargcount]
    missing = [p for p in required[n:] if p not in keywords] + [
        p for p in kwonly if p not in (fn.__kwdefaults__ or {}) and p not in keywords]
    if missing:
        listed = ", ".join(missing)
        given = f"the {n} {what} given leave" if n != 1 else f"the one {what[:-1]} given leaves"
        raise InputError(
            f"{fn.__qualname__} needs {listed}, which {given} out",
            hint="pass one per parameter, or fix the others with a default or a "
            "functools.partial",
        )


def positional_params(fn, n):
    """The names of ``fn``'s first ``n`` positional parameters (what ``n``
    arguments bind), or an InputError that says why there are fewer."""
    code = fn.__code__
    names = code.co_varnames[: code.co_argcount]
    if n > len(names):
        if code.co_flags & inspect.CO_VARARGS:  # def wrapper(*args): a decorator's, often
            # (specialised for n arguments: the values for *args are args_0, args_1...)
            positional, _ = varargs.parameter_names(fn, varargs.shape_of(fn, n))
            return tuple(names) + tuple(positional)
        raise InputError(
            f"{fn.__qualname__} takes {len(names)} positional parameters but {n} arguments "
            "were given",
            hint="pass one argument per parameter",
        )
    return tuple(names[:n])


def _check_pair(i, pname, primal, tangent):
    pleaves, pdef = pytree.flatten(primal)
    tleaves, tdef = pytree.flatten(tangent)
    if pdef != tdef:
        raise InputError(
            f"tangent {i} ({pname}) has structure {pytree.describe(tdef)} but the primal has "
            f"{pytree.describe(pdef)}",
            hint="give the tangent the same nesting of tuples/lists/dicts as the primal",
        )
    for p, t in zip(pleaves, tleaves):
        pkind = _kind(p)
        if pkind not in _FLOAT_KINDS + "biu":  # (a string, None, an object)
            raise InputError(
                f"primal {i} ({pname}) is {_what(p)}: s2s differentiates floating-point "
                "arrays and numbers",
                hint=f"pass {pname} as a float array, or close over it (or give it a "
                "default) instead of passing it as a primal",
            )
        if pkind not in _FLOAT_KINDS:
            raise InputError(
                f"primal {i} ({pname}) is {_what(p)}: integer and bool inputs are not "
                "differentiable",
                hint=f"pass {pname} as a float array (x.astype(float)), or close over it "
                "instead of differentiating it",
            )
        tkind = _kind(t)
        if tkind not in _FLOAT_KINDS or (pkind == "f" and tkind == "c"):
            raise InputError(
                f"tangent {i} ({pname}) is {_what(t)} but the primal is {_what(p)}; "
                "a tangent must be floating point, and complex only for a complex primal",
                hint="pass a tangent of the primal's dtype",
            )
        if numpy.shape(p) != numpy.shape(t):
            raise InputError(
                f"tangent {i} ({pname}) has shape {numpy.shape(t)} but the primal has shape "
                f"{numpy.shape(p)}",
                hint="give each tangent the shape of its primal",
            )


def _kind(value):
    if isinstance(value, bool):
        return "b"
    if isinstance(value, int):
        return "i"
    if isinstance(value, (float, complex)):
        return "f"
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return "O"
    return dtype.kind


def _what(value):
    if isinstance(value, (bool, int)):
        return f"a Python {type(value).__name__} ({value!r})"
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return f"an array of dtype {dtype}"
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
