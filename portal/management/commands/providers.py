"""`manage.py providers check`: is each configured provider reachable with working credentials?"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.providers.checks import check_providers


class Command(BaseCommand):
    help = "Inspect the configured git, deploy and cluster providers."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, title="actions")
        sub.add_parser(
            "check",
            help="Report, for each configured provider, whether it is reachable and its "
            "credentials work; exits non-zero on any problem.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "check":
            self.report()

    def report(self) -> None:
        failed = 0
        for report in check_providers():
            label = f"{report.capability:<8} {report.name:<11} ({report.setting})"
            if report.ok:
                self.stdout.write(f"{label}  " + self.style.SUCCESS("OK"))
            else:
                failed += 1
                self.stdout.write(f"{label}  " + self.style.ERROR("FAILED"))
                for problem in report.problems:
                    self.stdout.write(f"    - {problem}")
        if failed:
            raise CommandError(f"{failed} provider(s) not ready; see the messages above")
