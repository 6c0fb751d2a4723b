"""One run per checkpoint: fit holds its checkpoint's lock while it trains (xpnet.files.only_writer,
a flock of a lock file beside it), so that another run given the same file is refused before
its first epoch; a run whose file another replaced stops before replacing it."""

from __future__ import annotations

import errno
import os
import stat
import sys

import numpy as np
import pytest
from conftest import REPO, another_run_writing
from training_helpers import blobs, small_net

import xpnet
from xpnet import EarlyStopping
from xpnet.checkpoint import CheckpointError


def test_a_run_whose_checkpoint_another_replaced_stops_before_replacing_it(tmp_path):
    """Two runs saving to one file each replaced the other's checkpoint after every epoch,
    and both reported it saved."""
    X, y = blobs(n=50)
    path = tmp_path / "run.npz"

    class OtherRun(EarlyStopping):  # (a hook after each epoch's checkpoint)
        def update(self, value, epoch):
            if epoch == 1:  # after this run's first checkpoint
                small_net(seed=7).save(path)
            return super().update(value, epoch)

    net = small_net()
    with pytest.raises(CheckpointError, match=r"run.npz was replaced since this run last saved "
                                              r"it: does another run save to the same file\?"):
        net.fit(X, y, epochs=4, checkpoint=path, early_stopping=OtherRun(patience=10),
                progress=False)
    np.testing.assert_array_equal(xpnet.load(path).theta, small_net(seed=7).theta)


