"""Base utilities every layer may use: uniform argument errors (``checks``), small array helpers
(``ops``) and atomic file writes (``atomic``). Imports numpy and the standard library only."""
