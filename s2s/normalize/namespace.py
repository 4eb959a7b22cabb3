"""References to NumPy go through the array namespace ``xp``.

Expects method calls already desugared; guarantees that every load of a name
or attribute chain that resolves into NumPy (``np.sin``, ``numpy.linalg.norm``,
``sin`` imported with ``from numpy import sin``) reads ``xp.<path>``, so the
same generated code runs on NumPy, CuPy or Dask arrays.

>>> from s2s.normalize._doctest import show
>>> print(show("def f(x):\\n    return np.linalg.norm(np.sin(x)) * np.pi\\n", "namespace"))
def f(x):
    return xp.linalg.norm(xp.sin(x)) * xp.pi
"""

import types

import gast

from ..context import dotted
from ..frontend import MISSING
from ..nodes import Transformer
from ..rules.registry import numpy_path


class _Namespace(Transformer):
    def __init__(self, ctx):
        self.ctx = ctx

    def _path(self, node):
        """NumPy path of ``node`` ('' for numpy itself), or None."""
        if isinstance(node, gast.Name):
            if self.ctx.is_local(node.id) or node.id == self.ctx.xp:
                return None
            obj = self.ctx.resolve(node)
            if obj is MISSING:
                return None
            if isinstance(obj, types.ModuleType):
                mod = obj.__name__
                if mod == "numpy":
                    return ""
                if mod.startswith("numpy.") and not mod.startswith("numpy._"):
                    return mod[len("numpy.") :]
                return None
            if callable(obj) or isinstance(obj, type):
                return numpy_path(obj)
            return None
        if isinstance(node, gast.Attribute):
            base = self._path(node.value)
            if base is None:
                return None
            return f"{base}.{node.attr}" if base else node.attr
        return None

    def _rewrite(self, node):
        if not isinstance(node.ctx, gast.Load):
            return None
        path = self._path(node)
        if path is None:
            return None
        new = dotted(f"{self.ctx.xp}.{path}" if path else self.ctx.xp)
        return gast.copy_location(new, node)

    def visit_Name(self, node):
        return self._rewrite(node) or node

    def visit_Attribute(self, node):
        new = self._rewrite(node)
        if new is not None:
            return new
        self.generic_visit(node)
        return node


def run(fn_node, ctx):
    return _Namespace(ctx).visit(fn_node)
