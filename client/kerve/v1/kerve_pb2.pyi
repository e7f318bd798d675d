import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATE_UNSPECIFIED: _ClassVar[State]
    UNTRAINED: _ClassVar[State]
    TRAINING: _ClassVar[State]
    TRAINED: _ClassVar[State]
    FAILED: _ClassVar[State]

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    VERDICT_UNTRAINED: _ClassVar[Verdict]
    VERDICT_NO_BETTER_THAN_BASELINE: _ClassVar[Verdict]
    VERDICT_UNVALIDATED: _ClassVar[Verdict]
    VERDICT_VALIDATED: _ClassVar[Verdict]

class Subset(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSET_UNSPECIFIED: _ClassVar[Subset]
    SUBSET_TRAIN: _ClassVar[Subset]
    SUBSET_TEST: _ClassVar[Subset]
    SUBSET_ALL: _ClassVar[Subset]
STATE_UNSPECIFIED: State
UNTRAINED: State
TRAINING: State
TRAINED: State
FAILED: State
VERDICT_UNSPECIFIED: Verdict
VERDICT_UNTRAINED: Verdict
VERDICT_NO_BETTER_THAN_BASELINE: Verdict
VERDICT_UNVALIDATED: Verdict
VERDICT_VALIDATED: Verdict
SUBSET_UNSPECIFIED: Subset
SUBSET_TRAIN: Subset
SUBSET_TEST: Subset
SUBSET_ALL: Subset

class Tensor(_message.Message):
    __slots__ = ("shape", "dtype", "data")
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    dtype: str
    data: bytes
    def __init__(self, shape: _Optional[_Iterable[int]] = ..., dtype: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class Initializer(_message.Message):
    __slots__ = ("name", "params")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    name: str
    params: _containers.ScalarMap[str, float]
    def __init__(self, name: _Optional[str] = ..., params: _Optional[_Mapping[str, float]] = ...) -> None: ...

class DenseLayer(_message.Message):
    __slots__ = ("units", "activation", "kernel_initializer", "bias_initializer", "use_bias")
    UNITS_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_FIELD_NUMBER: _ClassVar[int]
    KERNEL_INITIALIZER_FIELD_NUMBER: _ClassVar[int]
    BIAS_INITIALIZER_FIELD_NUMBER: _ClassVar[int]
    USE_BIAS_FIELD_NUMBER: _ClassVar[int]
    units: int
    activation: str
    kernel_initializer: Initializer
    bias_initializer: Initializer
    use_bias: bool
    def __init__(self, units: _Optional[int] = ..., activation: _Optional[str] = ..., kernel_initializer: _Optional[_Union[Initializer, _Mapping]] = ..., bias_initializer: _Optional[_Union[Initializer, _Mapping]] = ..., use_bias: _Optional[bool] = ...) -> None: ...

class Layer(_message.Message):
    __slots__ = ("dense",)
    DENSE_FIELD_NUMBER: _ClassVar[int]
    dense: DenseLayer
    def __init__(self, dense: _Optional[_Union[DenseLayer, _Mapping]] = ...) -> None: ...

class Optimizer(_message.Message):
    __slots__ = ("name", "learning_rate")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    learning_rate: float
    def __init__(self, name: _Optional[str] = ..., learning_rate: _Optional[float] = ...) -> None: ...

class CompileSpec(_message.Message):
    __slots__ = ("optimizer", "loss", "metrics")
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    optimizer: Optimizer
    loss: str
    metrics: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, optimizer: _Optional[_Union[Optimizer, _Mapping]] = ..., loss: _Optional[str] = ..., metrics: _Optional[_Iterable[str]] = ...) -> None: ...

class ModelSpec(_message.Message):
    __slots__ = ("input_shape", "layers", "compile", "seed")
    INPUT_SHAPE_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    COMPILE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    input_shape: _containers.RepeatedScalarFieldContainer[int]
    layers: _containers.RepeatedCompositeFieldContainer[Layer]
    compile: CompileSpec
    seed: int
    def __init__(self, input_shape: _Optional[_Iterable[int]] = ..., layers: _Optional[_Iterable[_Union[Layer, _Mapping]]] = ..., compile: _Optional[_Union[CompileSpec, _Mapping]] = ..., seed: _Optional[int] = ...) -> None: ...

class TrainingSummary(_message.Message):
    __slots__ = ("epochs_run", "final_loss", "final_metrics", "duration", "samples", "end_time")
    class FinalMetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    EPOCHS_RUN_FIELD_NUMBER: _ClassVar[int]
    FINAL_LOSS_FIELD_NUMBER: _ClassVar[int]
    FINAL_METRICS_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    epochs_run: int
    final_loss: float
    final_metrics: _containers.ScalarMap[str, float]
    duration: _duration_pb2.Duration
    samples: int
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, epochs_run: _Optional[int] = ..., final_loss: _Optional[float] = ..., final_metrics: _Optional[_Mapping[str, float]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., samples: _Optional[int] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Validation(_message.Message):
    __slots__ = ("source", "rows", "model", "baseline", "baseline_kind", "score_name", "score", "baseline_score", "margin", "p_value", "significance")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    BASELINE_KIND_FIELD_NUMBER: _ClassVar[int]
    SCORE_NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    BASELINE_SCORE_FIELD_NUMBER: _ClassVar[int]
    MARGIN_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    SIGNIFICANCE_FIELD_NUMBER: _ClassVar[int]
    source: str
    rows: int
    model: Evaluation
    baseline: Evaluation
    baseline_kind: str
    score_name: str
    score: float
    baseline_score: float
    margin: float
    p_value: float
    significance: float
    def __init__(self, source: _Optional[str] = ..., rows: _Optional[int] = ..., model: _Optional[_Union[Evaluation, _Mapping]] = ..., baseline: _Optional[_Union[Evaluation, _Mapping]] = ..., baseline_kind: _Optional[str] = ..., score_name: _Optional[str] = ..., score: _Optional[float] = ..., baseline_score: _Optional[float] = ..., margin: _Optional[float] = ..., p_value: _Optional[float] = ..., significance: _Optional[float] = ...) -> None: ...

class Assessment(_message.Message):
    __slots__ = ("verdict", "reason", "validation", "input_min", "input_max")
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FIELD_NUMBER: _ClassVar[int]
    INPUT_MIN_FIELD_NUMBER: _ClassVar[int]
    INPUT_MAX_FIELD_NUMBER: _ClassVar[int]
    verdict: Verdict
    reason: str
    validation: Validation
    input_min: Tensor
    input_max: Tensor
    def __init__(self, verdict: _Optional[_Union[Verdict, str]] = ..., reason: _Optional[str] = ..., validation: _Optional[_Union[Validation, _Mapping]] = ..., input_min: _Optional[_Union[Tensor, _Mapping]] = ..., input_max: _Optional[_Union[Tensor, _Mapping]] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("name", "spec", "state", "version", "untrained", "create_time", "update_time", "last_training", "failure_reason", "parameter_count", "verdict", "assessment")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UNTRAINED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_TRAINING_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_COUNT_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    spec: ModelSpec
    state: State
    version: int
    untrained: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    last_training: TrainingSummary
    failure_reason: str
    parameter_count: int
    verdict: Verdict
    assessment: Assessment
    def __init__(self, name: _Optional[str] = ..., spec: _Optional[_Union[ModelSpec, _Mapping]] = ..., state: _Optional[_Union[State, str]] = ..., version: _Optional[int] = ..., untrained: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_training: _Optional[_Union[TrainingSummary, _Mapping]] = ..., failure_reason: _Optional[str] = ..., parameter_count: _Optional[int] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., assessment: _Optional[_Union[Assessment, _Mapping]] = ...) -> None: ...

class CreateModelRequest(_message.Message):
    __slots__ = ("name", "spec")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    name: str
    spec: ModelSpec
    def __init__(self, name: _Optional[str] = ..., spec: _Optional[_Union[ModelSpec, _Mapping]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ...) -> None: ...

class DeleteModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteModelResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PredictRequest(_message.Message):
    __slots__ = ("name", "inputs", "strict", "min_verdict")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    STRICT_FIELD_NUMBER: _ClassVar[int]
    MIN_VERDICT_FIELD_NUMBER: _ClassVar[int]
    name: str
    inputs: Tensor
    strict: bool
    min_verdict: Verdict
    def __init__(self, name: _Optional[str] = ..., inputs: _Optional[_Union[Tensor, _Mapping]] = ..., strict: _Optional[bool] = ..., min_verdict: _Optional[_Union[Verdict, str]] = ...) -> None: ...

class PredictResponse(_message.Message):
    __slots__ = ("outputs", "untrained", "meaningful", "state", "version", "notice", "name", "verdict", "validation", "extrapolated_rows", "non_finite_rows", "training_ranges_known")
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    UNTRAINED_FIELD_NUMBER: _ClassVar[int]
    MEANINGFUL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_FIELD_NUMBER: _ClassVar[int]
    EXTRAPOLATED_ROWS_FIELD_NUMBER: _ClassVar[int]
    NON_FINITE_ROWS_FIELD_NUMBER: _ClassVar[int]
    TRAINING_RANGES_KNOWN_FIELD_NUMBER: _ClassVar[int]
    outputs: Tensor
    untrained: bool
    meaningful: bool
    state: State
    version: int
    notice: str
    name: str
    verdict: Verdict
    validation: Validation
    extrapolated_rows: _containers.RepeatedScalarFieldContainer[int]
    non_finite_rows: _containers.RepeatedScalarFieldContainer[int]
    training_ranges_known: bool
    def __init__(self, outputs: _Optional[_Union[Tensor, _Mapping]] = ..., untrained: _Optional[bool] = ..., meaningful: _Optional[bool] = ..., state: _Optional[_Union[State, str]] = ..., version: _Optional[int] = ..., notice: _Optional[str] = ..., name: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., validation: _Optional[_Union[Validation, _Mapping]] = ..., extrapolated_rows: _Optional[_Iterable[int]] = ..., non_finite_rows: _Optional[_Iterable[int]] = ..., training_ranges_known: _Optional[bool] = ...) -> None: ...

class InlineData(_message.Message):
    __slots__ = ("x", "y")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    x: Tensor
    y: Tensor
    def __init__(self, x: _Optional[_Union[Tensor, _Mapping]] = ..., y: _Optional[_Union[Tensor, _Mapping]] = ...) -> None: ...

class MakeRegression(_message.Message):
    __slots__ = ("n_samples", "n_features", "n_informative", "n_targets", "noise", "bias")
    N_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    N_FEATURES_FIELD_NUMBER: _ClassVar[int]
    N_INFORMATIVE_FIELD_NUMBER: _ClassVar[int]
    N_TARGETS_FIELD_NUMBER: _ClassVar[int]
    NOISE_FIELD_NUMBER: _ClassVar[int]
    BIAS_FIELD_NUMBER: _ClassVar[int]
    n_samples: int
    n_features: int
    n_informative: int
    n_targets: int
    noise: float
    bias: float
    def __init__(self, n_samples: _Optional[int] = ..., n_features: _Optional[int] = ..., n_informative: _Optional[int] = ..., n_targets: _Optional[int] = ..., noise: _Optional[float] = ..., bias: _Optional[float] = ...) -> None: ...

class MakeClassification(_message.Message):
    __slots__ = ("n_samples", "n_features", "n_informative", "n_redundant", "n_classes", "n_clusters_per_class", "flip_y", "class_sep")
    N_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    N_FEATURES_FIELD_NUMBER: _ClassVar[int]
    N_INFORMATIVE_FIELD_NUMBER: _ClassVar[int]
    N_REDUNDANT_FIELD_NUMBER: _ClassVar[int]
    N_CLASSES_FIELD_NUMBER: _ClassVar[int]
    N_CLUSTERS_PER_CLASS_FIELD_NUMBER: _ClassVar[int]
    FLIP_Y_FIELD_NUMBER: _ClassVar[int]
    CLASS_SEP_FIELD_NUMBER: _ClassVar[int]
    n_samples: int
    n_features: int
    n_informative: int
    n_redundant: int
    n_classes: int
    n_clusters_per_class: int
    flip_y: float
    class_sep: float
    def __init__(self, n_samples: _Optional[int] = ..., n_features: _Optional[int] = ..., n_informative: _Optional[int] = ..., n_redundant: _Optional[int] = ..., n_classes: _Optional[int] = ..., n_clusters_per_class: _Optional[int] = ..., flip_y: _Optional[float] = ..., class_sep: _Optional[float] = ...) -> None: ...

class SyntheticDataset(_message.Message):
    __slots__ = ("regression", "classification", "random_state", "test_fraction")
    REGRESSION_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    RANDOM_STATE_FIELD_NUMBER: _ClassVar[int]
    TEST_FRACTION_FIELD_NUMBER: _ClassVar[int]
    regression: MakeRegression
    classification: MakeClassification
    random_state: int
    test_fraction: float
    def __init__(self, regression: _Optional[_Union[MakeRegression, _Mapping]] = ..., classification: _Optional[_Union[MakeClassification, _Mapping]] = ..., random_state: _Optional[int] = ..., test_fraction: _Optional[float] = ...) -> None: ...

class TrainRequest(_message.Message):
    __slots__ = ("name", "inline", "synthetic", "epochs", "batch_size", "validation_split", "optimizer", "shuffle", "keep_running_on_disconnect", "wait_for_slot", "validation_data")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INLINE_FIELD_NUMBER: _ClassVar[int]
    SYNTHETIC_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_SPLIT_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZER_FIELD_NUMBER: _ClassVar[int]
    SHUFFLE_FIELD_NUMBER: _ClassVar[int]
    KEEP_RUNNING_ON_DISCONNECT_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_SLOT_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_DATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    inline: InlineData
    synthetic: SyntheticDataset
    epochs: int
    batch_size: int
    validation_split: float
    optimizer: Optimizer
    shuffle: bool
    keep_running_on_disconnect: bool
    wait_for_slot: bool
    validation_data: InlineData
    def __init__(self, name: _Optional[str] = ..., inline: _Optional[_Union[InlineData, _Mapping]] = ..., synthetic: _Optional[_Union[SyntheticDataset, _Mapping]] = ..., epochs: _Optional[int] = ..., batch_size: _Optional[int] = ..., validation_split: _Optional[float] = ..., optimizer: _Optional[_Union[Optimizer, _Mapping]] = ..., shuffle: _Optional[bool] = ..., keep_running_on_disconnect: _Optional[bool] = ..., wait_for_slot: _Optional[bool] = ..., validation_data: _Optional[_Union[InlineData, _Mapping]] = ...) -> None: ...

class TrainingProgress(_message.Message):
    __slots__ = ("epoch", "epochs", "loss", "metrics")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    EPOCHS_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    epochs: int
    loss: float
    metrics: _containers.ScalarMap[str, float]
    def __init__(self, epoch: _Optional[int] = ..., epochs: _Optional[int] = ..., loss: _Optional[float] = ..., metrics: _Optional[_Mapping[str, float]] = ...) -> None: ...

class TrainingResult(_message.Message):
    __slots__ = ("model", "summary")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    model: Model
    summary: TrainingSummary
    def __init__(self, model: _Optional[_Union[Model, _Mapping]] = ..., summary: _Optional[_Union[TrainingSummary, _Mapping]] = ...) -> None: ...

class TrainResponse(_message.Message):
    __slots__ = ("progress", "result")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    progress: TrainingProgress
    result: TrainingResult
    def __init__(self, progress: _Optional[_Union[TrainingProgress, _Mapping]] = ..., result: _Optional[_Union[TrainingResult, _Mapping]] = ...) -> None: ...

class EvaluateRequest(_message.Message):
    __slots__ = ("name", "inline", "synthetic", "subset")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INLINE_FIELD_NUMBER: _ClassVar[int]
    SYNTHETIC_FIELD_NUMBER: _ClassVar[int]
    SUBSET_FIELD_NUMBER: _ClassVar[int]
    name: str
    inline: InlineData
    synthetic: SyntheticDataset
    subset: Subset
    def __init__(self, name: _Optional[str] = ..., inline: _Optional[_Union[InlineData, _Mapping]] = ..., synthetic: _Optional[_Union[SyntheticDataset, _Mapping]] = ..., subset: _Optional[_Union[Subset, str]] = ...) -> None: ...

class Evaluation(_message.Message):
    __slots__ = ("loss", "metrics")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    LOSS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    loss: float
    metrics: _containers.ScalarMap[str, float]
    def __init__(self, loss: _Optional[float] = ..., metrics: _Optional[_Mapping[str, float]] = ...) -> None: ...

class EvaluateResponse(_message.Message):
    __slots__ = ("name", "version", "untrained", "state", "current", "initial", "baseline", "baseline_source", "samples", "baseline_kind")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UNTRAINED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    INITIAL_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    BASELINE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    BASELINE_KIND_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    untrained: bool
    state: State
    current: Evaluation
    initial: Evaluation
    baseline: Evaluation
    baseline_source: str
    samples: int
    baseline_kind: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., untrained: _Optional[bool] = ..., state: _Optional[_Union[State, str]] = ..., current: _Optional[_Union[Evaluation, _Mapping]] = ..., initial: _Optional[_Union[Evaluation, _Mapping]] = ..., baseline: _Optional[_Union[Evaluation, _Mapping]] = ..., baseline_source: _Optional[str] = ..., samples: _Optional[int] = ..., baseline_kind: _Optional[str] = ...) -> None: ...

class ResetModelRequest(_message.Message):
    __slots__ = ("name", "seed")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    name: str
    seed: int
    def __init__(self, name: _Optional[str] = ..., seed: _Optional[int] = ...) -> None: ...

class CancelTrainingRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class WatchModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ModelEvent(_message.Message):
    __slots__ = ("model", "progress")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    model: Model
    progress: TrainingProgress
    def __init__(self, model: _Optional[_Union[Model, _Mapping]] = ..., progress: _Optional[_Union[TrainingProgress, _Mapping]] = ...) -> None: ...

class ImportHeader(_message.Message):
    __slots__ = ("name", "state", "compile", "seed", "size_bytes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    COMPILE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: State
    compile: CompileSpec
    seed: int
    size_bytes: int
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[State, str]] = ..., compile: _Optional[_Union[CompileSpec, _Mapping]] = ..., seed: _Optional[int] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class ImportModelRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ImportHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[ImportHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class ExportModelRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class ExportHeader(_message.Message):
    __slots__ = ("model", "version", "untrained", "size_bytes", "sha256")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UNTRAINED_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    model: Model
    version: int
    untrained: bool
    size_bytes: int
    sha256: str
    def __init__(self, model: _Optional[_Union[Model, _Mapping]] = ..., version: _Optional[int] = ..., untrained: _Optional[bool] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class ExportModelResponse(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ExportHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[ExportHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("version", "python_version", "tensorflow_version", "keras_version", "start_time", "max_message_bytes", "max_batch_rows")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PYTHON_VERSION_FIELD_NUMBER: _ClassVar[int]
    TENSORFLOW_VERSION_FIELD_NUMBER: _ClassVar[int]
    KERAS_VERSION_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_ROWS_FIELD_NUMBER: _ClassVar[int]
    version: str
    python_version: str
    tensorflow_version: str
    keras_version: str
    start_time: _timestamp_pb2.Timestamp
    max_message_bytes: int
    max_batch_rows: int
    def __init__(self, version: _Optional[str] = ..., python_version: _Optional[str] = ..., tensorflow_version: _Optional[str] = ..., keras_version: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., max_message_bytes: _Optional[int] = ..., max_batch_rows: _Optional[int] = ...) -> None: ...
