"""Case key paths: every numeric input of a case can be named, set and scaled; bad paths and
values out of range are refused naming the key path as the case file writes it."""

from __future__ import annotations

import pytest

from cryoderm.physics.errors import InvalidInput
from cryoderm.research.errors import InvalidStudy
from cryoderm.research.keys import apply, current_values, parse_key


def test_a_phase_value_is_set_and_the_rest_of_the_case_is_unchanged(cheek):
    changed = apply(cheek, [(parse_key("phase[1].gas_temp_c"), "set", -20.0)])
    assert changed.phases[0].gas_temp_c == -20.0
    assert changed.phases[1] == cheek.phases[1]
    assert changed.tissue == cheek.tissue
    assert cheek.phases[0].gas_temp_c == -30.0  # the case itself is not changed


def test_layers_are_named_by_name_index_or_all(cheek):
    dermis = parse_key("tissue.layer[dermis].thickness_mm")
    assert current_values(cheek, dermis) == [cheek.tissue.layers[1].thickness_mm]
    assert current_values(cheek, parse_key("tissue.layer[2].thickness_mm")) == current_values(
        cheek, dermis
    )
    alias = apply(cheek, [(parse_key("tissue.thickness_mm.fat"), "set", 7.0)])
    assert [layer.thickness_mm for layer in alias.tissue.layers if layer.name == "fat"] == [7.0]
    every = parse_key("tissue.layer[*].perfusion_per_s")
    doubled = apply(cheek, [(every, "scale", 2.0)])
    assert [layer.perfusion_per_s for layer in doubled.tissue.layers] == [
        2.0 * layer.perfusion_per_s for layer in cheek.tissue.layers
    ]


def test_a_key_not_yet_set_can_be_set_but_not_scaled(cheek):
    key = parse_key("perfusion.scale_k")
    assert current_values(cheek, key) == [None]
    assert apply(cheek, [(key, "set", 4.0)]).perfusion.scale_k == 4.0
    with pytest.raises(InvalidStudy, match="scale needs a value"):
        apply(cheek, [(key, "scale", 2.0)])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("phase[3].gas_temp_c", "has 2 phase entries"),
        ("tissue.layer[cartilage].thickness_mm", "no layer named 'cartilage'"),
        ("phase[0].gas_temp_c", "counted from 1"),
        ("phase[1]", "name a value inside the table"),
        ("phase 1.gas", "dotted keys"),
        ("phase[1].air_speed_m_s", r"phase\[1\] \(convective\) has no 'air_speed_m_s'"),
        ("tissue.layer[1].name", "a numeric input"),
    ],
)
def test_a_bad_key_path_is_refused_naming_it(cheek, text, message):
    with pytest.raises(InvalidStudy, match=message):
        apply(cheek, [(parse_key(text), "set", 1.0)])


def test_a_value_out_of_range_is_refused_with_its_key_path_unit_and_bounds(cheek):
    with pytest.raises(InvalidInput) as caught:
        apply(cheek, [(parse_key("phase[1].heat_transfer_w_m2k"), "set", -5.0)])
    assert str(caught.value).startswith("phase[1].heat_transfer_w_m2k = -5.0 W/(m")
    with pytest.raises(InvalidInput, match=r"^tissue\.layer\[1\]\.thickness_mm = 500\.0 mm"):
        apply(cheek, [(parse_key("tissue.layer[*].thickness_mm"), "set", 500.0)])
