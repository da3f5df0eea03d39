"""`load_tflite`: the one checked way to open a `.tflite` file in LiteRT.

The LiteRT interpreter answers a damaged file with `ValueError` or
`RuntimeError` (or runs it, when only weight bytes changed). `load_tflite`

- checks that the file exists and carries the TFLite flatbuffer identifier
  ("TFL3" at byte 4), so a truncated or foreign file is refused before the
  interpreter parses it;
- compares the file's sha256 with `sha256`, when given: the only check that
  catches flipped weight bytes, which leave a structurally valid model (app
  bundles record the sha256 in `bundle.json`);
- builds the interpreter and allocates its tensors, and turns any error of
  the interpreter into a `ValueError` naming the file.
"""

import os

from tfdefend.utils.hashing import sha256_file

TFLITE_IDENTIFIER = b"TFL3"


def load_tflite(path, *, sha256=None, num_threads=1):
    """Opens a `.tflite` file in a LiteRT interpreter with its tensors allocated.

    Args:
        path: The `.tflite` file.
        sha256: The expected hex sha256 of the file, or None to skip the check.
        num_threads: Interpreter threads (>= 1).

    Returns:
        An `ai_edge_litert.interpreter.Interpreter`, tensors allocated.

    Raises:
        FileNotFoundError: If `path` does not exist.
        TypeError: If `path` is not a path.
        ValueError: A file that is not a TFLite model, is truncated or
            corrupted, or does not match `sha256` (the message names it),
            or a bad `num_threads`.
    """
    from ai_edge_litert.interpreter import Interpreter

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a file path (str or os.PathLike), got {type(path).__name__}.")
    path = os.fspath(path)
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"`num_threads` must be a positive int, got {num_threads!r}.")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"TFLite model {path!r} does not exist or is not a file.")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if len(head) < 8 or head[4:8] != TFLITE_IDENTIFIER:
        raise ValueError(f"{path!r} is not a TFLite model (no {TFLITE_IDENTIFIER.decode()} identifier at "
                         "byte 4; truncated or another format).")
    if sha256 is not None and sha256_file(path) != str(sha256).lower():
        raise ValueError(f"{path!r} does not match its recorded sha256 {sha256}; the file is corrupted or "
                         "was modified.")
    try:
        interpreter = Interpreter(model_path=path, num_threads=num_threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        text = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise ValueError(f"{path!r} is not a valid TFLite model (corrupted?): {text}") from None
    return interpreter
