from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from perflink.notify.choices import DeliveryStatus
from perflink.notify.deliveries import deliver_due
from perflink.notify.models import Delivery


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Notification deliveries. `perflink notify deliver` attempts every delivery that is due (retries after "
        "their backoff, and any first attempt that did not run), then exits: what cron or a Celery beat calls. "
        "`--loop --every 60` keeps doing so."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["deliver"], help="deliver: attempt the deliveries that are due")
        parser.add_argument("--loop", action="store_true", help="keep delivering, every --every seconds")
        parser.add_argument("--every", type=float, default=60.0, help="seconds between rounds with --loop")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["loop"]:
            done = self._round()
            failed = [d for d in done if d.status == DeliveryStatus.FAILED]
            if failed:
                raise CommandError(f"{len(failed)} of {len(done)} deliveries failed for good")
            return
        if options["every"] < 1:
            raise CommandError("--every must be at least 1 second")
        self.stdout.write(f"notify: delivering every {options['every']:g} s (Ctrl-C stops)")
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while True:
                close_old_connections()
                self._round()
                close_old_connections()
                self.stdout.flush()
                time.sleep(options["every"])
        except KeyboardInterrupt:
            self.stdout.write("notify: stopped")

    def _round(self) -> list[Delivery]:
        done = deliver_due()
        if not done:
            self.stdout.write("nothing due")
        for d in done:
            line = f"[{d.event.tenant.slug}] #{d.pk} {d.event.event} → {d.target_label}: {d.status}"
            line += f" (attempt {d.attempts}"
            line += f", HTTP {d.response_code})" if d.response_code else ")"
            if d.error:
                line += f" {d.error}"
            if d.next_attempt_at:
                line += f"; next {d.next_attempt_at:%Y-%m-%d %H:%M:%S %Z}"
            self.stdout.write(line)
        return done
