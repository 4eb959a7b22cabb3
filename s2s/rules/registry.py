"""The jvp rule registry, keyed by the resolved primitive object.

Four kinds of rule, each a small declaration next to its sample inputs:

- ``@jvp_rule(prim)`` on a *template*: a short function whose body becomes the
  tangent statements. Its first parameter names the primitive's output, then
  the primitive's parameters (with defaults, in call order), then a ``<p>_dot``
  parameter for every argument the output is differentiable in::

      @jvp_rule(np.sin, samples=[S(A(3))])
      def sin(z, x, x_dot):
          z_dot = np.cos(x) * x_dot

- ``linear(prim, argnums=(0,))``: the tangent is the same call with the
  tangents in place of the linear arguments (sum, reshape, indexing...).
- ``multilinear(prim, argnums=(0, 1))``: linear in each argument separately
  (dot, einsum): the tangent is the sum over active arguments.
- ``zero(prim)``: not differentiable (its output carries no tangent).

A tangent that is known to be zero is the marker :class:`Zero`; templates are
simplified around it (``x_dot * y + x * Zero`` is ``x_dot * y``), so an
inactive argument costs nothing.
"""

import dataclasses
import functools
import inspect
import sys
import types

import numpy

RULES = {}


# -- sample inputs -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ArraySpec:
    """A random array argument: float64 normal, or uniform in [low, high]."""

    shape: tuple
    low: float = None
    high: float = None
    kind: str = "float"  # float | int | bool | posdef | unit (values in (-1, 1))

    def make(self, rng):
        if self.kind == "int":
            return rng.integers(0, 4, size=self.shape)
        if self.kind == "bool":
            return rng.random(self.shape) > 0.5
        if self.kind == "posdef":
            n = self.shape[-1]
            m = rng.normal(size=self.shape)
            return m @ numpy.swapaxes(m, -1, -2) + n * numpy.eye(n)
        if self.low is not None:
            return rng.uniform(self.low, self.high, size=self.shape)
        return rng.normal(size=self.shape)

    @property
    def differentiable(self):
        return self.kind not in ("int", "bool")


def A(*shape, low=None, high=None, kind="float"):
    """An array argument of ``shape`` for a sample."""
    return ArraySpec(tuple(shape), low, high, kind)


@dataclasses.dataclass(frozen=True)
class Sample:
    """Arguments for one call of a primitive: ArraySpecs or plain values.

    ``argnums`` says which positional arguments are differentiated (default:
    every float ArraySpec); ``rtol`` loosens the finite-difference check
    where the function is badly conditioned.
    """

    args: tuple
    kwargs: dict
    argnums: tuple = None
    rtol: float = 1e-6

    def diff_argnums(self):
        if self.argnums is not None:
            return self.argnums
        return tuple(i for i, a in enumerate(self.args) if _differentiable(a))

    def make(self, rng):
        args = tuple(_make(a, rng) for a in self.args)
        kwargs = {k: _make(v, rng) for k, v in self.kwargs.items()}
        return args, kwargs

    def __repr__(self):
        parts = [_spec_repr(a) for a in self.args]
        parts += [f"{k}={_spec_repr(v)}" for k, v in self.kwargs.items()]
        return f"({', '.join(parts)})"


def _differentiable(value):
    if isinstance(value, ArraySpec):
        return value.differentiable
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)) and value:
        return all(isinstance(v, ArraySpec) and v.differentiable for v in value)
    return False


def _make(value, rng):
    if isinstance(value, ArraySpec):
        return value.make(rng)
    if isinstance(value, list):
        return [_make(v, rng) for v in value]
    if isinstance(value, dict):
        return {k: _make(v, rng) for k, v in value.items()}
    if isinstance(value, tuple) and any(isinstance(v, ArraySpec) for v in value):
        return tuple(_make(v, rng) for v in value)
    return value


def _spec_repr(value):
    if isinstance(value, ArraySpec):
        kind = "" if value.kind == "float" else f":{value.kind}"
        return f"A{value.shape}{kind}"
    if isinstance(value, list):
        return "[" + ", ".join(_spec_repr(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_spec_repr(v)}" for k, v in value.items()) + "}"
    return repr(value)


def S(*args, argnums=None, rtol=1e-6, **kwargs):
    """A sample: ``S(A(3, 4), axis=0)``."""
    return Sample(tuple(args), dict(kwargs), argnums, rtol)


# -- rule kinds ----------------------------------------------------------


class BindError(Exception):
    """A call whose arguments do not fit the rule's signature."""


class Zero:
    """Marker for a tangent known to be zero; ``of`` is the primal atom whose
    shape a materialised zero must take (None: a scalar zero will do)."""

    def __init__(self, of=None):
        self.of = of

    def __repr__(self):
        return "Zero"


