"""Analytics and the review list of the staff console: what happened in the conversations, counted.

- markers.py: which stored events count as what (a fallback, a red flag, an ACC check and its verdict, ...);
- session_facts.py: one conversation session's events folded into a facts record;
- store.py: the stored aggregates' tables in the requests' database, and what "forget me" and retention do to them;
- aggregates.py: their update, incremental, from the tracker store;
- reports.py: the analytics page's numbers and the review list, SQL over the stored aggregates;
- service.py: the web service's updater (a background task, and a bounded catch-up before a page);
- synthetic.py: a generator of realistic conversations with the exact counts it made (tests, `make bench`).

A "conversation" here is one Rasa session: the patient's messages until 60 minutes without one
(domain/basics.yml `session_config`). docs/staff-console.md ("Review", "Analytics").
"""
