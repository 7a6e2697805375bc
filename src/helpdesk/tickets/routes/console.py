"""Agent console HTML controllers."""

from typing import Any

routes: list[Any] = []
