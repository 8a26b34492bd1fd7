"""Natural scenes (``metrics.json["scenes"]``)."""

from __future__ import annotations

import html

from neurocine.report.sections.base import section
from neurocine.report.tables import ci, table
from neurocine.scores import Comparison

METHODS = {"halfunet": "HalfUNet from the embedding", "ridge_embedding": "ridge from the embedding",
           "ridge_dff": "ridge from dF/F", "retrieval_dff": "retrieval: image of the nearest train trial (dF/F)",
           "mean_image": "mean training image (floor)"}


@section("scenes")
def scenes(res: dict) -> str:
    """Natural scenes: reconstruction and identification."""
    c = Comparison.from_json(res, "ssim", models=("halfunet",))
    rows = [[name, c.value(m), ci(c.score(m).ci95), c.value(m, "pixel_r"), c.value(m, "median_rank"),
             c.value(m, "top1")] for m, name in METHODS.items()]
    return (f"<h2>Natural scenes ({res['n_test_trials']} test trials)</h2>"
            + table(["method", "SSIM", "95 % CI", "pixel r", "median rank of the true image", "top-1"], rows,
                    "scenes", 1)
            + f"<p class='note'>Chance median rank: {res['chance_median_rank']:.1f} of {res['n_images']}. Every "
              "test image was also shown in train trials (seen images); retrieval is the fair baseline. "
              "Labels that trained the embedding: "
              f"{html.escape(str(res.get('embedding_supervision') or 'unknown'))}; the decoders: the train "
              "trials' images.</p>")
