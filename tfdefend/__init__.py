"""tfdefend: a TensorFlow 2 / Keras 3 zoo of adversarial defenses and attacks."""

import importlib.util as _importlib_util
import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if _importlib_util.find_spec("tensorflow") is None:  # the TF wheel is an extra: CPU or GPU build
    raise ImportError(
        "tfdefend needs TensorFlow >= 2.16: install it with pip install 'tfdefend[cpu]' "
        "(tensorflow-cpu) or 'tfdefend[gpu]' (tensorflow[and-cuda])."
    )

__version__ = "0.1.0"

# `import tfdefend.models` imports every model class (registering them with Keras, so a plain
# `keras.saving.load_model` reads our files). The command line sets this first (tfdefend.cli), so
# its listing commands answer without importing TensorFlow; the classes then load on first use.
_LAZY_MODELS = False
