"""Traffic: vectorised driving logic (IDM/MOBIL over lanes), junction rules, signals, spawns."""
