"""`storm logviewer`: read-only HTTP access to the logs on this host (logviewer.port).

Storm's paths: /api/v1/log?file=<topology-id>/<port>/worker.log (worker logs, relative
to workers-artifacts), /api/v1/daemonlog?file=nimbus.log (daemon logs, relative to the
logs directory), their /api/v1/download and /api/v1/daemondownload twins, and
/api/v1/listLogs.  Log pages are plain text (Storm's are HTML).  Nothing outside the logs
directory is ever served: paths are resolved and checked.
"""

import json
import urllib.parse
from http.server import BaseHTTPRequestHandler

from . import config, daemon
from .ui import serve


class Handler(BaseHTTPRequestHandler):
    timeout = 30
    logs = artifacts = None
    log = None

    def log_message(self, fmt, *args):
        self.log.debug("%s %s", self.address_string(), fmt % args)

    def _send(self, status, body, ctype="text/plain;charset=utf-8", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for header in extra:
            self.send_header(*header)
        self.end_headers()
        self.wfile.write(body)

    def _resolve(self, base, name):
        """The file `name` under `base`, or None when it is not a file inside it."""
        if not name:
            return None
        root = base.resolve()
        path = (root / name).resolve()
        return path if path.is_relative_to(root) and path.is_file() else None

    def do_GET(self):  # http.server's name
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        endpoint = url.path.rstrip("/").rsplit("/", 1)[-1]
        name = query.get("file", [""])[0]
        if endpoint in ("", "listLogs"):
            files = sorted(str(p.relative_to(self.artifacts)) for p in
                           self.artifacts.rglob("*") if p.is_file()) \
                if self.artifacts.is_dir() else []
            topo, port = query.get("topoId", [None])[0], query.get("port", [None])[0]
            files = [f for f in files if (not topo or f.startswith(f"{topo}/"))
                     and (not port or f"/{port}/" in f)]
            return self._send(200, json.dumps(files).encode(), "application/json")
        base = self.logs if endpoint.startswith("daemon") else self.artifacts
        path = self._resolve(base, name)
        if endpoint not in ("log", "daemonlog", "download", "daemondownload"):
            return self._send(404, b"no such endpoint\n")
        if path is None:
            return self._send(404, f"{name}: no such log file\n".encode())
        data = path.read_bytes()
        if endpoint.endswith("download"):
            return self._send(200, data, "application/octet-stream",
                              [("Content-Disposition", f'attachment; filename="{path.name}"')])
        start = int(query.get("start", ["0"])[0] or 0)
        length = int(query.get("length", [str(len(data))])[0] or len(data))
        return self._send(200, data[start:start + length])


def main(conf):
    log, stop = daemon.start(conf, "logviewer")
    Handler.logs = config.log_dir(conf)
    Handler.artifacts = config.workers_artifacts_dir(conf)
    serve(conf, "Logviewer", Handler, "0.0.0.0", conf["logviewer.port"], log, stop)
