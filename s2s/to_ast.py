"""gast -> the standard library's ast, for ``ast.unparse`` only.

The tree ``gast.gast_to_ast`` builds, field for field, three times as
fast with the ``ast.fix_missing_locations`` it needed (they were a fifth of
the time to transform a function): one converter per node class, made
once. Locations are left out, except a ``lineno`` of 0 on every statement:
the one location ``ast.unparse`` reads (to look up type-ignore comments,
of which there are none here). So the tree is not for ``compile``.

>>> import ast, gast
>>> tree = gast.parse("def f(x, *a, k=1, **kw):\\n    try:\\n        y = x\\n"
...                   "    except E as e:\\n        pass\\n    return y")
>>> ast.unparse(to_ast(tree)) == ast.unparse(gast.gast_to_ast(tree))
True
"""

import ast

import gast


def to_ast(node):
    """The ast tree of the gast ``node``."""
    convert = _CONVERTERS.get(type(node))
    if convert is None:
        convert = _CONVERTERS[type(node)] = _converter(type(node))
    return convert(node)


def _value(value):
    """A field's value converted: a node, a list of nodes, or a leaf as it is."""
    if isinstance(value, list):
        return [to_ast(v) if isinstance(v, gast.AST) else v for v in value]
    if isinstance(value, gast.AST):
        return to_ast(value)
    return value


def _converter(gast_cls):
    """The function converting nodes of ``gast_cls``: the ast class of the
    same name, given the fields both classes have (None if there is none,
    as ``gast_to_ast`` does)."""
    cls = getattr(ast, gast_cls.__name__, None)
    if cls is None:
        return lambda node: None
    if not cls._fields and not issubclass(cls, ast.stmt):  # Load, Add...: one instance
        shared = cls()
        return lambda node: shared
    fields = tuple(f for f in gast_cls._fields if f in cls._fields)
    statement = issubclass(cls, ast.stmt)

    def convert(node):
        given = node.__dict__
        new = cls(**{f: _value(given[f]) for f in fields if f in given})
        if statement:
            new.lineno = 0
        return new

    return convert


def _name(node):
    return ast.Name(node.id, to_ast(node.ctx))


def _arg(node):
    if node is None:
        return None
    return ast.arg(node.id, _value(node.annotation), node.type_comment)


def _arguments(node):
    return ast.arguments(
        posonlyargs=[_arg(a) for a in node.posonlyargs], args=[_arg(a) for a in node.args],
        vararg=_arg(node.vararg), kwonlyargs=[_arg(a) for a in node.kwonlyargs],
        kw_defaults=_value(node.kw_defaults), kwarg=_arg(node.kwarg),
        defaults=_value(node.defaults))


def _assign(node):  # gast_to_ast drops an assignment's type comment
    new = ast.Assign(_value(node.targets), to_ast(node.value))
    new.lineno = 0
    return new


def _except_handler(node):
    name = None if node.name is None else node.name.id
    return ast.ExceptHandler(_value(node.type), name, _value(node.body))


_CONVERTERS = {gast.Name: _name, gast.arguments: _arguments, gast.Assign: _assign,
               gast.ExceptHandler: _except_handler}
