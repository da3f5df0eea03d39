"""tfdefend: a TensorFlow 2 / Keras 3 zoo of adversarial defenses and attacks."""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
