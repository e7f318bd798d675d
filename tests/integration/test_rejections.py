"""Every kind of bad input gets INVALID_ARGUMENT with a message that explains it.

Each case is sent to the real server; after each, the server still serves
and the model it targeted is unchanged.
"""

# The case tables keep one case per line, so some lines pass 88 columns.
# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
import pytest

import kerve
from kerve.v1 import kerve_pb2, kerve_pb2_grpc
from tests.servers import ServerProcess, start_server

SPEC = kerve.ModelSpec(
    input_shape=(3,), layers=[kerve.Dense(4, activation="relu"), kerve.Dense(1)], seed=2
)
ROWS = np.arange(6, dtype=np.float32).reshape(2, 3)


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("rejections"),
        "--max-parameters", "10000",
        "--max-dataset-rows", "1000",
        "--max-epochs", "50",
    )  # fmt: skip
    with kerve.Client(server.address) as client:
        client.create_model("target", SPEC)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stub(strict_server: ServerProcess) -> Iterator[kerve_pb2_grpc.ModelsStub]:
    with grpc.insecure_channel(strict_server.address) as channel:
        yield kerve_pb2_grpc.ModelsStub(channel)


@pytest.fixture(scope="module")
def reference(strict_server: ServerProcess) -> np.ndarray:
    with kerve.Client(strict_server.address, warn_untrained=False) as client:
        return client.predict("target", ROWS).outputs


@pytest.fixture(autouse=True)
def target_unchanged(
    strict_server: ServerProcess, reference: np.ndarray
) -> Iterator[None]:
    yield
    with kerve.Client(strict_server.address, warn_untrained=False) as client:
        after = client.predict("target", ROWS)
    assert after.version == 1
    np.testing.assert_array_equal(after.outputs, reference)


def _tensor(shape: list[int], dtype: str, data: bytes) -> kerve_pb2.Tensor:
    return kerve_pb2.Tensor(shape=shape, dtype=dtype, data=data)


def _rejected(call: Any) -> str:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT, (
        caught.value.details()
    )
    return str(caught.value.details())


