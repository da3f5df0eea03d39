"""`tfdefend train-rl-chain`: the RL denoiser chain (toolbox + DQN agent) against a classifier."""

import time

from tfdefend.cli.job_helpers import check_keras_outputs, save_outputs, versions


def rl_chain_job(*, dataset, classifier, output, toolbox_output=None, agent_output=None, train_images=10000,
                 strengths=(1, 2, 4, 8, 16), depths=(3, 8), filters=32, toolbox_epochs=2, guidance="pixels",
                 tool_clean_fraction=0.0, toolbox=None, toolbox_only=False, iterations=300,
                 images_per_iteration=60, updates_per_iteration=4, max_steps=3, reward="probability",
                 step_cost=0.0, double_dqn=False, stop_bias=0.0, learning_rate=1e-4, seed=0,
                 test_images=2000, verbose=0, command=None, backup=True, backup_dir=None,
                 backup_every_steps=None, strategy="default"):
    """Trains the toolbox, then the agent, and saves the chain (and the parts) with metrics JSONs.

    Args:
        dataset: Data set name (`tfdefend datasets`).
        classifier: Zoo name or `.keras` file of the target classifier.
        output: The chain's `.keras` file (toolbox and agent inside).
        toolbox_output: Optionally also save the trained `DenoiserToolbox` here.
        agent_output: Optionally also save the trained `DenoiserAgent` here.
        train_images: Training images used for the tools and the agent.
        strengths: FGSM strengths (1/255 units) of the tools; the agent is
            trained on FGSM images of these strengths, PGD and clean ones.
        depths: Depths of the tools (one tool per strength and depth).
        filters: Width of every tool.
        toolbox_epochs: Epochs per tool.
        guidance: "pixels" or "logits" (the tools' loss).
        tool_clean_fraction: Fraction of each tool's pairs that are clean
            identity pairs (`train_denoiser_toolbox(clean_fraction=...)`).
        toolbox: Zoo name or `.keras` file of a trained `DenoiserToolbox` to
            use instead of training one (the tool settings are then its own).
        toolbox_only: Train and save only the toolbox (`toolbox_output`
            required; `output`, `agent_output` and `toolbox` must be
            None): no agent, no chain.
        iterations, images_per_iteration, updates_per_iteration, max_steps,
        reward, step_cost, double_dqn, stop_bias, learning_rate: DQN
            settings (`train_rl_denoiser_chain`).
        seed: Seed of everything.
        test_images: Test images for the metrics.
        verbose: Training output.
        command: The command line recorded in the metrics.
        backup, backup_dir, backup_every_steps: Crash safety. Unless
            `backup` is False, the toolbox (each tool's epochs, then the
            trained tool) and the DQN loop (every iteration: agent, target
            network, optimizer, replay buffer, generators) are backed up to
            `backup_dir` (default: `output` + ".backup"); rerunning the same
            job after a kill resumes from there. The folder is deleted once
            every output is saved.
        strategy: "default", "mirrored" or "multiworker": the toolbox and
            the agent are built and trained inside that `tf.distribute`
            strategy's scope (the tools' `fit` is data-parallel; the DQN
            updates run on every replica with the whole sampled batch,
            averaged exactly, and the rollouts on one device); with
            "multiworker" only the chief writes the outputs and metrics.

    Returns:
        The chain's metrics dict.
    """
    from tfdefend import data, models
    from tfdefend.cli.backup_options import classifier_identity
    from tfdefend.cli.dataset_choice import check_input_shape
    from tfdefend.models import DenoiserAgent
    from tfdefend.training import TrainingBackup, train_rl_denoiser_chain
    from tfdefend.utils.distribute import get_strategy
    from tfdefend.utils.seeding import set_seed

    outputs = {"chain": output, "toolbox": toolbox_output, "agent": agent_output}
    _check_outputs(outputs, toolbox_only, toolbox)
    dist = get_strategy(strategy)  # first: MultiWorkerMirroredStrategy must precede other TF work
    tool_settings = ({"toolbox": str(toolbox)} if toolbox is not None else
                     {"strengths": list(strengths), "depths": list(depths), "filters": filters,
                      "toolbox_epochs": toolbox_epochs, "guidance": guidance,
                      "tool_clean_fraction": tool_clean_fraction})
    dqn_settings = {} if toolbox_only else {
        "iterations": iterations, "images_per_iteration": images_per_iteration,
        "updates_per_iteration": updates_per_iteration, "max_steps": max_steps, "reward": reward,
        "step_cost": step_cost, "double_dqn": double_dqn, "stop_bias": stop_bias,
        "learning_rate": learning_rate}
    run_backup = TrainingBackup.for_output(
        output or toolbox_output, enabled=backup, directory=backup_dir, every_steps=backup_every_steps,
        fingerprint={"job": "train-rl-chain", "dataset": dataset, **classifier_identity(classifier),
                     "train_images": train_images, **tool_settings, **dqn_settings, "seed": seed})
    set_seed(seed, deterministic=False)
    with dist.scope():  # the models are built (and trained) in the strategy's scope
        target = models.load_model_or_pretrained(classifier)
        check_input_shape(target, dataset, classifier)
        x_train, y_train = data.load(dataset, "train", as_numpy=True, limit=train_images)
        test = data.load(dataset, "test", as_numpy=True, limit=test_images)
        start = time.perf_counter()
        toolbox = _toolbox(toolbox, target, x_train, y_train, run_backup, strengths=strengths, depths=depths,
                           filters=filters, epochs=toolbox_epochs, guidance=guidance,
                           clean_fraction=tool_clean_fraction, seed=seed, verbose=verbose,
                           backup_every_steps=backup_every_steps)
        toolbox_seconds = time.perf_counter() - start
        networks, history = {"toolbox": toolbox}, None
        if not toolbox_only:
            agent = DenoiserAgent(input_shape=tuple(x_train.shape[1:]), num_actions=toolbox.num_tools + 1)
            chain, history = train_rl_denoiser_chain(target, toolbox, agent, x_train, y_train, **dqn_settings,
                                                     strengths=toolbox.strengths, seed=seed, verbose=verbose,
                                                     backup_dir=run_backup.subfolder("agent"))
            networks.update(chain=chain, agent=agent)
    common = {"dataset": dataset, "classifier": str(classifier), "seed": seed, "command": command,
              "test_examples": len(test[0]), "train_images": len(x_train),
              "settings": {**tool_settings, **dqn_settings, "strengths": list(toolbox.strengths),
                           "depths": list(toolbox.depths), "filters": int(toolbox.filters)},
              "toolbox_seconds": round(toolbox_seconds, 1),
              "train_seconds": round(time.perf_counter() - start, 1),
              "versions": versions()}
    metrics = _metrics(networks, history, target, test, common)
    save_outputs(outputs, networks, metrics, dist)
    run_backup.remove()  # only once every output is saved
    return metrics.get("chain", metrics["toolbox"])


