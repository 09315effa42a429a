"""Interaction (互动交流): cases on the official working-day calendar, surveys, interviews."""
