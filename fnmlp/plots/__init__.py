"""Pictures: training curves (``history``), the confusion matrix and worst mistakes (``evaluation``),
and sweep plots (``sweep``). Imports matplotlib, the base utilities and records passed in."""
