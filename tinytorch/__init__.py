"""TinyTorch: a build-it-yourself ML framework. Module code in subpackages is generated from modules/."""
__version__ = "0.1.0"  # the version of the package and of tito (pyproject.toml reads it here)
