"""``clone``: a deep copy of a gast tree, several times faster than
``copy.deepcopy`` (which the transforms call for every rule template and
every parsed function; it was a fifth of the time to transform a function).
``walk``: ``gast.walk`` (the same nodes in the same order), twice as fast;
the passes walk whole functions many times. ``Transformer``: a
``gast.NodeTransformer`` that does the same, faster.

>>> import gast
>>> tree = gast.parse("y = x[1:] * 2").body[0]
>>> copy_ = clone(tree)
>>> copy_ is not tree and copy_.value.left is not tree.value.left
True
>>> gast.dump(copy_) == gast.dump(tree)
True
>>> [type(n).__name__ for n in walk(tree)] == [type(n).__name__ for n in gast.walk(tree)]
True
>>> [n.id for n in name_nodes(tree)]
['y', 'x']
>>> [type(n).__name__ for n in walk_values(tree)]
['Assign', 'Name', 'BinOp', 'Subscript', 'Constant', 'Name', 'Slice', 'Constant']
"""

import ast
import collections

import gast


def clone(node):
    """A deep copy of ``node`` (a gast node, a list of them, or a leaf value:
    names, constants and other immutable field values are shared, and so
    are expression contexts and operators, which hold nothing and which no
    pass changes)."""
    if isinstance(node, list):
        return [clone(n) for n in node]
    if not isinstance(node, gast.AST):
        return node
    new = node.__class__.__new__(node.__class__)
    values = new.__dict__
    values.update(node.__dict__)
    for field in VALUE_FIELDS[node.__class__]:
        if field in values:
            values[field] = clone(values[field])
    return new


def walk(node):
    """Every node under ``node`` (itself first), breadth first, like
    ``gast.walk``: a node's children are listed before it is yielded."""
    todo = [node]
    append = todo.append
    known = NODE_FIELDS
    for node in todo:
        fields = known[node.__class__]
        values = node.__dict__
        for name in fields:
            value = values.get(name)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, gast.AST):
                        append(item)
            elif isinstance(value, gast.AST):
                append(value)
        yield node


def walk_values(node):
    """The nodes of ``walk(node)`` (in the same order, as a list) without
    the expression contexts and operators (``Load``, ``Store``, ``Add``,
    ``Eq``...): they hold nothing, and are two nodes in five of generated
    code. For passes that look for names, calls and statements."""
    todo = [node]
    append = todo.append
    known = VALUE_FIELDS
    ast_cls = gast.AST
    for node in todo:
        fields = known[node.__class__]
        values = node.__dict__
        for field in fields:
            value = values.get(field)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast_cls):
                        append(item)
            elif isinstance(value, ast_cls):
                append(value)
    return todo


def name_nodes(node):
    """The ``Name`` nodes among ``walk(node)``, in the same order (a list;
    contexts and operators skipped, as :func:`walk_values` does)."""
    name_cls = gast.Name
    return [n for n in walk_values(node) if n.__class__ is name_cls]


def single_target(stmt):
    """The name ``stmt`` assigns, if it is ``name = value``; else None."""
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], gast.Name):
        return stmt.targets[0].id
    return None


def read_once(body, names, nodes):
    """The names of ``names`` that the statements ``body`` (with their
    :class:`StatementNodes` ``nodes``) assign once and read once."""
    reads, writes = collections.Counter(), collections.Counter()
    for stmt in body:
        for n in nodes.names(stmt):
            (reads if isinstance(n.ctx, gast.Load) else writes)[n.id] += 1
    return {t for t in names if reads[t] == 1 and writes[t] == 1}


class StatementNodes:
    """:func:`walk_values` of the statements of one function, for passes
    that run one after another on them (dead code, common subexpressions,
    release, the prologue): each simple statement is walked once. The
    nodes of an ``if``, ``for`` or ``while`` are its own, its header's and
    those of the statements in its bodies (in that order, not
    :func:`walk_values`'s), so a statement a pass drops from a body is no
    longer among them. A pass that changes a statement in place (not
    replacing it) calls :meth:`forget` on it. The lists returned for a
    simple statement are the ones kept: read them, do not change them."""

    def __init__(self):
        self._simple = {}  # id(statement) -> (statement, its nodes, its Name nodes)

    def of(self, stmt):
        """The nodes of the statement ``stmt``."""
        known = self._simple.get(id(stmt))
        if known is not None and known[0] is stmt:
            return known[1]
        cls = stmt.__class__
        if cls is gast.If or cls is gast.For or cls is gast.While:
            return self._block(stmt, [stmt], self.of, walk_values)
        if "body" in stmt.__dict__:  # with, try, def...: walked whole each time
            return walk_values(stmt)
        return self._walk(stmt)[1]

    def names(self, stmt):
        """The ``Name`` nodes among :meth:`of`, in the same order."""
        known = self._simple.get(id(stmt))
        if known is not None and known[0] is stmt:
            return known[2]
        cls = stmt.__class__
        if cls is gast.If or cls is gast.For or cls is gast.While:
            return self._block(stmt, [], self.names, name_nodes)
        if "body" in stmt.__dict__:
            return name_nodes(stmt)
        return self._walk(stmt)[2]

    def forget(self, stmt):
        self._simple.pop(id(stmt), None)

    def _walk(self, stmt):
        """Walk the simple statement ``stmt`` and keep what was found."""
        found = walk_values(stmt)
        name_cls = gast.Name
        known = self._simple[id(stmt)] = (stmt, found,
                                          [n for n in found if n.__class__ is name_cls])
        return known

    @staticmethod
    def _block(stmt, found, of_statement, of_expression):
        """``found`` extended with what ``of_statement`` gives for each
        statement of the bodies of ``stmt`` (an if, for or while) and
        ``of_expression`` for each expression of its header, in field order."""
        values = stmt.__dict__
        for field in value_fields(stmt.__class__):
            value = values.get(field)
            if field == "body" or field == "orelse":
                for inner in value:
                    found += of_statement(inner)
            elif isinstance(value, gast.AST):
                found += of_expression(value)
        return found


