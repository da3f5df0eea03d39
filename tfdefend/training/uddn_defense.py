"""`train_uddn_defense`: the seed's three-stage UDDN defense (Li & Wang, 2018), end to end.

1. **GNR**: attack a slice of the training set (FGSM, I-FGSM 2/4/8 at random
   budgets), take the noise `adv - clean`, train a W-GAN-GP on it, then
   augment further clean images with generated noise (clipped to the eps
   ball and the image range).
2. **UDDN**: train the U-Net denoiser on (input, clean) pairs — real
   adversarial, GNR-augmented and clean inputs — with the logit-guided loss
   of the frozen target classifier (`GuidedDenoiserTraining`).
3. **Knowledge transfer**: fine-tune a copy of the classifier (the student)
   on denoised inputs to match the frozen classifier's (the teacher's)
   softened outputs on the clean images (`Distiller`).

The stages are plain calls of the library's trainers; any of them can be
used alone.
"""

import time

import keras
import numpy as np

from tfdefend.models import UDDN, NoiseCritic, NoiseGenerator
from tfdefend.training.adversarial_pairs import DEFAULT_ATTACKS, adversarial_pairs
from tfdefend.training.distiller import Distiller
from tfdefend.training.guided_denoiser_training import GuidedDenoiserTraining
from tfdefend.training.resumable import TrainingBackup
from tfdefend.training.wgan_gp import WGANGP
from tfdefend.utils.validation import check_eps, check_positive_int


def _copy_classifier(classifier):
    """A fresh model of the same class and config with the same weights (the student)."""
    student = type(classifier).from_config(classifier.get_config())
    student.set_weights(classifier.get_weights())
    return student


def _check_count(value, name, available):
    value = check_positive_int(value, name, minimum=0)
    if value > available:
        raise ValueError(f"`{name}`={value} is more than the {available} training images left for it.")
    return value


