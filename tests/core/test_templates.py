"""Specification of grader templates (rftkit_nb.core.templates)."""

from __future__ import annotations

import pytest

from rftkit_nb.core.graders import StringCheckGrader
from rftkit_nb.core.templates import (
    SAMPLE_VARIABLES,
    TemplateVariable,
    find_variables,
    first_placeholder,
    grader_variables,
    render,
    resolve,
    template_fields,
)
from rftkit_nb.errors import ConfigError, GradingError, InvalidVariableError, TemplateError

# ------------------------------------------------------------------------------------------ find_variables


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{{item.x}}", [("item", ("x",), "item.x", 0, 10)], id="no-spaces"),
        pytest.param("{{ item.x }}", [("item", ("x",), "item.x", 0, 12)], id="spaces"),
        pytest.param("a {{\n item.x\t}} b", [("item", ("x",), "item.x", 2, 15)], id="any-whitespace"),
        pytest.param(
            "{{ sample.output_json.a[0].b }}",
            [("sample", ("output_json", "a", 0, "b"), "sample.output_json.a[0].b", 0, 31)],
            id="nested-json-path",
        ),
        pytest.param(
            "{{sample.output_tools[0].function.name}}",
            [
                (
                    "sample",
                    ("output_tools", 0, "function", "name"),
                    "sample.output_tools[0].function.name",
                    0,
                    40,
                )
            ],
            id="tool-call-path",
        ),
        pytest.param(
            "{{ item.a[10][2] }}", [("item", ("a", 10, 2), "item.a[10][2]", 0, 19)], id="index-chain"
        ),
        pytest.param(
            "{{ item.reference-answer }}",
            [("item", ("reference-answer",), "item.reference-answer", 0, 27)],
            id="hyphen-key",
        ),
        pytest.param(
            "Q: {{item.q}} A: {{ sample.output_text }}",
            [("item", ("q",), "item.q", 3, 13), ("sample", ("output_text",), "sample.output_text", 17, 41)],
            id="two-variables",
        ),
        pytest.param(
            "{{item.clause_type}}}",
            [("item", ("clause_type",), "item.clause_type", 0, 20)],
            id="extra-closing-brace",
        ),
        pytest.param("{{{item.x}}}", [("item", ("x",), "item.x", 1, 11)], id="wrapped-in-braces"),
        pytest.param(
            '{"a": {{item.x}}, "b": "{{item.y}}"}',
            [("item", ("x",), "item.x", 6, 16), ("item", ("y",), "item.y", 24, 34)],
            id="literal-json",
        ),
        pytest.param("plain {text} and { braces }", [], id="single-braces"),
        pytest.param("}} {{", [], id="unbalanced-doubles"),
        pytest.param("", [], id="empty"),
    ],
)
def test_find_variables_when_template_is_well_formed_returns_each_variable(template, expected):
    found = find_variables(template)
    assert [(v.namespace, v.path, v.text, v.start, v.end) for v in found] == expected
    for var in found:
        assert template[var.start : var.end].startswith("{{")
        assert template[var.start : var.end].endswith("}}")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param(
            "{{ foo.x }}", "namespace 'foo'; only 'item' (the dataset row) and 'sample'", id="namespace"
        ),
        pytest.param("{{ Item.x }}", "namespace 'Item'", id="namespace-case"),
        pytest.param("{{ answer }}", "did you mean {{ item.answer }}?", id="bare-name"),
        pytest.param("{{ sample.output }}", "sample.output, which does not exist", id="sample-root"),
        pytest.param("{{ sample.output_json.x }} {{ sample.text }}", "sample.text", id="second-is-bad"),
        pytest.param("{{ item }}", "names no key", id="no-path"),
        pytest.param("{{ item[0] }}", "names no key", id="index-first"),
        pytest.param("{{ item.a[-1] }}", "malformed path at '[-1]'", id="negative-index"),
        pytest.param("{{ item.a[x] }}", "malformed path at '[x]'", id="name-index"),
        pytest.param("{{ item. a }}", "malformed path at '. a'", id="space-in-path"),
        pytest.param("{{ item.a.}}", "malformed path at '.'", id="trailing-dot"),
        pytest.param("{{ item.a b }}", "malformed path", id="two-words"),
        pytest.param("{{ }}", "empty or malformed", id="empty"),
        pytest.param("{{ .x }}", "empty or malformed", id="no-namespace"),
    ],
)
def test_find_variables_when_variable_is_malformed_raises_template_error(template, message):
    with pytest.raises(TemplateError) as caught:
        find_variables(template)
    assert message in str(caught.value)
    assert isinstance(caught.value, ConfigError)


