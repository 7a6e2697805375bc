from sqlalchemy.orm import Session

from helpdesk.identity.models import Role
from helpdesk.messaging import service as messaging
from helpdesk.messaging.models import Visibility
from helpdesk.tickets import service as tickets
from helpdesk.tickets.views import ticket_view
from tests.factories import Factory


def test_create_assign_reply_resolve_close(db: Session, factory: Factory) -> None:
    it = factory.team("it-x")
    agent = factory.user(Role.AGENT, [it])
    emp = factory.user()
    t = factory.ticket(emp, team=it)
    assert t.status.key == "new"
    assert t.number >= 1001
    tickets.assign(db, agent, t.id, agent.id)
    assert t.status.key == "assigned"
    messaging.add_message(db, agent, t.id, "internal", visibility=Visibility.INTERNAL)
    messaging.add_message(db, agent, t.id, "public reply")
    tickets.transition(db, agent, t.id, "resolved")
    tickets.transition(db, emp, t.id, "closed")
    view = ticket_view(db, emp, t.id)
    assert [m.body for m in view.messages] == ["public reply"]
    assert view.ticket.status.key == "closed"
