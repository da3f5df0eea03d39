"""`TFLiteScores`: a `.tflite` classifier as a scores function (float images in, float scores out)."""

import numpy as np

from tfdefend.export.load_tflite import load_tflite


class TFLiteScores:
    """Runs a LiteRT classifier on float images in [0, 1] and returns float scores, one image at a time.

    For score-based attacks (`tfdefend.attacks.square`) and evaluation of the
    deployed artifact itself: float, fp16, dynamic-range and full-integer
    (uint8/int8 input and outputs) files all look the same from outside; the
    input is quantized and the output dequantized with the file's own
    parameters, exactly as the app does.

    Args:
        path: The `.tflite` file (as written by `tfdefend.export.tflite`).
        output: The signature output to return ("logits" or "probabilities").
        num_threads: Interpreter threads.
        sha256: Expected sha256 of the file, or None.

    Raises:
        ValueError: A file that is not a valid TFLite model, or an unknown `output`.
    """

    traceable = False  # NumPy and the LiteRT interpreter inside: never wrap it in a tf.function

    def __init__(self, path, *, output="logits", num_threads=1, sha256=None):
        self.interpreter = load_tflite(path, sha256=sha256, num_threads=num_threads)
        signatures = self.interpreter.get_signature_list()
        key = next(iter(signatures))
        self.runner = self.interpreter.get_signature_runner(key)
        self.input_name = signatures[key]["inputs"][0]
        if output not in signatures[key]["outputs"]:
            raise ValueError(f"`output` must be one of {sorted(signatures[key]['outputs'])}, got {output!r}.")
        self.output = output
        self._input = self.runner.get_input_details()[self.input_name]
        self._output = self.runner.get_output_details()[output]
        self.input_shape = tuple(int(d) for d in self._input["shape"][1:])
        self.calls = 0  # images run so far (queries)

    def _quantize(self, image):
        dtype = self._input["dtype"]
        if not np.issubdtype(dtype, np.integer):
            return image.astype(dtype)[None]
        scale, zero_point = self._input["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(image / scale) + zero_point, info.min, info.max).astype(dtype)[None]

    def _dequantize(self, value):
        value = np.asarray(value)
        if np.issubdtype(value.dtype, np.integer):
            scale, zero_point = self._output["quantization"]
            return (value.astype(np.float32) - zero_point) * scale
        return value.astype(np.float32)

    def __call__(self, images):
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[1:] != self.input_shape or images.shape[0] == 0:
            raise ValueError(f"`images` must have shape (batch >= 1, {', '.join(map(str, self.input_shape))}), "
                             f"got {images.shape}.")
        out = [self._dequantize(self.runner(**{self.input_name: self._quantize(image)})[self.output])[0]
               for image in images]
        self.calls += len(images)
        return np.stack(out)
