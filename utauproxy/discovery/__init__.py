"""Discovery takeover (DESIGN.md §5): the plugin entries in `<temp>/OpenUtau/PluginServers`.

Import from the submodules (this package stays import-light: the watchdog process starts
through it):

* `takeover.run_takeover`, `live.LiveEntry`, `live.ListenerHooks`: the recorder's side.
* `restore.restore`, `restore.RestoreAction`: `utauproxy restore`.
* `paths.default_discovery_dir`, `paths.temp_mismatch_warning`: the folder.
* `entry.parse_entry`, `entry.is_ours`, `entry.render_takeover`: pure entry handling.
* `watchdog.start_watchdog`: the process that restores after `kill -9`.
"""
