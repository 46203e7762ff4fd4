"""
An append-only JSON-lines file that rotates by size: when the next line would take it
past ``max_bytes`` it is renamed to ``<path>.1`` (``.1`` to ``.2`` and so on, ``keep``
rotated files at most) and a new file is started.  Every line is written with one
write(2) on an O_APPEND descriptor, so it is never split, and the caller is told only
once the line has reached the kernel (``flush``; ``fsync`` on request).

If the file is moved away or removed by someone else (logrotate, an operator), the
writer notices within a second and starts a new one at the path.
"""

import os


class RotatingFile:
    def __init__(self, path, max_bytes=0, keep=5, fsync=False, clock=None):
        import time
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.fsync = fsync
        self.clock = clock or time.monotonic
        self.fd = None
        self.size = 0
        self.rotations = 0
        self._checked = None
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self._open()

    def _open(self):
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                          0o644)
        self.size = os.fstat(self.fd).st_size
        self._checked = self.clock()

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def _still_ours(self):
        """False when the path no longer names the file we write (moved or removed)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(self.fd)
        return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)

    def rotate(self):
        self.close()
        for index in range(self.keep - 1, 0, -1):
            older = f"{self.path}.{index}"
            if os.path.exists(older):
                os.replace(older, f"{self.path}.{index + 1}")
        os.replace(self.path, f"{self.path}.1")
        self.rotations += 1
        self._open()

    def write(self, data):
        """Append ``data`` (bytes, one or more whole lines) and flush it to the kernel."""
        if self.fd is None:
            self._open()
        now = self.clock()
        if now - self._checked >= 1.0:
            self._checked = now
            if not self._still_ours():
                self.close()
                self._open()
        if self.max_bytes:
            self.size = os.fstat(self.fd).st_size  # another writer may have appended
            if self.size and self.size + len(data) > self.max_bytes:
                self.rotate()
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
            self.size += written
        if self.fsync:
            os.fsync(self.fd)
