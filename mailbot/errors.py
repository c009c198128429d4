"""Describe an exception for a person: one line, without the SQL and parameters SQLAlchemy appends."""


def first_line(exc: BaseException, limit: int = 500) -> str:
    """`ValueError: bad thing` → "bad thing"; a multi-line message keeps its first line (customer data follows)."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:limit]
