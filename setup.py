"""Build step: put the committed templates and the reference docs inside the package.

``workbook_templates/`` and ``docs/`` stay where they are committed; a built
wheel (or a plain ``pip install``) carries copies as package data, under
``etf_rebalancer/workbook_templates/`` (Lite editions in ``lite/``) and
``etf_rebalancer/docs/``. Editable installs read them from the checkout.
Everything else about the build is in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: (folder in the checkout, file pattern): copied to the same folder inside the package.
BUNDLED = (
    ("workbook_templates", "*.xlsx"),
    ("workbook_templates/lite", "*.xlsx"),
    ("docs", "*.md"),
)


class BuildPyWithData(build_py):
    """``build_py`` that also copies :data:`BUNDLED` into ``etf_rebalancer/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install finds them in the checkout
        package = Path(self.build_lib) / "etf_rebalancer"
        for folder, pattern in BUNDLED:
            for source in sorted((ROOT / folder).glob(pattern)):
                target = package / folder / source.name
                self.mkpath(str(target.parent))
                self.copy_file(str(source), str(target))


setup(cmdclass={"build_py": BuildPyWithData})
