"""The `tfdefend` command: argument parsing only; the work is in `jobs.py` and below."""

import argparse
import json
import sys

from tfdefend.cli.app_job import add_app_parser
from tfdefend.cli.backup_options import add_backup_options, backup_kwargs
from tfdefend.cli.strategy_option import add_strategy_option

EPILOG = "Run `tfdefend COMMAND -h` for the options of a command."


def _parser():
    parser = argparse.ArgumentParser(prog="tfdefend", description=__doc__, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a registered classifier or preprocessing defense with Model.fit")
    train.add_argument("--model", default="small_cnn", help="registry name (see `tfdefend models`)")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="constructor argument of the model, VALUE as JSON (e.g. code_channels=4)")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--dataset", default=None, help="see `tfdefend datasets` (default: fashion_mnist)")
    source.add_argument("--data", default=None, metavar="DIR",
                        help="an image folder, one sub-folder of images per class (RGB, resized)")
    train.add_argument("--image-size", type=int, nargs=2, default=None, metavar=("H", "W"),
                       help="with --data: the model's input size (default 64 64)")
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--batch-size", type=int, default=128)
    train.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (cosine-decayed)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    train.add_argument("--output", required=True, help="the .keras file to write (atomically)")
    train.add_argument("--metrics", default=None, help="metrics JSON (default: OUTPUT with .json)")
    train.add_argument("--no-optimizer", action="store_true",
                       help="save without the optimizer state (3x smaller; used for the zoo)")
    train.add_argument("--augment", default="none",
                       choices=("none", "cutout", "random_erasing", "hide_and_seek", "gridmask", "advmask"),
                       help="train on augmented images (classifiers; advmask: regions grown from sensitive points)")
    train.add_argument("--advmask-model", default=None, metavar="ZOO_OR_FILE",
                       help="with --augment advmask: the trained classifier whose sensitive points are used "
                       "(default: the data set's zoo classifier; required with --data)")
    train.add_argument("--advmask-cache", default=None, metavar="DIR",
                       help="sensitive-point cache (default: OUTPUT with .sensitive_points); reused while the "
                       "model, data and settings are unchanged")
    train.add_argument("--advmask-eps", type=float, default=None, help="dense attack budget (default: the data "
                       "set's eps, 8/255 for --data)")
    train.add_argument("--advmask-steps", type=int, default=50, help="mask optimization steps")
    train.add_argument("--advmask-limit", type=int, default=None, metavar="N",
                       help="sensitive points of the first N training images only (the rest get GridMask)")
    add_backup_options(train)
    add_strategy_option(train)

    uddn = sub.add_parser("train-uddn", help="train the UDDN defense: GNR (W-GAN-GP) noise augmentation, "
                          "logit-guided U-Net denoiser, knowledge-transfer student")
    uddn.add_argument("--dataset", default="fashion_mnist")
    uddn.add_argument("--classifier", required=True, help="zoo name or .keras file of the target classifier")
    uddn.add_argument("--output", required=True, help="the denoiser's .keras file")
    uddn.add_argument("--generator-output", default=None, help="also save the GNR generator here (.keras)")
    uddn.add_argument("--student-output", default=None,
                      help="also run knowledge transfer and save the student classifier here (.keras)")
    uddn.add_argument("--real-count", type=int, default=8000, help="training images attacked for real pairs")
    uddn.add_argument("--gnr-count", type=int, default=16000, help="training images augmented with GNR noise")
    uddn.add_argument("--no-gnr", action="store_true", help="train on the real adversarial pairs only")
    uddn.add_argument("--guidance", choices=("logits", "pixels"), default="logits")
    uddn.add_argument("--eps", type=float, default=None, help="largest L-inf budget (default: the data set's)")
    uddn.add_argument("--gan-epochs", type=int, default=5)
    uddn.add_argument("--uddn-epochs", type=int, default=4)
    uddn.add_argument("--distill-epochs", type=int, default=1)
    uddn.add_argument("--batch-size", type=int, default=64)
    uddn.add_argument("--seed", type=int, default=0)
    add_backup_options(uddn)
    add_strategy_option(uddn)

    chain = sub.add_parser("train-rl-chain", help="train the RL denoiser chain: a toolbox of light denoisers "
                           "(one per FGSM strength) and a DQN agent that chains them per image")
    chain.add_argument("--dataset", default="fashion_mnist")
    chain.add_argument("--classifier", required=True, help="zoo name or .keras file of the target classifier")
    chain.add_argument("--output", required=True, help="the chain's .keras file (toolbox and agent inside)")
    chain.add_argument("--toolbox-output", default=None, help="also save the toolbox here (.keras)")
    chain.add_argument("--agent-output", default=None, help="also save the agent here (.keras)")
    chain.add_argument("--train-images", type=int, default=10000)
    chain.add_argument("--strengths", type=int, nargs="+", default=[1, 2, 4, 8, 16],
                       help="FGSM strengths (/255) of the tools")
    chain.add_argument("--depths", type=int, nargs="+", default=[3, 8], help="tool depths (one tool per strength "
                       "and depth)")
    chain.add_argument("--filters", type=int, default=32, help="width of every tool")
    chain.add_argument("--toolbox-epochs", type=int, default=2)
    chain.add_argument("--guidance", choices=("pixels", "logits"), default="pixels")
    chain.add_argument("--iterations", type=int, default=300, help="DQN collect-and-update iterations")
    chain.add_argument("--images-per-iteration", type=int, default=60)
    chain.add_argument("--updates-per-iteration", type=int, default=4)
    chain.add_argument("--max-steps", type=int, default=3)
    chain.add_argument("--reward", choices=("probability", "cross_entropy", "psnr"), default="probability")
    chain.add_argument("--seed", type=int, default=0)
    add_backup_options(chain)
    add_strategy_option(chain)

    for name, help_text in (("evaluate", "attack a classifier (FGSM, PGD) and print the robustness table"),
                            ("demo", "the main job: train the default classifier, attack it, print the table")):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--dataset", default="fashion_mnist")
        cmd.add_argument("--eps", type=float, nargs="+", default=None,
                         help="L-inf budgets (default: 0.5x, 1x and 2x the dataset's usual eps)")
        cmd.add_argument("--pgd-steps", type=int, default=10)
        cmd.add_argument("--limit", type=int, default=1000, help="number of test images to attack")
        cmd.add_argument("--json", default=None, help="also write the table rows to this JSON file")
        if name == "evaluate":
            source = cmd.add_mutually_exclusive_group(required=True)
            source.add_argument("--model-file", help="a .keras classifier")
            source.add_argument("--pretrained", help="a zoo name (see `tfdefend zoo list`)")
        else:
            cmd.add_argument("--model", default="small_cnn")
            cmd.add_argument("--epochs", type=int, default=3)
            cmd.add_argument("--output", default="runs/demo.keras", help="where the trained model goes")

    sub.add_parser("models", help="list the registered models")
    sub.add_parser("datasets", help="list the bundled data sets")
    zoo = sub.add_parser("zoo", help="the pretrained zoo")
    zoo_sub = zoo.add_subparsers(dest="zoo_command", required=True)
    zoo_sub.add_parser("list", help="list the pretrained models")
    show = zoo_sub.add_parser("show", help="show one entry of the manifest")
    show.add_argument("name")
    export = zoo_sub.add_parser("export", help="export a zoo model as a SavedModel (TF Serving) or "
                                ".tflite (LiteRT)")
    export.add_argument("name")
    export.add_argument("--format", required=True, choices=("saved_model", "tflite"))
    export.add_argument("--quantize", choices=("fp16", "dynamic", "int8"), default=None,
                        help="TFLite quantization (int8: uint8 in/out, calibrated on 200 training images)")
    export.add_argument("--output", required=True, help="the SavedModel directory or .tflite file to write")
    export.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    card = zoo_sub.add_parser("card", help="print the Markdown model card of a zoo entry")
    card.add_argument("name")
    add_app_parser(sub)
    return parser


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


