"""The `tfdefend` command: runs what the parsed options (`parser.py`) ask for.

TensorFlow and Keras are imported only by the commands that need them
(inside the jobs), so `tfdefend --help`, `models`, `datasets`, `zoo list`
and `zoo show` answer at once.
"""

import json
import sys

from tfdefend.cli import dataset_choice
from tfdefend.cli.backup_options import backup_kwargs
from tfdefend.cli.defense_option import defense_kwargs
from tfdefend.cli.parser import build_parser


def _say(message):
    """Announces a phase on stdout, flushed so it precedes Keras' output in a log file."""
    print(message, flush=True)


def _parse_overrides(items):
    """Parses `--set KEY=VALUE` items (VALUE as JSON, else as a string) into a dict."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"`--set` takes KEY=VALUE, got {item!r}.")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def _model_dataset(args, source, option):
    """The data set of a command that runs a trained classifier `source` (see `dataset_choice`)."""
    dataset_choice.require_classifier(source, option)
    return dataset_choice.choose_dataset(args.dataset, source, allow_other=args.allow_other_dataset)


def _train(args, argv):
    from tfdefend.cli import jobs

    if args.augment == "advmask" and args.advmask_model is not None and args.data is None:
        dataset_choice.require_classifier(args.advmask_model, "--advmask-model")
        dataset_choice.choose_dataset(args.dataset or dataset_choice.DEFAULT_DATASET, args.advmask_model,
                                      allow_other=args.allow_other_dataset,
                                      remedy="Pick an --advmask-model trained on this data set")
    metrics = jobs.train_job(model=args.model, dataset=args.dataset, epochs=args.epochs,
                             batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed,
                             output=args.output, metrics_output=args.metrics, limit=args.limit,
                             command=jobs.command_line(argv), include_optimizer=not args.no_optimizer,
                             overrides=_parse_overrides(args.overrides), data_dir=args.data,
                             image_size=args.image_size, augment=args.augment,
                             advmask_model=args.advmask_model, advmask_cache=args.advmask_cache,
                             advmask_eps=args.advmask_eps, advmask_steps=args.advmask_steps,
                             advmask_limit=args.advmask_limit, **backup_kwargs(args),
                             strategy=args.strategy, verbose=jobs.keras_verbose(), log=_say,
                             **defense_kwargs(args))
    where = f"the full test set, {metrics['test_examples']:,} images"
    if "clean_accuracy" in metrics:
        robust = (f", PGD-{metrics['pgd_steps']} (eps {metrics['pgd_eps']:g}) accuracy "
                  f"{100 * metrics['pgd_accuracy']:.2f}%" if "pgd_accuracy" in metrics else "")
        return f"saved {args.output}: clean accuracy {100 * metrics['clean_accuracy']:.2f}%{robust} on {where}"
    return (f"saved {args.output}: reconstruction MSE {metrics['test_mse']:.5f} "
            f"({metrics['test_psnr_db']:.2f} dB) on {where}")


def _train_uddn(args, argv):
    from tfdefend.cli import jobs

    dataset = _model_dataset(args, args.classifier, "--classifier")
    metrics = jobs.uddn_job(dataset=dataset, classifier=args.classifier, uddn_output=args.output,
                            generator_output=args.generator_output, student_output=args.student_output,
                            real_count=args.real_count, gnr_count=args.gnr_count, use_gnr=not args.no_gnr,
                            guidance=args.guidance, eps=args.eps, gan_epochs=args.gan_epochs,
                            uddn_epochs=args.uddn_epochs, distill_epochs=args.distill_epochs,
                            batch_size=args.batch_size, seed=args.seed, command=jobs.command_line(argv),
                            verbose=jobs.keras_verbose(), **backup_kwargs(args), strategy=args.strategy)
    return (f"saved {args.output}: L1 to clean {metrics['test_l1_clean']:.4f} (clean), "
            f"{metrics['test_l1_fgsm']:.4f} (FGSM eps {metrics['eps']}); accuracy through the denoiser "
            f"{100 * metrics['defended_accuracy_clean']:.2f}% clean, "
            f"{100 * metrics['defended_accuracy_fgsm']:.2f}% FGSM "
            f"(undefended {100 * metrics['undefended_accuracy_fgsm']:.2f}%) on {metrics['test_examples']:,} "
            f"{dataset} test images")


def _train_rl_chain(args, argv):
    from tfdefend.cli import jobs, rl_chain_job

    dataset = _model_dataset(args, args.classifier, "--classifier")
    metrics = rl_chain_job.rl_chain_job(
        dataset=dataset, classifier=args.classifier, output=args.output, toolbox_output=args.toolbox_output,
        agent_output=args.agent_output, train_images=args.train_images, strengths=args.strengths,
        depths=args.depths, filters=args.filters, toolbox_epochs=args.toolbox_epochs, guidance=args.guidance,
        tool_clean_fraction=args.tool_clean_fraction, toolbox=args.toolbox, toolbox_only=args.toolbox_only,
        iterations=args.iterations, images_per_iteration=args.images_per_iteration,
        updates_per_iteration=args.updates_per_iteration, max_steps=args.max_steps, reward=args.reward,
        step_cost=args.step_cost, double_dqn=args.double_dqn, stop_bias=args.stop_bias, learning_rate=args.lr,
        seed=args.seed, command=jobs.command_line(argv), **backup_kwargs(args), strategy=args.strategy)
    if args.toolbox_only:
        return f"saved the toolbox {args.toolbox_output} ({len(metrics['tool_names'])} tools)"
    per_attack = metrics["per_attack"]
    return f"saved {args.output}: accuracy through the chain " + ", ".join(
        f"{key} {100 * row['defended_accuracy']:.2f}% (undefended {100 * row['undefended_accuracy']:.2f}%, "
        f"{row['mean_tools']:.2f} tools)" for key, row in per_attack.items())


def _evaluate(args):
    from tfdefend.cli.evaluate_job import default_eps, evaluate_job, table_text

    source = args.model_file if args.model_file is not None else args.pretrained
    if args.pretrained is not None:
        from tfdefend.models.zoo import pretrained_info

        pretrained_info(args.pretrained)  # an unknown name fails at once, before TensorFlow starts
    dataset = _model_dataset(args, source, "--model-file" if args.model_file is not None else "--pretrained")
    rows = evaluate_job(model_file=args.model_file, pretrained=args.pretrained, dataset=dataset,
                        eps_values=default_eps(dataset, args.eps), pgd_steps=args.pgd_steps, limit=args.limit,
                        output=args.json, log=_say)
    return table_text(rows, dataset)


def _demo(args, argv):
    from tfdefend.cli import jobs
    from tfdefend.cli.evaluate_job import default_eps, demo_job

    return demo_job(model=args.model, dataset=args.dataset, epochs=args.epochs, output=args.output,
                    eps_values=default_eps(args.dataset, args.eps), pgd_steps=args.pgd_steps,
                    limit=args.limit, table_output=args.json, command=jobs.command_line(argv),
                    verbose=jobs.keras_verbose(), log=_say)


def _zoo(args):
    from tfdefend.cli import listing

    if args.zoo_command == "list":
        return listing.zoo_list_text()
    if args.zoo_command == "show":
        return listing.zoo_show_text(args.name)
    from tfdefend.cli import export_job

    if args.zoo_command == "card":
        return export_job.zoo_card_job(args.name)
    info = export_job.zoo_export_job(name=args.name, export_format=args.format, output=args.output,
                                     quantize=args.quantize, overwrite=args.overwrite)
    lines = [f"exported {args.name} to {info['path']} ({args.format}"
             f"{', ' + args.quantize if args.quantize else ''}, {info['size_bytes']:,} bytes)"]
    if info.get("input_quantization"):
        q = info["input_quantization"]
        lines.append(f"uint8 input: scale {q['scale']:.8g}, zero point {q['zero_point']} "
                     "(x_uint8 = round(x / scale) + zero_point)")
    return "\n".join(lines)


def _run(args, argv):
    """Runs the parsed command; returns the text to print."""
    from tfdefend.cli import listing

    if args.command == "train":
        return _train(args, argv)
    if args.command == "train-uddn":
        return _train_uddn(args, argv)
    if args.command == "train-rl-chain":
        return _train_rl_chain(args, argv)
    if args.command == "evaluate":
        return _evaluate(args)
    if args.command == "demo":
        return _demo(args, argv)
    if args.command == "leaderboard":
        from tfdefend.cli.leaderboard_job import run_leaderboard

        return run_leaderboard(args, log=_say)
    if args.command == "app":
        from tfdefend.cli.app_job import run_app

        return run_app(args)
    if args.command == "models":
        return listing.models_text()
    if args.command == "datasets":
        return listing.datasets_text()
    return _zoo(args)


def main(argv=None):
    """Entry point of the `tfdefend` console command; returns the exit status (2: a clear error)."""
    args = build_parser().parse_args(argv)
    try:
        print(_run(args, argv))
    except (ValueError, TypeError, OSError) as exc:  # OSError: FileNotFoundError, FileExistsError, ...
        print(f"tfdefend: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