def test_find_variables_when_sample_root_is_wrong_lists_the_five_allowed():
    with pytest.raises(TemplateError) as caught:
        find_variables("{{ sample.json }}")
    for name in SAMPLE_VARIABLES:
        assert name in str(caught.value)


@pytest.mark.parametrize(
    ("template", "position", "shown"),
    [
        pytest.param("Answer: {{ item.z", 8, "'{{ item.z'", id="item-at-the-end"),
        pytest.param("{{sample.output_text", 0, "'{{sample.output_text'", id="sample-no-spaces"),
        pytest.param("a {{ item.x } b", 2, "'{{ item.x } b'", id="single-closing-brace"),
        pytest.param("{{ item.a {{ item.b }}", 0, "'{{ item.a {{ item.b }}'", id="reopened-before-closing"),
        pytest.param(
            "{{ item.a }} then {{ sample.output_json.x", 18, "'{{ sample.output_json.x'", id="second"
        ),
        pytest.param("{{{ item.x", 1, "'{{ item.x'", id="after-a-literal-brace"),
        pytest.param("{{ item." + "k" * 40, 0, "'{{ item." + "k" * 22 + "'...", id="long-tail-cut"),
    ],
)
def test_find_variables_when_an_item_or_sample_opener_never_closes_raises_naming_the_position(
    template, position, shown
):
    with pytest.raises(TemplateError) as caught:
        find_variables(template)
    assert f"template variable at position {position} ({shown}) is never closed" in str(caught.value)
    assert "close it with }}" in str(caught.value)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param('{"a": {{item.x}}, "b": {"c": 1}}', ["item.x"], id="json-closing-run"),
        pytest.param("{{item.clause_type}}}", ["item.clause_type"], id="three-closing-braces"),
        pytest.param("}} stray closer and {{ not a var", [], id="opener-without-namespace"),
        pytest.param("{{ items.x and {{ samples", [], id="namespace-prefix-only"),
        pytest.param("{{ Item.x", [], id="other-case"),
        pytest.param("item.x }} {{", [], id="closer-before-opener"),
    ],
)
def test_find_variables_when_braces_are_literal_does_not_report_them_as_unclosed(template, expected):
    assert [v.text for v in find_variables(template)] == expected


def test_render_when_a_variable_is_never_closed_raises_instead_of_rendering_it_literally():
    with pytest.raises(TemplateError, match="never closed"):
        render("{{ item.a }} and {{ item.b", item={"a": 1, "b": 2}, sample={})


def test_grader_construction_when_a_variable_is_never_closed_raises_config_error_naming_the_field():
    with pytest.raises(ConfigError, match=r"reference: template variable at position 0 .* is never closed"):
        StringCheckGrader(
            name="exact", input="{{ sample.output_text }}", reference="{{ item.answer", operation="eq"
        )


def test_grader_variables_when_a_variable_is_never_closed_names_the_field():
    config = {"type": "string_check", "input": "{{ sample.output_text }}", "reference": "{{ item.answer"}
    with pytest.raises(TemplateError, match=r"^reference: template variable at position 0"):
        grader_variables(config)


# ---------------------------------------------------------------------------------------- resolve / render

