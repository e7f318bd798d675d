"""ImportModel and ExportModel through the client, with archives made by Keras."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import kerve

SPEC = kerve.ModelSpec(
    input_shape=(4,),
    layers=[kerve.Dense(8, activation="relu"), kerve.Dense(1)],
    seed=5,
)
ROWS = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
TARGETS = ROWS.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def keras(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The keras module, imported with its settings folder in a temporary one."""
    with pytest.MonkeyPatch.context() as patch:
        # Keras writes keras.json into KERAS_HOME at import.
        patch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras-home")))
        patch.setenv("KERAS_BACKEND", "tensorflow")
        patch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras as imported

        yield imported


@pytest.fixture(scope="module")
def archives(keras: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Paths of ``.keras`` archives that Keras wrote, by kind."""
    folder = tmp_path_factory.mktemp("archives")

    @keras.saving.register_keras_serializable(package="kerve_tests")
    class Doubling(keras.layers.Layer):  # type: ignore[misc]
        def call(self, inputs: Any) -> Any:
            return inputs * 2

    # A subclass with the class name Dense: only its registered name
    # distinguishes it from keras.layers.Dense.
    @keras.saving.register_keras_serializable(package="kerve_tests", name="Dense")
    class Dense(keras.layers.Dense):  # type: ignore[misc]
        pass

    inputs = keras.Input(shape=(4,))
    functional = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    models = {
        "dense": keras.Sequential(
            [
                keras.Input(shape=(4,)),
                keras.layers.Dense(8, activation="tanh"),
                keras.layers.Dense(2),
            ]
        ),
        "lambda": keras.Sequential(
            [
                keras.Input(shape=(4,)),
                keras.layers.Dense(8),
                keras.layers.Lambda(lambda tensor: tensor * 2),
            ]
        ),
        "custom-layer": keras.Sequential(
            [keras.Input(shape=(4,)), keras.layers.Dense(8), Doubling()]
        ),
        "custom-dense": keras.Sequential([keras.Input(shape=(4,)), Dense(8)]),
        "functional": functional,
    }
    models["dense"].compile(optimizer=keras.optimizers.SGD(0.05), loss="mae")
    paths = {}
    for kind, model in models.items():
        paths[kind] = folder / f"{kind}.keras"
        model.save(paths[kind])
    return paths


def trained_model(client: kerve.Client, name: str) -> kerve.Model:
    client.create_model(name, SPEC)
    return client.train(name, x=ROWS, y=TARGETS, epochs=3).model


def outputs(client: kerve.Client, name: str) -> np.ndarray:
    return client.predict(name, ROWS, warn=False).outputs


# Round trips


def test_trained_round_trip(client: kerve.Client, name: str) -> None:
    original = trained_model(client, name)

    archive = client.export_model(name)
    copy = client.import_model(f"{name}-copy", archive, state=kerve.State.TRAINED)

    np.testing.assert_allclose(
        outputs(client, f"{name}-copy"), outputs(client, name), rtol=0, atol=1e-6
    )
    assert copy.state is kerve.State.TRAINED
    assert copy.untrained is False
    assert copy.version == 2
    assert copy.spec["layers"] == original.spec["layers"]
    assert copy.spec["input_shape"] == [4]
    assert client.predict(f"{name}-copy", ROWS).meaningful is True


def test_export_to_file(client: kerve.Client, name: str, tmp_path: Path) -> None:
    trained_model(client, name)
    path = tmp_path / "model.keras"

    exported = client.export_model(name, path)
    copy = client.import_model(f"{name}-copy", path, state=kerve.State.TRAINED)

    data = path.read_bytes()
    assert exported.path == path
    assert exported.version == 2
    assert exported.untrained is False
    assert exported.model.name == name
    assert exported.size_bytes == len(data)
    assert exported.sha256 == hashlib.sha256(data).hexdigest()
    assert zipfile.is_zipfile(path)
    assert copy.version == 2
    np.testing.assert_allclose(
        outputs(client, f"{name}-copy"), outputs(client, name), rtol=0, atol=1e-6
    )


def test_untrained_import_is_flagged(client: kerve.Client, name: str) -> None:
    trained_model(client, name)

    copy = client.import_model(f"{name}-copy", client.export_model(name))
    with pytest.warns(kerve.UntrainedPredictionWarning):
        prediction = client.predict(f"{name}-copy", ROWS)
    report = client.evaluate(f"{name}-copy", x=ROWS, y=TARGETS)

    assert copy.state is kerve.State.UNTRAINED
    assert copy.untrained is True
    assert copy.version == 1
    assert prediction.untrained is True
    assert prediction.meaningful is False
    # The imported weights become the initial weights.
    np.testing.assert_allclose(
        prediction.outputs, outputs(client, name), rtol=0, atol=1e-6
    )
    assert report.current == report.initial


def test_export_initial_version(client: kerve.Client, name: str) -> None:
    trained_model(client, name)
    client.create_model(f"{name}-fresh", SPEC)

    archive = client.export_model(name, version=1)
    client.import_model(f"{name}-copy", archive)

    np.testing.assert_allclose(
        outputs(client, f"{name}-copy"),
        outputs(client, f"{name}-fresh"),
        rtol=0,
        atol=1e-6,
    )


def test_export_of_untrained_version_says_so(
    client: kerve.Client, name: str, tmp_path: Path
) -> None:
    trained_model(client, name)

    exported = client.export_model(name, tmp_path / "initial.keras", version=1)

    assert exported.version == 1
    assert exported.untrained is True
    assert exported.model.version == 2


def test_import_in_small_chunks(client: kerve.Client, name: str) -> None:
    trained_model(client, name)
    archive = client.export_model(name)

    client.import_model(
        f"{name}-copy", archive, state=kerve.State.TRAINED, chunk_bytes=1000
    )

    assert len(archive) > 10 * 1000
    np.testing.assert_allclose(
        outputs(client, f"{name}-copy"), outputs(client, name), rtol=0, atol=1e-6
    )


def test_import_with_compile_settings(client: kerve.Client, name: str) -> None:
    trained_model(client, name)
    settings = {
        "optimizer": {"name": "sgd", "learning_rate": 0.01},
        "loss": "mae",
        "metrics": ["mae"],
    }

    copy = client.import_model(
        f"{name}-copy",
        client.export_model(name),
        state=kerve.State.TRAINED,
        compile=settings,
        seed=9,
    )
    retrained = client.train(f"{name}-copy", x=ROWS, y=TARGETS, epochs=1)

    assert copy.spec["compile"] == settings
    # The JSON form of a protobuf int64 is a string.
    assert copy.spec["seed"] == "9"
    assert "mae" in retrained.summary.final_metrics
    assert retrained.model.version == 3


# Archives written by Keras


def test_keras_archive_imports(
    client: kerve.Client, name: str, keras: Any, archives: dict[str, Path]
) -> None:
    expected = keras.saving.load_model(archives["dense"]).predict(ROWS, verbose=0)

    model = client.import_model(name, archives["dense"], state=kerve.State.TRAINED)
    imported_outputs = outputs(client, name)
    retrained = client.train(name, x=ROWS, y=np.zeros((16, 2)), epochs=1)

    np.testing.assert_allclose(imported_outputs, expected, rtol=0, atol=1e-5)
    assert model.state is kerve.State.TRAINED
    layers = [layer["dense"] for layer in model.spec["layers"]]
    assert [(layer["units"], layer["activation"]) for layer in layers] == [
        (8, "tanh"),
        (2, "linear"),
    ]
    assert retrained.model.version == 3


def test_import_keeps_archive_compile_settings(
    client: kerve.Client, name: str, archives: dict[str, Path]
) -> None:
    # The archive was compiled with SGD (learning rate 0.05) and mae, which
    # are both on the allow-lists.
    model = client.import_model(name, archives["dense"])

    assert model.spec["compile"]["loss"] == "mae"
    assert model.spec["compile"]["optimizer"]["name"] == "sgd"
    assert model.spec["compile"]["optimizer"]["learning_rate"] == 0.05


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("lambda", "layer 2 is 'Lambda'; only Dense layers can be imported"),
        ("custom-layer", "layer 2 is 'Doubling'; only Dense layers can be imported"),
        ("custom-dense", "layer 1 is a custom layer, which cannot be imported"),
        ("functional", "expected a Sequential model, found 'Functional'"),
    ],
)
def test_unsafe_keras_archive_rejected(
    client: kerve.Client,
    name: str,
    archives: dict[str, Path],
    kind: str,
    reason: str,
) -> None:
    with pytest.raises(kerve.InvalidArgumentError) as raised:
        client.import_model(name, archives[kind], state=kerve.State.TRAINED)

    assert raised.value.message == f"cannot import model {name!r}: {reason}"
    assert raised.value.field_violations == [("chunk", reason)]
    with pytest.raises(kerve.NotFoundError):
        client.get_model(name)


@pytest.mark.parametrize(
    "kind", ["not-zip", "empty", "truncated", "truncated-end", "zip-without-model"]
)
def test_damaged_archive_rejected(client: kerve.Client, name: str, kind: str) -> None:
    client.create_model(f"{name}-source", SPEC)
    archive = client.export_model(f"{name}-source")
    contents = {
        "not-zip": b"this is not a zip file\n",
        "empty": b"",
        "truncated": archive[: len(archive) // 2],
        "truncated-end": archive[:-20],
        "zip-without-model": _zip({"config.json": "{}"}),
    }[kind]

    with pytest.raises(kerve.InvalidArgumentError) as raised:
        client.import_model(name, contents)

    message = raised.value.message
    assert message.startswith(f"cannot import model {name!r}: ")
    if kind == "zip-without-model":
        assert "lacks config.json or model.weights.h5" in message
    else:
        assert "not a .keras archive (a zip file)" in message
    with pytest.raises(kerve.NotFoundError):
        client.get_model(name)
    # The server goes on serving the other models.
    assert client.predict(f"{name}-source", ROWS, warn=False).version == 1


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, text in members.items():
            archive.writestr(member, text)
    return buffer.getvalue()


# Errors


def test_import_existing_name(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)
    archive = client.export_model(name)

    with pytest.raises(kerve.AlreadyExistsError, match=f"model {name!r} already"):
        client.import_model(name, archive)


def test_import_invalid_name(client: kerve.Client, name: str) -> None:
    client.create_model(name, SPEC)

    with pytest.raises(kerve.InvalidArgumentError, match="invalid model name"):
        client.import_model("Bad Name", client.export_model(name))


def test_export_unknown_version(client: kerve.Client, name: str) -> None:
    trained_model(client, name)

    with pytest.raises(kerve.NotFoundError) as raised:
        client.export_model(name, version=99)

    assert raised.value.message == (
        f"model {name!r} has no version 99; the kept versions are 1, 2"
    )


def test_export_unknown_model(client: kerve.Client, tmp_path: Path) -> None:
    with pytest.raises(kerve.NotFoundError, match="'no-such-model' not found"):
        client.export_model("no-such-model", tmp_path / "model.keras")

    assert list(tmp_path.iterdir()) == []
