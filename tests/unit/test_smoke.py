from helpdesk.tickets.filters import parse_ticket_ref


def test_ticket_refs() -> None:
    assert parse_ticket_ref("HD-1042") == 1042
    assert parse_ticket_ref("hd1042") == 1042
    assert parse_ticket_ref("printer") is None
