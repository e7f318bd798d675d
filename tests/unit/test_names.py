"""The model name rule."""

from __future__ import annotations

import pytest

from kerve_server.errors import InvalidNameError
from kerve_server.names import MAX_NAME_LENGTH, validate_model_name


@pytest.mark.parametrize("name", ["a", "model-1", "m_2", "0abc", "x" * MAX_NAME_LENGTH])
def test_valid_names_accepted(name: str) -> None:
    assert validate_model_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-a",
        "_a",
        ".a",
        "..",
        "a/b",
        "a\\b",
        "A",
        "a b",
        "a\n",
        "a\x00",
        "é",
        "\uff4dodel",
        "x" * 64,
    ],
)
def test_invalid_names_rejected(name: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_model_name(name)

    assert "invalid model name" in caught.value.message
    assert caught.value.violations[0].field == "name"


def test_long_name_shortened_in_message() -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_model_name("y" * 10_000)

    assert len(caught.value.message) < 300
