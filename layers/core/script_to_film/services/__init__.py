"""The services: the use cases the REST API, the S3 batch trigger, the writer Lambda and `stf`
call. They start and follow videos through the workflow's contract and reach the outside world
only through the ports of `script_to_film.domain.ports`."""
