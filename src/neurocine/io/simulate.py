"""A realistic simulator of Allen Visual Coding session-A recordings (the demo data).

What it models:

* **Movie**: 900 frames at 30 Hz with natural-image statistics: each shot is a 1/f
  (pink) random field, panned smoothly by an Ornstein-Uhlenbeck camera path, with a few
  scene cuts; saved as ``natural_movie_one.npy`` ``(900, H, W) uint8``.
* **Neurons**: linear-nonlinear V1 cells with localized Gabor receptive fields (simple:
  half-rectified linear; complex: quadrature energy), ~80 % visually responsive;
  drifting-grating responses from each RF's Fourier amplitude at the grating's spatial
  frequency (plus an untuned part), log-Gaussian temporal-frequency tuning, direction bias
  in ~85 %; running modulates gain; a gain fluctuation shared by all cells, each cell's slow
  drift over the session and adaptation (so later repeats differ from earlier ones, as in
  Allen data); Poisson spikes. The knobs (:class:`ResponseModel`) are calibrated on the real
  grating session 527745328: fraction tuned, response amplitude, OSI, DSI, trial-to-trial
  variability, noise correlations, SNR and half-session stability come within stated
  tolerances (``tests/test_calibration.py``, ``bench/calibrate_simulator.py``).
* **Calcium**: GCaMP6-like double-exponential kernel (50 ms rise, 0.5-1 s decay),
  shot noise growing with the signal, slow baseline drift, a shared dF/F fluctuation
  (neuropil, brain state); 30 Hz.
* **Session**: like Allen session A: spontaneous, drifting gratings (8 directions x 5
  temporal frequencies + blanks, 2 s on / 1 s off) in two epochs, natural_movie_one shown
  10 times, spontaneous.

Everything is deterministic from ``seed``; ground truth (receptive fields, spikes) is
saved beside each session as ``<session_id>_truth.npz``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import ndimage, signal

from neurocine.atomic import atomic_write
from neurocine.errors import ConfigError, DataError, OutputError
from neurocine.io.layouts.brainsets import write_brainsets
from neurocine.io.layouts.kirby import write_kirby
from neurocine.io.recording import Recording
from neurocine.stimuli import DRIFTING_DIRECTIONS_DEG, MOVIE_RATE_HZ, TEMPORAL_FREQUENCIES_HZ
from neurocine.stimuli import MOVIE_FRAMES as _MOVIE_FRAMES

MOVIE_FILE = "natural_movie_one.npy"
MOVIE_FRAMES = _MOVIE_FRAMES["natural_movie_one"]
DEFAULT_NEURONS = (150, 240, 227, 181)


@dataclass(frozen=True)
class ResponseModel:
    """Population response knobs, calibrated on the real drifting-grating session 527745328
    (``bench/calibrate_simulator.py`` and ``tests/test_calibration.py`` compare the two).

    Attributes:
        responsive: Fraction of visually responsive cells.
        direction_biased: Fraction of cells with a preferred direction, and
            ``direction_bias``: the range of their bias (0: orientation only, 1: null
            direction silent).
        untuned: Part of a grating response independent of orientation (broadens tuning).
        peak_hz: Median visually driven rate, spikes/s.
        spike_amplitude: Median dF/F of one spike.
        shared_gain_sd, shared_gain_s: A gain on every cell's visual drive fluctuating
            together (arousal), its sd and time constant: the noise correlations.
        shared_dff_sd, shared_dff_s: A dF/F fluctuation common to all cells (neuropil,
            brain state; each cell loads on it with a weight in [0.5, 1]): its sd and time
            constant.
        session_drift_sd: Each cell's visual gain wanders over the session (a log-normal
            random walk with this sd at the end), so responses drift between repeats.
        adaptation: Fraction by which visual gain falls from the start to the end of
            the session (slow adaptation).
    """

    responsive: float = 0.8
    direction_biased: float = 0.85
    direction_bias: tuple[float, float] = (0.6, 1.0)
    untuned: float = 0.2
    peak_hz: float = 4.0
    spike_amplitude: float = 0.08
    shared_gain_sd: float = 0.4
    shared_gain_s: float = 1.0
    shared_dff_sd: float = 0.045
    shared_dff_s: float = 1.0
    session_drift_sd: float = 0.4
    adaptation: float = 0.2


@dataclass
class SimulationConfig:
    """Knobs of :func:`simulate_dataset` (defaults: the 4-session demo).

    Attributes:
        sessions: Number of sessions.
        neurons: Neurons per session, cycled when there are more sessions.
        seed: Master seed; the movie and every session derive from it.
        frame_shape: Movie frame ``(H, W)`` in pixels.
        sampling_rate: Imaging rate, Hz.
        grating_repeats: Trials per (direction, temporal frequency); Allen used 15.
        spontaneous_s: Length of each of the three spontaneous epochs, s.
        layout: ``"kirby"`` (the original design's files) or ``"brainsets"``.
    """

    sessions: int = 4
    neurons: tuple[int, ...] = DEFAULT_NEURONS
    seed: int = 0
    frame_shape: tuple[int, int] = (64, 128)
    sampling_rate: float = 30.0
    grating_repeats: int = 3
    spontaneous_s: float = 30.0
    layout: str = "kirby"
    movie_repeats: int = field(default=10, repr=False)
    response: ResponseModel = field(default_factory=ResponseModel)

    def validate(self) -> None:
        """One-line ConfigError for any knob out of range (before anything is written)."""
        def number(name, low, high=np.inf, integer=False):
            value = getattr(self, name)
            try:
                ok = (not isinstance(value, bool) and np.isfinite(value) and low <= value <= high
                      and (not integer or int(value) == value))
            except TypeError:
                ok = False
            if not ok:
                kind = "an integer" if integer else "a number"
                raise ConfigError(f"simulate: {name}={value!r}, expected {kind} >= {low:g}"
                                  + (f" and <= {high:g}" if np.isfinite(high) else ""))

        number("sessions", 1, 10_000, integer=True)
        number("seed", 0, 2 ** 32 - 1, integer=True)
        number("grating_repeats", 1, 1000, integer=True)
        number("movie_repeats", 1, 1000, integer=True)
        number("spontaneous_s", 0, 36_000)
        number("sampling_rate", 1, 1000)
        if not self.neurons or min(self.neurons) < 1 or max(self.neurons) > 100_000:
            raise ConfigError(f"simulate: neurons={self.neurons}, expected counts between 1 and 100000")
        if len(self.frame_shape) != 2 or min(self.frame_shape) < 8 or max(self.frame_shape) > 4096:
            raise ConfigError(f"simulate: frame_shape={self.frame_shape}, expected (H, W) with 8 <= H, W <= 4096")
        if self.layout not in ("kirby", "brainsets"):
            raise ConfigError(f"simulate: layout={self.layout!r}, expected 'kirby' or 'brainsets'")


# ----------------------------------------------------------------------------- movie
def pink_noise(shape: tuple[int, int], rng: np.random.Generator, exponent: float = 1.0) -> np.ndarray:
    """A random field with a 1/f^exponent amplitude spectrum, zero mean, unit std."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    f = np.sqrt(fx ** 2 + fy ** 2)
    f[0, 0] = 1.0
    spectrum = (rng.standard_normal(f.shape) + 1j * rng.standard_normal(f.shape)) / f ** exponent
    spectrum[0, 0] = 0
    img = np.fft.irfft2(spectrum, s=shape)
    return (img - img.mean()) / img.std()


def simulate_movie(n_frames: int = MOVIE_FRAMES, frame_shape: tuple[int, int] = (64, 128),
                   seed: int = 0, n_shots: int = 5) -> np.ndarray:
    """Natural-movie-like frames.

    Returns:
        ``(n_frames, H, W) uint8``: pink-noise scenes with edges, panned smoothly, with
        ``n_shots - 1`` hard cuts.
    """
    rng = np.random.default_rng(seed)
    H, W = frame_shape
    cuts = np.sort(rng.choice(np.arange(60, n_frames - 60), size=n_shots - 1, replace=False))
    bounds = np.concatenate([[0], cuts, [n_frames]])
    frames = np.empty((n_frames, H, W), dtype=np.float32)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    for a, b in zip(bounds[:-1], bounds[1:]):
        big = (3 * H, 3 * W)
        scene = pink_noise(big, rng, exponent=1.0)
        # a few hard-edged blobs: natural scenes have objects with sharp borders
        blobs = ndimage.gaussian_filter(rng.standard_normal(big), sigma=min(H, W) / 6)
        scene = scene + 1.5 * np.tanh(4 * blobs / blobs.std())
        n = b - a
        vel = np.zeros((n, 2))
        v = rng.normal(0, 0.6, 2)
        for t in range(n):  # Ornstein-Uhlenbeck camera velocity, pixels/frame
            v = 0.95 * v + rng.normal(0, 0.15, 2)
            vel[t] = v
        pos = np.cumsum(vel, axis=0) + np.array([H, W], dtype=float)
        pos[:, 0] = np.clip(pos[:, 0], 0, 2 * H - 1)
        pos[:, 1] = np.clip(pos[:, 1], 0, 2 * W - 1)
        for t in range(n):
            coords = np.stack([yy + pos[t, 0], xx + pos[t, 1]])
            frames[a + t] = ndimage.map_coordinates(scene, coords, order=1, mode="reflect")
    frames = (frames - frames.mean()) / frames.std()
    return np.clip(127.5 + 48.0 * frames, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- neurons
@dataclass
class ReceptiveFields:
    """Ground-truth tuning of one session's neurons (all ``(N,)``; pixels, degrees, Hz)."""

    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray
    theta_deg: np.ndarray
    wavelength: np.ndarray
    phase: np.ndarray
    complex_cell: np.ndarray
    responsive: np.ndarray
    direction_bias: np.ndarray
    preferred_direction_deg: np.ndarray
    preferred_tf_hz: np.ndarray
    baseline_hz: np.ndarray
    peak_hz: np.ndarray
    running_gain: np.ndarray
    calcium_decay_s: np.ndarray
    spike_amplitude: np.ndarray
    noise_sd: np.ndarray

    def gabors(self, frame_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Even and odd Gabor filters, each ``(N, H*W) float32``."""
        H, W = frame_shape
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        th = np.deg2rad(self.theta_deg)[:, None, None]
        dx = xx[None] - self.x[:, None, None]
        dy = yy[None] - self.y[:, None, None]
        u = dx * np.cos(th) + dy * np.sin(th)
        env = np.exp(-(dx ** 2 + dy ** 2) / (2 * self.sigma[:, None, None] ** 2))
        arg = 2 * np.pi * u / self.wavelength[:, None, None] + self.phase[:, None, None]
        even = (env * np.cos(arg)).reshape(len(self.x), -1)
        odd = (env * np.sin(arg)).reshape(len(self.x), -1)
        norm = np.linalg.norm(even, axis=1, keepdims=True) + 1e-6
        return (even / norm).astype(np.float32), (odd / norm).astype(np.float32)


def sample_receptive_fields(n: int, frame_shape: tuple[int, int], rng: np.random.Generator,
                            model: ResponseModel | None = None) -> ReceptiveFields:
    """Draw V1-like tuning for ``n`` neurons; RFs cluster around a session-specific
    retinotopic centre, as one imaging plane covers part of the visual field."""
    m = model or ResponseModel()
    H, W = frame_shape
    scale = min(H, W) / 64.0
    cx, cy = rng.uniform(0.35 * W, 0.65 * W), rng.uniform(0.35 * H, 0.65 * H)
    sigma = rng.uniform(2.5, 6.0, n) * scale
    theta = rng.uniform(0, 180, n)
    dir_sign = rng.choice([0.0, 180.0], n)
    return ReceptiveFields(
        x=np.clip(rng.normal(cx, 0.22 * W, n), 0, W - 1), y=np.clip(rng.normal(cy, 0.22 * H, n), 0, H - 1),
        sigma=sigma, theta_deg=theta, wavelength=sigma * rng.uniform(2.0, 3.5, n),
        phase=rng.uniform(0, 2 * np.pi, n), complex_cell=rng.random(n) < 0.4,
        responsive=rng.random(n) < m.responsive,
        direction_bias=np.where(rng.random(n) < m.direction_biased, rng.uniform(*m.direction_bias, n), 0.0),
        preferred_direction_deg=(theta + 90 + dir_sign) % 360,  # drift is orthogonal to the bars
        preferred_tf_hz=2.0 ** rng.uniform(0, 3, n),
        baseline_hz=rng.lognormal(np.log(0.8), 0.5, n), peak_hz=rng.lognormal(np.log(m.peak_hz), 0.5, n),
        running_gain=np.where(rng.random(n) < 0.4, rng.uniform(0.2, 0.8, n), 0.0),
        calcium_decay_s=rng.uniform(0.5, 1.0, n), spike_amplitude=rng.lognormal(np.log(m.spike_amplitude), 0.3, n),
        noise_sd=rng.uniform(0.05, 0.12, n))


def movie_drive(rf: ReceptiveFields, movie: np.ndarray) -> np.ndarray:
    """``(K, N)`` z-scored linear-nonlinear drive of each neuron by each movie frame."""
    K = movie.shape[0]
    x = movie.reshape(K, -1).astype(np.float32)
    x = (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-6)
    even, odd = rf.gabors(movie.shape[1:])
    g1, g2 = x @ even.T, x @ odd.T
    drive = np.where(rf.complex_cell[None], np.sqrt(g1 ** 2 + g2 ** 2), np.maximum(g1, 0))
    drive = ndimage.uniform_filter1d(drive, size=3, axis=0, origin=1)  # ~100 ms integration, causal
    return (drive - drive.mean(0)) / (drive.std(0) + 1e-6)


def frame_response(rf: ReceptiveFields, movie: np.ndarray) -> np.ndarray:
    """``(K, N)`` noise-free visual response of each neuron to each movie frame, about 0 to 1
    (softplus of :func:`movie_drive`, ~1 at +3 sd; 0 for unresponsive neurons): what the
    spikes' rate follows, before Poisson spiking, calcium, gain and noise."""
    drive = movie_drive(rf, movie)
    response = np.log1p(np.exp(1.5 * (drive - 0.5))) / np.log1p(np.exp(1.5 * 2.5))
    return response * rf.responsive[None]


def grating_amplitude(rf: ReceptiveFields, direction_deg: float, tf_hz: float, wavelength_px: float,
                      untuned: float = 0.0) -> np.ndarray:
    """``(N,)`` response amplitude in [0, 1] to a full-field drifting grating: the Gabor's
    Fourier amplitude at the grating's wave vector (plus an ``untuned`` part independent of
    orientation), times direction and TF tuning."""
    k = 2 * np.pi / wavelength_px
    phi = np.deg2rad(direction_deg - 90)  # bars orientation for this drift direction
    kx, ky = k * np.cos(phi), k * np.sin(phi)
    k0 = 2 * np.pi / rf.wavelength
    th = np.deg2rad(rf.theta_deg)
    s2 = rf.sigma ** 2 / 2
    amp = (np.exp(-s2 * ((kx - k0 * np.cos(th)) ** 2 + (ky - k0 * np.sin(th)) ** 2))
           + np.exp(-s2 * ((kx + k0 * np.cos(th)) ** 2 + (ky + k0 * np.sin(th)) ** 2)))
    dsel = 1 + rf.direction_bias * np.cos(np.deg2rad(direction_deg - rf.preferred_direction_deg))
    tf = np.exp(-(np.log2(tf_hz) - np.log2(rf.preferred_tf_hz)) ** 2 / (2 * 1.2 ** 2))
    amp = (1 - untuned) * np.clip(amp, 0, 1) + untuned * 0.5
    return amp * dsel / (1 + rf.direction_bias) * tf


def visual_gain(m: ResponseModel, T: int, n: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """``(T, N)`` multiplicative gain on the visual drive: a fluctuation shared by all cells
    (``shared_gain_sd``, time constant ``shared_gain_s``), each cell's slow drift over the
    session (``session_drift_sd``) and adaptation (``adaptation``)."""
    gain = np.ones((T, n))
    if m.shared_gain_sd > 0:
        a = np.exp(-1.0 / (m.shared_gain_s * rate))
        g = signal.lfilter([np.sqrt(1 - a * a)], [1.0, -a], rng.standard_normal(T))
        gain *= np.exp(m.shared_gain_sd * g - m.shared_gain_sd ** 2 / 2)[:, None]
    if m.session_drift_sd > 0:
        knots = max(int(T / rate / 10), 2)  # a step every 10 s
        walk = np.cumsum(rng.standard_normal((knots, n)), axis=0) * m.session_drift_sd / np.sqrt(knots)
        walk = np.vstack([np.zeros((1, n)), walk])
        t = np.linspace(0, knots, T)
        gain *= np.exp(np.stack([np.interp(t, np.arange(knots + 1), walk[:, j]) for j in range(n)], 1))
    if m.adaptation > 0:
        gain *= (1 - m.adaptation * np.arange(T) / max(T - 1, 1))[:, None]
    return gain


def calcium_from_spikes(spikes: np.ndarray, rate_hz: float, decay_s: np.ndarray,
                        rise_s: float = 0.05) -> np.ndarray:
    """GCaMP6-like response: spikes ``(T, N)`` convolved with exp(-t/decay) - exp(-t/rise),
    peak-normalised per neuron."""
    out = np.empty(spikes.shape, dtype=np.float64)
    a_r = np.exp(-1.0 / (rise_s * rate_hz))
    for j in range(spikes.shape[1]):
        a_d = np.exp(-1.0 / (decay_s[j] * rate_hz))
        slow = signal.lfilter([1.0], [1.0, -a_d], spikes[:, j])
        fast = signal.lfilter([1.0], [1.0, -a_r], spikes[:, j])
        t = np.arange(int(5 * decay_s[j] * rate_hz) + 2)
        peak = np.max(a_d ** t - a_r ** t)
        out[:, j] = (slow - fast) / peak
    return out


# -------------------------------------------------------------------------- sessions
def _session_schedule(cfg: SimulationConfig, rng: np.random.Generator, t0: float):
    """Stimulus timetable: spont, gratings 1, spont, movie x10, gratings 2, spont."""
    conds = [(int(d), tf) for d in DRIFTING_DIRECTIONS_DEG for tf in TEMPORAL_FREQUENCIES_HZ] * cfg.grating_repeats
    n_blank = max(1, len(conds) // 8)
    sweeps = conds + [None] * n_blank
    order = rng.permutation(len(sweeps))
    sweeps = [sweeps[i] for i in order]
    half = len(sweeps) // 2
    t = t0 + cfg.spontaneous_s
    epochs = {"drifting_gratings": ([], []), "natural_movie_one": ([], []), "spontaneous": ([], [])}
    epochs["spontaneous"][0].append(t0)
    epochs["spontaneous"][1].append(t)
    g_rows = []

    def run_gratings(block, t):
        epochs["drifting_gratings"][0].append(t)
        for sw in block:
            if sw is not None:
                g_rows.append((t, t + 2.0, float(sw[0]), float(sw[1])))
            t += 3.0
        epochs["drifting_gratings"][1].append(t)
        return t

    t = run_gratings(sweeps[:half], t)
    epochs["spontaneous"][0].append(t)
    t += cfg.spontaneous_s
    epochs["spontaneous"][1].append(t)
    t += 1.0
    m_start = t
    k = np.arange(cfg.movie_repeats * MOVIE_FRAMES)
    frame_start = m_start + k / MOVIE_RATE_HZ
    frame_end = np.append(frame_start[1:], frame_start[-1] + 1 / MOVIE_RATE_HZ)  # frames abut
    t = frame_end[-1]
    epochs["natural_movie_one"] = ([m_start], [t])
    t = run_gratings(sweeps[half:], t + 1.0)
    epochs["spontaneous"][0].append(t)
    t += cfg.spontaneous_s
    epochs["spontaneous"][1].append(t)
    g = np.array(g_rows, dtype=np.float64).reshape(-1, 4)
    return dict(frame_start=frame_start, frame_end=frame_end, frame=k % MOVIE_FRAMES,
                repeat=k // MOVIE_FRAMES, grating=g,
                epochs={key: (np.array(a), np.array(b)) for key, (a, b) in epochs.items()},
                end=t)


def simulate_recording(cfg: SimulationConfig, index: int, movie: np.ndarray, session_id: str):
    """Simulate session ``index``. Returns ``(Recording, ReceptiveFields, spikes (T, N) uint8)``."""
    rng = np.random.default_rng([cfg.seed, index])
    n = cfg.neurons[index % len(cfg.neurons)]
    m = cfg.response
    rf = sample_receptive_fields(n, cfg.frame_shape, rng, m)
    t0 = float(np.round(rng.uniform(5.0, 10.0), 5))
    sched = _session_schedule(cfg, rng, t0)
    rate = cfg.sampling_rate
    T = int(np.floor((sched["end"] - t0) * rate)) + 1
    ts = t0 + np.arange(T) / rate
    dt = 1.0 / rate

    # visual drive per sample
    visual = np.zeros((T, n), dtype=np.float64)
    fidx = np.searchsorted(sched["frame_start"], ts, side="right") - 1
    in_movie = (fidx >= 0) & (ts < sched["frame_end"][np.clip(fidx, 0, None)])
    visual[in_movie] = frame_response(rf, movie)[sched["frame"][fidx[in_movie]]]
    wavelength = float(np.median(rf.wavelength))
    g = sched["grating"]
    for s, e, direction, tf in g:
        sel = (ts >= s) & (ts < e)
        amp = grating_amplitude(rf, direction, tf, wavelength, m.untuned)
        tt = ts[sel] - s
        phase = 2 * np.pi * tf * tt[:, None]
        modulation = np.where(rf.complex_cell[None], 1.0, 1.6 * np.maximum(np.cos(phase + rf.phase[None]), 0))
        onset = 1 - np.exp(-tt / 0.1)[:, None]
        visual[sel] = 1.4 * amp[None] * modulation * onset
    visual *= rf.responsive[None]
    visual *= visual_gain(m, T, n, rate, rng)

    # running bouts (OU speed, cm/s) and a slow shared state
    noise = rng.standard_normal((T, 2))
    run = signal.lfilter([np.sqrt(dt) * 1.2], [1.0, -(1 - dt / 8.0)], noise[:, 0])
    state = signal.lfilter([np.sqrt(dt / 10.0)], [1.0, -(1 - dt / 20.0)], noise[:, 1])
    speed = np.maximum(0.0, 6 * run)
    run_norm = np.tanh(speed / 10.0)
    rates = (rf.baseline_hz[None] * np.exp(0.4 * state[:, None])
             + rf.peak_hz[None] * visual) * (1 + rf.running_gain[None] * run_norm[:, None])
    spikes = rng.poisson(np.clip(rates * dt, 0, None)).astype(np.uint8)

    calcium = calcium_from_spikes(spikes.astype(np.float64), rate, rf.calcium_decay_s)
    signal_ = calcium * rf.spike_amplitude[None]
    a_drift = np.exp(-1.0 / (30 * rate))  # ~30 s baseline wander, AR(1) applied twice
    drift = signal.lfilter([1.0], [1.0, -a_drift], rng.standard_normal((T, n)), axis=0)
    drift = signal.lfilter([1.0], [1.0, -a_drift], drift, axis=0)
    drift -= drift.mean(0, keepdims=True)
    drift = 0.03 * drift / (drift.std(0, keepdims=True) + 1e-9)
    shot = rng.standard_normal((T, n)) * (rf.noise_sd[None] * np.sqrt(1 + 2 * signal_))
    dff = signal_ + drift + shot
    if m.shared_dff_sd > 0:
        a = np.exp(-1.0 / (m.shared_dff_s * rate))
        common = signal.lfilter([np.sqrt(1 - a * a)], [1.0, -a], rng.standard_normal(T))
        dff += m.shared_dff_sd * common[:, None] * rng.uniform(0.5, 1.0, n)[None]
    dff = dff.astype(np.float32)

    rec = Recording(
        session_id=session_id, traces=dff, sampling_rate=rate, start_time=t0,
        roi_xy=rng.uniform(0, 512, (n, 2)), roi_area=rng.normal(120, 30, n).clip(30),
        roi_width=rng.normal(12, 2, n).clip(4), roi_height=rng.normal(12, 2, n).clip(4),
        intervals={"natural_movie_one": {"start": sched["frame_start"], "end": sched["frame_end"],
                                         "frame": sched["frame"].astype(np.int64),
                                         "repeat": sched["repeat"].astype(np.int64)},
                   "drifting_gratings": {"start": g[:, 0], "end": g[:, 1], "direction": g[:, 2],
                                         "temporal_frequency": g[:, 3]}},
        epochs=sched["epochs"], running_speed=speed.astype(np.float32),
        subject=dict(id=f"sim-{cfg.seed}-{index}", species="Mus musculus", sex=str(rng.choice(["M", "F"])),
                     cre_line=str(rng.choice(["CUX2_CREERT2", "SST_IRES_CRE", "EMX1_IRES_CRE", "RORB_IRES_CRE"])),
                     depth_class=str(rng.choice(["SUPERFICIAL", "DEEP"])), target_area="VIS_P"))
    return rec, rf, spikes


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("neurocine")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree without install
        return "unknown"


def session_ids(cfg: SimulationConfig) -> list[str]:
    """Allen-like 9-digit session ids, unique and deterministic from the seed."""
    rng = np.random.default_rng([cfg.seed, 999])
    ids: list[str] = []
    while len(ids) < cfg.sessions:
        sid = str(int(rng.integers(500_000_000, 800_000_000)))
        if sid not in ids:
            ids.append(sid)
    return ids


def simulate_dataset(out_dir: str | Path, cfg: SimulationConfig | None = None, progress: bool = True,
                     **overrides) -> list[Path]:
    """Write a simulated dataset into ``out_dir``.

    Writes ``<session_id>.h5`` per session (layout ``cfg.layout``),
    ``<session_id>_truth.npz`` (receptive fields and spikes), ``natural_movie_one.npy``
    ``(900, H, W) uint8`` and ``simulation.json`` (the config). Refuses to overwrite any
    existing file, checked before anything is written.

    Args:
        out_dir: Target folder (created).
        cfg: Simulation settings; ``overrides`` replace single fields.
        progress: Show a tqdm bar.

    Returns:
        The session file paths.

    Example:
        >>> import tempfile, neurocine
        >>> paths = simulate_dataset(tempfile.mkdtemp(), sessions=1, neurons=(20,),
        ...                          grating_repeats=1, spontaneous_s=2.0, progress=False)
        >>> len(neurocine.load_sessions(paths[0].parent))
        1
    """
    from tqdm.auto import tqdm

    cfg = cfg or SimulationConfig()
    if overrides:
        cfg = replace(cfg, **overrides)
    cfg.neurons = tuple(int(x) for x in cfg.neurons)
    cfg.frame_shape = tuple(int(x) for x in cfg.frame_shape)
    cfg.validate()
    out = Path(out_dir)
    ids = session_ids(cfg)
    targets = ([out / f"{sid}.h5" for sid in ids] + [out / f"{sid}_truth.npz" for sid in ids]
               + [out / MOVIE_FILE, out / "simulation.json"])
    if out.exists() and not out.is_dir():
        raise DataError(out, "is a file, expected a folder for the simulated sessions (--out)")
    existing = [p for p in targets if p.exists()]
    if existing:
        raise DataError(existing[0], f"already exists; refusing to overwrite ({len(existing)} of the simulator's "
                                     "files are present; choose an empty --out)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(out, exc) from None
    writer = write_kirby if cfg.layout == "kirby" else write_brainsets
    movie = simulate_movie(MOVIE_FRAMES, cfg.frame_shape, seed=cfg.seed)
    paths = []
    for i, sid in enumerate(tqdm(ids, desc="simulate", unit="session", disable=not progress)):
        rec, rf, spikes = simulate_recording(cfg, i, movie, sid)
        rec.simulation = {"simulator": "neurocine.io.simulate", "seed": cfg.seed, "session_index": i,
                          "neurocine": _version()}
        paths.append(writer(rec, out / f"{sid}.h5", source=f"simulated session {sid}"))
        truth = {f"rf_{k}": v for k, v in asdict(rf).items()}
        atomic_write(out / f"{sid}_truth.npz", lambda tmp: np.savez_compressed(tmp, spikes=spikes, **truth),
                     overwrite=False)
    atomic_write(out / MOVIE_FILE, lambda tmp: np.save(tmp, movie), overwrite=False)
    meta = {**asdict(cfg), "session_ids": ids, "movie_file": MOVIE_FILE}
    atomic_write(out / "simulation.json", lambda tmp: tmp.write_text(json.dumps(meta, indent=2)), overwrite=False)
    return paths
