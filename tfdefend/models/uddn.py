"""UDDN: the U-Net denoiser of Li & Wang (2018), after HGD's DUNET (Liao et al., CVPR 2018)."""

import keras

from tfdefend.utils.validation import check_input_shape, check_model_kwargs
from tfdefend.models._layers import check_widths, conv_bn_relu, image_input
from tfdefend.models._losses import denoiser_loss, reconstruction_l1
from tfdefend.models._shapes import check_image_shape, crop_back, pad_to_multiple
from tfdefend.models.base_model import BaseModel, dtype_scope, float32_output
from tfdefend.models.registry import register_image_model

UDDN_FILTERS = (16, 32, 64)


@register_image_model(
    "uddn", "preprocessor",
    "UDDN/HGD U-Net denoiser: predicts the adversarial noise, outputs clip(x - noise).")
class UDDN(BaseModel):
    """U-Net denoiser that predicts the (adversarial) noise and subtracts it.

    Built from the unit C = 3x3 convolution -> batch norm -> ReLU:

    * C2: `a = C(x); out = C(a) + a` (residual connection at the 2nd unit).
    * C3 (DenseNet-like): `a = C(x); b = C(a); c = C(concat(a, b));
      out = a + b + c` -- the 3rd unit sees every earlier feature map of the
      block and the output sums all three, which keeps the width constant.
      In the encoder the first convolution of a C3 has stride 2.

    Encoder: a C2 of width `filters[0]` at full resolution, then one C3 per
    further entry of `filters`, each halving height and width. Decoder
    (top-down): from the deepest level, the feedback map is bilinearly
    upsampled to the size of the next shallower encoder output (the lateral
    input), the two are concatenated (the fusion F), then a C3 of that
    level's width is applied (a C2 at the full-resolution level). A 1x1
    convolution predicts the negative noise `-dx_hat` (the `noise_net`
    output) and the model returns `clip(x + (-dx_hat), 0, 1)`, i.e.
    `x_hat = x* - dx_hat` with residual learning. Height and width are
    zero-padded at the bottom/right to a multiple of `2 ** (len(filters) - 1)`
    and cropped back, so the output has the input's shape.

    The 1x1 noise convolution starts at zero, so an untrained UDDN is the
    identity on images in [0, 1]: training starts from "no noise" and a
    guided loss only has to learn the correction.

    The paper (and HGD) use widths 64, 128, 256, 256, 256; the default
    `(16, 32, 64)` is a CPU-sized version for 28x28 images.

    Training (pixel-guided denoiser): `model.compile(optimizer="adam");
    model.fit(x_adv, x_clean)`. `compute_loss` is the L1 error
    `mean |model(x_adv) - target|` (per image, then over the batch), the
    target being `y` if given, else `x`; any loss passed to `compile` is
    ignored. The logit-guided (HGD) loss is a separate trainer.

    Args:
        input_shape: (height, width, channels) of the images in [0, 1]; height
            and width may be None: the model then takes images of any size.
        filters: Widths of the encoder levels, full resolution first (at
            least one).
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), filters=UDDN_FILTERS, dtype=None, **kwargs):
        check_model_kwargs("UDDN", kwargs)
        input_shape = check_image_shape(input_shape, check_input_shape)  # height and width may be None
        filters = check_widths(filters)

        with dtype_scope(dtype):
            noise_net = _noise_net(input_shape, filters)
            inputs = image_input(input_shape)
            denoised = keras.layers.Add(name="subtract_noise")([inputs, noise_net(inputs)])
            outputs = keras.layers.ReLU(max_value=1.0, name="clip")(denoised)
            outputs = float32_output(outputs)
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)
        self.noise_net = noise_net
        self.store_config(input_shape=input_shape, filters=filters)

    def noise(self, x):
        """Returns the predicted noise `dx_hat` (inference mode); `self(x) == clip(x - dx_hat, 0, 1)`."""
        return -self.noise_net(x, training=False)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """`mean |y_pred - target|` plus any layer losses; `target` is `y`, or `x` if `y` is None.

        `y_pred` is the output of the forward pass on `x`; if it is None that
        forward pass is run here.
        """
        return denoiser_loss(self, reconstruction_l1, x, y, y_pred, sample_weight, training)


def _noise_net(input_shape, filters):
    """The U-Net mapping images to the negative noise estimate `-dx_hat` (same shape)."""
    inputs = image_input(input_shape)
    x, pad = pad_to_multiple(inputs, 2 ** (len(filters) - 1))

    lateral = [_c2(x, filters[0], "enc1")]
    for level, width in enumerate(filters[1:], start=2):
        lateral.append(_c3(lateral[-1], width, f"enc{level}", strides=2))

    x = lateral[-1]
    for level in range(len(filters) - 1, 0, -1):
        name = f"dec{level}"
        up = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_up")(x)
        fused = keras.layers.Concatenate(name=f"{name}_fuse")([up, lateral[level - 1]])
        block = _c2 if level == 1 else _c3
        x = block(fused, filters[level - 1], name)

    x = keras.layers.Conv2D(input_shape[-1], 1, kernel_initializer="zeros", name="negative_noise")(x)
    x = crop_back(x, pad, inputs)
    return keras.Model(inputs=inputs, outputs=x, name="noise_net")


def _c2(x, width, name):
    """Two C units with a residual connection at the second: `C(C(x)) + C(x)`."""
    a = conv_bn_relu(x, width, f"{name}_c1")
    b = conv_bn_relu(a, width, f"{name}_c2")
    return keras.layers.Add(name=f"{name}_add")([a, b])


def _c3(x, width, name, strides=1):
    """Three C units, DenseNet-like: `a = C(x); b = C(a); c = C([a, b]); a + b + c`."""
    a = conv_bn_relu(x, width, f"{name}_c1", strides=strides)
    b = conv_bn_relu(a, width, f"{name}_c2")
    c = conv_bn_relu(keras.layers.Concatenate(name=f"{name}_dense")([a, b]), width, f"{name}_c3")
    return keras.layers.Add(name=f"{name}_add")([a, b, c])
