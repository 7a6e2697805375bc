"""GET /console/live: the server-sent event stream of the live console (see events/live.py).

Agents only. `?team=ID` (repeatable) listens to those team backlogs, `?ticket=ID` to one
ticket; without either, to every team the viewer works in. The policy decides (live.subscription):
anything else is 404, like the pages themselves. The database work happens before the stream
starts, so an open stream holds a Redis connection but never a database connection.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Request, get
from litestar.response import ServerSentEvent

from helpdesk.errors import NotFound
from helpdesk.events import live
from helpdesk.web.deps import CurrentViewer, DbSession

MAX_TEAMS = 50


def _ids(values: list[str]) -> list[int]:
    if len(values) > MAX_TEAMS or not all(v.isdigit() and len(v) < 18 for v in values):
        raise NotFound("No such live feed.")
    return [int(v) for v in values]


@get("/console/live", include_in_schema=False)
async def live_feed(request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer) -> ServerSentEvent:
    teams = _ids(request.query_params.getall("team", []))
    tickets = _ids(request.query_params.getall("ticket", []))
    if len(tickets) > 1:
        raise NotFound("No such live feed.")
    channels = await anyio.to_thread.run_sync(
        partial(live.subscription, db, viewer, team_ids=teams, ticket_id=tickets[0] if tickets else None)
    )
    return ServerSentEvent(live.stream(channels), headers={"Cache-Control": "no-store"})


routes = [live_feed]
