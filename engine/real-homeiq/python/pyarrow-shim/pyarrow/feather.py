"""pyarrow.feather SHIM (see pyarrow/__init__.py)."""
from ._unavailable import module_getattr

__getattr__ = module_getattr("pyarrow.feather")
