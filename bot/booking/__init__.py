"""Booking an appointment in the chat: the provider interface, its adapters (Cliniko) and the words for times."""
