"""The ribbon add-in: rebuilt from xlwings' template, compared with the committed file."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import xlwings

from etf_rebalancer.excel import build

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
CUI = "{" + build.CUSTOM_UI_NS + "}"


@pytest.fixture(scope="module")
def built() -> bytes:
    return build.build_xlam()


def parts(data: bytes) -> dict[str, bytes]:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        return {name: z.read(name) for name in z.namelist()}


def test_template_is_the_pinned_xlwings_release():
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert f'"xlwings=={xlwings.__version__}"' in pyproject
    assert build.template_path().is_file()


def test_rebuild_is_byte_identical_to_the_committed_addin(built):
    assert build.committed_addin_path().read_bytes() == built, (
        "addin/etf_rebalancer.xlam is stale: run python scripts/build_xlam.py"
    )
    assert build.build_xlam() == built  # deterministic


def test_vba_project_is_byte_identical_to_the_template(built):
    with zipfile.ZipFile(build.template_path()) as template:
        original = template.read(build.VBA_PART)
        template_names = template.namelist()
    ours = parts(built)
    assert ours[build.VBA_PART] == original
    assert list(ours) == template_names  # same parts, same order
    # The uncompressed PROJECT stream names the module the ribbon callback lives in.
    assert b"Module=RibbonMyAddin" in original
    assert build.RIBBON_CALLBACK.split(".")[0] == "RibbonMyAddin"


def test_untouched_parts_are_copied_verbatim(built):
    with zipfile.ZipFile(build.template_path()) as template:
        original = {name: template.read(name) for name in template.namelist()}
    changed = {
        build.CUSTOM_UI_PART,
        build.CONFIG_SHEET_PART,
        build.SHARED_STRINGS_PART,
        build.WORKBOOK_PART,
        build.CORE_PART,
    }
    for name, data in parts(built).items():
        if name not in changed:
            assert data == original[name], name


def test_file_name_makes_runmain_import_our_package():
    # RunMain: mymodule = ThisWorkbook.Name without extension; RunPython "import " & mymodule ...
    assert Path(build.ADDIN_FILE_NAME).stem == "etf_rebalancer"
    assert build.committed_addin_path().name == build.ADDIN_FILE_NAME


# ---------------------------------------------------------------- customUI

# A subset of customUI.xsd (2006/01): the elements we use, their allowed and required attributes.
_ALLOWED = {
    "customUI": ({"onLoad", "loadImage"}, set()),
    "ribbon": ({"startFromScratch"}, set()),
    "tabs": (set(), set()),
    "tab": ({"id", "label", "visible", "keytip", "insertAfterMso", "insertBeforeMso"}, {"id"}),
    "group": ({"id", "label", "visible", "keytip", "imageMso"}, {"id"}),
    "button": (
        {"id", "label", "size", "onAction", "imageMso", "screentip", "supertip", "keytip"},
        {"id", "onAction"},
    ),
}
_CHILDREN = {
    "customUI": {"ribbon"},
    "ribbon": {"tabs"},
    "tabs": {"tab"},
    "tab": {"group"},
    "group": {"button"},
    "button": set(),
}
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # ST_UniqueID is an xsd:ID (NCName)


def test_custom_ui_validates(built):
    root = ET.fromstring(parts(built)[build.CUSTOM_UI_PART])
    assert root.tag == CUI + "customUI"
    ids: list[str] = []
    for element in root.iter():
        assert element.tag.startswith(CUI), f"foreign element {element.tag}"
        local = element.tag[len(CUI) :]
        allowed, required = _ALLOWED[local]
        assert set(element.attrib) <= allowed, (local, element.attrib)
        assert required <= set(element.attrib), (local, element.attrib)
        assert {child.tag[len(CUI) :] for child in element} <= _CHILDREN[local]
        for key in ("label", "screentip", "supertip"):
            assert len(element.get(key, "")) <= 1024  # ST_String max length
        if "id" in element.attrib:
            assert _ID.match(element.get("id")), element.get("id")
            ids.append(element.get("id"))
        if local == "button":
            assert element.get("size") in (None, "normal", "large")
    assert len(ids) == len(set(ids))


def test_ribbon_has_our_tab_and_a_large_refresh_button(built):
    root = ET.fromstring(parts(built)[build.CUSTOM_UI_PART])
    tabs = root.findall(f".//{CUI}tab")
    assert [tab.get("label") for tab in tabs] == ["ETF Rebalancer"]
    (button,) = root.findall(f".//{CUI}button")
    assert button.get("label") == "Refresh"
    assert button.get("size") == "large"
    assert button.get("onAction") == "RibbonMyAddin.RunMain"


def test_custom_ui_part_is_the_one_the_package_relationship_points_to(built):
    rels = ET.fromstring(parts(built)["_rels/.rels"])
    targets = [
        rel.get("Target")
        for rel in rels
        if rel.get("Type", "").endswith("/ui/extensibility")  # Office 2007 customUI
    ]
    assert targets == [build.CUSTOM_UI_PART]


# ---------------------------------------------------------------- config sheet


def read_config_sheet(data: bytes) -> dict[str, object]:
    """What VBA's GetConfigFromSheet reads: A1 down to the first blank, keys upper-cased."""
    p = parts(data)
    workbook = ET.fromstring(p[build.WORKBOOK_PART])
    names = [s.get("name") for s in workbook.iter(MAIN + "sheet")]
    assert build.CONFIG_SHEET in names  # "myaddin.conf": active (not "_myaddin.conf")
    strings = [
        "".join(t.text or "" for t in si.iter(MAIN + "t"))
        for si in ET.fromstring(p[build.SHARED_STRINGS_PART])
    ]
    cells: dict[str, object] = {}
    for cell in ET.fromstring(p[build.CONFIG_SHEET_PART]).iter(MAIN + "c"):
        value = cell.find(MAIN + "v")
        if value is None:
            continue
        kind = cell.get("t")
        text = value.text or ""
        cells[cell.get("r")] = (
            strings[int(text)] if kind == "s" else bool(int(text)) if kind == "b" else text
        )
    config: dict[str, object] = {}
    row = 1
    while cells.get(f"A{row}") not in (None, ""):
        config[str(cells[f"A{row}"]).upper()] = cells.get(f"B{row}", "")
        row += 1
    return config


def test_config_sheet_sets_udf_modules_and_leaves_the_interpreter_to_the_user_file(built):
    config = read_config_sheet(built)
    assert config["UDF MODULES"] == "etf_rebalancer.udfs"
    assert config["SHOW CONSOLE"] is False
    # A key in this sheet, even empty, would shadow the user's myaddin.conf file.
    for key in ("INTERPRETER_WIN", "INTERPRETER_MAC", "INTERPRETER", "CONDA PATH", "CONDA ENV"):
        assert key not in config


def test_template_config_sheet_was_disabled(built):
    with zipfile.ZipFile(build.template_path()) as template:
        workbook = template.read(build.WORKBOOK_PART).decode()
    assert 'name="_myaddin.conf"' in workbook


def test_wrong_template_is_refused(tmp_path):
    bogus = tmp_path / "bogus.xlam"
    with zipfile.ZipFile(bogus, "w") as z:
        z.writestr(build.WORKBOOK_PART, "<workbook/>")
        z.writestr(build.CONFIG_SHEET_PART, "<worksheet/>")
        z.writestr(build.CORE_PART, "<x/>")
    with pytest.raises(ValueError, match="not the expected template"):
        build.build_xlam(bogus)
