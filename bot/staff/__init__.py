"""The clinic's staff side: what the web service's console uses to reach patients' conversations."""