PREDICT_CASES = {
    "shape-bytes-disagree": (
        _tensor([2, 3], "float32", bytes(20)),
        "need 24 bytes, but 20 bytes were sent",
    ),
    "unsupported-dtype": (
        _tensor([2, 3], "float16", bytes(12)),
        "unsupported dtype 'float16'; expected one of float32, float64, int32, int64",
    ),
    "negative-dimension": (
        _tensor([-2, 3], "float32", b""),
        "invalid shape [-2, 3]",
    ),
    "huge-header-tiny-data": (
        _tensor([2**40, 3], "float32", bytes(12)),
        "bytes were sent",
    ),
    "no-batch-axis": (
        _tensor([3], "float32", bytes(12)),
        "which has no batch axis; send one row as shape (1, 3)",
    ),
    "wrong-features": (
        _tensor([2, 4], "float32", bytes(32)),
        "expects inputs of shape (batch, 3), received (2, 4)",
    ),
    "nan-value": (
        _tensor([2, 3], "float32", np.array([[0, 1, 2], [3, np.nan, 5]], "<f4").tobytes()),
        "the first is nan at index [1, 1] (row 1)",
    ),
    "inf-value": (
        _tensor([1, 3], "float64", np.array([[np.inf, 0, 0]], "<f8").tobytes()),
        "the first is inf at index [0, 0] (row 0)",
    ),
    "float32-overflow": (
        _tensor([1, 3], "float64", np.array([[0, 1e39, 0]], "<f8").tobytes()),
        "the first is 1e+39 at index [0, 1] (row 0), which overflows float32",
    ),
    "missing-tensor": (kerve_pb2.Tensor(), "inputs is missing"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(PREDICT_CASES))
def test_predict_input_rejected(stub: kerve_pb2_grpc.ModelsStub, case: str) -> None:
    inputs, expected = PREDICT_CASES[case]
    request = kerve_pb2.PredictRequest(name="target", inputs=inputs)

    message = _rejected(lambda: stub.Predict(request, timeout=30))

    assert expected in message


def test_float64_input_cast(
    strict_server: ServerProcess, reference: np.ndarray
) -> None:
    with kerve.Client(strict_server.address, warn_untrained=False) as client:
        as_float64 = client.predict("target", ROWS.astype(np.float64))
        as_int = client.predict("target", ROWS.astype(np.int64))

    np.testing.assert_array_equal(as_float64.outputs, reference)
    np.testing.assert_array_equal(as_int.outputs, reference)


def test_empty_batch_returns_empty(strict_server: ServerProcess) -> None:
    with kerve.Client(strict_server.address, warn_untrained=False) as client:
        prediction = client.predict("target", np.zeros((0, 3), np.float32))

    assert prediction.outputs.shape == (0, 1)
    assert prediction.untrained is True


def _train(stub: kerve_pb2_grpc.ModelsStub, **fields: Any) -> str:
    request = kerve_pb2.TrainRequest(name="target", **fields)
    return _rejected(lambda: list(stub.Train(request, timeout=60)))


def _inline(x: np.ndarray, y: np.ndarray) -> kerve_pb2.InlineData:
    def encode(array: np.ndarray) -> kerve_pb2.Tensor:
        values = np.ascontiguousarray(array, "<f4")
        return _tensor(list(values.shape), "float32", values.tobytes())

    return kerve_pb2.InlineData(x=encode(x), y=encode(y))


GOOD_DATA = _inline(np.zeros((8, 3)), np.zeros((8, 1)))
TRAIN_CASES = {
    "no-data": ({}, "the request has no data"),
    "no-rows": (
        {"inline": _inline(np.zeros((0, 3)), np.zeros((0, 1)))},
        "no rows to train on (received 0 rows",
    ),
    "row-mismatch": (
        {"inline": _inline(np.zeros((8, 3)), np.zeros((7, 1)))},
        "x has 8 rows but y has shape (7, 1)",
    ),
    "target-shape": (
        {"inline": _inline(np.zeros((8, 3)), np.zeros((8, 2)))},
        "y must have shape (8, 1), received (8, 2)",
    ),
    "nan-target": (
        {"inline": _inline(np.zeros((8, 3)), np.full((8, 1), np.nan))},
        "y contains 8 non-finite value(s)",
    ),
    "split-leaves-nothing": (
        {"inline": _inline(np.zeros((1, 3)), np.zeros((1, 1))), "validation_split": 0.5},
        "validation_split 0.5 of 1 row holds out 1 and leaves 0 to fit",
    ),
    "epochs-zero": ({"inline": GOOD_DATA, "epochs": 0}, "epochs must be in [1, 50], received 0"),
    "epochs-over": ({"inline": GOOD_DATA, "epochs": 51}, "epochs must be in [1, 50], received 51"),
    "batch-negative": ({"inline": GOOD_DATA, "batch_size": -1}, "batch_size must be in [1,"),
    "split-one": (
        {"inline": GOOD_DATA, "validation_split": 1.0},
        "validation_split must be in [0, 1), received 1.0",
    ),
    "split-nan": (
        {"inline": GOOD_DATA, "validation_split": float("nan")},
        "validation_split must be in [0, 1), received nan",
    ),
    "bad-optimizer": (
        {"inline": GOOD_DATA, "optimizer": kerve_pb2.Optimizer(name="adamw")},
        "optimizer.name: Input should be 'adam', 'sgd' or 'rmsprop'",
    ),
    "too-many-samples": (
        {"synthetic": kerve_pb2.SyntheticDataset(
            regression=kerve_pb2.MakeRegression(n_samples=1001, n_features=3))},
        "must be at most 1,000 (the server's max dataset rows), received 1,001",
    ),
    "features-mismatch": (
        {"synthetic": kerve_pb2.SyntheticDataset(
            regression=kerve_pb2.MakeRegression(n_samples=10, n_features=4))},
        "expects input shape (3,), but make_regression with n_features=4",
    ),
    "negative-noise": (
        {"synthetic": kerve_pb2.SyntheticDataset(
            regression=kerve_pb2.MakeRegression(n_samples=10, n_features=3, noise=-1))},
        "synthetic.regression.noise: Input should be greater than or equal to 0",
    ),
    "split-without-seed": (
        {"synthetic": kerve_pb2.SyntheticDataset(
            regression=kerve_pb2.MakeRegression(n_samples=10, n_features=3),
            test_fraction=0.2)},
        "must be set when test_fraction > 0",
    ),
    "classes-over-clusters": (
        {"synthetic": kerve_pb2.SyntheticDataset(
            classification=kerve_pb2.MakeClassification(
                n_samples=50, n_features=3, n_informative=1, n_redundant=0, n_classes=3))},
        "n_classes * n_clusters_per_class must be at most 2 ** n_informative = 2",
    ),
    "classes-vs-units": (
        {"synthetic": kerve_pb2.SyntheticDataset(
            classification=kerve_pb2.MakeClassification(
                n_samples=50, n_features=3, n_redundant=0, n_classes=3,
                n_clusters_per_class=1))},
        "which needs n_classes=2 and 1 output unit, received n_classes=3",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(TRAIN_CASES))
def test_train_input_rejected(stub: kerve_pb2_grpc.ModelsStub, case: str) -> None:
    fields, expected = TRAIN_CASES[case]

    message = _train(stub, **fields)

    assert expected in message


@pytest.mark.parametrize(
    "case", ["no-data", "row-mismatch", "nan-target", "features-mismatch"]
)
def test_evaluate_input_rejected(stub: kerve_pb2_grpc.ModelsStub, case: str) -> None:
    fields, expected = TRAIN_CASES[case]
    request = kerve_pb2.EvaluateRequest(name="target", **fields)

    message = _rejected(lambda: stub.Evaluate(request, timeout=60))

    assert expected in message


def test_evaluate_test_subset_without_split(stub: kerve_pb2_grpc.ModelsStub) -> None:
    dataset = kerve_pb2.SyntheticDataset(
        regression=kerve_pb2.MakeRegression(n_samples=10, n_features=3), random_state=1
    )
    request = kerve_pb2.EvaluateRequest(
        name="target", synthetic=dataset, subset=kerve_pb2.SUBSET_TEST
    )

    message = _rejected(lambda: stub.Evaluate(request, timeout=60))

    assert "the dataset has no test rows" in message


SPEC_CASES = {
    "unknown-activation": ({"dense": {"units": 2, "activation": "exec"}}, "layers[0].dense.activation"),
    "unknown-initializer": (
        {"dense": {"units": 2, "kernel_initializer": {"name": "orthogonal"}}},
        "layers[0].dense.kernel_initializer.name",
    ),
    "initializer-nan": (
        {"dense": {"units": 2, "kernel_initializer": {"name": "constant", "params": {"value": "NaN"}}}},
        "must be finite",
    ),
    "zero-units": ({"dense": {"units": 0}}, "layers[0].dense.units"),
    "absurd-units": ({"dense": {"units": 10**9}}, "layers[0].dense.units"),
    "missing-kind": ({}, "layers[0]: layer kind is missing; expected one of: dense"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(SPEC_CASES))
def test_spec_rejected(strict_server: ServerProcess, case: str) -> None:
    layer, expected = SPEC_CASES[case]
    document = {"input_shape": [3], "layers": [layer]}

    with (
        kerve.Client(strict_server.address) as client,
        pytest.raises(kerve.InvalidArgumentError) as caught,
    ):
        client.create_model(f"spec-{case}", document)

    assert expected in caught.value.message


@pytest.mark.parametrize(
    ("compile_settings", "expected"),
    [
        ({"loss": "hinge"}, "compile.loss"),
        ({"metrics": ["auc"]}, "compile.metrics[0]"),
        ({"optimizer": {"name": "adam", "learning_rate": -1}}, "learning_rate"),
        ({"loss": "mse", "metrics": ["accuracy"]}, "needs a classification loss"),
        (
            {"loss": "categorical_crossentropy"},
            "needs a last layer with at least 2 units",
        ),
    ],
)
def test_compile_settings_rejected(
    strict_server: ServerProcess, compile_settings: dict[str, Any], expected: str
) -> None:
    document = {
        "input_shape": [3],
        "layers": [{"dense": {"units": 1}}],
        "compile": compile_settings,
    }

    with (
        kerve.Client(strict_server.address) as client,
        pytest.raises(kerve.InvalidArgumentError) as caught,
    ):
        client.create_model("compile-case", document)

    assert expected in caught.value.message


@pytest.mark.parametrize(
    "shape", [[], [0], [10**7], [1, 1, 1, 1, 1], [1000, 1000, 1000, 1000]]
)
def test_input_shape_rejected(strict_server: ServerProcess, shape: list[int]) -> None:
    document = {"input_shape": shape, "layers": [{"dense": {"units": 1}}]}

    with (
        kerve.Client(strict_server.address) as client,
        pytest.raises(kerve.InvalidArgumentError) as caught,
    ):
        client.create_model("shape-case", document)

    assert "input_shape" in caught.value.message


def test_parameter_budget_rejected(strict_server: ServerProcess) -> None:
    document = {"input_shape": [100], "layers": [{"dense": {"units": 200}}]}

    with (
        kerve.Client(strict_server.address) as client,
        pytest.raises(kerve.InvalidArgumentError) as caught,
    ):
        client.create_model("too-big", document)

    assert "20,200 parameters, more than the server's max parameters of 10,000" in (
        caught.value.message
    )
    assert "--max-parameters" in caught.value.message


def test_strict_rejects_non_finite_outputs(strict_server: ServerProcess) -> None:
    overflowing = {
        "input_shape": [2],
        "layers": [
            {
                "dense": {
                    "units": 4,
                    "kernel_initializer": {
                        "name": "constant",
                        "params": {"value": 1e6},
                    },
                }
            },
            {
                "dense": {
                    "units": 1,
                    "kernel_initializer": {
                        "name": "constant",
                        "params": {"value": 1e6},
                    },
                }
            },
        ],
    }
    rows = np.full((2, 2), 1e30, np.float32)
    with kerve.Client(strict_server.address, warn_untrained=False) as client:
        client.create_model("overflow", overflowing)
        archive = client.export_model("overflow")
        client.import_model("overflow-trained", archive, state=kerve.State.TRAINED)
        lenient = client.predict("overflow-trained", rows)
        with pytest.raises(kerve.FailedPreconditionError) as caught:
            client.predict("overflow-trained", rows, strict=True)

    assert lenient.untrained is False
    assert lenient.meaningful is False
    assert "NOT MEANINGFUL" in lenient.notice
    assert (
        "NaN or Inf output value(s), and the request is strict" in caught.value.message
    )


def test_single_sample_dataset_trains(strict_server: ServerProcess) -> None:
    dataset = kerve.Regression(n_samples=1, n_features=3, random_state=0)
    with kerve.Client(strict_server.address, warn_untrained=False) as client:
        client.create_model("one-sample", SPEC)
        result = client.train("one-sample", dataset=dataset, epochs=1)

    assert result.summary.samples == 1
