"""`tfdefend train-uddn`: the UDDN defense (GNR noise, U-Net denoiser, student) against a classifier."""

from tfdefend.cli.commands._shared import (add_job_options, add_target_classifier, classifier_dataset,
                                           job_kwargs)
from tfdefend.cli.help_format import add_command


def add_parser(subparsers):
    """Adds `train-uddn` and its options to the `tfdefend` subparsers."""
    uddn = add_command(subparsers, "train-uddn", "train the UDDN defense: GNR (W-GAN-GP) noise augmentation, "
                       "logit-guided U-Net denoiser, knowledge-transfer student")
    add_target_classifier(uddn)
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
    add_job_options(uddn, run)


def run(args):
    """Runs a parsed `tfdefend train-uddn`; returns the line to print (the denoiser's quality)."""
    from tfdefend.cli import jobs

    dataset = classifier_dataset(args)
    metrics = jobs.uddn_job(dataset=dataset, classifier=args.classifier, uddn_output=args.output,
                            generator_output=args.generator_output, student_output=args.student_output,
                            real_count=args.real_count, gnr_count=args.gnr_count, use_gnr=not args.no_gnr,
                            guidance=args.guidance, eps=args.eps, gan_epochs=args.gan_epochs,
                            uddn_epochs=args.uddn_epochs, distill_epochs=args.distill_epochs,
                            batch_size=args.batch_size, verbose=jobs.keras_verbose(), **job_kwargs(args))
    return (f"saved {args.output}: L1 to clean {metrics['test_l1_clean']:.4f} (clean), "
            f"{metrics['test_l1_fgsm']:.4f} (FGSM eps {metrics['eps']}); accuracy through the denoiser "
            f"{100 * metrics['defended_accuracy_clean']:.2f}% clean, "
            f"{100 * metrics['defended_accuracy_fgsm']:.2f}% FGSM "
            f"(undefended {100 * metrics['undefended_accuracy_fgsm']:.2f}%) on {metrics['test_examples']:,} "
            f"{dataset} test images")
