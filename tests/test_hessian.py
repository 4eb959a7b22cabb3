"""``s2s.hessian`` of the end-to-end functions that take one float array and
return one array, against central differences of ``s2s.jacfwd``. A Hessian
batches generated jacfwd code a second time, so this runs the batching rules
of s2s's own helpers (``lead=``, shape queries) on real code."""

import numpy as np
import pytest
from test_e2e import CASES

import s2s

# name -> why s2s.hessian does not give it yet
_NOT_YET = {
    **{name: "no jvp rule for the tangent helper of max (extremum_tangent)"
       for name in ("attention", "cross_entropy", "log_softmax_rows", "logsumexp", "softmax")},
    **{name: "no jvp rule for the runtime helper array_batched"
       for name in ("rk4_step", "rk4_integrate")},
    "local_copy_update": "no jvp rule for copy.copy",
    "methods_mix": "a per-example loop (map_batched) on a value with a derivative",
    "view_update": "the in-place update of a view is lost in the second derivative",
}


def _one_array_cases():
    for name, (fn, args, _) in sorted(CASES.items()):
        x = args[0]
        if not (isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.size <= 12):
            continue
        if not isinstance(fn(*args), (np.ndarray, float)):
            continue
        marks = [pytest.mark.xfail(reason=_NOT_YET[name], strict=True)] if name in _NOT_YET \
            else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", list(_one_array_cases()))
def test_hessian_against_differences_of_jacfwd(name):
    fn, args, _ = CASES[name]
    x, rest = args[0], args[1:]
    hessian = s2s.hessian(fn)(*args)
    jac = s2s.jacfwd(fn)
    h = 1e-5
    columns = []
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        columns.append((jac(x + step, *rest) - jac(x - step, *rest)) / (2 * h))
    expected = np.stack(columns, axis=-1).reshape(np.shape(hessian))
    np.testing.assert_allclose(hessian, expected, rtol=1e-5, atol=1e-5)
