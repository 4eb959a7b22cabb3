"""gast <-> the standard library's ast, faster than gast's own converters.

``to_ast``: for ``ast.unparse`` only. The tree ``gast.gast_to_ast`` builds,
field for field, three times as fast with the ``ast.fix_missing_locations``
it needed (they were a fifth of the time to transform a function): one
converter per node class, made once. Locations are left out, except a
``lineno`` of 0 on every statement: the one location ``ast.unparse`` reads
(to look up type-ignore comments, of which there are none here). So the
tree is not for ``compile``.

``to_gast``: the tree ``gast.ast_to_gast`` builds (the same fields and
locations, in the same order), three times as fast; :func:`parse` is
``gast.parse`` with it.

>>> import ast, gast
>>> tree = gast.parse("def f(x, *a, k=1, **kw):\\n    try:\\n        y = x\\n"
...                   "    except E as e:\\n        pass\\n    return y")
>>> ast.unparse(to_ast(tree)) == ast.unparse(gast.gast_to_ast(tree))
True
>>> gast.dump(parse("def f(x): return x"), include_attributes=True) == gast.dump(
...     gast.parse("def f(x): return x"), include_attributes=True)
True
"""

import ast
import sys

import gast

from .nodes import node_fields

# -- gast -> ast -------------------------------------------------------------------


def to_ast(node):
    """The ast tree of the gast ``node``."""
    convert = _CONVERTERS.get(node.__class__)
    if convert is None:
        convert = _CONVERTERS[node.__class__] = _converter(node.__class__)
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
    as ``gast_to_ast`` does). Fields that never hold a node (a name, a
    constant's value) are copied as they are."""
    cls = getattr(ast, gast_cls.__name__, None)
    if cls is None:
        return lambda node: None
    if not cls._fields and not issubclass(cls, ast.stmt):  # Load, Add...: one instance
        shared = cls()
        return lambda node: shared
    inner = node_fields(gast_cls)
    plan = tuple((f, f in inner) for f in gast_cls._fields if f in cls._fields)
    statement = issubclass(cls, ast.stmt)

    def convert(node):  # cls(**fields): into the new node's __dict__ directly
        given = node.__dict__
        new = cls.__new__(cls)
        values = new.__dict__
        for field, may_hold_nodes in plan:
            if field in given:
                value = given[field]
                values[field] = _value(value) if may_hold_nodes else value
        if statement:
            values["lineno"] = 0
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


# -- ast -> gast -------------------------------------------------------------------


def parse(text):
    """``gast.parse(text)``."""
    return to_gast(ast.parse(text))


def to_gast(node):
    """The gast tree of the ast ``node``."""
    convert = _TO_GAST.get(type(node))
    if convert is None:
        convert = _TO_GAST[type(node)] = _gast_converter(type(node))
    return convert(node)


def _gast_value(value):
    if isinstance(value, list):
        return [to_gast(v) if isinstance(v, ast.AST) else v for v in value]
    if isinstance(value, ast.AST):
        return to_gast(value)
    return value


def _gast_converter(ast_cls):
    """As ``gast.ast_to_gast`` converts a node without a rule of its own: the
    gast class of the same name given the fields the node has, then its
    locations."""
    cls = getattr(gast, ast_cls.__name__, None)
    if cls is None:
        return lambda node: None
    fields, attributes = ast_cls._fields, ast_cls._attributes

    def convert(node):  # cls(**fields), then the locations: into __dict__ at once
        given = node.__dict__
        new = cls.__new__(cls)
        new.__dict__.update({f: _gast_value(given[f]) for f in fields if f in given})
        new.__dict__.update({a: given[a] for a in attributes if a in given})
        return new

    return convert


def _locate(new, given, attributes):
    new.__dict__.update({a: given[a] for a in attributes if a in given})
    return new


def _from_name(node):  # gast.Name(node.id, ctx, None, None), located
    new = _Name.__new__(_Name)
    given = node.__dict__
    new.__dict__.update(id=node.id, ctx=to_gast(node.ctx), annotation=None, type_comment=None,
                        **{a: given[a] for a in _NAME_LOCATION if a in given})
    return new


def _from_arg(node):
    new = gast.Name(node.arg, gast.Param(), _gast_value(node.annotation), node.type_comment)
    return _locate(new, node.__dict__, node._attributes)


def _from_except_handler(node):
    if not node.name:
        return _from_unnamed_handler(node)
    new = gast.ExceptHandler(_gast_value(node.type), gast.Name(node.name, gast.Store(), None, None),
                             _gast_value(node.body))
    return _locate(new, node.__dict__, node._attributes)


def _from_function(node):  # before Python 3.12: no type parameters
    cls = getattr(gast, type(node).__name__)
    new = cls(node.name, to_gast(node.args), _gast_value(node.body),
              _gast_value(node.decorator_list), _gast_value(node.returns), node.type_comment, [])
    return _locate(new, node.__dict__, node._attributes)


def _from_class(node):  # before Python 3.12: no type parameters
    new = gast.ClassDef(node.name, _gast_value(node.bases), _gast_value(node.keywords),
                        _gast_value(node.body), _gast_value(node.decorator_list), [])
    return _locate(new, node.__dict__, node._attributes)


def _from_type_parameter(node):  # Python 3.12: no default value
    cls = getattr(gast, type(node).__name__)
    args = (node.name, _gast_value(node.bound)) if type(node).__name__ == "TypeVar" else (
        node.name,)
    return _locate(cls(*args, None), node.__dict__, node._attributes)


_Name, _NAME_LOCATION = gast.Name, ast.Name._attributes
_from_unnamed_handler = _gast_converter(ast.ExceptHandler)
_TO_GAST = {ast.Name: _from_name, ast.arg: _from_arg, ast.ExceptHandler: _from_except_handler}
if sys.version_info < (3, 12):
    _TO_GAST.update({ast.FunctionDef: _from_function, ast.AsyncFunctionDef: _from_function,
                     ast.ClassDef: _from_class})
elif sys.version_info < (3, 13):
    _TO_GAST.update({ast.TypeVar: _from_type_parameter,
                     ast.TypeVarTuple: _from_type_parameter, ast.ParamSpec: _from_type_parameter})
