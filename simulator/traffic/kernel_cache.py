"""numba's on-disk cache, made aware of the modules a kernel module compiles in.

numba keys a cached kernel to the source of the file defining it only. A kernel calling
``njit`` functions of another module, or reading its constants (frozen at compile time),
would keep running the old code after that module changes. ``track_dependencies``
registers a kernel module's dependencies: the cache of its kernels is then keyed to the
content of all those files, and goes stale with any of them.
"""

from __future__ import annotations

import hashlib
import logging
import os
from types import ModuleType

from numba.core import caching

log = logging.getLogger(__name__)

_DEPENDENCIES: dict[str, tuple[str, ...]] = {}


class _DependencyAwareLocator(caching.InTreeCacheLocator):
    """The in-tree (``__pycache__``) locator, for the registered kernel modules only, with
    a source stamp covering their dependencies."""

    def get_source_stamp(self):
        h = hashlib.sha256(repr(super().get_source_stamp()).encode())
        for path in _DEPENDENCIES[os.path.abspath(self._py_file)]:
            with open(path, "rb") as f:
                h.update(f.read())
        return h.hexdigest()

    @classmethod
    def from_function(cls, py_func, py_file):
        if os.path.abspath(py_file) not in _DEPENDENCIES:
            return None
        return super().from_function(py_func, py_file)


def track_dependencies(kernel_file: str, *dependencies: ModuleType) -> None:
    """Key the cached kernels of ``kernel_file`` (a module's ``__file__``; call this
    before its ``njit(cache=True)`` decorators run) to the source of ``dependencies`` too.
    """
    _DEPENDENCIES[os.path.abspath(kernel_file)] = tuple(
        os.path.abspath(m.__file__) for m in dependencies)
    classes = getattr(caching.CacheImpl, "_locator_classes", None)
    if classes is None:  # pragma: no cover - a numba without the hook
        log.warning("numba has no cache locator hook: cached kernels of %s are not "
                    "invalidated when %s change", kernel_file,
                    ", ".join(m.__name__ for m in dependencies))
        return
    if _DependencyAwareLocator not in classes:
        at = classes.index(caching.InTreeCacheLocator) \
            if caching.InTreeCacheLocator in classes else 0
        classes.insert(at, _DependencyAwareLocator)
