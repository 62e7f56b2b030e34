"""The adapters: the modules that do I/O (the video providers, ffmpeg, HTTP downloads, Secrets
Manager, Claude), each behind a port of `script_to_film.domain.ports` where the core calls it.
"""
