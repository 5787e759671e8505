"""The pyarrow SHIM's one mechanism (see __init__.py): any name resolves, any use raises."""


class Unavailable:
    """Stands for a pyarrow name: importable, usable in annotations, raising as soon as it is used."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> "Unavailable":
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Unavailable(f"{self._name}.{attr}")

    def __call__(self, *args: object, **kwargs: object) -> None:
        raise ImportError(
            f"{self._name}: pyarrow is a shim in this test image (homeiq-infra engine/real-homeiq): "
            "Debian has no pyarrow; only the write paths of influxdb_client_3 work here"
        )

    def __repr__(self) -> str:
        return f"<pyarrow shim: {self._name}>"


def module_getattr(module: str):
    def __getattr__(name: str) -> Unavailable:
        if name.startswith("__"):
            raise AttributeError(name)
        return Unavailable(f"{module}.{name}")

    return __getattr__