def children(node):
    """The child nodes of ``node`` in field order, like ``gast.iter_child_nodes``."""
    found = []
    values = node.__dict__
    for name in node_fields(node.__class__):
        value = values.get(name)
        if isinstance(value, list):
            found.extend(item for item in value if isinstance(item, gast.AST))
        elif isinstance(value, gast.AST):
            found.append(value)
    return found


# Fields that hold a name, a string or a constant, never a node (in gast and in
# ast alike): walks skip them.
_LEAF_FIELDS = {"Name": {"id", "type_comment"}, "Attribute": {"attr"},
                "Constant": {"value", "kind"}, "keyword": {"arg"},
                "Assign": {"type_comment"}}
# Fields that hold only an expression context or operators (``Name.ctx``,
# ``BinOp.op``, ``Compare.ops``): :func:`walk_values` skips them.
_CONTEXT_FIELDS = {"ctx", "op", "ops"}


class _FieldTable(dict):
    """Node class -> a tuple of its fields, computed on first use (then a
    plain dict lookup: the walks read it for every node)."""

    def __init__(self, select):
        super().__init__()
        self.select = select

    def __missing__(self, cls):
        fields = self[cls] = tuple(self.select(cls))
        return fields


# node class -> its fields that may hold nodes, in order
NODE_FIELDS = _FieldTable(
    lambda cls: (f for f in cls._fields if f not in _LEAF_FIELDS.get(cls.__name__, ())))
# node class -> its fields that may hold nodes other than contexts and operators
VALUE_FIELDS = _FieldTable(
    lambda cls: (f for f in NODE_FIELDS[cls] if f not in _CONTEXT_FIELDS))


def node_fields(cls):
    """The fields of node class ``cls`` that may hold nodes, in order."""
    return NODE_FIELDS[cls]


def value_fields(cls):
    """The fields of node class ``cls`` that may hold nodes other than
    expression contexts and operators, in order."""
    return VALUE_FIELDS[cls]


class Transformer(gast.NodeTransformer):
    """``gast.NodeTransformer`` with the same results: ``visit_<Class>(node)``
    where defined, else :meth:`generic_visit`, which replaces each child by
    what visiting it returns (a list is spliced in, None removes it). Faster:
    the method for a node class is looked up once, fields are read without
    a generator, and a ``Constant`` goes straight to ``generic_visit``
    (``ast.NodeVisitor.visit_Constant`` only looks for the visitors of
    Python 3.7's ``Num``/``Str`` nodes, which s2s does not define).
    Expression contexts and operators are not visited (they are left as
    they are) unless the subclass has a visitor for one of them."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._methods = {}
        cls._field_table = (NODE_FIELDS if any(_visits_context(cls, name) for name in dir(cls))
                            else VALUE_FIELDS)

    def visit(self, node):
        method = self._methods.get(type(node))
        if method is None:
            method = self._methods[type(node)] = _method(type(self), type(node))
        return method(self, node)

    def generic_visit(self, node):
        fields = node.__dict__
        for name in self._field_table[node.__class__]:
            if name not in fields:
                continue
            old = fields[name]
            if isinstance(old, list):
                new_values = []
                for value in old:
                    if isinstance(value, ast.AST):
                        value = self.visit(value)
                        if value is None:
                            continue
                        if not isinstance(value, ast.AST):
                            new_values.extend(value)
                            continue
                    new_values.append(value)
                old[:] = new_values
            elif isinstance(old, ast.AST):
                new = self.visit(old)
                if new is None:
                    delattr(node, name)
                else:
                    setattr(node, name, new)
        return node


def _visits_context(transformer, attribute):
    """Whether ``attribute`` of the class ``transformer`` is the visitor of
    an expression context or an operator (``visit_Load``, ``visit_Add``)."""
    if not attribute.startswith("visit_"):
        return False
    node_cls = getattr(gast, attribute[len("visit_"):], None)
    return isinstance(node_cls, type) and issubclass(
        node_cls, (gast.expr_context, gast.operator, gast.unaryop, gast.boolop, gast.cmpop))


def _method(transformer, node_cls):
    """The unbound method ``transformer`` visits ``node_cls`` nodes with."""
    method = getattr(transformer, "visit_" + node_cls.__name__, None)
    if method is None or method is ast.NodeVisitor.visit_Constant:
        return transformer.generic_visit
    return method