ITEM = {
    "question": "What is 2 + 2?",
    "cluster": "math",
    "answer": 4,
    "meta": {"tags": ["easy", {"level": 1, "note": None}], "ok": True},
}
SAMPLE = {
    "output_text": '{"score": 0.5}',
    "output_json": {"score": 0.5, "items": [{"name": "Ada", "n": 2}], "label": "ünïcode"},
    "output_tools": [{"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}],
    "choices": [],
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{{ item.question }}", "What is 2 + 2?", id="string-as-is"),
        pytest.param("{{ item.answer }}", "4", id="int-as-json"),
        pytest.param("{{ item.meta.ok }}", "true", id="bool-as-json"),
        pytest.param("{{ sample.output_json.score }}", "0.5", id="float-as-json"),
        pytest.param("{{ item.meta.tags }}", '["easy", {"level": 1, "note": null}]', id="list-as-json"),
        pytest.param("{{ item.meta.tags[1].level }}", "1", id="list-then-dict"),
        pytest.param("{{ sample.output_json.items[0].name }}", "Ada", id="sample-json-path"),
        pytest.param("{{ sample.output_json.label }}", "ünïcode", id="unicode-as-is"),
        pytest.param(
            "{{ sample.output_json }}",
            '{"score": 0.5, "items": [{"name": "Ada", "n": 2}], "label": "ünïcode"}',
            id="object-no-ascii-escapes",
        ),
        pytest.param("{{ sample.output_tools[0].function.name }}", "add", id="tool-name"),
        pytest.param("{{ sample.choices }}", "[]", id="empty-list"),
        pytest.param("{{ sample.output_text }}", '{"score": 0.5}', id="output-text-not-reparsed"),
        pytest.param(
            '{"a": {{item.answer}}, "b": "{{item.cluster}}"}', '{"a": 4, "b": "math"}', id="literal-json"
        ),
        pytest.param("{{item.cluster}}}", "math}", id="extra-closing-brace"),
        pytest.param("{{{item.cluster}}}", "{math}", id="wrapped-in-braces"),
        pytest.param(
            "[{{item.answer}}] {not a var} {{ item.cluster }}!", "[4] {not a var} math!", id="mixed"
        ),
        pytest.param("no variables {}", "no variables {}", id="nothing-to-do"),
    ],
)
def test_render_when_variables_are_present_substitutes_them(template, expected):
    assert render(template, item=ITEM, sample=SAMPLE) == expected


def test_render_when_value_contains_braces_does_not_render_it_again():
    assert render("{{ item.x }}", item={"x": "{{ item.y }}"}, sample={}) == "{{ item.y }}"


def test_resolve_when_path_is_present_returns_the_raw_value():
    (var,) = find_variables("{{ item.meta.tags[1] }}")
    assert resolve(var, item=ITEM, sample=SAMPLE) == {"level": 1, "note": None}
    assert var == TemplateVariable("item", ("meta", "tags", 1), "item.meta.tags[1]", 0, 23)


@pytest.mark.parametrize(
    ("template", "why"),
    [
        pytest.param(
            "{{ item.missing }}",
            "the item has no key 'missing' (keys: question, cluster, answer, meta)",
            id="depth-1-item",
        ),
        pytest.param(
            "{{ sample.output_audio.data }}",
            "the sample has no key 'output_audio' (keys: output_text, output_json, output_tools, choices)",
            id="depth-1-sample",
        ),
        pytest.param("{{ item.meta.nope }}", "item.meta has no key 'nope' (keys: tags, ok)", id="depth-2"),
        pytest.param(
            "{{ item.meta.tags[2] }}",
            "item.meta.tags is a list of 2, so index [2] is out of range",
            id="index-out-of-range",
        ),
        pytest.param(
            "{{ item.meta.tags[1].nope }}",
            "item.meta.tags[1] has no key 'nope' (keys: level, note)",
            id="depth-4",
        ),
        pytest.param("{{ item.meta.tags[1].note }}", "item.meta.tags[1].note is null", id="null-leaf"),
        pytest.param(
            "{{ item.meta.tags[0].x }}",
            "item.meta.tags[0] is a string, not an object, so it has no key 'x'",
            id="key-on-str",
        ),
        pytest.param(
            "{{ item.answer.x }}",
            "item.answer is the number 4, not an object, so it has no key 'x'",
            id="key-on-number",
        ),
        pytest.param(
            "{{ item.question[0] }}",
            "item.question is a string, not a list, so it has no index [0]",
            id="index-on-str",
        ),
        pytest.param(
            "{{ item.meta[0] }}",
            "item.meta is an object, not a list, so it has no index [0]",
            id="index-on-dict",
        ),
        pytest.param(
            "{{ item.meta.tags.x }}",
            "item.meta.tags is a list of 2, not an object, so it has no key 'x'",
            id="key-on-list",
        ),
    ],
)
def test_render_when_path_is_absent_raises_invalid_variable_error_naming_the_part(template, why):
    with pytest.raises(InvalidVariableError) as caught:
        render(template, item=ITEM, sample=SAMPLE)
    variable = find_variables(template)[0].text
    assert str(caught.value) == f"template variable {{{{ {variable} }}}} is not present: {why}"
    assert caught.value.path == variable
    assert caught.value.category == "invalid_variable_error"
    assert isinstance(caught.value, GradingError)


def test_render_when_output_json_is_null_says_the_output_was_not_json():
    with pytest.raises(InvalidVariableError) as caught:
        render("{{ sample.output_json.score }}", item={}, sample={"output_text": "hi", "output_json": None})
    assert "sample.output_json is null (the output was not valid JSON" in str(caught.value)
    assert caught.value.path == "sample.output_json.score"


def test_render_when_item_has_many_keys_lists_at_most_eight():
    item = {f"k{i}": i for i in range(11)}
    with pytest.raises(
        InvalidVariableError, match=r"keys: k0, k1, k2, k3, k4, k5, k6, k7, \.\.\. \(3 more\)\)$"
    ):
        render("{{ item.zz }}", item=item, sample={})


def test_render_when_item_is_empty_says_so():
    with pytest.raises(InvalidVariableError, match=r"the item has no key 'a' \(it is empty\)"):
        render("{{ item.a }}", item={}, sample={})


def test_render_when_template_is_malformed_raises_template_error_not_invalid_variable():
    with pytest.raises(TemplateError):
        render("{{ row.a }}", item={"a": 1}, sample={})


# ------------------------------------------------------------------------------------------ template_fields

STRING_CHECK = {
    "type": "string_check",
    "name": "exact",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.answer }}",
    "operation": "eq",
}
TEXT_SIMILARITY = {
    "type": "text_similarity",
    "name": "sim",
    "input": "{{ item.reference }}",
    "reference": "{{ sample.output_json.summary }}",
    "evaluation_metric": "fuzzy_match",
}
SCORE_MODEL = {
    "type": "score_model",
    "name": "tone",
    "model": "o4-mini",
    "input": [
        {"role": "system", "content": 'Grade the tone. Reply with {"result": float}.'},
        {"role": "user", "content": "Q: {{ item.question }}\nA: {{ sample.output_text }}"},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Rubric: {{ item.rubric }}"},
                {"type": "output_text", "text": "{{ sample.output_text }}"},
                {"type": "input_image", "image_url": "{{ item.image }}", "detail": "low"},
                {
                    "type": "input_audio",
                    "input_audio": {"data": "{{ sample.output_audio.data }}", "format": "wav"},
                },
            ],
        },
        {"role": "user", "content": {"type": "input_text", "text": "single part {{ item.extra }}"}},
    ],
    "range": [0, 1],
}
SCORE_MODEL_FIELDS = [
    ("input[0].content", 'Grade the tone. Reply with {"result": float}.'),
    ("input[1].content", "Q: {{ item.question }}\nA: {{ sample.output_text }}"),
    ("input[2].content[0].text", "Rubric: {{ item.rubric }}"),
    ("input[2].content[1].text", "{{ sample.output_text }}"),
    ("input[2].content[2].image_url", "{{ item.image }}"),
    ("input[2].content[3].input_audio.data", "{{ sample.output_audio.data }}"),
    ("input[3].content.text", "single part {{ item.extra }}"),
]
LABEL_MODEL = {
    "type": "label_model",
    "name": "label",
    "model": "gpt-4.1",
    "input": [{"role": "user", "content": "Label {{ sample.output_text }}"}],
    "labels": ["good", "bad"],
    "passing_labels": ["good"],
}
PYTHON = {
    "type": "python",
    "name": "py",
    "source": "def grade(sample, item):\n    return '{{ item.x }}' and 1.0\n",
}
MULTI = {
    "type": "multi",
    "name": "combined",
    "graders": {"exact": STRING_CHECK, "tone": SCORE_MODEL, "code": PYTHON},
    "calculate_output": "(exact + tone + code) / 3",
}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(
            STRING_CHECK,
            [("input", "{{ sample.output_text }}"), ("reference", "{{ item.answer }}")],
            id="string_check",
        ),
        pytest.param(
            TEXT_SIMILARITY,
            [("input", "{{ item.reference }}"), ("reference", "{{ sample.output_json.summary }}")],
            id="text_similarity",
        ),
        pytest.param(SCORE_MODEL, SCORE_MODEL_FIELDS, id="score_model-all-content-shapes"),
        pytest.param(LABEL_MODEL, [("input[0].content", "Label {{ sample.output_text }}")], id="label_model"),
        pytest.param(PYTHON, [], id="python-holds-none"),
        pytest.param({"type": "endpoint", "url": "{{ item.url }}"}, [], id="unknown-type-walks-nothing"),
        pytest.param({"name": "no type", "input": "{{ item.x }}"}, [], id="missing-type"),
        pytest.param(
            MULTI,
            [
                ("graders.exact.input", "{{ sample.output_text }}"),
                ("graders.exact.reference", "{{ item.answer }}"),
                *[(f"graders.tone.{path}", text) for path, text in SCORE_MODEL_FIELDS],
            ],
            id="multi",
        ),
        pytest.param({"type": "multi", "graders": [STRING_CHECK]}, [], id="multi-with-list-graders"),
        pytest.param({"type": "score_model", "input": "not a list"}, [], id="score_model-bad-input"),
        pytest.param(
            {
                "type": "score_model",
                "input": [{"role": "user", "content": [{"type": "refusal", "text": "x"}]}],
            },
            [],
            id="unknown-part-type",
        ),
    ],
)
def test_template_fields_when_config_has_templates_lists_each_field_path(config, expected):
    assert template_fields(config) == expected


