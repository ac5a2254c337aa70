"""The registry service: requests enter in api/, rules are decided in access/, use cases
live in services/, data is stored by store/. cli.py is the `registry` command."""
