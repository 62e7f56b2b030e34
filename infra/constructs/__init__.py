"""The constructs of the AWS stack, one per concern; `infra.stack` wires them."""
