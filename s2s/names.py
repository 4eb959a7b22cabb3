"""One namer hands out every name in generated code.

Tangent of ``x`` is ``x_dot``; temporaries are ``_t0``, ``_t1``...; a clash
with a name the user's function uses (or one already handed out) gets a
numeric suffix (``x_dot_2``). Deterministic: the same function always gets
the same names.
"""

import re

import gast

from .nodes import walk_values


def names_in(tree):
    """Every identifier that appears in ``tree``: Names, parameters, attributes
    are not names (only their roots are)."""
    return identifiers(walk_values(tree))


def identifiers(nodes):
    """The identifiers (see :func:`names_in`) the nodes ``nodes`` bring, each
    node alone (not its children)."""
    found = set()
    for node in nodes:
        if isinstance(node, gast.Name):
            found.add(node.id)
        elif isinstance(node, (gast.FunctionDef, gast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, gast.alias):
            found.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, gast.ExceptHandler) and isinstance(node.name, str):
            found.add(node.name)
    return found


class Namer:
    def __init__(self, reserved=()):
        self.taken = set(reserved)
        self._tangents = {}
        self._temp = 0

    def reserve(self, *names):
        self.taken.update(names)

    def fresh(self, base):
        """``base`` if free, else ``base_2``, ``base_3``..."""
        name = base
        k = 2
        while name in self.taken:
            name = f"{base}_{k}"
            k += 1
        self.taken.add(name)
        return name

    def temp(self):
        while f"_t{self._temp}" in self.taken:
            self._temp += 1
        name = f"_t{self._temp}"
        self.taken.add(name)
        self._temp += 1
        return name

    def tangent(self, name):
        """The tangent variable of ``name`` (same answer every time)."""
        if name not in self._tangents:
            self._tangents[name] = self.fresh(f"{name}_dot")
        return self._tangents[name]

    def has_tangent(self, name):
        return name in self._tangents

    def tangent_names(self):
        """Every tangent name handed out so far."""
        return set(self._tangents.values())

    def primals(self):
        """tangent name -> the name it is the tangent of."""
        return {t: p for p, t in self._tangents.items()}


def callee_base(target):
    """The stem of the name generated code calls ``target``'s derivative by:
    its name, or for a special method its class's and its own (``Lin_call``
    for ``Lin.__call__``, not ``__call__``)."""
    name = getattr(target, "__name__", "") or ""
    if name.startswith("__") and name.endswith("__"):
        owner = (getattr(target, "__qualname__", "") or "").rsplit(".", 2)
        name = f"{owner[-2] if len(owner) > 1 else ''}_{name.strip('_')}"
    return re.sub(r"\W", "", name).strip("_") or "fn"
