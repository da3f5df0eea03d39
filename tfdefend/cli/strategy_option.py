"""The `--strategy` option of the training commands (`tfdefend train`, `train-uddn`, `train-rl-chain`)."""

from tfdefend.utils.distribute import STRATEGIES

STRATEGY_HELP = ("tf.distribute strategy: 'default' (one device), 'mirrored' (all local GPUs, else all "
                 "logical CPU devices) or 'multiworker' (MultiWorkerMirroredStrategy from the TF_CONFIG "
                 "environment variable: run the same command on every worker; only the chief writes the "
                 "outputs). The batch size is the global batch.")


def add_strategy_option(parser):
    """Adds `--strategy {default,mirrored,multiworker}` to a training command's `parser`."""
    parser.add_argument("--strategy", choices=STRATEGIES, default="default", help=STRATEGY_HELP)
    return parser
