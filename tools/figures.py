"""Draw a trained model's figures as PNGs: training curves, conv1 kernels, fc7 neighbours.

Writes into OUT: `training_curves.png` (loss, top-1/top-5 error and learning rate per
epoch, from MODEL_DIR/history/history.json), `conv1_kernels.png` (the paper's Figure 3:
the 96 first-layer kernels, tower 1 above tower 2) and, with --data-dir,
`nearest_neighbours.png` (the paper's Figure 4: query images from --query-split and the
images of --gallery-split closest to them in fc7 feature space).

Examples:
    python tools/figures.py --model-dir runs/alexnet --data-dir data/fashion_mnist --out docs/figures
    python tools/figures.py --model-dir runs/alexnet --out docs/figures --figures curves kernels
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from alexnet_tf.figures import FIGURE_FILES, write_figures


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="a training run's output folder")
    parser.add_argument("--out", required=True, help="folder to write the PNGs into")
    parser.add_argument("--data-dir", help="data set of the neighbour figure's queries and gallery")
    parser.add_argument(
        "--figures", nargs="+", choices=tuple(FIGURE_FILES),
        help="figures to draw (default: all; neighbours only with --data-dir)",
    )
    parser.add_argument("--query-split", default="val", help="split of the query images (default: val)")
    parser.add_argument("--gallery-split", default="train", help="split searched for neighbours (default: train)")
    parser.add_argument("--queries", type=int, default=5, help="query images, one row each (default: 5)")
    parser.add_argument("--neighbours", type=int, default=6, help="neighbours per query (default: 6)")
    parser.add_argument(
        "--max-gallery", type=int, default=10000,
        help="search this many gallery images spread over the split; 0 for all (default: 10000)",
    )
    parser.add_argument("--image-size", type=int, help="rescaled square side (default: the run's, else 256)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per forward pass (default: 64)")
    parser.add_argument("--dpi", type=int, default=100, help="pixels per inch of the PNGs (default: 100)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("absl", "tensorflow", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    figures = args.figures or [name for name in FIGURE_FILES if args.data_dir or name != "neighbours"]
    try:
        written = write_figures(
            args.model_dir, args.out, figures=figures, data_dir=args.data_dir,
            query_split=args.query_split, gallery_split=args.gallery_split,
            queries=args.queries, neighbours=args.neighbours, max_gallery=args.max_gallery or None,
            image_size=args.image_size, batch_size=args.batch_size, dpi=args.dpi, progress=True,
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written.values():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
