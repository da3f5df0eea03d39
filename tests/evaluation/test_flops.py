import keras
import pytest

from tfdefend.evaluation import count_flops


def _conv_model(bias):
    inputs = keras.Input((None, None, 1))
    outputs = keras.layers.Conv2D(2, 3, padding="same", use_bias=bias)(inputs)
    return keras.Model(inputs, outputs)


def test_counts_a_convolution_as_two_flops_per_multiply_add():
    # 4x4 outputs x 2 filters x 3x3x1 taps = 288 multiply-adds.
    assert count_flops(_conv_model(bias=False), (4, 4, 1)) == 2 * 288


def test_bias_and_size_add_flops():
    assert count_flops(_conv_model(bias=True), (4, 4, 1)) == 2 * 288 + 32
    assert count_flops(_conv_model(bias=False), (8, 8, 1)) == 4 * 2 * 288


@pytest.mark.parametrize("shape", [(4, 4), (4, 0, 1), "4x4x1"])
def test_bad_shape_raises(shape):
    with pytest.raises(ValueError, match="input_shape"):
        count_flops(_conv_model(bias=False), shape)
