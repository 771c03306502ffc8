"""Load the library's own Qwen2.5-VL files from a (partial) source checkout.

The checkout provides, with the library's relative paths:
  src/transformers/models/qwen2_5_vl/modeling_qwen2_5_vl.py
  src/transformers/models/qwen2_5_vl/configuration_qwen2_5_vl.py
  src/transformers/models/qwen2_vl/image_processing_qwen2_vl.py
Everything those files import from the rest of the library comes from ./stubs.
The files are imported unchanged, as submodules of the stub package, so their
relative imports (`from ...modeling_utils import ...`) resolve to the stubs.
"""

import importlib
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
STUBS = os.path.join(HERE, "stubs")

NEEDED = (
    ("qwen2_5_vl", "modeling_qwen2_5_vl.py"),
    ("qwen2_5_vl", "configuration_qwen2_5_vl.py"),
    ("qwen2_vl", "image_processing_qwen2_vl.py"),
)


def _models_dir(checkout):
    for candidate in (
        os.path.join(checkout, "src", "transformers", "models"),
        os.path.join(checkout, "transformers", "models"),
        os.path.join(checkout, "models"),
    ):
        if os.path.isdir(os.path.join(candidate, "qwen2_5_vl")):
            return candidate
    raise SystemExit(f"no src/transformers/models/qwen2_5_vl under {checkout!r}")


def load(checkout):
    """Return (modeling, configuration, image_processing) modules from `checkout`."""
    models_dir = _models_dir(os.path.abspath(checkout))
    for sub, name in NEEDED:
        path = os.path.join(models_dir, sub, name)
        if not os.path.isfile(path):
            raise SystemExit(f"missing {path}")
    if "transformers" in sys.modules and not getattr(sys.modules["transformers"], "__file__", "").startswith(STUBS):
        raise SystemExit("a real `transformers` package is already imported; run in a fresh interpreter")
    if STUBS not in sys.path:
        sys.path.insert(0, STUBS)
    import transformers  # the stub package

    def package(name, path):
        if name in sys.modules:
            return sys.modules[name]
        mod = types.ModuleType(name)
        mod.__path__ = [path]
        mod.__package__ = name
        sys.modules[name] = mod
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, mod)
        return mod

    package("transformers.models", models_dir)
    package("transformers.models.qwen2_5_vl", os.path.join(models_dir, "qwen2_5_vl"))
    package("transformers.models.qwen2_vl", os.path.join(models_dir, "qwen2_vl"))
    configuration = importlib.import_module("transformers.models.qwen2_5_vl.configuration_qwen2_5_vl")
    modeling = importlib.import_module("transformers.models.qwen2_5_vl.modeling_qwen2_5_vl")
    image_processing = importlib.import_module("transformers.models.qwen2_vl.image_processing_qwen2_vl")
    assert transformers.__file__.startswith(STUBS)
    return modeling, configuration, image_processing
