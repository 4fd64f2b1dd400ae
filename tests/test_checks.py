"""The shared argument checks' fast paths give the answers of the plain ones."""

import numpy as np
import pytest

from fnmlp.utils import checks as _checks


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_is_finite_agrees_with_isfinite_even_when_the_sum_overflows(dtype):
    big = np.finfo(dtype).max
    cases = {
        "ordinary": np.linspace(-3, 3, 12).reshape(3, 4),
        "sum overflows": np.full((2, 3), big),
        "sum overflows both ways": np.array([[big, big, -big, -big, -big]]),
        "nan": np.array([[1.0, np.nan], [2.0, 3.0]]),
        "+inf": np.array([[1.0, np.inf]]),
        "-inf": np.array([[-np.inf, 1.0]]),
        "both infinities": np.array([[np.inf, -np.inf]]),
        "inf among huge": np.array([[big, np.inf, -big]]),
        "empty": np.zeros((0, 3)),
    }
    for name, array in cases.items():
        # the plain check; a matrix's rows summed first; any array summed first
        for reps in (1, _checks.LARGE_MATRIX // array.shape[1] + 1, _checks.LARGE_ARRAY // array.shape[1] + 1):
            large = np.tile(array.astype(dtype), (reps, 1))
            expected = bool(np.isfinite(large).all())
            # a matrix's rows summed by a matrix-vector product; 1-D and 3-D arrays by add.reduce
            for layout in (large, np.asfortranarray(large), large.reshape(-1), large[None]):
                assert _checks.is_finite(layout) == expected, (name, layout.shape)
    assert _checks.is_finite(np.full((2, 3), big, dtype))  # the exact check decides
    with pytest.raises(ValueError, match="^x: expected finite values, got NaN or infinity$"):
        _checks.float_array("x", cases["+inf"], ndim=2)
