"""The one decorator policy of the model's numba code, and a compile cache that cannot go stale.

numba keys a cached function on a hash of its own source file only: a caller whose inlined
helper lives in another file would load stale machine code after that helper changed. So every
file with jitted model code is listed in :data:`JITTED`, and :func:`share_cache_stamp` makes the
cache stamp of a function defined in any of them the hash of all of them together: editing one
recompiles every cached function of the group (``tests/model/test_compile_cache.py``).

Imports numba's cache locators (numba's own classes, extended, not replaced); nothing jitted.
:func:`specialise` gives a jitted function's compiled entry point for given argument types.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from numba import typeof, types
from numba.core import caching

JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

_HERE = Path(__file__).resolve().parent
# files whose jitted functions call one another (ziggurat.py: the tables random_numbers reads)
JITTED = tuple(
    str(_HERE / f"{name}.py")
    for name in ("kernels", "coalition", "war", "lanes", "random_numbers", "ziggurat")
)


@functools.cache
def _file_hash(path: str, st_mtime: float, st_size: int) -> bytes:
    # keyed on the stamp too, so that a file changed while the process runs is hashed again
    return hashlib.sha256(Path(path).read_bytes()).digest()


def _group_stamp(files: tuple[str, ...]) -> bytes:
    h = hashlib.sha256()
    for path in files:
        st = os.stat(path)
        h.update(_file_hash(path, st.st_mtime, st.st_size))
    return h.digest()


def share_cache_stamp(files: tuple[str, ...]) -> None:
    """Give every jitted function defined in ``files`` the cache stamp of all of them.

    numba tries its locator classes in turn; a group locator, one per numba locator that finds
    a file's cache directory, goes first and accepts only the group's files.
    """
    group = frozenset(os.path.realpath(f) for f in files)
    ordered = tuple(sorted(group))
    classes = caching.CacheImpl._locator_classes
    for base in [c for c in classes if issubclass(c, caching._SourceFileBackedLocatorMixin)]:
        if getattr(base, "_group", None) is not None:
            continue

        class Grouped(base):
            _group = group

            def get_source_stamp(self):
                return _group_stamp(ordered)

            @classmethod
            def from_function(cls, py_func, py_file):
                if os.path.realpath(py_file) not in cls._group:
                    return None
                return super().from_function(py_func, py_file)

        Grouped.__name__ = Grouped.__qualname__ = f"Grouped{base.__name__}"
        classes.insert(classes.index(base), Grouped)


share_cache_stamp(JITTED)


# A block of random numbers (n, columns) in Fortran order. numba types a 2-d array that is both
# C- and F-contiguous (one column, or one row) as C: without this type a scenario with a single
# uniform column (or a block of one crisis) would compile the whole kernel a second time.
FORTRAN_BLOCK = types.Array(types.float64, 2, "F")


def specialise(dispatcher: Any, *args: Any) -> Callable[..., Any]:
    """The compiled entry point of a jitted function for the types of ``args`` (a numba type
    given in place of an argument is taken as its type).

    A dispatcher works out the types of its arguments at every call; for the kernels' nested
    named tuples of arrays that costs about 50 us a call, several times a short block's run.
    The entry point skips it (about 15 us): the sampler resolves it once per worker and calls it
    for every block, whose argument types do not change. It does not check them either: an
    argument must have the layout of its type.
    """
    return dispatcher.compile(tuple(a if isinstance(a, types.Type) else typeof(a) for a in args))