class Rule:
    kind = "rule"

    def __init__(self, primitive, name, samples, batching=None):
        self.primitive = primitive
        self.name = name
        self.samples = list(samples or [])
        self.batching = batching

    def output_active(self, bound):
        """Whether the output carries a tangent, given ``bound``: parameter
        name -> bool (argument active)."""
        raise NotImplementedError

    def signature(self):
        """The signature call arguments are bound with (or None: positional)."""
        return None

    def bind(self, args, keywords):
        """Call arguments (lists of atoms / ``gast.keyword``) -> dict parameter
        name -> atom (a tuple of atoms for a ``*args`` parameter). Positional
        parameters of a primitive without a signature are named ``#0``, ``#1``.
        Raises BindError when the call does not fit."""
        import gast

        if any(isinstance(a, gast.Starred) for a in args) or any(k.arg is None for k in keywords):
            raise BindError("*args or **kwargs in a call to a primitive")
        sig = self.signature()
        if sig is None:
            if keywords:
                raise BindError(f"keyword argument {keywords[0].arg}=")
            return {f"#{i}": a for i, a in enumerate(args)}
        if not keywords:
            plain = self._plain_parameters(sig)
            if plain is not None and plain[0] <= len(args) <= len(plain[1]):
                return dict(zip(plain[1], args))  # what sig.bind gives, sooner
        try:
            bound = sig.bind(*args, **{k.arg: k.value for k in keywords})
        except TypeError as exc:
            raise BindError(str(exc)) from None
        return dict(bound.arguments)

    def _plain_parameters(self, sig):
        """``(required, names)`` when every parameter of ``sig`` may be
        passed by position and the required ones come first; else None."""
        if "_plain" not in self.__dict__:
            params = list(sig.parameters.values())
            required = sum(p.default is p.empty for p in params)
            plain = all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
            first = all(p.default is p.empty for p in params[:required])
            self._plain = (required, [p.name for p in params]) if plain and first else None
        return self._plain

    def __repr__(self):
        return f"<{self.kind} rule {self.name}>"


class TemplateRule(Rule):
    kind = "template"

    def __init__(self, primitive, name, template, samples, batching=None, defaults=None):
        super().__init__(primitive, name, samples, batching)
        self.template = template
        code = template.__code__  # (not inspect.signature: ~100 rules load on first use)
        names = code.co_varnames[: code.co_argcount]
        self.out_param = names[0]
        self.tangent_params = {n[: -len("_dot")]: n for n in names if n.endswith("_dot")}
        # defaults the primitive has and the template cannot spell (a user's rule
        # lists its function's parameters, then the tangents, which have none)
        self.primitive_defaults = dict(defaults or {})

    def signature(self):
        if "_signature" not in self.__dict__:  # once per rule, when first used
            primal = [p for p in list(inspect.signature(self.template).parameters.values())[1:]
                      if not p.name.endswith("_dot")]
            self._signature = inspect.Signature(
                [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD,
                           default=self.primitive_defaults.get(p.name, p.default))
                 for p in primal])
        return self._signature

    def output_active(self, bound):
        return any(bound.get(p, False) for p in self.tangent_params)

    @functools.cached_property
    def parsed(self):
        """(params, body) of the template as gast; parsed once."""
        import textwrap

        import gast

        src = textwrap.dedent(inspect.getsource(self.template))
        fn = gast.parse(src).body[0]
        return fn

    @functools.cached_property
    def expansion(self):
        """The template prepared for expansion (see ``templates.prepare``); once."""
        from .templates import prepare

        return prepare(self)

    @functools.cached_property
    def uses_output(self):
        import gast

        from ..nodes import walk

        body = self.parsed.body
        return any(
            isinstance(n, gast.Name) and n.id == self.out_param
            for stmt in body
            for n in walk(stmt)
        )


