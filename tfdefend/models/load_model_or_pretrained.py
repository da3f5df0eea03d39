"""`load_model_or_pretrained`: a model given as a `.keras` file or as a zoo name."""

import os

from tfdefend.models.loading import load_model
from tfdefend.models.zoo import load_pretrained


def load_model_or_pretrained(source):
    """Loads `source`: an existing `.keras` file (`load_model`, safe mode) or else a zoo name (`load_pretrained`).

    This is how the command line takes a target classifier (`--classifier`,
    `--advmask-model`).

    Raises:
        ValueError: A damaged or unsafe file, or an unknown zoo name (the message lists the zoo).
    """
    if os.path.exists(str(source)):
        return load_model(source)
    return load_pretrained(source)
