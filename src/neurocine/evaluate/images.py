"""Images decoded from responses given as arrays (one response vector per image shown):
reconstruction and identification of held-out images, and whether the responses carry any
image information at all.

The real natural-scene recording in ``../shared/data`` comes this way (trial means of 212
cells for 100 train and 18 test images of the 118); these are the protocols of README's
natural-scenes row, run by ``bench/bench_real.py --part scenes``:

* :func:`scene_arrays_protocol`: the held-out images reconstructed (HalfUNet with its input
  noise chosen on a validation cut of the train images, ridge, the mean train image as a
  floor), SSIM and pixel r with bootstrap intervals over images and the HalfUNet's paired
  margins, and the rank of the true image among all candidates (identification);
* :func:`image_information`: an encoding model and RSA, each against the same statistic with
  the images shuffled: a recording whose responses carry no image information cannot be
  decoded into images by any method;
* :func:`identification_cv`: identification by cross-validation on the train images only.

Example:
    >>> import numpy as np
    >>> median_rank_ci(np.arange(1, 19), n_boot=200)[0] < 9.5 < median_rank_ci(np.arange(1, 19), n_boot=200)[1]
    True
"""

from __future__ import annotations

import numpy as np

from neurocine.decoders import HalfUNet, image_metrics, ridge_reconstruction
from neurocine.decoders.image_features import gabor_energy
from neurocine.decoders.uncertainty import block_bootstrap
from neurocine.evaluate.scenes import identification_ranks
from neurocine.scores import Comparison
from neurocine.settings import Config


def median_rank_ci(ranks: np.ndarray, seed: int = 0, n_boot: int = 2000) -> list[float]:
    """95 % bootstrap interval of the median rank, resampling the test images."""
    rng = np.random.default_rng(seed)
    boot = np.median(rng.choice(np.asarray(ranks), (n_boot, len(ranks))), axis=1)
    return [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))]


