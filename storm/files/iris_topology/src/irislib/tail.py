"""
Tail a directory of JSON-lines files, each line handed out once, with offsets kept in a
small state file so a restarted spout goes on where the acknowledged lines end.

Files are matched by a glob pattern (hidden files, e.g. a writer's temporary file before
its rename, are ignored) and identified by device and inode, so a file renamed in the
directory keeps its offset.  Only complete lines (ending in a newline) are read; a
partial last line waits for the rest.  A line is *done* when the spout was told so
(acknowledged, or given up after its replays, or skipped as bad); the offset saved for a
file is where its first line that is not done starts, so lines in flight when the
process dies are read again (at-least-once).  When several spout tasks share the
directory, each takes the files whose name hashes to its task index.
"""

import errno
import fnmatch
import json
import os
import time
import zlib
from collections import deque

CHUNK = 1 << 16
STATE_FORMAT = 1


class Cursor:
    """One source file: where reading goes on and which lines are still in flight."""

    def __init__(self, key, name, offset):
        self.key = key
        self.name = name
        self.read_offset = offset
        self.generation = 0
        self.in_flight = set()  # start offsets of lines handed out and not done
        self.skipping = False   # inside an over-long line, dropping bytes up to its end
        self.size = 0           # as of the last directory scan
        self.exhausted_at = None  # size at which only a partial line was left to read

    def committed(self):
        return min(self.in_flight) if self.in_flight else self.read_offset


