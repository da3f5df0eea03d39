"""`uddn_job`: the job behind `tfdefend train-uddn`, callable from Python as `tfdefend.cli.jobs.uddn_job`."""

import time

from tfdefend.cli.job_helpers import check_keras_outputs, default_attack_eps, save_outputs, versions

TEST_IMAGES = 2000


def uddn_job(*, dataset, classifier, uddn_output, generator_output=None, student_output=None,
             real_count=8000, gnr_count=16000, use_gnr=True, guidance="logits", gan_epochs=5,
             uddn_epochs=4, distill_epochs=1, batch_size=64, seed=0, eps=None, limit=None,
             verbose="auto", command=None, backup=True, backup_dir=None, backup_every_steps=None,
             strategy="default"):
    """Trains the UDDN defense (GNR, UDDN, knowledge transfer) against a zoo or saved classifier.

    Writes the denoiser (and, if paths are given, the GNR generator and the
    distilled student) as .keras files, each with a metrics JSON beside it,
    atomically. Returns the metrics of the denoiser.

    Unless `backup` is False, every stage is backed up to `backup_dir`
    (default: `uddn_output` + ".backup"): rerunning the same job after a
    kill skips the finished stages and resumes the unfinished one (see
    `train_job`); the folder is deleted once every output is saved.

    `strategy` ("default", "mirrored" or "multiworker") trains every stage
    inside that `tf.distribute` strategy's scope (see `train_job`; with
    "multiworker" only the chief writes the outputs and metrics).
    """
    from tfdefend import data, models
    from tfdefend.cli.backup_options import classifier_identity
    from tfdefend.cli.dataset_choice import check_input_shape
    from tfdefend.training import TrainingBackup, train_uddn_defense
    from tfdefend.utils.distribute import get_strategy
    from tfdefend.utils.seeding import set_seed

    outputs = {"uddn": uddn_output, "generator": generator_output, "student": student_output}
    check_keras_outputs(outputs)
    dist = get_strategy(strategy)  # first: MultiWorkerMirroredStrategy must precede other TF work
    run_backup = TrainingBackup.for_output(
        uddn_output, enabled=backup, directory=backup_dir, every_steps=backup_every_steps,
        fingerprint={"job": "train-uddn", "dataset": dataset, **classifier_identity(classifier),
                     "real_count": real_count, "gnr_count": gnr_count, "use_gnr": use_gnr,
                     "guidance": guidance,
                     "gan_epochs": gan_epochs, "uddn_epochs": uddn_epochs, "batch_size": batch_size,
                     "distill_epochs": distill_epochs if student_output else 0, "seed": seed, "eps": eps,
                     "limit": limit})
    set_seed(seed, deterministic=False)
    with dist.scope():  # every model of every stage is built in the strategy's scope
        target = models.load_model_or_pretrained(classifier)
        check_input_shape(target, dataset, classifier)
        eps = float(eps or default_attack_eps(dataset))
        x_train, y_train = data.load(dataset, "train", as_numpy=True, limit=limit)
        x_test, y_test = data.load(dataset, "test", as_numpy=True, limit=TEST_IMAGES)
        start = time.perf_counter()
        result = train_uddn_defense(target, x_train, y_train, eps=eps, real_count=real_count,
                                    gnr_count=gnr_count, use_gnr=use_gnr, guidance=guidance, gan_epochs=gan_epochs,
                                    uddn_epochs=uddn_epochs,
                                    distill_epochs=distill_epochs if student_output else 0,
                                    batch_size=batch_size, seed=seed, verbose=verbose,
                                    backup_dir=run_backup.subfolder("stages"),
                                    backup_every_steps=backup_every_steps)
    common = {"dataset": dataset, "classifier": str(classifier), "eps": eps, **result["info"],
              "train_seconds": round(time.perf_counter() - start, 1), "command": command, "seed": seed,
              "test_examples": len(x_test), "versions": versions()}
    metrics = _metrics(result, target, x_test, y_test, eps, common)
    save_outputs({key: path for key, path in outputs.items() if key in metrics},
                 {key: result[key] for key in metrics}, metrics, dist)
    run_backup.remove()  # only once every output is saved
    return metrics["uddn"]


def _metrics(result, target, x_test, y_test, eps, common):
    """`{"uddn", "generator", "student"}` metrics of the trained parts (the generator and student if trained).

    The denoiser is measured on the clean test images and on FGSM images
    (at `eps`) of the target classifier; the student on the same images.
    """
    import numpy as np

    from tfdefend.attacks import fgsm
    from tfdefend.evaluation import accuracy, denoising_l1
    from tfdefend.training import reconstruction_error

    uddn = result["uddn"]
    x_fgsm = fgsm(target, x_test, y_test, eps=eps)
    denoised_fgsm = np.asarray(uddn.predict(x_fgsm, verbose=0))
    error = reconstruction_error(uddn, x_test)
    metrics = {"uddn": {
        "model": "uddn", "kind": "preprocessor", "test_mse": error["mse"], "test_psnr_db": error["psnr_db"],
        "test_l1_clean": denoising_l1(uddn, x_test, x_test), "test_l1_fgsm": denoising_l1(uddn, x_fgsm, x_test),
        "defended_accuracy_clean": accuracy(target, uddn.predict(x_test, verbose=0), y_test),
        "defended_accuracy_fgsm": accuracy(target, denoised_fgsm, y_test),
        "undefended_accuracy_fgsm": accuracy(target, x_fgsm, y_test),
        "params": int(uddn.count_params()), **common}}
    if result["generator"] is not None:
        metrics["generator"] = {"model": "gnr_generator", "kind": "generator",
                                "params": int(result["generator"].count_params()), **common}
    if result["student"] is not None:
        student = result["student"]
        metrics["student"] = {
            "model": type(student).__name__, "kind": "classifier",
            "clean_accuracy": accuracy(student, x_test, y_test),
            "defended_accuracy_clean": accuracy(student, uddn.predict(x_test, verbose=0), y_test),
            "defended_accuracy_fgsm_on_teacher": accuracy(student, denoised_fgsm, y_test),
            "params": int(student.count_params()), **common}
    return metrics
