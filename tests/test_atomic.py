"""``atomic_write``: what it replaces, what it writes through and what it refuses, and every writer built on it."""

import json
import os
import socket
import stat

import numpy as np
import pytest

import fnmlp
from fnmlp.runs.evaluation import write_evaluation
from fnmlp.runs.files import write_metrics
from fnmlp.utils.atomic import atomic_write, write_target


def write(path, text, **kwargs):
    with atomic_write(path, "w", **kwargs) as file:
        file.write(text)


def entries(directory):
    return sorted(os.listdir(directory))


def test_a_regular_file_is_replaced_and_a_missing_one_created(tmp_path):
    path = tmp_path / "out.csv"
    write(path, "one\n")
    assert path.read_text() == "one\n"
    write(path, "two\n")
    assert path.read_text() == "two\n" and entries(tmp_path) == ["out.csv"]


def test_a_symbolic_link_is_written_through_and_stays_a_link(tmp_path):
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "real.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(os.path.join("data", "real.csv"))  # relative, as ln -s makes them
    chain = tmp_path / "chain.csv"
    chain.symlink_to(link)
    write(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == os.path.join("data", "real.csv")
    assert target.read_text() == "new\n"
    write(chain, "newer\n")
    assert chain.is_symlink() and link.is_symlink() and target.read_text() == "newer\n"
    assert entries(tmp_path / "data") == ["real.csv"] and entries(tmp_path) == ["chain.csv", "data", "link.csv"]


def test_a_dangling_link_gets_its_target_file_where_the_targets_directory_exists(tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "later.csv")
    write(link, "made\n")
    assert link.is_symlink() and (tmp_path / "later.csv").read_text() == "made\n"

    nowhere = tmp_path / "nowhere.csv"
    nowhere.symlink_to(tmp_path / "missing" / "file.csv")
    with pytest.raises(FileNotFoundError):
        write(nowhere, "lost\n")
    assert nowhere.is_symlink() and not (tmp_path / "missing").exists()


def special_file(tmp_path, kind):
    """``(path, how the message ends)`` of a file of ``kind``, made in ``tmp_path``."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    if kind == "fifo":
        return fifo, ", a named pipe (FIFO)"
    if kind == "socket":
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(os.fspath(tmp_path / "sock"))
        server.close()  # the socket file stays behind
        return tmp_path / "sock", ", a socket"
    if kind == "directory":
        (tmp_path / "directory").mkdir()
        return tmp_path / "directory", ", a directory"
    if kind == "link to a fifo":
        (tmp_path / "to-pipe").symlink_to(fifo)
        return tmp_path / "to-pipe", f", a symbolic link to {os.fspath(fifo)!r}, which is a named pipe (FIFO)"
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    return tmp_path / "loop-a", ", a symbolic link loop"


@pytest.mark.parametrize("kind", ["fifo", "socket", "directory", "link to a fifo", "link loop"])
def test_anything_but_a_regular_file_is_refused_before_writing_naming_the_argument(tmp_path, kind):
    path, ending = special_file(tmp_path, kind)
    modes = {name: os.lstat(tmp_path / name).st_mode for name in entries(tmp_path)}
    with pytest.raises(ValueError) as info:
        write(path, "never\n", name="--out")
    assert str(info.value) == (f"--out: expected a regular file or a path where none exists, got "
                               f"{os.fspath(path)!r}{ending}")
    assert {name: os.lstat(tmp_path / name).st_mode for name in entries(tmp_path)} == modes, "nothing replaced"
    with pytest.raises(ValueError, match="^path: expected a regular file"):
        write_target(path)


def test_every_writer_on_atomic_write_writes_and_refuses_a_fifo(tmp_path):
    """Checkpoints, metrics, evaluation.json and figures: written to a new path, refused on a FIFO."""
    from matplotlib.figure import Figure

    from fnmlp.plots.history import save_figure

    spec = fnmlp.MLPSpec((3, 2), ("identity",))
    params, state = fnmlp.init_params(spec, 0)
    history = [fnmlp.EpochStats(1, 0.5, 0.25, 0.6, 0.3, 1.0, 0.1)]
    figure = Figure()
    figure.add_subplot().plot([0, 1])
    writers = {
        "params.npz": lambda path: fnmlp.save_params(path, spec, params, state),
        "metrics.csv": lambda path: write_metrics(path, history),
        "evaluation.json": lambda path: write_evaluation(path, {"loss": 0.5}),
        "figure.png": lambda path: save_figure(figure, path),
    }
    for name, writer in writers.items():
        writer(tmp_path / name)
        fifo = tmp_path / f"fifo-{name}"
        os.mkfifo(fifo)
        with pytest.raises(ValueError, match=f"^path: expected a regular file .*{fifo.name}', a named pipe"):
            writer(fifo)
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    np.testing.assert_array_equal(fnmlp.load_params(tmp_path / "params.npz")[1].W[0], params.W[0])
    assert (tmp_path / "metrics.csv").read_text().splitlines()[1] == "1,0.5,0.25,0.6,0.3,1.0,0.1"
    assert json.loads((tmp_path / "evaluation.json").read_text()) == {"loss": 0.5}
    assert (tmp_path / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [name for name in entries(tmp_path) if name.startswith(".")], "no temporary file left"
