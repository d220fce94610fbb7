"""The one exception type the CLI turns into a one-line message and an exit code."""

EXIT_OK = 0
EXIT_FAILURE = 1  # the job ran but found nothing usable (no face, no repetition)
EXIT_USAGE = 2  # bad input: missing file, not a video, unknown movement, bad option
EXIT_DATA = 3  # the data store refused: newer schema, corrupt or locked database
EXIT_INTERRUPTED = 130


class FacetrackError(Exception):
    """An error a user can act on; ``str(err)`` is the whole message (one line)."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE):
        super().__init__(message)
        self.exit_code = exit_code