class LinearRule(Rule):
    kind = "linear"

    def __init__(self, primitive, name, argnums, samples, batching=None, passive=(),
                 refused=()):
        super().__init__(primitive, name, samples, batching)
        self.argnums = argnums if isinstance(argnums, slice) else tuple(argnums)
        # parameters whose values do not move the output (conditions, indices,
        # an array giving only a shape): a value carrying a derivative is fine there
        self.passive = frozenset(passive)
        # of s2s's own helpers (whose other parameters are passive): those that
        # move the output otherwise than linearly, where a derivative is refused
        self.refused = tuple(refused)

    def signature(self):
        if "_signature" not in self.__dict__:  # once per rule: inspect.signature is slow
            self._signature = _signature_of(self.primitive)
        return self._signature

    def output_active(self, bound):
        return any(bound.get(p, False) for p in self.linear_params())

    def linear_params(self):
        sig = self.signature()
        if isinstance(self.argnums, slice):
            if sig is None:
                return [f"#{i}" for i in range(64)[self.argnums]]
            names = list(sig.parameters)
            return names[self.argnums]
        if sig is None:
            return [f"#{i}" for i in self.argnums]
        names = list(sig.parameters)
        return [names[i] for i in self.argnums if i < len(names)]


    def positions(self, args, keywords):
        """[("pos", i) | ("kw", k)]: where the call passes the arguments this
        rule is linear in (``k`` indexes ``keywords``)."""
        nargs = len(args)
        if isinstance(self.argnums, slice):
            return [("pos", i) for i in range(nargs)[self.argnums]]
        positions = [("pos", i) for i in self.argnums if i < nargs]
        sig = self.signature()
        if sig is not None:
            names = list(sig.parameters)
            wanted = {names[i] for i in self.argnums if nargs <= i < len(names)}
            positions += [("kw", k) for k, kw in enumerate(keywords) if kw.arg in wanted]
        return positions

    def dropped(self, args, keywords, is_active):
        """The parameters, outside those the rule is linear in and those
        declared passive, that this call passes a value carrying a
        derivative: the tangent would leave that derivative out."""
        helper = getattr(self.primitive, "__module__", None) == "s2s.runtime"
        if helper and not self.refused or self.signature() is None:
            # (s2s's own helpers: their other parameters are primal values that
            # only choose where a tangent goes; without a signature, as some of
            # NumPy's C functions before 2.3, no names to check)
            return []
        try:
            bound = self.bind(list(args), list(keywords))
        except BindError:
            return []  # (*args or **kwargs: the parameters cannot be told apart)
        linear = set(self.linear_params()) | self.passive
        return [p for p, a in bound.items() if (p in self.refused if helper else p not in linear)
                and any(is_active(v) for v in (a if isinstance(a, tuple) else (a,)))]


class MultilinearRule(LinearRule):
    kind = "multilinear"


class ZeroRule(Rule):
    kind = "zero"

    def bind(self, args, keywords):
        return {}

    def output_active(self, bound):
        return False


class CustomRule(Rule):
    """A rule written as Python that builds the tangent statements itself
    (``emit(site) -> list of statements``), for the few primitives whose
    tangent depends on a static argument (``pad``: its mode). ``signature``
    binds the call (the primitive's own signature when None)."""

    kind = "custom"

    def __init__(self, primitive, name, emit, active, samples, batching=None, signature=None):
        super().__init__(primitive, name, samples, batching)
        self.emit = emit
        self._active = active
        self._signature = signature

    def signature(self):
        if self._signature is None:
            self._signature = _signature_of(self.primitive)
        return self._signature

    def output_active(self, bound):
        return self._active(bound)


def _signature_of(obj):
    if isinstance(obj, numpy.ufunc):
        names = ["x"] if obj.nin == 1 else [f"x{i + 1}" for i in range(obj.nin)]
        return inspect.Signature(
            [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
        )
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


# -- registration --------------------------------------------------------


def _name(obj):
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, numpy.ufunc):  # a ufunc's method: numpy.maximum.accumulate
        return f"numpy.{owner.__name__}.{obj.__name__}"
    path = numpy_path(obj)
    if path is not None:
        return f"numpy.{path}"
    mod = getattr(obj, "__module__", None) or ""
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", repr(obj))
    if mod in ("builtins", "_operator", "operator"):
        mod = "operator" if mod != "builtins" else ""
    return f"{mod}.{qual}" if mod else qual


generation = 0  # bumped by every registration (the disk cache keys on the user's own rules)


def _add(rule, builtin=None):
    global generation
    rule.builtin = _registered_by_s2s() if builtin is None else builtin
    RULES[rule.primitive] = rule
    generation += 1
    return rule


def _registered_by_s2s():
    """Whether the code registering a rule (the first caller outside this
    module) is part of s2s, as opposed to a user's."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    caller = frame.f_globals.get("__name__", "") if frame is not None else ""
    return caller.startswith("s2s.")


def jvp_rule(*primitives, samples=None, batching=None):
    """Register a template rule for each of ``primitives``."""

    def decorate(template):
        for prim in primitives:
            _add(TemplateRule(prim, _name(prim), template, samples, batching))
        return template

    return decorate


def user_rule(primitive, template, defaults=None):
    """Register ``template`` as the user's rule for ``primitive``
    (``s2s.defjvp``), prepared now: a template that is no rule raises
    :class:`s2s.rules.templates.TemplateError` here, not where it is used.
    ``defaults``: the primitive's, which calls may leave out."""
    _load()  # the built-in rules first: loaded later, one would replace the user's
    rule = TemplateRule(primitive, _name(primitive), template, None, None, defaults)
    try:
        rule.expansion  # noqa: B018 (prepared, and kept, now)
    except OSError:
        pass  # no source to read: the transform says so where it uses the rule
    return _add(rule, builtin=False)


