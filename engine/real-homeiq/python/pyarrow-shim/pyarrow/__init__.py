"""pyarrow SHIM -- NOT pyarrow. Part of homeiq-infra's test base image for HomeIQ's real services.

Debian carries no pyarrow, and PyPI cannot be reached on the build machines. influxdb3-python 0.3.0
(influxdb_client_3) imports pyarrow and pyarrow.flight at module level for its query (Arrow Flight)
and file-upload paths; the HomeIQ services that use it only write over HTTP, which needs no pyarrow.
Every pyarrow name imports; using one raises ImportError naming it, so a code path that truly needs
pyarrow fails loudly instead of silently doing nothing.
"""
from ._unavailable import module_getattr

__version__ = "0.0.0+homeiq-shim"
__getattr__ = module_getattr("pyarrow")
