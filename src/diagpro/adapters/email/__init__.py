"""The EmailSender adapters (the outbox folder, SMTP) and the EmailWriter (the letters)."""

from diagpro.adapters.email.letters import CatalogueLetters
from diagpro.adapters.email.outbox import OutboxEmails, OutboxFolder
from diagpro.adapters.email.smtp import SmtpSender

__all__ = ["CatalogueLetters", "OutboxEmails", "OutboxFolder", "SmtpSender"]
