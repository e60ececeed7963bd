# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Visual wake words: person / no-person composites (a stand-in for COCO VWW)
#
# Provided code (no exercises): the data of Module 18's visual-wake-words task.
#
# Visual Wake Words (Chowdhery et al. 2019) relabels COCO 2014 photos (CC BY 4.0 annotations, Flickr
# images under their own licences) as "a person fills at least 0.5% of the image" or not, at 96x96x3.
# We have no photos of people to composite (the only one shipped in our packages is a portrait), so
# here **"person" means a drawn human figure**: a head, a torso, two arms and two legs in a random pose,
# size, position and clothing colours, shaded and pasted onto a photo background. "No person" images
# get the same backgrounds and, most of the time, a non-human object of similar size (a box, a ball,
# a pole, a bush); person images sometimes get one too, so that "something is there" is not enough.
#
# Backgrounds come from images that ship inside installed packages, and the two splits use
# **disjoint sources**:
#
# | split | backgrounds |
# |---|---|
# | train | `china.jpg` (scikit-learn sample image) and the Jacksboro fault elevation map (matplotlib sample data, hill-shaded) |
# | test | `flower.jpg` (scikit-learn sample image) and the topography/bathymetry map (matplotlib sample data, hill-shaded) |
#
# scikit-learn's two photos are CC BY 2.0 (Flickr); matplotlib's sample data ships under the
# matplotlib licence. It is a test of shape recognition on varied backgrounds, not of detecting real
# people: a figure is far simpler than a person in a photo, so a score here says nothing about COCO.

# %%
#| default_exp datasets.wake_words
#| export
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinytorch.datasets.task_data import (
    DATA_FORMAT_VERSION, DATA_SEED, TaskData, cached_arrays, check_size, make_task_data)

# %%
#| export
VWW_SIZE = 96
_VWW_SIZES = {"full": (1600, 400), "small": (400, 120)}  # (train, test) images, half with a person
_VWW_SOURCES = {"train": ("sklearn:china.jpg", "matplotlib:jacksboro_fault_dem.npz"),
                "test": ("sklearn:flower.jpg", "matplotlib:topobathy.npz")}


def _package_image(source: str) -> np.ndarray:
    """An RGB float image in [0, 1] from a file shipped inside scikit-learn or matplotlib."""
    package, name = source.split(":")
    if package == "sklearn":
        try:
            from sklearn.datasets import load_sample_image
        except ImportError as error:
            raise RuntimeError("the visual-wake-words backgrounds are scikit-learn's sample images; "
                               "install it with: pip install scikit-learn") from error
        return load_sample_image(name).astype(np.float64) / 255.0
    import matplotlib
    from matplotlib.colors import LightSource
    import matplotlib.pyplot as plt

    with np.load(Path(matplotlib.get_data_path()) / "sample_data" / name, allow_pickle=False) as archive:
        elevation = np.asarray(archive["elevation" if "elevation" in archive.files else "topo"], dtype=np.float64)
    colormap = plt.get_cmap("gist_earth" if "jacksboro" in name else "terrain")
    return LightSource(azdeg=315, altdeg=45).shade(elevation, cmap=colormap, blend_mode="soft")[..., :3]


