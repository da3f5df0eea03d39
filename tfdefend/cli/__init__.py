"""Layer 5: the `tfdefend` command line."""

import tfdefend as _tfdefend

# The listing commands (--help, models, datasets, zoo list/show) must not import TensorFlow:
# model classes load on first use in this process (see tfdefend.models).
_tfdefend._LAZY_MODELS = True
