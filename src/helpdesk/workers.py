"""Every actor module, imported for the worker (`dramatiq helpdesk.workers`) and the publisher."""

from helpdesk.events import live  # noqa: F401 - declares the live.broadcast consumer
from helpdesk.events.broker import get_broker
from helpdesk.notifications import actors as notification_actors  # noqa: F401 - plan/send/dead actors

broker = get_broker()

__all__ = ["broker"]
