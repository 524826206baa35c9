"""The compiler's one error type: what failed and what to do about it."""


class CompileError(Exception):
    """A model cannot be compiled for the target; the message says why."""
