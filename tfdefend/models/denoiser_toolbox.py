"""DenoiserToolbox: the light denoisers an RL agent chooses from, one per FGSM strength and depth."""

import keras
import tensorflow as tf

from tfdefend.utils.validation import check_input_shape, check_model_kwargs, check_positive_int, check_units
from tfdefend.models.light_denoiser import LightDenoiser
from tfdefend.models._layers import image_input
from tfdefend.models.base_model import BaseModel, dtype_scope, float32_output
from tfdefend.models.registry import register_image_model

TOOL_EXECUTIONS = ("gather", "dense")


@register_image_model(
    "denoiser_toolbox", "toolbox",
    "RL-chain toolbox: one LightDenoiser per FGSM strength (1..16/255) and depth (3, 8).")
class DenoiserToolbox(BaseModel):
    """A set of `LightDenoiser` tools, one per (FGSM strength, depth) pair.

    Tools are built strength-major: with `strengths=(1, 2)` and
    `depths=(3, 8)` the tools are `[fgsm1_depth3, fgsm1_depth8,
    fgsm2_depth3, fgsm2_depth8]` (`tool_names`); tool `k` is meant to be
    trained on (FGSM adversarial at strength `strengths[k // len(depths)]`
    /255, clean) pairs. Train a tool on its own (`toolbox.tools[k].fit(...)`):
    the toolbox is only the container and the per-image dispatcher.

    `call(images)` runs every tool and stacks the outputs, shape
    `[batch, num_tools, height, width, channels]`. `apply(images,
    tool_index)` processes image `i` by tool `tool_index[i]`.

    The config holds only the hyperparameters; the tools are rebuilt from it
    and their weights restored by `keras.saving.load_model`.

    Args:
        input_shape: (height, width, channels) of the images in [0, 1].
        strengths: FGSM strengths (ints, in /255) of the tools, distinct.
        depths: Depths of the tools (ints >= 2), distinct.
        filters: Channels of the tools' hidden convolutions.
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range or repeated.
    """

    def __init__(self, input_shape=(28, 28, 1), strengths=(1, 2, 4, 8, 16), depths=(3, 8), filters=32,
                 dtype=None, **kwargs):
        check_model_kwargs("DenoiserToolbox", kwargs)
        input_shape = check_input_shape(input_shape)
        strengths = _check_distinct(strengths, "strengths")
        depths = _check_distinct(depths, "depths")
        for i, depth in enumerate(depths):
            check_positive_int(depth, f"depths[{i}]", minimum=2)
        filters = check_positive_int(filters, "filters")

        with dtype_scope(dtype):
            pairs = [(strength, depth) for strength in strengths for depth in depths]  # strength-major
            names = [f"fgsm{strength}_depth{depth}" for strength, depth in pairs]
            tools = [LightDenoiser(input_shape, depth=depth, filters=filters, name=name, dtype=dtype)
                     for (_, depth), name in zip(pairs, names)]
            inputs = image_input(input_shape)
            expand = [keras.layers.Reshape((1, *input_shape), name=f"{name}_expand")(tool(inputs))
                      for tool, name in zip(tools, names)]
            outputs = (keras.layers.Concatenate(axis=1, name="stack")(expand) if len(expand) > 1
                       else expand[0])
            outputs = float32_output(outputs)
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)
        self.tools = tools
        self.tool_names = names
        self.num_tools = len(tools)
        self.store_config(input_shape=input_shape, strengths=strengths, depths=depths, filters=filters)

    def apply(self, images, tool_index, mode="gather", *, skip=None):
        """Processes image `i` by tool `tool_index[i]`.

        Args:
            images: Float images [batch, height, width, channels] in [0, 1].
            tool_index: Int tensor [batch] of tool indices in [0, num_tools).
            mode: "gather" runs each tool only on the images that chose it,
                with a static Python loop over the tools (none over the
                images): per tool `tf.where` -> `tf.gather_nd` -> tool, then
                one `tf.scatter_nd` puts every output back in place. A tool
                that no image chose does not run (a `tf.cond` on its image
                count), so no layer ever sees an empty batch. With a
                static batch of 1 (the TFLite graph) it is one `tf.cond` per
                tool instead, so no tensor has an empty batch (which TFLite's
                XNNPACK delegate refuses). "dense" runs every tool on every
                image and keeps the chosen output with a one-hot weighted
                sum (no dynamic shapes, no control flow; costs all tools).
            skip: Optional bool tensor [batch]: images where it is True are
                returned unchanged (in "gather" mode no tool runs on them);
                their `tool_index` must still be in range.

        Returns:
            Float images of the shape of `images`; both modes give the same
            values. Out-of-range indices are refused only when their values
            are known (eager); in a graph they give zeros in both modes.

        Raises:
            ValueError: If `mode` is unknown, `images` has the wrong shape, or
                (for concrete values) a tool index is out of range.
        """
        if mode not in TOOL_EXECUTIONS:
            raise ValueError(f"`mode` must be one of {TOOL_EXECUTIONS}, got {mode!r}.")
        images = tf.cast(images, self.output_dtype)  # the tools' output dtype (float32 in mixed precision)
        if images.shape.rank != 4 or not images.shape[1:].is_compatible_with(self.image_shape):
            raise ValueError(f"`images` must have shape (batch, {', '.join(map(str, self.image_shape))}), "
                             f"got {tuple(images.shape)}.")
        tool_index = tf.cast(tf.reshape(tool_index, [-1]), tf.int32)
        self._check_index(tool_index)
        if mode == "dense":
            out = self._apply_dense(images, tool_index)
        else:
            out = self._apply_gather(images, tool_index, skip)
        if skip is not None:
            keep = tf.reshape(tf.cast(skip, tf.bool), [-1, 1, 1, 1])
            out = tf.where(keep, images, out)
        return out

    def _check_index(self, tool_index):
        value = tf.get_static_value(tool_index)
        if value is not None and value.size and (value.min() < 0 or value.max() >= self.num_tools):
            raise ValueError(f"`tool_index` must be in [0, {self.num_tools}), got values "
                             f"{sorted(set(value.tolist()))}.")

    def _apply_dense(self, images, tool_index):
        weights = tf.one_hot(tool_index, self.num_tools, dtype=images.dtype)
        stacked = self(images, training=False)
        return tf.reduce_sum(stacked * tf.reshape(weights, [-1, self.num_tools, 1, 1, 1]), axis=1)

    def _apply_gather(self, images, tool_index, skip):
        run = tf.ones_like(tool_index, tf.bool) if skip is None else tf.logical_not(tf.cast(skip, tf.bool))
        if images.shape[0] == 1:
            # A static batch of one (the TFLite graph): one `tf.cond` per tool, only the chosen one runs.
            # (The sub-batches below would be empty for every other tool, which TFLite's XNNPACK refuses.)
            out = tf.zeros_like(images)
            for k, tool in enumerate(self.tools):
                out = tf.cond(tf.logical_and(run[0], tf.equal(tool_index[0], k)),
                              lambda tool=tool: tool(images, training=False), lambda out=out: out)
            return out
        positions, outputs = [], []
        for k, tool in enumerate(self.tools):
            chosen = tf.cast(tf.where(tf.logical_and(run, tf.equal(tool_index, k))), tf.int32)
            subset = tf.gather_nd(images, chosen)
            # A tool no image chose is not run at all: a layer on an empty batch is not safe (TF's oneDNN
            # convolutions on AVX-512 CPUs return the wrong channel count for a batch of 0).
            outputs.append(tf.cond(tf.shape(chosen)[0] > 0,
                                   lambda tool=tool, subset=subset: tool(subset, training=False),
                                   lambda subset=subset: tf.zeros_like(subset)))
            positions.append(chosen)
        # Skipped images run no tool: zero here, replaced by the input in `apply`.
        return tf.scatter_nd(tf.concat(positions, 0), tf.concat(outputs, 0), tf.shape(images))


def _check_distinct(values, name):
    values = check_units(values, name)
    if not values:
        raise ValueError(f"`{name}` must hold at least one value.")
    if len(set(values)) != len(values):
        raise ValueError(f"`{name}` must be distinct, got {values!r}.")
    return values
