"""Fixtures shared with tests/test_cli.py."""

from tests.test_cli import fake_quotes  # noqa: F401 - the in-memory quote service fixture
