"""Random and mutated requests of every RPC against a live server.

Whatever arrives, the server must return a status other than INTERNAL
or UNKNOWN (those mean a bug), keep serving, and still compute a valid
Predict exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerve.v1 import kerve_pb2, kerve_pb2_grpc
from tests.servers import ServerProcess, start_server

BUG_CODES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
FUZZ = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# A model whose output is known by hand: ones kernels, zero biases, linear.
REFERENCE_SPEC = kerve_pb2.ModelSpec(
    input_shape=[3],
    layers=[
        kerve_pb2.Layer(
            dense=kerve_pb2.DenseLayer(
                units=2, kernel_initializer=kerve_pb2.Initializer(name="ones")
            )
        )
    ],
)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # Tight limits, so that a random but valid request stays cheap.
    server = start_server(
        tmp_path_factory.mktemp("fuzz"),
        "--max-dataset-rows", "500",
        "--max-epochs", "2",
        "--max-batch-rows", "512",
        "--max-parameters", "5000",
        "--max-import-bytes", "65536",
    )  # fmt: skip
    yield server
    assert server.stop() == 0, server.log()


@pytest.fixture(scope="module")
def stub(fuzzed: ServerProcess) -> Iterator[kerve_pb2_grpc.ModelsStub]:
    with grpc.insecure_channel(fuzzed.address) as channel:
        models = kerve_pb2_grpc.ModelsStub(channel)
        models.CreateModel(
            kerve_pb2.CreateModelRequest(name="ref", spec=REFERENCE_SPEC)
        )
        yield models


def _code(call: Any) -> grpc.StatusCode:
    try:
        result = call()
        if hasattr(result, "__iter__") and not isinstance(result, bytes):
            for _ in result:
                pass
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def _assert_handled(call: Any) -> None:
    code = _code(call)
    assert code not in BUG_CODES


names = st.one_of(
    st.sampled_from(["ref", "", "absent", "../x", "a" * 100, ".hidden", "ok-name"]),
    st.text(max_size=70),
)
dtypes = st.one_of(
    st.sampled_from(["float32", "float64", "int32", "int64", "bool", "float16", ""]),
    st.text(max_size=10),
)
shapes = st.lists(
    st.one_of(st.integers(-3, 8), st.integers(-(2**62), 2**62)), max_size=10
)


@st.composite
def tensors(draw: st.DrawFn) -> kerve_pb2.Tensor:
    if draw(st.booleans()):
        # Consistent shape and bytes, with any values, NaN and Inf included.
        rows = draw(st.integers(0, 6))
        columns = draw(st.integers(0, 5))
        values = draw(
            st.lists(
                st.floats(allow_nan=True, allow_infinity=True, width=32),
                min_size=rows * columns,
                max_size=rows * columns,
            )
        )
        dtype = draw(st.sampled_from(["float32", "float64", "int32", "int64"]))
        array = np.asarray(values, dtype="<f8").reshape(rows, columns)
        if dtype.startswith("int"):
            array = np.nan_to_num(array, nan=0, posinf=1, neginf=-1).clip(-1e6, 1e6)
        data = array.astype(np.dtype(dtype).newbyteorder("<")).tobytes()
        return kerve_pb2.Tensor(shape=[rows, columns], dtype=dtype, data=data)
    return kerve_pb2.Tensor(
        shape=draw(shapes), dtype=draw(dtypes), data=draw(st.binary(max_size=256))
    )


floats = st.floats(allow_nan=True, allow_infinity=True)
small_ints = st.integers(-5, 50)
any_ints = st.one_of(small_ints, st.integers(-(2**31), 2**31 - 1))


@st.composite
def initializers(draw: st.DrawFn) -> kerve_pb2.Initializer:
    name = draw(
        st.one_of(
            st.sampled_from(
                ["ones", "zeros", "constant", "random_uniform", "he_normal"]
            ),
            st.text(max_size=12),
        )
    )
    params = draw(
        st.dictionaries(
            st.sampled_from(["value", "minval", "maxval", "stddev", "x"]),
            floats,
            max_size=3,
        )
    )
    return kerve_pb2.Initializer(name=name, params=params)


@st.composite
def specs(draw: st.DrawFn) -> kerve_pb2.ModelSpec:
    layers = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.integers(0, 9)) == 0:
            layers.append(kerve_pb2.Layer())
            continue
        dense = kerve_pb2.DenseLayer(
            units=draw(any_ints),
            activation=draw(
                st.one_of(
                    st.sampled_from(["relu", "linear", "softmax"]), st.text(max_size=8)
                )
            ),
            kernel_initializer=draw(initializers()),
            bias_initializer=draw(initializers()),
        )
        layers.append(kerve_pb2.Layer(dense=dense))
    spec = kerve_pb2.ModelSpec(
        input_shape=draw(st.lists(any_ints, max_size=5)),
        layers=layers,
        compile=kerve_pb2.CompileSpec(
            optimizer=kerve_pb2.Optimizer(
                name=draw(
                    st.one_of(st.sampled_from(["adam", "sgd"]), st.text(max_size=6))
                ),
                learning_rate=draw(floats),
            ),
            loss=draw(
                st.one_of(st.sampled_from(["mse", "huber"]), st.text(max_size=6))
            ),
            metrics=draw(
                st.lists(st.sampled_from(["mae", "accuracy", "bogus"]), max_size=3)
            ),
        ),
    )
    if draw(st.booleans()):
        spec.seed = draw(st.integers(-(2**63), 2**63 - 1))
    return spec


@st.composite
def datasets(draw: st.DrawFn) -> kerve_pb2.SyntheticDataset:
    dataset = kerve_pb2.SyntheticDataset(test_fraction=draw(floats))
    if draw(st.booleans()):
        dataset.random_state = draw(st.integers(-(2**63), 2**63 - 1))
    kind = draw(st.sampled_from(["regression", "classification", "none"]))
    if kind == "regression":
        dataset.regression.CopyFrom(
            kerve_pb2.MakeRegression(
                n_samples=draw(any_ints), n_features=draw(small_ints),
                n_informative=draw(small_ints), n_targets=draw(small_ints),
                noise=draw(floats), bias=draw(floats),
            )
        )  # fmt: skip
    elif kind == "classification":
        dataset.classification.CopyFrom(
            kerve_pb2.MakeClassification(
                n_samples=draw(any_ints), n_features=draw(small_ints),
                n_informative=draw(small_ints), n_redundant=draw(small_ints),
                n_classes=draw(small_ints), n_clusters_per_class=draw(small_ints),
                flip_y=draw(floats), class_sep=draw(floats),
            )
        )  # fmt: skip
    return dataset


@st.composite
def data_requests(draw: st.DrawFn, cls: Any) -> Any:
    request = cls(name=draw(st.sampled_from(["ref", "absent", ""])))
    choice = draw(st.sampled_from(["inline", "synthetic", "none"]))
    if choice == "inline":
        request.inline.CopyFrom(
            kerve_pb2.InlineData(x=draw(tensors()), y=draw(tensors()))
        )
    elif choice == "synthetic":
        request.synthetic.CopyFrom(draw(datasets()))
    return request


@FUZZ
@given(name=names, inputs=tensors(), strict=st.booleans())
def test_predict_fuzz(
    stub: Any, name: str, inputs: kerve_pb2.Tensor, strict: bool
) -> None:
    request = kerve_pb2.PredictRequest(name=name, inputs=inputs, strict=strict)
    _assert_handled(lambda: stub.Predict(request, timeout=30))


@FUZZ
@given(name=names, spec=specs())
def test_create_fuzz(stub: Any, name: str, spec: kerve_pb2.ModelSpec) -> None:
    request = kerve_pb2.CreateModelRequest(name=name, spec=spec)
    code = _code(lambda: stub.CreateModel(request, timeout=30))
    assert code not in BUG_CODES
    if code is grpc.StatusCode.OK and name != "ref":
        stub.DeleteModel(kerve_pb2.DeleteModelRequest(name=name), timeout=30)


@FUZZ
@given(
    request=data_requests(kerve_pb2.TrainRequest),
    epochs=any_ints,
    batch=any_ints,
    split=floats,
)
def test_train_fuzz(
    stub: Any, request: kerve_pb2.TrainRequest, epochs: int, batch: int, split: float
) -> None:
    request.epochs = epochs
    request.batch_size = batch
    request.validation_split = split
    _assert_handled(lambda: stub.Train(request, timeout=60))


@FUZZ
@given(request=data_requests(kerve_pb2.EvaluateRequest), subset=st.integers(-2, 6))
def test_evaluate_fuzz(
    stub: Any, request: kerve_pb2.EvaluateRequest, subset: int
) -> None:
    request.subset = subset  # type: ignore[assignment]
    _assert_handled(lambda: stub.Evaluate(request, timeout=60))


@FUZZ
@given(
    name=names,
    seed=st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    version=st.integers(-(2**63), 2**63 - 1),
)
def test_model_methods_fuzz(
    stub: Any, name: str, seed: int | None, version: int
) -> None:
    _assert_handled(
        lambda: stub.GetModel(kerve_pb2.GetModelRequest(name=name), timeout=30)
    )
    reset = kerve_pb2.ResetModelRequest(name=name if name != "ref" else "absent")
    if seed is not None:
        reset.seed = seed
    _assert_handled(lambda: stub.ResetModel(reset, timeout=30))
    _assert_handled(
        lambda: stub.CancelTraining(
            kerve_pb2.CancelTrainingRequest(name=name), timeout=30
        )
    )
    export = kerve_pb2.ExportModelRequest(name=name, version=version)
    _assert_handled(lambda: stub.ExportModel(export, timeout=30))
    if name != "ref":
        _assert_handled(
            lambda: stub.DeleteModel(
                kerve_pb2.DeleteModelRequest(name=name), timeout=30
            )
        )


@FUZZ
@given(
    name=names,
    state=st.integers(-1, 6),
    size=st.integers(-5, 2**40),
    chunks=st.lists(st.binary(max_size=2048), max_size=4),
    header_first=st.booleans(),
)
def test_import_fuzz(
    stub: Any, name: str, state: int, size: int, chunks: list[bytes], header_first: bool
) -> None:
    header = kerve_pb2.ImportModelRequest(
        header=kerve_pb2.ImportHeader(
            name=name if name != "ref" else "imported", state=state, size_bytes=size
        )  # type: ignore[arg-type]
    )
    parts = [kerve_pb2.ImportModelRequest(chunk=c) for c in chunks]
    messages = [header, *parts] if header_first else [*parts, header]
    code = _code(lambda: stub.ImportModel(iter(messages), timeout=30))
    assert code not in BUG_CODES


ZERO_ROW = kerve_pb2.Tensor(shape=[1, 3], dtype="float32", data=bytes(12))
VALID_MESSAGES = {
    "Predict": kerve_pb2.PredictRequest(name="ref", inputs=ZERO_ROW),
    "CreateModel": kerve_pb2.CreateModelRequest(name="mutant", spec=REFERENCE_SPEC),
    "Train": kerve_pb2.TrainRequest(name="absent", epochs=1),
    "Evaluate": kerve_pb2.EvaluateRequest(name="absent"),
    "GetModel": kerve_pb2.GetModelRequest(name="ref"),
    "ListModels": kerve_pb2.ListModelsRequest(),
    "DeleteModel": kerve_pb2.DeleteModelRequest(name="absent"),
    "ResetModel": kerve_pb2.ResetModelRequest(name="absent"),
    "CancelTraining": kerve_pb2.CancelTrainingRequest(name="absent"),
    "ExportModel": kerve_pb2.ExportModelRequest(name="absent"),
    "WatchModel": kerve_pb2.WatchModelRequest(name="absent"),
    "GetServerInfo": kerve_pb2.GetServerInfoRequest(),
}  # fmt: skip
SERVER_STREAMING = {"Train", "ExportModel", "WatchModel"}


@FUZZ
@given(
    method=st.sampled_from(sorted(VALID_MESSAGES)),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 10_000),
)
def test_mutated_bytes_fuzz(
    fuzzed: ServerProcess,
    stub: Any,
    method: str,
    flips: list[tuple[int, int]],
    cut: int,
) -> None:
    data = bytearray(VALID_MESSAGES[method].SerializeToString())
    for position, value in flips:
        if data:
            data[position % len(data)] = value
    data = data[: max(0, len(data) - cut % (len(data) + 1))] if cut % 3 == 0 else data
    with grpc.insecure_channel(fuzzed.address) as channel:
        path = f"/kerve.v1.Models/{method}"
        if method in SERVER_STREAMING:
            call: Any = channel.unary_stream(path)
        else:
            call = channel.unary_unary(path)
        code = _code(lambda: call(bytes(data), timeout=30))
    assert code not in BUG_CODES
    if method == "CreateModel" and code is grpc.StatusCode.OK:
        _code(lambda: stub.DeleteModel(kerve_pb2.DeleteModelRequest(name="mutant")))


def test_still_correct_after_fuzz(fuzzed: ServerProcess, stub: Any) -> None:
    rows = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]], dtype="<f4")
    request = kerve_pb2.PredictRequest(
        name="ref",
        inputs=kerve_pb2.Tensor(shape=[2, 3], dtype="float32", data=rows.tobytes()),
    )

    response = stub.Predict(request, timeout=30)
    outputs = np.frombuffer(response.outputs.data, dtype="<f4").reshape(2, 2)

    np.testing.assert_array_equal(outputs, [[6.0, 6.0], [-0.5, -0.5]])
    assert response.untrained is True
    assert fuzzed.process.poll() is None
    assert "unexpected error" not in fuzzed.log()
