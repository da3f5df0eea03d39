"""The jobs behind the `tfdefend` command, callable from Python too.

Each job wires the layers below (data, models, training, attacks,
evaluation, export); the command modules (`tfdefend.cli.commands`) only
parse arguments and call the jobs through this module.
"""

from tfdefend.cli.evaluate_job import demo_job, evaluate_job
from tfdefend.cli.job_helpers import command_line, keras_verbose
from tfdefend.cli.train_job import train_job
from tfdefend.cli.uddn_job import uddn_job

__all__ = ["command_line", "demo_job", "evaluate_job", "keras_verbose", "train_job", "uddn_job"]
