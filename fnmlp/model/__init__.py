"""The model: pure math over frozen records (spec, parameters, activations, losses, BatchNorm, the
forward and backward kernels, inference, gradient checks, trees). Imports only ``fnmlp.utils``, numpy
and attrs: it knows no optimizer, loop, file, plot, command or handout."""
