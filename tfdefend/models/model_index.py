"""The registered models' names, kinds and one-line descriptions, readable without TensorFlow.

`tfdefend models` prints this index: importing every model class (and with
it TensorFlow) only to list names takes seconds. It is a copy of the
registry (`tfdefend.models.list_models`, `model_info`);
`tests/models/test_model_index.py` fails when the two differ, so a model
registered without its line here, or with another kind or description, is
caught by CI.
"""

MODEL_INDEX = {  # name -> (kind, description), as registered with `register_model`
    "bit_depth": ("preprocessor",
                  "Bit-depth reduction (feature squeezing): round to 2**bits gray levels."),
    "comcnn": ("encoder",
               "ComDefend's compression CNN (image -> 12-channel real-valued code)."),
    "comdefend": ("preprocessor",
                  "ComDefend: ComCNN -> binary 12-channel code -> ResCNN reconstruction."),
    "comdefend_residual": ("preprocessor",
                           "ComDefend with residual blocks in the ComCNN encoder (the residual-encoder variant)."),
    "dae": ("preprocessor",
            "Convolutional denoising autoencoder (stride-2 encoder, transposed-conv decoder)."),
    "denoiser_agent": (
        "agent", "RL-Restore agent: conv features + previous action -> LSTM -> Q-values over tools + stop."),
    "denoiser_toolbox": (
        "toolbox", "RL-chain toolbox: one LightDenoiser per FGSM strength (1..16/255) and depth (3, 8)."),
    "dncnn": ("preprocessor",
              "DnCNN (Zhang et al. 2017): 17-layer CNN predicting the noise, outputs clip(x - noise)."),
    "gnr_critic": ("critic",
                   "GNR Wasserstein critic: image -> unbounded score (layer norm, WGAN-GP ready)."),
    "gnr_generator": ("generator",
                      "GNR noise generator: latent vector -> noise image in [-eps, eps]."),
    "jpeg": ("preprocessor",
             "JPEG compression and decompression of each image (non-differentiable)."),
    "light_denoiser": ("preprocessor",
                       "Light residual CNN denoiser (a tool of the RL chain): clip(x + correction, 0, 1)."),
    "median": ("preprocessor",
               "Median smoothing (feature squeezing): size x size median filter per channel."),
    "mlp": ("classifier",
            "MLP (Flatten + ReLU dense layers 500-150), the Deep Defense MNIST MLP."),
    "mobilenet_v2": ("classifier",
                     "Small MobileNetV2 (inverted residual blocks, 28x28 -> 4x4), TFLite-friendly."),
    "rescnn": ("decoder",
               "ComDefend's reconstruction CNN (12-channel code -> image in [0, 1])."),
    "resnet": ("classifier",
               "CIFAR-style ResNet (3 stages of basic blocks, ResNet-14 by default)."),
    "rl_denoiser_chain": (
        "preprocessor",
        "RL-Restore chain: a greedy LSTM Q-agent applies up to max_steps toolbox tools per image."),
    "small_cnn": ("classifier",
                  "Small VGG-style CNN (2 conv blocks + dense), the default classifier."),
    "uddn": ("preprocessor",
             "UDDN/HGD U-Net denoiser: predicts the adversarial noise, outputs clip(x - noise)."),
}


def model_index(kind=None):
    """Returns `[(name, kind, description), ...]` of the registered models, sorted by name.

    Args:
        kind: Only the models of this kind ("classifier", "preprocessor", ...).
    """
    return [(name, entry[0], entry[1]) for name, entry in sorted(MODEL_INDEX.items())
            if kind is None or entry[0] == kind]
