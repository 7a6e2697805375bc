"""Helpdesk: an internal IT / support ticketing system."""
