"""DenoiserAgent: the recurrent Q-network of RL-Restore (Yu et al., CVPR 2018) that picks the next tool."""

import keras
from keras import ops

from tfdefend.utils.validation import check_input_shape, check_model_kwargs, check_positive_int, check_units
from tfdefend.models._layers import check_widths, image_input
from tfdefend.models.base_model import BaseModel, dtype_scope, float32_output
from tfdefend.models.registry import register_image_model


@register_image_model(
    "denoiser_agent", "agent",
    "RL-Restore agent: conv features + previous action -> LSTM -> Q-values over tools + stop.")
class DenoiserAgent(BaseModel):
    """Q-network of the RL denoiser chain: one recurrent step per chosen tool.

    `call([images, prev_action, state_h, state_c])` returns
    `[q_values, state_h, state_c]`:

    * a feature extractor of the current image: convolutions
      `conv_filters[i]` @ `kernel_sizes[i]`, stride 2, "same" padding, ReLU
      (RL-Restore: 32@9x9, then 3x 24@5x5), flattened, then
      Dense(`fc_units`, ReLU);
    * concatenated with `prev_action` [batch, num_actions], the one-hot of
      the previous action (all zeros at the first step);
    * one step of an `LSTMCell(lstm_units)` from the state (h, c);
    * Dense(`num_actions`): the Q-values, linear.

    Actions `0 .. num_actions - 2` are the tools of a `DenoiserToolbox`
    (`num_actions = num_tools + 1`), the last one, `num_actions - 1`
    (`stop_action`), is "stop". `initial_state(batch_size)` gives the zero
    state of the first step. Greedy rollouts are run by `RLDenoiserChain`;
    the agent itself is trained by a DQN trainer (it knows nothing of it).

    Args:
        input_shape: (height, width, channels) of the images in [0, 1].
        num_actions: Number of actions, tools plus "stop" (>= 2).
        conv_filters: Channels of the stride-2 convolutions (at least one).
        kernel_sizes: Kernel size of each convolution (as many as `conv_filters`).
        fc_units: Width of the dense layer after the convolutions.
        lstm_units: Width of the LSTM state.
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), num_actions=11, conv_filters=(32, 24, 24, 24),
                 kernel_sizes=(9, 5, 5, 5), fc_units=32, lstm_units=50, dtype=None, **kwargs):
        check_model_kwargs("DenoiserAgent", kwargs)
        input_shape = check_input_shape(input_shape)
        num_actions = check_positive_int(num_actions, "num_actions", minimum=2)
        conv_filters = check_widths(conv_filters, "conv_filters")
        kernel_sizes = check_units(kernel_sizes, "kernel_sizes")
        if len(kernel_sizes) != len(conv_filters):
            raise ValueError(f"`kernel_sizes` must hold one size per convolution ({len(conv_filters)}), "
                             f"got {kernel_sizes!r}.")
        fc_units = check_positive_int(fc_units, "fc_units")
        lstm_units = check_positive_int(lstm_units, "lstm_units")

        with dtype_scope(dtype):
            images = image_input(input_shape)
            prev_action = keras.Input(shape=(num_actions,), name="prev_action")
            state_h = keras.Input(shape=(lstm_units,), name="state_h")
            state_c = keras.Input(shape=(lstm_units,), name="state_c")
            x = images
            for i, (width, size) in enumerate(zip(conv_filters, kernel_sizes), start=1):
                x = keras.layers.Conv2D(width, size, strides=2, padding="same", activation="relu",
                                        name=f"conv{i}")(x)
            x = keras.layers.Flatten(name="flatten")(x)
            x = keras.layers.Dense(fc_units, activation="relu", name="fc")(x)
            x = keras.layers.Concatenate(name="with_prev_action")([x, prev_action])
            x, (new_h, new_c) = keras.layers.LSTMCell(lstm_units, name="lstm")(x, [state_h, state_c])
            q_values = keras.layers.Dense(num_actions, name="q_values")(x)
            q_values = float32_output(q_values, name="q_values_float32")
            new_h = float32_output(new_h, name="state_h_float32")
            new_c = float32_output(new_c, name="state_c_float32")
        super().__init__(inputs=[images, prev_action, state_h, state_c],
                         outputs=[q_values, new_h, new_c], dtype=dtype, **kwargs)
        self.store_config(input_shape=input_shape, num_actions=num_actions, conv_filters=conv_filters,
                          kernel_sizes=kernel_sizes, fc_units=fc_units, lstm_units=lstm_units)

    @property
    def stop_action(self):
        """The index of the "stop" action, `num_actions - 1`."""
        return self.num_actions - 1

    def initial_state(self, batch_size):
        """The zero LSTM state `(h, c)`, each [batch_size, lstm_units] in the output dtype.

        `batch_size` may be a tensor.
        """
        shape = (batch_size, self.lstm_units)
        return ops.zeros(shape, self.output_dtype), ops.zeros(shape, self.output_dtype)