@pytest.mark.skipif(os.name != "posix", reason="the lock is flock's, which Windows lacks")
def test_a_second_run_given_a_checkpoint_another_process_writes_is_refused_at_once(tmp_path):
    """The check above comes after one replacement: by then the first run's checkpoint is
    the second's. A run now holds its checkpoint's lock while it trains, and another
    process's run given the same file is refused before its first epoch."""
    X, y = blobs(n=50)
    path = tmp_path / "run.npz"
    with another_run_writing(path) as holder:
        net = small_net()
        before = net.theta.copy()
        with pytest.raises(xpnet.files.FileInUseError,
                           match=rf"run.npz is being written by another run \(process "
                                 rf"{holder.pid}, which holds .*\.run\.npz\.lock\): give each "
                                 rf"run its own file, or wait for that one to end"):
            net.fit(X, y, epochs=2, checkpoint=path, progress=False)
        np.testing.assert_array_equal(net.theta, before)  # (refused before any epoch)
        assert not path.exists()
    # the holder killed, its lock file stays, but its lock went with it: a run takes it, and
    # removes the file at its end
    assert (tmp_path / ".run.npz.lock").exists()
    small_net().fit(X, y, epochs=1, checkpoint=path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.history.json", "run.npz"]


@pytest.mark.skipif(os.name != "posix", reason="the lock is flock's, which Windows lacks")
def test_the_checkpoint_lock_is_released_when_fit_fails_and_is_one_per_file(tmp_path):
    X, y = blobs(n=50)
    path = tmp_path / "run.npz"
    with pytest.raises(ValueError, match="batch_size"):
        small_net().fit(X, y, batch_size=0, checkpoint=path, progress=False)
    assert list(tmp_path.iterdir()) == []  # (the lock file went with the refused run)
    link = tmp_path / "link.npz"
    link.symlink_to(path)
    with xpnet.files.only_writer(link):  # (through a link: the file it names is locked)
        # (the holder is this process: it is not named by its number, as another would be)
        with pytest.raises(xpnet.files.FileInUseError, match=r"by another run \(this process: "
                                                             r"a fit in another thread, say,"):
            small_net().fit(X, y, epochs=1, checkpoint=path, progress=False)
        small_net().fit(X, y, epochs=1, checkpoint=tmp_path / "other.npz", progress=False)
    small_net().fit(X, y, epochs=1, checkpoint=path, progress=False)


@pytest.mark.skipif(os.name != "posix", reason="the lock is flock's, which Windows lacks")
def test_another_process_of_this_ones_number_is_not_called_this_process(tmp_path):
    """The holder's number is what its lock file says: a process of another PID namespace (a
    container's, as often its pid 1) may have this one's, and was called this process."""
    path = tmp_path / "run.npz"
    with another_run_writing(path):
        (tmp_path / ".run.npz.lock").write_text(f"{os.getpid()}\n")  # (that process's number)
        with pytest.raises(xpnet.files.FileInUseError, match=rf"by another run \(process "
                                                             rf"{os.getpid()}, which holds"):
            with xpnet.files.only_writer(path):
                pass


@pytest.mark.skipif(os.name != "posix", reason="the lock is flock's, which Windows lacks")
def test_a_checkpoint_in_a_folder_still_to_be_made_is_locked_too(tmp_path):
    """The lock file could not be made before the first save made the folder: two runs
    given run/new/m.npz both trained, the first stopped at its next save."""
    X, y = blobs(n=50)
    path = tmp_path / "new" / "deeper" / "run.npz"
    with xpnet.files.only_writer(path):
        with pytest.raises(xpnet.files.FileInUseError):
            small_net().fit(X, y, epochs=1, checkpoint=path, progress=False)
    assert list(tmp_path.iterdir()) == []  # (the folders it made, empty, went with the lock)
    with pytest.raises(ValueError, match="batch_size"):
        small_net().fit(X, y, batch_size=0, checkpoint=path, progress=False)
    assert list(tmp_path.iterdir()) == []
    small_net().fit(X, y, epochs=1, checkpoint=path, progress=False)
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.history.json", "run.npz"]


@pytest.mark.skipif(os.name != "posix", reason="the lock is flock's, which Windows lacks")
def test_a_lock_file_name_that_is_a_link_is_refused_not_written_through(tmp_path):
    """os.open(O_CREAT) followed the link, and the process id replaced the file it named."""
    notes = tmp_path / "notes.txt"
    notes.write_text("precious")
    (tmp_path / ".run.npz.lock").symlink_to(notes)
    X, y = blobs(n=50)
    with pytest.raises(FileExistsError, match="is a link or a folder, not a lock file"):
        small_net().fit(X, y, epochs=1, checkpoint=tmp_path / "run.npz", progress=False)
    assert notes.read_text() == "precious"


@pytest.mark.skipif(os.name != "posix", reason="the lock is flock's, which Windows lacks")
def test_a_lock_whose_process_id_could_not_be_written_is_not_kept(tmp_path, monkeypatch):
    """A full disk at the write of the process id left the descriptor open, its lock held:
    every later run of the process with that checkpoint was refused as another's."""
    import errno

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    X, y = blobs(n=50)
    path = tmp_path / "run.npz"
    with monkeypatch.context() as patch:
        patch.setattr(os, "write", full)
        with xpnet.files.only_writer(path):  # (held, unnamed)
            pass
    small_net().fit(X, y, epochs=1, checkpoint=path, progress=False)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_child_forked_while_the_lock_is_held_does_not_keep_it(tmp_path):
    """flock's lock lasts while any copy of its descriptor is open: a forked child (a
    multiprocessing worker) outliving a killed run kept its checkpoint locked."""
    import subprocess

    path = tmp_path / "run.npz"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import os, sys, time; from xpnet.files import only_writer\n"
         "with only_writer(sys.argv[1]):\n    if os.fork() == 0:\n"
         "        os.write(1, b'child\\n'); time.sleep(60)\n"
         "        os._exit(0)\n    os.write(1, b'forked\\n'); os._exit(0)",  # (as if killed)
         str(path)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(
             REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}, start_new_session=True)
    try:
        # (the child's at-fork handler has run once it writes: waiting for the parent's line
        # alone, the lock was tried before the child had been scheduled to close its copy;
        # each line one write, which a pipe does not interleave)
        assert sorted(holder.stdout.readline() for _ in range(2)) == ["child\n", "forked\n"]
        holder.wait()
        with xpnet.files.only_writer(path):
            pass
    finally:
        os.killpg(holder.pid, 9)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc's open files")
