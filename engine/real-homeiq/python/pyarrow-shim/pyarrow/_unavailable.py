"""The pyarrow SHIM's one mechanism (see __init__.py): any name resolves; using it raises.

influxdb_client_3's InfluxDBClient3() builds a pyarrow.flight.FlightClient in its constructor (for
queries) before any service writes a point. So a class (a capitalised name, as pyarrow's are) can be
constructed, and every method of the object raises; a function (lower case) raises when called.
"""

_WHY = "pyarrow is a shim in this test image (homeiq-infra engine/real-homeiq): Debian has no pyarrow; only influxdb_client_3's write path works here"


class _Instance:
    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)

        def unavailable(*args: object, **kwargs: object) -> None:
            raise ImportError(f"{self._name}.{attr}(): {_WHY}")

        return unavailable


class Unavailable:
    """Stands for a pyarrow name: importable, usable in annotations; see the module docstring for calls."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> "Unavailable":
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Unavailable(f"{self._name}.{attr}")

    def __call__(self, *args: object, **kwargs: object) -> _Instance:
        if self._name.rsplit(".", 1)[-1][:1].isupper():
            return _Instance(f"{self._name} (shim object)")
        raise ImportError(f"{self._name}(): {_WHY}")

    def __repr__(self) -> str:
        return f"<pyarrow shim: {self._name}>"


def module_getattr(module: str):
    def __getattr__(name: str) -> Unavailable:
        if name.startswith("__"):
            raise AttributeError(name)
        return Unavailable(f"{module}.{name}")

    return __getattr__
