"""Checks on imported archives that run before Keras reads them."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from kerve_server.engine.archives import (
    MAX_CONFIG_BYTES,
    ArchiveError,
    spec_document_from_archive,
)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_oversized_config_rejected() -> None:
    padding = {"class_name": "Sequential", "padding": " " * (MAX_CONFIG_BYTES + 1)}
    data = _zip({"config.json": json.dumps(padding).encode(), "model.weights.h5": b""})

    with pytest.raises(ArchiveError) as caught:
        spec_document_from_archive(data, max_unpacked_bytes=10**9)

    assert len(data) < 100_000
    assert "config.json unpacks to" in str(caught.value)
    assert f"limit of {MAX_CONFIG_BYTES:,}" in str(caught.value)


def test_total_unpacked_size_limited() -> None:
    data = _zip({"config.json": b"{}", "model.weights.h5": b"\0" * 10_000})

    with pytest.raises(ArchiveError) as caught:
        spec_document_from_archive(data, max_unpacked_bytes=5_000)

    assert "unpacks to 10,002 bytes, more than the limit of 5,000" in str(caught.value)


def test_unexpected_member_rejected() -> None:
    data = _zip({"config.json": b"{}", "model.weights.h5": b"", "run.py": b"x"})

    with pytest.raises(ArchiveError, match="unexpected files in the archive"):
        spec_document_from_archive(data, max_unpacked_bytes=10**9)


def test_archive_compile_settings_kept() -> None:
    config = {
        "class_name": "Sequential",
        "config": {
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_shape": [None, 3]}},
                {
                    "class_name": "Dense",
                    "module": "keras.layers",
                    "config": {
                        "units": 1,
                        "activation": "linear",
                        "kernel_initializer": {"class_name": "Zeros", "config": {}},
                        "bias_initializer": {"class_name": "Zeros", "config": {}},
                    },
                },
            ]
        },
        "compile_config": {
            "optimizer": {
                "class_name": "RMSprop",
                "config": {"learning_rate": 0.0020000000949949026},
            },
            "loss": {"class_name": "Huber", "config": {}},
        },
    }
    data = _zip({"config.json": json.dumps(config).encode(), "model.weights.h5": b""})

    document = spec_document_from_archive(data, max_unpacked_bytes=10**9)

    assert document["input_shape"] == [3]
    assert document["compile"] == {
        "optimizer": {"name": "rmsprop", "learning_rate": 0.002},
        "loss": "huber",
    }
