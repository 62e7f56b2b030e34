"""The REST API's machinery beside its routes (`functions/api.py` declares the routes and only
them): the OpenAPI helpers the declarations use, the error answers, and idempotent video
starts. Everything here is built per resolver, because `stf serve` runs several API instances
in one process; only `functions/api.py` imports this package."""
