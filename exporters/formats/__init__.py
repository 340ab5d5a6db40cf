"""The built-in formats; importing this package registers them (``exporters.base.FORMATS``)."""

from exporters.formats import kitti, kitti_raw, mcap_format, native, nuscenes  # noqa: F401
