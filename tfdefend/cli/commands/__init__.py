"""One module per `tfdefend` command, each with `add_parser(subparsers)` and `run(args)`.

`add_parser` adds the command, its options and `set_defaults(func=run)`;
`tfdefend.cli.main` calls `args.func(args)` and prints the text it returns.
The modules only parse arguments: `run` imports the job it calls (in
`tfdefend.cli.jobs` and the `*_job` modules), so that importing them does
not start TensorFlow.
"""

from tfdefend.cli.commands import (
    app,
    datasets,
    demo,
    evaluate,
    leaderboard,
    models,
    train,
    train_rl_chain,
    train_uddn,
    zoo,
)

COMMANDS = (train, train_uddn, train_rl_chain, evaluate, demo, leaderboard, models, datasets, zoo, app)
"""The command modules, in the order `tfdefend --help` lists them."""
