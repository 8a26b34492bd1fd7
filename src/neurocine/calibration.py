"""Response statistics of drifting-grating trials, measured the same way on real and
simulated data, so the simulator can be calibrated against a real Allen session.

All statistics come from trial-aligned dF/F ``(N, K, S)`` (cells x trials x samples), the
trials' direction and temporal frequency, and the sample times from onset:

* ``response``: per trial and cell, the mean dF/F over the 2 s stimulus minus the mean
  over the pre-stimulus baseline;
* ``amplitude``: per cell, the response of its preferred condition (direction x TF mean);
* ``tuned``: fraction of cells whose responses differ across the 40 conditions (one-way
  ANOVA, p < 0.01);
* ``osi``, ``dsi``: orientation and direction selectivity at the preferred TF, from
  condition means clipped at 0: ``(R_pref - R_orth) / (R_pref + R_orth)``,
  ``(R_pref - R_null) / (R_pref + R_null)``;
* ``cv``: trial-to-trial coefficient of variation at the preferred condition (std / mean);
* ``noise_corr``: mean pairwise correlation of the residuals (response minus condition
  mean) over cells;
* ``snr``: variance of the condition means over the mean within-condition variance;
* ``drift``: correlation between a cell's condition means in the first and the second half
  of the session (1: stable responses; lower: drift).

Quantities per cell are summarised by their quartiles over the tuned cells.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def trial_responses(dff: np.ndarray, time_s: np.ndarray, stimulus_s: float = 2.0) -> np.ndarray:
    """``(K, N)`` stimulus minus baseline mean dF/F per trial."""
    on = (time_s >= 0) & (time_s < stimulus_s)
    base = time_s < 0
    return (dff[:, :, on].mean(2) - dff[:, :, base].mean(2)).T


def grating_statistics(dff: np.ndarray, direction: np.ndarray, tf: np.ndarray, time_s: np.ndarray) -> dict:
    """The statistics listed in the module docstring (blank trials are left out).

    Args:
        dff: ``(N, K, S)``; direction: ``(K,)`` degrees (NaN: blank); tf: ``(K,)`` Hz;
        time_s: ``(S,)`` seconds from onset.
    """
    keep = np.isfinite(direction) & np.isfinite(tf)
    resp = trial_responses(dff, time_s)[keep]
    d, t = direction[keep], tf[keep]
    conds = sorted(set(zip(d.tolist(), t.tolist())))
    cond_id = np.array([conds.index(c) for c in zip(d.tolist(), t.tolist())])
    means = np.stack([resp[cond_id == c].mean(0) for c in range(len(conds))])  # (C, N)
    n_cells = resp.shape[1]
    pvals = np.array([stats.f_oneway(*[resp[cond_id == c, j] for c in range(len(conds))]).pvalue
                      for j in range(n_cells)])
    tuned = np.nan_to_num(pvals, nan=1.0) < 0.01
    pref = means.argmax(0)
    amp = means[pref, np.arange(n_cells)]
    osi, dsi, cv = np.zeros(n_cells), np.zeros(n_cells), np.zeros(n_cells)
    for j in range(n_cells):
        pd, pt = conds[pref[j]]
        at_tf = {dd: means[conds.index((dd, tt)), j] for dd, tt in conds if tt == pt}
        r = lambda deg: max(at_tf.get(float(deg % 360), 0.0), 0.0)  # noqa: E731
        rp, ro = r(pd), (r(pd + 90) + r(pd - 90)) / 2
        rn = r(pd + 180)
        osi[j] = (rp - ro) / (rp + ro) if rp + ro > 0 else 0.0
        dsi[j] = (rp - rn) / (rp + rn) if rp + rn > 0 else 0.0
        x = resp[cond_id == pref[j], j]
        cv[j] = x.std() / abs(x.mean()) if abs(x.mean()) > 1e-9 else np.nan
    resid = resp - means[cond_id]
    c = np.corrcoef(resid.T)
    noise_corr = float(np.nanmean(c[np.triu_indices(n_cells, 1)]))
    within = np.mean([resid[cond_id == k].var(0) for k in range(len(conds))], axis=0)
    snr = means.var(0) / np.maximum(within, 1e-12)
    half = np.arange(len(resp)) < len(resp) // 2
    drift = []
    for j in np.flatnonzero(tuned):
        a = [resp[half & (cond_id == k), j].mean() for k in range(len(conds))]
        b = [resp[~half & (cond_id == k), j].mean() for k in range(len(conds))]
        if np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.std(a) > 0 and np.std(b) > 0:
            drift.append(np.corrcoef(a, b)[0, 1])

    def q(x):
        x = np.asarray(x)[np.isfinite(x)]
        return [float(v) for v in np.percentile(x, [25, 50, 75])] if len(x) else [np.nan] * 3

    sel = tuned if tuned.any() else np.ones(n_cells, dtype=bool)
    return {"n_cells": int(n_cells), "n_trials": int(len(resp)), "tuned": float(tuned.mean()),
            "amplitude": q(amp[sel]), "osi": q(osi[sel]), "dsi": q(dsi[sel]), "cv": q(cv[sel]),
            "noise_corr": noise_corr, "snr": q(snr), "drift": q(drift)}


#: How close the simulator must come to the real session, per statistic: for quartile
#: triples a tolerance on the median (absolute) -- the quantities are ratios or dF/F.
TOLERANCES = {"tuned": 0.15, "amplitude": 0.04, "osi": 0.12, "dsi": 0.12, "cv": 0.5, "noise_corr": 0.06,
              "snr": 0.15, "drift": 0.15}


def compare(real: dict, sim: dict) -> dict[str, tuple[float, float, float, bool]]:
    """``{statistic: (real, simulated, tolerance, within)}`` (medians for quartile triples)."""
    out = {}
    for key, tol in TOLERANCES.items():
        r, s = real[key], sim[key]
        r, s = (r[1], s[1]) if isinstance(r, list) else (r, s)
        out[key] = (float(r), float(s), tol, bool(abs(r - s) <= tol))
    return out


__all__ = ["grating_statistics", "trial_responses", "compare", "TOLERANCES"]