def image_information(responses: np.ndarray, images: np.ndarray, seed: int = 0, n_perm: int = 200,
                      side: int = 31) -> dict:
    """Is there image information to decode? Two checks on the images' mean responses, each
    against the same statistic with the images shuffled (``n_perm`` times; 20 for the
    encoding model, which refits per shuffle):

    * encoding: 5-fold CV correlation, per cell, of ridge from the image's local luminance
      and contrast (6x6 grid of 5x5-pixel patches of the ``side x side`` image) to the
      cell's response; the mean of the 10 best cells;
    * RSA: correlation between the images' response similarity and their pixel similarity
      (a Mantel test).

    Args:
        responses: ``(n_images, n_cells)`` mean response to each image.
        images: ``(n_images, side * side)`` the images, pixels in [0, 1].

    Returns:
        ``{"encoding_top10_cv_r", "encoding_top10_cv_r_shuffled": [min, max],
        "encoding_p", "rsa_r", "rsa_p"}``.
    """
    from sklearn.linear_model import RidgeCV  # noqa: PLC0415
    from sklearn.model_selection import KFold, cross_val_predict  # noqa: PLC0415

    cut = (side // 5) * 5
    patches = images.reshape(-1, side, side)[:, :cut, :cut].reshape(-1, cut // 5, 5, cut // 5, 5)
    feats = np.hstack([patches.mean((2, 4)).reshape(len(images), -1), patches.std((2, 4)).reshape(len(images), -1)])
    cv = KFold(5, shuffle=True, random_state=seed)

    def encoding(y):
        pred = cross_val_predict(RidgeCV(alphas=np.logspace(-2, 4, 13)), feats, y, cv=cv)
        r = np.array([np.corrcoef(pred[:, c], y[:, c])[0, 1] for c in range(y.shape[1])])
        return float(np.sort(np.nan_to_num(r, nan=-1.0))[-10:].mean())

    iu = np.triu_indices(len(images), 1)
    z = (responses - responses.mean(0)) / (responses.std(0) + 1e-9)
    resp_sim, pix_sim = np.corrcoef(z)[iu], np.corrcoef(images)

    def rsa(order):
        return float(np.corrcoef(resp_sim, pix_sim[np.ix_(order, order)][iu])[0, 1])

    rng = np.random.default_rng(seed)
    perms = [rng.permutation(len(images)) for _ in range(n_perm)]
    enc, enc_null = encoding(responses), [encoding(responses[q]) for q in perms[:20]]
    rsa_obs, rsa_null = rsa(np.arange(len(images))), [rsa(q) for q in perms]
    return {"encoding_top10_cv_r": enc, "encoding_top10_cv_r_shuffled": [float(np.min(enc_null)),
                                                                          float(np.max(enc_null))],
            "encoding_p": float((1 + np.sum(np.array(enc_null) >= enc)) / (1 + len(enc_null))),
            "rsa_r": rsa_obs, "rsa_p": float((1 + np.sum(np.abs(rsa_null) >= abs(rsa_obs))) / (1 + n_perm))}


def identification_cv(responses: np.ndarray, image_ids: np.ndarray, every: np.ndarray, seed: int = 0,
                      side: int = 31) -> dict:
    """Median rank of the true image among all candidates, 5-fold CV on the training images
    only (the test images untouched), for several ways to identify: ridge to pixels (ranked
    by deviation from the fold's mean image), ridge to Gabor energy, and an encoding model
    (Kay et al. 2008: ridge from Gabor energy to the responses, the candidate whose
    predicted response correlates best).

    Args:
        responses: ``(n, n_cells)`` the train images' responses.
        image_ids: ``(n,)`` which of ``every`` each was.
        every: ``(n_images, side * side)`` every candidate image.
    """
    from sklearn.linear_model import RidgeCV  # noqa: PLC0415
    from sklearn.model_selection import KFold  # noqa: PLC0415

    gabor = gabor_energy(every.reshape(-1, side, side), (0.1, 0.2, 0.35), (7, 7))
    ranks = {"ridge_pixels_deviation": [], "ridge_gabor": [], "encoding_gabor": []}
    for fit, held in KFold(5, shuffle=True, random_state=seed).split(responses):
        mu, sd = responses[fit].mean(0), responses[fit].std(0) + 1e-9
        z_fit, z_held = (responses[fit] - mu) / sd, (responses[held] - mu) / sd
        ids, truth = image_ids[fit], image_ids[held]
        g = (gabor - gabor[ids].mean(0)) / (gabor[ids].std(0) + 1e-9)
        mean_img = every[ids].mean(0)
        alphas = np.logspace(-1, 6, 15)
        # (prediction per held-out trial, one candidate per image): correlation ranks the candidates
        pairs = {"ridge_pixels_deviation": (RidgeCV(alphas=alphas).fit(z_fit, every[ids]).predict(z_held) - mean_img,
                                            every - mean_img),
                 "ridge_gabor": (RidgeCV(alphas=alphas).fit(z_fit, g[ids]).predict(z_held), g),
                 "encoding_gabor": (z_held, RidgeCV(alphas=alphas).fit(g[ids], z_fit).predict(g))}
        for k, (pred, candidates) in pairs.items():
            ranks[k] += identification_ranks(pred, candidates, truth).tolist()
    return {k: {"median_rank": float(np.median(r)), "median_rank_ci95": median_rank_ci(np.array(r), seed)}
            for k, r in ranks.items()}


def scene_arrays_protocol(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                          every: np.ndarray, cfg: Config, *, noises=(0.0, 0.5, 1.0), side: int = 31) -> Comparison:
    """Held-out images reconstructed from their responses and identified among ``every``.

    Args:
        x_train, x_test: ``(n, n_cells)`` responses (z-scored here with the train images'
            mean and sd).
        y_train, y_test: ``(n, side * side)`` the images shown, pixels in [0, 1].
        every: ``(n_images, side * side)`` every candidate image (the shown ones among them).
        cfg: The settings of the HalfUNet (``reconstruction``, ``model.device``,
            ``training.seed``: also the seed of the validation cut and the bootstrap); its
            ``input_noise`` is chosen here among ``noises`` on a validation cut (15 %) of
            the train images.

    Returns:
        A :class:`~neurocine.scores.Comparison` of SSIM over the test images (``halfunet``
        beside ``ridge`` and ``mean_image``, with intervals; pixel r, the true image's median
        rank with its interval, top-1 and top-10; for the decoders also the rank by
        deviation from the mean train image), details ``image_information`` (all images'
        responses, :func:`image_information`), ``identification_cv_train_images``
        (:func:`identification_cv`), ``halfunet_input_noise`` and ``chance_median_rank``.
        No strongest baseline is chosen on valid: every method is shown.
    """
    import torch  # noqa: PLC0415

    seed = cfg.training.seed
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-9
    z_tr, z_te = (x_train - mu) / sd, (x_test - mu) / sd
    img = lambda a: a.reshape(len(a), 1, side, side).astype(np.float32)  # noqa: E731
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x_train))
    cut = int(round(0.85 * len(x_train)))
    fit, val = perm[:cut], perm[cut:]

    def halfunet(noise):
        est = HalfUNet.from_config(cfg.override({"reconstruction.input_noise": noise,
                                                 "reconstruction.output_shape": [side, side]}))
        return est.fit(z_tr[fit], img(y_train[fit]), z_tr[val], img(y_train[val]))

    best = None
    for noise in noises:
        est = halfunet(noise)
        if best is None or est.best_valid_loss_ < best[0]:
            best = (est.best_valid_loss_, noise)
    final = halfunet(best[1])
    preds = {"halfunet": final.predict(z_te), "ridge": ridge_reconstruction(z_tr, img(y_train), z_te),
             "mean_image": np.broadcast_to(img(y_train).mean(0, keepdims=True), img(y_test).shape)}
    target = img(y_test)
    per = {m: image_metrics(p, target, data_range=1.0)["per_frame"] for m, p in preds.items()}
    units = np.arange(len(y_test))  # the images are the independent units
    pairs = [("halfunet", "mean_image"), ("halfunet", "ridge")]
    boot = {k: block_bootstrap({m: per[m][k] for m in preds}, units, seed=seed, pairs=pairs if k == "ssim" else ())
            for k in ("ssim", "pixel_r")}
    true_idx = np.array([int(np.argmin(np.abs(every - y).sum(1))) for y in y_test])
    mean_train = y_train.mean(0)
    test = {}
    for m, p in preds.items():
        ranks = identification_ranks(p[:, 0], every.reshape(len(every), side, side), true_idx)
        test[m] = {**boot["ssim"][m].entry("ssim"), **boot["pixel_r"][m].entry("pixel_r"),
                   "median_rank_of_true_image": float(np.median(ranks)),
                   "median_rank_of_true_image_ci95": median_rank_ci(ranks, seed),
                   "top1": float(np.mean(np.array(ranks) == 1)), "top10": float(np.mean(np.array(ranks) <= 10))}
        if m != "mean_image":  # ranked by deviation from the mean training image (the mean image has none)
            dev = identification_ranks((p[:, 0] - mean_train.reshape(side, side)),
                                       (every - mean_train).reshape(len(every), side, side), true_idx)
            test[m].update({"median_rank_deviation": float(np.median(dev)),
                            "median_rank_deviation_ci95": median_rank_ci(dev, seed)})
    order = np.array([int(np.argmin(np.abs(every - y).sum(1))) for y in np.concatenate([y_train, y_test])])
    details = {"halfunet_input_noise": best[1], "n_train_images": int(len(y_train)),
               "n_test_images": int(len(y_test)),
               "image_information": image_information(np.concatenate([x_train, x_test]), every[order], seed,
                                                      side=side),
               "identification_cv_train_images": identification_cv(x_train, order[:len(x_train)], every, seed,
                                                                   side=side),
               "chance_median_rank": (len(every) + 1) / 2}
    return Comparison("ssim", ("halfunet",), ("ridge", "mean_image"), test, None,
                      {f"{a} - {b}": boot["ssim"][f"{a} - {b}"] for a, b in pairs}, details=details)


__all__ = ["median_rank_ci", "image_information", "identification_cv", "scene_arrays_protocol"]
