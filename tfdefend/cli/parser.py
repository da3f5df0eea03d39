"""The options of every `tfdefend` command (`build_parser`); `main.py` runs what they ask for."""

import argparse

from tfdefend.cli.app_job import add_app_parser
from tfdefend.cli.backup_options import add_backup_options
from tfdefend.cli.dataset_choice import ALLOW_FLAG, ALLOW_HELP
from tfdefend.cli.defense_option import add_defense_arguments
from tfdefend.cli.help_format import HelpFormatter, add_command
from tfdefend.cli.leaderboard_job import add_leaderboard_parser
from tfdefend.cli.strategy_option import add_strategy_option

DESCRIPTION = ("tfdefend: train classifiers and defenses against adversarial examples, attack them and "
               "print robustness tables; a zoo of pretrained models (TensorFlow 2 / Keras 3).")
EPILOG = ("Start with `tfdefend demo` (train, attack, print the table) or `tfdefend zoo list`. "
          "Run `tfdefend COMMAND -h` for the options of a command.")
MODEL_DATASET_HELP = ("bundled data set (see `tfdefend datasets`) (default: the classifier's own: its zoo "
                      "entry's, or the one in the training metrics JSON beside the .keras file; else "
                      "fashion_mnist)")
AUGMENTATIONS = ("none", "cutout", "random_erasing", "hide_and_seek", "gridmask", "advmask")


class Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose sub-command parsers share `HelpFormatter` (argparse does not pass it on)."""

    def __init__(self, *args, formatter_class=HelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def build_parser():
    """Returns the `tfdefend` argument parser with all its sub-commands."""
    parser = Parser(prog="tfdefend", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)
    _add_train_uddn(sub)
    _add_train_rl_chain(sub)
    _add_evaluate_and_demo(sub)
    add_leaderboard_parser(sub)
    add_command(sub, "models", "list the registered models (names for `--model`)")
    add_command(sub, "datasets", "list the bundled data sets (names for `--dataset`)")
    _add_zoo(sub)
    add_app_parser(sub)
    return parser


def _add_train(sub):
    train = add_command(sub, "train", "train a registered classifier or preprocessing defense with Model.fit",
                        "Train a registered classifier or preprocessing defense with Model.fit, then write "
                        "the .keras file and a JSON of its metrics next to it.")
    train.add_argument("--model", default="small_cnn", help="registry name (see `tfdefend models`)")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="a constructor argument of the model, VALUE as JSON (e.g. code_channels=4); "
                       "repeat for several")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--dataset", default=None, metavar="NAME",
                        help="bundled data set (see `tfdefend datasets`) (default: fashion_mnist)")
    source.add_argument("--data", default=None, metavar="DIR",
                        help="instead of --dataset: an image folder, one sub-folder of images per class "
                        "(RGB, resized to --image-size); 20%% of each class is held out as the test split")
    train.add_argument("--image-size", type=int, nargs=2, default=None, metavar=("H", "W"),
                       help="with --data: the model's input size (default: 64 64)")
    train.add_argument("--epochs", type=int, default=10, help="training epochs")
    train.add_argument("--batch-size", type=int, default=128, help="training batch size (the global batch "
                       "with --strategy)")
    train.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (cosine-decayed)")
    train.add_argument("--seed", type=int, default=0, help="random seed of the weights, the shuffling and "
                       "the augmentation")
    train.add_argument("--limit", type=int, default=None, metavar="N",
                       help="use only the first N training images (default: all)")
    train.add_argument("--output", required=True, help="the .keras file to write (atomically)")
    train.add_argument("--metrics", default=None, help="metrics JSON (default: OUTPUT with .json)")
    train.add_argument("--no-optimizer", action="store_true",
                       help="save without the optimizer state (3x smaller; used for the zoo)")
    train.add_argument("--augment", default="none", choices=AUGMENTATIONS,
                       help="train on augmented images (classifiers; advmask: regions grown from "
                       "sensitive points)")
    train.add_argument("--advmask-model", default=None, metavar="ZOO_OR_FILE",
                       help="with --augment advmask: the trained classifier whose sensitive points are used "
                       "(default: the data set's zoo classifier; required with --data)")
    train.add_argument("--advmask-cache", default=None, metavar="DIR",
                       help="sensitive-point cache (default: OUTPUT with .sensitive_points); reused while "
                       "the model, data and settings are unchanged")
    train.add_argument("--advmask-eps", type=float, default=None,
                       help="dense attack budget (default: the data set's eps, 8/255 for --data)")
    train.add_argument("--advmask-steps", type=int, default=50, help="mask optimization steps of the sparse "
                       "attack")
    train.add_argument("--advmask-limit", type=int, default=None, metavar="N",
                       help="sensitive points of the first N training images only, the rest get GridMask "
                       "(default: all)")
    train.add_argument(ALLOW_FLAG, action="store_true", help=f"with --advmask-model: {ALLOW_HELP}")
    add_defense_arguments(train)
    add_backup_options(train)
    add_strategy_option(train)


def _add_target_classifier(parser):
    """--dataset (the classifier's own by default), --allow-other-dataset and --classifier of a defense trainer."""
    parser.add_argument("--dataset", default=None, metavar="NAME", help=MODEL_DATASET_HELP)
    parser.add_argument(ALLOW_FLAG, action="store_true", help=ALLOW_HELP)
    parser.add_argument("--classifier", required=True, help="zoo name or .keras file of the target classifier")


def _add_train_uddn(sub):
    uddn = add_command(sub, "train-uddn", "train the UDDN defense: GNR (W-GAN-GP) noise augmentation, "
                       "logit-guided U-Net denoiser, knowledge-transfer student")
    _add_target_classifier(uddn)
    uddn.add_argument("--output", required=True, help="the denoiser's .keras file")
    uddn.add_argument("--generator-output", default=None, help="also save the GNR generator here (.keras)")
    uddn.add_argument("--student-output", default=None,
                      help="also run knowledge transfer and save the student classifier here (.keras)")
    uddn.add_argument("--real-count", type=int, default=8000, help="training images attacked (FGSM, I-FGSM) "
                      "for real adversarial pairs")
    uddn.add_argument("--gnr-count", type=int, default=16000, help="training images augmented with GNR noise")
    uddn.add_argument("--no-gnr", action="store_true", help="train on the real adversarial pairs only")
    uddn.add_argument("--guidance", choices=("logits", "pixels"), default="logits",
                      help="the denoiser's loss: L1 between the classifier's logits on the denoised and the "
                      "clean image (logits), or pixel L1 (pixels)")
    uddn.add_argument("--eps", type=float, default=None,
                      help="largest L-inf budget (default: the data set's)")
    uddn.add_argument("--gan-epochs", type=int, default=5, help="epochs of the GNR W-GAN-GP")
    uddn.add_argument("--uddn-epochs", type=int, default=4, help="epochs of the U-Net denoiser")
    uddn.add_argument("--distill-epochs", type=int, default=1, help="epochs of knowledge transfer (with "
                      "--student-output)")
    uddn.add_argument("--batch-size", type=int, default=64, help="batch size of every stage")
    uddn.add_argument("--seed", type=int, default=0, help="random seed")
    add_backup_options(uddn)
    add_strategy_option(uddn)


def _add_train_rl_chain(sub):
    chain = add_command(sub, "train-rl-chain", "train the RL denoiser chain: a toolbox of light denoisers "
                        "(one per FGSM strength) and a DQN agent that chains them per image")
    _add_target_classifier(chain)
    chain.add_argument("--output", default=None, help="the chain's .keras file (toolbox and agent inside); "
                       "required unless --toolbox-only")
    chain.add_argument("--toolbox-output", default=None, help="also save the toolbox here (.keras)")
    chain.add_argument("--toolbox", default=None, metavar="NAME_OR_FILE",
                       help="use this trained toolbox (zoo name or .keras file) instead of training one")
    chain.add_argument("--toolbox-only", action="store_true",
                       help="train and save only the toolbox (to --toolbox-output), no agent")
    chain.add_argument("--agent-output", default=None, help="also save the agent here (.keras)")
    chain.add_argument("--train-images", type=int, default=10000,
                       help="training images for the tools and the agent")
    chain.add_argument("--strengths", type=int, nargs="+", default=[1, 2, 4, 8, 16],
                       help="FGSM strengths (/255) of the tools")
    chain.add_argument("--depths", type=int, nargs="+", default=[3, 8], help="tool depths (one tool per "
                       "strength and depth)")
    chain.add_argument("--filters", type=int, default=32, help="width of every tool")
    chain.add_argument("--toolbox-epochs", type=int, default=2, help="training epochs of each tool")
    chain.add_argument("--guidance", choices=("pixels", "logits"), default="pixels",
                       help="the tools' loss: pixel MSE to the clean image (pixels) or the classifier's "
                       "logit-guided loss (logits)")
    chain.add_argument("--tool-clean-fraction", type=float, default=0.0, metavar="F",
                       help="fraction of each tool's training pairs that are clean identity pairs (x, x)")
    chain.add_argument("--iterations", type=int, default=300, help="DQN collect-and-update iterations")
    chain.add_argument("--images-per-iteration", type=int, default=60, help="images rolled out per iteration")
    chain.add_argument("--updates-per-iteration", type=int, default=4, help="DQN updates per iteration")
    chain.add_argument("--lr", type=float, default=1e-4, help="the agent's Adam learning rate")
    chain.add_argument("--max-steps", type=int, default=3, help="most tools applied to one image")
    chain.add_argument("--reward", choices=("probability", "cross_entropy", "psnr"), default="probability",
                       help="the agent's reward per step: gain in the true class's probability, drop in "
                       "cross-entropy, or gain in PSNR to the clean image")
    chain.add_argument("--step-cost", type=float, default=0.0, help="subtracted from the reward of each tool "
                       "applied (so needless tools are punished)")
    chain.add_argument("--double-dqn", action="store_true", help="double DQN targets (the online network "
                       "picks the next action, the target network values it)")
    chain.add_argument("--stop-bias", type=float, default=0.0, help="initial bias of the agent's 'stop' "
                       "Q-value (> 0: stopping wins until a tool proves better)")
    chain.add_argument("--seed", type=int, default=0, help="random seed")
    add_backup_options(chain)
    add_strategy_option(chain)


def _add_evaluate_and_demo(sub):
    evaluate = add_command(sub, "evaluate", "attack a classifier (FGSM, PGD) and print the robustness table",
                           "Attack a trained classifier with FGSM and PGD on the first --limit test images "
                           "and print the robustness table.")
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--model-file", metavar="FILE", help="a .keras classifier")
    source.add_argument("--pretrained", metavar="NAME", help="a zoo classifier (see `tfdefend zoo list`)")
    evaluate.add_argument("--dataset", default=None, metavar="NAME",
                          help=MODEL_DATASET_HELP.replace("classifier's own", "model's own"))
    evaluate.add_argument(ALLOW_FLAG, action="store_true", help=ALLOW_HELP)
    demo = add_command(sub, "demo", "the main job: train the default classifier, attack it, print the table",
                       "Train a classifier for a few epochs, attack it with FGSM and PGD on the first "
                       "--limit test images and print the robustness table.")
    demo.add_argument("--dataset", default="fashion_mnist", metavar="NAME",
                      help="bundled data set (see `tfdefend datasets`)")
    demo.add_argument("--model", default="small_cnn", help="registry name of the classifier "
                      "(see `tfdefend models`)")
    demo.add_argument("--epochs", type=int, default=3, help="training epochs")
    demo.add_argument("--output", default="runs/demo.keras", help="where the trained model goes")
    for cmd in (evaluate, demo):
        cmd.add_argument("--eps", type=float, nargs="+", default=None,
                         help="L-inf budgets (default: 0.5x, 1x and 2x the data set's usual eps, those <= 1)")
        cmd.add_argument("--pgd-steps", type=int, default=10, help="PGD iterations")
        cmd.add_argument("--limit", type=int, default=1000, metavar="N",
                         help="number of test images to attack (the first N)")
        cmd.add_argument("--json", default=None, metavar="FILE",
                         help="also write the table rows to this JSON file")


def _add_zoo(sub):
    zoo = add_command(sub, "zoo", "the pretrained zoo: list, show, card, export")
    zoo_sub = zoo.add_subparsers(dest="zoo_command", required=True, metavar="ZOO_COMMAND")
    add_command(zoo_sub, "list", "list the pretrained models, with their defense and test result")
    for name, help_text in (("show", "show one entry of the manifest (JSON)"),
                            ("card", "print the Markdown model card of a zoo entry")):
        command = add_command(zoo_sub, name, help_text)
        command.add_argument("name", help="a zoo entry (see `tfdefend zoo list`)")
    export = add_command(zoo_sub, "export", "export a zoo model as a SavedModel (TF Serving) or .tflite "
                         "(LiteRT)")
    export.add_argument("name", help="a zoo entry (see `tfdefend zoo list`)")
    export.add_argument("--format", required=True, choices=("saved_model", "tflite"), help="what to write")
    export.add_argument("--quantize", choices=("fp16", "dynamic", "int8"), default=None,
                        help="TFLite quantization (int8: uint8 in/out, calibrated on 200 training images) "
                        "(default: none, float32)")
    export.add_argument("--output", required=True, help="the SavedModel directory or .tflite file to write")
    export.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
