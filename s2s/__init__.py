"""s2s: forward-mode automatic differentiation by source transformation.

The public API; see README.md.
"""

__version__ = "0.1.0"

from .api import defjvp, jvp, source  # noqa: E402
from .batch_api import hessian, jacfwd, vmap  # noqa: E402
from .decorator import differentiable  # noqa: E402
from .errors import (  # noqa: E402
    BackendError,
    InputError,
    NonDifferentiableOutputError,
    NoRuleError,
    S2SError,
    SourceUnavailableError,
    UnsupportedSyntaxError,
)

__all__ = [
    "jvp",
    "jacfwd",
    "hessian",
    "vmap",
    "source",
    "defjvp",
    "differentiable",
    "S2SError",
    "BackendError",
    "InputError",
    "NoRuleError",
    "NonDifferentiableOutputError",
    "SourceUnavailableError",
    "UnsupportedSyntaxError",
]