class DirectoryTail:
    def __init__(self, directory, pattern, state_dir, state_name, shard=(0, 1),
                 poll=1.0, save_every=1.0, clock=None, report=None):
        """
        ``state_name`` is ``<family>-<task index>.json``; at start the offsets of every
        state file of the same family are merged (the highest offset of a file wins), so
        a change of the spout's parallelism (a new sharding) loses nothing.
        """
        self.directory = directory
        self.pattern = pattern
        self.state_dir = state_dir
        self.state_path = os.path.join(state_dir, state_name)
        self.shard = shard
        self.poll = poll
        self.save_every = save_every
        self.clock = clock or time.monotonic
        self.report = report or (lambda level, message: None)
        self.cursors = {}        # key -> Cursor
        self.ready = deque()     # (cursor, start, raw line) read ahead, in file order
        self._scanned = None
        self._saved_at = None
        self._saved = None
        self._missing = False
        os.makedirs(state_dir, exist_ok=True)
        if not os.access(state_dir, os.W_OK):
            raise PermissionError(errno.EACCES, "state directory is not writable", state_dir)
        self.known = self._load_states()

    # ---------------------------------------------------------------- state file

    def _load_states(self):
        """Offsets from every state file in the state dir (any sharding), highest wins."""
        known = {}
        try:
            names = sorted(os.listdir(self.state_dir))
        except FileNotFoundError:
            return known
        family = self.state_path.rsplit("-", 1)[0] + "-"
        for name in names:
            path = os.path.join(self.state_dir, name)
            if not name.endswith(".json") or not path.startswith(family):
                continue
            try:
                with open(path, encoding="utf-8") as handle:
                    data = json.load(handle)
                files = data["files"]
            except (OSError, ValueError, KeyError, TypeError):
                self.report("warn", f"ignoring unreadable spout state file {name}")
                continue
            for key, entry in files.items():
                try:
                    offset = int(entry["offset"])
                except (KeyError, TypeError, ValueError):
                    continue
                if key not in known or offset > known[key]["offset"]:
                    known[key] = {"name": str(entry.get("name", "")), "offset": offset}
        return known

    def state(self):
        return {key: {"name": c.name, "offset": c.committed()}
                for key, c in sorted(self.cursors.items())}

    def save(self, force=False):
        """Write the committed offsets (atomically) if they changed; at most every
        ``save_every`` seconds unless forced.  True when written."""
        now = self.clock()
        if not force and self._saved_at is not None and now - self._saved_at < self.save_every:
            return False
        state = self.state()
        if state == self._saved:
            return False
        tmp = f"{self.state_path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"format": STATE_FORMAT, "directory": self.directory, "files": state},
                      handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.state_path)
        self._saved, self._saved_at = state, now
        return True

    # ---------------------------------------------------------------- directory

    def _mine(self, name):
        index, count = self.shard
        return count <= 1 or zlib.crc32(name.encode()) % count == index

    def scan(self, force=False):
        now = self.clock()
        if not force and self._scanned is not None and now - self._scanned < self.poll:
            return
        self._scanned = now
        seen = {}
        try:
            entries = list(os.scandir(self.directory))
            self._missing = False
        except FileNotFoundError:
            if not self._missing:  # once, not at every poll
                self.report("warn", f"source directory {self.directory} does not exist "
                                    "(yet); waiting for it")
            self._missing = True
            entries = []
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith(".") or not fnmatch.fnmatch(entry.name, self.pattern):
                continue
            try:
                if not entry.is_file(follow_symlinks=True):
                    continue
                st = entry.stat(follow_symlinks=True)
            except OSError:
                continue
            if not self._mine(entry.name):
                continue
            key = f"{st.st_dev}:{st.st_ino}"
            seen[key] = True
            cursor = self.cursors.get(key)
            size = st.st_size
            if cursor is None:
                offset = 0
                saved = self.known.get(key)
                if saved and saved["name"] == entry.name and saved["offset"] <= size:
                    offset = saved["offset"]
                cursor = self.cursors[key] = Cursor(key, entry.name, offset)
            else:
                cursor.name = entry.name
                if size < cursor.read_offset:
                    self.report("warn", f"{entry.name} shrank below offset "
                                        f"{cursor.read_offset}: reading it again from the start")
                    cursor.read_offset = 0
                    cursor.in_flight.clear()
                    cursor.generation += 1
                    cursor.skipping = False
                    self.ready = deque(r for r in self.ready if r[0] is not cursor)
            cursor.size = size
        for key in [k for k in self.cursors if k not in seen]:
            del self.cursors[key]  # gone from the directory (lines in flight still replay)
        self.ready = deque(r for r in self.ready if r[0].key in self.cursors)

    def _read_ahead(self, cursor):
        """Read the complete lines of one file from its read offset; True if any."""
        path = os.path.join(self.directory, cursor.name)
        try:
            with open(path, "rb") as handle:
                handle.seek(cursor.read_offset)
                data = handle.read(CHUNK)
        except OSError:
            return False
        found = False
        pos = 0
        base = cursor.read_offset
        while True:
            end = data.find(b"\n", pos)
            if end < 0:
                break
            if cursor.skipping:  # the end of an over-long line
                cursor.skipping = False
            else:
                self.ready.append((cursor, base + pos, data[pos:end]))
                cursor.in_flight.add(base + pos)
                found = True
            pos = end + 1
        if pos == 0 and len(data) == CHUNK:
            # A whole chunk without a newline: no iris sample is that long; drop the line.
            if not cursor.skipping:
                self.report("warn", f"{cursor.name}@{base}: line longer than {CHUNK} bytes, "
                                    "skipped")
                cursor.skipping = True
            pos = len(data)
        cursor.read_offset = base + pos
        return found

    def next_line(self):
        """(message key, sample name, raw bytes) of the next line, or None."""
        if not self.ready:
            self.scan()
            for cursor in list(self.cursors.values()):
                if cursor.read_offset >= cursor.size or cursor.exhausted_at == cursor.size:
                    continue  # nothing new since the last scan
                before = cursor.read_offset
                if self._read_ahead(cursor):
                    break
                if cursor.read_offset == before:
                    cursor.exhausted_at = cursor.size
        if not self.ready:
            return None
        cursor, start, raw = self.ready.popleft()
        return f"{cursor.key}:{cursor.generation}:{start}", f"{cursor.name}@{start}", raw

    def done(self, message_key):
        """The line is finished with (acked, given up or skipped): it need not be re-read."""
        try:
            dev, ino, generation, start = message_key.rsplit(":", 3)
            cursor = self.cursors.get(f"{dev}:{ino}")
            if cursor is not None and int(generation) == cursor.generation:
                cursor.in_flight.discard(int(start))
        except ValueError:
            pass
