"""TinyTorch: a build-it-yourself ML framework. Module code in subpackages is generated from modules/."""
__version__ = "0.1.0"
