"""`tfdefend train-rl-chain`: the RL denoiser chain (a toolbox of light denoisers and a DQN agent)."""

from tfdefend.cli.commands._shared import (add_job_options, add_target_classifier, classifier_dataset,
                                           job_kwargs)
from tfdefend.cli.help_format import add_command


def add_parser(subparsers):
    """Adds `train-rl-chain` and its options to the `tfdefend` subparsers."""
    chain = add_command(subparsers, "train-rl-chain", "train the RL denoiser chain: a toolbox of light denoisers "
                        "(one per FGSM strength) and a DQN agent that chains them per image")
    add_target_classifier(chain)
    chain.add_argument("--output", default=None, help="the chain's .keras file (toolbox and agent inside); "
                       "required unless --toolbox-only")
    chain.add_argument("--toolbox-output", default=None, help="also save the toolbox here (.keras)")
    chain.add_argument("--toolbox", default=None, metavar="NAME_OR_FILE",
                       help="use this trained toolbox (zoo name or .keras file) instead of training one")
    chain.add_argument("--toolbox-only", action="store_true",
                       help="train and save only the toolbox (to --toolbox-output), no agent")
    chain.add_argument("--agent-output", default=None, help="also save the agent here (.keras); not with "
                       "--toolbox-only")
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
    add_job_options(chain, run)


def run(args):
    """Runs a parsed `tfdefend train-rl-chain`; returns the line to print (accuracy per attack)."""
    from tfdefend.cli import rl_chain_job

    dataset = classifier_dataset(args)
    metrics = rl_chain_job.rl_chain_job(
        dataset=dataset, classifier=args.classifier, output=args.output, toolbox_output=args.toolbox_output,
        agent_output=args.agent_output, train_images=args.train_images, strengths=args.strengths,
        depths=args.depths, filters=args.filters, toolbox_epochs=args.toolbox_epochs, guidance=args.guidance,
        tool_clean_fraction=args.tool_clean_fraction, toolbox=args.toolbox, toolbox_only=args.toolbox_only,
        iterations=args.iterations, images_per_iteration=args.images_per_iteration,
        updates_per_iteration=args.updates_per_iteration, max_steps=args.max_steps, reward=args.reward,
        step_cost=args.step_cost, double_dqn=args.double_dqn, stop_bias=args.stop_bias, learning_rate=args.lr,
        **job_kwargs(args))
    if args.toolbox_only:
        return f"saved the toolbox {args.toolbox_output} ({len(metrics['tool_names'])} tools)"
    per_attack = metrics["per_attack"]
    return f"saved {args.output}: accuracy through the chain " + ", ".join(
        f"{key} {100 * row['defended_accuracy']:.2f}% (undefended {100 * row['undefended_accuracy']:.2f}%, "
        f"{row['mean_tools']:.2f} tools)" for key, row in per_attack.items())
