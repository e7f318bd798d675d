"""SIGKILL at many points during training and saving loses no complete state."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

import kerve
from tests.servers import ServerProcess, start_server

TRIALS = 20
SPEC = kerve.ModelSpec(
    input_shape=(5,), layers=[kerve.Dense(8, activation="relu"), kerve.Dense(1)]
)
PROBE = np.random.default_rng(2).normal(size=(6, 5)).astype(np.float32)
DATA = kerve.Regression(n_samples=200, n_features=5, noise=0.1, random_state=8)


class Ledger:
    """What the test has seen acknowledged: outputs per model and version."""

    def __init__(self) -> None:
        self.outputs: dict[str, dict[int, np.ndarray]] = {}
        # Names whose delete may have run when the server was killed.
        self.deleting: set[str] = set()
        self.lock = threading.Lock()

    def record(self, name: str, version: int, outputs: np.ndarray) -> None:
        with self.lock:
            self.outputs.setdefault(name, {})[version] = outputs


def _workload(address: str, trial: int, ledger: Ledger, stop: threading.Event) -> None:
    """Create, train and delete models until the server dies or ``stop``."""
    try:
        with kerve.Client(address, timeout=30, warn_untrained=False) as client:
            step = 0
            while not stop.is_set():
                name = f"t{trial}-m{step}"
                client.create_model(name, SPEC)
                ledger.record(name, 1, client.predict(name, PROBE).outputs)
                for _ in range(2):
                    result = client.train(name, dataset=DATA, epochs=2)
                    outputs = client.predict(name, PROBE).outputs
                    ledger.record(name, result.model.version, outputs)
                if step % 2 == 1:
                    ledger.deleting.add(name)
                    client.delete_model(name)
                step += 1
    except kerve.KerveError:
        return  # the server was killed


def _check_store(server: ServerProcess, data_dir: Path, ledger: Ledger) -> None:
    log = server.log()
    assert "skipping model" not in log, log
    leftovers = [
        p
        for p in (data_dir / "models").rglob("*")
        if p.name.startswith((".tmp-", ".deleted-"))
    ]
    assert leftovers == [], f"leftovers after load: {leftovers}"
    with kerve.Client(server.address, timeout=60, warn_untrained=False) as client:
        present = {model.name: model for model in client.list_models()}
        for name, model in present.items():
            assert model.state in {kerve.State.UNTRAINED, kerve.State.TRAINED}, model
            prediction = client.predict(name, PROBE)
            assert prediction.untrained is (model.version == 1)
            assert prediction.untrained is (model.state is kerve.State.UNTRAINED)
            seen = ledger.outputs.get(name, {})
            if model.version in seen:
                np.testing.assert_allclose(
                    prediction.outputs, seen[model.version], atol=1e-6
                )
            else:
                # A version published just before the kill, whose result the
                # workload never received: it must be the next one.
                assert model.version == max(seen, default=0) + 1, (name, model, seen)
                ledger.record(name, model.version, prediction.outputs)
        for name in ledger.outputs:
            if name not in present:
                assert name in ledger.deleting or max(ledger.outputs[name]) == 1, (
                    f"model {name} vanished"
                )
        for name in list(ledger.outputs):
            if name not in present:
                del ledger.outputs[name]


def test_sigkill_keeps_complete_states(tmp_path: Path) -> None:
    data_dir = tmp_path / "store"
    ledger = Ledger()
    # Kill delays spread over the first seconds of work, when creates,
    # training runs, archive writes and deletes overlap.
    delays = [0.3 + 0.2 * ((trial * 7) % TRIALS) for trial in range(TRIALS)]
    kills = 0
    server = start_server(tmp_path / "logs", data_dir=data_dir)
    try:
        for trial, delay in enumerate(delays):
            _check_store(server, data_dir, ledger)
            stop = threading.Event()
            worker = threading.Thread(
                target=_workload, args=(server.address, trial, ledger, stop)
            )
            worker.start()
            time.sleep(delay)
            server.process.kill()
            server.process.wait()
            kills += 1
            stop.set()
            worker.join(timeout=60)
            server = start_server(tmp_path / "logs", data_dir=data_dir)
        _check_store(server, data_dir, ledger)
    finally:
        server.stop()

    assert kills == TRIALS
    assert sum(len(versions) for versions in ledger.outputs.values()) > 0