def train_uddn_defense(classifier, x_train, y_train, *, eps, real_count=8000, gnr_count=16000,
                       clean_count=None, use_gnr=True, guidance="logits", pixel_weight=0.0,
                       uddn_filters=(16, 32, 64), generator_filters=(64, 32, 16), critic_filters=(16, 32, 64),
                       generator=None, gan_epochs=5, uddn_epochs=4, distill_epochs=1,
                       temperature=4.0, alpha=0.1, student_noise_std=0.02, batch_size=64,
                       learning_rate=1e-3, attacks=DEFAULT_ATTACKS, seed=0, verbose="auto", backup_dir=None,
                       backup_every_steps=None):
    """Trains GNR, UDDN and the knowledge-transfer student against a frozen classifier.

    The first `real_count` training images are attacked ("real adversarial
    data"); the next `gnr_count` are augmented with GNR noise (skipped when
    `use_gnr` is False, so UDDN with and without GNR see the same real
    adversarial data); `clean_count` clean images (default `real_count`,
    taken from the attacked slice) are added as identity pairs so the
    denoiser keeps clean images intact.

    Args:
        classifier: The target classifier (logits); it is never modified.
        x_train: Training images [N, H, W, C] in [0, 1].
        y_train: Int labels [N].
        eps: Largest L-inf budget of the training attacks and of GNR noise.
        real_count: Images attacked for real (clean, adversarial) pairs.
        gnr_count: Further images augmented with generated noise.
        clean_count: Clean identity pairs (default `real_count`).
        use_gnr: Whether to use GNR and add its augmented images.
        generator: An already trained GNR generator (e.g. the zoo's): used
            for the augmentation instead of training a new W-GAN-GP.
        guidance: "logits" (UDDN: L1 between the classifier's logits on the
            denoised and the clean image) or "pixels" (pixel-guided L1 only).
        pixel_weight: Weight of an extra pixel L1 term with "logits".
        uddn_filters: Widths of the UDDN levels.
        generator_filters, critic_filters: Widths of the GNR generator's
            DeconvUnits and of the critic's ConvUnits.
        gan_epochs, uddn_epochs, distill_epochs: Epochs of each stage
            (`distill_epochs=0` skips knowledge transfer).
        temperature, alpha: Distillation temperature and hard-label weight.
        student_noise_std: Gaussian noise added to the student's inputs
            before denoising ("slightly perturbed" images).
        batch_size, learning_rate: Of every stage (Adam; the W-GAN uses its
            own Adam(1e-4, 0.5, 0.9) as in Gulrajani et al.).
        attacks: Attacks of the real adversarial data (see `adversarial_pairs`).
        seed: Seeds the attack draws, GNR sampling and the trainers.
        verbose: Passed to `fit`.
        backup_dir: Optional backup folder (`TrainingBackup`): each stage
            (attacks, W-GAN-GP, UDDN, distillation) backs itself up there
            after every epoch (and every `backup_every_steps` steps) and
            saves its result once finished, so that calling this again with
            the same arguments after a kill skips the finished stages and
            resumes the unfinished one. The folder is kept: delete it (e.g.
            `TrainingBackup(backup_dir).remove()`) once the results are
            saved. The timings only count this call's work.
        backup_every_steps: Also back up every this many steps (>= 1).

    Returns:
        A dict: "uddn" (the denoiser), "generator" (GNR's, or None),
        "student" (or None), "histories" and "info" (sizes, seconds).

    Raises:
        ValueError: Bad counts, `eps` or `guidance`.
    """
    if guidance not in ("logits", "pixels"):
        raise ValueError(f"`guidance` must be 'logits' or 'pixels', got {guidance!r}.")
    eps = check_eps(eps, allow_zero=False)
    x_train = np.asarray(x_train, np.float32)
    y_train = np.asarray(y_train)
    real_count = _check_count(real_count, "real_count", len(x_train))
    gnr_count = _check_count(gnr_count if use_gnr else 0, "gnr_count", len(x_train) - real_count)
    clean_count = _check_count(real_count if clean_count is None else clean_count, "clean_count", real_count)
    if real_count == 0:
        raise ValueError("`real_count` must be >= 1: every stage learns from real adversarial data.")
    keras.utils.set_random_seed(seed)
    backup = TrainingBackup(backup_dir, every_steps=backup_every_steps)
    timings, histories = {}, {}

    start = time.perf_counter()
    x_real, y_real = x_train[:real_count], y_train[:real_count]
    x_adv = _attack_stage(backup, classifier, x_real, y_real, eps, attacks, seed)
    timings["attack_seconds"] = time.perf_counter() - start
    inputs, targets, labels = [x_adv, x_real[:clean_count]], [x_real, x_real[:clean_count]], [y_real, y_real[:clean_count]]

    if use_gnr and gnr_count:
        start = time.perf_counter()
        if generator is None:
            generator, histories["gan"] = _gnr_stage(
                backup, x_adv, x_real, eps, generator_filters=generator_filters, critic_filters=critic_filters,
                epochs=gan_epochs, batch_size=batch_size, seed=seed, verbose=verbose)
        x_more = x_train[real_count:real_count + gnr_count]
        inputs.append(_augment(generator, x_more, eps, seed))
        targets.append(x_more)
        labels.append(y_train[real_count:real_count + gnr_count])
        timings["gan_seconds"] = time.perf_counter() - start
    else:
        generator = None

    x_in, x_clean, y_all = (np.concatenate(parts) for parts in (inputs, targets, labels))
    start = time.perf_counter()
    uddn, histories["uddn"] = _uddn_stage(backup, classifier, x_in, x_clean, filters=uddn_filters,
                                          guidance=guidance, pixel_weight=pixel_weight,
                                          learning_rate=learning_rate, epochs=uddn_epochs, batch_size=batch_size,
                                          verbose=verbose)
    timings["uddn_seconds"] = time.perf_counter() - start

    student = None
    if distill_epochs:
        start = time.perf_counter()
        student, histories["distill"] = _distill_stage(
            backup, classifier, uddn, x_clean, x_in, y_all, temperature=temperature, alpha=alpha,
            noise_std=student_noise_std, learning_rate=learning_rate, epochs=distill_epochs,
            batch_size=batch_size, seed=seed, verbose=verbose)
        timings["distill_seconds"] = time.perf_counter() - start

    info = {"real_count": real_count, "gnr_count": gnr_count, "clean_count": clean_count,
            "uddn_train_pairs": len(x_in), "guidance": guidance, "eps": eps,
            **{k: round(v, 1) for k, v in timings.items()}}
    return {"uddn": uddn, "generator": generator, "student": student, "histories": histories, "info": info}


