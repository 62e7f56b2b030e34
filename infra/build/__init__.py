"""Build steps the CDK app relies on (the Lambda layers), runnable without CDK."""
