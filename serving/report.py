"""Formats classification results as an aligned table or as JSON lines."""

from __future__ import annotations

import json
from typing import Sequence

from serving.batch import ImageResult


def to_json_line(result: ImageResult) -> str:
    """One JSON object: `{"source", "top_k": [{"label", "index", "probability"}], "error"}`."""
    return json.dumps(
        {
            "source": result.source,
            "top_k": [
                {"label": c.label, "index": c.index, "probability": c.probability}
                for c in result.classifications
            ],
            "error": result.error,
        }
    )


def format_table(results: Sequence[ImageResult]) -> str:
    """A text table: one row per image with its top class, probability and the others."""
    rows = [("image", "top-1", "probability", "next classes")]
    for result in results:
        if result.error is not None:
            rows.append((result.source, "ERROR", "", result.error))
            continue
        best, *others = result.classifications
        rows.append(
            (
                result.source,
                best.label,
                f"{best.probability:.4f}",
                ", ".join(f"{c.label} {c.probability:.4f}" for c in others),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        ("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3]).rstrip()
        for row in rows
    )
