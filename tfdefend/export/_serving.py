"""What the SavedModel and TFLite exporters share: kind, input shape, serving functions.

A model is exported as one of two kinds:

- "classifier": images -> `{"logits", "probabilities"}` (softmax of the logits),
  for every registered classifier and `DefendedClassifier`;
- "preprocessor": images -> `{"images"}`, for the image-to-image defenses
  (ComDefend, denoisers, feature squeezers, JPEG).

The graphs are traced with `keras.export.ExportArchive`, Keras 3's own
SavedModel writer, which tracks the model's variables and takes custom
endpoints with input signatures; a plain `tf.Module` holding a Keras 3
model saves too, but its variables then stay resource variables that the
TFLite converter does not freeze.
"""

import numbers
import os

import keras
import tensorflow as tf

from tfdefend.models import DefendedClassifier, list_models, model_info
from tfdefend.utils.calling import image_input_shape

KINDS = ("classifier", "preprocessor")
INPUT_NAME = "images"
BYTES_INPUT_NAME = "image_bytes"


def model_label(model):
    """`ClassName 'layer_name'`, used in error messages."""
    return f"{type(model).__name__} {model.name!r}"


def check_model(model):
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model, got {type(model).__name__}.")


def resolve_kind(model, kind=None):
    """The export kind of `model`: the registry's kind of its class, else inferred from its output.

    Raises:
        ValueError: If `kind` is not one of `KINDS` or contradicts the rank
            of the model's output ([batch, classes] for a classifier, images
            for a preprocessor), the model is registered as another kind
            (encoder, decoder, generator, critic), or the kind cannot be
            inferred.
    """
    if kind is not None:
        if not isinstance(kind, str) or kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}, got {kind!r}.")
        rank = _output_rank(model)
        if rank is not None and rank != (2 if kind == "classifier" else 4):
            raise ValueError(f"`kind`={kind!r} does not fit {model_label(model)}: its output has rank {rank} "
                             f"(a classifier returns [batch, classes], a preprocessor images).")
        return kind
    if isinstance(model, DefendedClassifier):
        return "classifier"
    registered = {model_info(name)["kind"] for name in list_models()
                  if model_info(name)["cls"] is type(model)}
    if len(registered) == 1:
        (registered_kind,) = registered
        if registered_kind not in KINDS:
            raise ValueError(f"Only classifiers and image-to-image preprocessors are exported; "
                             f"{model_label(model)} is a {registered_kind}.")
        return registered_kind
    try:
        output_shape = model.output_shape
    except (AttributeError, ValueError):
        output_shape = None
    if isinstance(output_shape, tuple) and len(output_shape) == 2:
        return "classifier"
    if isinstance(output_shape, tuple) and len(output_shape) == 4:
        return "preprocessor"
    raise ValueError(f"Cannot tell whether {model_label(model)} is a classifier or a preprocessor; "
                     f"pass `kind` (one of {KINDS}).")


def _output_rank(model):
    """The rank of the model's static output shape, or None if it has none."""
    try:
        output_shape = model.output_shape
    except (AttributeError, ValueError):
        return None
    return len(output_shape) if isinstance(output_shape, tuple) else None


def resolve_input_shape(model, input_shape=None):
    """(height, width, channels): `input_shape`, else the model's fixed input shape.

    Raises:
        ValueError: If neither is known, `input_shape` is malformed or
            disagrees with the model's input shape, or channels are not 1 or 3.
    """
    fixed = image_input_shape(model)
    if input_shape is None:
        if fixed is None:
            raise ValueError(f"`input_shape` (height, width, channels) is required to export "
                             f"{model_label(model)}: the model takes images of any size.")
        input_shape = fixed
    if (not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3
            or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1 for d in input_shape)):
        raise ValueError(f"`input_shape` must be 3 positive ints (height, width, channels), "
                         f"got {input_shape!r}.")
    shape = tuple(int(d) for d in input_shape)
    if fixed is not None and shape != fixed:
        raise ValueError(f"`input_shape` {shape} differs from the input shape {fixed} of "
                         f"{model_label(model)}.")
    if shape[-1] not in (1, 3):
        raise ValueError(f"Exported models take 1 (gray) or 3 (RGB) channels, got {shape[-1]}.")
    return shape


def serve(model, kind, images):
    """The named outputs of `model` on float images in [0, 1]."""
    outputs = tf.cast(model(images, training=False), tf.float32)
    if kind == "classifier":
        return {"logits": outputs, "probabilities": tf.nn.softmax(outputs, axis=-1)}
    return {"images": outputs}


def decode_images(image_bytes, input_shape):
    """Decodes a batch of encoded images (JPEG, PNG, GIF, BMP) to float32 [N, H, W, C] in [0, 1].

    Each image is decoded with `tf.io.decode_image` in its own channels and
    scaled to [0, 1] (GIFs give their first frame); an alpha channel is
    dropped; gray becomes RGB by repetition, RGB becomes gray with
    `tf.image.rgb_to_grayscale` (ITU-R 601 luma); when its size differs,
    the image is resized to (H, W) with antialiased bilinear interpolation.
    """
    height, width, channels = input_shape

    def one(data):
        image = tf.io.decode_image(data, channels=0, dtype=tf.float32, expand_animations=False)
        color = tf.shape(image)[-1] >= 3
        image = tf.cond(color, lambda: image[..., :3], lambda: image[..., :1])  # drop alpha
        if channels == 1:
            image = tf.cond(color, lambda: tf.image.rgb_to_grayscale(image), lambda: image)
        else:
            image = tf.cond(color, lambda: image, lambda: tf.tile(image, [1, 1, 3]))
        same = tf.reduce_all(tf.equal(tf.shape(image)[:2], [height, width]))
        image = tf.cond(same, lambda: image,
                        lambda: tf.image.resize(image, (height, width), antialias=True))
        return tf.clip_by_value(tf.ensure_shape(image, input_shape), 0.0, 1.0)

    return tf.map_fn(one, image_bytes, fn_output_signature=tf.TensorSpec(input_shape, tf.float32))


def build_archive(model, kind, input_shape, *, batch_size=None, bytes_signature=False):
    """An `ExportArchive` with the `serving_default` (and optionally `serving_bytes`) endpoint.

    `serving_bytes` calls the traced `serving_default` graph after decoding,
    so the model is traced once.
    """
    spec = tf.TensorSpec([batch_size, *input_shape], tf.float32, name=INPUT_NAME)
    serving = tf.function(lambda images: serve(model, kind, images), input_signature=[spec], autograph=False)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", serving, input_signature=[spec])
    if bytes_signature:
        archive.add_endpoint(
            "serving_bytes", lambda image_bytes: serving(decode_images(image_bytes, input_shape)),
            input_signature=[tf.TensorSpec([None], tf.string, name=BYTES_INPUT_NAME)])
    return archive


def check_path(path, name="path"):
    """`os.fspath(path)`, or TypeError naming the argument if it is not a path."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`{name}` must be a file path (str or os.PathLike), got {type(path).__name__}.")
    return os.fspath(path)


def refuse_existing(path, overwrite):
    """Raises FileExistsError early (before tracing) if `path` exists and `overwrite` is False."""
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists; pass overwrite=True to replace it.")
