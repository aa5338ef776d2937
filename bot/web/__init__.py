"""The web service: serves the chat widget, a demo page of the clinic, health checks and the staff API."""