def _random_crop(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    side = int(rng.integers(min(height, width) // 4, min(height, width) + 1))
    top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    rows = top + (np.arange(VWW_SIZE) * side) // VWW_SIZE
    cols = left + (np.arange(VWW_SIZE) * side) // VWW_SIZE
    crop = image[rows[:, None], cols[None, :]]
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def _capsule(ys: np.ndarray, xs: np.ndarray, start, end, radius: float) -> np.ndarray:
    """A soft mask of the points within `radius` of the segment start-end."""
    (y0, x0), (y1, x1) = start, end
    dy, dx = y1 - y0, x1 - x0
    t = np.clip(((ys - y0) * dy + (xs - x0) * dx) / max(dy * dy + dx * dx, 1e-9), 0.0, 1.0)
    distance = np.hypot(ys - (y0 + t * dy), xs - (x0 + t * dx))
    return np.clip(radius + 0.5 - distance, 0.0, 1.0)


def _paste(canvas: np.ndarray, mask: np.ndarray, colour: np.ndarray, rng: np.random.Generator) -> None:
    """Alpha-blend a shaded colour through `mask` into `canvas` (in place)."""
    shade = np.linspace(1.1, 0.8, VWW_SIZE)[:, None, None] * rng.uniform(0.7, 1.2)
    canvas[:] = canvas * (1 - mask[..., None]) + np.clip(colour * shade, 0, 1) * mask[..., None]


def _draw_person(rng: np.random.Generator, canvas: np.ndarray) -> None:
    ys, xs = np.mgrid[0:VWW_SIZE, 0:VWW_SIZE].astype(np.float64)
    height = rng.uniform(34, 80)
    top = rng.uniform(-0.05 * height, VWW_SIZE - 0.95 * height)
    centre = rng.uniform(0.15 * height, VWW_SIZE - 0.15 * height)
    lean = rng.uniform(-0.15, 0.15)

    def at(fy, fx):  # a point of the figure, in fractions of its height, with a lean
        return top + fy * height, centre + (fx + lean * (fy - 0.55)) * height

    skin = rng.choice(np.array([[0.96, 0.80, 0.69], [0.87, 0.67, 0.52], [0.62, 0.43, 0.30], [0.36, 0.24, 0.16]]))
    shirt, trousers = rng.uniform(0, 1, 3), rng.uniform(0, 0.7, 3)
    spread, arm_left, arm_right = rng.uniform(0.02, 0.14), rng.uniform(-0.25, 0.1), rng.uniform(-0.25, 0.1)
    legs = np.maximum(_capsule(ys, xs, at(0.52, -0.045), at(0.97, -spread), 0.045 * height),
                      _capsule(ys, xs, at(0.52, 0.045), at(0.97, spread), 0.045 * height))
    _paste(canvas, legs, trousers, rng)
    torso = _capsule(ys, xs, at(0.24, 0.0), at(0.52, 0.0), 0.095 * height)
    arms = np.maximum(_capsule(ys, xs, at(0.23, -0.1), at(0.5 + arm_left, -0.12 - 0.2 * (arm_left + 0.25)), 0.035 * height),
                      _capsule(ys, xs, at(0.23, 0.1), at(0.5 + arm_right, 0.12 + 0.2 * (arm_right + 0.25)), 0.035 * height))
    _paste(canvas, np.maximum(torso, arms), shirt, rng)
    head = _capsule(ys, xs, at(0.1, 0.0), at(0.12, 0.0), 0.075 * height)
    _paste(canvas, head, skin, rng)


def _draw_object(rng: np.random.Generator, canvas: np.ndarray) -> None:
    """A non-human object of a person's size: a box, a ball, a pole or a bush on a stem."""
    ys, xs = np.mgrid[0:VWW_SIZE, 0:VWW_SIZE].astype(np.float64)
    size = rng.uniform(20, 70)
    cy, cx = rng.uniform(size / 3, VWW_SIZE - size / 3), rng.uniform(size / 4, VWW_SIZE - size / 4)
    kind = rng.integers(0, 4)
    if kind == 0:
        aspect = rng.uniform(0.5, 2.0)
        mask = ((np.abs(ys - cy) < size / 2) & (np.abs(xs - cx) < size * aspect / 2)).astype(np.float64)
    elif kind == 1:
        mask = _capsule(ys, xs, (cy, cx), (cy, cx), size / 2.5)
    elif kind == 2:
        mask = _capsule(ys, xs, (cy - size / 2, cx), (cy + size / 2, cx + rng.uniform(-5, 5)), rng.uniform(2, 5))
    else:
        stem = _capsule(ys, xs, (cy, cx), (cy + size / 2, cx), size * 0.05)
        crown = _capsule(ys, xs, (cy - size / 3, cx - size / 6), (cy - size / 5, cx + size / 6), size / 4)
        mask = np.maximum(stem, crown)
    _paste(canvas, mask, rng.uniform(0, 1, 3), rng)


def _vww_images(rng: np.random.Generator, backgrounds: list[np.ndarray], count: int) -> tuple[np.ndarray, np.ndarray]:
    images = np.empty((count, VWW_SIZE, VWW_SIZE, 3), dtype=np.float32)
    labels = np.tile(np.array([0, 1], dtype=np.int64), count // 2 + 1)[:count]
    for i, label in enumerate(labels):
        canvas = _random_crop(rng, backgrounds[int(rng.integers(0, len(backgrounds)))])
        # Colour jitter (channel order, per-channel gain, sometimes grey) so that the colours of a
        # background say nothing about the label: only the figure does.
        canvas = canvas[..., rng.permutation(3)] * rng.uniform(0.6, 1.3, 3)
        if rng.random() < 0.2:
            canvas = np.repeat(canvas.mean(axis=2, keepdims=True), 3, axis=2)
        if rng.random() < (0.3 if label else 0.7):
            _draw_object(rng, canvas)
        if label:
            _draw_person(rng, canvas)
        canvas = canvas + rng.normal(0.0, rng.uniform(0.0, 0.04), canvas.shape)
        images[i] = np.clip(canvas, 0.0, 1.0)
    return images, labels


def make_visual_wake_words(size: str = "full", seed: int = DATA_SEED, cache_root: str | Path | None = None) -> TaskData:
    """96x96x3 person / no-person composites; train and test backgrounds from disjoint sources.

    Args:
        size: "full" (1600 train, 400 test) or "small" (400, 120); half of each has a person (label 1).
        seed: seeds crops, figures, objects, colours and noise.
        cache_root: see `cache_dir`.

    Raises:
        RuntimeError: if scikit-learn (whose sample photos are the backgrounds) is not installed.
    """
    check_size(size)
    train_count, test_count = _VWW_SIZES[size]

    def build():
        rng = np.random.default_rng(seed)
        split = {name: [_package_image(source) for source in sources] for name, sources in _VWW_SOURCES.items()}
        x_train, y_train = _vww_images(rng, split["train"], train_count)
        x_test, y_test = _vww_images(rng, split["test"], test_count)
        arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
        metadata = {"name": "TinyVWW composites", "stand_in_for": "COCO Visual Wake Words (MLPerf Tiny VWW)",
                    "real_data": False, "synthetic": True, "size": size, "seed": seed, "labels": ["no_person", "person"],
                    "person_means": "a drawn human figure (head, torso, two arms, two legs; random pose, size, "
                                    "position, colours) pasted on the background; not a photo of a person",
                    "provenance": {"train_backgrounds": list(_VWW_SOURCES["train"]),
                                   "test_backgrounds": list(_VWW_SOURCES["test"]),
                                   "objects": "boxes, balls, poles, bushes drawn as distractors"},
                    "licence": "composites generated by this module (Apache-2.0); scikit-learn sample photos "
                               "china.jpg and flower.jpg: CC BY 2.0 (Flickr); matplotlib sample data: "
                               "matplotlib licence (PSF-style)"}
        return arrays, metadata

    arrays, metadata = cached_arrays(f"visual_wake_words-{size}-seed{seed}-v{DATA_FORMAT_VERSION}", build, cache_root)
    return make_task_data("visual_wake_words", arrays, metadata)