# ----------------------------------------------------------------------------------------- grader_variables


def test_grader_variables_when_multi_needs_repeats_returns_each_once_in_order():
    found = [v.text for v in grader_variables(MULTI)]
    assert found == [
        "sample.output_text",
        "item.answer",
        "item.question",
        "item.rubric",
        "item.image",
        "sample.output_audio.data",
        "item.extra",
    ]


def test_grader_variables_when_a_field_is_malformed_names_the_field():
    config = {
        "type": "multi",
        "graders": {"tone": {**LABEL_MODEL, "input": [{"role": "user", "content": "{{ x.y }}"}]}},
    }
    with pytest.raises(
        TemplateError, match=r"^graders\.tone\.input\[0\]\.content: template variable '\{\{ x\.y \}\}'"
    ):
        grader_variables(config)


def test_grader_variables_when_grader_is_python_returns_nothing():
    assert grader_variables(PYTHON) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Score {{ item.x }} and {{ y }}", "{{ item.x }}", id="valid-first"),
        pytest.param("Say {{ nope }}", "{{ nope }}", id="malformed-too"),
        pytest.param("{{{item.x}}}", "{{item.x}}", id="inside-literal-braces"),
        pytest.param('Reply {"a": 1} or { {b} }', None, id="single-braces"),
        pytest.param("", None, id="empty"),
    ],
)
def test_first_placeholder_when_text_is_scanned_returns_what_rendering_would_replace(text, expected):
    assert first_placeholder(text) == expected
