"""EndpointGrader: Azure's preview type round-trips, and its header values never show."""

from __future__ import annotations

import json

import pytest

from rftkit_nb.core.graders import (
    MASKED_HEADER,
    EndpointGrader,
    MultiGrader,
    StringCheckGrader,
    config_with_secrets,
    grader_from_config,
)
from rftkit_nb.core.lint import lint
from rftkit_nb.errors import ConfigError

SECRET = "Bearer endpoint-secret-0123456789"


def endpoint(**overrides: object) -> EndpointGrader:
    fields = {"name": "remote", "url": "https://grader.example.com/score", "headers": {"Authorization": SECRET},
              "rate_limit": 50, "pass_threshold": 0.5}  # fmt: skip
    return EndpointGrader(**{**fields, **overrides})


def test_endpoint_grader_when_config_read_then_headers_masked_and_rest_exact() -> None:
    assert endpoint().config == {"type": "endpoint", "name": "remote", "url": "https://grader.example.com/score",
                                 "headers": {"Authorization": MASKED_HEADER}, "rate_limit": 50, "pass_threshold": 0.5}  # fmt: skip


def test_endpoint_grader_when_round_tripped_then_equal_and_secrets_only_on_request() -> None:
    g = endpoint()
    assert grader_from_config(g.config) == g
    full = config_with_secrets(g)
    assert full["headers"] == {"Authorization": SECRET}
    assert config_with_secrets(grader_from_config(full)) == full
    assert grader_from_config({"type": "endpoint", "name": "e", "url": "https://x.example"}).config == {
        "type": "endpoint", "name": "e", "url": "https://x.example"}  # fmt: skip


@pytest.mark.parametrize(
    "shown",
    [
        pytest.param(lambda g: repr(g), id="repr"),
        pytest.param(lambda g: str(g), id="str"),
        pytest.param(lambda g: g._repr_html_(), id="html"),
        pytest.param(lambda g: json.dumps(g.config), id="config"),
        pytest.param(lambda g: repr(g.model_dump()), id="model_dump"),
        pytest.param(lambda g: json.dumps(MultiGrader(name="m", graders={"e": g}, calculate_output="e").config), id="in-multi"),
        pytest.param(lambda g: str(lint(g)), id="lint"),
    ],
)  # fmt: skip
def test_endpoint_grader_when_shown_anywhere_then_header_value_absent(shown) -> None:
    assert "endpoint-secret" not in shown(endpoint())


def test_config_with_secrets_when_multi_then_sub_endpoint_headers_real() -> None:
    exact = StringCheckGrader(name="exact", input="{{ sample.output_text }}", reference="x", operation="eq")
    multi = MultiGrader(name="m", graders={"e": endpoint(), "x": exact}, calculate_output="e + x")
    assert config_with_secrets(multi)["graders"]["e"]["headers"]["Authorization"] == SECRET
    assert config_with_secrets(multi)["graders"]["x"] == exact.config


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"url": "ftp://x"}, "url", id="not-http"),
        pytest.param({"rate_limit": 0}, "rate_limit", id="rate-limit"),
        pytest.param({"url": ""}, "url", id="empty-url"),
    ],
)
def test_endpoint_grader_when_field_invalid_then_one_line_error_naming_it(overrides, field) -> None:
    with pytest.raises(ConfigError, match=field) as caught:
        endpoint(**overrides)
    assert "\n" not in str(caught.value)


def test_lint_when_endpoint_grader_then_preview_and_secret_warnings() -> None:
    found = lint(endpoint())
    assert [f.level for f in found] == ["warning", "warning"]
    assert "preview" in found[0].message
    assert "secrets" in found[1].message


def test_lint_when_headers_came_back_masked_then_error_says_set_them() -> None:
    reloaded = grader_from_config(endpoint().config)
    (error,) = lint(reloaded).errors
    assert error.where == "remote.headers"
    assert "header Authorization holds the mask" in error.message
