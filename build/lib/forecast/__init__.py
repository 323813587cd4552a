"""forecast: Monte Carlo deterrence and coalition-reliability forecasting."""

__version__ = "0.1.0"
