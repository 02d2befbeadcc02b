"""Case key paths: every input of a case file can be named, set and scaled; bad paths and
values out of range are refused with the key named."""

from __future__ import annotations

import pytest

from cryoderm.physics.errors import InvalidInput
from cryoderm.research.errors import InvalidStudy
from cryoderm.research.keys import apply, build_case, case_document, current_values, parse_key


def test_a_phase_value_is_set_and_the_rest_of_the_case_is_unchanged(cheek):
    doc = case_document(cheek)
    changed = build_case(apply(doc, [(parse_key("phase[1].gas_temp_c"), "set", -20.0)]))
    assert changed.phases[0].gas_temp_c == -20.0
    assert changed.phases[1] == cheek.phases[1]
    assert changed.tissue == cheek.tissue
    assert build_case(doc) == cheek  # the document is not modified in place


def test_layers_are_named_by_name_index_or_all(cheek):
    doc = case_document(cheek)
    dermis = parse_key("tissue.layer[dermis].thickness_mm")
    assert current_values(doc, dermis) == [cheek.tissue.layers[1].thickness_mm]
    assert current_values(doc, parse_key("tissue.layer[2].thickness_mm")) == current_values(
        doc, dermis
    )
    alias = build_case(apply(doc, [(parse_key("tissue.thickness_mm.fat"), "set", 7.0)]))
    assert [layer.thickness_mm for layer in alias.tissue.layers if layer.name == "fat"] == [7.0]
    every = parse_key("tissue.layer[*].perfusion_per_s")
    doubled = build_case(apply(doc, [(every, "scale", 2.0)]))
    assert [layer.perfusion_per_s for layer in doubled.tissue.layers] == [
        2.0 * layer.perfusion_per_s for layer in cheek.tissue.layers
    ]


def test_a_key_not_yet_written_can_be_set_but_not_scaled(cheek):
    doc = case_document(cheek)
    key = parse_key("perfusion.scale_k")
    assert current_values(doc, key) == [None]
    assert build_case(apply(doc, [(key, "set", 4.0)])).perfusion.scale_k == 4.0
    with pytest.raises(InvalidStudy, match="scale needs a value"):
        apply(doc, [(key, "scale", 2.0)])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("phase[3].gas_temp_c", "has 2 phase entries"),
        ("tissue.layer[cartilage].thickness_mm", "no layer named 'cartilage'"),
        ("phase[0].gas_temp_c", "counted from 1"),
        ("phase[1]", "name a value inside the table"),
        ("phase 1.gas", "dotted keys"),
    ],
)
def test_a_bad_key_path_is_refused_naming_it(cheek, text, message):
    with pytest.raises(InvalidStudy, match=message):
        apply(case_document(cheek), [(parse_key(text), "set", 1.0)])


def test_a_value_out_of_range_is_refused_by_the_parser_with_its_key(cheek):
    doc = apply(case_document(cheek), [(parse_key("phase[1].heat_transfer_w_m2k"), "set", -5.0)])
    with pytest.raises(InvalidInput, match=r"phase\[1\]\.heat_transfer_w_m2k"):
        build_case(doc)
