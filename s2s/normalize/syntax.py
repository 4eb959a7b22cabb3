"""Reject what s2s cannot differentiate, each with file:line and what to do.

Expects the user's function as parsed; guarantees that none of these remain:
generators (``yield``), ``async``/``await``, ``global``/``nonlocal``,
nested ``class`` or ``def``, ``match``, the walrus operator, starred
assignment targets, ``exec``/``eval`` of strings, ``locals()``/``vars()``
and ``setattr``/``delattr``.

>>> import gast
>>> from s2s.normalize.syntax import offending
>>> tree = gast.parse("def f(x):\\n    yield x\\n")
>>> [(line, what) for line, what, _ in offending(tree.body[0])]
[(2, 'a generator (yield)')]
"""

import gast

from ..nodes import walk_values

_REJECT = {
    gast.Yield: ("a generator (yield)", "return a list or an array instead"),
    gast.YieldFrom: ("a generator (yield from)", "return a list or an array instead"),
    gast.Await: ("await", "differentiate a plain (non-async) function"),
    gast.AsyncFor: ("async for", "differentiate a plain (non-async) function"),
    gast.AsyncWith: ("async with", "differentiate a plain (non-async) function"),
    gast.AsyncFunctionDef: ("an async function", "differentiate a plain function"),
    gast.Global: (
        "a global statement",
        "pass the value in as an argument and return the new value instead of "
        "writing a global",
    ),
    gast.Nonlocal: (
        "a nonlocal statement",
        "return the new value instead of writing to an enclosing function's variable",
    ),
    gast.ClassDef: ("a class definition inside the function", "define the class at module level"),
    gast.FunctionDef: (
        "a function defined inside the function",
        "define the helper at module level (s2s transforms it when called)",
    ),
    gast.NamedExpr: ("an assignment expression (:=)", "assign on its own line"),
}
if hasattr(gast, "Match"):
    _REJECT[gast.Match] = ("a match statement", "use if/elif/else")
if hasattr(gast, "TryStar"):
    _REJECT[gast.TryStar] = ("try/except*", "use try/except")


def offending(fn_node):
    """``(lineno, what, hint)`` for every rejected construct in the body."""
    found = []
    for stmt in fn_node.body:
        for node in walk_values(stmt):
            kind = _REJECT.get(type(node))
            if kind is not None:
                found.append((node.lineno, kind[0], kind[1]))
            elif isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
                if node.func.id in ("exec", "eval"):
                    found.append(
                        (
                            node.lineno,
                            f"{node.func.id}() of a string",
                            "write the code out in the function",
                        )
                    )
                elif node.func.id in ("locals", "vars") and not node.args:
                    found.append(  # (the generated code's locals are not the function's)
                        (
                            node.lineno,
                            f"{node.func.id}()",
                            "use the variables by name, or keep the values in a dict",
                        )
                    )
                elif node.func.id in ("setattr", "delattr"):
                    found.append(  # (s2s does not follow values into attributes)
                        (
                            node.lineno,
                            f"{node.func.id}()",
                            "keep the value in a local variable, a tuple or a dict",
                        )
                    )
            elif isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Attribute) \
                    and node.targets[0].attr in ("shape", "strides", "dtype"):
                found.append(  # (the array changes in place: its tangent would not)
                    (
                        node.lineno,
                        f"setting an array's .{node.targets[0].attr}",
                        "make a new array: x = x.reshape(...) or x = x.view(dtype)",
                    )
                )
            elif isinstance(node, (gast.Assign, gast.For)):
                targets = node.targets if isinstance(node, gast.Assign) else [node.target]
                for target in targets:
                    if any(isinstance(t, gast.Starred) for t in walk_values(target)):
                        found.append(
                            (
                                node.lineno,
                                "a starred assignment target",
                                "index the sequence explicitly (a = s[0]; rest = s[1:])",
                            )
                        )
    found.sort(key=lambda item: item[0])
    return found


def run(fn_node, ctx):
    from ..errors import UnsupportedSyntaxError

    for lineno, what, hint in offending(fn_node):
        ctx.report(ctx.error(
            UnsupportedSyntaxError,
            _at(lineno),
            f"s2s cannot differentiate {what}",
            hint,
        ))
    return fn_node


def rejected(node):
    """Whether ``node`` is one of the constructs this pass rejects (later
    passes, collecting problems, do not report it a second time)."""
    return type(node) in _REJECT


class _at:
    def __init__(self, lineno):
        self.lineno = lineno
