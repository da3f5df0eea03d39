"""The `--backup-dir`, `--backup-every-steps` and `--no-backup` options of the training commands."""

import os

BACKUP_HELP = ("Crash safety: training is backed up to --backup-dir (default: OUTPUT.backup next to "
               "--output) after every epoch / phase / iteration; rerunning the same command after a kill "
               "resumes from the last backup. The folder is deleted once the outputs are saved.")


def add_backup_options(parser):
    """Adds the backup options to a training command's `parser`; `backup_kwargs(args)` reads them."""
    group = parser.add_argument_group("crash safety", BACKUP_HELP)
    where = group.add_mutually_exclusive_group()
    where.add_argument("--backup-dir", default=None, metavar="DIR",
                       help="the backup folder (default: OUTPUT.backup); a rerun with the same settings "
                       "resumes from it, other settings are refused")
    where.add_argument("--no-backup", action="store_true", help="do not back up: a killed run starts over")
    group.add_argument("--backup-every-steps", type=int, default=None, metavar="N",
                       help="also back up every N training steps within an epoch (default: at epoch ends)")
    return parser


def backup_kwargs(args):
    """The job keywords (`backup`, `backup_dir`, `backup_every_steps`) of parsed `args`."""
    return {"backup": not args.no_backup, "backup_dir": args.backup_dir,
            "backup_every_steps": args.backup_every_steps}


def classifier_identity(classifier):
    """What identifies a target classifier in a backup's fingerprint: zoo name, or file and hash."""
    from tfdefend.utils.hashing import sha256_file

    if os.path.isfile(str(classifier)):
        return {"classifier": os.path.abspath(classifier), "classifier_sha256": sha256_file(classifier)}
    return {"classifier": str(classifier)}