def linear(*primitives, argnums=(0,), samples=None, batching=None, passive=(), refused=()):
    """``passive``: parameters outside ``argnums`` that may be given values
    carrying a derivative, which does not reach the output (conditions,
    indices, an array giving a shape); a derivative in any other is refused.
    s2s's own helpers take primal values that only choose where a tangent
    goes: all their other parameters are passive, but those ``refused``."""
    for prim in primitives:
        _add(LinearRule(prim, _name(prim), argnums, samples, batching, passive, refused))


def multilinear(*primitives, argnums=(0, 1), samples=None, batching=None, passive=()):
    for prim in primitives:
        _add(MultilinearRule(prim, _name(prim), argnums, samples, batching, passive))


def zero(*primitives, samples=None, batching=None):
    for prim in primitives:
        _add(ZeroRule(prim, _name(prim), samples, batching))


def custom(*primitives, active, signature=None, samples=None, batching=None):
    """Register ``emit`` as the custom rule of each of ``primitives``;
    ``signature``: a function whose parameters spell out how calls bind
    (keywords a primitive takes as ``**kwargs``), ``active(bound)``: whether
    the output carries a tangent."""

    def decorate(emit):
        sig = inspect.signature(signature) if signature is not None else None
        for primitive in primitives:
            _add(CustomRule(primitive, _name(primitive), emit, active, samples, batching, sig))
        return emit

    return decorate


def lookup(obj):
    """The rule for ``obj``, or None. Loads the rule modules on first use,
    unless ``obj`` is a Python function of the user's: only a user rule can
    be its rule, and those are registered after the built-in ones. (A
    process whose transforms the disk cache serves then never loads the
    rule tables, ~5 ms.)"""
    if not _users_function(obj):
        _load()
    try:
        return RULES.get(obj)
    except TypeError:  # unhashable object
        return None


def all_rules():
    _load()
    return dict(RULES)


# the modules whose Python functions can have built-in rules
BUILTIN_RULE_MODULES = ("numpy", "s2s")


def _users_function(obj):
    if not isinstance(obj, types.FunctionType):
        return False
    module = getattr(obj, "__module__", None) or ""
    return module.partition(".")[0] not in BUILTIN_RULE_MODULES


@functools.cache
def _load():
    from . import (  # noqa: F401  (registration happens on import)
        batching_helpers,
        elementwise,
        indexing,
        linalg,
        python,
        reductions,
        second_order,
        shape,
        signals,
    )


# -- NumPy paths -----------------------------------------------------------


@functools.cache
def _numpy_paths():
    paths = {}
    for prefix, module in (("", numpy), ("linalg.", numpy.linalg), ("fft.", numpy.fft)):
        _add_paths(paths, prefix, module)
    # prefer the canonical names where NumPy has aliases
    for canonical in ("abs", "max", "min", "round", "conj", "power", "transpose", "concatenate"):
        paths[getattr(numpy, canonical)] = canonical
    return paths


@functools.cache
def _random_paths():
    """The paths of ``numpy.random``'s functions, once something imported it
    (NumPy imports it lazily: importing it for s2s's tables cost ~7 ms)."""
    paths = {}
    _add_paths(paths, "random.", numpy.random)
    return paths


def _add_paths(paths, prefix, module):
    # the module's own names: dir() lists submodules NumPy imports lazily
    # (f2py, testing...), which getattr would import, ~0.1 s on the first call
    namespace = vars(module)
    for attr in sorted(namespace):
        if attr.startswith("_"):
            continue
        obj = namespace[attr]
        if isinstance(obj, types.ModuleType) or not (callable(obj) or isinstance(obj, type)):
            continue
        mod = getattr(obj, "__module__", None) or ""
        if not (isinstance(obj, numpy.ufunc) or mod.startswith("numpy")):
            continue
        try:
            known = paths.get(obj)
            # NumPy's own name for it wins over aliases (arccos, not acos)
            own = getattr(obj, "__name__", None) == attr
            if known is None or (own and not known.endswith("." + attr) and known != attr):
                paths[obj] = prefix + attr
        except TypeError:
            continue


def numpy_path(obj):
    """``numpy.linalg.norm`` -> ``"linalg.norm"``; None if not a NumPy object."""
    try:
        found = _numpy_paths().get(obj)
        if found is None and "numpy.random" in sys.modules:  # (no object of it before)
            found = _random_paths().get(obj)
        return found
    except TypeError:
        return None
