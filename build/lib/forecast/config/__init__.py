"""Configuration: typed schemas, the one table of domain rules, and composing a config.

The lowest layer: it imports no other part of :mod:`forecast`. Every bad value is reported as a
:class:`ConfigError` naming its config path and the value it got.
"""

from forecast.config.errors import ConfigError

__all__ = ["ConfigError"]
