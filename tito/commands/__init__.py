"""Each module here defines `register(subparsers)`; its handlers are `run(args) -> int`."""
