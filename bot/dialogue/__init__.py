"""The conversation's context: what the assistant's last reply offered or advised, and how short replies,
back-outs and messages with several questions are read in that context (see bot/dialogue/context.py)."""
