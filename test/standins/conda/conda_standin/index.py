"""What the channels offer: the stand-in's "repodata" is the channels' Python package index.

For every lookup URL of a channel (see config.Channel) the stand-in reads, like pip:
  * ``<url>/<project>/`` as a PEP 503 simple-index project page, and
  * ``<url>`` itself as a find-links page (an HTML page or directory listing with links
    to wheels/sdists); a local directory is listed.
A project is available when a file of it is installable here: a wheel whose tags fit this
interpreter (CPython 3.11, manylinux x86_64) or an sdist, and whose Requires-Python (if
given) admits 3.11.  A channel none of whose lookup URLs answers at all is unreachable
(conda's CondaHTTPError), a 404 only means "not in this channel".
"""

import html.parser
import os
import platform
import urllib.error
import urllib.parse
import urllib.request

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import sys_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from .errors import CondaHTTPError, UnavailableInvalidChannel
from .spec import normalize

ARCHIVES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            attrs = dict(attrs)
            if attrs.get("href"):
                self.links.append((attrs["href"], attrs.get("data-requires-python"),
                                   "data-yanked" in attrs))


class PackageFile:
    def __init__(self, filename, url, channel, version, requires_python):
        self.filename, self.url, self.channel = filename, url, channel
        self.version, self.requires_python = version, requires_python


def _parse_file(filename):
    """(project, Version, wheel tags or None) of an archive name, or None."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(filename)
            return normalize(name), version, tags
        if filename.endswith(ARCHIVES):
            name, version = parse_sdist_filename(filename)
            return normalize(name), version, None
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        return None
    return None


class PackageIndex:
    def __init__(self, channels, timeout=20):
        self.channels = channels
        self.timeout = timeout
        self._pages = {}
        self._answered = {}
        self._supported = set(sys_tags())
        self._python = Version(platform.python_version())

    def _get(self, url):
        """(status, links) of an HTML page; status None when nothing answered."""
        if url in self._pages:
            return self._pages[url]
        result = (None, [])
        try:
            request = urllib.request.Request(url, headers={"Accept": "text/html"})
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                parser = _Links()
                charset = reply.headers.get_content_charset() or "utf-8"
                parser.feed(reply.read().decode(charset, "replace"))
                result = (reply.status, [(urllib.parse.urljoin(reply.url, h), rp, y)
                                         for h, rp, y in parser.links])
        except urllib.error.HTTPError as err:
            result = (err.code, [])
        except (urllib.error.URLError, OSError, ValueError):
            result = (None, [])
        self._pages[url] = result
        return result

    def _local(self, path):
        try:
            names = sorted(os.listdir(path))
        except OSError:
            return None
        return [(urllib.parse.urljoin("file://", os.path.join(path, n)), None, False)
                for n in names]

    def _installable(self, version, tags, requires_python, yanked):
        if yanked:
            return False
        if tags is not None and not (set(tags) & self._supported):
            return False
        if requires_python:
            try:
                if not SpecifierSet(requires_python).contains(self._python, prereleases=True):
                    return False
            except InvalidSpecifier:
                pass
        return True

    def files(self, project):
        """Installable files of a project, in channel order (first channel first)."""
        project = normalize(project)
        found = []
        for channel in self.channels:
            answered = False
            for lookup in channel.lookups:
                if channel.local:
                    links = self._local(lookup)
                    answered = answered or links is not None
                    pages = [links or []]
                else:
                    base = lookup.rstrip("/")
                    status1, links1 = self._get(f"{base}/{project}/")
                    status2, links2 = self._get(f"{base}/")
                    answered = answered or status1 is not None or status2 is not None
                    pages = [links1, links2]
                for links in pages:
                    for href, requires_python, yanked in links:
                        filename = urllib.parse.unquote(
                            urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1])
                        parsed = _parse_file(filename)
                        if not parsed or parsed[0] != project:
                            continue
                        _, version, tags = parsed
                        if self._installable(version, tags, requires_python, yanked):
                            found.append(PackageFile(filename, href.split("#")[0], channel,
                                                     version, requires_python))
            self._answered[channel.url] = answered
        return found

    def check_reachable(self):
        """Raise as conda does when a channel cannot be read at all."""
        for channel in self.channels:
            if self._answered.get(channel.url, True):
                continue
            if channel.local:
                raise UnavailableInvalidChannel(channel, 404)
            raise CondaHTTPError(
                "An HTTP error occurred when trying to retrieve this URL.\n"
                "HTTP errors are often intermittent, and a simple retry will get you on your "
                f"way.\n'{channel.url}/{'linux-64'}'\n",
                url=f"{channel.url}/linux-64/repodata.json", status_code="000",
                reason="CONNECTION FAILED")

    def channel_of_url(self, url):
        """Which channel a downloaded file came from (best lookup-URL match)."""
        best, best_len = None, -1
        for channel in self.channels:
            for lookup in channel.lookups:
                ref = ("file://" + lookup) if channel.local else lookup
                split_ref, split_url = urllib.parse.urlsplit(ref), urllib.parse.urlsplit(url)
                if split_ref.netloc != split_url.netloc or split_ref.scheme != split_url.scheme:
                    continue
                common = os.path.commonprefix([split_ref.path, split_url.path])
                if len(common) > best_len:
                    best, best_len = channel, len(common)
        return best or (self.channels[0] if self.channels else None)
