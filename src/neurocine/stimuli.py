"""Stimulus facts and the label registry: what the mouse saw, in one place.

Allen Brain Observatory Visual Coding shows movies (natural_movie_one/two/three), trials of
drifting and static gratings and flashed natural scenes, plus spontaneous activity. A
:class:`~neurocine.Session` carries what was on screen at each sample as a *label table*:
``{label name: (T,) array}``. Every label name is registered here once as a
:class:`LabelSpec` that says its kind, units, allowed values and the template it indexes;
readers fill the table, and samplers, decoders and the pipeline look labels up by name.

Label kinds:

* ``frame``: an index into a movie template whose neighbouring frames are similar
  (``natural_movie_one.frame``: 0..899). ``int64``, -1 where the movie is not shown.
  Decoded as frame identification (within a tolerance in frames).
* ``class``: a categorical condition (``drifting_gratings.direction`` in degrees,
  ``natural_scenes.image`` 0..117). Float classes are stored in their units with NaN
  outside; integer classes as ``int64`` with -1 outside. Decoded as classification.
* ``continuous``: a real value (``running_speed`` in cm/s), NaN where unknown.

A stimulus (:class:`Stimulus`) groups labels: a *movie* is identified by its frame label, a
*trial* stimulus by the condition its class labels form (direction x temporal frequency).
Adding a stimulus or label is one entry below plus the reader lines that fill it; a label
computed from others (``derive``) needs no reader at all.

Example:
    >>> spec = LABELS["drifting_gratings.direction"]
    >>> spec.kind, spec.unit, len(spec.classes)
    ('class', 'deg', 8)
    >>> spec.class_ids(np.array([0.0, 90.0, np.nan], dtype=np.float32)).tolist()
    [0, 2, -1]
    >>> LABELS["natural_movie_one.frame"].n_values
    900
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np

LabelKind = Literal["frame", "class", "continuous"]

#: Display rate of the movies, Hz (one movie frame per 2P sample at ~30 Hz).
MOVIE_RATE_HZ = 30.0
#: Frames in each Allen movie template.
MOVIE_FRAMES = {"natural_movie_one": 900, "natural_movie_two": 900, "natural_movie_three": 3600}
#: Drifting gratings: 8 directions (deg) x 5 temporal frequencies (Hz), 2 s on, 1 s gray.
DRIFTING_DIRECTIONS_DEG = tuple(float(d) for d in range(0, 360, 45))
TEMPORAL_FREQUENCIES_HZ = (1.0, 2.0, 4.0, 8.0, 15.0)
#: Static gratings: 6 orientations x 5 spatial frequencies (cycles/deg) x 4 phases, 250 ms each.
STATIC_ORIENTATIONS_DEG = (0.0, 30.0, 60.0, 90.0, 120.0, 150.0)
SPATIAL_FREQUENCIES_CPD = (0.02, 0.04, 0.08, 0.16, 0.32)
STATIC_PHASES = (0.0, 0.25, 0.5, 0.75)
#: Natural scenes: 118 images, 250 ms each.
NATURAL_SCENES = 118


@dataclass(frozen=True)
class LabelSpec:
    """What one label means.

    Attributes:
        name: ``"<stimulus>.<field>"`` (or a plain name for behaviour, ``running_speed``).
        kind: ``frame``, ``class`` or ``continuous`` (see the module docstring).
        dtype: ``"int64"`` (missing = -1) or ``"float32"`` (missing = NaN).
        unit: Physical unit of the values (``deg``, ``Hz``, ``cm/s``; ``""`` for indices).
        classes: ``class`` labels: the allowed values in order (their ids are positions);
            None for an integer class without a fixed table (e.g. a repeat number).
        n_values: ``frame`` labels: the template length (valid frames are 0..n-1).
        template: Name of the stimulus template the values index (frames, images), if any.
        stimulus: The stimulus this label belongs to.
        description: One line for ``inspect`` and the docs.
        derive: Optional ``table -> (T,) array``: the label is computed from the labels
            named in ``needs`` whenever those are present (no reader has to fill it).
        needs: Labels ``derive`` reads.
    """

    name: str
    kind: LabelKind
    dtype: Literal["int64", "float32"] = "float32"
    unit: str = ""
    classes: tuple[float, ...] | None = None
    n_values: int | None = None
    template: str | None = None
    stimulus: str | None = None
    description: str = ""
    derive: Callable[[dict], np.ndarray] | None = field(default=None, compare=False)
    needs: tuple[str, ...] = ()

    @property
    def fill(self):
        """The value of samples the label does not cover (-1 or NaN)."""
        return -1 if self.dtype == "int64" else np.nan

    def empty(self, T: int) -> np.ndarray:
        """``(T,)`` array of :attr:`fill`."""
        return np.full(int(T), self.fill, dtype=self.dtype)

    def present(self, values: np.ndarray) -> np.ndarray:
        """``(T,) bool``: samples that carry a value."""
        values = np.asarray(values)
        return values >= 0 if self.dtype == "int64" else np.isfinite(values)

    def class_ids(self, values: np.ndarray) -> np.ndarray:
        """``(T,) int64`` id of each sample's class (position in :attr:`classes`), -1 where
        absent. Float values map to the nearest class; integer classes without a table
        are their own ids."""
        values = np.asarray(values)
        ids = np.full(values.shape, -1, dtype=np.int64)
        here = self.present(values)
        if self.classes is None:
            ids[here] = values[here].astype(np.int64)
            return ids
        table = np.asarray(self.classes, dtype=np.float64)
        ids[here] = np.argmin(np.abs(values[here].astype(np.float64)[:, None] - table[None]), axis=1)
        return ids

    @property
    def n_classes(self) -> int | None:
        """Number of classes (``class`` with a table) or frames (``frame``)."""
        if self.kind == "frame":
            return self.n_values
        return None if self.classes is None else len(self.classes)


@dataclass(frozen=True)
class Stimulus:
    """A stimulus: a movie (identified by its frame label), trials (identified by the
    condition their class labels form, in :attr:`labels` order, mixed radix), or other
    (shown and labelled, but not used to align sessions: sparse noise, spontaneous)."""

    name: str
    structure: Literal["movie", "trials", "other"]
    labels: tuple[str, ...]
    template: str | None = None

    @property
    def n_conditions(self) -> int:
        """Number of distinct conditions (product of the labels' class counts)."""
        return int(np.prod([LABELS[n].n_classes or 1 for n in self.labels]))

    def condition_ids(self, table: dict) -> np.ndarray:
        """``(T,) int64`` condition of each sample: the mixed-radix id of this stimulus's
        class labels in :attr:`labels` order (drifting gratings: direction id x 5 +
        temporal-frequency id), -1 where a carried label has no value (outside trials,
        blank sweeps). Only the labels the table carries count (one with at least one
        value); one it lacks counts as its first class, so ids stay comparable across
        tables. All -1 when the table carries none.

        Example:
            >>> dg = STIMULI["drifting_gratings"]
            >>> dg.condition_ids({"drifting_gratings.direction": np.array([0.0, 90.0, np.nan]),
            ...                   "drifting_gratings.temporal_frequency": np.array([2.0, 1.0, np.nan])}).tolist()
            [1, 10, -1]
            >>> dg.condition_ids({"drifting_gratings.direction": np.array([0.0, 90.0])}).tolist()  # direction alone
            [0, 10]
        """
        ids, T = {}, None
        for name in self.labels:
            if name in table:
                values = np.asarray(table[name])
                T = len(values)
                spec = LABELS[name]
                if spec.present(values).any():
                    ids[name] = spec.class_ids(values)
        if T is None:
            return np.zeros(0, dtype=np.int64)
        if not ids:
            return np.full(T, -1, dtype=np.int64)
        cond = np.zeros(T, dtype=np.int64)
        for name in self.labels:
            cond = cond * (LABELS[name].n_classes or 1) + np.clip(ids.get(name, np.zeros(T, np.int64)), 0, None)
        present = np.all([i >= 0 for i in ids.values()], axis=0)
        return np.where(present, cond, -1)


LABELS: dict[str, LabelSpec] = {}
STIMULI: dict[str, Stimulus] = {}


def register_label(spec: LabelSpec) -> LabelSpec:
    """Add a label to the registry (a re-registration with the same name replaces it)."""
    LABELS[spec.name] = spec
    return spec


def register_stimulus(stimulus: Stimulus) -> Stimulus:
    """Add a stimulus to the registry (its labels must be registered first)."""
    missing = [name for name in stimulus.labels if name not in LABELS]
    if missing:
        raise ValueError(f"stimulus {stimulus.name!r}: labels {missing} are not registered")
    STIMULI[stimulus.name] = stimulus
    return stimulus


def label_spec(name: str) -> LabelSpec:
    """The registered spec of ``name``; a user label that is not registered is treated as
    continuous (float) or, for integer arrays, as a class label (see :func:`spec_for`)."""
    if name not in LABELS:
        raise KeyError(f"unknown label {name!r}; registered: {', '.join(sorted(LABELS))}")
    return LABELS[name]


def spec_for(name: str, values: np.ndarray) -> LabelSpec:
    """The registered spec of ``name``, or an ad-hoc one for a user label (integer ->
    class, float -> continuous)."""
    if name in LABELS:
        return LABELS[name]
    integer = np.issubdtype(np.asarray(values).dtype, np.integer)
    return LabelSpec(name, "class" if integer else "continuous", "int64" if integer else "float32")


def derive_labels(table: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``table`` plus every registered derived label whose inputs are present in it."""
    out = dict(table)
    for spec in LABELS.values():
        if spec.derive is not None and spec.name not in out and all(n in out for n in spec.needs):
            out[spec.name] = np.asarray(spec.derive(out), dtype=spec.dtype)
    return out


def frame_labels(table) -> list[str]:
    """Names of the ``frame`` labels in ``table`` (movies shown), registry order."""
    return [n for n, s in LABELS.items() if s.kind == "frame" and n in table]


def movie_of(label: str) -> str:
    """The stimulus (template) a frame label indexes: ``natural_movie_one.frame`` ->
    ``natural_movie_one``."""
    spec = label_spec(label)
    return spec.template or spec.stimulus or label.split(".")[0]


# ------------------------------------------------------------------------ the registry
for _movie, _n in MOVIE_FRAMES.items():
    register_label(LabelSpec(f"{_movie}.frame", "frame", "int64", n_values=_n, template=_movie, stimulus=_movie,
                             description=f"{_movie} frame shown (0..{_n - 1})"))
    register_label(LabelSpec(f"{_movie}.repeat", "class", "int64", stimulus=_movie,
                             description=f"repeat of {_movie} (0 = first showing)"))
    register_stimulus(Stimulus(_movie, "movie", (f"{_movie}.frame",), template=_movie))

register_label(LabelSpec("drifting_gratings.direction", "class", unit="deg", classes=DRIFTING_DIRECTIONS_DEG,
                         stimulus="drifting_gratings", description="drift direction of the grating"))
register_label(LabelSpec("drifting_gratings.temporal_frequency", "class", unit="Hz", classes=TEMPORAL_FREQUENCIES_HZ,
                         stimulus="drifting_gratings", description="temporal frequency of the grating"))
register_label(LabelSpec("drifting_gratings.orientation", "class", unit="deg",
                         classes=DRIFTING_DIRECTIONS_DEG[:4], stimulus="drifting_gratings",
                         description="orientation of the bars (direction modulo 180)",
                         derive=lambda t: np.where(np.isfinite(t["drifting_gratings.direction"]),
                                                   np.mod(t["drifting_gratings.direction"], 180.0), np.nan),
                         needs=("drifting_gratings.direction",)))
register_stimulus(Stimulus("drifting_gratings", "trials",
                           ("drifting_gratings.direction", "drifting_gratings.temporal_frequency")))

register_label(LabelSpec("static_gratings.orientation", "class", unit="deg", classes=STATIC_ORIENTATIONS_DEG,
                         stimulus="static_gratings", description="orientation of the static grating"))
register_label(LabelSpec("static_gratings.spatial_frequency", "class", unit="cycles/deg",
                         classes=SPATIAL_FREQUENCIES_CPD, stimulus="static_gratings",
                         description="spatial frequency of the static grating"))
register_label(LabelSpec("static_gratings.phase", "class", classes=STATIC_PHASES, stimulus="static_gratings",
                         description="phase of the static grating (fraction of a cycle)"))
register_stimulus(Stimulus("static_gratings", "trials", ("static_gratings.orientation",
                                                         "static_gratings.spatial_frequency",
                                                         "static_gratings.phase")))

register_label(LabelSpec("natural_scenes.image", "class", "int64", classes=tuple(range(NATURAL_SCENES)),
                         template="natural_scenes", stimulus="natural_scenes",
                         description="natural scene shown (0..117); blank sweeps are unlabelled"))
register_stimulus(Stimulus("natural_scenes", "trials", ("natural_scenes.image",), template="natural_scenes"))

register_label(LabelSpec("locally_sparse_noise.frame", "class", "int64", template="locally_sparse_noise",
                         stimulus="locally_sparse_noise",
                         description="locally sparse noise frame shown (template index)"))
register_stimulus(Stimulus("locally_sparse_noise", "other", ("locally_sparse_noise.frame",),
                           template="locally_sparse_noise"))
register_label(LabelSpec("spontaneous.on", "class", "int64", classes=(1,), stimulus="spontaneous",
                         description="1 during spontaneous-activity epochs (gray screen)"))
register_stimulus(Stimulus("spontaneous", "other", ("spontaneous.on",)))

register_label(LabelSpec("running_speed", "continuous", unit="cm/s", description="running speed of the mouse"))


__all__ = ["LabelSpec", "Stimulus", "LABELS", "STIMULI", "register_label", "register_stimulus", "label_spec",
           "spec_for", "derive_labels", "frame_labels", "movie_of", "MOVIE_FRAMES", "MOVIE_RATE_HZ",
           "DRIFTING_DIRECTIONS_DEG", "TEMPORAL_FREQUENCIES_HZ", "STATIC_ORIENTATIONS_DEG",
           "SPATIAL_FREQUENCIES_CPD", "STATIC_PHASES", "NATURAL_SCENES"]
