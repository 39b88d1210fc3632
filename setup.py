"""Ships the repository's ``recipes/`` folder inside the package as ``seqkit/recipes/`` (package data), so that
``seqkit fit --config sentiment/sst2`` and ``seqkit recipes`` work from any folder after ``pip install``. Everything
else is configured in pyproject.toml."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithRecipes(build_py):
    """``build_py`` that also copies ``recipes/**/*.yaml`` to ``<build>/seqkit/recipes/``."""

    def run(self) -> None:
        super().run()
        source = Path(__file__).resolve().parent / "recipes"
        target = Path(self.build_lib) / "seqkit" / "recipes"
        for recipe in sorted(source.rglob("*.yaml")):
            destination = target / recipe.relative_to(source)
            self.mkpath(str(destination.parent))
            self.copy_file(str(recipe), str(destination))


setup(cmdclass={"build_py": BuildWithRecipes})
