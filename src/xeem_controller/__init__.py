"""The ``xeem-controller`` binary: flags, logging, and a manager running xeem's controllers."""
