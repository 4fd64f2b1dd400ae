"""Base utilities every layer may use: uniform argument errors (``checks``), small array helpers
(``ops``), the inputs' array library (``namespace``), atomic file writes (``atomic``) and the thread
pool of the large elementwise passes (``threads``). Imports numpy and the standard library only."""
