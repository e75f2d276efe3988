"""`utauproxy replay CAPTURE --as plugin|openutau` (DESIGN.md §6, issue 4).

Pure parts (no sockets, no event loop): `script` (a capture's records as per-connection
scripts), `ids`, `compare` (structural comparison), `ordering`, `rules` (named noise rules),
`matcher` (sans-IO matching), `plan` and `schedule` (what is sent when, against one anchor),
`report` and `render` (human, JSON, JUnit). I/O parts (anyio): `connection`, `as_plugin`,
`as_openutau`, `endpoints` (discovery), `save` (`--save`), `run` (the entry point).
"""
