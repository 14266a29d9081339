"""The client library's parts that need no server: sources, reports, load statistics."""

import asyncio
import json
import subprocess
import sys

import numpy as np
import pytest

from serving.batch import ImageResult
from serving.client import AlexNetClient, Classification, _parse_classification
from serving.load import measure, measure_async, summarize
from serving.report import format_table, to_json_line
from serving.sources import expand_sources, read_file


def test_client_imports_no_tensorflow():
    # A client machine needs tritonclient and NumPy only.
    code = (
        "import sys, serving.client, serving.batch, serving.report, serving.sources, "
        "serving.server, serving.load; print('tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_expand_sources_reads_folders_globs_and_keeps_missing_files(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("a/1.jpg", "a/2.PNG", "a/notes.txt", "b.jpeg", "c.gif"):
        (tmp_path / name).write_bytes(b"x")
    sources = [str(tmp_path / "a"), str(tmp_path / "*.jp*g"), str(tmp_path / "missing.jpg"),
               str(tmp_path / "b.jpeg")]

    paths = expand_sources(sources)

    assert paths == [
        str(tmp_path / "a" / "1.jpg"),
        str(tmp_path / "a" / "2.PNG"),
        str(tmp_path / "b.jpeg"),
        str(tmp_path / "missing.jpg"),
    ]


def test_read_file_refuses_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        read_file(str(tmp_path / "empty.jpg"))
    with pytest.raises(FileNotFoundError):
        read_file(str(tmp_path / "missing.jpg"))


def test_classification_strings_are_parsed_with_colons_in_labels():
    assert _parse_classification(b"0.750000:12:ratio 1:2") == Classification("ratio 1:2", 12, 0.75)


def test_reports_show_results_and_errors():
    results = [
        ImageResult("cat.jpg", (Classification("tabby", 281, 0.8), Classification("tiger", 282, 0.1))),
        ImageResult("bad.jpg", error="Unknown image file format"),
    ]
    table = format_table(results).splitlines()
    assert table[0].split() == ["image", "top-1", "probability", "next", "classes"]
    assert table[1].split() == ["cat.jpg", "tabby", "0.8000", "tiger", "0.1000"]
    assert table[2].split()[:2] == ["bad.jpg", "ERROR"] and "Unknown image" in table[2]
    assert json.loads(to_json_line(results[0])) == {
        "source": "cat.jpg",
        "top_k": [
            {"label": "tabby", "index": 281, "probability": 0.8},
            {"label": "tiger", "index": 282, "probability": 0.1},
        ],
        "error": None,
    }
    assert json.loads(to_json_line(results[1]))["error"] == "Unknown image file format"


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((1, 67, 67, 3), np.float64), "float32"),
        (np.zeros((67, 67, 3), np.float32), "float32 array"),
        ([], "non-empty sequence of bytes"),
        (["cat.jpg"], "Received: types=\\['str'\\]"),
    ],
)
def test_client_rejects_malformed_images_before_sending(images, message):
    async def scenario():
        async with AlexNetClient("127.0.0.1:1") as client:
            await client.probabilities(images)

    with pytest.raises(ValueError, match=message):
        asyncio.run(scenario())


def test_client_rejects_unknown_protocols():
    with pytest.raises(ValueError, match="Received: protocol='udp'"):
        AlexNetClient(protocol="udp")


def test_load_statistics():
    result = summarize([0.01] * 98 + [0.5, 1.0], seconds=2.0, batch_size=4, concurrency=2)
    assert result.requests == 100 and result.images_per_second == 200.0
    assert result.latency_p50_ms == pytest.approx(10.0)
    assert result.latency_p99_ms == pytest.approx(505.0)


def test_measure_counts_warmup_apart_and_keeps_concurrency():
    calls = []
    result = measure(lambda: calls.append(1), batch_size=8, requests=5, warmup=2)
    assert len(calls) == 7 and result.requests == 5 and result.concurrency == 1

    in_flight, peak = 0, 0

    async def request():
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1

    result = asyncio.run(measure_async(request, batch_size=2, concurrency=3, requests=9, warmup=1))
    assert result.requests == 9 and result.concurrency == 3 and peak == 3
    assert result.images_per_second == pytest.approx(9 * 2 / result.seconds)
