"""Private servers on loopback for the demo desk and the tests: Dovecot IMAP and an SMTP capture."""
