"""Reading a folder of class subfolders of PNG images."""

import matplotlib.image
import numpy as np
import pytest

import fnmlp
from fnmlp.datasets.image_folder import image_folder_dataset, read_image_folder


@pytest.fixture
def folder(tmp_path):
    """Three classes with images of different sizes: ``cat`` 4x6 gray ramps, ``dog`` 8x12 RGB,
    ``emu`` 2x3 RGBA, plus a stray file and a hidden folder that are left alone."""
    root = tmp_path / "pets"
    for name in ("cat", "dog", "emu", ".hidden"):
        (root / name).mkdir(parents=True)
    ramp = np.tile(np.linspace(0.0, 1.0, 6), (4, 1))
    for i in range(3):
        matplotlib.image.imsave(root / "cat" / f"{i:03}.png", np.clip(ramp * (i + 1) / 3, 0, 1), cmap="gray",
                                vmin=0.0, vmax=1.0)
    red = np.zeros((8, 12, 3))
    red[..., 0] = 1.0
    for i in range(2):
        matplotlib.image.imsave(root / "dog" / f"{i}.PNG", red)
    half_transparent_black = np.zeros((2, 3, 4))
    half_transparent_black[..., 3] = 0.5
    matplotlib.image.imsave(root / "emu" / "a.png", half_transparent_black)
    (root / "dog" / "notes.txt").write_text("not an image")
    (root / "readme.txt").write_text("left alone")
    return root


def test_reads_classes_labels_and_resizes(folder):
    images = read_image_folder(folder)
    assert images.classes == ("cat", "dog", "emu")
    assert images.image_size == (4, 6)
    assert images.pixels.shape == (6, 24) and images.pixels.dtype == np.uint8
    assert not images.pixels.flags.writeable
    assert images.labels.tolist() == [0, 0, 0, 1, 1, 2]
    assert images.files[0] == "cat/000.png" and images.files[3] == "dog/0.PNG"
    first = images.pixels[2].reshape(4, 6)  # the full ramp, 0 to 255 along each row
    assert first[0, 0] == 0 and first[3, 5] == 255
    np.testing.assert_allclose(first[1], np.linspace(0, 255, 6), atol=1.01)
    # pure red is gray 0.299 by luminance, the same after area averaging 8x12 down to 4x6
    assert (images.pixels[3] == round(0.299 * 255)).all()
    # black at half opacity over white paper is mid-gray
    assert abs(int(images.pixels[5][0]) - 128) <= 1


def test_image_size_and_dataset(folder):
    images = read_image_folder(folder, image_size=(2, 3))
    assert images.pixels.shape == (6, 6)
    ramp = images.pixels[2].reshape(2, 3)  # 6 columns averaged in pairs: (0+51)/2, (102+153)/2, (204+255)/2
    np.testing.assert_allclose(ramp[0], [25.5, 127.5, 229.5], atol=1.01)
    data = image_folder_dataset(images, validation_fraction=0.0, test_fraction=0.0)
    assert isinstance(data, fnmlp.Dataset) and data.num_classes == 3 and data.name == "pets"
    assert data.train.x.shape == (6, 6)
    scaled = images.pixels / 255.0
    assert data.pixel_mean == pytest.approx(scaled.mean())
    np.testing.assert_allclose(data.train.x, (scaled - scaled.mean()) / scaled.std())


def test_errors_name_the_path(folder, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"empty: expected one subfolder of PNG images per class"):
        read_image_folder(empty)
    (folder / "fox").mkdir()
    with pytest.raises(ValueError, match=r"fox: expected PNG images \(\*\.png\) of class 'fox', got none"):
        read_image_folder(folder)
    (folder / "fox" / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"fox/bad\.png: expected a PNG image, got an unreadable file"):
        read_image_folder(folder)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_image_folder(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"image_size\[0\]"):
        read_image_folder(folder, image_size=(0, 3))
