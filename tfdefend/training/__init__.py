"""Layer 3: trainers (wrapping models; a model never knows how it is trained)."""

from tfdefend.training.adversarial_pairs import adversarial_pairs
from tfdefend.training.adversarial_training import AdversarialTraining
from tfdefend.training.backup_callback import backup_callback
from tfdefend.training.deep_defense import DeepDefense
from tfdefend.training.defensive_distillation import defensive_distillation
from tfdefend.training.denoiser_chain_dqn import DenoiserChainDQN
from tfdefend.training.distiller import Distiller
from tfdefend.training.fit_classifier import compile_classifier, fit_classifier
from tfdefend.training.fit_robust_classifier import fit_robust_classifier, robust_trainer
from tfdefend.training.fit_preprocessor import fit_preprocessor, reconstruction_error
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
    "defensive_distillation",
    "fit_classifier",
    "fit_preprocessor",
    "fit_robust_classifier",
    "gradient_penalty",
    "reconstruction_error",
    "robust_trainer",
    "train_denoiser_toolbox",
    "train_rl_denoiser_chain",
    "train_uddn_defense",
]
