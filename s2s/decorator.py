"""``@s2s.differentiable``: transform at the ``def``, fail early.

::

    @s2s.differentiable
    def f(x, w):
        return np.sum(np.sin(x) * w)

    f(x, w)                                # f itself
    f.jvp((x, w), (dx, dw))                # s2s.jvp(f, ...)
    f.jacfwd(argnums=1)(x, w)              # s2s.jacfwd(f, argnums=1)(...)
    f.hessian()(x, w)                      # s2s.hessian(f)(...)
    f.vmap(in_dims=(0, None))(xs, w)       # s2s.vmap(f, ...)(...)
    f.source("jacfwd", ranks=(1, 1))       # s2s.source(f, "jacfwd", ...)

At decoration the function is parsed, normalised and transformed for jvp
with respect to its array-like parameters: the positional ones without a
default value, except those annotated ``int``, ``bool`` or ``str``
(``@s2s.differentiable(argnums=...)`` names them instead). A construct s2s
cannot differentiate or a call with no rule raises there, the error
``s2s.jvp`` would raise (the first of them, see s2s/check.py). A helper the
function calls that is not defined yet (further down the module) is not an
error at decoration: it is transformed at the first call.

The decorated object calls exactly like the function, and everywhere s2s
meets it (passed to the API, or called from a function s2s transforms) it
transforms the function itself.
"""

import contextlib
import functools
import types

from . import api, batch_api, check
from .errors import InputError, UndefinedNameError
from .frontend import _unwrap
from .transform import jvp_function

_NOT_ARRAYS = (int, bool, str, "int", "bool", "str")


class Differentiable:
    """What ``@s2s.differentiable`` returns (see the module docstring)."""

    def __init__(self, fn, argnums=None):
        plain = _unwrap(fn)
        functools.update_wrapper(self, plain)
        self.__wrapped__ = plain
        self.argnums = argnums  # as given (None: the default of each transform)
        self.params = _differentiated(plain, argnums)
        if not _at_decoration[-1]:
            return
        found = check.problems(plain, self.params)
        errors = [e for e in found if not isinstance(e, UndefinedNameError)]
        if errors:
            raise errors[0]
        if not found:
            jvp_function(plain, self.params)  # kept for f.jvp and s2s.source

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __get__(self, obj, objtype=None):
        return self if obj is None else types.MethodType(self, obj)

    def __repr__(self):
        return f"<s2s.differentiable {self.__wrapped__.__qualname__}>"

    def jvp(self, primals, tangents, *, strict=False, has_aux=False):
        """``s2s.jvp`` of this function."""
        return api.jvp(self.__wrapped__, primals, tangents, strict=strict, has_aux=has_aux)

    def jacfwd(self, argnums=None, has_aux=False, *, randomness="error", chunk_size=None):
        """``s2s.jacfwd`` of this function: a function computing the Jacobian
        (by default with respect to the decorator's ``argnums``, else 0)."""
        return batch_api.jacfwd(self.__wrapped__, self._argnums(argnums), has_aux,
                                randomness=randomness, chunk_size=chunk_size)

    def hessian(self, argnums=None):
        """``s2s.hessian`` of this function: a function computing the Hessian
        (by default with respect to the decorator's ``argnums``, else 0)."""
        return batch_api.hessian(self.__wrapped__, self._argnums(argnums))

    def _argnums(self, argnums):
        if argnums is not None:
            return argnums
        return self.argnums if self.argnums is not None else 0

    def vmap(self, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
        """``s2s.vmap`` of this function."""
        return batch_api.vmap(self.__wrapped__, in_dims, out_dims, randomness,
                              chunk_size=chunk_size)

    def source(self, transform="jvp", *, argnums=None, in_dims=0, ranks=None,
               randomness="error"):
        """``s2s.source`` of this function; for ``jvp`` the parameters
        differentiated at decoration are the default."""
        if transform == "jvp" and argnums is None:
            names = self.__wrapped__.__code__.co_varnames
            argnums = tuple(names.index(p) for p in self.params)
        return api.source(self.__wrapped__, transform, argnums=argnums, in_dims=in_dims,
                          ranks=ranks, randomness=randomness)


_at_decoration = [True]


@contextlib.contextmanager
def deferred():
    """Inside this block ``@differentiable`` neither checks nor transforms at
    decoration: ``s2s check`` and ``s2s dump`` import the user's module so,
    and report every problem themselves."""
    _at_decoration.append(False)
    try:
        yield
    finally:
        _at_decoration.pop()


def _differentiated(fn, argnums):
    """The parameters the decoration-time transform differentiates."""
    code = fn.__code__
    names = code.co_varnames[: code.co_argcount]
    if argnums is not None:
        return tuple(names[k] for k in batch_api._argnums(argnums, len(names)))
    required = names[: len(names) - len(fn.__defaults__ or ())]
    annotations = getattr(fn, "__annotations__", None) or {}
    return tuple(p for p in required if not _not_array(annotations.get(p)))


def _not_array(annotation):
    try:
        return annotation in _NOT_ARRAYS
    except TypeError:  # an annotation that cannot be compared
        return False


def differentiable(fn=None, *, argnums=None):
    """Decorator: transform ``fn`` now, raise its problems now, and give it
    ``.jvp``, ``.jacfwd``, ``.hessian``, ``.vmap`` and ``.source``.
    ``@differentiable(argnums=(0, 2))`` picks the parameters checked at
    decoration (default: the array-like ones)."""
    if fn is None:
        return functools.partial(differentiable, argnums=argnums)
    if not callable(fn):
        raise InputError(f"@s2s.differentiable decorates a function, not {type(fn).__name__}",
                         hint="write @s2s.differentiable or @s2s.differentiable(argnums=...) "
                         "right above a def")
    return Differentiable(fn, argnums)
