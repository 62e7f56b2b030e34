"""The adapters: every module that does I/O (the table and the bucket, Step Functions, the video
providers, ffmpeg, HTTP downloads, Secrets Manager, Claude), each behind a port of
`script_to_film.domain.ports` where the core calls it. `backend.AwsBackend` puts them together.
"""
