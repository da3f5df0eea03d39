"""The jobs behind `tfdefend evaluate` and `tfdefend demo`, callable from Python too."""

import json

from tfdefend.utils.atomic import atomic_write_text


def default_eps(dataset, eps=None):
    """`eps` if given, else 0.5x, 1x and 2x the data set's usual L-inf budget (those <= 1)."""
    from tfdefend.data import dataset_info

    if eps:
        return list(eps)
    base = dataset_info(dataset).attack_eps
    return [round(base * k, 4) for k in (0.5, 1.0, 2.0) if base * k <= 1.0]


def evaluate_job(*, model_file=None, pretrained=None, dataset, eps_values, pgd_steps=10,
                 limit=1000, batch_size=256, output=None, log=None):
    """Attacks a saved or pretrained classifier with FGSM/PGD and returns the table rows.

    The classifier runs on the first `limit` test images of `dataset` (its
    input shape must match the data set's images). `log` (e.g. `print`), if
    given, is called with a line saying what happens before each phase.

    Raises:
        ValueError: Not exactly one of `model_file` and `pretrained`; a model
            whose input shape does not fit `dataset`; a bad file or name.
    """
    from tfdefend import data, models
    from tfdefend.cli.dataset_choice import check_input_shape
    from tfdefend.evaluation import attack_suite, robustness_table

    say = log or _silent
    if (model_file is None) == (pretrained is None):
        raise ValueError("Give exactly one of `model_file` and `pretrained`.")
    source = model_file if model_file is not None else pretrained
    say(f"Loading the classifier {source} ...")
    if model_file is not None:
        classifier = models.load_model(model_file)
    else:
        classifier = models.load_pretrained(pretrained)
    check_input_shape(classifier, dataset, source)
    eps_values = list(eps_values or [data.dataset_info(dataset).attack_eps])
    attacks = attack_suite(eps_values, pgd_steps=pgd_steps)
    x_test, y_test = data.load(dataset, "test", as_numpy=True, limit=limit)
    families = ", ".join(dict.fromkeys(name.split(" ")[0] for name in attacks))
    say(f"Attacking the first {len(x_test):,} {dataset} test images with {families} at L-inf eps "
        f"{', '.join(f'{e:g}' for e in eps_values)} ...")
    rows = robustness_table(classifier, (x_test, y_test), attacks, batch_size=batch_size)
    if output:
        atomic_write_text(output, json.dumps({"dataset": dataset, "rows": rows}, indent=2) + "\n")
    return rows


def demo_job(*, model, dataset, epochs, output, eps_values, pgd_steps, limit, table_output=None, command=None,
             verbose="auto", log=print):
    """`tfdefend demo`: trains `model` on `dataset`, attacks it and returns the text of the robustness table.

    Every phase is announced through `log` before it starts (loading,
    training, measuring, attacking), and the text says which clean accuracy
    is which: the full test set's (after training) and that of the attacked
    first `limit` images (the table's "clean" row).
    """
    from tfdefend.cli import jobs

    metrics = jobs.train_job(model=model, dataset=dataset, epochs=epochs, batch_size=128, learning_rate=1e-3,
                             seed=0, output=output, command=command, verbose=verbose, log=log)
    log(f"Trained {model} on {dataset}: clean accuracy {100 * metrics['clean_accuracy']:.2f}% on the full "
        f"test set ({metrics['test_examples']:,} images); saved {output}")
    rows = evaluate_job(model_file=output, dataset=dataset, eps_values=eps_values, pgd_steps=pgd_steps,
                        limit=limit, output=table_output, log=log)
    return table_text(rows, dataset, full_clean=(metrics["clean_accuracy"], metrics["test_examples"]))


def table_text(rows, dataset, full_clean=None):
    """The robustness table with a title saying on which images its accuracies are measured."""
    from tfdefend.evaluation import format_table

    n = rows[0]["n"]
    note = f'The "clean" row is the accuracy on these {n:,} images'
    if full_clean is not None:
        note += f"; on the full test set ({full_clean[1]:,} images) it is {100 * full_clean[0]:.2f}%"
    return (f"\nRobustness on {dataset}: the first {n:,} test images, L-inf attacks. {note}.\n\n"
            f"{format_table(rows)}")


def _silent(_message):
    return None
