"""Reading and writing ``.keras`` archives.

An archive from outside is checked before Keras reads it: it must be a zip
within the size limits whose ``config.json`` describes a Sequential model of
Dense layers from the spec allow-lists. Only then is it loaded, with Keras's
safe mode on, and its weights are copied into a model that Kerve builds from
its own spec, so nothing in the archive decides what code runs.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import keras
import numpy as np

from kerve_server.engine.building import build_model
from kerve_server.engine.inference import CompiledModel
from kerve_server.specs import ModelSpec
from kerve_server.store import scratch_file

# Keras class names of the allow-listed initializers, and their spec names.
INITIALIZER_NAMES = {
    "GlorotUniform": "glorot_uniform",
    "GlorotNormal": "glorot_normal",
    "HeUniform": "he_uniform",
    "HeNormal": "he_normal",
    "LecunUniform": "lecun_uniform",
    "LecunNormal": "lecun_normal",
    "RandomUniform": "random_uniform",
    "RandomNormal": "random_normal",
    "TruncatedNormal": "truncated_normal",
    "Zeros": "zeros",
    "Ones": "ones",
    "Constant": "constant",
}
INITIALIZER_PARAMETERS = ("minval", "maxval", "mean", "stddev", "value")
ALLOWED_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}
# A Sequential config of 64 Dense layers takes a few tens of kilobytes.
MAX_CONFIG_BYTES = 1024 * 1024
# Layer settings that must be absent, because Kerve's specs cannot express
# them and Keras would otherwise build something the spec does not describe.
MUST_BE_EMPTY = (
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
    "lora_rank",
    "quantization_config",
)


# Keras names of the allow-listed optimizers and losses, and their spec names.
OPTIMIZER_NAMES = {"Adam": "adam", "SGD": "sgd", "RMSprop": "rmsprop"}
LOSS_NAMES = {
    "mse": "mse",
    "mean_squared_error": "mse",
    "MeanSquaredError": "mse",
    "mae": "mae",
    "mean_absolute_error": "mae",
    "MeanAbsoluteError": "mae",
    "huber": "huber",
    "Huber": "huber",
    "binary_crossentropy": "binary_crossentropy",
    "BinaryCrossentropy": "binary_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "CategoricalCrossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
}


class ArchiveError(Exception):
    """Raised when an archive is not a model that Kerve can serve."""


def archive_bytes(compiled: CompiledModel) -> bytes:
    """Return the version's model as ``.keras`` archive bytes."""
    with scratch_file(".keras") as path:
        compiled.keras_model.save(path)
        return path.read_bytes()


def weights_from_archive(spec: ModelSpec, data: bytes) -> list[np.ndarray]:
    """Return the weights stored in an archive that Kerve wrote for ``spec``.

    Raises:
        ArchiveError: the archive cannot be read or its weights do not fit.
    """
    model = build_model(spec, seed=0)
    with scratch_file(".keras") as path:
        path.write_bytes(data)
        try:
            model.load_weights(path)
        except (OSError, ValueError, KeyError) as exc:
            raise ArchiveError(f"cannot load weights: {exc}") from exc
    return [np.asarray(w, dtype=np.float32) for w in model.get_weights()]


