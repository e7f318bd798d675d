"""The ``kerve.v1.Models`` servicer: convert, call the registry, convert back."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc

from kerve.v1 import kerve_pb2, kerve_pb2_grpc
from kerve_server.engine import EpochReport
from kerve_server.names import validate_model_name
from kerve_server.service.registry import ModelRegistry
from kerve_server.transport import convert
from kerve_server.transport.status import translate_errors, translate_stream_errors
from kerve_server.transport.tensors import decode_tensor
from kerve_server.transport.trust import verdict_from_proto

logger = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]

# Largest archive chunk per ExportModel message; smaller when the message
# size limit is small, so that each message with its envelope fits.
EXPORT_CHUNK_BYTES = 1024 * 1024
MESSAGE_ENVELOPE_BYTES = 1024


class ModelsServicer(kerve_pb2_grpc.ModelsServicer):
    """Serves the Models service from a ``ModelRegistry``."""

    def __init__(
        self,
        registry: ModelRegistry,
        *,
        max_dataset_rows: int,
        max_import_bytes: int,
        max_message_bytes: int,
        info: kerve_pb2.ServerInfo,
    ) -> None:
        self._registry = registry
        # Shared with the server, which sets its start time once the store
        # has loaded, before any GetServerInfo call is let through.
        self._info = info
        self._chunk_bytes = max(
            1, min(EXPORT_CHUNK_BYTES, max_message_bytes - MESSAGE_ENVELOPE_BYTES)
        )
        self._max_dataset_rows = max_dataset_rows
        self._max_import_bytes = max_import_bytes

    @translate_errors
    async def CreateModel(
        self, request: kerve_pb2.CreateModelRequest, context: Context
    ) -> kerve_pb2.Model:
        validate_model_name(request.name)
        spec = convert.spec_from_proto(request.spec, model=request.name)
        snapshot = await self._registry.create(request.name, spec)
        return convert.model_to_proto(snapshot)

    @translate_errors
    async def GetModel(
        self, request: kerve_pb2.GetModelRequest, context: Context
    ) -> kerve_pb2.Model:
        return convert.model_to_proto(self._registry.get(request.name))

    @translate_errors
    async def ListModels(
        self, request: kerve_pb2.ListModelsRequest, context: Context
    ) -> kerve_pb2.ListModelsResponse:
        models = [convert.model_to_proto(s) for s in self._registry.list()]
        return kerve_pb2.ListModelsResponse(models=models)

    @translate_errors
    async def DeleteModel(
        self, request: kerve_pb2.DeleteModelRequest, context: Context
    ) -> kerve_pb2.DeleteModelResponse:
        await self._registry.delete(request.name)
        return kerve_pb2.DeleteModelResponse()

    @translate_errors
    async def Predict(
        self, request: kerve_pb2.PredictRequest, context: Context
    ) -> kerve_pb2.PredictResponse:
        self._registry.require(request.name)
        inputs = decode_tensor(request.inputs, field="inputs", model=request.name)
        prediction = await self._registry.predict(
            request.name,
            inputs,
            strict=request.strict,
            min_verdict=verdict_from_proto(request.min_verdict, model=request.name),
        )
        return convert.prediction_to_proto(prediction)

    @translate_stream_errors
    async def Train(
        self, request: kerve_pb2.TrainRequest, context: Context
    ) -> AsyncIterator[kerve_pb2.TrainResponse]:
        self._registry.require(request.name)
        training = convert.training_request_from_proto(
            request, max_rows=self._max_dataset_rows
        )
        run = await self._registry.train(request.name, training)
        try:
            async for event in run.events():
                if isinstance(event, EpochReport):
                    yield convert.progress_to_proto(event)
                else:
                    yield kerve_pb2.TrainResponse(
                        result=kerve_pb2.TrainingResult(
                            model=convert.model_to_proto(event.model),
                            summary=convert.summary_to_proto(event.summary),
                        )
                    )
        except asyncio.CancelledError:
            # The caller cancelled the call or went away. Unless it asked
            # otherwise, stop the run, which leaves the previous state.
            if request.keep_running_on_disconnect:
                logger.info(
                    "Train caller of model %s went away; the run continues",
                    request.name,
                )
            else:
                logger.info(
                    "Train caller of model %s went away; cancelling the run",
                    request.name,
                )
                run.cancel()
            raise

    @translate_errors
    async def Evaluate(
        self, request: kerve_pb2.EvaluateRequest, context: Context
    ) -> kerve_pb2.EvaluateResponse:
        self._registry.require(request.name)
        source = convert.data_from_proto(request, max_rows=self._max_dataset_rows)
        subset = convert.subset_from_proto(request.subset)
        report = await self._registry.evaluate(request.name, source, subset)
        return convert.evaluation_to_proto(report)

    @translate_errors
    async def ResetModel(
        self, request: kerve_pb2.ResetModelRequest, context: Context
    ) -> kerve_pb2.Model:
        seed = request.seed if request.HasField("seed") else None
        snapshot = await self._registry.reset(request.name, seed=seed)
        return convert.model_to_proto(snapshot)

    @translate_errors
    async def CancelTraining(
        self, request: kerve_pb2.CancelTrainingRequest, context: Context
    ) -> kerve_pb2.Model:
        return convert.model_to_proto(self._registry.cancel_training(request.name))

    @translate_stream_errors
    async def WatchModel(
        self, request: kerve_pb2.WatchModelRequest, context: Context
    ) -> AsyncIterator[kerve_pb2.ModelEvent]:
        async for event in self._registry.watch(request.name):
            if event.model is None:
                return
            yield convert.event_to_proto(event)

    @translate_errors
    async def ImportModel(
        self,
        request_iterator: AsyncIterator[kerve_pb2.ImportModelRequest],
        context: Context,
    ) -> kerve_pb2.Model:
        header, archive = await convert.read_import(
            request_iterator, max_bytes=self._max_import_bytes
        )
        snapshot = await self._registry.import_model(
            header.name,
            archive,
            trained=header.state == kerve_pb2.TRAINED,
            compile_spec=convert.import_compile(header),
            seed=header.seed if header.HasField("seed") else None,
        )
        return convert.model_to_proto(snapshot)

    @translate_stream_errors
    async def ExportModel(
        self, request: kerve_pb2.ExportModelRequest, context: Context
    ) -> AsyncIterator[kerve_pb2.ExportModelResponse]:
        version = request.version if request.HasField("version") else None
        snapshot, record, data = await self._registry.export_model(
            request.name, version
        )
        yield kerve_pb2.ExportModelResponse(
            header=kerve_pb2.ExportHeader(
                model=convert.model_to_proto(snapshot),
                version=record.number,
                untrained=not record.trained,
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
        for offset in range(0, len(data), self._chunk_bytes):
            yield kerve_pb2.ExportModelResponse(
                chunk=data[offset : offset + self._chunk_bytes]
            )

    @translate_errors
    async def GetServerInfo(
        self, request: kerve_pb2.GetServerInfoRequest, context: Context
    ) -> kerve_pb2.ServerInfo:
        return self._info
