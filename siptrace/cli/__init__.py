"""The command line: the click commands and the one-line messages for errors."""
