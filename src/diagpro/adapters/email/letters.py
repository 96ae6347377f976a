"""The EmailWriter: what each email says, in the language of the customer's report.

The language is the one the report was written in (``Analysis.language``); an order that never
got an analysis (it failed, or was refunded, first) uses the language the owner wrote in
(``adapters.language``), as the report would have. Fixed text comes from the ``email`` message
catalogue (``locale/<lang>/LC_MESSAGES/email.po``); what the customer typed is quoted, briefly,
never translated. The HTML part says the same as the plain-text part, every value escaped.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

from diagpro.adapters.email.mime import one_line
from diagpro.adapters.language import detect_language
from diagpro.adapters.messages import Messages
from diagpro.domain.email import EmailEvent, Letter
from diagpro.domain.payment import format_money
from diagpro.domain.submission import Submission

BRIEF = 140  # characters of the problem quoted back


def brief(text: str, limit: int = BRIEF) -> str:
    flat = one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def language_of(sub: Submission) -> str:
    return sub.analysis.language if sub.analysis is not None else detect_language(sub.intake)


class CatalogueLetters:
    def __init__(self, public_base_url: str, retention_days: int) -> None:
        self._base = public_base_url.rstrip("/")
        # The link works until the purge erases the report (DIAGPRO_RETENTION_DAYS after the
        # order's last change, which for a ready report is about when this email goes out).
        self._retention_days = retention_days

    def view_url(self, submission_id: str) -> str:
        """The long-lived page that mints a fresh 15-minute link each time it is opened."""
        return f"{self._base}/view/{submission_id}"

    def order_url(self, submission_id: str) -> str:
        return f"{self._base}/success?{urlencode({'submission_id': submission_id})}"

    def write(self, event: EmailEvent, submission: Submission, report_sha256: str) -> Letter:
        t = Messages(language_of(submission), "email")
        sub = submission
        machine = one_line(sub.intake.equipment_name)
        name = one_line(sub.intake.full_name)
        hello = t("Hello {name},", name=name) if name else t("Hello,")
        asked = [
            t("Your machine: {machine}", machine=machine),
            t("Your problem: {problem}", problem=brief(sub.intake.problem_description)),
        ]
        ident = t("Report ID: {id}", id=sub.id)
        paragraphs: list[list[str]]
        link: tuple[str, str] | None
        if event is EmailEvent.READY:
            subject = t("Your diagnostic report is ready: {machine}", machine=machine)
            link = (t("Open your report"), self.view_url(sub.id))
            paragraphs = [
                [hello],
                [t("Your diagnostic report is ready.")],
                asked,
                [
                    t(
                        "Each time you open this link, it gives you a fresh link to the PDF, "
                        "valid for 15 minutes, so it still works when you come back to this email."
                    ),
                    t(
                        "We keep your report and the details you gave us for {days} days, then "
                        "erase them: save a copy if you need it for longer.",
                        days=self._retention_days,
                    ),
                ],
                [
                    ident,
                    t("SHA-256 of the PDF: {digest}", digest=report_sha256),
                    t(
                        "If you forward the report, support can check a copy against these two "
                        "lines."
                    ),
                ],
            ]
        elif event is EmailEvent.FAILED:
            subject = t("We could not make your diagnostic report: {machine}", machine=machine)
            link = (t("Your order"), self.order_url(sub.id))
            paragraphs = [
                [hello],
                [t("We are sorry: we could not make your diagnostic report.")],
                asked,
                [
                    t(
                        "You can ask for it again on your order's page. If it fails again, "
                        "contact support with your report ID and we will refund you."
                    )
                ],
                [ident],
            ]
        else:
            subject = t("Your payment was refunded: {machine}", machine=machine)
            link = None
            paid = sub.payment.amount_cents if sub.payment else sub.price_cents
            amount = format_money(max(paid, sub.refunded_cents), sub.currency)
            why = (
                t("We could not make your diagnostic report, so we refunded your payment.")
                if sub.failure_reason
                else t("Your payment for a diagnostic report was refunded.")
            )
            paragraphs = [
                [hello],
                [why, t("Amount refunded: {amount}", amount=amount)],
                asked,
                [
                    t(
                        "A refund usually reaches your statement within 5 to 10 business days, "
                        "depending on your bank."
                    )
                ],
                [ident],
            ]
        sign = t("diagpro diagnostic reports")
        return Letter(
            subject=subject,
            text=_text(paragraphs, link, sign),
            html=_html(subject, paragraphs, link, sign, t.language),
        )


def _text(paragraphs: list[list[str]], link: tuple[str, str] | None, sign: str) -> str:
    blocks = ["\n".join(lines) for lines in paragraphs]
    if link is not None:
        blocks.insert(3, f"{link[0]}:\n{link[1]}")
    return "\n\n".join([*blocks, f"-- \n{sign}"]) + "\n"


def _html(
    subject: str,
    paragraphs: list[list[str]],
    link: tuple[str, str] | None,
    sign: str,
    language: str,
) -> str:
    e = html.escape
    blocks = ["<p>" + "<br>\n".join(e(line) for line in lines) + "</p>" for lines in paragraphs]
    if link is not None:
        label, url = link
        blocks.insert(3, f'<p><a href="{e(url)}">{e(label)}</a><br>\n{e(url)}</p>')
    body = "\n".join([*blocks, f"<p>-- <br>\n{e(sign)}</p>"])
    return (
        f'<!DOCTYPE html>\n<html lang="{e(language)}">\n<head><meta charset="utf-8">'
        f"<title>{e(subject)}</title></head>\n<body>\n{body}\n</body>\n</html>\n"
    )
