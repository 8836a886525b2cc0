"""Registering the cell functions without the VBA editor: xlwings' real generator
(``xlwings.udfs.import_udfs``) writing into a stand-in for Excel's VBA project."""

from __future__ import annotations

import sys

import pytest

from etf_rebalancer.errors import WorkbookError
from etf_rebalancer.excel import register as rg
from etf_rebalancer.excel.build import ADDIN_FILE_NAME, build_xlam, template_path
from tests.excel.xlwings_udfs import real_xlwings_udfs

NAME_ERROR = -2146826259  # what Excel's Evaluate returns for #NAME?


class _VBProject:
    """Excel's VBProject.VBComponents as xlwings' import_udfs uses it."""

    class _Components:
        def __init__(self) -> None:
            self.imported: list[str] = []

        def __call__(self, name):
            raise sys.modules["pywintypes"].com_error("no such component")

        def Remove(self, component):
            raise AssertionError("nothing to remove")

        def Import(self, path):
            with open(path) as handle:
                self.imported.append(handle.read())

    def __init__(self) -> None:
        self.VBComponents = self._Components()


class _AddinWorkbook:
    class _Application:
        Version = "16.0"

        def __init__(self) -> None:
            self.macro_options: list[tuple[str, dict]] = []

        def MacroOptions(self, macro, **kwargs):
            self.macro_options.append((macro, kwargs))

    def __init__(self, trusted: bool = True) -> None:
        self.Name = ADDIN_FILE_NAME
        self.trusted = trusted
        self._project = _VBProject()
        self.Application = self._Application()

    @property
    def VBProject(self):
        if not self.trusted:  # what pywin32 raises when the Trust Center setting is off
            raise sys.modules["pywintypes"].com_error(
                -2147352567, "Programmatic access to Visual Basic Project is not trusted"
            )
        return self._project


class _Excel:
    """Excel's Application: Evaluate answers #NAME? until the functions are imported."""

    def __init__(self, addin: _AddinWorkbook) -> None:
        self.addin = addin

    def Evaluate(self, formula):
        assert formula == "ETF_VERSION()"
        return "0.1.0" if self.addin._project.VBComponents.imported else NAME_ERROR

    def Workbooks(self, name):
        assert name == ADDIN_FILE_NAME
        return self.addin


@pytest.fixture
def xlwings_udfs(monkeypatch):
    with real_xlwings_udfs() as module:
        monkeypatch.setattr(module, "__pro__", False)
        module.get_udf_module("etf_rebalancer.udfs", None)
        yield module


def test_missing_functions_are_registered_through_xlwings_own_import(xlwings_udfs):
    addin = _AddinWorkbook()
    excel = _Excel(addin)
    assert rg.functions_registered(excel) is False
    assert rg.ensure_registered(excel, import_udfs=xlwings_udfs.import_udfs) is True
    (module_text,) = addin._project.VBComponents.imported
    assert module_text.startswith('Attribute VB_Name = "xlwings_udfs"')
    assert "Function ETF_VERSION()" in module_text and "Function REBAL_ORDERS(" in module_text
    assert rg.functions_registered(excel) is True
    # Registered once: a second Refresh leaves the project alone.
    assert rg.ensure_registered(excel, import_udfs=xlwings_udfs.import_udfs) is False
    assert len(addin._project.VBComponents.imported) == 1


def test_an_untrusted_vba_project_gets_a_message_naming_the_setting(xlwings_udfs):
    excel = _Excel(_AddinWorkbook(trusted=False))
    with pytest.raises(WorkbookError) as raised:
        rg.ensure_registered(excel, import_udfs=xlwings_udfs.import_udfs)
    assert "tick File > Options > Trust Center" in str(raised.value).replace("Tick", "tick")
    assert "Trust access to the VBA project object model" in raised.value.localized("en")
    assert "VBA 프로젝트 개체 모델" in raised.value.localized("ko")


def test_an_add_in_that_is_not_open_says_how_to_install():
    class NoAddin(_Excel):
        def Workbooks(self, name):
            raise KeyError(name)

    with pytest.raises(WorkbookError, match="etf-rebal addin install"):
        rg.ensure_registered(NoAddin(_AddinWorkbook()))


def test_the_add_in_s_vba_stays_byte_identical_to_xlwings_template():
    """Registration happens in the running add-in, so the shipped VBA is xlwings' own."""
    import io
    import zipfile

    shipped = zipfile.ZipFile(io.BytesIO(build_xlam())).read("xl/vbaProject.bin")
    assert shipped == zipfile.ZipFile(template_path()).read("xl/vbaProject.bin")