def _check_outputs(outputs, toolbox_only, toolbox):
    """Refuses output paths that are not `.keras` files, and outputs that do not fit `toolbox_only`.

    Checked before any training, so that a run never ends in a save it cannot do (with `toolbox_only`
    there is no agent to write to `--agent-output`).
    """
    check_keras_outputs(outputs)
    if toolbox_only and (outputs["chain"] is not None or outputs["toolbox"] is None or toolbox is not None):
        raise ValueError("--toolbox-only trains and saves only the toolbox: give --toolbox-output, "
                         "and neither --output nor --toolbox.")
    if toolbox_only and outputs["agent"] is not None:
        raise ValueError("--toolbox-only trains no agent, so there is none to save to --agent-output: "
                         "drop --agent-output, or train the agent in a run without --toolbox-only.")
    if not toolbox_only and outputs["chain"] is None:
        raise ValueError("`output` (--output) is required unless --toolbox-only.")


def _toolbox(toolbox, target, x_train, y_train, run_backup, *, strengths, depths, filters, **training):
    """The trained `DenoiserToolbox`: loaded from `toolbox` (a zoo name or file), else built and trained.

    Args:
        toolbox: Zoo name or `.keras` file of a trained toolbox, or None.
        target: The classifier the tools are trained against.
        x_train, y_train: The training images and labels.
        run_backup: The job's `TrainingBackup` (a new toolbox is backed up in its "toolbox" subfolder).
        strengths, depths, filters: The tools of a new toolbox.
        **training: Keywords of `train_denoiser_toolbox` (epochs, guidance, ...).

    Raises:
        ValueError: A loaded model that is not a toolbox for these images.
    """
    from tfdefend import models
    from tfdefend.models import DenoiserToolbox
    from tfdefend.training import train_denoiser_toolbox

    shape = tuple(x_train.shape[1:])
    if toolbox is not None:
        toolbox = models.load_model_or_pretrained(toolbox)
        if not isinstance(toolbox, DenoiserToolbox) or toolbox.image_shape != shape:
            raise ValueError(f"`toolbox` must be a DenoiserToolbox for {shape} images, got "
                             f"{type(toolbox).__name__} {getattr(toolbox, 'image_shape', '')}.")
        return toolbox
    toolbox = DenoiserToolbox(input_shape=shape, strengths=strengths, depths=depths, filters=filters)
    train_denoiser_toolbox(toolbox, target, x_train, y_train, **training,
                           backup_dir=run_backup.subfolder("toolbox"))
    return toolbox


def _metrics(networks, history, target, test, common):
    """`{"toolbox"[, "chain", "agent"]}` metrics; the chain's on the clean and attacked `test` images."""
    from tfdefend.evaluation import chain_choices
    from tfdefend.training import reconstruction_error

    toolbox = networks["toolbox"]
    metrics = {"toolbox": {"model": "denoiser_toolbox", "kind": "toolbox",
                           "tool_names": list(toolbox.tool_names), "params": int(toolbox.count_params()),
                           **common}}
    if "chain" in networks:
        chain, (x_test, y_test) = networks["chain"], test
        stats = chain_choices(chain, target, x_test, y_test, toolbox.strengths)
        error = reconstruction_error(chain, x_test)
        metrics["chain"] = {
            "model": "rl_denoiser_chain", "kind": "preprocessor", "test_mse": error["mse"],
            "test_psnr_db": error["psnr_db"], "defended_accuracy_clean": stats["clean"]["defended_accuracy"],
            "per_attack": stats, "final_loss": _last(history.get("loss")),
            "params": int(chain.count_params()), **common}
        metrics["agent"] = {"model": "denoiser_agent", "kind": "agent",
                            "params": int(networks["agent"].count_params()), **common}
    return metrics


def _last(values):
    return None if not values else float(values[-1])
