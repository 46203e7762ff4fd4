"""conda's exceptions as the CLI shows them: same class names, messages and `--json` maps.

conda prints a failed command's error with `--json` as the exception's ``dump_map()`` on
stdout (indent 2, sorted keys) and exits with its return code: 1 for errors, 0 for the
"exit zero" family (dry run, a declined prompt).  Without `--json` it writes
``\\n<Name>: <message>\\n`` to stderr.
"""

import json
import sys


class CondaError(Exception):
    return_code = 1
    module = "conda.exceptions"

    def __init__(self, message, caused_by=None, **kwargs):
        self.message = message
        self._kwargs = kwargs
        self._caused_by = caused_by
        super().__init__(message)

    def __str__(self):
        try:
            return str(self.message % self._kwargs)
        except (TypeError, ValueError, KeyError):
            return str(self.message)

    def __repr__(self):
        return f"{self.__class__.__name__}: {self}"

    def dump_map(self):
        result = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        result.update(
            exception_type=f"<class '{self.module}.{self.__class__.__name__}'>",
            exception_name=self.__class__.__name__,
            message=str(self),
            error=repr(self),
            caused_by=repr(self._caused_by),
            **self._kwargs,
        )
        return result


class CondaExitZero(CondaError):
    return_code = 0


class DryRunExit(CondaExitZero):
    def __init__(self):
        super().__init__("Dry run. Exiting.")


class CondaSystemExit(CondaExitZero):
    pass


class ArgumentError(CondaError):
    return_code = 2


class CondaValueError(CondaError):
    pass


class InvalidMatchSpec(CondaValueError):
    def __init__(self, invalid_spec, details):
        super().__init__("Invalid spec '%(invalid_spec)s': %(details)s",
                         invalid_spec=invalid_spec, details=details)


class CondaEnvironmentError(CondaError):
    pass


class EnvironmentLocationNotFound(CondaError):
    def __init__(self, location):
        super().__init__("Not a conda environment: %(location)s", location=location)


class EnvironmentNameNotFound(CondaError):
    def __init__(self, environment_name):
        super().__init__("Could not find conda environment: %(environment_name)s\n"
                         "You can list all discoverable environments with "
                         "`conda info --envs`.\n", environment_name=environment_name)


class DirectoryNotACondaEnvironmentError(CondaError):
    def __init__(self, target_directory):
        super().__init__("The target directory exists, but it is not a conda environment.\n"
                         "Use 'conda create' to convert the directory to a conda "
                         "environment.\n  target directory: %(target_directory)s\n",
                         target_directory=target_directory)


def _dashlist(items):
    return "  - " + "\n  - ".join(str(x) for x in items)


class PackagesNotFoundError(CondaError):
    def __init__(self, packages, channel_urls=()):
        packages = list(packages)
        channel_urls = list(channel_urls)
        if channel_urls:
            message = ("The following packages are not available from current channels:\n\n"
                       "%(packages_formatted)s\n\nCurrent channels:\n\n"
                       "%(channels_formatted)s\n\n"
                       "To search for alternate channels that may provide the conda package "
                       "you're\nlooking for, navigate to\n\n    https://anaconda.org\n\n"
                       "and use the search bar at the top of the page.\n")
            channels_formatted = _dashlist(channel_urls)
        else:
            message = ("The following packages are missing from the target environment:\n"
                       "%(packages_formatted)s\n")
            channels_formatted = ()
        super().__init__(message, packages=packages, packages_formatted=_dashlist(packages),
                         channel_urls=channel_urls, channels_formatted=channels_formatted)


class UnsatisfiableError(CondaError):
    pass


class LibMambaUnsatisfiableError(UnsatisfiableError):
    """What Miniforge's default solver (conda-libmamba-solver) raises for a spec nothing
    in the channels provides."""

    module = "conda_libmamba_solver.exceptions"


class CondaHTTPError(CondaError):
    def __init__(self, message, url, status_code, reason, elapsed_time="-"):
        super().__init__(
            "HTTP %(status_code)s %(reason)s for url <%(url)s>\nElapsed: %(elapsed_time)s\n\n"
            + message, url=url, status_code=status_code, reason=reason,
            elapsed_time=elapsed_time, response_details="")


class UnavailableInvalidChannel(CondaError):
    def __init__(self, channel, status_code, response=""):
        super().__init__("HTTP %(status_code)s %(reason)s for channel %(channel_name)s "
                         "<%(channel_url)s>\n\nThe channel is not accessible or is invalid.\n",
                         channel_name=channel.name, channel_url=channel.url,
                         status_code=status_code, reason="NOT FOUND")


class CondaEnvException(CondaError):
    module = "conda.env.env"


class EnvironmentFileNotFound(CondaError):
    module = "conda.env.specs"

    def __init__(self, filename):
        super().__init__("'%(filename)s' file not found", filename=filename)


class RemoveError(CondaError):
    pass


class CorruptedEnvironmentError(CondaError):
    def __init__(self, environment_location, corrupted_file):
        super().__init__("The target environment has been corrupted. Corrupted environments "
                         "most commonly\noccur when the conda process is force-terminated "
                         "while in an unlink-link\ntransaction.\n  environment location: "
                         "%(environment_location)s\n  corrupted file: %(corrupted_file)s\n",
                         environment_location=environment_location,
                         corrupted_file=corrupted_file)


class ValidationError(CondaError):
    """conda loads every conda-meta/*.json as a package record; a file without a record's
    required fields makes it fail with this (an "unexpected error" in conda's report)."""

    module = "conda.auxlib.exceptions"


class StandinNotImplemented(CondaError):
    """A conda feature this stand-in does not implement (exit 2, like the Storm stand-in)."""

    return_code = 2
    module = "conda_standin"


def report(exc, json_mode):
    """Print an error the way conda's exception handler does; return the exit code."""
    if json_mode:
        if not isinstance(exc, DryRunExit):
            stream = sys.stdout if exc.return_code else sys.stderr
            stream.write(json.dumps(exc.dump_map(), indent=2, sort_keys=True, default=str)
                         + "\n")
            stream.flush()
    else:
        sys.stderr.write(f"\n{exc!r}\n\n")
        sys.stderr.flush()
    return exc.return_code