def spec_document_from_archive(
    data: bytes, *, max_unpacked_bytes: int
) -> dict[str, Any]:
    """Return the spec document that an imported archive's config describes.

    The document has the archive's compile settings when its optimizer and
    loss are allow-listed, and no ``seed``. The caller may replace the
    settings, and validates the result with ``parse_spec``.

    Raises:
        ArchiveError: not a zip, too large unpacked, unexpected members, or
            a config outside what a spec can express.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"not a .keras archive (a zip file): {exc}") from None
    with archive:
        members = archive.infolist()
        names = {member.filename for member in members}
        unexpected = sorted(names - ALLOWED_MEMBERS)
        if unexpected:
            raise ArchiveError(
                f"unexpected files in the archive: {unexpected}; expected only "
                f"{sorted(ALLOWED_MEMBERS)}"
            )
        if not {"config.json", "model.weights.h5"} <= names:
            raise ArchiveError("the archive lacks config.json or model.weights.h5")
        for member in members:
            if (
                member.filename != "model.weights.h5"
                and member.file_size > MAX_CONFIG_BYTES
            ):
                raise ArchiveError(
                    f"{member.filename} unpacks to {member.file_size:,} bytes, more "
                    f"than the limit of {MAX_CONFIG_BYTES:,} for a config file"
                )
        unpacked = sum(member.file_size for member in members)
        if unpacked > max_unpacked_bytes:
            raise ArchiveError(
                f"the archive unpacks to {unpacked:,} bytes, more than the limit "
                f"of {max_unpacked_bytes:,}"
            )
        try:
            config = json.loads(archive.read("config.json"))
        except ValueError as exc:
            raise ArchiveError(f"config.json is not valid JSON: {exc}") from None
    document = _spec_document(config)
    compile_document = _compile_document(config.get("compile_config"))
    if compile_document is not None:
        document["compile"] = compile_document
    return document


def load_imported(spec: ModelSpec, data: bytes) -> list[np.ndarray]:
    """Load a checked archive with safe mode on and return its weights.

    Raises:
        ArchiveError: Keras rejects the archive or its weights do not fit.
    """
    with scratch_file(".keras") as path:
        path.write_bytes(data)
        try:
            loaded = keras.saving.load_model(path, safe_mode=True, compile=False)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ArchiveError(f"Keras cannot load the archive: {exc}") from None
    weights = [np.asarray(w, dtype=np.float32) for w in loaded.get_weights()]
    expected = [w.shape for w in build_model(spec, seed=0).get_weights()]
    received = [w.shape for w in weights]
    if expected != received:
        raise ArchiveError(
            f"the archive's weights have shapes {received}, but its config "
            f"needs {expected}"
        )
    if not all(np.isfinite(w).all() for w in weights):
        raise ArchiveError("the archive's weights contain NaN or Inf")
    return weights


def _compile_document(config: Any) -> dict[str, Any] | None:
    """Return the archive's optimizer and loss if both are allow-listed.

    Metrics are left out, because Keras stores them in forms (functions,
    objects, nested lists) that do not map onto metric names reliably.
    """
    if not isinstance(config, dict):
        return None
    optimizer = config.get("optimizer")
    loss = config.get("loss")
    if isinstance(loss, dict):
        loss = loss.get("class_name")
    if not isinstance(optimizer, dict) or not isinstance(loss, str):
        return None
    optimizer_name = OPTIMIZER_NAMES.get(str(optimizer.get("class_name")))
    loss_name = LOSS_NAMES.get(loss)
    if optimizer_name is None or loss_name is None:
        return None
    learning_rate = (optimizer.get("config") or {}).get("learning_rate")
    document: dict[str, Any] = {
        "optimizer": {"name": optimizer_name},
        "loss": loss_name,
    }
    if isinstance(learning_rate, int | float) and not isinstance(learning_rate, bool):
        # Keras stores the rate as float32; round off the float32 noise.
        document["optimizer"]["learning_rate"] = float(f"{learning_rate:.7g}")
    return document


def _spec_document(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict) or config.get("class_name") != "Sequential":
        found = config.get("class_name") if isinstance(config, dict) else type(config)
        raise ArchiveError(f"expected a Sequential model, found {found!r}")
    layers = config.get("config", {}).get("layers", [])
    if not isinstance(layers, list) or not layers:
        raise ArchiveError("the model has no layers")
    first, rest = layers[0], layers[1:]
    input_shape = _input_shape(first)
    dense = [_dense_document(index + 1, layer) for index, layer in enumerate(rest)]
    if not dense:
        raise ArchiveError("the model has no Dense layers")
    return {"input_shape": input_shape, "layers": dense}


def _input_shape(layer: Any) -> list[int]:
    if not isinstance(layer, dict) or layer.get("class_name") != "InputLayer":
        raise ArchiveError("the first layer must be an InputLayer")
    shape = layer.get("config", {}).get("batch_shape")
    if (
        not isinstance(shape, list)
        or len(shape) < 2
        or shape[0] is not None
        or not all(isinstance(d, int) for d in shape[1:])
    ):
        raise ArchiveError(f"unsupported input batch_shape {shape!r}")
    return list(shape[1:])


def _dense_document(index: int, layer: Any) -> dict[str, Any]:
    if not isinstance(layer, dict) or layer.get("class_name") != "Dense":
        found = layer.get("class_name") if isinstance(layer, dict) else layer
        raise ArchiveError(
            f"layer {index} is {found!r}; only Dense layers can be imported"
        )
    if layer.get("module") not in (None, "keras.layers") or layer.get(
        "registered_name"
    ):
        raise ArchiveError(f"layer {index} is a custom layer, which cannot be imported")
    config = layer.get("config", {})
    for key in MUST_BE_EMPTY:
        if config.get(key) not in (None, 0):
            raise ArchiveError(f"layer {index} sets {key}, which Kerve cannot import")
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name")
    if dtype not in (None, "float32"):
        raise ArchiveError(f"layer {index} has dtype {dtype!r}; expected float32")
    activation = config.get("activation", "linear")
    if not isinstance(activation, str):
        raise ArchiveError(f"layer {index} has a custom activation")
    return {
        "type": "dense",
        "units": config.get("units"),
        "activation": activation,
        "use_bias": config.get("use_bias", True),
        "kernel_initializer": _initializer(index, config.get("kernel_initializer")),
        "bias_initializer": _initializer(index, config.get("bias_initializer")),
    }


def _initializer(index: int, config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise ArchiveError(f"layer {index} has an unsupported initializer {config!r}")
    name = INITIALIZER_NAMES.get(str(config.get("class_name")))
    if name is None or config.get("module") not in (None, "keras.initializers"):
        raise ArchiveError(
            f"layer {index} uses initializer {config.get('class_name')!r}; "
            f"expected one of {sorted(INITIALIZER_NAMES)}"
        )
    values = config.get("config", {}) or {}
    params = {key: values[key] for key in INITIALIZER_PARAMETERS if key in values}
    return {"name": name, "params": params}
