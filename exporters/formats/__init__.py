"""The built-in formats; importing this package registers them (``exporters.base.FORMATS``)."""

from exporters.base import FORMATS, Exporter, ExportError
from exporters.formats import kitti, kitti_raw, mcap_format, native, nuscenes  # noqa: F401


def exporter_class(name: str) -> type[Exporter]:
    """The exporter of ``--format name``."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ExportError(f"unknown format {name!r}; known: {', '.join(sorted(FORMATS))}") \
            from None
