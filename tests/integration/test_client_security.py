"""Tokens and TLS through ``kerve.Client`` and the ``kerve`` command line.

Two servers check the same tokens: one over plaintext on loopback, one with
mutual TLS. Every test runs against both unless it is about TLS itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import kerve
from tests.certificates import Certificates, make_certificates
from tests.servers import ServerProcess, start_server

ADMIN = "admin-token-for-client-tests-0123"
PREDICT = "predict-token-for-client-tests-45"
SPEC = kerve.ModelSpec(input_shape=(2,), layers=[kerve.Dense(1)], seed=0)
ROWS = np.zeros((3, 2), dtype=np.float32)


@dataclass
class Secured:
    """A server with tokens, and the client options that reach it."""

    server: ServerProcess
    options: dict[str, Any]
    cli_flags: list[str]
    folder: Path

    def client(self, token: str | None = None, **extra: Any) -> kerve.Client:
        return kerve.Client(
            self.server.address, token=token, timeout=30, **self.options, **extra
        )


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module", params=["plaintext", "mutual-tls"])
def secured(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    certificates: Certificates,
) -> Iterator[Secured]:
    folder = tmp_path_factory.mktemp(request.param)
    arguments = ["--admin-token", ADMIN, "--predict-token", PREDICT]
    options: dict[str, Any] = {}
    cli_flags: list[str] = []
    if request.param == "mutual-tls":
        arguments += [
            "--tls-cert-file", str(certificates.server_cert),
            "--tls-key-file", str(certificates.server_key),
            "--tls-client-ca-file", str(certificates.ca),
        ]  # fmt: skip
        options = {
            "ca_file": certificates.ca,
            "cert_file": certificates.client_cert,
            "key_file": certificates.client_key,
        }
        cli_flags = [
            "--tls-ca-file", str(certificates.ca),
            "--tls-cert-file", str(certificates.client_cert),
            "--tls-key-file", str(certificates.client_key),
        ]  # fmt: skip
    server = start_server(folder, *arguments)
    secured = Secured(server, options, cli_flags, folder)
    with secured.client(ADMIN) as admin:
        admin.create_model("shared", SPEC)
    yield secured
    code = server.stop()
    assert code == 0, f"server exited with {code}; its log:\n{server.log()}"


def test_no_token_unauthenticated(secured: Secured) -> None:
    with secured.client() as client, pytest.raises(kerve.UnauthenticatedError):
        client.list_models()


def test_wrong_token_hidden_from_error(secured: Secured) -> None:
    wrong = ADMIN + "-wrong"

    with secured.client(wrong) as client:
        with pytest.raises(kerve.UnauthenticatedError) as raised:
            client.predict("shared", ROWS, warn=False)
        text = repr(client)

    assert "invalid credentials" in raised.value.message
    for shown in (str(raised.value), repr(raised.value), text):
        assert ADMIN not in shown


def test_predict_token_predicts(secured: Secured) -> None:
    with secured.client(PREDICT) as client:
        prediction = client.predict("shared", ROWS, warn=False)
        models = client.list_models()

    assert prediction.outputs.shape == (3, 1)
    assert prediction.untrained
    assert "shared" in [model.name for model in models]


def test_predict_token_watches(secured: Secured) -> None:
    with (
        secured.client(PREDICT) as client,
        contextlib.closing(client.watch_model("shared")) as events,
    ):
        first = next(events)

    assert first.model.name == "shared"


@pytest.mark.parametrize("method", ["create", "delete", "export"])
def test_predict_token_denied_admin_methods(secured: Secured, method: str) -> None:
    calls = {
        "create": lambda client: client.create_model("denied", SPEC),
        "delete": lambda client: client.delete_model("shared"),
        "export": lambda client: client.export_model("shared"),
    }

    with (
        secured.client(PREDICT) as client,
        pytest.raises(kerve.PermissionDeniedError) as raised,
    ):
        calls[method](client)

    assert "Use the admin token" in raised.value.message
    assert PREDICT not in str(raised.value)


def test_admin_token_allows_everything(secured: Secured) -> None:
    x = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
    y = x.sum(axis=1)

    with secured.client(ADMIN) as client:
        created = client.create_model("admin-everything", SPEC)
        client.predict("admin-everything", ROWS, warn=False)
        trained = client.train("admin-everything", x=x, y=y, epochs=1)
        report = client.evaluate("admin-everything", x=x, y=y)
        archive = client.export_model("admin-everything")
        imported = client.import_model("admin-imported", archive)
        reset = client.reset_model("admin-everything")
        with contextlib.closing(client.watch_model("admin-everything")) as events:
            watched = next(events)
        client.delete_model("admin-imported")
        client.delete_model("admin-everything")
        names = [model.name for model in client.list_models()]

    assert created.version == 1
    assert trained.model.version == 2
    assert report.version == 2
    assert imported.name == "admin-imported"
    assert reset.version == 3
    assert watched.model.version == 3
    assert "admin-everything" not in names


def test_mutual_tls_without_client_certificate(
    secured: Secured, certificates: Certificates
) -> None:
    if not secured.options:
        pytest.skip("plaintext server")

    with (
        kerve.Client(
            secured.server.address, token=ADMIN, ca_file=certificates.ca, timeout=10
        ) as client,
        pytest.raises(kerve.UnavailableError) as raised,
    ):
        client.list_models()

    assert ADMIN not in str(raised.value)


def test_plaintext_client_rejected_by_tls(secured: Secured) -> None:
    if not secured.options:
        pytest.skip("plaintext server")

    with (
        kerve.Client(secured.server.address, token=ADMIN, timeout=10) as client,
        pytest.raises(kerve.UnavailableError),
    ):
        client.list_models()


@pytest.mark.parametrize(
    ("server_name", "works"),
    [("localhost", True), ("other.example", False)],
    ids=["certificate-name", "other-name"],
)
def test_server_name_checked_against_certificate(
    secured: Secured, server_name: str, works: bool
) -> None:
    if not secured.options:
        pytest.skip("plaintext server")

    with secured.client(ADMIN, server_name=server_name) as client:
        if works:
            assert client.get_model("shared").name == "shared"
        else:
            with pytest.raises(kerve.UnavailableError):
                client.get_model("shared")


# The command line


def run_kerve(
    secured: Secured, *arguments: str, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    variables = {
        **os.environ,
        "KERVE_SERVER": secured.server.address,
        "KERVE_TIMEOUT": "30",
        "COLUMNS": "200",
        **(environment or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "kerve", *secured.cli_flags, *arguments],
        capture_output=True,
        text=True,
        env=variables,
        timeout=60,
        check=False,
    )


def test_cli_without_token_prints_hint(secured: Secured) -> None:
    completed = run_kerve(secured, "list")

    assert completed.returncode == 8
    lines = completed.stderr.strip().splitlines()
    assert lines[0].startswith("error: UNAUTHENTICATED: missing credentials")
    assert lines[1] == (
        "  the server requires a token: pass --token or --token-file, or set "
        "KERVE_TOKEN or KERVE_TOKEN_FILE."
    )


def test_cli_predict_token_from_file(secured: Secured) -> None:
    token_file = secured.folder / "predict-token"
    token_file.write_text(PREDICT + "\n")
    rows = secured.folder / "rows.json"
    rows.write_text(json.dumps(ROWS.tolist()))

    completed = run_kerve(
        secured,
        "predict",
        "shared",
        "--input",
        str(rows),
        "--json",
        environment={"KERVE_TOKEN_FILE": str(token_file)},
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["untrained"] is True
    assert PREDICT not in completed.stdout + completed.stderr


def test_cli_predict_token_denied_create(secured: Secured) -> None:
    completed = run_kerve(
        secured,
        "--token",
        PREDICT,
        "create",
        "cli-denied",
        "--input-shape",
        "2",
        "--dense",
        "1",
    )

    assert completed.returncode == 8
    lines = completed.stderr.strip().splitlines()
    assert lines[0].startswith("error: PERMISSION_DENIED: ")
    assert lines[1] == "  the token does not allow this command: use the admin token."
    assert PREDICT not in completed.stderr


def test_cli_wrong_token_prints_hint(secured: Secured) -> None:
    wrong = ADMIN + "-wrong"

    completed = run_kerve(secured, "list", environment={"KERVE_TOKEN": wrong})

    assert completed.returncode == 8
    assert "the server rejected the token" in completed.stderr
    assert wrong not in completed.stderr


def test_cli_admin_token_creates_and_deletes(secured: Secured) -> None:
    created = run_kerve(
        secured,
        "--token",
        ADMIN,
        "create",
        "cli-admin",
        "--input-shape",
        "2",
        "--dense",
        "1",
        "--json",
    )
    deleted = run_kerve(secured, "--token", ADMIN, "delete", "cli-admin")

    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["name"] == "cli-admin"
    assert deleted.returncode == 0, deleted.stderr
    assert ADMIN not in created.stdout + created.stderr + deleted.stderr


def test_cli_tls_from_environment(secured: Secured, certificates: Certificates) -> None:
    if not secured.options:
        pytest.skip("plaintext server")
    environment = {
        "KERVE_TLS": "1",
        "KERVE_TLS_CA_FILE": str(certificates.ca),
        "KERVE_CLIENT_CERT_FILE": str(certificates.client_cert),
        "KERVE_CLIENT_KEY_FILE": str(certificates.client_key),
        "KERVE_TOKEN": PREDICT,
    }

    completed = subprocess.run(
        [sys.executable, "-m", "kerve", "get", "shared", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "KERVE_SERVER": secured.server.address, **environment},
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["name"] == "shared"


def test_cli_mutual_tls_without_certificate(
    secured: Secured, certificates: Certificates
) -> None:
    if not secured.options:
        pytest.skip("plaintext server")

    completed = subprocess.run(
        [
            sys.executable, "-m", "kerve", "--server", secured.server.address,
            "--timeout", "10", "--tls-ca-file", str(certificates.ca),
            "--token", ADMIN, "list",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip

    assert completed.returncode == 9
    assert completed.stderr.startswith("error: UNAVAILABLE: ")
    assert "--tls-cert-file and --tls-key-file" in completed.stderr
    assert ADMIN not in completed.stderr
