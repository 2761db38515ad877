"""sohoa: digitisation pipeline for Vietnamese one-stop shops."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sohoa")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+local"

SOFTWARE = f"sohoa {__version__}"
