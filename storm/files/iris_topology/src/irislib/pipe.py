"""
A line reader over the multilang input pipe that can tell whether more input is waiting.

A multilang bolt acts only when Storm sends it something, so the classifier cannot flush
a partial batch on a timer; it can, though, flush it as soon as nothing else is waiting
to be read, which is when holding it back would only add latency.  pystorm reads through
a TextIOWrapper whose buffer cannot be inspected; this reader keeps its own buffer over
the raw file descriptor, so ``pending()`` sees both what it has buffered and, with a
zero-timeout ``select``, what is still in the pipe.
"""

import os
import select

CHUNK = 1 << 16


class PipeReader:
    def __init__(self, fd):
        self.fd = fd
        self.buffer = bytearray()
        self.start = 0  # where the unread part of the buffer begins
        self.eof = False

    def _compact(self):
        if self.start > CHUNK or self.start == len(self.buffer):
            del self.buffer[:self.start]
            self.start = 0

    def readline(self):
        """The next line with its newline, as str; '' at the end of the input."""
        while True:
            end = self.buffer.find(b"\n", self.start)
            if end >= 0:
                line = bytes(self.buffer[self.start:end + 1])
                self.start = end + 1
                self._compact()
                return line.decode("utf-8")
            if self.eof:
                line = bytes(self.buffer[self.start:])
                self.start = len(self.buffer)
                self._compact()
                return line.decode("utf-8")
            chunk = os.read(self.fd, CHUNK)
            if not chunk:
                self.eof = True
            self.buffer += chunk

    def pending(self):
        """True when a read would not block: something buffered, or in the pipe."""
        if self.start < len(self.buffer) or self.eof:
            return True
        readable, _w, _x = select.select([self.fd], [], [], 0)
        return bool(readable)


def install(component):
    """
    Make ``component`` (a pystorm Bolt) read its input through a PipeReader and return
    the reader, or None where that cannot be done safely (another pystorm, or an input
    that is not a file descriptor): then the caller cannot see pending input.

    Called from ``initialize``: the handshake has been read by then, and Storm sends
    nothing before it has the process's pid (which pystorm sends after the handshake),
    so no input beyond the handshake can sit in the old reader's buffer.
    """
    serializer = getattr(component, "serializer", None)
    stream = getattr(serializer, "input_stream", None)
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    reader = PipeReader(fd)
    serializer.input_stream = reader
    return reader
