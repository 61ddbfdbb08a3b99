"""Mail: queued in the transaction that causes it, sent after commit, never lost.

``outbox`` holds the table and the queueing, ``letters`` renders the templates,
``delivery`` hands messages to an SMTP server (or writes them to files in
development), and ``sender`` is the task in each server process that claims due
mails and sends them, with retries (ADR 0008).
"""
