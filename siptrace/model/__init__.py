"""The model: SIP records and messages as frozen dataclasses, the parsing of header values
they do on demand, the grammar loader, errors and the deployment context."""
