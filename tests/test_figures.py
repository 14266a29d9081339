"""The figures: training curves, the conv1 kernel mosaic (Figure 3), fc7 neighbours (Figure 4)."""

import keras
import numpy as np
import pytest
from PIL import Image

import alexnet_tf
from alexnet_tf.data import IMAGENET_STATS, eval_dataset, resolve_source, save_stats
from alexnet_tf.figures import (
    NeighbourSearch,
    conv1_kernels,
    curve_panels,
    euclidean_distances,
    find_neighbours,
    history_series,
    kernel_mosaic,
    load_history,
    normalize_kernels,
    plot_conv1_kernels,
    plot_training_curves,
    spread_positions,
)
from alexnet_tf.training.callbacks import HistoryWriter
from tools import figures as figures_tool

IMAGE_SIZE, INPUT_SIZE = 72, 67
LABELS = ("red, scarlet", "green", "blue")


def tiny_alexnet(**kwargs) -> keras.Model:
    return alexnet_tf.build_alexnet(num_classes=3, width_multiplier=0.0625, input_size=INPUT_SIZE, **kwargs)


def epoch_logs(epoch: int, validation: bool = True) -> dict:
    """Epoch logs shaped as the training loop passes them to its callbacks."""
    logs = {"loss": 1.0 / (epoch + 1), "top1_error": 0.5 - 0.1 * epoch, "top5_error": 0.1 - 0.02 * epoch}
    if validation:
        logs.update(val_loss=1.2 / (epoch + 1), val_top1_error=0.6 - 0.1 * epoch, val_top5_error=0.2)
    return {**logs, "learning_rate": np.float32(0.01 / 10 ** (epoch // 2))}


def write_history(model_dir, logs: list[dict]) -> None:
    """Writes `MODEL_DIR/history/history.json` with the training code's own writer."""
    writer = HistoryWriter(model_dir / "history")
    for epoch, record in enumerate(logs):
        writer.on_epoch_end(epoch, record)


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        image.verify()
        return image.size


# --- Training curves --------------------------------------------------------------------


def test_history_series_reads_the_training_writer_format(tmp_path):
    write_history(tmp_path, [epoch_logs(0, validation=False), epoch_logs(1), epoch_logs(2)])
    series = history_series(load_history(tmp_path))
    np.testing.assert_array_equal(series["epoch"], [1, 2, 3])
    np.testing.assert_allclose(series["top1_error"], [0.5, 0.4, 0.3])
    np.testing.assert_allclose(series["val_top1_error"], [np.nan, 0.5, 0.4])  # no validation in epoch 1
    np.testing.assert_allclose(series["learning_rate"], [0.01, 0.01, 0.001], rtol=1e-6)
    panels = ["loss", "top1_error", "top5_error"]
    assert [panel.keys[0] for panel in curve_panels(series)] == [*panels, "learning_rate"]
    del series["learning_rate"]
    assert [panel.keys[0] for panel in curve_panels(series)] == panels


def test_training_curves_png_has_one_panel_per_recorded_quantity(tmp_path):
    write_history(tmp_path, [epoch_logs(epoch) for epoch in range(4)])
    records = load_history(tmp_path)
    assert png_size(plot_training_curves(records, tmp_path / "all.png")) == (1600, 300)
    without_rate = [{key: value for key, value in record.items() if key != "learning_rate"} for record in records]
    assert png_size(plot_training_curves(without_rate, tmp_path / "no_lr.png", dpi=50)) == (600, 150)


@pytest.mark.parametrize(
    "content, error, message",
    [
        (None, FileNotFoundError, "No training history"),
        ("[]", ValueError, "non-empty JSON list"),
        ('[{"loss": 1.0}]', ValueError, "integer 'epoch'"),
        ("{not json", ValueError, "is not JSON"),
    ],
)
def test_load_history_errors_name_the_model_dir(tmp_path, content, error, message):
    if content is not None:
        (tmp_path / "history").mkdir()
        (tmp_path / "history" / "history.json").write_text(content)
    with pytest.raises(error, match=message) as raised:
        load_history(tmp_path)
    assert str(raised.value).endswith(f"Received: model_dir={str(tmp_path)!r}")


# --- conv1 kernels (Figure 3) -------------------------------------------------------------


def test_normalize_kernels_maps_each_kernel_to_the_unit_range():
    rng = np.random.default_rng(0)
    kernels = rng.normal(size=(11, 11, 3, 5)) * np.array([0.01, 1, 100, 3, 0.5])
    kernels[..., 4] = 7.0  # a constant kernel
    normalized = normalize_kernels(kernels)
    for j in range(4):
        kernel = kernels[..., j]
        np.testing.assert_allclose(normalized[..., j], (kernel - kernel.min()) / np.ptp(kernel), atol=1e-6)
        assert normalized[..., j].min() == 0.0 and normalized[..., j].max() == 1.0
    np.testing.assert_array_equal(normalized[..., 4], 0.5)


def test_kernel_mosaic_places_kernel_j_of_tower_t_at_its_tile():
    model = tiny_alexnet()
    rng = np.random.default_rng(1)
    towers = model.get_layer("conv1").tower_layers
    assigned = [rng.normal(size=(11, 11, 3, 3)).astype("float32") * (t + 1) for t in range(len(towers))]
    for layer, kernel in zip(towers, assigned):
        layer.kernel.assign(kernel)

    kernels = conv1_kernels(model)
    assert len(kernels) == 2
    for t, kernel in enumerate(assigned):
        np.testing.assert_array_equal(kernels[t], kernel)
        mosaic = kernel_mosaic(kernels[t], columns=2, padding=1, fill=1.0)
        assert mosaic.shape == (2 * 12 + 1, 2 * 12 + 1, 3)
        for j in range(3):
            top, left = 1 + (j // 2) * 12, 1 + (j % 2) * 12
            expected = (kernel[..., j] - kernel[..., j].min()) / np.ptp(kernel[..., j])
            np.testing.assert_allclose(mosaic[top : top + 11, left : left + 11], expected, atol=1e-6)
        assert (mosaic[13:24, 13:24] == 1.0).all()  # no fourth kernel: the tile stays blank
        assert (mosaic[0] == 1.0).all() and (mosaic[:, 12] == 1.0).all()  # padding lines


@pytest.mark.parametrize(
    "towers, width_multiplier, per_tower",
    [(2, 0.0625, 3), (1, 0.0625, 6), (2, 0.125, 6)],
)
def test_conv1_kernels_of_one_tower_and_scaled_models(towers, width_multiplier, per_tower):
    model = alexnet_tf.build_alexnet(
        num_classes=3, towers=towers, width_multiplier=width_multiplier, input_size=INPUT_SIZE
    )
    kernels = conv1_kernels(model)
    assert [kernel.shape for kernel in kernels] == [(11, 11, 3, per_tower)] * towers


def test_kernel_figure_stacks_one_labelled_mosaic_per_tower(tmp_path):
    two_towers = conv1_kernels(tiny_alexnet())
    one_tower = conv1_kernels(tiny_alexnet(towers=1))
    # 8 inches at 100 dpi; each tower: one row of 0.5-inch tiles plus a 0.4-inch title.
    assert png_size(plot_conv1_kernels(two_towers, tmp_path / "two.png")) == (800, 180)
    assert png_size(plot_conv1_kernels(one_tower, tmp_path / "one.png")) == (800, 90)
    # The paper's 48 kernels per tower in 16 columns: three rows each.
    paper = [np.zeros((11, 11, 3, 48), "float32")] * 2
    assert png_size(plot_conv1_kernels(paper, tmp_path / "paper.png")) == (800, 380)


def test_conv1_kernels_need_a_tower_conv1():
    images = keras.Input((INPUT_SIZE, INPUT_SIZE, 3))
    plain = keras.Model(images, keras.layers.Conv2D(4, 11, name="conv1")(images), name="plain")
    with pytest.raises(ValueError, match="no tower convolution 'conv1'.*Received: model='plain'"):
        conv1_kernels(plain)
    other = keras.Model(images, keras.layers.Dense(2, name="fc")(images), name="other")
    with pytest.raises(ValueError, match="TowerConv2D"):
        conv1_kernels(other)


# --- Nearest neighbours (Figure 4) ----------------------------------------------------------


def brute_force(queries, gallery, k):
    distances = np.linalg.norm(queries[:, None, :] - gallery[None, :, :], axis=-1)
    order = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(distances, order, axis=1)


def brute_force_without(queries, gallery, own, k):
    """Brute force where query i may not match gallery item `own[i]`."""
    distances = np.linalg.norm(queries[:, None, :] - gallery[None, :, :], axis=-1)
    distances[np.arange(len(own)), own] = np.inf
    return np.argsort(distances, axis=1, kind="stable")[:, :k]


def test_streamed_search_equals_brute_force():
    rng = np.random.default_rng(2)
    queries, gallery = rng.normal(size=(4, 16)), rng.normal(size=(50, 16))
    search = NeighbourSearch(queries, k=5)
    for start in range(0, 50, 7):  # uneven batches
        search.add(gallery[start : start + 7], np.arange(start, min(start + 7, 50)) + 100)
    indices, distances = brute_force(queries, gallery, 5)
    np.testing.assert_array_equal(search.positions, indices + 100)
    np.testing.assert_allclose(search.distances, distances, rtol=1e-12)
    assert search.complete


def test_a_query_in_the_gallery_finds_itself_first_unless_excluded():
    rng = np.random.default_rng(3)
    gallery = rng.normal(size=(20, 8)) * 100
    queries = gallery[[4, 11]]
    found = NeighbourSearch(queries, k=3)
    found.add(gallery, np.arange(20))
    np.testing.assert_array_equal(found.positions[:, 0], [4, 11])
    np.testing.assert_array_equal(found.distances[:, 0], 0.0)
    assert euclidean_distances(queries, queries).diagonal().tolist() == [0.0, 0.0]

    excluded = NeighbourSearch(queries, k=3, exclude=[4, 11])
    excluded.add(gallery, np.arange(20))
    np.testing.assert_array_equal(excluded.positions, brute_force_without(queries, gallery, [4, 11], 3))
    assert not np.isin([4, 11], excluded.positions).any()


def test_ties_go_to_the_lower_position_and_a_small_gallery_is_incomplete():
    search = NeighbourSearch(np.zeros((1, 2)), k=3)
    search.add(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([9, 3]))
    assert not search.complete
    search.add(np.array([[0.0, -1.0]]), np.array([5]))
    np.testing.assert_array_equal(search.positions, [[3, 5, 9]])
    assert search.complete


def test_search_and_spread_reject_bad_arguments():
    np.testing.assert_array_equal(spread_positions(12, 5), [0, 2, 4, 7, 9])
    np.testing.assert_array_equal(spread_positions(3, 5), [0, 1, 2])
    with pytest.raises(ValueError, match="Received: count=0"):
        spread_positions(10, 0)
    with pytest.raises(ValueError, match="Received: k=0"):
        NeighbourSearch(np.zeros((2, 4)), k=0)
    with pytest.raises(ValueError, match="one position per query"):
        NeighbourSearch(np.zeros((2, 4)), k=1, exclude=[0])


@pytest.fixture
def image_dir(tmp_path, make_image_tree):
    """3 classes of 24x24 images (class colour plus noise): 4 training and 2 val images each."""
    rng = np.random.default_rng(4)
    colours = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200]])

    def images(colour, count):
        return [np.clip(colour + rng.normal(0, 40, (24, 24, 3)), 0, 255).astype(np.uint8) for _ in range(count)]

    splits = {
        split: {f"class_{c}": images(colour, count) for c, colour in enumerate(colours)}
        for split, count in (("train", 4), ("val", 2))
    }
    root = make_image_tree(tmp_path / "data", splits)
    (root / "labels.txt").write_text("".join(f"{label}\n" for label in LABELS))
    return root


def split_features(model, root, split):
    """Oracle: every image of a split through the project's eval pipeline and fc7."""
    source = resolve_source(root, split)
    dataset = eval_dataset(source, batch_size=64, stats=IMAGENET_STATS, image_size=IMAGE_SIZE, crop_size=INPUT_SIZE)
    images, labels = next(iter(dataset))
    features = np.asarray(alexnet_tf.feature_model(model).predict_on_batch(images), np.float64)
    return images.numpy(), labels.numpy(), features


def test_find_neighbours_equals_brute_force_over_the_eval_pipeline(discriminative_alexnet, image_dir):
    model = discriminative_alexnet(seed=0, num_classes=3)
    query_images, query_labels, query_features = split_features(model, image_dir, "val")
    gallery_images, gallery_labels, gallery_features = split_features(model, image_dir, "train")
    grid = find_neighbours(
        model, resolve_source(image_dir, "val"), resolve_source(image_dir, "train"),
        stats=IMAGENET_STATS, queries=3, k=4, image_size=IMAGE_SIZE, batch_size=5,
    )
    np.testing.assert_array_equal(grid.query_positions, [0, 2, 4])  # one query per class
    np.testing.assert_array_equal(grid.query_labels, query_labels[[0, 2, 4]])
    indices, distances = brute_force(query_features[[0, 2, 4]], gallery_features, 4)
    np.testing.assert_array_equal(grid.positions, indices)
    np.testing.assert_allclose(grid.distances, distances, rtol=1e-4)
    np.testing.assert_array_equal(grid.labels, gallery_labels[indices])
    mean = np.asarray(IMAGENET_STATS.mean_rgb, np.float32)
    np.testing.assert_allclose(grid.images, np.clip(gallery_images[indices] + mean, 0, 255), atol=0.5)
    np.testing.assert_allclose(grid.query_images, np.clip(query_images[[0, 2, 4]] + mean, 0, 255), atol=0.5)


def test_queries_from_the_gallery_split_never_match_themselves(discriminative_alexnet, image_dir):
    model = discriminative_alexnet(seed=0, num_classes=3)
    source = resolve_source(image_dir, "train")
    grid = find_neighbours(model, source, source, stats=IMAGENET_STATS, queries=4, k=3, image_size=IMAGE_SIZE)
    _, _, features = split_features(model, image_dir, "train")
    expected = brute_force_without(features[grid.query_positions], features, grid.query_positions, 3)
    np.testing.assert_array_equal(grid.positions, expected)
    with pytest.raises(ValueError, match="fewer than k=12 images"):
        find_neighbours(model, source, source, stats=IMAGENET_STATS, queries=1, k=12, image_size=IMAGE_SIZE)


# --- The tool ----------------------------------------------------------------------------


@pytest.fixture
def model_dir(tmp_path, discriminative_alexnet):
    """A model directory as training leaves it: model, history and statistics."""
    root = tmp_path / "model"
    root.mkdir()
    discriminative_alexnet(seed=0, num_classes=3).save(root / "model.keras")
    write_history(root, [epoch_logs(epoch) for epoch in range(3)])
    save_stats(IMAGENET_STATS, root)
    return root


def test_tool_writes_the_three_figures(model_dir, image_dir, tmp_path, capsys):
    out = tmp_path / "figures"
    status = figures_tool.main([
        "--model-dir", str(model_dir), "--data-dir", str(image_dir), "--out", str(out),
        "--queries", "3", "--neighbours", "4", "--image-size", str(IMAGE_SIZE),
    ])
    assert status == 0
    assert png_size(out / "training_curves.png") == (1600, 300)
    assert png_size(out / "conv1_kernels.png") == (800, 180)
    assert png_size(out / "nearest_neighbours.png") == (5 * 150, 3 * 200 + 30)  # (k+1) x queries cells
    assert capsys.readouterr().out.count("wrote ") == 3


def test_tool_without_data_dir_skips_the_neighbours(model_dir, tmp_path):
    out = tmp_path / "figures"
    assert figures_tool.main(["--model-dir", str(model_dir), "--out", str(out)]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["conv1_kernels.png", "training_curves.png"]


@pytest.mark.parametrize(
    "remove, arguments, message",
    [
        ("history/history.json", ["--figures", "curves"], "No training history"),
        ("model.keras", ["--figures", "kernels"], "No trained model"),
        (None, ["--figures", "neighbours"], "needs `data_dir`"),
    ],
)
def test_tool_reports_missing_inputs(model_dir, tmp_path, capsys, remove, arguments, message):
    if remove:
        (model_dir / remove).unlink()
    status = figures_tool.main(["--model-dir", str(model_dir), "--out", str(tmp_path / "out"), *arguments])
    assert status == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error and "Received: " in error
    assert not (tmp_path / "out").exists()
