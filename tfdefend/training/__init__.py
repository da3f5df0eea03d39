"""Layer 3: trainers and training recipes (a model never knows how it is trained).

Naming rule:

- A *trainer* is a class: a `keras.Model` wrapper around the model(s) it
  trains, compiled and trained with `.fit` (`AdversarialTraining`, `TRADES`,
  `MART`, `DeepDefense`, `Distiller`, `WGANGP`, `GuidedDenoiserTraining`,
  `DenoiserChainDQN`). `robust_trainer` returns one of these by name,
  untrained.
- A *recipe* is a function named `train_<what>`: it builds or compiles what
  it needs, trains (possibly in several stages) and returns the trained
  model(s) or their history (`train_classifier`, `train_preprocessor`,
  `train_robust_classifier`, `train_defensive_distillation`,
  `train_denoiser_toolbox`, `train_rl_denoiser_chain`, `train_uddn_defense`).

The earlier names `fit_classifier`, `fit_preprocessor`,
`fit_robust_classifier` and `defensive_distillation` remain for one release
as deprecated aliases that warn with `DeprecationWarning`.
"""

from tfdefend.training.adversarial_pairs import adversarial_pairs
from tfdefend.training.adversarial_training import AdversarialTraining
from tfdefend.training.backup_callback import backup_callback
from tfdefend.training.deep_defense import DeepDefense
from tfdefend.training.defensive_distillation import defensive_distillation, train_defensive_distillation
from tfdefend.training.denoiser_chain_dqn import DenoiserChainDQN
from tfdefend.training.distiller import Distiller
from tfdefend.training.fit_classifier import compile_classifier, fit_classifier, train_classifier
from tfdefend.training.fit_robust_classifier import (
    fit_robust_classifier,
    robust_trainer,
    train_robust_classifier,
)
from tfdefend.training.fit_preprocessor import fit_preprocessor, reconstruction_error, train_preprocessor
from tfdefend.training.guided_denoiser_training import GuidedDenoiserTraining
from tfdefend.training.loop_checkpoint import LoopCheckpoint
from tfdefend.training.mart import MART
from tfdefend.training.one_cycle_schedule import OneCycleSchedule
from tfdefend.training.parseval import ParsevalConstraint, apply_parseval
from tfdefend.training.replay_buffer import ReplayBuffer
from tfdefend.training.resumable import TrainingBackup
from tfdefend.training.robust_accuracy_guard import RobustAccuracyGuard
from tfdefend.training.rl_chain_training import train_rl_denoiser_chain
from tfdefend.training.toolbox_training import train_denoiser_toolbox
from tfdefend.training.trades import TRADES
from tfdefend.training.uddn_defense import train_uddn_defense
from tfdefend.training.wgan_gp import WGANGP, gradient_penalty

__all__ = [
    "MART",
    "TRADES",
    "WGANGP",
    "AdversarialTraining",
    "DeepDefense",
    "DenoiserChainDQN",
    "Distiller",
    "GuidedDenoiserTraining",
    "LoopCheckpoint",
    "OneCycleSchedule",
    "ParsevalConstraint",
    "ReplayBuffer",
    "RobustAccuracyGuard",
    "TrainingBackup",
    "adversarial_pairs",
    "apply_parseval",
    "backup_callback",
    "compile_classifier",
    "defensive_distillation",  # deprecated alias of train_defensive_distillation
    "fit_classifier",  # deprecated alias of train_classifier
    "fit_preprocessor",  # deprecated alias of train_preprocessor
    "fit_robust_classifier",  # deprecated alias of train_robust_classifier
    "gradient_penalty",
    "reconstruction_error",
    "robust_trainer",
    "train_classifier",
    "train_defensive_distillation",
    "train_denoiser_toolbox",
    "train_preprocessor",
    "train_rl_denoiser_chain",
    "train_robust_classifier",
    "train_uddn_defense",
]
