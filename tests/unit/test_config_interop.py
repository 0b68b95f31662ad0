"""[interop] in axis.toml: defaults for real traffic, named switches, typos refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from edoc_axis.config import CONFIG_TEMPLATE, TLS_OFF, Interop, load_config


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "axis.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_accept_real_traffic(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, ""))
    assert config.interop == Interop(True, True, True)


def test_the_init_template_spells_every_switch_with_its_default(tmp_path: Path) -> None:
    config = load_config(
        _config(tmp_path, CONFIG_TEMPLATE.format(axis_name="a", port=8080, tls=TLS_OFF))
    )
    assert config.interop == Interop()
    for switch in Interop.__dataclass_fields__:
        assert f"\n{switch} = true" in CONFIG_TEMPLATE


def test_each_switch_can_be_turned_off(tmp_path: Path) -> None:
    text = "[interop]\ncase_insensitive_codes = false\nmissing_organ_name = false\n"
    config = load_config(_config(tmp_path, text))
    assert config.interop == Interop(
        case_insensitive_codes=False, null_trace_organ_id=True, missing_organ_name=False
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[interop]\ncase_insensitive_code = false\n", "unknown keys in \\[interop\\]"),
        ('[interop]\nnull_trace_organ_id = "no"\n', "must be true or false"),
    ],
)
def test_typos_and_non_booleans_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_config(_config(tmp_path, text))


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("edoc-axis (development)", True),
        ("LGSP-H26", True),
        ("NGSP", True),
        ("edoc-axis bench", True),
        ("Trục tỉnh", False),  # not ASCII: not safe in a header
        ("a,b", False),  # the path's separator
        (" lead", False),
        ("x" * 65, False),
    ],
)
def test_axis_names_follow_the_relay_path_rule(tmp_path: Path, name: str, ok: bool) -> None:
    from edoc_axis.config import AXIS_NAME
    from edoc_axis.core.federation import check_axis_name

    assert bool(AXIS_NAME.fullmatch(name)) is ok
    if ok:
        assert check_axis_name(name) == name
        text = CONFIG_TEMPLATE.format(axis_name=name, port=8080, tls=TLS_OFF)
        assert load_config(_config(tmp_path, text)).axis_name == name
    else:
        with pytest.raises(ValueError, match="is not an axis name"):
            check_axis_name(name)
        text = CONFIG_TEMPLATE.format(axis_name=name, port=8080, tls=TLS_OFF)
        with pytest.raises(ValueError, match=r"\[axis\] name"):
            load_config(_config(tmp_path, text))
