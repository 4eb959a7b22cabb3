"""Error types. Every error that concerns the user's code names the user's
file and line and says what to do."""


class S2SError(Exception):
    """Base class of every error s2s raises on purpose.

    ``filename`` and ``lineno`` locate the user's code when known; ``hint``
    says what to do about it.
    """

    def __init__(self, message, *, filename=None, lineno=None, line=None, hint=None):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.line = line
        self.hint = hint
        super().__init__(self._render())

    def _render(self):
        where = ""
        if self.filename is not None:
            where = f"{self.filename}:{self.lineno}: " if self.lineno else f"{self.filename}: "
        text = where + self.message
        if self.line:
            text += f"\n    {self.line.strip()}"
        if self.hint:
            text += f"\n  what to do: {self.hint}"
        return text


class SourceUnavailableError(S2SError, TypeError):
    """Python cannot give the source of the function (a C builtin, code made
    by ``exec``, the bare REPL)."""


class UnsupportedSyntaxError(S2SError, SyntaxError):
    """A construct s2s cannot differentiate (generators, async, ``global``...)."""

    def __str__(self):
        return self._render()


class NoRuleError(S2SError, NotImplementedError):
    """A call on a value that carries a tangent, to something with no rule."""


class UndefinedNameError(NoRuleError):
    """The function called on a value that carries a tangent is a global name
    that is not defined (yet: ``@s2s.differentiable`` runs before the rest of
    the module has been executed, so it lets this one pass)."""


class InputError(S2SError, ValueError):
    """Bad arguments to the API: tangents that do not match primals, integer
    primals, a malformed ``has_aux`` output, and so on."""


class NonDifferentiableOutputError(S2SError, RuntimeError):
    """``strict=True`` and an output does not depend on the inputs."""


class BackendError(S2SError, NotImplementedError):
    """The array library of the inputs (CuPy, Dask) cannot run a line of the
    generated code: a function or keyword it lacks, an assignment it refuses,
    or inputs that mix CuPy and Dask arrays."""
