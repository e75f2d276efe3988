"""The exception tree. Expected failures are subclasses of UtauproxyError; the CLI turns them
into messages and exit codes, never tracebacks."""


class UtauproxyError(Exception):
    """Base of every error utauproxy raises on purpose."""


class CaptureError(UtauproxyError):
    """A capture file cannot be read or written as asked."""


class CaptureFormatTooNew(CaptureError):
    """The file was written by a newer utauproxy with a format major we do not know."""


class CaptureCorrupt(CaptureError):
    """The file is damaged in a way the reader cannot work around."""


class CaptureLimitExceeded(CaptureCorrupt):
    """An item in an untrusted file exceeds a size, depth or decompression limit."""


class DiscoveryError(UtauproxyError):
    """The discovery folder or one of its entries cannot be used."""


class UnsafePath(DiscoveryError):
    """A path is a symlink, or is owned by another user, and we refuse to touch it."""


class ProtocolError(UtauproxyError):
    """Raised only by helpers asked to be strict; the framer reports problems as events."""
