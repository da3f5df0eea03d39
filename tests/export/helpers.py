"""Helpers of the export tests: tiny registered models and a LiteRT runner."""

import keras
import numpy as np

from tests.harness import TINY_CLASSES, TINY_SHAPE, tiny_model
from tfdefend.models import DefendedClassifier, list_models, model_info

SHAPE = TINY_SHAPE
CLASSES = TINY_CLASSES
# Every registered classifier and preprocessor, plus one defended classifier (one graph).
EXPORT_MODELS = list_models(kind="classifier") + list_models(kind="preprocessor") + ["defended_comdefend"]


def build_tiny(name, input_shape=SHAPE):
    """A tiny version of registered model `name` (or "defended_comdefend": tiny ComDefend + small_cnn)."""
    if name == "defended_comdefend":
        return DefendedClassifier(build_tiny("comdefend", input_shape), build_tiny("small_cnn", input_shape))
    return tiny_model(name, input_shape, num_classes=CLASSES)


def is_classifier(name):
    return name == "defended_comdefend" or model_info(name)["kind"] == "classifier"


def keras_outputs(model, x, classifier):
    """The outputs the exported signatures must reproduce."""
    y = np.asarray(model(x, training=False), np.float32)
    if classifier:
        return {"logits": y, "probabilities": np.asarray(keras.ops.softmax(y, axis=-1))}
    return {"images": y}


class LiteRT:
    """Runs a `.tflite` in `ai_edge_litert`'s interpreter (no Flex delegate), one image at a time."""

    def __init__(self, path, threads=1):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()  # fails for Flex ops: this interpreter has no Flex delegate
        self.runner = self.interpreter.get_signature_runner("serving_default")
        self.inputs = self.runner.get_input_details()
        self.outputs = self.runner.get_output_details()

    def ops(self):
        return {op["op_name"] for op in self.interpreter._get_ops_details()}

    def __call__(self, x):
        """Float images (N, H, W, C) -> dict of float outputs, (de)quantizing uint8 tensors."""
        spec = self.inputs["images"]
        results = []
        for image in np.asarray(x, np.float32):
            value = image[None]
            if spec["dtype"] == np.uint8:
                scale, zero = spec["quantization"]
                value = np.clip(np.round(value / scale) + zero, 0, 255).astype(np.uint8)
            out = self.runner(images=value)
            for key, tensor in out.items():
                if self.outputs[key]["dtype"] == np.uint8:
                    scale, zero = self.outputs[key]["quantization"]
                    out[key] = (tensor.astype(np.float32) - zero) * scale
            results.append(out)
        return {key: np.concatenate([r[key] for r in results]) for key in results[0]}


def assert_builtin_only(runtime):
    ops = runtime.ops()
    assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops), ops
