"""Models out: a trained network written for other runtimes (``onnx``: ONNX, with the optional
``onnx`` extra, imported only when used). Imports the model and the base utilities only."""

from .onnx import export_onnx

__all__ = ["export_onnx"]
