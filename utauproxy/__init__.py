"""utauproxy: record, replay, inspect and diff the OpenUtau <-> DAW plugin link."""

__version__ = "0.1.0"
