"""icdbridge: ICD terminologies, lossless crosswalks, zero-shot coding models and evaluation.

Nothing is loaded at import time; every terminology, mapping table and model is read on first use.
"""

from icdbridge.errors import IcdbridgeError

__all__ = ["IcdbridgeError", "__version__"]
__version__ = "0.1.0"
