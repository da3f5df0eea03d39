"""SavedModel export for TF Serving, with named signatures: `export_saved_model` (formerly `saved_model`).

The SavedModel holds two signatures (the contract TF Serving reads):

`serving_default`
    input `images`: float32 [None, H, W, C] in [0, 1];
    outputs `logits` and `probabilities` (float32 [None, classes]) for a
    classifier or `DefendedClassifier`, `images` (float32 [None, H, W, C])
    for an image-to-image preprocessor.

`serving_bytes` (for REST clients that post files)
    input `image_bytes`: string [None], each an encoded JPEG, PNG, GIF (first
    frame) or BMP of any size; each is decoded, scaled to [0, 1], converted
    to C channels (alpha dropped; gray -> RGB by repetition, RGB -> gray by
    `tf.image.rgb_to_grayscale`) and resized to (H, W) (antialiased
    bilinear) when its size differs, then run as above. Same outputs as
    `serving_default`.

Check it with `saved_model_cli show --dir PATH --all`. Every registered
classifier and preprocessor exports, JPEG compression included (its
EncodeJpeg/DecodeJpeg ops are standard TensorFlow ops that TF Serving runs).
"""

from tfdefend.export import _serving
from tfdefend.utils.atomic import atomic_path
from tfdefend.utils.deprecation import deprecated_alias


def export_saved_model(model, path, *, overwrite=False, input_shape=None, kind=None, bytes_signature=True):
    """Writes `model` as a SavedModel directory with `serving_default` and `serving_bytes`.

    The directory is written next to `path` under a temporary name and
    renamed into place once complete, so a failure never leaves a partial
    SavedModel at `path`.

    Args:
        model: A `keras.Model`: a classifier returning logits, a
            `DefendedClassifier`, or an image-to-image preprocessor.
        path: The SavedModel directory to create.
        overwrite: If False and `path` exists, raises `FileExistsError`.
        input_shape: (height, width, channels); required for models that
            take any image size (JPEG, bit-depth, median), else the model's
            own input shape (passing a different one is an error).
        kind: "classifier" or "preprocessor"; by default the registry kind of
            the model's class, else inferred from its output rank.
        bytes_signature: Also write the `serving_bytes` signature.

    Returns:
        `path`.

    Raises:
        TypeError: If `model` is not a keras.Model.
        ValueError: If the kind or input shape cannot be determined or is invalid.
        FileExistsError: If `path` exists and `overwrite` is False.
    """
    _serving.check_model(model)
    path = _serving.check_path(path)
    _serving.refuse_existing(path, overwrite)
    kind = _serving.resolve_kind(model, kind)
    input_shape = _serving.resolve_input_shape(model, input_shape)
    archive = _serving.build_archive(model, kind, input_shape, bytes_signature=bytes_signature)
    with atomic_path(path, overwrite=overwrite) as tmp:
        archive.write_out(tmp, verbose=False)
    return path


saved_model = deprecated_alias(export_saved_model, "saved_model")
