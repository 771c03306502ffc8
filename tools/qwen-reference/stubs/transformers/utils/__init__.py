"""Decorators, flags and small types used by the reference files."""

import enum
import functools
from typing import TypedDict

from . import logging  # noqa: F401  (re-exported: `from ...utils import logging`)


class TransformersKwargs(TypedDict, total=False):
    pass


class TensorType(str, enum.Enum):
    PYTORCH = "pt"
    NUMPY = "np"


def auto_docstring(obj=None, **_unused):
    """No-op documentation decorator, usable bare or with keyword arguments."""
    if obj is None:
        return lambda inner: inner
    return obj


def can_return_tuple(fn):
    """Accept and drop a `return_dict` keyword; the stub always returns output objects."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        kwargs.pop("return_dict", None)
        return fn(*args, **kwargs)

    return wrapper


def is_torchdynamo_compiling():
    return False


def is_torch_available():
    return True


def is_vision_available():
    return True
