"""Build step that compiles the message catalogues into the package.

``translations/`` at the top of the repository holds the catalogues' source (.po). A built
package cannot reach that folder, so building it compiles every catalogue to
``server/translations/<locale>/LC_MESSAGES/*.mo`` inside the package, where
:func:`server.config.translations_directory` finds them. Editable installs keep reading
``translations/`` in the checkout (compiled by ``make translations``) and skip this step.
Everything else about the build is declared in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "translations"
PACKAGED = Path("server") / "translations"


class BuildPyWithCatalogues(build_py):
    """build_py, plus the compiled catalogues of every locale."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        catalogues = sorted(SOURCE.glob("*/LC_MESSAGES/*.po"))
        if not catalogues:
            raise SystemExit(f"no message catalogues under {SOURCE}: the package needs them")
        for po_path in catalogues:
            relative = po_path.relative_to(SOURCE).with_suffix(".mo")
            mo_path = Path(self.build_lib) / PACKAGED / relative
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=relative.parts[0])
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)


setup(cmdclass={"build_py": BuildPyWithCatalogues})
