"""`perflink`: the console command. It wraps Django's management commands under friendlier names."""

from __future__ import annotations

import os
import sys
from pathlib import Path

COMMANDS: dict[str, tuple[str, str]] = {
    "demo-data": ("demo_data", "create the demo insurer (org, people, source records, logins)"),
    "create-tenant": ("create_tenant", "create a tenant (one insurer)"),
    "create-user": ("create_user", "create a user with a role in a tenant"),
    "import": ("import_records", "import a CSV/XLSX file of source records (--dry-run, --quarantine)"),
    "pull": ("pull", "pull records from source systems' APIs: --tenant T --connector NAME, --due, --loop"),
    "calc": ("calc", "calculate a period's metrics and scores: --tenant SLUG --period 2026-03 [--json]"),
    "collab": (
        "collab",
        "collaboration's scheduled round: `perflink collab tick [--tenant SLUG] [--today D] [--loop]`",
    ),
    "notify": ("notify", "deliver due notifications: `perflink notify deliver [--loop]`"),
    "audit": ("audit", "audit trail tools: `perflink audit verify [--tenant SLUG]`"),
    "keys": ("keys", "encryption keys for sensitive fields: init, rotate"),
    "bench": ("", "benchmarks, one JSON line each: `perflink bench ingest`, `perflink bench demo`"),
    "migrate": ("migrate", "create or upgrade the database tables"),
    "serve": ("runserver", "run the development web server"),
}


def usage() -> str:
    lines = [
        "usage: perflink <command> [options]",
        "",
        "Perflink (联动绩效) command line. Commands:",
        "",
    ]
    width = max(len(name) for name in COMMANDS)
    lines += [f"  {name.ljust(width)}  {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines += [
        "",
        "`perflink <command> --help` explains each command. Django's own management commands work too.",
        "Settings come from DJANGO_SETTINGS_MODULE (default config.settings.base); the database from",
        "DATABASE_URL (default: SQLite under var/).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(usage())
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    name, rest = args[0], args[1:]
    if name == "bench":
        return run_bench(rest)
    command = COMMANDS[name][0] if name in COMMANDS else name.replace("-", "_")
    import django
    from django.core.management import execute_from_command_line, get_commands, load_command_class

    django.setup()
    app = get_commands().get(command)
    if app is None:
        execute_from_command_line(["perflink", command, *rest])  # Django explains the unknown command
        return 1
    # run_from_argv names the program after argv[0:2], so help reads "perflink import", not the module name.
    load_command_class(app, command).run_from_argv(["perflink", name, *rest])
    return 0


def run_bench(args: list[str]) -> int:
    """`perflink bench NAME [options]` runs bench/bench_NAME.py (each prints one JSON line)."""
    import subprocess

    bench_dir = Path(__file__).resolve().parent.parent / "bench"
    available = sorted(p.stem.removeprefix("bench_") for p in bench_dir.glob("bench_*.py"))
    if not args or args[0] in {"-h", "--help"} or args[0] not in available:
        print(f"usage: perflink bench {{{','.join(available)}}} [options]")
        print("Each benchmark prints one JSON line of figures; see bench/ for what each measures.")
        return 0 if args and args[0] in {"-h", "--help"} else 2
    script = bench_dir / f"bench_{args[0]}.py"
    # The script is one of bench/bench_*.py found above, never a path from the command line.
    return subprocess.run([sys.executable, str(script), *args[1:]], check=False).returncode  # noqa: S603


if __name__ == "__main__":
    sys.exit(main())
