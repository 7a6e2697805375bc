"""The demo organization: five teams, their categories, the contract's demo logins and a few
requests in different states, all created through the services like real input."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from helpdesk.identity import service as identity
from helpdesk.identity.models import Role, Team, User
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.messaging import service as messaging
from helpdesk.messaging.models import Visibility
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Category

DEMO_PASSWORD = "demo"  # noqa: S105 - documented demo credential, seeded only into an empty database

TEAMS = [
    ("it", "IT Service Desk", "Laptops, accounts, passwords, network, printers and software.", "laptop"),
    ("facilities", "Facilities", "Buildings, desks, heating, cleaning, parking and repairs.", "building"),
    ("hr", "People & HR", "Payroll, leave, benefits, onboarding and policies.", "people"),
    ("security", "Security", "Lost devices, suspicious email, access badges and incidents.", "shield"),
    ("applications", "Business Applications", "ERP, CRM, intranet and line-of-business apps.", "apps"),
]

CATEGORIES: list[dict[str, Any]] = [
    {
        "team": "it",
        "slug": "it-access",
        "name": "Account & password",
        "guidance": "Locked out or need access to a system? Tell us the system name and your username. "
        "Never send your password.",
        "fields": [{"name": "system", "label": "Which system?", "type": "text", "required": True}],
    },
    {
        "team": "it",
        "slug": "it-hardware",
        "name": "Laptop & hardware",
        "guidance": "Include the asset tag (sticker under the laptop) and what happens. "
        "If it will not start, try holding the power button for 10 seconds first.",
        "fields": [
            {"name": "asset_tag", "label": "Asset tag", "type": "text", "required": False},
            {
                "name": "device",
                "label": "Device",
                "type": "select",
                "required": True,
                "options": ["Laptop", "Monitor", "Dock", "Phone", "Printer", "Other"],
            },
        ],
    },
    {
        "team": "it",
        "slug": "it-network",
        "name": "Network & VPN",
        "default_priority": 2,
        "guidance": "Say where you are (office, floor, or home) and whether colleagues are affected.",
        "fields": [],
    },
    {
        "team": "it",
        "slug": "it-software",
        "name": "Software request",
        "guidance": "Name the software and why you need it. Licensed software needs your manager's approval.",
        "fields": [{"name": "software", "label": "Software name", "type": "text", "required": True}],
    },
    {
        "team": "facilities",
        "slug": "fac-repair",
        "name": "Repair",
        "guidance": "Tell us the building, floor and room. "
        "For leaks or anything unsafe, also call reception.",
        "fields": [
            {"name": "location", "label": "Building / floor / room", "type": "text", "required": True}
        ],
    },
    {
        "team": "facilities",
        "slug": "fac-climate",
        "name": "Heating & air",
        "guidance": "Which room, and is it too hot or too cold?",
        "fields": [],
    },
    {
        "team": "facilities",
        "slug": "fac-desk",
        "name": "Desk & furniture",
        "default_priority": 4,
        "guidance": "Ergonomic requests are handled within a week.",
        "fields": [],
    },
    {
        "team": "hr",
        "slug": "hr-leave",
        "name": "Leave & absence",
        "guidance": "For sick leave today, also tell your manager directly.",
        "fields": [],
    },
    {
        "team": "hr",
        "slug": "hr-payroll",
        "name": "Payroll question",
        "guidance": "Mention the pay period. Do not include bank details here; HR will contact you.",
        "fields": [],
    },
    {
        "team": "security",
        "slug": "sec-phishing",
        "name": "Suspicious email",
        "default_priority": 2,
        "guidance": "Do not click links or open attachments. Forward the email as an attachment if you can.",
        "fields": [],
    },
    {
        "team": "security",
        "slug": "sec-lost-device",
        "name": "Lost or stolen device",
        "default_priority": 1,
        "guidance": "Report immediately, even outside office hours. We will lock the device remotely.",
        "fields": [{"name": "device", "label": "Which device?", "type": "text", "required": True}],
    },
    {
        "team": "applications",
        "slug": "app-erp",
        "name": "ERP",
        "guidance": "Give the module, the transaction and any error text you see.",
        "fields": [],
    },
    {
        "team": "applications",
        "slug": "app-crm",
        "name": "CRM",
        "guidance": "Include the record link or ID if the problem is with one record.",
        "fields": [],
    },
]

USERS: list[tuple[str, str, Role, list[str], str | None, str | None]] = [
    (
        "admin@example.com",
        "Ada Admin",
        Role.ADMIN,
        ["it", "facilities", "hr", "security", "applications"],
        "IT",
        "HQ",
    ),
    ("lead.it@example.com", "Lena Lead", Role.LEAD, ["it"], "IT", "HQ"),
    ("agent.it@example.com", "Ian Agent", Role.AGENT, ["it"], "IT", "HQ"),
    ("agent.facilities@example.com", "Fiona Facilities", Role.AGENT, ["facilities"], "Facilities", "HQ"),
    ("agent.hr@example.com", "Hana HR", Role.AGENT, ["hr"], "HR", "HQ"),
    ("agent.security@example.com", "Sam Security", Role.AGENT, ["security"], "Security", "HQ"),
    ("agent.apps@example.com", "Arun Apps", Role.AGENT, ["applications"], "Applications", "Remote"),
    ("employee@example.com", "Emma Employee", Role.REQUESTER, [], "Finance", "HQ, floor 3"),
    ("colleague@example.com", "Carl Colleague", Role.REQUESTER, [], "Sales", "Branch office"),
]


def _viewer(db: Session, user: User) -> Viewer:
    repo = IdentityRepository(db)
    return Viewer(
        id=user.id, email=user.email, name=user.name, role=user.role, team_ids=repo.team_ids(user.id)
    )


def seed(db: Session) -> bool:
    """Seed the demo organization. Returns False (and does nothing) if there are users already."""
    repo = IdentityRepository(db)
    if repo.any_user():
        return False
    teams: dict[str, Team] = {}
    for slug, name, description, icon in TEAMS:
        team = Team(slug=slug, name=name, description=description, icon=icon)
        db.add(team)
        teams[slug] = team
    db.flush()
    cats: dict[str, Category] = {}
    for position, spec in enumerate(CATEGORIES):
        cat = Category(
            team_id=teams[spec["team"]].id,
            slug=spec["slug"],
            name=spec["name"],
            guidance=spec["guidance"],
            fields=spec["fields"],
            default_priority=spec.get("default_priority", 3),
            position=position,
        )
        db.add(cat)
        cats[spec["slug"]] = cat
    db.flush()
    users = {
        email: identity.create_user(
            db,
            email=email,
            name=name,
            role=role,
            password=DEMO_PASSWORD,
            team_slugs=team_slugs,
            department=dept,
            location=loc,
        )
        for email, name, role, team_slugs, dept, loc in USERS
    }
    _sample_tickets(db, users, cats)
    return True


def _sample_tickets(db: Session, users: dict[str, User], cats: dict[str, Category]) -> None:
    emma = _viewer(db, users["employee@example.com"])
    carl = _viewer(db, users["colleague@example.com"])
    ian = _viewer(db, users["agent.it@example.com"])
    fiona = _viewer(db, users["agent.facilities@example.com"])

    def new(v: Viewer, cat: str, subject: str, description: str, **fields: str) -> int:
        data = tickets.NewTicket(
            subject=subject, description=description, category_id=cats[cat].id, fields=fields
        )
        return tickets.create_ticket(db, v, data).ticket.id

    new(
        emma,
        "it-hardware",
        "Laptop fan very loud and hot",
        "Since this morning the fan runs all the time and the laptop gets very hot.",
        device="Laptop",
        asset_tag="LT-20391",
    )
    vpn = new(
        carl,
        "it-network",
        "VPN disconnects every few minutes",
        "Working from home, the VPN drops roughly every 5 minutes since Monday.",
    )
    tickets.assign(db, ian, vpn, ian.id)
    messaging.add_message(
        db, ian, vpn, "Checking the VPN gateway logs for your account.", visibility=Visibility.INTERNAL
    )
    messaging.add_message(
        db,
        ian,
        vpn,
        "Thanks Carl, could you tell us which Wi-Fi router you use at home?",
        then_status="waiting_requester",
    )
    heat = new(emma, "fac-climate", "Meeting room 3.12 is freezing", "The heating in room 3.12 seems off.")
    tickets.assign(db, fiona, heat, fiona.id)
    messaging.add_message(
        db,
        fiona,
        heat,
        "An engineer adjusted the valve. It should be warm within the hour.",
        then_status="resolved",
    )
    new(
        carl,
        "sec-phishing",
        "Email asking me to confirm my salary details",
        "I received an email from 'payroll-update' with a link. I did not click it.",
    )
    new(emma, "app-crm", "Cannot export contacts to CSV", "The export button in CRM shows an error 500.")