def test_a_released_lock_leaves_no_descriptor_behind(tmp_path):
    """The lock's descriptor is closed when the block ends, and forgotten: one left among the
    held locks would be closed again in a child forked later, where its number may name
    another file by then. (Deleting either step passed the checkpoint tests.)"""
    held = set(xpnet.files._HELD)
    before = len(os.listdir("/proc/self/fd"))
    for name in ("run.npz", "run.npz", "other.npz"):
        with xpnet.files.only_writer(tmp_path / name):
            assert len(xpnet.files._HELD) == len(held) + 1
            with pytest.raises(xpnet.files.FileInUseError):  # (the refused one's closed too)
                with xpnet.files.only_writer(tmp_path / name):
                    pass
    assert xpnet.files._HELD == held and len(os.listdir("/proc/self/fd")) == before


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc's open files")
def test_a_lock_file_removed_before_the_flock_is_made_again_and_its_descriptor_closed(
        tmp_path, monkeypatch):
    """The run before this one, releasing its lock, removed the lock file between this one's
    open and flock: the lock is taken on a new file, and the descriptor of the removed one,
    which no other run can see, is closed (not leaked once for each such race)."""
    flock, lock = xpnet.files.fcntl.flock, tmp_path / ".run.npz.lock"
    races = [1]

    def removed_first(fd, operation):
        if races and operation & xpnet.files.fcntl.LOCK_EX:
            races.pop()
            lock.unlink()  # (as the last holder's release does)
        return flock(fd, operation)

    monkeypatch.setattr(xpnet.files.fcntl, "flock", removed_first)
    held = set(xpnet.files._HELD)
    before = len(os.listdir("/proc/self/fd"))
    with xpnet.files.only_writer(tmp_path / "run.npz"):
        assert races == [] and lock.is_file() and len(xpnet.files._HELD) == len(held) + 1
        fd, = xpnet.files._HELD - held
        assert os.path.samestat(os.fstat(fd), os.stat(lock))
    assert xpnet.files._HELD == held and len(os.listdir("/proc/self/fd")) == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_a_lock_file_name_that_is_a_pipe_is_refused_not_taken_as_the_lock(tmp_path):
    os.mkfifo(tmp_path / ".run.npz.lock")
    with pytest.raises(FileExistsError, match=r"the name of the lock file of .*run.npz is not "
                                              r"a file \(a device, a pipe\): remove it"):
        with xpnet.files.only_writer(tmp_path / "run.npz"):
            pass


def test_a_forked_child_closes_and_forgets_its_parents_locks(tmp_path, monkeypatch):
    """(Not forgetting them, a child that forks in turn had its own files of those numbers
    closed in its child.)"""
    fd = os.open(tmp_path / "lock", os.O_WRONLY | os.O_CREAT)
    monkeypatch.setattr(xpnet.files, "_HELD", {fd})
    xpnet.files._close_held_in_child()
    assert xpnet.files._HELD == set()
    with pytest.raises(OSError):
        os.fstat(fd)


@pytest.mark.skipif(os.name != "posix", reason="the lock is flock's, which Windows lacks")
def test_the_lock_file_has_the_mode_of_a_plain_open_so_other_users_runs_can_take_it(tmp_path):
    """(One made unreadable to others was a lock that another user's run could not open: it
    ran without one.)"""
    umask = os.umask(0o022)
    os.umask(umask)
    with xpnet.files.only_writer(tmp_path / "run.npz"):
        mode = (tmp_path / ".run.npz.lock").stat().st_mode
    assert stat.S_IMODE(mode) == 0o666 & ~umask


def test_a_lock_file_that_cannot_be_made_leaves_the_block_to_run_without_one(tmp_path,
                                                                           monkeypatch):
    """(As for a folder that cannot be written: the run's own checks report that.)"""
    opened = os.open

    def no_lock_files(path, flags, *args, **kwargs):
        if str(path).endswith(".lock"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return opened(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_lock_files)
    with xpnet.files.only_writer(tmp_path / "run.npz"):
        assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc's open files")
def test_a_file_system_without_flock_runs_the_block_without_a_lock(tmp_path, monkeypatch):
    """(Some network file systems refuse flock: the lock file's descriptor is closed, not
    leaked nor kept as a lock.)"""
    def no_flock(fd, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(xpnet.files.fcntl, "flock", no_flock)
    held = set(xpnet.files._HELD)
    before = len(os.listdir("/proc/self/fd"))
    with xpnet.files.only_writer(tmp_path / "run.npz"):
        assert xpnet.files._HELD == held
    assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.skipif(os.name != "posix", reason="the lock is flock's, which Windows lacks")
def test_a_lock_file_left_by_a_killed_run_names_only_its_new_holder(tmp_path):
    """The process id is written over a left lock file's whole content: a longer id left
    behind would otherwise follow it, and the message would name no process."""
    (tmp_path / ".run.npz.lock").write_text("123456789\n")
    with xpnet.files.only_writer(tmp_path / "run.npz"):
        assert (tmp_path / ".run.npz.lock").read_text() == f"{os.getpid()}\n"


def test_without_flock_a_run_takes_no_lock(tmp_path, monkeypatch):
    """Where there is no fcntl (Windows) the block runs without a lock, as documented: no
    lock file, and the file is not refused to a second writer."""
    monkeypatch.setattr(xpnet.files, "fcntl", None)
    path = tmp_path / "run.npz"
    with xpnet.files.only_writer(path), xpnet.files.only_writer(path):
        assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_a_pipe_saved_into_takes_no_lock(tmp_path):
    """A pipe or a device (/dev/null) is written into, not replaced: no lock file is made
    beside it, and two runs may write into it."""
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    with xpnet.files.only_writer(fifo), xpnet.files.only_writer(fifo):
        assert list(tmp_path.iterdir()) == [fifo]