def _attack_stage(backup, classifier, x_real, y_real, eps, attacks, seed):
    """Stage 1a: the real adversarial images of `x_real` (backed up as the "attack" phase)."""
    return backup.run_phase("attack", lambda _: {"x_adv": adversarial_pairs(
        classifier, x_real, y_real, eps_max=eps, attacks=attacks, seed=seed)[0]},
        name="UDDN attacks")["x_adv"]


def _gnr_stage(backup, x_adv, x_real, eps, *, generator_filters, critic_filters, epochs, batch_size, seed,
               verbose):
    """Stage 1b: a W-GAN-GP trained on the real noise `x_adv - x_real`; returns `(generator, history)`."""
    image_shape = tuple(x_real.shape[1:])
    generator = NoiseGenerator(output_shape=image_shape, filters=tuple(generator_filters), eps=eps,
                               name="gnr_generator")
    critic = NoiseCritic(input_shape=image_shape, filters=tuple(critic_filters), name="gnr_critic")
    gan = WGANGP(generator, critic, seed=seed)
    gan.compile()
    history = backup.run_phase("gan", lambda callbacks: {"history": gan.fit(
        x_adv - x_real, epochs=epochs, batch_size=batch_size, shuffle=True, callbacks=callbacks,
        verbose=verbose).history}, models={"generator": generator},
        name="UDDN GNR W-GAN-GP")["history"]
    return generator, history


def _uddn_stage(backup, classifier, x_in, x_clean, *, filters, guidance, pixel_weight, learning_rate, epochs,
                batch_size, verbose):
    """Stage 2: the U-Net denoiser trained on (`x_in`, `x_clean`) pairs; returns `(uddn, history)`."""
    uddn = UDDN(input_shape=tuple(x_in.shape[1:]), filters=tuple(filters), name="uddn")
    trainer = GuidedDenoiserTraining(uddn, _copy_classifier(classifier),
                                     guidance_weight=1.0 if guidance == "logits" else 0.0,
                                     pixel_weight=pixel_weight if guidance == "logits" else 1.0)
    trainer.compile(optimizer=keras.optimizers.Adam(_decay(learning_rate, epochs, len(x_in), batch_size)))
    history = backup.run_phase("uddn", lambda callbacks: {"history": trainer.fit(
        x_in, x_clean, epochs=epochs, batch_size=batch_size, shuffle=True, callbacks=callbacks,
        verbose=verbose).history}, models={"uddn": uddn}, name="UDDN denoiser")["history"]
    return uddn, history


def _distill_stage(backup, classifier, uddn, x_clean, x_in, y_all, *, temperature, alpha, noise_std,
                   learning_rate, epochs, batch_size, seed, verbose):
    """Stage 3: knowledge transfer to a copy of `classifier` behind `uddn`; returns `(student, history)`."""
    student = _copy_classifier(classifier)
    distiller = Distiller(student, _copy_classifier(classifier), temperature=temperature, alpha=alpha,
                          preprocessor=uddn, input_noise_std=noise_std, seed=seed)
    distiller.compile(optimizer=keras.optimizers.Adam(
        _decay(learning_rate * 0.1, epochs, len(x_in), batch_size)))
    history = backup.run_phase("distill", lambda callbacks: {"history": distiller.fit(
        (x_clean, x_in), y_all, epochs=epochs, batch_size=batch_size, shuffle=True,
        callbacks=callbacks, verbose=verbose).history}, models={"student": student},
        name="UDDN knowledge transfer")["history"]
    uddn.trainable = True  # the Distiller froze it as its preprocessor; users fine-tune it
    return student, history


def _augment(generator, x_clean, eps, seed, batch_size=512):
    """`clip(x + clip(G(z), -eps, eps), 0, 1)`, one latent vector per image, generated in batches."""
    latent_dim = int(generator.input_shape[-1])
    z = np.random.default_rng(seed).standard_normal((len(x_clean), latent_dim)).astype(np.float32)
    noise = generator.predict(z, batch_size=batch_size, verbose=0)
    return np.clip(x_clean + np.clip(noise, -eps, eps), 0.0, 1.0).astype(np.float32)


def _decay(learning_rate, epochs, n, batch_size):
    steps = max(1, epochs * int(np.ceil(n / batch_size)))
    return keras.optimizers.schedules.CosineDecay(learning_rate, steps)
