"""Serve a directory of wheels/sdists as a PEP 503 "simple" index (stdlib only).

    python3 wheelhouse_server.py DIR ADDRESS PORT

/simple/                -> one link per project (normalized name)
/simple/<project>/      -> one link per file, with #sha256=
/files/<file>           -> the file itself
Files added to DIR later show up without a restart.
"""

import hashlib
import html
import http.server
import re
import sys
from pathlib import Path

_hashes = {}


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def project_of(filename):
    if filename.endswith(".whl"):
        return normalize(filename.split("-", 1)[0])
    for ext in (".tar.gz", ".zip", ".tar.bz2", ".tgz"):
        if filename.endswith(ext):
            return normalize(filename[: -len(ext)].rsplit("-", 1)[0])
    return None


def sha256(path):
    st = path.stat()
    key = (path.name, st.st_size, st.st_mtime_ns)
    if key not in _hashes:
        _hashes[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _hashes[key]


class Handler(http.server.SimpleHTTPRequestHandler):
    root: Path

    def projects(self):
        found = {}
        for f in sorted(self.root.iterdir()):
            proj = project_of(f.name) if f.is_file() else None
            if proj:
                found.setdefault(proj, []).append(f)
        return found

    def page(self, title, links):
        body = "".join(f'<a href="{html.escape(h)}">{html.escape(t)}</a><br/>\n' for h, t in links)
        data = (f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head>"
                f"<body>\n{body}</body></html>\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ("/", "/simple", "/simple/"):
            return self.page("wheelhouse", [(f"/simple/{p}/", p) for p in self.projects()])
        m = re.fullmatch(r"/simple/([^/]+)/?", path)
        if m:
            files = self.projects().get(normalize(m.group(1)))
            if not files:
                return self.send_error(404, "no such project in the wheelhouse")
            return self.page(m.group(1), [(f"/files/{f.name}#sha256={sha256(f)}", f.name)
                                          for f in files])
        m = re.fullmatch(r"/files/([^/]+)", path)
        if m and (self.root / m.group(1)).is_file():
            self.path = "/" + m.group(1)
            return super().do_GET()
        return self.send_error(404)

    def translate_path(self, path):
        return str(self.root / path.lstrip("/").split("?", 1)[0])


def main():
    root, address, port = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    Handler.root = root
    server = http.server.ThreadingHTTPServer((address, port), Handler)
    print(f"serving {root} as a simple index on http://{address}:{port}/simple/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
