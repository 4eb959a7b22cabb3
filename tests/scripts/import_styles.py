"""Functions using each way of importing NumPy (for tests/test_frontend.py)."""

import math as m

import numpy
import numpy as np
from numpy import cos, sin
from numpy import exp as e
from numpy.linalg import norm


def plain_numpy(x):
    return numpy.sum(numpy.sin(x) * x)


def from_import(x):
    return sin(x) * cos(x)


def renamed_from_import(x):
    return e(-x) * x


def submodule_from_import(x):
    return norm(x) + numpy.linalg.norm(2.0 * x)


def math_alias(t):
    return m.sin(t) + m.exp(0.5 * t)


def mixed(x):
    return np.tanh(x) + numpy.tanh(2.0 * x) + sin(x)
