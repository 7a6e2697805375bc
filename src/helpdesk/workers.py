"""Every actor module, imported for the worker (`dramatiq helpdesk.workers`) and the publisher."""

from helpdesk.events.broker import get_broker

broker = get_broker()

__all__ = ["broker"]