def _default_eps(dataset, eps):
    from tfdefend.data import dataset_info

    if eps:
        return eps
    base = dataset_info(dataset).attack_eps
    return [round(base * k, 4) for k in (0.5, 1.0, 2.0) if base * k <= 1.0]


def _print_table(rows, title):
    from tfdefend.evaluation import format_table

    print(f"\n{title}\n")
    print(format_table(rows))


def main(argv=None):
    """Entry point of the `tfdefend` console command."""
    args = _parser().parse_args(argv)
    from tfdefend.cli import jobs

    try:
        if args.command == "train":
            metrics = jobs.train_job(model=args.model, dataset=args.dataset, epochs=args.epochs,
                                     batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed,
                                     output=args.output, metrics_output=args.metrics, limit=args.limit,
                                     command=jobs.command_line(argv), include_optimizer=not args.no_optimizer,
                                     overrides=_parse_overrides(args.overrides), data_dir=args.data,
                                     image_size=args.image_size, augment=args.augment,
                                     advmask_model=args.advmask_model, advmask_cache=args.advmask_cache,
                                     advmask_eps=args.advmask_eps, advmask_steps=args.advmask_steps,
                                     advmask_limit=args.advmask_limit, **backup_kwargs(args),
                                     strategy=args.strategy)
            if "clean_accuracy" in metrics:
                print(f"saved {args.output}: clean test accuracy {100 * metrics['clean_accuracy']:.2f}%")
            else:
                print(f"saved {args.output}: test reconstruction MSE {metrics['test_mse']:.5f} "
                      f"({metrics['test_psnr_db']:.2f} dB)")
        elif args.command == "train-uddn":
            metrics = jobs.uddn_job(dataset=args.dataset, classifier=args.classifier, uddn_output=args.output,
                                    generator_output=args.generator_output, student_output=args.student_output,
                                    real_count=args.real_count, gnr_count=args.gnr_count, use_gnr=not args.no_gnr,
                                    guidance=args.guidance, eps=args.eps, gan_epochs=args.gan_epochs,
                                    uddn_epochs=args.uddn_epochs, distill_epochs=args.distill_epochs,
                                    batch_size=args.batch_size, seed=args.seed, command=jobs.command_line(argv),
                                    **backup_kwargs(args), strategy=args.strategy)
            print(f"saved {args.output}: L1 to clean {metrics['test_l1_clean']:.4f} (clean), "
                  f"{metrics['test_l1_fgsm']:.4f} (FGSM eps {metrics['eps']}); accuracy through the denoiser "
                  f"{100 * metrics['defended_accuracy_clean']:.2f}% clean, "
                  f"{100 * metrics['defended_accuracy_fgsm']:.2f}% FGSM "
                  f"(undefended {100 * metrics['undefended_accuracy_fgsm']:.2f}%)")
        elif args.command == "train-rl-chain":
            from tfdefend.cli.rl_chain_job import rl_chain_job

            metrics = rl_chain_job(dataset=args.dataset, classifier=args.classifier, output=args.output,
                                   toolbox_output=args.toolbox_output, agent_output=args.agent_output,
                                   train_images=args.train_images, strengths=args.strengths,
                                   depths=args.depths, filters=args.filters,
                                   toolbox_epochs=args.toolbox_epochs, guidance=args.guidance,
                                   iterations=args.iterations, images_per_iteration=args.images_per_iteration,
                                   updates_per_iteration=args.updates_per_iteration, max_steps=args.max_steps,
                                   reward=args.reward, seed=args.seed, command=jobs.command_line(argv),
                                   **backup_kwargs(args), strategy=args.strategy)
            per_attack = metrics["per_attack"]
            print(f"saved {args.output}: accuracy through the chain " + ", ".join(
                f"{key} {100 * row['defended_accuracy']:.2f}% (undefended {100 * row['undefended_accuracy']:.2f}%, "
                f"{row['mean_tools']:.2f} tools)" for key, row in per_attack.items()))
        elif args.command in ("evaluate", "demo"):
            eps = _default_eps(args.dataset, args.eps)
            model_file = getattr(args, "model_file", None)
            if args.command == "demo":
                metrics = jobs.train_job(model=args.model, dataset=args.dataset, epochs=args.epochs,
                                         batch_size=128, learning_rate=1e-3, seed=0, output=args.output,
                                         command=jobs.command_line(argv))
                print(f"trained {args.model} on {args.dataset}: clean test accuracy "
                      f"{100 * metrics['clean_accuracy']:.2f}% -> {args.output}")
                model_file = args.output
            rows = jobs.evaluate_job(model_file=model_file, pretrained=getattr(args, "pretrained", None),
                                     dataset=args.dataset, eps_values=eps, pgd_steps=args.pgd_steps,
                                     limit=args.limit, output=args.json)
            _print_table(rows, f"Robustness on {args.dataset} ({rows[0]['n']} test images, L-inf attacks)")
        elif args.command == "app":
            from tfdefend.cli.app_job import run_app

            print(run_app(args))
        elif args.command == "models":
            from tfdefend.models import list_models, model_info

            for name in list_models():
                print(f"{name:20s} {model_info(name)['description']}")
        elif args.command == "datasets":
            from tfdefend.data import dataset_info, list_datasets

            for name in list_datasets():
                print(f"{name:15s} {dataset_info(name).description}")
        elif args.command == "zoo":
            from tfdefend.models import list_pretrained, pretrained_info

            if args.zoo_command == "list":
                for name in list_pretrained():
                    entry = pretrained_info(name)
                    quality = (f"clean acc {100 * entry['clean_accuracy']:.2f}%" if "clean_accuracy" in entry
                               else f"test PSNR {entry['test_psnr_db']:.2f} dB" if "test_psnr_db" in entry
                               else f"{entry.get('params', 0):,} params")
                    defense = entry.get("defense", "-")
                    print(f"{name:40s} {entry.get('kind', 'classifier'):13s} {defense:19s} {entry['dataset']:14s} "
                          f"{quality}")
            elif args.zoo_command == "export":
                from tfdefend.cli import export_job

                info = export_job.zoo_export_job(name=args.name, export_format=args.format,
                                                 output=args.output, quantize=args.quantize,
                                                 overwrite=args.overwrite)
                print(f"exported {args.name} to {info['path']} ({args.format}"
                      f"{', ' + args.quantize if args.quantize else ''}, {info['size_bytes']:,} bytes)")
                if info.get("input_quantization"):
                    q = info["input_quantization"]
                    print(f"uint8 input: scale {q['scale']:.8g}, zero point {q['zero_point']} "
                          "(x_uint8 = round(x / scale) + zero_point)")
            elif args.zoo_command == "card":
                from tfdefend.cli import export_job

                print(export_job.zoo_card_job(args.name))
            else:
                print(json.dumps(pretrained_info(args.name), indent=2))
    except (ValueError, TypeError, OSError) as exc:  # OSError: FileNotFoundError, FileExistsError, ...
        print(f"tfdefend: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
