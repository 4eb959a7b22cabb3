"""What the jvp and batching passes share: walking a function body
statement by statement (``stmt_<Type>`` handlers, compound statements
recursed into) and putting a comment with the user's line above each group
of statements that came from it."""

import gast

from .codegen import comment


class StatementPass:
    """Subclasses set ``self.ctx`` and define ``stmt_<Type>(s) -> [stmts]``
    for the statements they change; ``prepare(s)`` runs before dispatch."""

    _last_line = None
    _last_comment = None

    def prepare(self, s):
        return s

    def body(self, stmts):
        out = []
        for s in stmts:
            lineno = getattr(s, "lineno", None)
            if lineno is not None and lineno != self._last_line:
                note = self.comment_for(lineno)
                if note is not None and note.value.value != self._last_comment:
                    out.append(note)
                    self._last_comment = note.value.value
                self._last_line = lineno
            s = self.prepare(s)
            handler = getattr(self, "stmt_" + type(s).__name__, None)
            out.extend(handler(s) if handler is not None else [s])
        return out

    def comment_for(self, lineno):
        """``# model.py:12  y = np.sin(x) * w`` for the user's line behind
        ``lineno``; None for a line s2s itself added to generated code."""
        parsed = self.ctx.parsed
        origins = getattr(parsed.fn, "__s2s_origins__", None)
        if origins is not None and lineno not in origins:
            return None  # a line of generated code that s2s added (no user line behind it)
        filename, line = parsed.origin(lineno)
        if filename.startswith("<s2s "):
            return None
        return comment(parsed.comment_text(lineno), line, filename)

    def nested(self, stmts):
        saved = self._last_line
        out = self.body(stmts)
        self._last_line = saved
        self._last_comment = None
        return out or [gast.Pass()]

    def _after_compound(self, s):
        self._last_line = None
        self._last_comment = None
        return [s]

    def stmt_If(self, s):
        s.body = self.nested(s.body)
        s.orelse = self.nested(s.orelse) if s.orelse else []
        return self._after_compound(s)

    def stmt_While(self, s):
        return self.stmt_If(s)

    def stmt_With(self, s):
        s.body = self.nested(s.body)
        return self._after_compound(s)

    def stmt_Try(self, s):
        s.body = self.nested(s.body)
        for h in s.handlers:
            h.body = self.nested(h.body)
        s.orelse = self.nested(s.orelse) if s.orelse else []
        s.finalbody = self.nested(s.finalbody) if s.finalbody else []
        return self._after_compound(s)
