"""`stf`, the command line of Script-to-Film: an entry point outside the Lambda layer.

It calls the core (`script_to_film`) as the Lambdas do, and starts the embedded local stack
(`infra.local`) for `stf run`, `batch` and `serve`; nothing the Lambdas import reaches it.
"""
