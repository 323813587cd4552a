"""A Hydra launcher that runs the jobs of a ``forecast -m`` sweep as Dask tasks.

Select it with ``hydra/launcher=dask``. Hydra finds it by scanning the ``hydra_plugins``
namespace package; importing this package must stay cheap, because Hydra imports every plugin on
every start: Dask is imported only when a sweep is launched.
"""
